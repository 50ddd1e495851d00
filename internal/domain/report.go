package domain

import "time"

// MessageFilter selects messages for the detailed report (seed 000). Zero
// values mean "any". Subaccounts is the caller's scope and is always applied.
type MessageFilter struct {
	Subaccounts []int64 // the subaccounts the caller may see; nil means all (org admin)
	From, To    time.Time
	Direction   Direction

	Subaccount       int64
	User             int64
	Campaign         int64
	ContentType      string
	Session          *bool
	CorrelationID    string
	Statuses         []Status
	Phone            string // E.164, canonical matching
	ConversationID   string
	ConversationType ConversationType

	Limit  int
	Cursor string
}

// MaxReportLimit bounds a report page.
const MaxReportLimit = 1000

// MessagePage is one page of the detailed report.
type MessagePage struct {
	Total      int64     `json:"total"`
	Rows       []Message `json:"rows"`
	NextCursor string    `json:"next_cursor"`
}

// MessageSummary is the consolidated view of the detailed report (seed 000,
// "Consolidado"): counts and rates for the same filters as the message list.
type MessageSummary struct {
	Total int64 `json:"total"`
	// Accepted counts the MT messages sent out: handed to WhatsApp, as
	// opposed to refused by ticks' own checks (failed with no Meta error
	// code) or still sending. A message Meta refused counts: WhatsApp had it
	// and did not deliver it. It is DeliveryRate's denominator.
	Accepted      int64            `json:"accepted"`
	ByStatus      map[Status]int64 `json:"by_status"`
	ByDay         []DayCount       `json:"by_day"`
	ByContentType map[string]int64 `json:"by_content_type"`
	ByCampaign    []CampaignCount  `json:"by_campaign"` // messages with a campaign, by campaign id
	// DeliveryRate is (delivered + read) / Accepted: of the messages sent
	// out, the share that reached the device (read implies delivered). 0
	// when nothing was sent out.
	DeliveryRate float64 `json:"delivery_rate"`
	// ReadRate is read / (delivered + read): of the messages that reached
	// the device, the share read. It undercounts when contacts turn read
	// receipts off. 0 when nothing was delivered.
	ReadRate float64 `json:"read_rate"`
}

// DayCount is one local day of a MessageSummary. Delivered counts the
// messages that reached the device (status delivered or read), Read those
// read, and Failed those whose status is a failure (IsFailure).
type DayCount struct {
	Day       string `json:"day"` // 2006-01-02 in the summary's time zone
	Total     int64  `json:"total"`
	Delivered int64  `json:"delivered"`
	Read      int64  `json:"read"`
	Failed    int64  `json:"failed"`
}

// CampaignCount is one campaign's messages in a MessageSummary, counted as
// in DayCount.
type CampaignCount struct {
	CampaignID int64 `json:"campaign_id"`
	Total      int64 `json:"total"`
	Delivered  int64 `json:"delivered"`
	Read       int64 `json:"read"`
	Failed     int64 `json:"failed"`
}

// IsFailure reports whether s says a message did not get through: every
// report status but sending, sent, delivered, read (and "received", the
// status of MO messages).
func (s Status) IsFailure() bool {
	switch s {
	case StatusSending, StatusSent, StatusDelivered, StatusRead, "received":
		return false
	}
	return s.Valid()
}
