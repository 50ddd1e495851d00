package domain

import "time"

// ExtractionStatus is where an extraction of the report manager stands.
type ExtractionStatus string

// The statuses of an extraction: queued → running → ready → expired, or
// failed, or canceled by its requester before it was ready.
const (
	ExtractionQueued   ExtractionStatus = "queued"
	ExtractionRunning  ExtractionStatus = "running"
	ExtractionReady    ExtractionStatus = "ready"
	ExtractionFailed   ExtractionStatus = "failed"
	ExtractionExpired  ExtractionStatus = "expired"
	ExtractionCanceled ExtractionStatus = "canceled"
)

// Done reports whether an extraction in status s will not change again by
// itself (a ready one still expires).
func (s ExtractionStatus) Done() bool {
	return s != ExtractionQueued && s != ExtractionRunning
}

// Extraction is one table of the report manager over a period, written in
// the background into a file kept for a while.
type Extraction struct {
	ID           int64            `json:"id,string"`
	UserID       int64            `json:"-"` // who asked: a web user,
	TokenID      int64            `json:"-"` // or an API token
	SubaccountID *int64           `json:"subaccount,omitempty"`
	Scope        []int64          `json:"-"` // the subaccounts it reads; nil for all
	Type         string           `json:"type"`
	Format       string           `json:"format"`
	Lang         string           `json:"-"`
	From         string           `json:"from"` // YYYY-MM-DD in the account's time zone, included
	To           string           `json:"to"`   // included
	Status       ExtractionStatus `json:"status"`
	RowsWritten  int64            `json:"rows"`
	RowsTotal    int64            `json:"-"`
	Bytes        int64            `json:"bytes"`
	File         string           `json:"-"`
	Error        string           `json:"error,omitempty"`
	Attempts     int              `json:"-"`
	CreatedAt    time.Time        `json:"created_at"`
	StartedAt    *time.Time       `json:"started_at,omitempty"`
	FinishedAt   *time.Time       `json:"finished_at,omitempty"`
	SeenAt       *time.Time       `json:"seen_at,omitempty"` // when its requester saw it done (downloaded or dismissed)
	ExpiresAt    *time.Time       `json:"expires_at,omitempty"`
}

// Progress is the share of the extraction written, from 0 to 1.
func (e *Extraction) Progress() float64 {
	switch {
	case e.Status == ExtractionReady:
		return 1
	case e.RowsTotal <= 0:
		return 0
	}
	return min(1, float64(e.RowsWritten)/float64(e.RowsTotal))
}
