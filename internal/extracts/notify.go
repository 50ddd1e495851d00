package extracts

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/hook"
)

// An extraction that is done tells its requester twice: in the app, a
// notice they see on every page until they download the file or dismiss
// it (Notices, Seen); and, when the server has a webhook URL, a POST to it
// made by a River job (retried when the receiver fails).

// maxNotices is how many notices the app shows at once.
const maxNotices = 5

// Notices returns p's extractions that are done and that p has not seen
// since, newest first.
func (s *Service) Notices(ctx context.Context, p *access.Principal) ([]*domain.Extraction, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	list, err := s.Store.UnseenExtractions(ctx, p.UserID, p.TokenID, maxNotices)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(e *domain.Extraction) bool { return !visible(p, e) }), nil
}

// Seen dismisses the notice of one of p's extractions.
func (s *Service) Seen(ctx context.Context, p *access.Principal, id int64) error {
	if _, err := s.Get(ctx, p, id); err != nil {
		return err
	}
	return s.Store.SeeExtraction(ctx, id)
}

// WebhookPayload is what the webhook receives: the event
// ("extraction.ready" or "extraction.failed") and the extraction as
// GET /api/v1/extractions/{id} shows it, with where to download the file.
type WebhookPayload struct {
	Event      string          `json:"event"`
	Extraction WebhookSnapshot `json:"extraction"`
}

// WebhookSnapshot is an extraction in a webhook's payload.
type WebhookSnapshot struct {
	ID         int64      `json:"id,string"`
	Type       string     `json:"type"`
	Format     string     `json:"format"`
	From       string     `json:"from"`
	To         string     `json:"to"`
	Subaccount *int64     `json:"subaccount,omitempty"`
	Status     string     `json:"status"`
	Rows       int64      `json:"rows"`
	Bytes      int64      `json:"bytes"`
	Error      string     `json:"error,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	File       string     `json:"file,omitempty"` // the API path of the download, once ready
	Name       string     `json:"name,omitempty"` // the file's name
}

// Webhook posts an extraction's outcome to the server's webhook URL; an
// answer other than 2xx is an error, for the job to try again.
func (s *Service) Webhook(ctx context.Context, id int64) error {
	if s.WebhookURL == "" {
		return nil
	}
	e, err := s.Store.Extraction(ctx, id)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil // deleted since
	}
	if err != nil {
		return err
	}
	snap := WebhookSnapshot{ID: e.ID, Type: e.Type, Format: e.Format, From: e.From, To: e.To, Subaccount: e.SubaccountID,
		Status: string(e.Status), Rows: e.RowsWritten, Bytes: e.Bytes, Error: e.Error, FinishedAt: e.FinishedAt, ExpiresAt: e.ExpiresAt}
	if e.Status == domain.ExtractionReady {
		snap.File, snap.Name = fmt.Sprintf("/api/v1/extractions/%d/file", e.ID), DownloadName(e)
	}
	if err := hook.Post(ctx, s.HTTPClient, s.WebhookURL, WebhookPayload{Event: "extraction." + string(e.Status), Extraction: snap}); err != nil {
		return fmt.Errorf("extraction %w", err)
	}
	return nil
}

// WebhookArgs is the job that calls the webhook for one extraction.
type WebhookArgs struct {
	ID int64 `json:"id"`
}

// Kind names the job in River's tables.
func (WebhookArgs) Kind() string { return "extraction_webhook" }

// InsertOpts gives the receiver a day of retries (River's back-off).
func (WebhookArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

type webhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	svc *Service
}

func (w *webhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	return w.svc.Webhook(ctx, job.Args.ID)
}
