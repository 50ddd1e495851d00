package access

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/secret"
)

// Subaccounts lists the subaccounts p may see.
func (s *Service) Subaccounts(ctx context.Context, p *Principal) ([]domain.Subaccount, error) {
	return s.Store.Subaccounts(ctx, p.Scope)
}

// Subaccount returns one subaccount p may see.
func (s *Service) Subaccount(ctx context.Context, p *Principal, id int64) (*domain.Subaccount, error) {
	if !p.CanSee(id) {
		return nil, domain.Errorf(domain.ENOTFOUND, "subaccount %d not found", id)
	}
	return s.Store.Subaccount(ctx, id)
}

// SubaccountInput is a subaccount to create.
type SubaccountInput struct {
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
}

// CreateSubaccount creates a subaccount; only an organization admin may.
func (s *Service) CreateSubaccount(ctx context.Context, p *Principal, in SubaccountInput) (*domain.Subaccount, error) {
	if err := p.NeedOrgAdmin("create subaccounts"); err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return nil, domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
	}
	if in.TimeZone != "" {
		if _, err := time.LoadLocation(in.TimeZone); err != nil {
			return nil, domain.Errorf(domain.EINVALID, "time_zone %q is not an IANA time zone", in.TimeZone)
		}
	}
	sa := &domain.Subaccount{Name: in.Name, TimeZone: in.TimeZone}
	if err := s.Store.CreateSubaccount(ctx, sa); err != nil {
		return nil, err
	}
	return sa, nil
}

// Users lists the users of the subaccounts p may see; admins and
// supervisors only.
func (s *Service) Users(ctx context.Context, p *Principal) ([]domain.User, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	return s.Store.Users(ctx, p.Scope)
}

// User returns a user who shares a subaccount with p.
func (s *Service) User(ctx context.Context, p *Principal, id int64) (*domain.User, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	u, err := s.Store.User(ctx, id)
	if err == nil && !p.OrgAdmin() && !p.SeesAny(u.Subaccounts) {
		err = domain.Errorf(domain.ENOTFOUND, "user %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UserInput is a user to create.
type UserInput struct {
	Email       string      `json:"email"`
	Name        string      `json:"name"`
	Role        domain.Role `json:"role"`
	Password    string      `json:"password"`
	Lang        string      `json:"lang"`
	Subaccounts []int64     `json:"subaccounts"`
}

// CreateUser validates in and stores the user with its password hashed. A
// supervisor may create agents and viewers of its own subaccounts.
func (s *Service) CreateUser(ctx context.Context, p *Principal, in UserInput) (*domain.User, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	in.Email = strings.TrimSpace(in.Email)
	if at := strings.IndexByte(in.Email, '@'); at < 1 || at == len(in.Email)-1 || len(in.Email) > 254 {
		return nil, domain.Errorf(domain.EINVALID, "email %q is not an email address", in.Email)
	}
	if !in.Role.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "role must be admin, supervisor, agent or viewer")
	}
	if in.Lang != "" && in.Lang != "pt-BR" && in.Lang != "en" {
		return nil, domain.Errorf(domain.EINVALID, "lang must be pt-BR or en")
	}
	if !p.OrgAdmin() {
		if in.Role == domain.RoleAdmin || in.Role == domain.RoleSupervisor {
			return nil, domain.Errorf(domain.EFORBIDDEN, "only an admin may create %s users", in.Role)
		}
		if len(in.Subaccounts) == 0 {
			return nil, domain.Errorf(domain.EINVALID, "subaccounts: grant at least one of your subaccounts")
		}
	}
	for _, id := range in.Subaccounts {
		if !p.CanSee(id) {
			return nil, domain.Errorf(domain.EFORBIDDEN, "subaccount %d is not yours", id)
		}
	}
	hash, err := secret.HashPassword(in.Password)
	if err != nil {
		return nil, domain.Errorf(domain.EINVALID, "password: %v", err)
	}
	u := &domain.User{Email: in.Email, Name: strings.TrimSpace(in.Name), Role: in.Role, Lang: in.Lang,
		PasswordHash: hash, Subaccounts: in.Subaccounts}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// SetLang remembers a user's language; a user sets only their own.
func (s *Service) SetLang(ctx context.Context, p *Principal, lang string) (string, error) {
	if p.UserID == 0 {
		return "", domain.Errorf(domain.EINVALID, "only a logged-in user has a language")
	}
	lang = i18n.Normalize(lang)
	return lang, s.Store.SetUserLang(ctx, p.UserID, lang)
}

// Tokens lists the API tokens of the subaccounts p may see.
func (s *Service) Tokens(ctx context.Context, p *Principal) ([]domain.APIToken, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	return s.Store.APITokens(ctx, p.Scope)
}

// TokenInput is an API token to create.
type TokenInput struct {
	Name         string      `json:"name"`
	Role         domain.Role `json:"role"`
	SubaccountID int64       `json:"subaccount_id"`
	// UserID makes a token that acts as that user (their role, their
	// subaccounts, their desk); Role and SubaccountID then default to
	// theirs.
	UserID int64 `json:"user_id,omitempty"`
}

// CreatedToken is a token just created: the only time the token itself is
// shown.
type CreatedToken struct {
	domain.APIToken
	Token string `json:"token"`
}

// CreateToken validates in, makes the token and stores its hash.
func (s *Service) CreateToken(ctx context.Context, p *Principal, in TokenInput) (*CreatedToken, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return nil, domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
	}
	var userID *int64
	if in.UserID != 0 {
		u, err := s.User(ctx, p, in.UserID)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, domain.Errorf(domain.EINVALID, "user_id %d is not a user of your subaccounts", in.UserID)
		}
		if err != nil {
			return nil, err
		}
		if in.Role != "" && in.Role != u.Role {
			return nil, domain.Errorf(domain.EINVALID, "role: a token of user %d has their role, %s", u.ID, u.Role)
		}
		in.Role, userID = u.Role, &u.ID
		if in.SubaccountID == 0 && len(u.Subaccounts) > 0 {
			in.SubaccountID = u.Subaccounts[0]
		}
		if in.SubaccountID != 0 && u.Role != domain.RoleAdmin && !slices.Contains(u.Subaccounts, in.SubaccountID) {
			return nil, domain.Errorf(domain.EINVALID, "subaccount_id %d is not one of user %d's", in.SubaccountID, u.ID)
		}
	}
	if !in.Role.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "role must be admin, supervisor, agent or viewer")
	}
	if in.SubaccountID <= 0 {
		return nil, domain.Errorf(domain.EINVALID, "subaccount_id is required")
	}
	if !p.CanSee(in.SubaccountID) {
		return nil, domain.Errorf(domain.EFORBIDDEN, "subaccount %d is not yours", in.SubaccountID)
	}
	if in.Role == domain.RoleAdmin && !p.OrgAdmin() {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only an admin may create admin tokens")
	}
	token, err := secret.NewToken("tk_")
	if err != nil {
		return nil, err
	}
	t := &CreatedToken{Token: token, APIToken: domain.APIToken{SubaccountID: in.SubaccountID, Name: in.Name,
		Role: in.Role, Prefix: secret.TokenPrefix(token), Hash: secret.HashToken(token), UserID: userID}}
	if err := s.Store.CreateAPIToken(ctx, &t.APIToken); err != nil {
		return nil, err
	}
	return t, nil
}

// RevokeToken revokes a token of a subaccount p may see; only an admin
// revokes admin tokens.
func (s *Service) RevokeToken(ctx context.Context, p *Principal, id int64) error {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return err
	}
	t, err := s.Store.APIToken(ctx, id)
	if err == nil && !p.CanSee(t.SubaccountID) {
		err = domain.Errorf(domain.ENOTFOUND, "token %d not found", id)
	}
	if err == nil && t.Role == domain.RoleAdmin && !p.OrgAdmin() {
		err = domain.Errorf(domain.EFORBIDDEN, "only an admin may revoke admin tokens")
	}
	if err != nil {
		return err
	}
	return s.Store.RevokeAPIToken(ctx, id)
}
