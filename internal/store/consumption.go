package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// consumptionKey is the key columns of consumption_rollup and
// consumption_snapshot, in the order readers select them.
const consumptionKey = `subaccount_id, hour, channel_id, category, pricing_type, billable, opens`

// ConsumptionScope narrows the consumption rollup: UTC hours [FromHour,
// ToHour), the subaccounts (all when nil) and one channel (0 for all).
type ConsumptionScope struct {
	FromHour, ToHour int64
	Subaccounts      []int64
	ChannelID        int64
	// ByDay sums the hours of each day of a time zone DayOffset hours east
	// of UTC into one count per key, dated by the UTC hour of that day's
	// midnight: a month's report reads a row a day instead of one an hour
	// (on SQLite, fetching a row costs more than the sort of the sum).
	ByDay     bool
	DayOffset int64
}

// selectKey is the key columns as a reader selects them: hourly, or summed
// per day of q's time zone.
func (q ConsumptionScope) selectKey(w *whereBuilder) (sel, group string) {
	if !q.ByDay {
		return consumptionKey, consumptionKey
	}
	off := w.arg(q.DayOffset)
	off2 := w.arg(q.DayOffset)
	return `subaccount_id, ((hour + ` + off + `) / 24) * 24 - ` + off2 + ` AS hour, channel_id, category, pricing_type, billable, opens`,
		`1, 2, 3, 4, 5, 6, 7`
}

func (q ConsumptionScope) where(w *whereBuilder) {
	w.add(`hour >= ` + w.arg(q.FromHour) + ` AND hour < ` + w.arg(q.ToHour))
	if q.Subaccounts != nil {
		if len(q.Subaccounts) == 0 {
			w.add(`1 = 0`)
		} else {
			w.in(`subaccount_id`, len(q.Subaccounts), func(i int) any { return q.Subaccounts[i] })
		}
	}
	if q.ChannelID != 0 {
		w.add(`channel_id = ` + w.arg(q.ChannelID))
	}
}

// ConsumptionCounts returns the consumption rollup's counts in q, as they
// stand now.
func (s *Store) ConsumptionCounts(ctx context.Context, q ConsumptionScope) ([]domain.ConsumptionCount, error) {
	w := &whereBuilder{}
	sel, group := q.selectKey(w)
	q.where(w)
	return s.consumptionRows(ctx, s.r, `SELECT `+sel+`, CAST(SUM(n) AS BIGINT) FROM `+s.consumptionRollupFrom()+
		w.sql()+` GROUP BY `+group+` HAVING SUM(n) <> 0`, w.args)
}

// ConsumptionSnapshot returns the counts in q of month as it was closed.
func (s *Store) ConsumptionSnapshot(ctx context.Context, month string, q ConsumptionScope) ([]domain.ConsumptionCount, error) {
	w := &whereBuilder{}
	sel, group := q.selectKey(w)
	w.add(`month = ` + w.arg(month))
	q.where(w)
	if !q.ByDay {
		w := &whereBuilder{}
		w.add(`month = ` + w.arg(month))
		q.where(w)
		return s.consumptionRows(ctx, s.r, `SELECT `+consumptionKey+`, n FROM consumption_snapshot`+w.sql(), w.args)
	}
	return s.consumptionRows(ctx, s.r, `SELECT `+sel+`, CAST(SUM(n) AS BIGINT) FROM consumption_snapshot`+w.sql()+
		` GROUP BY `+group, w.args)
}

func (s *Store) consumptionRows(ctx context.Context, db queryer, query string, args []any) ([]domain.ConsumptionCount, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("consumption counts: %w", err)
	}
	defer rows.Close()
	var out []domain.ConsumptionCount
	for rows.Next() {
		var c domain.ConsumptionCount
		var opens string
		if err := rows.Scan(&c.SubaccountID, &c.Hour, &c.ChannelID, &c.Category, &c.PricingType, &c.Billable, &opens, &c.N); err != nil {
			return nil, fmt.Errorf("consumption counts: %w", err)
		}
		c.Opens = domain.ConversationType(opens)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ConsumptionClosing returns when month was closed, and false when it was
// not.
func (s *Store) ConsumptionClosing(ctx context.Context, month string) (time.Time, bool, error) {
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT closed_at FROM consumption_closings WHERE month = $1`, month).Scan(&at)
	if err == sql.ErrNoRows {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("consumption closing %s: %w", month, err)
	}
	return fromMS(at), true, nil
}

// CloseConsumptionMonth freezes month: it copies the rollup's counts of
// the UTC hours [fromHour, toHour) into the month's snapshot, once. It
// reports whether this call closed it (false when it already was).
func (s *Store) CloseConsumptionMonth(ctx context.Context, month string, fromHour, toHour int64, at time.Time) (bool, error) {
	closed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO consumption_closings (month, closed_at) VALUES ($1, $2)
			ON CONFLICT (month) DO NOTHING`, month, ms(at))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		closed = true
		_, err = tx.ExecContext(ctx, `INSERT INTO consumption_snapshot (month, `+consumptionKey+`, n)
			SELECT $1, `+consumptionKey+`, CAST(SUM(n) AS BIGINT) FROM `+s.consumptionRollupFrom()+`
			WHERE hour >= $2 AND hour < $3 GROUP BY `+consumptionKey+` HAVING SUM(n) <> 0`, month, fromHour, toHour)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("close consumption month %s: %w", month, err)
	}
	if closed && s.dialect == Postgres {
		// A month's rows at once: without fresh statistics the planner
		// takes the table for empty and sorts what it could hash.
		if _, err := s.w.ExecContext(ctx, `ANALYZE consumption_snapshot`); err != nil {
			return closed, fmt.Errorf("close consumption month %s: %w", month, err)
		}
	}
	return closed, nil
}

// RebuildConsumption recomputes the consumption rollup from the messages,
// exactly, for bulk loads that ran without the triggers and for repairs.
func (s *Store) RebuildConsumption(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, stmt := range s.consumptionRebuild() {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("rebuild consumption: %w", err)
			}
		}
		return nil
	})
}

// CheckConsumption compares the consumption rollup with a fresh count of
// the messages and returns an error naming the first key where they
// differ. It reads every message: for tests and repairs.
func (s *Store) CheckConsumption(ctx context.Context) error {
	all := ConsumptionScope{FromHour: -1 << 40, ToHour: 1 << 40}
	rolled, err := s.ConsumptionCounts(ctx, all)
	if err != nil {
		return err
	}
	fresh, err := s.consumptionRows(ctx, s.r, `SELECT `+consumptionKey+`, COUNT(*) FROM (SELECT subaccount_id,
		at / 3600000 AS hour, channel_id, pricing_category AS category, pricing_type, `+s.consumptionBillable()+` AS billable,
		CASE WHEN conversation_expires_at - at = CASE conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
		     THEN conversation_type ELSE '' END AS opens
		FROM messages WHERE direction = 'mt' AND (state <> 'failed' OR error_code <> 0)) m GROUP BY `+consumptionKey, nil)
	if err != nil {
		return err
	}
	counts := map[domain.ConsumptionCount]int64{}
	for _, c := range rolled {
		n := c.N
		c.N = 0
		counts[c] += n
	}
	for _, c := range fresh {
		n := c.N
		c.N = 0
		counts[c] -= n
	}
	for k, d := range counts {
		if d != 0 {
			return fmt.Errorf("consumption rollup off by %d at %+v", d, k)
		}
	}
	return nil
}

// ConsumptionBefore counts the messages sent before at as the consumption
// rollup would (UTC hours, category, type, charge, conversation opened),
// from the messages themselves: exact to the millisecond where the rollup
// is exact to the hour. It reads every such message: for the demo's
// simulator, which learns at start what an earlier run charged.
func (s *Store) ConsumptionBefore(ctx context.Context, at time.Time) ([]domain.ConsumptionCount, error) {
	return s.consumptionRows(ctx, s.r, `SELECT `+consumptionKey+`, COUNT(*) FROM (SELECT subaccount_id,
		at / 3600000 AS hour, channel_id, pricing_category AS category, pricing_type, `+s.consumptionBillable()+` AS billable,
		CASE WHEN conversation_expires_at - at = CASE conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
		     THEN conversation_type ELSE '' END AS opens
		FROM messages WHERE direction = 'mt' AND (state <> 'failed' OR error_code <> 0) AND at < $1) m GROUP BY `+consumptionKey,
		[]any{ms(at)})
}

// ConsumptionChanges returns what the rollup holds in q beyond month's
// snapshot: the keys whose live count differs from the snapshot's, with
// the difference. It is nothing until something arrives for a closed
// month, so a closed month's report reads the snapshot and a few rows.
func (s *Store) ConsumptionChanges(ctx context.Context, month string, q ConsumptionScope) ([]domain.ConsumptionCount, error) {
	w := &whereBuilder{}
	sel, group := q.selectKey(w)
	q.where(w)
	live := w.sql()
	w.conds = nil
	w.add(`month = ` + w.arg(month))
	q.where(w)
	snap := w.sql()
	return s.consumptionRows(ctx, s.r, `SELECT `+sel+`, CAST(SUM(n) AS BIGINT) FROM (SELECT `+consumptionKey+`, n FROM `+
		s.consumptionRollupFrom()+live+` UNION ALL SELECT `+consumptionKey+`, -n FROM consumption_snapshot`+snap+`) d
		GROUP BY `+group+` HAVING SUM(n) <> 0`, w.args)
}

// DropConsumptionTriggers removes the triggers that keep the consumption
// rollup, for benchmarks that measure what they cost ingestion (ticks
// bench ingest with TICKS_BENCH_NO_CONSUMPTION_ROLLUP=1). The rollup is
// then wrong: never on a database that serves.
func (s *Store) DropConsumptionTriggers(ctx context.Context) error {
	for _, t := range []string{"messages_consumption_insert", "messages_consumption_delete", "messages_consumption_update"} {
		stmt := `DROP TRIGGER IF EXISTS ` + t
		if s.dialect == Postgres {
			stmt += ` ON messages`
		}
		if _, err := s.w.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("drop %s: %w", t, err)
		}
	}
	return nil
}
