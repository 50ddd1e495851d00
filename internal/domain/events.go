package domain

import (
	"encoding/json"
	"time"
)

// WebhookBatch is everything one webhook POST from Meta said, flattened out
// of its entry/changes envelope. The parser in internal/whatsapp builds it;
// the ingest processor applies it.
type WebhookBatch struct {
	Statuses    []StatusEvent
	Messages    []InboundMessage
	Preferences []PreferenceEvent
	Templates   []TemplateEvent
	Accounts    []AccountEvent
	Errors      []ErrorEvent
	// Unknown keeps changes of fields ticks does not model, so nothing Meta
	// sent is silently dropped.
	Unknown []UnknownChange
	// Unreadable are the parts of a signed webhook that are not what their
	// field needs (an unknown status value, a number where a string goes):
	// set aside with the reason, while the rest is applied.
	Unreadable []UnreadablePart
}

// Len is the number of events in the batch.
func (b *WebhookBatch) Len() int {
	return len(b.Statuses) + len(b.Messages) + len(b.Preferences) + len(b.Templates) +
		len(b.Accounts) + len(b.Errors) + len(b.Unknown) + len(b.Unreadable)
}

// Append adds o's events to b's.
func (b *WebhookBatch) Append(o *WebhookBatch) {
	b.Statuses = append(b.Statuses, o.Statuses...)
	b.Messages = append(b.Messages, o.Messages...)
	b.Preferences = append(b.Preferences, o.Preferences...)
	b.Templates = append(b.Templates, o.Templates...)
	b.Accounts = append(b.Accounts, o.Accounts...)
	b.Errors = append(b.Errors, o.Errors...)
	b.Unknown = append(b.Unknown, o.Unknown...)
	b.Unreadable = append(b.Unreadable, o.Unreadable...)
}

// Recipient names the business phone number a change was addressed to.
type Recipient struct {
	WABAID        string `json:"waba_id,omitempty"`         // entry[].id
	PhoneNumberID string `json:"phone_number_id,omitempty"` // metadata.phone_number_id
	DisplayPhone  string `json:"display_phone,omitempty"`   // metadata.display_phone_number
}

// StatusEvent is one element of statuses[]: a lifecycle change of an
// outbound message.
type StatusEvent struct {
	Recipient
	WAMID           string
	State           State // sent, delivered, read, played or failed
	Timestamp       time.Time
	RecipientWAID   string // recipient_id, may be empty with business-scoped ids
	RecipientUserID string // recipient_user_id (business-scoped user id)
	ProfileName     string // from contacts[] when present
	Errors          []MetaError
	Conversation    *MetaConversation
	Pricing         *Pricing
	BizOpaque       string
}

// MetaConversation is the conversation object Meta attaches to some statuses
// (always before webhook v24, only for free entry points after).
type MetaConversation struct {
	ID        string
	Origin    string // origin.type
	ExpiresAt time.Time
}

// Pricing is the pricing object of a status: PMP since July 2025, CBP before
// (and still for free entry points).
type Pricing struct {
	Model    string // PMP or CBP
	Category string // marketing, utility, authentication, service, referral_conversion, ...
	Type     string // regular, free_customer_service, free_entry_point (PMP)
	Billable *bool
}

// InboundMessage is one element of messages[]: something a contact sent
// (MO), of any type.
type InboundMessage struct {
	Recipient
	WAMID         string
	FromWAID      string // from
	FromUserID    string // from_user_id / contacts[].user_id
	ProfileName   string
	Timestamp     time.Time
	Type          string // text, image, button, interactive, reaction, location, ...
	Text          string // body, caption, button text, reply title, emoji, ...
	ButtonPayload string // quick-reply payload or interactive reply id
	ContextWAMID  string // the outbound message this one answers
	ContextFrom   string
	Referral      *Referral
	Errors        []MetaError // for type "unsupported"
	// Content is the type-specific object as Meta sent it.
	Content json.RawMessage
}

// Referral is the Click-to-WhatsApp ad or Page button a contact came from.
type Referral struct {
	SourceURL  string `json:"source_url,omitempty"`
	SourceID   string `json:"source_id,omitempty"`
	SourceType string `json:"source_type,omitempty"`
	Headline   string `json:"headline,omitempty"`
	Body       string `json:"body,omitempty"`
	MediaType  string `json:"media_type,omitempty"`
	CTWAClid   string `json:"ctwa_clid,omitempty"`
}

// PreferenceEvent is a user_preferences change: a contact stopped or resumed
// marketing messages.
type PreferenceEvent struct {
	Recipient
	WAID      string    `json:"wa_id,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	Category  string    `json:"category"` // marketing_messages
	Value     string    `json:"value"`    // stop or resume
	Detail    string    `json:"detail,omitempty"`
	Timestamp time.Time `json:"timestamp"`
}

// TemplateEvent is a template status, quality or category update.
type TemplateEvent struct {
	WABAID     string    `json:"waba_id"`
	Field      string    `json:"field"` // message_template_status_update, message_template_quality_update, template_category_update
	TemplateID string    `json:"template_id,omitempty"`
	Name       string    `json:"name,omitempty"`
	Language   string    `json:"language,omitempty"`
	Status     string    `json:"status,omitempty"` // APPROVED, REJECTED, PAUSED, DISABLED, ... (status updates)
	Reason     string    `json:"reason,omitempty"`
	Quality    string    `json:"quality,omitempty"`  // GREEN, YELLOW, RED, UNKNOWN (quality updates)
	Category   string    `json:"category,omitempty"` // new category (category updates)
	Timestamp  time.Time `json:"timestamp"`
}

// AccountEvent is an account-level change: account_update,
// phone_number_quality_update, business_capability_update, ...
type AccountEvent struct {
	Recipient
	Field     string          `json:"field"`
	Event     string          `json:"event,omitempty"` // e.g. VERIFIED_ACCOUNT, UPGRADE, DOWNGRADE, FLAGGED
	Tier      string          `json:"tier,omitempty"`  // messaging limit tier when the change carries one (TIER_1K, ...)
	Detail    string          `json:"detail,omitempty"`
	Timestamp time.Time       `json:"timestamp"`
	Raw       json.RawMessage `json:"value,omitempty"`
}

// ErrorEvent is the errors[] array of a messages value: a failure not tied to
// one message (for example a throughput limit).
type ErrorEvent struct {
	Recipient
	Errors    []MetaError `json:"errors"`
	Timestamp time.Time   `json:"timestamp"`
}

// UnreadablePart is a part of a signed webhook that could not be read as
// its field says, kept as it was sent with the reason.
type UnreadablePart struct {
	Recipient
	Field  string          `json:"field"`  // the change's field; "webhook" for the whole body
	Where  string          `json:"where"`  // the part's place in the body, as in entry[0].changes[1].statuses[2]
	Reason string          `json:"reason"` // what is wrong with it
	Value  json.RawMessage `json:"value"`  // the part as sent
}

// UnknownChange is a change whose field ticks does not model.
type UnknownChange struct {
	Recipient
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}
