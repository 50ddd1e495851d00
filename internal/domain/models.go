package domain

import (
	"encoding/json"
	"time"
)

// Role is what a user or API token may do.
type Role string

// Roles (SPEC section 1).
const (
	RoleAdmin      Role = "admin"      // everything, in every subaccount
	RoleSupervisor Role = "supervisor" // reports and desk of its subaccounts
	RoleAgent      Role = "agent"      // help desk
	RoleViewer     Role = "viewer"     // reports, read only
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleSupervisor, RoleAgent, RoleViewer:
		return true
	}
	return false
}

// UnassignedSubaccountID is the system subaccount that holds what Meta sent
// for phone numbers no channel owns, so it is kept and shown to admins.
const UnassignedSubaccountID int64 = 1

// Subaccount is a tenant inside the organization: every row of business data
// belongs to exactly one.
type Subaccount struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	TimeZone  string    `json:"time_zone"`
	CreatedAt time.Time `json:"created_at"`
}

// User is a person who logs in to the web app.
type User struct {
	ID           int64     `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	Lang         string    `json:"lang"`
	PasswordHash string    `json:"-"`
	Subaccounts  []int64   `json:"subaccounts"` // granted; ignored for admins, who see all
	CreatedAt    time.Time `json:"created_at"`
	Disabled     bool      `json:"disabled"`
}

// APIToken is a bearer token for the REST API. Only its hash is stored; the
// token itself is shown once, when it is created.
type APIToken struct {
	ID           int64  `json:"id"`
	SubaccountID int64  `json:"subaccount_id"`
	Name         string `json:"name"`
	Role         Role   `json:"role"`
	Prefix       string `json:"prefix"`
	// UserID, when set, is the user the token acts as: their role,
	// subaccounts and desk (an agent's token).
	UserID     *int64     `json:"user_id,omitempty"`
	Hash       string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Channel is one WhatsApp business phone number of a WABA, owned by a
// subaccount.
type Channel struct {
	ID             int64     `json:"id"`
	SubaccountID   int64     `json:"subaccount_id"`
	Name           string    `json:"name"`
	WABAID         string    `json:"waba_id"`
	PhoneNumberID  string    `json:"phone_number_id"`
	DisplayPhone   string    `json:"display_phone"`
	AccessTokenEnc string    `json:"-"` // sealed with the secret key
	Tier           string    `json:"tier"`
	ThroughputMPS  int       `json:"throughput_mps"`
	Quality        string    `json:"quality,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	// FallbackTemplate is sent instead of a free-form message when the
	// contact's session window is closed ("" for none).
	FallbackTemplate string `json:"fallback_template,omitempty"`
	FallbackLanguage string `json:"fallback_language,omitempty"`
	// WarmupUntil, when in the future, puts the number in a warm-up
	// program: only the program's scheduled sends go, at most
	// WarmupDailyLimit a day.
	WarmupUntil      *time.Time `json:"warmup_until,omitempty"`
	WarmupDailyLimit int        `json:"warmup_daily_limit,omitempty"`
}

// InWarmup reports whether the channel is in a warm-up program at now.
func (c *Channel) InWarmup(now time.Time) bool {
	return c.WarmupUntil != nil && now.Before(*c.WarmupUntil)
}

// TierLimit is the number of unique contacts the channel may reach outside
// a customer-service window in a moving 24 h; 0 means unlimited.
func (c *Channel) TierLimit() int {
	switch c.Tier {
	case "TIER_250", "":
		return 250
	case "TIER_1K":
		return 1000
	case "TIER_2K":
		return 2000
	case "TIER_10K":
		return 10000
	case "TIER_100K":
		return 100000
	}
	return 0
}

// Contact is a person the business talks to, in one subaccount.
type Contact struct {
	ID            int64             `json:"id"`
	SubaccountID  int64             `json:"subaccount_id"`
	Phone         string            `json:"phone,omitempty"`   // E.164
	PhoneKey      string            `json:"-"`                 // canonical form used to match (BR ninth digit)
	WAID          string            `json:"wa_id,omitempty"`   // as WhatsApp sends it
	UserID        string            `json:"user_id,omitempty"` // business-scoped user id
	Name          string            `json:"name,omitempty"`
	CorrelationID string            `json:"correlation_id,omitempty"`
	Fields        map[string]string `json:"fields,omitempty"`
	OptedOut      bool              `json:"opted_out"`
	OptedOutAt    *time.Time        `json:"opted_out_at,omitempty"`
	LastInboundAt *time.Time        `json:"last_inbound_at,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
}

// Direction tells outbound from inbound messages.
type Direction string

// Directions, in the seed's words: MT is sent by the business, MO received.
const (
	DirectionMT Direction = "mt"
	DirectionMO Direction = "mo"
)

// ConversationType is how a conversation started (seed 000).
type ConversationType string

// Conversation types.
const (
	ConversationBusinessInitiated ConversationType = "business_initiated"
	ConversationUserInitiated     ConversationType = "user_initiated"
	ConversationFreeEntryPoint    ConversationType = "free_entry_point"
)

// Valid reports whether t is a known conversation type.
func (t ConversationType) Valid() bool {
	switch t {
	case ConversationBusinessInitiated, ConversationUserInitiated, ConversationFreeEntryPoint:
		return true
	}
	return false
}

// Message is one WhatsApp message, outbound (MT) or inbound (MO).
type Message struct {
	ID           int64     `json:"id,string"` // a string: 63-bit IDs do not fit a JavaScript number
	SubaccountID int64     `json:"subaccount_id"`
	ChannelID    int64     `json:"channel_id"`
	Direction    Direction `json:"direction"`
	WAMID        string    `json:"wamid"`
	ContactID    int64     `json:"contact_id"`
	Phone        string    `json:"phone"`
	WAID         string    `json:"wa_id"`
	UserID       string    `json:"whatsapp_user_id,omitempty"`
	SenderUserID *int64    `json:"user_id,omitempty"` // the ticks user who sent it
	BotID        *int64    `json:"bot_id,omitempty"`
	CampaignID   *int64    `json:"campaign_id,omitempty"`
	ContentType  string    `json:"content_type"`
	Text         string    `json:"text"`
	TemplateName string    `json:"template_name,omitempty"`
	TemplateLang string    `json:"template_language,omitempty"`
	// TemplateCategory is the category the message is priced in:
	// marketing, utility, authentication, or "" for free-form.
	TemplateCategory string          `json:"template_category,omitempty"`
	Content          json.RawMessage `json:"content,omitempty"` // the Cloud API object of the message's type
	Origin           string          `json:"origin,omitempty"`  // api, campaign, warmup, or webhook for messages ticks did not send
	CorrelationID    string          `json:"correlation_id,omitempty"`

	State       State  `json:"state"`
	Status      Status `json:"status"`
	ErrorCode   int    `json:"error_code,omitempty"`
	ErrorTitle  string `json:"error_title,omitempty"`
	ErrorDetail string `json:"error_detail,omitempty"`
	// ErrorArgs are the parameters of ticks's own refusal reason (the
	// template's name, the tier's limit, …), so that reports say it in the
	// reader's language; Meta's reasons have none.
	ErrorArgs []string `json:"-"`

	WithSession          bool             `json:"with_session"`
	ConversationID       string           `json:"conversation_id,omitempty"`
	ConversationType     ConversationType `json:"conversation_type,omitempty"`
	ConversationCategory string           `json:"conversation_category,omitempty"`
	ConversationExpires  *time.Time       `json:"conversation_expires_at,omitempty"`
	MetaConversationID   string           `json:"meta_conversation_id,omitempty"`
	MetaConversationType string           `json:"meta_conversation_origin,omitempty"`
	PricingModel         string           `json:"pricing_model,omitempty"`
	PricingCategory      string           `json:"pricing_category,omitempty"`
	PricingType          string           `json:"pricing_type,omitempty"`
	Billable             *bool            `json:"billable,omitempty"`

	// At is when the message happened: sent by ticks, or Meta's timestamp.
	At          time.Time  `json:"sent_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	ReadAt      *time.Time `json:"read_at,omitempty"`
	FailedAt    *time.Time `json:"failed_at,omitempty"`
	// RepliedAt is when the contact first replied to an outbound message;
	// only the report manager's notification rows read it.
	RepliedAt *time.Time `json:"replied_at,omitempty"`

	ContextWAMID  string    `json:"context_wamid,omitempty"`
	ButtonPayload string    `json:"button_payload,omitempty"`
	Referral      *Referral `json:"referral,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}
