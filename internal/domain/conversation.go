package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Windows of Meta's rules (SPEC section 3). They are not prices: what is free
// comes from the rate card, never from code.
const (
	SessionWindow        = 24 * time.Hour // customer-service window after the contact's last message
	ConversationWindow   = 24 * time.Hour // a business- or user-initiated conversation
	FreeEntryPointWindow = 72 * time.Hour // a conversation opened from a Click-to-WhatsApp ad or Page button
)

// Conversation is a fixed window of messages with one contact on one
// channel, derived by ticks.
type Conversation struct {
	ID        string
	Type      ConversationType
	Category  string
	Start     time.Time
	ExpiresAt time.Time
}

// ConversationState is what is known of a contact's timeline just before the
// first message being (re)derived: its last inbound message and the
// conversation open then, if any.
type ConversationState struct {
	LastInboundAt       time.Time // zero when the contact never wrote
	LastInboundReferral bool      // the last inbound message came from an ad or Page button
	Current             *Conversation
}

// TimelineMessage is what conversation derivation needs of a message.
type TimelineMessage struct {
	Direction        Direction
	At               time.Time
	TemplateCategory string // "" for free-form messages
	Referral         bool   // inbound message from a Click-to-WhatsApp ad or Page button
}

// ConversationAssignment is the derived session flag and conversation of one
// message. Inbound messages outside any conversation get a nil Conversation.
type ConversationAssignment struct {
	WithSession  bool
	Conversation *Conversation
}

// DeriveConversations assigns sessions and conversations to msgs, which must
// be one contact's messages on one channel sorted by TimelineOrder, starting
// from state. scope names the channel and contact and makes conversation IDs
// unique and stable: the same timeline always yields the same IDs, so
// replayed or reordered webhooks give the same result.
//
// Rules: a session is open for 24 h after the contact's last message. An
// outbound message outside the current conversation opens a new one: free
// entry point (72 h) when the contact came from an ad within the last 24 h,
// user initiated when a session is open, business initiated otherwise.
// Inbound messages join the open conversation but never open one, as at Meta
// a conversation starts with the business's message.
func DeriveConversations(scope string, state ConversationState, msgs []TimelineMessage) []ConversationAssignment {
	out := make([]ConversationAssignment, len(msgs))
	cur := state.Current
	for i, m := range msgs {
		if cur != nil && !m.At.Before(cur.ExpiresAt) {
			cur = nil
		}
		if m.Direction == DirectionMO {
			state.LastInboundAt = m.At
			state.LastInboundReferral = m.Referral
			out[i] = ConversationAssignment{Conversation: cur}
			continue
		}
		session := !state.LastInboundAt.IsZero() && m.At.Before(state.LastInboundAt.Add(SessionWindow))
		if cur == nil {
			cur = openConversation(scope, m, session, state.LastInboundReferral)
		}
		out[i] = ConversationAssignment{WithSession: session, Conversation: cur}
	}
	return out
}

func openConversation(scope string, m TimelineMessage, session, referral bool) *Conversation {
	c := &Conversation{Start: m.At, ExpiresAt: m.At.Add(ConversationWindow), Category: m.TemplateCategory}
	switch {
	case session && referral:
		c.Type = ConversationFreeEntryPoint
		c.ExpiresAt = m.At.Add(FreeEntryPointWindow)
		c.Category = "service"
	case session:
		c.Type = ConversationUserInitiated
	default:
		c.Type = ConversationBusinessInitiated
	}
	if c.Category == "" {
		c.Category = "service"
	}
	c.ID = ConversationID(scope, m.At)
	return c
}

// ConversationID is the stable ID of the conversation of scope that starts at
// start.
func ConversationID(scope string, start time.Time) string {
	h := sha256.Sum256([]byte(scope + "|" + strconv.FormatInt(start.UnixMilli(), 10)))
	return "conv_" + hex.EncodeToString(h[:12])
}

// TimelineLess orders a contact's messages for derivation: by time, and at
// the same instant the contact's message first, since a reply cannot precede
// what it answers.
func TimelineLess(a, b TimelineMessage) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	return a.Direction == DirectionMO && b.Direction == DirectionMT
}

// TemplateCategoryOf maps a pricing category from Meta to the template
// category a conversation is opened in; "" for service and free categories.
func TemplateCategoryOf(pricingCategory string) string {
	switch pricingCategory {
	case "marketing", "marketing_lite":
		return "marketing"
	case "utility":
		return "utility"
	case "authentication", "authentication_international":
		return "authentication"
	}
	return ""
}
