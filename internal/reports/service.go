package reports

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// Service answers the detailed report (seed 000): its pages, its
// consolidated view, its exports, single messages and saved searches.
type Service struct {
	Store    *store.Store
	Location *time.Location // the account's time zone
	// Exports bounds the exports written at once; nil bounds nothing.
	Exports *ExportLimiter
	// Now is the clock, replaceable in tests.
	Now func() time.Time
}

// New returns the service over st, with dates in loc.
func New(st *store.Store, loc *time.Location) *Service {
	return &Service{Store: st, Location: loc, Exports: NewExportLimiter(), Now: time.Now}
}

// readers are the roles that read reports; agents work in the desk.
var readers = []domain.Role{domain.RoleAdmin, domain.RoleSupervisor, domain.RoleViewer}

// Filter parses the report's query parameters for p (see ParseFilter).
func (s *Service) Filter(q url.Values, p *access.Principal) (*domain.MessageFilter, error) {
	return ParseFilter(q, p, s.Location, s.Now())
}

// Messages returns a page of the report.
func (s *Service) Messages(ctx context.Context, p *access.Principal, f *domain.MessageFilter) (*domain.MessagePage, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	f.Subaccounts = p.Scope
	return s.Store.ReportMessages(ctx, f)
}

// Summary returns the consolidated view of a search.
func (s *Service) Summary(ctx context.Context, p *access.Principal, f *domain.MessageFilter) (*domain.MessageSummary, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	f.Subaccounts = p.Scope
	return s.Store.ReportSummary(ctx, f, s.Location)
}

// Message finds a message p may see by ticks id or by WhatsApp id (wamid.…).
func (s *Service) Message(ctx context.Context, p *access.Principal, ref string) (*domain.Message, error) {
	if strings.HasPrefix(ref, "wamid.") {
		return s.Store.MessageByWAMID(ctx, ref, p.Scope)
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return s.Store.Message(ctx, id, p.Scope)
	}
	return nil, domain.Errorf(domain.EINVALID, "message id %q is neither a ticks id nor a wamid", ref)
}

// Names resolves the users and API clients p may see to their names.
func (s *Service) Names(ctx context.Context, p *access.Principal) (*Names, error) {
	return LoadNames(ctx, s.Store, p.Scope)
}

// SavedSearch is a report search saved under a name.
type SavedSearch = store.SavedSearch

// Users lists the users whose messages p may filter the report on.
func (s *Service) Users(ctx context.Context, p *access.Principal) ([]domain.User, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	return s.Store.Users(ctx, p.Scope)
}

// SavedSearches lists p's own searches and those shared with its
// subaccounts.
func (s *Service) SavedSearches(ctx context.Context, p *access.Principal) ([]SavedSearch, error) {
	return s.Store.SavedSearches(ctx, p.UserID, p.Scope)
}

// SavedSearch returns one search p may run.
func (s *Service) SavedSearch(ctx context.Context, p *access.Principal, id int64) (*SavedSearch, error) {
	return s.Store.SavedSearch(ctx, id, p.UserID, p.Scope)
}

// SaveSearchInput is a search to save: the report's query string, and
// whether to share it with the subaccount it filters on (or p's only one).
type SaveSearchInput struct {
	Name  string
	Query url.Values
	Share bool
}

// SaveSearch stores a search under a name for p's user; only searches that
// run can be saved.
func (s *Service) SaveSearch(ctx context.Context, p *access.Principal, in SaveSearchInput) (*SavedSearch, error) {
	if p.UserID == 0 {
		return nil, domain.Errorf(domain.EINVALID, "only a logged-in user saves searches")
	}
	if _, err := s.Filter(in.Query, p); err != nil {
		return nil, err
	}
	name, err := searchName(in.Name)
	if err != nil {
		return nil, err
	}
	ss := &SavedSearch{UserID: p.UserID, Name: name, Query: in.Query.Encode()}
	if in.Share {
		sa := int64(0)
		if v := in.Query.Get("subaccount"); v != "" {
			sa, _ = strconv.ParseInt(v, 10, 64)
		} else if len(p.Scope) == 1 {
			sa = p.Scope[0]
		}
		if sa == 0 || !p.CanSee(sa) {
			return nil, domain.Errorf(domain.EINVALID, "choose the subaccount to share the search with")
		}
		ss.SubaccountID = &sa
	}
	if err := s.Store.SaveSearch(ctx, ss); err != nil {
		return nil, err
	}
	return ss, nil
}

// RenameSearch renames one of p's own searches.
func (s *Service) RenameSearch(ctx context.Context, p *access.Principal, id int64, name string) error {
	name, err := searchName(name)
	if err != nil {
		return err
	}
	return s.Store.RenameSearch(ctx, id, p.UserID, name)
}

// DeleteSearch deletes one of p's own searches.
func (s *Service) DeleteSearch(ctx context.Context, p *access.Principal, id int64) error {
	return s.Store.DeleteSearch(ctx, id, p.UserID)
}

func searchName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
	}
	return name, nil
}
