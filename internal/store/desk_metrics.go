package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/desk/hist"
	"github.com/ticksapp/ticks/internal/domain"
)

// The attendance metrics' rollup (migrations 00043, 00044): per
// subaccount, UTC day of opening, team and agent (and per team and tag),
// the figures of the tickets opened that day as they stand now; and the
// same per week (span 7), so that a long period reads few rows. Every write that changes
// a ticket's figures takes its old contribution out and puts its new one
// in, in the same transaction, so the rollup always equals what the
// tickets would give (TicketRows).

const dayMS = 24 * 60 * 60 * 1000

// Day returns the rollup's day of an instant: whole UTC days since the
// epoch.
func Day(t time.Time) int64 { return floorDiv(ms(t), dayMS) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// The three times the metrics measure, in this order everywhere.
const (
	TimeWaiting = iota
	TimeFirstResponse
	TimeHandling
	numTimes
)

// TicketFigures are one ticket's contribution to the metrics: it counts
// as opened, and maybe answered, closed, abandoned and from an active
// message; each of the three times is -1 when it does not apply.
type TicketFigures struct {
	Answered, Closed, Abandoned, FromActive bool
	Times                                   [numTimes]int64 // milliseconds, -1: none
}

// Figures returns the ticket's contribution: waiting is an inbound
// ticket's time until an agent took it; first response the time from
// opening to the agent's first answer; handling from the agent taking it
// (its opening when never assigned) to its close.
func (r *TicketRow) Figures() TicketFigures {
	f := TicketFigures{Times: [numTimes]int64{-1, -1, -1}}
	f.Closed = r.State == domain.TicketClosed
	f.Abandoned = r.State == domain.TicketAbandoned
	if r.Origin == domain.TicketFromActiveMessage {
		f.FromActive = true
	} else if r.AssignedAt > 0 {
		f.Times[TimeWaiting] = r.AssignedAt - r.OpenedAt
	}
	if r.FirstResponseAt > 0 {
		f.Answered = true
		f.Times[TimeFirstResponse] = r.FirstResponseAt - r.OpenedAt
	}
	if f.Closed && r.ClosedAt > 0 {
		start := r.OpenedAt
		if r.AssignedAt > 0 {
			start = r.AssignedAt
		}
		f.Times[TimeHandling] = r.ClosedAt - start
	}
	return f
}

// DeskCell is a rollup row's figures: counts, and per time the number of
// durations, their sum in milliseconds and their histogram. A row keeps
// it encoded in one column (encode), so that reading a row costs one.
type DeskCell struct {
	Opened, Answered, Closed, Abandoned, FromActive int64
	N, SumMS                                        [numTimes]int64
	Hist                                            [numTimes][]byte // encoded (hist.Sparse)
}

// DeskRollupRow is one row of the rollup as the metrics read it: Tag is
// "" in the rows by agent, AgentID 0 in the rows by tag. Its histograms
// are valid only until fn returns.
type DeskRollupRow struct {
	TeamID, AgentID int64
	Tag             string
	DeskCell
}

// deskKey names a rollup row.
type deskKey struct {
	sub, span, day, team, agent int64
	tag                         string
	tagged                      bool
}

func (k deskKey) compare(o deskKey) int {
	switch {
	case k.tagged != o.tagged:
		if k.tagged {
			return 1
		}
		return -1
	case k.sub != o.sub:
		return cmpInt(k.sub, o.sub)
	case k.span != o.span:
		return cmpInt(k.span, o.span)
	case k.day != o.day:
		return cmpInt(k.day, o.day)
	case k.team != o.team:
		return cmpInt(k.team, o.team)
	case k.agent != o.agent:
		return cmpInt(k.agent, o.agent)
	}
	return strings.Compare(k.tag, o.tag)
}

func cmpInt(a, b int64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// deskMove is the change one or more ticket writes make to a rollup row.
type deskMove struct {
	counts [5]int64 // opened, answered, closed, abandoned, from active
	n, sum [numTimes]int64
	hist   [numTimes]map[int]int64
}

func (m *deskMove) zero() bool {
	if m.counts != [5]int64{} || m.n != [numTimes]int64{} || m.sum != [numTimes]int64{} {
		return false
	}
	for _, h := range m.hist {
		for _, c := range h {
			if c != 0 {
				return false
			}
		}
	}
	return true
}

// deskSpans are the rollup's rows' lengths in days: a day and a week.
var deskSpans = []int64{1, 7}

// deskDelta gathers the rollup's changes of a transaction, applied at its
// end in key order (so that two transactions on PostgreSQL lock rows in
// the same order).
type deskDelta map[deskKey]*deskMove

func (d deskDelta) at(k deskKey) *deskMove {
	m := d[k]
	if m == nil {
		m = &deskMove{}
		d[k] = m
	}
	return m
}

// add adds a ticket's contribution (sign 1) or takes it out (-1).
func (d deskDelta) add(r *TicketRow, sign int64) {
	f := r.Figures()
	day := floorDiv(r.OpenedAt, dayMS)
	var keys []deskKey
	for _, span := range deskSpans {
		first := floorDiv(day, span) * span
		keys = append(keys, deskKey{sub: r.SubaccountID, span: span, day: first, team: r.TeamID, agent: r.AgentID})
		if r.Tags != "" {
			for _, tag := range strings.Split(r.Tags, ",") {
				keys = append(keys, deskKey{sub: r.SubaccountID, span: span, day: first, team: r.TeamID, tag: tag, tagged: true})
			}
		}
	}
	b := func(v bool) int64 {
		if v {
			return sign
		}
		return 0
	}
	for _, k := range keys {
		m := d.at(k)
		m.counts[0] += sign
		m.counts[1] += b(f.Answered)
		m.counts[2] += b(f.Closed)
		m.counts[3] += b(f.Abandoned)
		m.counts[4] += b(f.FromActive)
		for i, v := range f.Times {
			if v < 0 {
				continue
			}
			m.n[i] += sign
			m.sum[i] += sign * v
			if m.hist[i] == nil {
				m.hist[i] = map[int]int64{}
			}
			m.hist[i][hist.Bucket(v)] += sign
		}
	}
}

const ticketRowColumns = `subaccount_id, COALESCE(team_id, 0), COALESCE(agent_id, 0), state, origin, opened_at,
	COALESCE(assigned_at, 0), COALESCE(first_response_at, 0), COALESCE(closed_at, 0), tags`

func scanTicketRow(row interface{ Scan(...any) error }, r *TicketRow) error {
	var state string
	if err := row.Scan(&r.SubaccountID, &r.TeamID, &r.AgentID, &state, &r.Origin, &r.OpenedAt, &r.AssignedAt,
		&r.FirstResponseAt, &r.ClosedAt, &r.Tags); err != nil {
		return err
	}
	r.State = domain.TicketState(state)
	return nil
}

// track adds ticket id's current contribution to d with sign: -1 before a
// write (locking the ticket's row on PostgreSQL, so nobody changes it
// between this read and the write), 1 after. A ticket that is not there
// adds nothing.
func (s *Store) track(ctx context.Context, tx *sql.Tx, d deskDelta, id int64, sign int64) error {
	var r TicketRow
	err := scanTicketRow(tx.QueryRowContext(ctx, `SELECT `+ticketRowColumns+` FROM desk_tickets WHERE id = $1`+s.sqlDialect.lockRow(), id), &r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ticket %d figures: %w", id, err)
	}
	d.add(&r, sign)
	return nil
}

// applyDesk writes d's changes into the rollup.
func (s *Store) applyDesk(ctx context.Context, tx *sql.Tx, d deskDelta) error {
	keys := make([]deskKey, 0, len(d))
	for k, m := range d {
		if !m.zero() {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, deskKey.compare)
	for _, k := range keys {
		if err := s.applyDeskRow(ctx, tx, k, d[k]); err != nil {
			return fmt.Errorf("desk metrics rollup: %w", err)
		}
	}
	return nil
}

// encode appends c to dst: the five counts, each time's number and sum,
// as varints, then each time's histogram with its length before it.
func (c *DeskCell) encode(dst []byte) []byte {
	for _, v := range []int64{c.Opened, c.Answered, c.Closed, c.Abandoned, c.FromActive} {
		dst = binary.AppendVarint(dst, v)
	}
	for i := range c.N {
		dst = binary.AppendVarint(dst, c.N[i])
		dst = binary.AppendVarint(dst, c.SumMS[i])
	}
	for _, h := range c.Hist {
		dst = binary.AppendUvarint(dst, uint64(len(h)))
		dst = append(dst, h...)
	}
	return dst
}

var errDeskCell = errors.New("desk metrics rollup: figures that do not decode")

// decode reads an encoded cell; its histograms are slices of b. Empty b
// is an empty cell.
func (c *DeskCell) decode(b []byte) error {
	*c = DeskCell{}
	if len(b) == 0 {
		return nil
	}
	next := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	for _, p := range []*int64{&c.Opened, &c.Answered, &c.Closed, &c.Abandoned, &c.FromActive} {
		*p = next()
	}
	for i := range c.N {
		c.N[i], c.SumMS[i] = next(), next()
	}
	for i := range c.Hist {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return errDeskCell
		}
		c.Hist[i], b = b[n:n+int(l)], b[n+int(l):]
	}
	if len(b) != 0 {
		return errDeskCell
	}
	return nil
}

func (s *Store) applyDeskRow(ctx context.Context, tx *sql.Tx, k deskKey, m *deskMove) error {
	table, last, lastV := "desk_metrics", "agent_id", any(k.agent)
	if k.tagged {
		table, last, lastV = "desk_metrics_tags", "tag", any(k.tag)
	}
	where := ` WHERE subaccount_id = $2 AND span = $3 AND day = $4 AND team_id = $5 AND ` + last + ` = $6`
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (subaccount_id, span, day, team_id, `+last+`, figures)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, k.sub, k.span, k.day, k.team, lastV, []byte{}); err != nil {
		return err
	}
	var b []byte
	if err := tx.QueryRowContext(ctx, `SELECT figures FROM `+table+` WHERE subaccount_id = $1 AND span = $2 AND day = $3
		AND team_id = $4 AND `+last+` = $5`+s.sqlDialect.lockRow(), k.sub, k.span, k.day, k.team, lastV).Scan(&b); err != nil {
		return err
	}
	var c DeskCell
	if err := c.decode(b); err != nil {
		return err
	}
	c.Opened += m.counts[0]
	c.Answered += m.counts[1]
	c.Closed += m.counts[2]
	c.Abandoned += m.counts[3]
	c.FromActive += m.counts[4]
	for i := range c.Hist {
		c.N[i] += m.n[i]
		c.SumMS[i] += m.sum[i]
		if len(m.hist[i]) == 0 {
			continue
		}
		h, ok := hist.Decode(c.Hist[i])
		if !ok {
			return errDeskCell
		}
		for b, n := range m.hist[i] {
			h = h.Add(b, n)
		}
		c.Hist[i] = h.Encode(nil)
	}
	_, err := tx.ExecContext(ctx, `UPDATE `+table+` SET figures = $1`+where, c.encode(nil), k.sub, k.span, k.day, k.team, lastV)
	return err
}

const deskRebuildKey = "desk.metrics.rebuild"

// rebuildDeskMetricsIfAsked fills the rollup when a migration asked for
// it (a database with tickets from before the rollup).
func (s *Store) rebuildDeskMetricsIfAsked(ctx context.Context) error {
	var v string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = $1`, deskRebuildKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("desk metrics rebuild: %w", err)
	}
	return s.RebuildDeskMetrics(ctx)
}

// RebuildDeskMetrics empties the rollup and fills it from the tickets, in
// one transaction (the benchmark loads its tickets behind the store's back,
// then calls it). On PostgreSQL it locks the tickets against writes and
// against another rebuild (a lock mode that conflicts with itself), so
// two servers starting at once do not count the tickets twice.
func (s *Store) RebuildDeskMetrics(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `LOCK TABLE desk_tickets IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		for _, q := range []string{`DELETE FROM desk_metrics`, `DELETE FROM desk_metrics_tags`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("desk metrics rebuild: %w", err)
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+ticketRowColumns+` FROM desk_tickets`)
		if err != nil {
			return fmt.Errorf("desk metrics rebuild: %w", err)
		}
		d := deskDelta{}
		var r TicketRow
		for rows.Next() {
			if err := scanTicketRow(rows, &r); err != nil {
				rows.Close()
				return err
			}
			d.add(&r, 1)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := s.applyDesk(ctx, tx, d); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM kv WHERE key = $1`, deskRebuildKey)
		return err
	})
}

// DeskRollup calls fn for every row of the rollup of the subaccounts (all
// when nil) for the days from fromDay to toDay (excluded), optionally of
// one team or agent: the rows by agent, then (unless an agent is asked for:
// the rows by tag have no agent) the rows by tag.
func (s *Store) DeskRollup(ctx context.Context, subaccounts []int64, fromDay, toDay, team, agent int64, fn func(*DeskRollupRow)) error {
	if err := s.DeskRollupRows(ctx, false, subaccounts, fromDay, toDay, team, agent, fn); err != nil || agent != 0 {
		return err
	}
	return s.DeskRollupRows(ctx, true, subaccounts, fromDay, toDay, team, 0, fn)
}

// DeskRollupRows is DeskRollup for the rows by agent or (byTag, no agent)
// by tag alone: the whole weeks from the weeks' rows, the other days from
// the days'. Several may run at once.
func (s *Store) DeskRollupRows(ctx context.Context, byTag bool, subaccounts []int64, fromDay, toDay, team, agent int64, fn func(*DeskRollupRow)) error {
	if subaccounts != nil && len(subaccounts) == 0 {
		return nil
	}
	table, last := "desk_metrics", "agent_id"
	if byTag {
		table, last = "desk_metrics_tags", "tag"
	}
	type part struct{ span, from, to int64 }
	parts := []part{{1, fromDay, toDay}}
	if w0, w1 := floorDiv(fromDay+6, 7)*7, floorDiv(toDay, 7)*7; w0 < w1 {
		parts = []part{{1, fromDay, w0}, {7, w0, w1}, {1, w1, toDay}}
	}
	var r DeskRollupRow
	var lastV any = &r.AgentID
	if byTag {
		lastV = &r.Tag
	}
	var b sql.RawBytes
	for _, p := range parts {
		if p.from >= p.to {
			continue
		}
		w := &whereBuilder{}
		if subaccounts != nil {
			w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
		}
		w.add(`span = ` + w.arg(p.span))
		w.add(`day >= ` + w.arg(p.from))
		w.add(`day < ` + w.arg(p.to))
		if team != 0 {
			w.add(`team_id = ` + w.arg(team))
		}
		if agent != 0 && !byTag {
			w.add(`agent_id = ` + w.arg(agent))
		}
		rows, err := s.readQuery(ctx, `SELECT team_id, `+last+`, figures FROM `+table+w.sql(), w.args...)
		if err != nil {
			return fmt.Errorf("desk metrics rollup: %w", err)
		}
		for rows.Next() {
			if err := rows.Scan(&r.TeamID, lastV, &b); err != nil {
				rows.Close()
				return err
			}
			if err := r.DeskCell.decode(b); err != nil {
				rows.Close()
				return err
			}
			fn(&r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// ActiveMessagesSentDays counts the messages sent from the desk on the
// days from fromDay to toDay (excluded), from the daily counts.
func (s *Store) ActiveMessagesSentDays(ctx context.Context, subaccounts []int64, fromDay, toDay, agent int64) (int64, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return 0, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	w.add(`day >= ` + w.arg(fromDay))
	w.add(`day < ` + w.arg(toDay))
	if agent != 0 {
		w.add(`agent_id = ` + w.arg(agent))
	}
	var n int64
	err := s.readQueryRow(ctx, `SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM desk_active_sent_daily`+w.sql(), w.args...).Scan(&n)
	return n, err
}
