package channels

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
)

// Templates lists the templates of the subaccounts p may see.
func (s *Service) Templates(ctx context.Context, p *access.Principal) ([]domain.Template, error) {
	return s.Store.Templates(ctx, p.Scope)
}

// SyncTemplates fetches a channel's templates from WhatsApp and stores
// them; it returns how many there were.
func (s *Service) SyncTemplates(ctx context.Context, p *access.Principal, channelID int64) (int, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return 0, err
	}
	ch, err := s.ForSending(ctx, p, channelID)
	if err != nil {
		return 0, err
	}
	return s.sync(ctx, ch)
}

// SyncAll fetches every channel's templates, as the system does at start.
func (s *Service) SyncAll(ctx context.Context) error {
	list, err := s.Store.Channels(ctx, nil)
	if err != nil {
		return err
	}
	for i := range list {
		if list[i].SubaccountID == domain.UnassignedSubaccountID {
			continue
		}
		if _, err := s.sync(ctx, &list[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) sync(ctx context.Context, ch *domain.Channel) (int, error) {
	if ch.WABAID == "" {
		return 0, domain.Errorf(domain.EINVALID, "channel %d has no waba_id to sync templates from", ch.ID)
	}
	if s.Provider == nil {
		return 0, domain.Errorf(domain.EINVALID, "sending is not configured on this server")
	}
	token, err := s.AccessToken(ch)
	if err != nil {
		return 0, err
	}
	list, err := s.Provider.Templates(ctx, ch.WABAID, token)
	if err != nil {
		return 0, ProviderError(err)
	}
	for i := range list {
		list[i].WABAID = ch.WABAID
	}
	if err := s.Store.UpsertTemplates(ctx, ch.SubaccountID, list); err != nil {
		return 0, err
	}
	return len(list), nil
}

// TemplateInput is a template to submit to WhatsApp.
type TemplateInput struct {
	ChannelID  int64           `json:"channel_id"`
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Category   string          `json:"category"`
	Components json.RawMessage `json:"components"`
}

var templateName = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)

// templateCreator is a provider that can create templates (the Cloud API
// client; against the simulator they are approved at once).
type templateCreator interface {
	CreateTemplate(ctx context.Context, wabaID, accessToken string, t domain.Template) (metaID, status string, err error)
}

// CreateTemplate submits a template to WhatsApp for approval and stores it.
func (s *Service) CreateTemplate(ctx context.Context, p *access.Principal, in TemplateInput) (*domain.Template, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	in.Category = strings.ToLower(in.Category)
	switch {
	case !templateName.MatchString(in.Name):
		return nil, domain.Errorf(domain.EINVALID, "name must be lower-case letters, digits and underscores (at most 512)")
	case in.Language == "":
		return nil, domain.Errorf(domain.EINVALID, "language is required (e.g. pt_BR)")
	case in.Category != "marketing" && in.Category != "utility" && in.Category != "authentication":
		return nil, domain.Errorf(domain.EINVALID, "category must be marketing, utility or authentication")
	case len(in.Components) == 0 || in.Components[0] != '[':
		return nil, domain.Errorf(domain.EINVALID, "components must be the Cloud API components array")
	}
	ch, err := s.ForSending(ctx, p, in.ChannelID)
	if err != nil {
		return nil, err
	}
	creator, ok := s.Provider.(templateCreator)
	if !ok {
		return nil, domain.Errorf(domain.EINVALID, "this provider cannot create templates")
	}
	token, err := s.AccessToken(ch)
	if err != nil {
		return nil, err
	}
	t := domain.Template{WABAID: ch.WABAID, Name: in.Name, Language: in.Language, Category: in.Category, Components: in.Components}
	t.MetaID, t.Status, err = creator.CreateTemplate(ctx, ch.WABAID, token, t)
	if err != nil {
		return nil, ProviderError(err)
	}
	if err := s.Store.UpsertTemplates(ctx, ch.SubaccountID, []domain.Template{t}); err != nil {
		return nil, err
	}
	return s.Store.Template(ctx, ch.WABAID, t.Name, t.Language)
}

// ProviderError turns a failed call to WhatsApp into the domain's error
// vocabulary: Meta's refusal is the caller's to fix, an unreachable API is
// ours.
func ProviderError(err error) error {
	var se *domain.SendError
	if errors.As(err, &se) {
		return domain.Errorf(domain.EINVALID, "WhatsApp answered %d %s: %s", se.Meta.Code, se.Meta.Title, se.Meta.Details)
	}
	return domain.Errorf(domain.EINTERNAL, "WhatsApp unreachable: %v", err)
}
