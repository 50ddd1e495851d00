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
