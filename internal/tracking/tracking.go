// Package tracking is the bots of a business and what they record: bots
// (a router per channel and the bots under it, each with its own API
// token), event tracks ({category, action} recorded at a point of a bot's
// flow, with the contact), the custom reports over them (counts and
// distinct contacts per action and period, funnels) and the conversation
// metrics per bot (MAU, MEU, messages).
package tracking

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/store"
)

// Service registers bots, records their events and answers the custom
// reports.
type Service struct {
	Store    *store.Store
	Location *time.Location // the account's time zone: days, weeks and months of the reports
	// Now is the clock, replaceable in tests.
	Now func() time.Time

	// known holds the subaccounts seen to exist (id → true); a pointer,
	// so that a copy of the service (the demo's, with another clock)
	// shares it. Nil: none remembered.
	known *sync.Map
}

// New returns the service over st, with periods cut in loc.
func New(st *store.Store, loc *time.Location) *Service {
	return &Service{Store: st, Location: loc, Now: time.Now, known: &sync.Map{}}
}

// readers are the roles that read reports.
var readers = []domain.Role{domain.RoleAdmin, domain.RoleSupervisor, domain.RoleViewer}

// BotInput is a bot to register.
type BotInput struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"` // router or bot (default)
	SubaccountID int64  `json:"subaccount_id"`
	RouterID     int64  `json:"router_id"`  // the router a bot is under (optional)
	ChannelID    int64  `json:"channel_id"` // the channel a router answers
}

// CreatedBot is a bot just registered, with its API token: the only time
// the token is shown.
type CreatedBot struct {
	domain.Bot
	Token string `json:"token"`
}

// CreateBot registers a bot and makes its API token (role agent: a bot
// sends messages and records events, and reads nothing). Admins and
// supervisors of the subaccount may.
func (s *Service) CreateBot(ctx context.Context, p *access.Principal, in BotInput) (*CreatedBot, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	if p.BotID != 0 {
		return nil, domain.Errorf(domain.EFORBIDDEN, "a bot's token may not register bots")
	}
	sub, err := p.WriteTarget(in.SubaccountID)
	if err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 100 {
		return nil, domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
	}
	if in.Kind == "" {
		in.Kind = domain.BotFlow
	}
	b := &domain.Bot{SubaccountID: sub, Name: in.Name, Kind: in.Kind}
	switch in.Kind {
	case domain.BotRouter:
		if in.RouterID != 0 {
			return nil, domain.Errorf(domain.EINVALID, "router_id: a router is under no other router")
		}
		if in.ChannelID == 0 {
			return nil, domain.Errorf(domain.EINVALID, "channel_id is required: the channel the router answers")
		}
		ch, err := s.Store.Channel(ctx, in.ChannelID)
		if err != nil || ch.SubaccountID != sub {
			return nil, domain.Errorf(domain.EINVALID, "channel_id %d is not a channel of subaccount %d", in.ChannelID, sub)
		}
		b.ChannelID = &in.ChannelID
	case domain.BotFlow:
		if in.ChannelID != 0 {
			return nil, domain.Errorf(domain.EINVALID, "channel_id: only a router answers a channel; a bot is under a router")
		}
		if in.RouterID != 0 {
			r, err := s.Store.Bot(ctx, in.RouterID)
			if err != nil || r.SubaccountID != sub || r.Kind != domain.BotRouter {
				return nil, domain.Errorf(domain.EINVALID, "router_id %d is not a router of subaccount %d", in.RouterID, sub)
			}
			b.RouterID = &in.RouterID
		}
	default:
		return nil, domain.Errorf(domain.EINVALID, "kind must be router or bot, not %q", in.Kind)
	}
	token, err := secret.NewToken("tk_")
	if err != nil {
		return nil, err
	}
	t := &domain.APIToken{SubaccountID: sub, Name: "bot: " + in.Name, Role: domain.RoleAgent,
		Prefix: secret.TokenPrefix(token), Hash: secret.HashToken(token)}
	if err := s.Store.CreateBot(ctx, b, t); err != nil {
		return nil, err
	}
	return &CreatedBot{Bot: *b, Token: token}, nil
}

// Bots lists the bots of the subaccounts p may see. A bot's token sees
// itself only.
func (s *Service) Bots(ctx context.Context, p *access.Principal) ([]domain.Bot, error) {
	if p.BotID != 0 {
		b, err := s.Store.Bot(ctx, p.BotID)
		if err != nil {
			return nil, err
		}
		return []domain.Bot{*b}, nil
	}
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleViewer); err != nil {
		return nil, err
	}
	return s.Store.Bots(ctx, p.Scope)
}

// botNames maps the bots p may see to their names.
func (s *Service) botNames(ctx context.Context, scope []int64) (map[int64]string, error) {
	list, err := s.Store.Bots(ctx, scope)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(list))
	for _, b := range list {
		names[b.ID] = b.Name
	}
	return names, nil
}
