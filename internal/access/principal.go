// Package access knows who is asking and what they may do: the principal
// of a request (its role and subaccounts), authentication by API token, by
// password and by web session, and the organization's structure that
// grants access — subaccounts, users and API tokens. The web pages, the API
// and the CLI call it alike; none of them decides rights on its own.
package access

import (
	"context"
	"slices"

	"github.com/ticksapp/ticks/internal/domain"
)

// Principal is who makes a request and what it may see.
type Principal struct {
	Role    domain.Role
	TokenID int64 // the API token used; 0 for the admin token, a session or the system
	UserID  int64 // the user of a web session
	BotID   int64 // the bot whose token was used (its id is the token's); 0 for none
	// Scope is the subaccounts the principal may see; nil means all of them
	// (an organization admin).
	Scope []int64
}

// System is the principal of ticks itself and of its command line: an
// organization admin.
func System() *Principal { return &Principal{Role: domain.RoleAdmin} }

// ForUser is the principal of a logged-in user: an admin sees every
// subaccount, everyone else the ones granted to them.
func ForUser(u *domain.User) *Principal {
	p := &Principal{Role: u.Role, UserID: u.ID, Scope: u.Subaccounts}
	if u.Role == domain.RoleAdmin {
		p.Scope = nil
	} else if p.Scope == nil {
		p.Scope = []int64{}
	}
	return p
}

// OrgAdmin reports whether p administers the whole organization.
func (p *Principal) OrgAdmin() bool { return p.Role == domain.RoleAdmin && p.Scope == nil }

// CanSee reports whether p may see subaccount id.
func (p *Principal) CanSee(id int64) bool { return p.Scope == nil || slices.Contains(p.Scope, id) }

// SeesAny reports whether p may see at least one of subaccounts.
func (p *Principal) SeesAny(subaccounts []int64) bool {
	return slices.ContainsFunc(subaccounts, p.CanSee)
}

// Need returns EFORBIDDEN unless p has one of roles (an organization admin
// always has).
func (p *Principal) Need(roles ...domain.Role) error {
	if p.OrgAdmin() || slices.Contains(roles, p.Role) {
		return nil
	}
	return domain.Errorf(domain.EFORBIDDEN, "role %s may not do this", p.Role)
}

// NeedOrgAdmin returns EFORBIDDEN unless p administers the organization.
func (p *Principal) NeedOrgAdmin(what string) error {
	if p.OrgAdmin() {
		return nil
	}
	return domain.Errorf(domain.EFORBIDDEN, "role %s may not %s: only an organization admin may", p.Role, what)
}

// Narrow returns p's scope limited to one subaccount when one is asked for
// (0 asks for none), refusing one outside it.
func (p *Principal) Narrow(subaccount int64) ([]int64, error) {
	if subaccount == 0 {
		return p.Scope, nil
	}
	if !p.CanSee(subaccount) {
		return nil, domain.Errorf(domain.EFORBIDDEN, "subaccount %d is not yours", subaccount)
	}
	return []int64{subaccount}, nil
}

// WriteTarget is the subaccount a write goes to: the one named, or p's only
// one. The unassigned subaccount takes no writes.
func (p *Principal) WriteTarget(id int64) (int64, error) {
	if id != 0 {
		if !p.CanSee(id) || id == domain.UnassignedSubaccountID {
			return 0, domain.Errorf(domain.EFORBIDDEN, "subaccount %d is not yours", id)
		}
		return id, nil
	}
	if len(p.Scope) == 1 {
		return p.Scope[0], nil
	}
	return 0, domain.Errorf(domain.EINVALID, "subaccount_id is required")
}

type principalKey struct{}

// FromContext returns the principal a request was authenticated as, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}
