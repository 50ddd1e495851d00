// Package contacts manages the people a business talks to: created or
// updated one at a time or from a CSV file (bad rows reported one by one,
// good rows kept), looked up by id or phone, and opted out of or back into
// marketing.
package contacts

import (
	"context"
	"strings"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
	"github.com/ticksapp/ticks/internal/store"
)

// Input is a contact to create or update.
type Input = store.ContactInput

// Service manages contacts.
type Service struct {
	Store *store.Store
}

// Get returns a contact of a subaccount p may see.
func (s *Service) Get(ctx context.Context, p *access.Principal, id int64) (*domain.Contact, error) {
	return s.Store.Contact(ctx, id, p.Scope)
}

// ListFilter selects contacts: a page at a time by ascending id, optionally
// those with one phone number.
type ListFilter struct {
	Phone   string // any form libphonenumber reads; Brazil by default
	AfterID int64
	Limit   int
}

// List lists the contacts p may see.
func (s *Service) List(ctx context.Context, p *access.Principal, in ListFilter) ([]domain.Contact, error) {
	f := store.ContactFilter{Subaccounts: p.Scope, AfterID: in.AfterID, Limit: in.Limit}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 1 || f.Limit > domain.MaxReportLimit || f.AfterID < 0 {
		return nil, domain.Errorf(domain.EINVALID, "limit must be between 1 and %d", domain.MaxReportLimit)
	}
	if v := strings.TrimSpace(in.Phone); v != "" {
		e164, err := phone.Normalize(v, "BR")
		if err != nil {
			return nil, domain.Errorf(domain.EINVALID, "phone: %v", err)
		}
		f.Phone = e164
	}
	return s.Store.Contacts(ctx, f)
}

// Upsert creates the contact with in's phone in a subaccount (p's only one
// when subaccountID is 0), or updates what in gives.
func (s *Service) Upsert(ctx context.Context, p *access.Principal, subaccountID int64, in Input) (*domain.Contact, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return nil, err
	}
	sa, err := p.WriteTarget(subaccountID)
	if err != nil {
		return nil, err
	}
	if err := Normalize(&in); err != nil {
		return nil, err
	}
	return s.Store.UpsertContact(ctx, sa, in)
}

// SetOptOut opts a contact out of marketing (out) or back in.
func (s *Service) SetOptOut(ctx context.Context, p *access.Principal, id int64, out bool) (*domain.Contact, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return nil, err
	}
	return s.Store.SetOptOut(ctx, id, p.Scope, out)
}

// Normalize puts a contact's phone in E.164 (Brazil by default) and trims
// and bounds its texts.
func Normalize(in *Input) error {
	e164, err := phone.Normalize(in.Phone, "BR")
	if err != nil {
		return domain.Errorf(domain.EINVALID, "phone %q: %v", in.Phone, err)
	}
	in.Phone = e164
	in.Name, in.CorrelationID = strings.TrimSpace(in.Name), strings.TrimSpace(in.CorrelationID)
	if len(in.Name) > 200 || len(in.CorrelationID) > 200 {
		return domain.Errorf(domain.EINVALID, "name and correlation_id are at most 200 characters")
	}
	return nil
}

// Add creates or updates many contacts at once in a subaccount; every one
// must be valid.
func (s *Service) Add(ctx context.Context, p *access.Principal, subaccountID int64, list []Input) (int, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return 0, err
	}
	sa, err := p.WriteTarget(subaccountID)
	if err != nil {
		return 0, err
	}
	for i := range list {
		if err := Normalize(&list[i]); err != nil {
			return 0, err
		}
	}
	return s.Store.ImportContacts(ctx, sa, list)
}
