package domain

import "time"

// ConsumptionCount is a number of outbound messages that went to WhatsApp
// sharing one key of the consumption rollup: subaccount, channel, UTC hour
// of their send time, Meta's pricing category and type (ticks's estimate
// until Meta's arrives), whether they are charged, and the type of the
// conversation each of them opens ("" when they open none).
type ConsumptionCount struct {
	SubaccountID int64
	ChannelID    int64
	Hour         int64 // unix hour: unix milliseconds / 3,600,000
	Category     string
	PricingType  string
	Billable     bool
	Opens        ConversationType
	N            int64
}

// PricingCategories are the four conversation categories of the
// consumption report (seed 004), in the order it shows them.
var PricingCategories = []string{"marketing", "utility", "authentication", "service"}

// ReportCategory maps a pricing category Meta sends to one of
// PricingCategories: marketing_lite is marketing, authentication_international
// is authentication, and free entry points (referral_conversion) and
// anything unknown are service.
func ReportCategory(pricingCategory string) string {
	switch pricingCategory {
	case "marketing", "marketing_lite":
		return "marketing"
	case "utility":
		return "utility"
	case "authentication", "authentication_international":
		return "authentication"
	}
	return "service"
}

// MetaCharge is one data point of what Meta says it charged a WABA
// (pricing_analytics, or conversation_analytics before July 2025): the
// messages (or conversations) of one phone number, period, category and
// type, and their cost in millionths of the answer's currency.
type MetaCharge struct {
	WABAID      string    `json:"waba_id"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Phone       string    `json:"phone_number"` // display digits
	Category    string    `json:"category"`     // lower case, as Meta names it
	PricingType string    `json:"pricing_type"` // regular, free_customer_service, free_entry_point; CBP: regular, free_entry, free_tier
	Direction   string    `json:"direction,omitempty"`
	Count       int64     `json:"count"`
	CostMicros  int64     `json:"cost_micros"`
}

// Budget is a subaccount's monthly budget for WhatsApp charges, in the
// rate card's currency.
type Budget struct {
	SubaccountID int64
	AmountMicros int64
	WebhookURL   string // alerts are posted here too ("" for none)
	UpdatedAt    time.Time
}

// BudgetAlert is a budget crossing a threshold (80 or 100 %) in a month:
// given once per subaccount, month and threshold.
type BudgetAlert struct {
	SubaccountID int64
	Month        string
	Threshold    int
	AmountMicros int64
	SpentMicros  int64
	CreatedAt    time.Time
	DeliveredAt  *time.Time // when its webhook answered 2xx
	Attempts     int
	Error        string // the last failure to deliver it
}
