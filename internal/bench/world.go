package bench

import (
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// World is what a history is written into: the subaccounts with their
// numbers, contacts and senders, the templates they send, and how much
// traffic over how many days. Seed makes the bench's own world in a fresh
// database; the demo describes the organization it created.
type World struct {
	Subaccounts []WorldSubaccount
	Templates   []WorldTemplate
	PerDay      int       // messages a day on average over all subaccounts, campaigns and answers included
	Days        int       // the history spans this many days before End
	End         time.Time // the history ends just before End
	Seed        uint64    // of the random generator: the same world and seed give the same history
	// TTL is how long WhatsApp keeps trying an undelivered message: one
	// still only sent after TTL is expired (ttl_expired), as the server's
	// expirer would have made it. Zero leaves such messages sent.
	TTL time.Duration
	// InFlight is how long before End messages are still being sent (no
	// answer from WhatsApp yet); zero for none.
	InFlight time.Duration
}

// WorldSubaccount is a subaccount of a World and the traffic it has.
type WorldSubaccount struct {
	ID        int64
	Share     float64 // of the world's traffic, relative to the other subaccounts
	Channels  []WorldChannel
	Contacts  []WorldContact // the people the history talks to; those missing are created
	Agents    []int64        // users who answer contacts and send active messages (the desk)
	Marketers []int64        // users who send campaigns; none, no campaigns
	Bots      []int64        // API tokens of the integrations and bots that send
	// Campaigns is how many campaigns a business day starts; each sends
	// one template to CampaignAudience (a share of the contacts, drawn
	// between the two) in a burst.
	Campaigns        float64
	CampaignAudience [2]float64
}

// WorldChannel is a business number of a subaccount.
type WorldChannel struct {
	ID            int64
	PhoneNumberID string
	Share         float64 // of the subaccount's traffic
	Tier          string  // messaging-limit tier, as domain.Channel.Tier
	// Fallback is the template sent instead of a free-form message outside
	// the customer-service window; "" refuses such messages.
	Fallback, FallbackLanguage string
	Since                      time.Time // the number's first message; zero for the whole history
	// WarmupUntil ends the warm-up program the number is in from Since:
	// until then only the program's own sends (WarmupTemplate) go out.
	WarmupUntil    time.Time
	WarmupTemplate string
}

// WorldContact is a person of a subaccount, found by phone or created.
type WorldContact struct {
	Phone         string // E.164
	Name          string
	CorrelationID string
	OptedOut      bool // asked to stop marketing messages before the history starts
}

// WorldTemplate is an approved message template every channel of the world
// has.
type WorldTemplate struct {
	Name, Language string
	Category       string   // as Meta writes it, lower-cased: marketing, utility or authentication
	Body           string   // the body text with its {{n}} placeholders
	Examples       []string // example values of the body's parameters, as the template declares them
	QuickReplies   []string // texts of its quick-reply buttons
}

// Campaign is a campaign of a history: one template sent to an audience
// in a burst, its messages carrying ID.
type Campaign struct {
	ID           int64
	SubaccountID int64
	ChannelID    int64
	OwnerID      int64 // the marketer who sent it
	Name         string
	Template     string
	Language     string
	Start, End   time.Time // its first and last send
	Audience     int
}

func (w *World) check() error {
	if w.Days < 1 || w.PerDay < 1 {
		return fmt.Errorf("history: days and messages a day must be positive")
	}
	if len(w.Subaccounts) == 0 {
		return fmt.Errorf("history: the world has no subaccount")
	}
	for _, sa := range w.Subaccounts {
		if len(sa.Channels) == 0 || len(sa.Contacts) == 0 {
			return fmt.Errorf("history: subaccount %d needs channels and contacts", sa.ID)
		}
		for _, ch := range sa.Channels {
			if ch.Fallback != "" && w.template(ch.Fallback, ch.FallbackLanguage) < 0 {
				return fmt.Errorf("history: channel %d's fallback %s is not a template of the world", ch.ID, ch.Fallback)
			}
			if !ch.WarmupUntil.IsZero() && w.template(ch.WarmupTemplate, "") < 0 {
				return fmt.Errorf("history: channel %d's warm-up template %q is not a template of the world", ch.ID, ch.WarmupTemplate)
			}
		}
	}
	return nil
}

// template returns the index of a template by name (and language, when
// given), or -1.
func (w *World) template(name, lang string) int {
	for i, t := range w.Templates {
		if t.Name == name && (lang == "" || t.Language == lang) {
			return i
		}
	}
	return -1
}

// start is the first instant of the history.
func (w *World) start() time.Time { return w.End.AddDate(0, 0, -w.Days) }

// tierLimit is the messaging limit of a tier, as the send pipeline
// applies it.
func tierLimit(tier string) int {
	return (&domain.Channel{Tier: tier}).TierLimit()
}
