package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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
	q.dimWhere(w)
}

// ConsumptionCounts returns the consumption rollup's counts in q, as they
// stand now.
func (s *Store) ConsumptionCounts(ctx context.Context, q ConsumptionScope) ([]domain.ConsumptionCount, error) {
	if ok, err := s.daysKept(ctx, q); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return s.consumptionDays(ctx, q)
	}
	w := &whereBuilder{}
	sel, group := q.selectKey(w)
	q.where(w)
	return s.consumptionRows(ctx, s.r, `SELECT `+sel+`, CAST(SUM(n) AS BIGINT) FROM `+s.consumptionRollupFrom()+
		w.sql()+` GROUP BY `+group+` HAVING SUM(n) <> 0`, w.args)
}

// ConsumptionSnapshot returns the counts in q of month as it was closed.
func (s *Store) ConsumptionSnapshot(ctx context.Context, month string, q ConsumptionScope) ([]domain.ConsumptionCount, error) {
	if ok, err := s.daysKept(ctx, q); err != nil || ok {
		if err != nil {
			return nil, err
		}
		w := &whereBuilder{}
		hour := q.dayHour(w)
		w.add(`month = ` + w.arg(month))
		q.dayWhere(w)
		return s.consumptionRows(ctx, s.r, `SELECT subaccount_id, `+hour+`, channel_id, category, pricing_type, billable, opens, n
			FROM consumption_snapshot_daily`+w.sql(), w.args)
	}
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

// closingMargin is the hours a closing snapshot holds on each side of the
// month's UTC hours, so that every offset's month is inside
// (billing.closingMargin; migration 00023 assumes it).
const closingMargin = 14

// CloseConsumptionMonth freezes month: it copies the rollup's counts of
// the UTC hours [fromHour, toHour) — the month's UTC hours widened by
// closingMargin on each side — into the month's snapshot, once, hourly
// and per day of each offset kept. It reports whether this call closed it
// (false when it already was).
func (s *Store) CloseConsumptionMonth(ctx context.Context, month string, fromHour, toHour int64, at time.Time) (bool, error) {
	closed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The delta folded and no writer adding to it until the snapshot
		// is committed: what it holds afterwards in the month's hours came
		// later, and the fold counts it among the month's changes.
		if err := s.foldConsumptionAlone(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO consumption_closings (month, closed_at, from_hour, to_hour) VALUES ($1, $2, $3, $4)
			ON CONFLICT (month) DO NOTHING`, month, ms(at), fromHour, toHour)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		closed = true
		if _, err = tx.ExecContext(ctx, `INSERT INTO consumption_snapshot (month, `+consumptionKey+`, n)
			SELECT $1, `+consumptionKey+`, CAST(SUM(n) AS BIGINT) FROM consumption_rollup
			WHERE hour >= $2 AND hour < $3 GROUP BY `+consumptionKey+` HAVING SUM(n) <> 0`, month, fromHour, toHour); err != nil {
			return err
		}
		// The snapshot's days in each offset kept: the local days of the
		// month (its UTC hours less the margins) as the hours sum them.
		_, err = tx.ExecContext(ctx, `INSERT INTO consumption_snapshot_daily (month, off, day, `+consumptionDims+`, n)
			SELECT $1, o.off, (s.hour + o.off) / 24, `+prefixed("s.", consumptionDims)+`, CAST(SUM(s.n) AS BIGINT)
			FROM consumption_snapshot s CROSS JOIN consumption_offsets o
			WHERE s.month = $2 AND (s.hour + o.off) / 24 >= $3 AND (s.hour + o.off) / 24 < $4
			GROUP BY 2, 3, `+prefixed("s.", consumptionDims), month, month, (fromHour+closingMargin)/24, (toHour-closingMargin)/24)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("close consumption month %s: %w", month, err)
	}
	if closed && s.dialect == Postgres {
		// A month's rows at once: without fresh statistics the planner
		// takes the table for empty and sorts what it could hash.
		if _, err := s.w.ExecContext(ctx, `ANALYZE consumption_snapshot, consumption_snapshot_daily`); err != nil {
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
	return s.checkConsumptionLevels(ctx)
}

// checkConsumptionLevels compares the day level of each offset kept with
// the hourly rollup summed per day, and each closed month's changes with
// the rollup less its snapshot (on PostgreSQL the folded rollup: the delta
// adds to each of them alike).
func (s *Store) checkConsumptionLevels(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, `SELECT off FROM consumption_offsets`)
	if err != nil {
		return err
	}
	var offs []int64
	for rows.Next() {
		var off int64
		if err := rows.Scan(&off); err != nil {
			rows.Close()
			return err
		}
		offs = append(offs, off)
	}
	rows.Close()
	diff := func(what string, query string, args ...any) error {
		got, err := s.consumptionRows(ctx, s.r, query, args)
		if err != nil {
			return err
		}
		if len(got) > 0 {
			return fmt.Errorf("consumption %s off by %d at %+v", what, got[0].N, got[0])
		}
		return nil
	}
	for _, off := range offs {
		if err := diff(fmt.Sprintf("days at offset %d", off), `SELECT subaccount_id, day, `+
			`channel_id, category, pricing_type, billable, opens, CAST(SUM(n) AS BIGINT) FROM (
			SELECT day, `+consumptionDims+`, n FROM consumption_daily WHERE off = $1
			UNION ALL SELECT (hour + $2) / 24, `+consumptionDims+`, -n FROM consumption_rollup) x
			GROUP BY day, `+consumptionDims+` HAVING SUM(n) <> 0`, off, off); err != nil {
			return err
		}
	}
	return diff("changes of closed months", `SELECT `+consumptionKey+`, CAST(SUM(n) AS BIGINT) FROM (
		SELECT `+consumptionKey+`, n FROM consumption_changes
		UNION ALL SELECT `+prefixed("r.", consumptionKey)+`, -r.n FROM consumption_rollup r
			JOIN consumption_closings c ON r.hour >= c.from_hour AND r.hour < c.to_hour
		UNION ALL SELECT `+consumptionKey+`, n FROM consumption_snapshot) x
		GROUP BY `+consumptionKey+` HAVING SUM(n) <> 0`)
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
// snapshot: what changed in the month's hours after it closed (late
// webhooks), per key, signed. The rollup's writes keep these changes
// (migration 00023), so a closed month's report reads the snapshot and the
// few rows of its changes, never the live month.
func (s *Store) ConsumptionChanges(ctx context.Context, month string, q ConsumptionScope) ([]domain.ConsumptionCount, error) {
	w := &whereBuilder{}
	sel, group := q.selectKey(w)
	q.where(w)
	dims := w.and()
	w.add(`month = ` + w.arg(month))
	from := `SELECT ` + consumptionKey + `, n FROM consumption_changes` + w.sql()
	if s.dialect == Postgres {
		// The changes no fold has moved yet: a closing folds the delta
		// first, so all it holds in a closed month's hours came later.
		from += ` UNION ALL SELECT ` + consumptionKey + `, n FROM consumption_rollup_delta
			WHERE ` + dims + ` AND hour >= (SELECT from_hour FROM consumption_closings WHERE month = ` + w.arg(month) + `)
			AND hour < (SELECT to_hour FROM consumption_closings WHERE month = ` + w.arg(month) + `)`
	}
	return s.consumptionRows(ctx, s.r, `SELECT `+sel+`, CAST(SUM(n) AS BIGINT) FROM (`+from+`) d
		GROUP BY `+group+` HAVING SUM(n) <> 0`, w.args)
}

// dayAligned tells whether q asks for whole local days of its offset, the
// rows the day level keeps.
func (q ConsumptionScope) dayAligned() bool {
	return q.ByDay && q.DayOffset >= -12 && q.DayOffset <= 14 && q.FromHour >= 0 &&
		(q.FromHour+q.DayOffset)%24 == 0 && (q.ToHour+q.DayOffset)%24 == 0
}

// dayHour is the day level's day as the UTC hour of its local midnight,
// the hour the report's rows carry.
func (q ConsumptionScope) dayHour(w *whereBuilder) string {
	return `day * 24 - ` + w.arg(q.DayOffset) + ` AS hour`
}

// dayWhere narrows the day level to q's offset, days and dimensions.
func (q ConsumptionScope) dayWhere(w *whereBuilder) {
	w.add(`off = ` + w.arg(q.DayOffset))
	w.add(`day >= ` + w.arg((q.FromHour+q.DayOffset)/24) + ` AND day < ` + w.arg((q.ToHour+q.DayOffset)/24))
	q.dimWhere(w)
}

// dimWhere narrows to q's subaccounts and channel.
func (q ConsumptionScope) dimWhere(w *whereBuilder) {
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

// consumptionDays reads q's counts from the day level: a row per local
// day and key, plus on PostgreSQL the triggers' changes no fold has moved
// yet, summed into the same days.
func (s *Store) consumptionDays(ctx context.Context, q ConsumptionScope) ([]domain.ConsumptionCount, error) {
	w := &whereBuilder{}
	hour := q.dayHour(w)
	q.dayWhere(w)
	if s.dialect != Postgres {
		w.add(`n <> 0`)
		return s.consumptionRows(ctx, s.r, `SELECT subaccount_id, `+hour+`, channel_id, category, pricing_type, billable, opens, n
			FROM consumption_daily`+w.sql(), w.args)
	}
	days := w.sql()
	d := &whereBuilder{}
	d.args = w.args
	off := d.arg(q.DayOffset)
	q.where(d)
	return s.consumptionRows(ctx, s.r, `SELECT subaccount_id, `+hour+`, channel_id, category, pricing_type, billable, opens,
		CAST(SUM(n) AS BIGINT) FROM (SELECT day, subaccount_id, channel_id, category, pricing_type, billable, opens, n
			FROM consumption_daily`+days+`
		UNION ALL SELECT (hour + `+off+`) / 24, subaccount_id, channel_id, category, pricing_type, billable, opens, n
			FROM consumption_rollup_delta`+d.sql()+`) x
		GROUP BY day, subaccount_id, channel_id, category, pricing_type, billable, opens HAVING SUM(n) <> 0`, d.args)
}

// daysKept tells whether q can be read from the day level, and keeps its
// offset's days first when it is asked for the first time.
func (s *Store) daysKept(ctx context.Context, q ConsumptionScope) (bool, error) {
	if !q.dayAligned() {
		return false, nil
	}
	if _, ok := s.consumptionOffsets.Load(q.DayOffset); ok {
		return true, nil
	}
	if err := s.KeepConsumptionDays(ctx, q.DayOffset); err != nil {
		return false, err
	}
	s.consumptionOffsets.Store(q.DayOffset, true)
	return true, nil
}

// foldConsumptionAlone, on PostgreSQL, takes the lock of the consumption
// delta's fold (migration 00020) and keeps writers from adding to the
// delta until tx ends, then folds it: in tx the rollup is whole and stays
// so. Nothing on SQLite, whose writer is alone already.
func (s *Store) foldConsumptionAlone(ctx context.Context, tx *sql.Tx) error {
	if s.dialect != Postgres {
		return nil
	}
	for _, stmt := range []string{`SELECT pg_advisory_xact_lock(7311470155206528015)`,
		`LOCK TABLE consumption_rollup_delta IN SHARE ROW EXCLUSIVE MODE`, `SELECT consumption_rollup_fold()`} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// KeepConsumptionDays makes the consumption rollup keep the local days of
// the UTC offset off (whole hours east of UTC) from now on: their counts
// from the hourly rollup and the closed months' snapshots, in the
// transaction that adds the offset. Nothing happens when it is kept
// already.
func (s *Store) KeepConsumptionDays(ctx context.Context, off int64) error {
	var kept int
	switch err := s.w.QueryRowContext(ctx, `SELECT 1 FROM consumption_offsets WHERE off = $1`, off).Scan(&kept); err {
	case nil:
		return nil
	case sql.ErrNoRows:
	default:
		return fmt.Errorf("keep consumption days at offset %d: %w", off, err)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// What the delta holds goes into the rollup (and the days kept
		// already) first.
		if err := s.foldConsumptionAlone(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO consumption_offsets (off) VALUES ($1) ON CONFLICT (off) DO NOTHING`, off)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO consumption_daily (off, day, `+consumptionDims+`, n)
			SELECT $1, (hour + $2) / 24, `+consumptionDims+`, CAST(SUM(n) AS BIGINT) FROM consumption_rollup
			GROUP BY 2, `+consumptionDims+` HAVING SUM(n) <> 0`, off, off); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO consumption_snapshot_daily (month, off, day, `+consumptionDims+`, n)
			SELECT s.month, $1, (s.hour + $2) / 24, `+prefixed("s.", consumptionDims)+`, CAST(SUM(s.n) AS BIGINT)
			FROM consumption_snapshot s JOIN consumption_closings c ON c.month = s.month
			WHERE (s.hour + $3) / 24 >= (c.from_hour + `+fmt.Sprint(closingMargin)+`) / 24
			AND (s.hour + $4) / 24 < (c.to_hour - `+fmt.Sprint(closingMargin)+`) / 24
			GROUP BY s.month, 3, `+prefixed("s.", consumptionDims), off, off, off, off)
		return err
	})
	if err != nil {
		return fmt.Errorf("keep consumption days at offset %d: %w", off, err)
	}
	if s.dialect == Postgres {
		// A month's days at once, as after a closing.
		if _, err := s.w.ExecContext(ctx, `ANALYZE consumption_daily, consumption_snapshot_daily`); err != nil {
			return fmt.Errorf("keep consumption days at offset %d: %w", off, err)
		}
	}
	return nil
}

// consumptionDims is the key of the consumption rollup but the hour.
const consumptionDims = `subaccount_id, channel_id, category, pricing_type, billable, opens`

func prefixed(p, columns string) string {
	return p + strings.ReplaceAll(columns, `, `, `, `+p)
}

// DropConsumptionTriggers removes the triggers that keep the consumption
// rollup, for benchmarks that measure what they cost ingestion (ticks
// bench ingest with TICKS_BENCH_NO_CONSUMPTION_ROLLUP=1). The rollup is
// then wrong: never on a database that serves.
func (s *Store) DropConsumptionTriggers(ctx context.Context) error {
	for _, t := range []string{"messages_consumption_insert", "messages_consumption_delete", "messages_consumption_update",
		"consumption_rollup_days_insert", "consumption_rollup_days_update", "consumption_rollup_days_delete"} {
		stmt := `DROP TRIGGER IF EXISTS ` + t
		if s.dialect == Postgres && strings.HasPrefix(t, "consumption_") {
			continue // the fold keeps the days there
		}
		if s.dialect == Postgres {
			stmt += ` ON messages`
		}
		if _, err := s.w.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("drop %s: %w", t, err)
		}
	}
	return nil
}
