package extracts

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/jobs"
)

// Queue is the River queue extractions run in, with Workers at once on
// each server: a few large extractions never take every worker the other
// background work needs, and requests beyond wait their turn queued.
const (
	Queue   = "extractions"
	Workers = 2
)

// busyWait is how long an extraction held back by the limits waits before
// its job tries again.
const busyWait = 10 * time.Second

// maxAttempts is how many times an extraction's job runs before it fails.
const maxAttempts = 3

// RunArgs is the job that writes one extraction.
type RunArgs struct {
	ID int64 `json:"id"`
}

// Kind names the job in River's tables.
func (RunArgs) Kind() string { return "extraction_run" }

// InsertOpts sends the job to the extractions' queue.
func (RunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: maxAttempts}
}

// SweepArgs is the periodic job that expires files and hands stale
// extractions to a new run.
type SweepArgs struct{}

// Kind names the job in River's tables.
func (SweepArgs) Kind() string { return "extraction_sweep" }

// runWorker runs RunArgs jobs.
type runWorker struct {
	river.WorkerDefaults[RunArgs]
	svc *Service
}

// Timeout lets an extraction write for as long as it takes, up to an
// hour, beyond River's default minute.
func (w *runWorker) Timeout(*river.Job[RunArgs]) time.Duration { return time.Hour }

func (w *runWorker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	err := w.svc.Run(ctx, job.Args.ID)
	if errors.Is(err, ErrBusy) {
		return river.JobSnooze(busyWait)
	}
	if err != nil && job.Attempt >= job.MaxAttempts && ctx.Err() == nil {
		slog.Error("extraction failed", slog.Int64("id", job.Args.ID), slog.Any("err", err))
		return w.svc.Fail(ctx, job.Args.ID, err)
	}
	return err
}

// sweepWorker runs SweepArgs jobs.
type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	svc *Service
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	return w.svc.Sweep(ctx)
}

// Sweep expires the files whose time is up and hands the stale
// extractions (see Store.StaleExtractions) to a new job.
func (s *Service) Sweep(ctx context.Context) error {
	if _, err := s.Expire(ctx); err != nil {
		return err
	}
	stale, err := s.Store.StaleExtractions(ctx, s.now().Add(-s.staleAfter()))
	if err != nil {
		return err
	}
	for _, id := range stale {
		if err := s.Enqueue(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// Register adds the extractions' queue, their job, the sweep (every
// minute, and once when a server starts) and the history's pruning (every
// day, and once when a server starts) to the background work.
func Register(reg *jobs.Registry, svc *Service) {
	reg.Queue(Queue, Workers)
	jobs.Register(reg, &runWorker{svc: svc})
	jobs.Register(reg, &sweepWorker{svc: svc})
	reg.Periodic(time.Minute, func() river.JobArgs { return SweepArgs{} })
	jobs.Register(reg, &pruneWorker{svc: svc})
	jobs.Register(reg, &webhookWorker{svc: svc})
	jobs.Register(reg, &mailWorker{svc: svc})
	reg.Periodic(pruneEvery, func() river.JobArgs { return PruneArgs{} })
}

// UseJobs makes svc enqueue its extractions with c, and the calls of its
// webhook and its e-mails when it has them.
func (s *Service) UseJobs(c *jobs.Client) {
	s.Enqueue = func(ctx context.Context, id int64) error {
		_, err := c.Insert(ctx, RunArgs{ID: id}, nil)
		return err
	}
	notify := s.Notify
	s.Notify = func(ctx context.Context, e *domain.Extraction) {
		if notify != nil {
			notify(ctx, e)
		}
		if s.Mail != nil && e.UserID != 0 {
			if _, err := c.Insert(context.WithoutCancel(ctx), MailArgs{ID: e.ID}, nil); err != nil {
				slog.Warn("queue extraction e-mail", slog.Int64("id", e.ID), slog.Any("err", err))
			}
		}
		if s.WebhookURL == "" {
			return
		}
		if _, err := c.Insert(context.WithoutCancel(ctx), WebhookArgs{ID: e.ID}, nil); err != nil {
			slog.Warn("queue extraction webhook", slog.Int64("id", e.ID), slog.Any("err", err))
		}
	}
}
