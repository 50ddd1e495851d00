package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/secret"
)

// Principal is who makes a request and what it may see.
type Principal struct {
	Role    domain.Role
	TokenID int64 // 0 for the admin token
	UserID  int64 // set for web sessions
	// Scope is the subaccounts the principal may see; nil means all of them
	// (an organization admin).
	Scope []int64
}

// OrgAdmin reports whether p administers the whole organization.
func (p *Principal) OrgAdmin() bool { return p.Role == domain.RoleAdmin && p.Scope == nil }

// CanSee reports whether p may see subaccount id.
func (p *Principal) CanSee(id int64) bool { return p.Scope == nil || slices.Contains(p.Scope, id) }

// need returns an error unless p has one of roles (an org admin always has).
func (p *Principal) need(roles ...domain.Role) error {
	if p.OrgAdmin() || slices.Contains(roles, p.Role) {
		return nil
	}
	return domain.Errorf(domain.EFORBIDDEN, "role %s may not do this", p.Role)
}

// narrow returns the scope limited to one subaccount when requested (0 means
// no narrowing), refusing one outside the scope.
func (p *Principal) narrow(subaccount int64) ([]int64, error) {
	if subaccount == 0 {
		return p.Scope, nil
	}
	if !p.CanSee(subaccount) {
		return nil, domain.Errorf(domain.EFORBIDDEN, "subaccount %d is not yours", subaccount)
	}
	return []int64{subaccount}, nil
}

type principalKey struct{}

// PrincipalFrom returns the principal of an authenticated request.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// WithPrincipal returns ctx carrying p (used by the web app's sessions).
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// authenticate resolves the bearer token into a Principal. API tokens are
// looked up by hash; TICKS_ADMIN_TOKEN is compared in constant time.
func (h *Handler) authenticate(fn func(http.ResponseWriter, *http.Request, *Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := PrincipalFrom(r.Context()); p != nil {
			fn(w, r, p)
			return
		}
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		token = strings.TrimSpace(token)
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ticks"`)
			respond.Error(w, r, domain.Errorf(domain.EUNAUTHORIZED, "missing bearer token: send Authorization: Bearer <token>"))
			return
		}
		if h.AdminToken != "" && secret.Equal(token, h.AdminToken) {
			fn(w, r, &Principal{Role: domain.RoleAdmin})
			return
		}
		t, err := h.Store.APITokenByHash(r.Context(), secret.HashToken(token))
		if err != nil {
			if domain.ErrorCode(err) == domain.ENOTFOUND {
				err = domain.Errorf(domain.EUNAUTHORIZED, "invalid or revoked token")
			}
			respond.Error(w, r, err)
			return
		}
		p := &Principal{Role: t.Role, TokenID: t.ID, Scope: []int64{t.SubaccountID}}
		if t.Role == domain.RoleAdmin {
			p.Scope = nil // admin is organization-wide (SPEC section 1)
		}
		// Recording use at most once a minute keeps reads off the single writer.
		if t.LastUsedAt == nil || time.Since(*t.LastUsedAt) > time.Minute {
			_ = h.Store.TouchAPIToken(r.Context(), t.ID)
		}
		fn(w, r.WithContext(WithPrincipal(r.Context(), p)), p)
	})
}
