package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/phone"
)

// HistoryOptions choose the part of a history WriteHistory writes and how.
type HistoryOptions struct {
	// From and To bound the messages written by when they were created:
	// [From, To). Zero values stand for the history's start and end.
	From, To time.Time
	// Chunk is how many rows each transaction writes (5,000 when 0): a
	// server writing beside the history waits at most one chunk.
	Chunk int
	// Progress, when set, is told how many rows were written so far after
	// each chunk.
	Progress func(written int)
}

// HistoryResult is what a history holds and what one WriteHistory wrote.
type HistoryResult struct {
	Messages  int            // in the range written, whether written now or before
	MT, MO    int            // of those
	ByDay     map[string]int // messages in the range by UTC day (2006-01-02)
	Written   int            // rows this call wrote
	Contacts  int            // contacts this call created
	Campaigns []Campaign     // every campaign of the history
	Duration  time.Duration
}

// PlanHistory makes w's history without writing it and counts what
// WriteHistory would write in o's range.
func PlanHistory(w *World, o HistoryOptions) (*HistoryResult, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
	g := newGenerator(w, nil)
	lo, hi := w.span(o)
	res := &HistoryResult{ByDay: map[string]int{}}
	var m msg
	for g.next(&m) {
		if t := m.id >> 20; t >= lo && t < hi {
			res.count(&m)
		}
	}
	res.Campaigns = g.campaigns
	return res, nil
}

func (w *World) span(o HistoryOptions) (lo, hi int64) {
	lo, hi = ms(w.start()), ms(w.End)
	if !o.From.IsZero() {
		lo = max(lo, ms(o.From))
	}
	if !o.To.IsZero() {
		hi = min(hi, ms(o.To))
	}
	return lo, hi
}

func (r *HistoryResult) count(m *msg) {
	r.Messages++
	if m.direction == "mo" {
		r.MO++
	} else {
		r.MT++
	}
	r.ByDay[time.UnixMilli(m.at).UTC().Format(time.DateOnly)]++
}

// WriteHistory writes w's history, or the part o chooses, into the
// database at dsn, which holds w's subaccounts and channels and may be in
// use: rows go in with the indexes and the rollup's triggers in place, a
// chunk per transaction, so the reports stay exact while they fill in.
// The contacts the world names and the database lacks are created first;
// then, as the history says, the contacts' last messages (their sessions)
// and opt-outs are set where the history's are the latest.
//
// It can be stopped at any point and called again: the history is the
// same every time (same world, same seed) and each message's id is the
// instant it was created, so a second call writes only the messages after
// the newest one of the range already there. Message ids of the range
// must not be used by anything else, which holds for a history ending
// before the server started making ids.
func WriteHistory(ctx context.Context, dsn string, w *World, o HistoryOptions) (*HistoryResult, error) {
	t0 := time.Now()
	if err := w.check(); err != nil {
		return nil, err
	}
	if o.Chunk <= 0 {
		o.Chunk = 5000
	}
	l, err := openLoader(ctx, dsn, true)
	if err != nil {
		return nil, err
	}
	defer l.close()
	res := &HistoryResult{ByDay: map[string]int{}}
	ids, created, err := l.resolveContacts(ctx, w)
	if err != nil {
		return nil, err
	}
	res.Contacts = created
	lo, hi := w.span(o)
	var after int64
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM messages WHERE id >= $1 AND id < $2`,
		lo<<20, hi<<20).Scan(&after); err != nil {
		return nil, fmt.Errorf("history: find where to resume: %w", err)
	}
	g := newGenerator(w, ids)
	src := produce(ctx, g, func(m *msg) bool {
		if t := m.id >> 20; t < lo || t >= hi {
			return false
		}
		res.count(m)
		return m.id > after
	})
	res.Written, err = l.messages(ctx, src, o.Chunk, o.Progress)
	src.close()
	if err != nil {
		return res, fmt.Errorf("history: write messages: %w", err)
	}
	res.Campaigns = g.campaigns
	if err := l.contactStates(ctx, g); err != nil {
		return res, err
	}
	if res.Written > 10_000 {
		if err := l.analyze(ctx, true); err != nil {
			return res, fmt.Errorf("history: analyze: %w", err)
		}
	}
	res.Duration = time.Since(t0)
	return res, nil
}

// resolveContacts returns the ids of w's contacts by subaccount, creating
// the missing ones (as they were before the history: its opt-outs, no
// message yet), and how many it created.
func (l *loader) resolveContacts(ctx context.Context, w *World) ([][]int64, int, error) {
	created := 0
	ids := make([][]int64, len(w.Subaccounts))
	for pass := 0; pass < 2; pass++ {
		var missing []contactRow
		for i, sa := range w.Subaccounts {
			known, err := l.contactIDs(ctx, sa.ID)
			if err != nil {
				return nil, 0, err
			}
			ids[i] = make([]int64, len(sa.Contacts))
			for j, c := range sa.Contacts {
				key := phone.Canonical(c.Phone)
				if id, ok := known[key]; ok {
					ids[i][j] = id
					continue
				}
				before := ms(w.start()) - day
				cr := contactRow{subaccount: sa.ID, e164: c.Phone, key: key, waID: c.Phone[1:], name: c.Name,
					correlation: c.CorrelationID, optedOut: c.OptedOut, createdAt: before}
				if c.OptedOut {
					cr.preferenceAt = before
				}
				missing = append(missing, cr)
			}
		}
		if len(missing) == 0 {
			return ids, created, nil
		}
		if pass == 1 {
			return nil, 0, fmt.Errorf("history: %d contacts could not be created", len(missing))
		}
		// Ids the database gives, so that a server adding contacts
		// meanwhile cannot take the same.
		if err := l.contacts(ctx, missing); err != nil {
			return nil, 0, fmt.Errorf("history: create contacts: %w", err)
		}
		created = len(missing)
	}
	return ids, created, nil
}

func (l *loader) contactIDs(ctx context.Context, subaccount int64) (map[string]int64, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT id, phone_key FROM contacts WHERE subaccount_id = $1 AND phone_key IS NOT NULL`, subaccount)
	if err != nil {
		return nil, fmt.Errorf("history: read contacts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return nil, err
		}
		out[key] = id
	}
	return out, rows.Err()
}

// contactStates sets what the history says of its contacts, where it is
// the latest word: their last message (the pipeline's session) and the
// opt-outs it saw; and that they existed before it.
func (l *loader) contactStates(ctx context.Context, g *generator) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	inbound, err := tx.PrepareContext(ctx, `UPDATE contacts SET last_inbound_at = $1
		WHERE id = $2 AND (last_inbound_at IS NULL OR last_inbound_at < $3)`)
	if err != nil {
		return err
	}
	defer inbound.Close()
	optOut, err := tx.PrepareContext(ctx, `UPDATE contacts SET opted_out = $1, preference_at = $2 WHERE id = $3 AND preference_at < $4`)
	if err != nil {
		return err
	}
	defer optOut.Close()
	created, err := tx.PrepareContext(ctx, `UPDATE contacts SET created_at = $1 WHERE id = $2 AND created_at > $3`)
	if err != nil {
		return err
	}
	defer created.Close()
	before := g.start - day
	for _, s := range g.subs {
		for i := range s.contacts {
			c := &s.contacts[i]
			if _, err := created.ExecContext(ctx, before, c.id, before); err != nil {
				return fmt.Errorf("history: contact %d: %w", c.id, err)
			}
			if c.lastInbound > 0 {
				if _, err := inbound.ExecContext(ctx, c.lastInbound, c.id, c.lastInbound); err != nil {
					return fmt.Errorf("history: contact %d: %w", c.id, err)
				}
			}
			if c.optAt > 0 {
				if _, err := optOut.ExecContext(ctx, c.optedOut, c.optAt, c.id, c.optAt); err != nil {
					return fmt.Errorf("history: contact %d: %w", c.id, err)
				}
			}
		}
	}
	return tx.Commit()
}
