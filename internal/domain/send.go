package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Template is a WhatsApp message template of a WABA.
type Template struct {
	ID           int64           `json:"id"`
	SubaccountID int64           `json:"subaccount_id"`
	WABAID       string          `json:"waba_id"`
	MetaID       string          `json:"meta_id,omitempty"`
	Name         string          `json:"name"`
	Language     string          `json:"language"`
	Category     string          `json:"category"` // MARKETING, UTILITY, AUTHENTICATION as Meta writes them, lower-cased
	Status       string          `json:"status"`   // APPROVED, PENDING, REJECTED, PAUSED, DISABLED
	Quality      string          `json:"quality,omitempty"`
	Components   json.RawMessage `json:"components"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

// Outbound is one message to send through a provider, in the Cloud API's
// terms (POST /{phone-number-id}/messages).
type Outbound struct {
	PhoneNumberID string
	AccessToken   string
	To            string // recipient: digits with country code (a wa_id)
	RecipientType string // "individual" (default)
	Type          string // text, template, image, audio, video, document, sticker, interactive, location, reaction
	// Content is the object of the type's key, exactly as the Cloud API
	// takes it: {"body": "…"} for text, {"name","language","components"}
	// for template, {"link"|"id","caption"} for media, and so on.
	Content      json.RawMessage
	ContextWAMID string // reply to this message
	BizOpaque    string // biz_opaque_callback_data, echoed in status webhooks
}

// SendResult is the Cloud API's answer to an accepted send.
type SendResult struct {
	WAMID         string // messages[0].id
	WAID          string // contacts[0].wa_id: the recipient as WhatsApp knows it
	MessageStatus string // messages[0].message_status: accepted, held_for_quality_assessment, …
}

// SendError is a send the Cloud API refused, with Meta's error.
type SendError struct {
	HTTPStatus int
	Meta       MetaError
	// Retryable tells a transient failure (throughput, pair rate limit,
	// temporary errors, 5xx) that is worth sending again later.
	Retryable  bool
	RetryAfter time.Duration // a hint, 0 when none
}

func (e *SendError) Error() string {
	return fmt.Sprintf("cloud api: %d %s (http %d)", e.Meta.Code, e.Meta.Title, e.HTTPStatus)
}

// Provider sends messages through WhatsApp: the Cloud API client or the
// simulator behind the same HTTP API.
type Provider interface {
	// Send sends one message. It returns *SendError when Meta refuses it.
	Send(ctx context.Context, m *Outbound) (*SendResult, error)
	// Templates lists the templates of a WABA.
	Templates(ctx context.Context, wabaID, accessToken string) ([]Template, error)
}
