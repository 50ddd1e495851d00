package domain

import "time"

// CampaignStatus is where a campaign is in its life.
type CampaignStatus string

// Campaign statuses. draft waits for start, scheduled for its time.
const (
	CampaignDraft     CampaignStatus = "draft"
	CampaignScheduled CampaignStatus = "scheduled"
	CampaignRunning   CampaignStatus = "running"
	CampaignPaused    CampaignStatus = "paused"
	CampaignCompleted CampaignStatus = "completed"
	CampaignCanceled  CampaignStatus = "canceled"
)

// Valid reports whether s is a campaign status.
func (s CampaignStatus) Valid() bool {
	switch s {
	case CampaignDraft, CampaignScheduled, CampaignRunning, CampaignPaused, CampaignCompleted, CampaignCanceled:
		return true
	}
	return false
}

// Campaign is a template sent to an uploaded audience (seed 004, "Mensagens
// Ativas").
type Campaign struct {
	ID               int64          `json:"id,string"`
	SubaccountID     int64          `json:"subaccount_id"`
	Name             string         `json:"name"`
	ChannelID        int64          `json:"channel_id"`
	Template         string         `json:"template"`
	Language         string         `json:"language"`
	FallbackTemplate string         `json:"fallback_template,omitempty"`
	FallbackLanguage string         `json:"-"`
	Status           CampaignStatus `json:"status"`
	CreatedBy        *int64         `json:"-"`
	CreatedAt        time.Time      `json:"created_at"`
	ScheduledAt      *time.Time     `json:"scheduled_at"`
	StartedAt        *time.Time     `json:"started_at"`
	FinishedAt       *time.Time     `json:"finished_at"`
	// The audience file: every data row, and how they were sorted.
	Rows       int `json:"-"`
	Audience   int `json:"-"` // the valid rows, the ones sent
	Invalid    int `json:"-"`
	Duplicates int `json:"-"`
	OptedOut   int `json:"-"`
	// Processed is how many audience rows have become a message (sent or
	// refused).
	Processed int `json:"-"`
	// Links are the template's URL buttons the campaign routes through
	// ticks's short redirect, to count their clicks; LinkKey signs their
	// codes.
	Links   []CampaignLink `json:"-"`
	LinkKey []byte         `json:"-"`
}

// CampaignLink is a URL button of a campaign's template whose clicks ticks
// counts: each message's button opens /r/{code}, which sends the contact on
// to URL.
type CampaignLink struct {
	Button int    `json:"button"` // the button's index in the template
	Text   string `json:"text"`
	URL    string `json:"url"` // where a click goes
}

// CampaignRow is one valid audience row.
type CampaignRow struct {
	Seq           int      // 1.. in file order among the valid rows
	Line          int      // the line in the file; the header is line 1
	Phone         string   // E.164
	Name          string   //
	CorrelationID string   //
	Vars          []string // the template's body variables, in order
}

// CampaignRowError is one rejected audience row.
type CampaignRowError struct {
	Line  int    `json:"row"`
	Phone string `json:"-"`
	Error string `json:"error"`
}
