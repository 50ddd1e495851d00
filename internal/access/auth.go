package access

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/store"
)

// Service authenticates requests and manages subaccounts, users and API
// tokens.
type Service struct {
	Store *store.Store
	// AdminTokens have admin rights on the whole organization
	// (TICKS_ADMIN_TOKEN, and the demo's own); empty ones are ignored.
	AdminTokens []string
	// Throttle slows down password and token guessing; nil throttles
	// nothing.
	Throttle *Throttle
	// Now is the clock, replaceable in tests.
	Now func() time.Time
}

// New returns the service over st.
func New(st *store.Store, adminTokens ...string) *Service {
	return &Service{Store: st, AdminTokens: adminTokens, Throttle: NewThrottle(), Now: time.Now}
}

// Authenticate resolves a bearer token sent from addr into a principal.
// API tokens are looked up by their hash; the admin token is compared in
// constant time. An address that keeps sending unknown tokens is
// throttled.
func (s *Service) Authenticate(ctx context.Context, token, addr string) (*Principal, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "missing bearer token: send Authorization: Bearer <token>")
	}
	key := "token-ip:" + addr
	if err := s.Throttle.check(key); err != nil {
		return nil, err
	}
	for _, admin := range s.AdminTokens {
		if admin != "" && secret.Equal(token, admin) {
			return System(), nil
		}
	}
	t, err := s.Store.APITokenByHash(ctx, secret.HashToken(token))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		if err := s.Throttle.fail("token", []string{key}, []int{perAddress}); err != nil {
			return nil, err
		}
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "invalid or revoked token")
	}
	if err != nil {
		return nil, err
	}
	p := &Principal{Role: t.Role, TokenID: t.ID, Scope: []int64{t.SubaccountID}}
	if t.Role == domain.RoleAdmin {
		p.Scope = nil // admin is organization-wide (SPEC section 1)
	}
	if t.UserID != nil { // a token made for a user acts as that user
		u, err := s.Store.User(ctx, *t.UserID)
		if err != nil || u.Disabled {
			return nil, domain.Errorf(domain.EUNAUTHORIZED, "invalid or revoked token: its user is disabled")
		}
		p = ForUser(u)
		p.TokenID = t.ID
	}
	if bot, err := s.Store.IsBot(ctx, t.ID); err != nil {
		return nil, err
	} else if bot {
		p.BotID = t.ID
	}
	// Recording use at most once a minute keeps reads off the single writer.
	if t.LastUsedAt == nil || s.Now().Sub(*t.LastUsedAt) > time.Minute {
		_ = s.Store.TouchAPIToken(ctx, t.ID)
	}
	return p, nil
}

// Login checks an email and password sent from addr, spending the same
// time whether the email is known or not so that accounts cannot be told
// apart. Failures are throttled per address, per account and per account
// from one address (see Throttle); a locked one is refused with ETOOMANY
// before the password is checked.
func (s *Service) Login(ctx context.Context, email, password, addr string) (*domain.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	keys := loginKeys(email, addr)
	if err := s.Throttle.check(keys...); err != nil {
		return nil, err
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return nil, err
	}
	ok := false
	if err == nil && !u.Disabled && u.PasswordHash != "" {
		ok, _ = secret.CheckPassword(u.PasswordHash, password)
	} else {
		secret.CheckPassword(dummyHash(), password)
	}
	if !ok {
		if err := s.Throttle.fail("login", keys, loginAllowances); err != nil {
			return nil, err
		}
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "wrong email or password")
	}
	s.Throttle.succeed(keys[1], keys[2])
	return u, nil
}

// dummyHash is checked for unknown emails, at the cost of a real one; made
// on first use, with the parameters in force then.
var dummyHash = sync.OnceValue(func() string {
	h, _ := secret.HashPassword("ticks-dummy-password")
	return h
})

// Session is a logged-in web session.
type Session struct {
	User      *domain.User
	Principal *Principal
	CSRF      string // the token every form of the session carries
	Hash      string // the stored hash of the cookie value
	ExpiresAt time.Time
}

// StartSession opens a session for u lasting ttl and returns the cookie
// value that names it; only its hash is stored.
func (s *Service) StartSession(ctx context.Context, u *domain.User, ttl time.Duration) (string, *Session, error) {
	value := RandomToken()
	sess := store.Session{UserID: u.ID, CSRF: RandomToken(), ExpiresAt: s.Now().Add(ttl)}
	hash := secret.HashToken(value)
	if err := s.Store.CreateSession(ctx, hash, sess); err != nil {
		return "", nil, err
	}
	return value, &Session{User: u, Principal: ForUser(u), CSRF: sess.CSRF, Hash: hash, ExpiresAt: sess.ExpiresAt}, nil
}

// SessionFor returns the session a cookie value names, or EUNAUTHORIZED
// when it is unknown, expired or its user disabled.
func (s *Service) SessionFor(ctx context.Context, value string) (*Session, error) {
	if value == "" {
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "not logged in")
	}
	hash := secret.HashToken(value)
	sess, err := s.Store.SessionByHash(ctx, hash)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			err = domain.Errorf(domain.EUNAUTHORIZED, "not logged in")
		}
		return nil, err
	}
	u, err := s.Store.User(ctx, sess.UserID)
	if err != nil || u.Disabled {
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "not logged in")
	}
	return &Session{User: u, Principal: ForUser(u), CSRF: sess.CSRF, Hash: hash, ExpiresAt: sess.ExpiresAt}, nil
}

// EndSession deletes a session.
func (s *Service) EndSession(ctx context.Context, sess *Session) error {
	return s.Store.DeleteSession(ctx, sess.Hash)
}

// RandomToken returns 32 random bytes, URL-safe: session cookies and CSRF
// tokens.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
