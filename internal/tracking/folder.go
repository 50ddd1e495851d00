package tracking

import (
	"context"
	"log/slog"
	"time"
)

// Folder moves the recorded events from the intake into the events table
// and the reports' counts (store.FoldEvents), a few thousand at a time,
// woken by each append. The reports read what it folded: it keeps them a
// moment behind the answers.
type Folder struct {
	Service *Service
	// Linger is how long the folder waits after a fold that emptied the
	// intake, so that the requests arriving meanwhile share the next
	// transaction: its fixed work and its commit are then paid once for
	// many requests.
	Linger time.Duration
	// Poll is how often it looks for work without a wake-up (records left
	// by another process, or by a restart).
	Poll time.Duration
	// MaxBackoff bounds the wait between attempts while folding fails.
	MaxBackoff time.Duration
	// Hold, when not nil, keeps the folder from folding until it is
	// closed: the intake benchmark measures the answers alone with it.
	Hold chan struct{}
}

// NewFolder returns the folder of svc's events.
func NewFolder(svc *Service) *Folder {
	return &Folder{Service: svc, Linger: 20 * time.Millisecond, Poll: time.Second, MaxBackoff: 5 * time.Second}
}

// Run folds until ctx is done, then folds what is waiting (a clean stop
// leaves nothing for the next start) unless that fails.
func (f *Folder) Run(ctx context.Context) {
	st := f.Service.Store
	if f.Hold != nil {
		select {
		case <-f.Hold:
		case <-ctx.Done():
			return
		}
	}
	t := time.NewTicker(f.Poll)
	defer t.Stop()
	backoff := time.Duration(0)
	for {
		n, err := st.FoldEvents(ctx)
		switch {
		case ctx.Err() != nil:
			f.finish()
			return
		case err != nil:
			backoff = min(max(2*backoff, 100*time.Millisecond), f.MaxBackoff)
			slog.Warn("event folder", slog.Any("err", err), slog.Duration("retry_in", backoff))
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			continue
		case n > 0:
			// What arrived during that fold is folded next, together.
			backoff = 0
			continue
		}
		select {
		case <-ctx.Done():
		case <-st.EventsAppended():
			select {
			case <-ctx.Done():
			case <-time.After(f.Linger):
			}
		case <-t.C:
		}
	}
}

// finish folds what is waiting when the folder stops, within a bound.
func (f *Folder) finish() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.Service.Store.FlushEvents(ctx); err != nil {
		slog.Warn("event folder: events left in the intake for the next start", slog.Any("err", err))
	}
}

// Flush folds every event recorded so far: tests and benchmarks call it
// before reading the reports.
func (s *Service) Flush(ctx context.Context) error { return s.Store.FlushEvents(ctx) }
