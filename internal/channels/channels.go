// Package channels manages the organization's WhatsApp numbers (channels:
// a WABA's phone number, its access token sealed at rest, its tier,
// throughput, fallback template and warm-up program) and their message
// templates, synced from or submitted to WhatsApp.
package channels

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/store"
)

// Service manages channels and templates.
type Service struct {
	Store    *store.Store
	Box      *secret.Box     // seals channel access tokens; nil refuses tokens
	Provider domain.Provider // WhatsApp (or the simulator), for templates; nil when not configured
}

// List lists the channels of the subaccounts p may see.
func (s *Service) List(ctx context.Context, p *access.Principal) ([]domain.Channel, error) {
	return s.Store.Channels(ctx, p.Scope)
}

// Get returns a channel of a subaccount p may see.
func (s *Service) Get(ctx context.Context, p *access.Principal, id int64) (*domain.Channel, error) {
	c, err := s.Store.Channel(ctx, id)
	if err == nil && !p.CanSee(c.SubaccountID) {
		err = domain.Errorf(domain.ENOTFOUND, "channel %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Input is a channel to create.
type Input struct {
	SubaccountID  int64  `json:"subaccount_id"`
	Name          string `json:"name"`
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id"`
	DisplayPhone  string `json:"display_phone"`
	AccessToken   string `json:"access_token"`
	Tier          string `json:"tier"`
	ThroughputMPS int    `json:"throughput_mps"`
}

var metaID = regexp.MustCompile(`^[0-9]{5,20}$`)

// tiers are Meta's messaging-limit tiers.
var tiers = map[string]bool{"TIER_250": true, "TIER_2K": true, "TIER_10K": true, "TIER_100K": true, "TIER_UNLIMITED": true, "TIER_1K": true}

const tierList = "TIER_250, TIER_2K, TIER_10K, TIER_100K, TIER_UNLIMITED"

// Create validates in and stores the channel with its access token sealed.
// Only an organization admin adds numbers; a number whose webhooks arrived
// before it was added claims that history.
func (s *Service) Create(ctx context.Context, p *access.Principal, in Input) (*domain.Channel, error) {
	if err := p.NeedOrgAdmin("create channels"); err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.SubaccountID <= 0:
		return nil, domain.Errorf(domain.EINVALID, "subaccount_id is required")
	case in.SubaccountID == domain.UnassignedSubaccountID:
		return nil, domain.Errorf(domain.EINVALID, "channels cannot be created in the unassigned subaccount")
	case in.Name == "" || len(in.Name) > 100:
		return nil, domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
	case !metaID.MatchString(in.PhoneNumberID):
		return nil, domain.Errorf(domain.EINVALID, "phone_number_id must be Meta's numeric id of the phone number")
	case in.WABAID != "" && !metaID.MatchString(in.WABAID):
		return nil, domain.Errorf(domain.EINVALID, "waba_id must be Meta's numeric id of the WhatsApp Business Account")
	case in.Tier != "" && !tiers[in.Tier]:
		return nil, domain.Errorf(domain.EINVALID, "tier must be one of %s", tierList)
	case in.ThroughputMPS < 0 || in.ThroughputMPS > 1000:
		return nil, domain.Errorf(domain.EINVALID, "throughput_mps must be between 1 and 1000")
	}
	c := &domain.Channel{SubaccountID: in.SubaccountID, Name: in.Name, WABAID: in.WABAID, PhoneNumberID: in.PhoneNumberID,
		DisplayPhone: in.DisplayPhone, Tier: in.Tier, ThroughputMPS: in.ThroughputMPS}
	if in.AccessToken != "" {
		if s.Box == nil {
			return nil, domain.Errorf(domain.EINVALID, "access_token cannot be stored: TICKS_SECRET_KEY is not set")
		}
		sealed, err := s.Box.Seal(in.AccessToken)
		if err != nil {
			return nil, err
		}
		c.AccessTokenEnc = sealed
	}
	if err := s.Store.CreateChannel(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Settings are the sending settings of a channel; nil fields are left as
// they are.
type Settings struct {
	FallbackTemplate *string    `json:"fallback_template"`
	FallbackLanguage *string    `json:"fallback_language"`
	WarmupUntil      *time.Time `json:"warmup_until"`
	WarmupDailyLimit *int       `json:"warmup_daily_limit"`
	Tier             *string    `json:"tier"`
	ThroughputMPS    *int       `json:"throughput_mps"`
}

// Update changes a channel's sending settings; admins and supervisors of
// its subaccount may.
func (s *Service) Update(ctx context.Context, p *access.Principal, id int64, in Settings) (*domain.Channel, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if in.FallbackTemplate != nil {
		c.FallbackTemplate = strings.TrimSpace(*in.FallbackTemplate)
	}
	if in.FallbackLanguage != nil {
		c.FallbackLanguage = strings.TrimSpace(*in.FallbackLanguage)
	}
	if (c.FallbackTemplate == "") != (c.FallbackLanguage == "") {
		return nil, domain.Errorf(domain.EINVALID, "fallback_template and fallback_language go together")
	}
	if c.FallbackTemplate != "" && (in.FallbackTemplate != nil || in.FallbackLanguage != nil) {
		if err := s.checkFallback(ctx, c); err != nil {
			return nil, err
		}
	}
	if in.WarmupUntil != nil {
		c.WarmupUntil = in.WarmupUntil
		if in.WarmupUntil.IsZero() {
			c.WarmupUntil = nil
		}
	}
	if in.WarmupDailyLimit != nil {
		if *in.WarmupDailyLimit < 0 {
			return nil, domain.Errorf(domain.EINVALID, "warmup_daily_limit must not be negative")
		}
		c.WarmupDailyLimit = *in.WarmupDailyLimit
	}
	if in.Tier != nil {
		if !tiers[*in.Tier] {
			return nil, domain.Errorf(domain.EINVALID, "tier must be one of %s", tierList)
		}
		c.Tier = *in.Tier
	}
	if in.ThroughputMPS != nil {
		if *in.ThroughputMPS < 1 || *in.ThroughputMPS > 1000 {
			return nil, domain.Errorf(domain.EINVALID, "throughput_mps must be between 1 and 1000")
		}
		c.ThroughputMPS = *in.ThroughputMPS
	}
	if err := s.Store.UpdateChannelSettings(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// checkFallback refuses a fallback template that could never be sent: a
// fallback replaces a free-form message outside the customer-service
// window, so it goes without parameters, and must be an approved template
// of the number's WhatsApp account.
func (s *Service) checkFallback(ctx context.Context, c *domain.Channel) error {
	t, err := s.Store.Template(ctx, c.WABAID, c.FallbackTemplate, c.FallbackLanguage)
	switch {
	case domain.ErrorCode(err) == domain.ENOTFOUND:
		return domain.Errorf(domain.EINVALID, "fallback_template %q (%s) is not a template of this number's WhatsApp account: sync the templates first",
			c.FallbackTemplate, c.FallbackLanguage)
	case err != nil:
		return err
	case t.Status != "APPROVED":
		return domain.Errorf(domain.EINVALID, "fallback_template %q (%s) is %s, not approved", c.FallbackTemplate, c.FallbackLanguage, t.Status)
	}
	if _, n := t.Body(); n > 0 {
		return domain.Errorf(domain.EINVALID, "fallback_template %q takes %d body parameters, but a fallback replaces free text and is sent without any: choose a template without parameters",
			c.FallbackTemplate, n)
	}
	return nil
}

// ForSending returns the channel a request sends on: the one named, or the
// only one p has. Numbers of the unassigned subaccount never send.
func (s *Service) ForSending(ctx context.Context, p *access.Principal, channelID int64) (*domain.Channel, error) {
	if channelID != 0 {
		c, err := s.Store.Channel(ctx, channelID)
		if err != nil || !p.CanSee(c.SubaccountID) || c.SubaccountID == domain.UnassignedSubaccountID {
			return nil, domain.Errorf(domain.ENOTFOUND, "channel %d not found", channelID)
		}
		return c, nil
	}
	list, err := s.Store.Channels(ctx, p.Scope)
	if err != nil {
		return nil, err
	}
	var usable []domain.Channel
	for _, c := range list {
		if c.SubaccountID != domain.UnassignedSubaccountID {
			usable = append(usable, c)
		}
	}
	switch len(usable) {
	case 0:
		return nil, domain.Errorf(domain.EINVALID, "no channel to send on: create one first")
	case 1:
		return &usable[0], nil
	}
	return nil, domain.Errorf(domain.EINVALID, "channel_id is required: %d channels are yours", len(usable))
}

// AccessToken opens a channel's sealed access token ("" when it has none).
func (s *Service) AccessToken(ch *domain.Channel) (string, error) {
	if ch.AccessTokenEnc == "" {
		return "", nil
	}
	if s.Box == nil {
		return "", domain.Errorf(domain.EINVALID, "the channel's token cannot be opened: TICKS_SECRET_KEY is not set")
	}
	return s.Box.Open(ch.AccessTokenEnc)
}
