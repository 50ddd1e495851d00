package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

// Processor applies inbox rows to the message model, in order and in
// batches, remembering in the database how far it got so a restart resumes
// there. Replaying is moving that cursor back: application is idempotent.
type Processor struct {
	store   *store.Store
	metrics *Metrics
	wake    <-chan struct{}
	applied atomic.Int64
	// handoff brings rows the inbox just committed, already parsed; mem
	// holds those not applied yet. Rows missing from it (the channel was
	// full, a replay, a restart) are read from the database instead.
	handoff <-chan store.InboxBatch
	mem     []store.InboxBatch
	// BatchRows bounds the inbox rows applied in one transaction.
	BatchRows int
	// Poll is how often to look for work without a wake-up.
	Poll time.Duration
	// Linger is how long the processor waits after a batch shorter than
	// BatchRows, so that the rows arriving meanwhile share the next
	// transaction: a transaction's fixed work (reading the cursor, the
	// batch's messages and contacts, the commit) is then paid once for
	// many rows, and a message's statuses arriving close together are
	// merged into one write. Applying is that much later; answering
	// webhooks is not affected.
	Linger time.Duration
	// Health records when the store cannot write (nil: not recorded). While
	// it cannot, the processor retries after MaxBackoff at most.
	Health *Health
	// MaxBackoff bounds the wait between two attempts while the store
	// cannot write; the wait starts at a tenth of a second and doubles.
	MaxBackoff time.Duration
	// OnApply, when set, is called after each batch applied (it must not
	// block): the desk's router steps then instead of at its next poll.
	OnApply func()
}

// NewProcessor returns a processor of st's inbox, woken by wake (the
// inbox's Stored channel) and otherwise polling.
func NewProcessor(st *store.Store, m *Metrics, wake <-chan struct{}) *Processor {
	return &Processor{store: st, metrics: m, wake: wake, BatchRows: 2000, Poll: time.Second, Linger: 50 * time.Millisecond,
		MaxBackoff: 5 * time.Second}
}

// TakeHandoff makes the processor use the rows inbox hands off, parsed,
// before reading the database.
func (p *Processor) TakeHandoff(inbox *Inbox) { p.handoff = inbox.Handoff() }

// fromMemory returns the handed-off rows that continue the cursor without a
// gap, up to BatchRows; nil when the next row must come from the database.
func (p *Processor) fromMemory(cur int64) []store.InboxBatch {
	for len(p.mem) < 4*p.BatchRows {
		select {
		case it := <-p.handoff:
			p.mem = append(p.mem, it)
			continue
		default:
		}
		break
	}
	i := 0
	for i < len(p.mem) && p.mem[i].InboxID <= cur {
		i++
	}
	p.mem = p.mem[i:]
	n := 0
	for n < len(p.mem) && n < p.BatchRows && p.mem[n].InboxID == cur+int64(n)+1 {
		n++
	}
	if n == 0 {
		return nil
	}
	items := p.mem[:n:n]
	p.mem = p.mem[n:]
	return items
}

// Applied returns the ID of the last inbox row applied.
func (p *Processor) Applied() int64 { return p.applied.Load() }

// Run applies the inbox until ctx is done.
func (p *Processor) Run(ctx context.Context) error {
	cur, err := p.store.Cursor(ctx)
	if err != nil {
		return err
	}
	p.applied.Store(cur)
	t := time.NewTicker(p.Poll)
	defer t.Stop()
	backoff := time.Duration(0)
	for {
		n, err := p.Step(ctx)
		if err == nil && n == 0 {
			if _, failing := p.Health.Failing(); failing {
				// Nothing to apply, but webhooks are refused until a
				// write succeeds: try one.
				err = p.probe(ctx)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if store.IsUnavailable(err) {
				p.Health.Failed("apply", err)
				backoff = min(max(2*backoff, 100*time.Millisecond), max(p.MaxBackoff, 100*time.Millisecond))
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(backoff):
				}
				continue
			}
			slog.Error("ingest: apply failed; retrying", slog.Any("err", err))
			n = 0
		} else {
			backoff = 0
			p.recovered(ctx)
		}
		if n >= p.BatchRows {
			continue
		}
		if n > 0 {
			if p.Linger > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(p.Linger):
				}
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-t.C:
		}
	}
}

// probe writes a row, to learn whether the store writes again.
func (p *Processor) probe(ctx context.Context) error {
	if err := p.store.ProbeWrite(ctx); err != nil {
		return fmt.Errorf("probe write: %w", err)
	}
	return nil
}

// recovered notes a successful step: if the store could not write until
// now, the outage is recorded for admins in the webhook events list (now
// that it can be written).
func (p *Processor) recovered(ctx context.Context) {
	o, ended := p.Health.Recovered()
	if !ended {
		return
	}
	if err := p.store.RecordOutage(ctx, o.Since, o.Until, o.Attempts, o.Cause); err != nil {
		slog.Warn("ingest: the store's outage could not be recorded", slog.Any("err", err))
	}
}

// Step applies one batch of inbox rows after the cursor and returns how many
// rows it applied.
func (p *Processor) Step(ctx context.Context) (int, error) {
	cur, err := p.store.Cursor(ctx)
	if err != nil {
		return 0, err
	}
	if items := p.fromMemory(cur); items != nil {
		return p.apply(ctx, items, items[len(items)-1].InboxID, len(items))
	}
	rows, err := p.store.ReadInbox(ctx, cur, p.BatchRows)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	items := make([]store.InboxBatch, 0, len(rows))
	for _, r := range rows {
		b, err := whatsapp.AcceptWebhook(r.Body)
		if err != nil {
			// The handler accepts only JSON bodies, so this is a body
			// stored before it checked: keep it in the inbox, skip it here.
			slog.Warn("ingest: inbox row does not parse; skipped", slog.Int64("inbox_id", r.ID), slog.Any("err", err))
			continue
		}
		items = append(items, store.InboxBatch{InboxID: r.ID, ReceivedAt: r.ReceivedAt, Batch: b})
	}
	return p.apply(ctx, items, rows[len(rows)-1].ID, len(rows))
}

// apply applies items and moves the cursor to last; n is the rows this
// step covered (skipped ones included).
func (p *Processor) apply(ctx context.Context, items []store.InboxBatch, last int64, n int) (int, error) {
	start := time.Now()
	st, err := p.store.ApplyWebhooks(ctx, items, last)
	if err != nil {
		if store.IsUnavailable(err) {
			// The store failed, not the batch: all of it is tried again.
			return 0, err
		}
		st, err = p.applyOneByOne(ctx, items, last)
		if err != nil {
			return 0, err
		}
	}
	p.applied.Store(last)
	if p.OnApply != nil {
		p.OnApply()
	}
	if m := p.metrics; m != nil {
		m.ApplyTime.Observe(time.Since(start).Seconds())
		m.EventsApplied.WithLabelValues("status").Add(float64(st.Statuses))
		m.EventsApplied.WithLabelValues("inbound").Add(float64(st.Inbound))
		m.EventsApplied.WithLabelValues("other").Add(float64(st.Other))
		m.EventsSetAside.Add(float64(st.SetAside))
	}
	return n, nil
}

// Replay moves the cursor back to the start of the inbox, so every stored
// webhook is applied again.
func (p *Processor) Replay(ctx context.Context) error {
	if err := p.store.SetCursor(ctx, 0); err != nil {
		return err
	}
	p.applied.Store(0)
	return nil
}

// applyOneByOne applies a batch that failed as a whole one row at a time,
// so that a row that can never be applied does not hold up the rest: it is
// tried a few times, and if the database is fine but the row still fails it
// is set aside as an ingest_error event for admins (its body stays in the
// inbox for a replay once the cause is fixed). A store that cannot write (a
// full disk, a database that is down: store.IsUnavailable) stops the step
// instead, so nothing is set aside for a passing failure.
func (p *Processor) applyOneByOne(ctx context.Context, items []store.InboxBatch, last int64) (store.ApplyStats, error) {
	var total store.ApplyStats
	for _, it := range items {
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			var st store.ApplyStats
			if st, err = p.store.ApplyWebhooks(ctx, []store.InboxBatch{it}, it.InboxID); err == nil {
				total.Add(st)
				break
			}
			if ctx.Err() != nil {
				return total, ctx.Err()
			}
			if store.IsUnavailable(err) {
				return total, err
			}
			time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
		}
		if err == nil {
			continue
		}
		if perr := p.store.Ping(ctx); perr != nil {
			return total, fmt.Errorf("%w (and the database does not answer: %w)", err, perr)
		}
		slog.Error("ingest: webhook cannot be applied; set aside", slog.Int64("inbox_id", it.InboxID), slog.Any("err", err))
		if err := p.store.SetAside(ctx, it.InboxID, err); err != nil {
			return total, err
		}
	}
	// Rows skipped as unparseable still move the cursor.
	return total, p.store.SetCursor(ctx, last)
}
