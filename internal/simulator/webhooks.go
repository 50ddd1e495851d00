// Package simulator plays WhatsApp: it builds the webhooks Meta sends, in
// Meta's exact format, and generates realistic traffic from a seed so that
// runs are repeatable. Server (server.go) is a Cloud API simulator: the
// same HTTP API as Meta's, posting signed webhooks back.
package simulator

import (
	"encoding/json"
	"strconv"

	"github.com/ticksapp/ticks/internal/domain"
)

// Business is the WhatsApp business phone number webhooks are about.
type Business struct {
	WABAID        string
	PhoneNumberID string
	DisplayPhone  string
}

type envelope struct {
	Object string  `json:"object"`
	Entry  []entry `json:"entry"`
}

type entry struct {
	ID      string   `json:"id"`
	Time    int64    `json:"time,omitempty"`
	Changes []change `json:"changes"`
}

type change struct {
	Field string `json:"field"`
	Value any    `json:"value"`
}

// Webhook returns a webhook body with one change of field carrying value.
func (b Business) Webhook(field string, value any) []byte {
	body, err := json.Marshal(envelope{Object: "whatsapp_business_account",
		Entry: []entry{{ID: b.WABAID, Changes: []change{{Field: field, Value: value}}}}})
	if err != nil {
		panic(err) // only our own types are marshalled
	}
	return body
}

type metadata struct {
	DisplayPhone  string `json:"display_phone_number"`
	PhoneNumberID string `json:"phone_number_id"`
}

func (b Business) metadata() metadata {
	return metadata{DisplayPhone: b.DisplayPhone, PhoneNumberID: b.PhoneNumberID}
}

// Status is one element of a webhook's statuses array.
type Status struct {
	ID           string              `json:"id"`
	Status       string              `json:"status"`
	Timestamp    string              `json:"timestamp"`
	RecipientID  string              `json:"recipient_id,omitempty"`
	Conversation *StatusConversation `json:"conversation,omitempty"`
	Pricing      *StatusPricing      `json:"pricing,omitempty"`
	Errors       []StatusError       `json:"errors,omitempty"`
	// BizOpaque echoes the send's biz_opaque_callback_data.
	BizOpaque string `json:"biz_opaque_callback_data,omitempty"`
}

// StatusConversation is a status's conversation object.
type StatusConversation struct {
	ID         string `json:"id"`
	Expiration string `json:"expiration_timestamp,omitempty"`
	Origin     struct {
		Type string `json:"type"`
	} `json:"origin"`
}

// StatusPricing is a status's pricing object.
type StatusPricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model"`
	Type         string `json:"type,omitempty"`
	Category     string `json:"category"`
}

// StatusError is an error of a failed status, as Meta writes it.
type StatusError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
	Href string `json:"href,omitempty"`
}

// NewStatusError builds the error object Meta sends for code.
func NewStatusError(e domain.MetaError) StatusError {
	se := StatusError{Code: e.Code, Title: e.Title, Message: e.Title,
		Href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}
	se.ErrorData.Details = e.Details
	return se
}

// Unix formats a unix time the way Meta does in webhooks: a string.
func Unix(sec int64) string { return strconv.FormatInt(sec, 10) }

// StatusWebhook returns a messages webhook carrying statuses.
func (b Business) StatusWebhook(statuses ...Status) []byte {
	return b.Webhook("messages", struct {
		Product  string   `json:"messaging_product"`
		Metadata metadata `json:"metadata"`
		Statuses []Status `json:"statuses"`
	}{"whatsapp", b.metadata(), statuses})
}

// Contact is the sender of an inbound message.
type Contact struct {
	Name string
	WAID string
}

// InboundWebhook returns a messages webhook carrying one inbound message.
// msg is the message object (id, from, timestamp, type and its content).
func (b Business) InboundWebhook(from Contact, msg map[string]any) []byte {
	type profile struct {
		Name string `json:"name"`
	}
	type contact struct {
		Profile profile `json:"profile"`
		WAID    string  `json:"wa_id"`
	}
	return b.Webhook("messages", struct {
		Product  string           `json:"messaging_product"`
		Metadata metadata         `json:"metadata"`
		Contacts []contact        `json:"contacts"`
		Messages []map[string]any `json:"messages"`
	}{"whatsapp", b.metadata(), []contact{{profile{from.Name}, from.WAID}}, []map[string]any{msg}})
}

// PreferenceWebhook returns a user_preferences webhook: a contact stopping
// (value "stop") or resuming ("resume") marketing messages.
func (b Business) PreferenceWebhook(from Contact, value string, ts int64) []byte {
	detail := "User requested to stop marketing messages"
	if value == "resume" {
		detail = "User requested to resume marketing messages"
	}
	type pref struct {
		WAID      string `json:"wa_id"`
		Detail    string `json:"detail"`
		Category  string `json:"category"`
		Value     string `json:"value"`
		Timestamp int64  `json:"timestamp"`
	}
	return b.Webhook("user_preferences", struct {
		Product     string   `json:"messaging_product"`
		Metadata    metadata `json:"metadata"`
		Preferences []pref   `json:"user_preferences"`
	}{"whatsapp", b.metadata(), []pref{{from.WAID, detail, "marketing_messages", value, ts}}})
}
