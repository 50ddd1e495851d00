package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// MetaFetch is when a WABA's analytics of one kind were last asked for.
type MetaFetch struct {
	WABAID    string
	Kind      string // pricing, conversation
	From, To  time.Time
	FetchedAt time.Time
	Error     string // the last attempt's failure, "" when it answered
}

// ReplaceMetaCharges stores Meta's answer for a WABA's periods [from, to)
// of one kind (pricing or conversation): the rows of those periods are
// replaced by charges, and the fetch is recorded.
func (s *Store) ReplaceMetaCharges(ctx context.Context, waba, kind string, from, to time.Time, charges []domain.MetaCharge, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM meta_charges WHERE waba_id = $1 AND kind = $2 AND start_at >= $3 AND start_at < $4`,
			waba, kind, from.Unix(), to.Unix()); err != nil {
			return err
		}
		for _, c := range charges {
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta_charges (waba_id, kind, start_at, end_at, phone, category, pricing_type,
				direction, n, cost_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (waba_id, kind, start_at, phone, category, pricing_type, direction)
				DO UPDATE SET n = meta_charges.n + excluded.n, cost_micros = meta_charges.cost_micros + excluded.cost_micros`,
				waba, kind, c.Start.Unix(), c.End.Unix(), c.Phone, c.Category, c.PricingType, c.Direction, c.Count, c.CostMicros); err != nil {
				return err
			}
		}
		return upsertMetaFetch(ctx, tx, MetaFetch{WABAID: waba, Kind: kind, From: from, To: to, FetchedAt: at})
	})
	if err != nil {
		return fmt.Errorf("store meta charges of %s: %w", waba, err)
	}
	return nil
}

// RecordMetaFetchError notes that asking Meta for a WABA's analytics
// failed; the periods and time of the last answer stay as they were.
func (s *Store) RecordMetaFetchError(ctx context.Context, waba, kind, failure string) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO meta_charge_fetches (waba_id, kind, from_at, to_at, fetched_at, error)
		VALUES ($1, $2, 0, 0, 0, $3) ON CONFLICT (waba_id, kind) DO UPDATE SET error = excluded.error`, waba, kind, failure); err != nil {
		return fmt.Errorf("record meta fetch of %s: %w", waba, err)
	}
	return nil
}

func upsertMetaFetch(ctx context.Context, tx *sql.Tx, f MetaFetch) error {
	// The periods answered so far and this one, when they meet, are one:
	// an answer for the last two months keeps the months asked before.
	_, err := tx.ExecContext(ctx, `INSERT INTO meta_charge_fetches (waba_id, kind, from_at, to_at, fetched_at, error)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (waba_id, kind) DO UPDATE SET
		from_at = CASE WHEN meta_charge_fetches.to_at > 0 AND meta_charge_fetches.to_at >= excluded.from_at
		                AND meta_charge_fetches.from_at <= excluded.to_at AND meta_charge_fetches.from_at < excluded.from_at
		               THEN meta_charge_fetches.from_at ELSE excluded.from_at END,
		to_at = CASE WHEN meta_charge_fetches.to_at > 0 AND meta_charge_fetches.to_at >= excluded.from_at
		              AND meta_charge_fetches.from_at <= excluded.to_at AND meta_charge_fetches.to_at > excluded.to_at
		             THEN meta_charge_fetches.to_at ELSE excluded.to_at END,
		fetched_at = excluded.fetched_at, error = excluded.error`,
		f.WABAID, f.Kind, f.From.Unix(), f.To.Unix(), ms(f.FetchedAt), f.Error)
	return err
}

// MetaCharges returns the stored charges of kind of the WABAs wabas whose
// periods start in [from, to).
func (s *Store) MetaCharges(ctx context.Context, kind string, wabas []string, from, to time.Time) ([]domain.MetaCharge, error) {
	if len(wabas) == 0 {
		return nil, nil
	}
	w := &whereBuilder{}
	w.add(`kind = ` + w.arg(kind))
	w.add(`start_at >= ` + w.arg(from.Unix()) + ` AND start_at < ` + w.arg(to.Unix()))
	w.in(`waba_id`, len(wabas), func(i int) any { return wabas[i] })
	rows, err := s.r.QueryContext(ctx, `SELECT waba_id, start_at, end_at, phone, category, pricing_type, direction, n, cost_micros
		FROM meta_charges`+w.sql()+` ORDER BY start_at, phone, category, pricing_type, direction`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("meta charges: %w", err)
	}
	defer rows.Close()
	var out []domain.MetaCharge
	for rows.Next() {
		var c domain.MetaCharge
		var start, end int64
		if err := rows.Scan(&c.WABAID, &start, &end, &c.Phone, &c.Category, &c.PricingType, &c.Direction, &c.Count, &c.CostMicros); err != nil {
			return nil, fmt.Errorf("meta charges: %w", err)
		}
		c.Start, c.End = time.Unix(start, 0).UTC(), time.Unix(end, 0).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// MetaFetches returns the last fetch of each WABA of wabas.
func (s *Store) MetaFetches(ctx context.Context, wabas []string) ([]MetaFetch, error) {
	if len(wabas) == 0 {
		return nil, nil
	}
	w := &whereBuilder{}
	w.in(`waba_id`, len(wabas), func(i int) any { return wabas[i] })
	rows, err := s.r.QueryContext(ctx, `SELECT waba_id, kind, from_at, to_at, fetched_at, error FROM meta_charge_fetches`+
		w.sql()+` ORDER BY waba_id, kind`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("meta fetches: %w", err)
	}
	defer rows.Close()
	var out []MetaFetch
	for rows.Next() {
		var f MetaFetch
		var from, to, at int64
		if err := rows.Scan(&f.WABAID, &f.Kind, &from, &to, &at, &f.Error); err != nil {
			return nil, fmt.Errorf("meta fetches: %w", err)
		}
		f.From, f.To, f.FetchedAt = time.Unix(from, 0).UTC(), time.Unix(to, 0).UTC(), fromMS(at)
		out = append(out, f)
	}
	return out, rows.Err()
}
