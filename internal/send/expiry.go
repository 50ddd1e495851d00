package send

import (
	"context"
	"log/slog"
	"time"

	"github.com/ticksapp/ticks/internal/store"
)

// Expirer marks messages that were never delivered within their time to
// live as expired (report status ttl_expired), as WhatsApp stops trying.
type Expirer struct {
	Store *store.Store
	TTL   time.Duration // how long a message may stay undelivered
	Every time.Duration // how often to look
}

// Run expires messages until ctx is done.
func (e *Expirer) Run(ctx context.Context) error {
	every := e.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := e.Store.ExpireUndelivered(ctx, time.Now().Add(-e.TTL))
		switch {
		case err != nil && ctx.Err() == nil:
			slog.Warn("expire messages", slog.Any("err", err))
		case n > 0:
			slog.Info("messages expired undelivered", slog.Int64("count", n))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
