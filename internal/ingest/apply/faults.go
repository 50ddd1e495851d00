package apply

import (
	"fmt"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// Events that cannot be true are set aside rather than applied: kept for
// admins as a webhook event (field, "set_aside", the reason, the event as
// parsed), and left out of the message model. A signed webhook is Meta's
// word, but a status dated 2033, a recipient id that is no phone number or a
// status for another channel's message would corrupt the report for good;
// the inbox keeps the body, so a replay applies it again should the rule
// ever prove too strict.
var (
	// earliestEvent is the oldest time an event may carry: WhatsApp
	// Business webhooks did not exist before.
	earliestEvent = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	// maxAhead is how far after its receipt an event's time may be: clocks
	// disagree by seconds, not days.
	maxAhead = 24 * time.Hour
)

// SetAsideEvent is the Event of an event set aside.
const SetAsideEvent = "set_aside"

// statusFault says why a status event cannot be applied whatever the
// stored rows, "" when it can.
func statusFault(e *domain.StatusEvent, received time.Time) string {
	if f := waIDFault("recipient_id", e.RecipientWAID); f != "" {
		return f
	}
	return timeFault(e.Timestamp, received)
}

// inboundFault says why an inbound message cannot be applied, "" when it
// can.
func inboundFault(e *domain.InboundMessage, received time.Time) string {
	if f := waIDFault("from", e.FromWAID); f != "" {
		return f
	}
	return timeFault(e.Timestamp, received)
}

// preferenceFault says why a marketing preference cannot be applied, ""
// when it can. A preference without a time takes its receipt's.
func preferenceFault(e *domain.PreferenceEvent, received time.Time) string {
	if f := waIDFault("wa_id", e.WAID); f != "" {
		return f
	}
	if e.Timestamp.IsZero() {
		return ""
	}
	return timeFault(e.Timestamp, received)
}

// waIDFault refuses a WhatsApp id that is not all digits: it would become a
// contact's wa_id, shown on pages and in exports.
func waIDFault(name, waID string) string {
	for i := 0; i < len(waID); i++ {
		if c := waID[i]; c < '0' || c > '9' {
			return fmt.Sprintf("%s %q is not a WhatsApp id (digits only)", name, truncate(waID))
		}
	}
	return ""
}

func timeFault(at, received time.Time) string {
	switch {
	case at.IsZero():
		return "no timestamp"
	case at.Before(earliestEvent):
		return fmt.Sprintf("timestamp %s is before 2015", at.UTC().Format(time.RFC3339))
	case at.After(received.Add(maxAhead)):
		return fmt.Sprintf("timestamp %s is more than a day after the webhook was received (%s)",
			at.UTC().Format(time.RFC3339), received.UTC().Format(time.RFC3339))
	}
	return ""
}

// channelFault refuses a status of a message of another channel than the
// one whose phone number it arrived for: a tenant's number cannot change
// another's messages.
func (p *planner) channelFault(e *domain.StatusEvent) string {
	m := p.msgs[e.WAMID]
	if m == nil {
		return ""
	}
	if c, ok := p.channels[e.PhoneNumberID]; !ok || e.PhoneNumberID == "" || c.ID != m.ChannelID {
		return fmt.Sprintf("status for message %s arrived for phone number id %q, which is not the message's channel",
			truncate(e.WAMID), truncate(e.PhoneNumberID))
	}
	return ""
}

// setAside records an event that is not applied, for the admins of the
// subaccount owning the number it arrived for (the unassigned one for a
// number no channel owns: no channel is created for it). A channel another
// event of the same batch creates is not used either, so the event is
// recorded the same whatever the order the batch arrived in.
func (p *planner) setAside(r domain.Recipient, field, reason string, payload any, received time.Time) error {
	ch := Channel{SubaccountID: domain.UnassignedSubaccountID}
	if c, ok := p.channels[r.PhoneNumberID]; ok && r.PhoneNumberID != "" && c.ID > 0 {
		ch = c
	} else if r.PhoneNumberID == "" {
		ch = p.wabaChannel(r.WABAID)
	}
	p.plan.Stats.SetAside++
	return p.event(ch, field, SetAsideEvent, reason, payload, received, "")
}

// truncate shortens s for a reason, keeping it valid UTF-8.
func truncate(s string) string {
	if len(s) > 64 {
		return strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}

// plainText is s as a text column of either database takes it: valid UTF-8
// without NUL (PostgreSQL refuses both), whatever a webhook put in it.
func plainText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
