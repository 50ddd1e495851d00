package extracts

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/store"
)

// PruneArgs is the daily job that deletes the history older than the five
// years an extraction may reach back (Service.Prune).
type PruneArgs struct{}

// Kind names the job in River's tables.
func (PruneArgs) Kind() string { return "history_prune" }

// pruneEvery is how often the history is pruned (and once when a server
// starts).
const pruneEvery = 24 * time.Hour

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	svc *Service
}

// Timeout lets a first prune of a large database take its time.
func (w *pruneWorker) Timeout(*river.Job[PruneArgs]) time.Duration { return 6 * time.Hour }

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	_, err := w.svc.Prune(ctx)
	return err
}

// RetentionCutoff is where the history kept starts: the first day an
// extraction may ask for, today five years ago, at midnight in the
// account's time zone.
func (s *Service) RetentionCutoff() time.Time {
	loc := s.location()
	now := s.now().In(loc)
	return time.Date(now.Year()-MaxYears, now.Month(), now.Day(), 0, 0, 0, 0, loc)
}

// Prune deletes the history before RetentionCutoff (see
// Store.PruneHistory).
func (s *Service) Prune(ctx context.Context) (store.Pruned, error) {
	cutoff := s.RetentionCutoff()
	p, err := s.Store.PruneHistory(ctx, cutoff)
	if p != (store.Pruned{}) || err != nil {
		slog.Info("history pruned", slog.Time("before", cutoff), slog.Int64("messages", p.Messages), slog.Int64("event_tracks", p.Events),
			slog.Int64("tickets", p.Tickets), slog.Int64("status_changes", p.StatusChanges), slog.Int64("extractions", p.Extractions),
			slog.Any("err", err))
	}
	return p, err
}
