package campaigns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/jobs"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/store"
)

// How a dispatch paces itself.
const (
	// leaseFor is how long a dispatch holds its campaign without renewing:
	// after a crash, another takes over within it.
	leaseFor = 15 * time.Second
	// batchFor is the longest a batch of sends runs before the campaign's
	// status is read again: a pause takes effect within it.
	batchFor = 500 * time.Millisecond
	// runFor is how long one job sends before handing over to the next run
	// of itself, so no job runs long enough to look stuck.
	runFor = 20 * time.Second
	// checkEvery is how often the periodic check looks for campaigns to
	// start or take over.
	checkEvery = 5 * time.Second
)

// DispatchArgs is the job that sends a campaign's audience.
type DispatchArgs struct {
	CampaignID int64 `json:"campaign_id,string"`
}

// Kind names the job in River's tables.
func (DispatchArgs) Kind() string { return "campaign_dispatch" }

// CheckArgs is the periodic job that enqueues a dispatch for every
// campaign that needs one: scheduled ones whose time has come, running
// ones no dispatch holds (after a crash, or a lost insert).
type CheckArgs struct{}

// Kind names the job in River's tables.
func (CheckArgs) Kind() string { return "campaign_check" }

// Register adds the campaigns' workers and periodic check to reg.
func (s *Service) Register(reg *jobs.Registry) {
	jobs.Register(reg, &dispatchWorker{s: s})
	jobs.Register(reg, &checkWorker{s: s})
	reg.Periodic(checkEvery, func() river.JobArgs { return CheckArgs{} })
}

func (s *Service) enqueue(ctx context.Context, id int64, at time.Time) error {
	if s.Jobs == nil {
		return nil // no dispatch on this process (a CLI); the periodic check of a server starts it
	}
	opts := &river.InsertOpts{}
	if !at.IsZero() {
		opts.ScheduledAt = at
	}
	_, err := s.Jobs.Insert(ctx, DispatchArgs{CampaignID: id}, opts)
	return err
}

type checkWorker struct {
	river.WorkerDefaults[CheckArgs]
	s *Service
}

func (w *checkWorker) Work(ctx context.Context, _ *river.Job[CheckArgs]) error {
	ids, err := w.s.Store.DueCampaigns(ctx, w.s.now())
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := w.s.enqueue(ctx, id, time.Time{}); err != nil {
			return err
		}
	}
	return nil
}

type dispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	s *Service
}

// Timeout leaves a dispatch time to finish its last batch past runFor.
func (w *dispatchWorker) Timeout(*river.Job[DispatchArgs]) time.Duration { return runFor + time.Minute }

func (w *dispatchWorker) Work(ctx context.Context, job *river.Job[DispatchArgs]) error {
	done, err := w.s.dispatch(ctx, job.Args.CampaignID, runFor)
	if err != nil || done {
		return err
	}
	return river.JobSnooze(0) // more to send: run again at once, maybe on another server
}

// dispatch sends campaign id's audience rows for up to d and reports
// whether it has nothing more to do (finished, paused, canceled, not yet
// due, or held by another dispatch). Each row is sent once, whatever
// crashes: a row's message carries an idempotency key of the campaign and
// row, so a row sent again after a crash (its progress not yet recorded)
// finds its message instead of sending a second.
func (s *Service) dispatch(ctx context.Context, id int64, d time.Duration) (bool, error) {
	c, err := s.Store.Campaign(ctx, id)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return true, nil
		}
		return false, err
	}
	now := s.now()
	if c.Status == domain.CampaignScheduled {
		if c.ScheduledAt == nil || c.ScheduledAt.After(now) {
			return true, nil // rescheduled: a job for the new time exists
		}
		if _, err := s.Store.ChangeCampaign(ctx, id, storeStart(now)); err != nil {
			return false, err
		}
		if c, err = s.Store.Campaign(ctx, id); err != nil {
			return false, err
		}
		s.publish(c)
	}
	if c.Status != domain.CampaignRunning {
		return true, nil
	}
	if s.Pipeline == nil {
		return false, fmt.Errorf("campaign %d: sending is not configured on this server", id)
	}
	owner := newOwner()
	ok, err := s.Store.LeaseCampaign(ctx, id, owner, now, now.Add(leaseFor))
	if err != nil || !ok {
		return true, err // another dispatch holds it; the periodic check comes back if it dies
	}
	defer s.Store.ReleaseCampaign(context.WithoutCancel(ctx), id, owner)
	ch, err := s.Store.Channel(ctx, c.ChannelID)
	if err != nil {
		return false, err
	}
	parallel := s.Parallel
	if parallel <= 0 {
		parallel = 16
	}
	end := time.Now().Add(d)
	processed := c.Processed
	for {
		rows, err := s.Store.CampaignRows(ctx, id, processed, 512)
		if err != nil {
			return false, err
		}
		if len(rows) == 0 {
			if _, err := s.Store.ChangeCampaign(ctx, id, storeFinish(s.now())); err != nil {
				return false, err
			}
			s.publish(c)
			return true, nil
		}
		for len(rows) > 0 {
			n, err := s.sendBatch(ctx, c, ch, rows, parallel)
			if err != nil {
				return false, err
			}
			processed = rows[n-1].Seq
			rows = rows[n:]
			held, err := s.Store.AdvanceCampaign(ctx, id, owner, processed, s.now().Add(leaseFor))
			if err != nil {
				return false, err
			}
			s.publish(c)
			if !held {
				return true, nil
			}
			cur, err := s.Store.Campaign(ctx, id)
			if err != nil {
				return false, err
			}
			if cur.Status != domain.CampaignRunning {
				return true, nil // paused or canceled
			}
			if time.Now().After(end) || ctx.Err() != nil {
				return false, ctx.Err()
			}
		}
	}
}

// sendBatch sends rows from the first, parallel at a time, until batchFor
// has passed, and returns how many it sent: those rows, in order, are done.
func (s *Service) sendBatch(ctx context.Context, c *domain.Campaign, ch *domain.Channel, rows []domain.CampaignRow, parallel int) (int, error) {
	stop := time.Now().Add(batchFor)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, parallel)
	n := 0
	for _, r := range rows {
		if n > 0 && (time.Now().After(stop) || ctx.Err() != nil) {
			break
		}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		n++
		go func(r domain.CampaignRow) {
			defer func() { <-sem; wg.Done() }()
			if err := s.sendRow(ctx, c, ch, r); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}(r)
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return n, nil
}

// sendRow sends one audience row through the whole pipeline (number,
// opt-out, session or fallback, tier, warm-up, template). A refusal is a
// message too: only errors of ticks itself (the database) stop the batch.
func (s *Service) sendRow(ctx context.Context, c *domain.Campaign, ch *domain.Channel, r domain.CampaignRow) error {
	req := &send.Request{ChannelID: ch.ID, To: r.Phone, Type: "template", CorrelationID: r.CorrelationID,
		ContactName: r.Name, Template: &send.TemplateRef{Name: c.Template, Language: c.Language, Params: r.Vars},
		IdempotencyKey: "campaign-" + strconv.FormatInt(c.ID, 10) + "-" + strconv.Itoa(r.Seq),
		CampaignID:     &c.ID, SenderUserID: c.CreatedBy, Origin: "campaign"}
	if len(c.Links) > 0 {
		req.Template.Components = templateComponents(c, r)
	}
	if c.FallbackTemplate != "" {
		req.Fallback = &send.TemplateRef{Name: c.FallbackTemplate, Language: c.FallbackLanguage}
	}
	// A send begun is finished even when the job is stopped (a shutdown):
	// cut off, it would leave a message WhatsApp may or may not have, which
	// its row could then neither send again nor count as received.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := s.Pipeline.Send(sendCtx, ch, req); err != nil {
		if ctx.Err() == nil {
			slog.Warn("campaign send", slog.Int64("campaign", c.ID), slog.Int("row", r.Line), slog.Any("err", err))
		}
		return fmt.Errorf("campaign %d row %d: %w", c.ID, r.Line, err)
	}
	return nil
}

func newOwner() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func storeStart(now time.Time) store.CampaignChange {
	return store.CampaignChange{From: []domain.CampaignStatus{domain.CampaignScheduled}, To: domain.CampaignRunning, Started: now}
}

func storeFinish(now time.Time) store.CampaignChange {
	return store.CampaignChange{From: []domain.CampaignStatus{domain.CampaignRunning}, To: domain.CampaignCompleted, Finished: now}
}

// DispatchFor runs one dispatch of campaign id for up to d, as its job
// does, and reports whether the campaign needs no more: for tests and
// benchmarks that drive a dispatch without River.
func (s *Service) DispatchFor(ctx context.Context, id int64, d time.Duration) (bool, error) {
	return s.dispatch(ctx, id, d)
}
