package api

import (
	"net/http"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/secret"
)

func (h *Handler) me(w http.ResponseWriter, r *http.Request, p *Principal) {
	respond.JSON(w, http.StatusOK, map[string]any{"role": p.Role, "subaccounts": p.Scope, "org_admin": p.OrgAdmin()})
}

func (h *Handler) listSubaccounts(w http.ResponseWriter, r *http.Request, p *Principal) {
	list, err := h.Store.Subaccounts(r.Context(), p.Scope)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"subaccounts": list})
}

func (h *Handler) getSubaccount(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, err := pathID(r)
	if err == nil && !p.CanSee(id) {
		err = domain.Errorf(domain.ENOTFOUND, "subaccount %d not found", id)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	sa, err := h.Store.Subaccount(r.Context(), id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, sa)
}

type subaccountInput struct {
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
}

func (h *Handler) createSubaccount(w http.ResponseWriter, r *http.Request, p *Principal) {
	var in subaccountInput
	err := p.need(domain.RoleAdmin)
	if err == nil {
		err = decode(w, r, &in)
	}
	if err == nil {
		err = validateSubaccount(&in)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	sa := &domain.Subaccount{Name: in.Name, TimeZone: in.TimeZone}
	if err := h.Store.CreateSubaccount(r.Context(), sa); err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, sa)
}

// ValidateSubaccount checks a subaccount to create, trimming its name.
func ValidateSubaccount(sa *domain.Subaccount) error {
	in := subaccountInput{Name: sa.Name, TimeZone: sa.TimeZone}
	if err := validateSubaccount(&in); err != nil {
		return err
	}
	sa.Name, sa.TimeZone = in.Name, in.TimeZone
	return nil
}

func validateSubaccount(in *subaccountInput) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
	}
	if in.TimeZone != "" {
		if _, err := loadLocation(in.TimeZone); err != nil {
			return domain.Errorf(domain.EINVALID, "time_zone %q is not an IANA time zone", in.TimeZone)
		}
	}
	return nil
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, p *Principal) {
	if err := p.need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		respond.Error(w, r, err)
		return
	}
	list, err := h.Store.Users(r.Context(), p.Scope)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"users": list})
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, err := pathID(r)
	if err == nil {
		err = p.need(domain.RoleAdmin, domain.RoleSupervisor)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	u, err := h.Store.User(r.Context(), id)
	if err == nil && !p.OrgAdmin() && !shares(p, u.Subaccounts) {
		err = domain.Errorf(domain.ENOTFOUND, "user %d not found", id)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, u)
}

func shares(p *Principal, subaccounts []int64) bool {
	for _, id := range subaccounts {
		if p.CanSee(id) {
			return true
		}
	}
	return false
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

// NewUser validates in and returns the user to store, with its password
// hashed. A supervisor may create agents and viewers of its own subaccounts.
func NewUser(p *Principal, in *UserInput) (*domain.User, error) {
	if err := p.need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
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
	return &domain.User{Email: in.Email, Name: strings.TrimSpace(in.Name), Role: in.Role, Lang: in.Lang,
		PasswordHash: hash, Subaccounts: in.Subaccounts}, nil
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, p *Principal) {
	var in UserInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	u, err := NewUser(p, &in)
	if err == nil {
		err = h.Store.CreateUser(r.Context(), u)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, u)
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, p *Principal) {
	if err := p.need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		respond.Error(w, r, err)
		return
	}
	list, err := h.Store.APITokens(r.Context(), p.Scope)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"tokens": list})
}

// TokenInput is an API token to create.
type TokenInput struct {
	Name         string      `json:"name"`
	Role         domain.Role `json:"role"`
	SubaccountID int64       `json:"subaccount_id"`
}

// CreatedToken is the answer to a token creation: the only time the token
// itself is shown.
type CreatedToken struct {
	domain.APIToken
	Token string `json:"token"`
}

// NewToken validates in and makes the token; the caller stores it.
func NewToken(p *Principal, in *TokenInput) (*CreatedToken, error) {
	if err := p.need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return nil, domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
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
	return &CreatedToken{Token: token, APIToken: domain.APIToken{SubaccountID: in.SubaccountID, Name: in.Name,
		Role: in.Role, Prefix: secret.TokenPrefix(token), Hash: secret.HashToken(token)}}, nil
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, p *Principal) {
	var in TokenInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	t, err := NewToken(p, &in)
	if err == nil {
		err = h.Store.CreateAPIToken(r.Context(), &t.APIToken)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, t)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, err := pathID(r)
	if err == nil {
		err = p.need(domain.RoleAdmin, domain.RoleSupervisor)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	t, err := h.Store.APIToken(r.Context(), id)
	if err == nil && !p.CanSee(t.SubaccountID) {
		err = domain.Errorf(domain.ENOTFOUND, "token %d not found", id)
	}
	if err == nil && t.Role == domain.RoleAdmin && !p.OrgAdmin() {
		err = domain.Errorf(domain.EFORBIDDEN, "only an admin may revoke admin tokens")
	}
	if err == nil {
		err = h.Store.RevokeAPIToken(r.Context(), id)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
