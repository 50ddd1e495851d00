package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// The message rollup (migration 00003): message counts per subaccount,
// direction, UTC hour and every report filter a count can be kept for,
// kept exact by triggers on messages, so that every write path (webhooks,
// sends, the expirer, merges, channel claims) stays counted without code of
// its own. On PostgreSQL the triggers append changes to
// message_rollup_delta, folded into message_rollup from time to time;
// readers sum both.

// rollupKey lists message_rollup's key columns, in its primary key's
// order; attributedKey those of message_rollup_attributed.
const (
	rollupKey     = `subaccount_id, direction, hour, status, content_type, with_session, conversation_type, accepted`
	attributedKey = rollupKey + `, campaign_id, sender_user_id`
)

// rollupFrom is a rollup table as readers see it: message_rollup, or
// message_rollup_attributed for totals by campaign or user. On SQLite,
// index names the index to read it through ("" for the primary key).
func (s *Store) rollupFrom(attributed bool, index string) string {
	if s.dialect == Postgres {
		if attributed {
			return `(SELECT ` + attributedKey + `, n FROM message_rollup_attributed UNION ALL
				SELECT ` + attributedKey + `, n FROM message_rollup_delta WHERE campaign_id <> 0 OR sender_user_id <> 0) r`
		}
		return `(SELECT ` + rollupKey + `, n FROM message_rollup UNION ALL
			SELECT ` + rollupKey + `, n FROM message_rollup_delta) r`
	}
	from := `message_rollup r`
	if attributed {
		from = `message_rollup_attributed r`
	}
	if index != "" {
		from += ` INDEXED BY ` + index
	}
	return from
}

// rollup is the rollup table that counts q: by campaign through the
// attributed table's primary key, by user through its user index.
func (s *Store) rollup(q *reportQuery) string {
	switch {
	case q.f.Campaign != 0:
		return s.rollupFrom(true, "")
	case q.f.User != 0:
		return s.rollupFrom(true, "message_rollup_user")
	}
	return s.rollupFrom(false, "")
}

// rollupCount is what the rollup says of one subaccount for a report.
type rollupCount struct {
	subaccount int64
	all        int64   // rows of the direction in the hours enclosing the range
	match      int64   // of which match every filter
	inner      int64   // matching rows in the whole hours inside the range
	dims       []int64 // rows matching each filter of q.dims() alone, enclosing hours
}

// rollupCounts reads, per subaccount of q's scope with rows of its
// direction in the range, the counts a total and a page plan need: one scan
// of message_rollup over the range, and for a campaign or user filter a
// seek into the attributed rollup.
func (s *Store) rollupCounts(ctx context.Context, db queryer, q *reportQuery) ([]rollupCount, error) {
	dims := q.dims()
	attributed := q.f.Campaign != 0 || q.f.User != 0
	lo, hi, _ := q.hours()
	elo, ehi := q.enclosing()
	// sums selects SUM(n), then the rows matching the filters main
	// rollup counts (all of them unless attributed), in the enclosing and
	// in the whole hours, then each filter alone.
	where := func(w *whereBuilder) {
		q.scopeConds(w, ``)
		w.add(`direction = ?`, string(q.dir))
		w.add(`hour >= ?`, elo)
		if ehi != math.MaxInt64 {
			w.add(`hour < ?`, ehi)
		}
	}
	read := func(from string, w *whereBuilder, withDims bool) (map[int64]*rollupCount, []int64, error) {
		match := &whereBuilder{}
		for _, d := range dims {
			if !d.attributed || attributed && !withDims {
				match.add(strings.ReplaceAll(d.cond, `{p}`, ``), d.args...)
			}
		}
		var sel strings.Builder
		var args []any
		sel.WriteString(`SELECT subaccount_id, CAST(SUM(n) AS BIGINT), CAST(SUM(CASE WHEN ` + match.and() + ` THEN n ELSE 0 END) AS BIGINT)`)
		args = append(args, match.args...)
		sel.WriteString(`, CAST(SUM(CASE WHEN hour >= ? AND hour < ? AND ` + match.and() + ` THEN n ELSE 0 END) AS BIGINT)`)
		args = append(args, lo, hi)
		args = append(args, match.args...)
		if withDims {
			for _, d := range dims {
				if d.attributed {
					continue
				}
				sel.WriteString(`, CAST(SUM(CASE WHEN ` + strings.ReplaceAll(d.cond, `{p}`, ``) + ` THEN n ELSE 0 END) AS BIGINT)`)
				args = append(args, d.args...)
			}
		}
		args = append(args, w.args...)
		rows, err := db.QueryContext(ctx, s.q(sel.String()+` FROM `+from+w.sql()+` GROUP BY subaccount_id`), args...)
		if err != nil {
			return nil, nil, fmt.Errorf("rollup counts: %w", err)
		}
		defer rows.Close()
		out := map[int64]*rollupCount{}
		var order []int64
		for rows.Next() {
			c := &rollupCount{dims: make([]int64, len(dims))}
			dest := []any{&c.subaccount, &c.all, &c.match, &c.inner}
			if withDims {
				for i, d := range dims {
					if !d.attributed {
						dest = append(dest, &c.dims[i])
					}
				}
			}
			if err := rows.Scan(dest...); err != nil {
				return nil, nil, fmt.Errorf("rollup counts: %w", err)
			}
			out[c.subaccount] = c
			order = append(order, c.subaccount)
		}
		slices.Sort(order)
		return out, order, rows.Err()
	}
	w := &whereBuilder{}
	where(w)
	counts, order, err := read(s.rollupFrom(false, ""), w, true)
	if err != nil || !attributed {
		return flatten(counts, order), err
	}
	// The campaign (or else the user) filter seeks; the other filters count
	// in the sums. The seek's SUM(n) is that filter's count alone.
	w = &whereBuilder{}
	where(w)
	lead := `campaign_id = ?`
	var leadArg any = q.f.Campaign
	if q.f.Campaign == 0 {
		lead, leadArg = `sender_user_id = ?`, q.f.User
	}
	w.add(lead, leadArg)
	seek, _, err := read(s.rollup(q), w, false)
	if err != nil {
		return nil, err
	}
	for sa, c := range counts {
		a := seek[sa]
		if a == nil {
			a = &rollupCount{}
		}
		c.match, c.inner = a.match, a.inner
		for i, d := range dims {
			switch {
			case d.index == "messages_campaign" || (d.attributed && q.f.Campaign == 0):
				c.dims[i] = a.all
			case d.attributed:
				c.dims[i] = math.MaxInt64 / 1024 // by user within a campaign: not worth an estimate
			}
		}
	}
	return flatten(counts, order), nil
}

func flatten(m map[int64]*rollupCount, order []int64) []rollupCount {
	out := make([]rollupCount, 0, len(order))
	for _, sa := range order {
		if c := m[sa]; c.all > 0 {
			out = append(out, *c)
		}
	}
	return out
}

// RebuildRollup recomputes the rollup from the messages, exactly. Writers
// wait until it is done. The triggers keep the rollup exact by themselves;
// this is for bulk loads that ran with them off, and for repairs.
func (s *Store) RebuildRollup(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `LOCK TABLE messages IN SHARE MODE`); err != nil {
				return fmt.Errorf("rebuild rollup: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM message_rollup_delta`); err != nil {
				return fmt.Errorf("rebuild rollup: %w", err)
			}
		}
		for _, stmt := range []string{`DELETE FROM message_rollup`, `DELETE FROM message_rollup_attributed`,
			`INSERT INTO message_rollup (` + rollupKey + `, n)
			SELECT subaccount_id, direction, at / 3600000, status, content_type, with_session, conversation_type,
				wamid IS NOT NULL, COUNT(*)
			FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
			`INSERT INTO message_rollup_attributed (` + attributedKey + `, n)
			SELECT subaccount_id, direction, at / 3600000, status, content_type, with_session, conversation_type,
				wamid IS NOT NULL, COALESCE(campaign_id, 0), COALESCE(sender_user_id, 0), COUNT(*)
			FROM messages WHERE campaign_id IS NOT NULL OR sender_user_id IS NOT NULL
			GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10`} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("rebuild rollup: %w", err)
			}
		}
		return nil
	})
}

// FoldRollup moves the rollup changes PostgreSQL's triggers have appended
// into the rollup proper (the triggers also do it every few hundred
// statements). Readers see the same counts before and after; folding only
// makes them cheaper to read. A no-op on SQLite.
func (s *Store) FoldRollup(ctx context.Context) error {
	if s.dialect != Postgres {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7311470155206528001)`); err != nil {
			return fmt.Errorf("fold rollup: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `SELECT message_rollup_fold()`); err != nil {
			return fmt.Errorf("fold rollup: %w", err)
		}
		return nil
	})
}

// timeCell counts the messages of one status in one time bucket.
type timeCell struct {
	start    int64 // bucket start, unix ms
	status   string
	accepted bool
	n        int64
}

// summaryParts are the counts a summary is added up from.
type summaryParts struct {
	times     []timeCell
	contents  map[string]int64
	campaigns map[int64]map[string]int64 // campaign → status → count
}

func newSummaryParts() *summaryParts {
	return &summaryParts{contents: map[string]int64{}, campaigns: map[int64]map[string]int64{}}
}

func (p *summaryParts) addCampaign(campaign int64, status string, n int64) {
	if p.campaigns[campaign] == nil {
		p.campaigns[campaign] = map[string]int64{}
	}
	p.campaigns[campaign][status] += n
}

// ReportSummary returns the consolidated view of the messages matching f
// (its limit and cursor ignored), with days in loc. It sums the rollup
// when every filter is one it counts and loc's offsets are whole hours,
// and groups the matching messages otherwise.
func (s *Store) ReportSummary(ctx context.Context, f *domain.MessageFilter, loc *time.Location) (*domain.MessageSummary, error) {
	if loc == nil {
		loc = time.UTC
	}
	q := newReportQuery(f)
	sum := &domain.MessageSummary{ByStatus: map[domain.Status]int64{}, ByContentType: map[string]int64{},
		ByDay: []domain.DayCount{}, ByCampaign: []domain.CampaignCount{}}
	if q.empty() {
		return sum, nil
	}
	var parts *summaryParts
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if !q.pinpoint {
			parts, err = s.rollupSummary(ctx, tx, q)
			if err != nil {
				return err
			}
			if wholeHours(parts.times, loc) {
				return nil
			}
		}
		parts = newSummaryParts()
		return s.exactSummary(ctx, tx, q, q.from, q.to, quarterMS, parts)
	})
	if err != nil {
		return nil, err
	}
	summarize(sum, q, parts, loc)
	return sum, nil
}

// wholeHours reports whether every bucket of cells starts on a whole hour
// in loc, so that each falls in a single local day.
func wholeHours(cells []timeCell, loc *time.Location) bool {
	for _, c := range cells {
		if _, off := time.UnixMilli(c.start).In(loc).Zone(); off%3600 != 0 {
			return false
		}
	}
	return true
}

// rollupSummary reads q's counts from the rollup for its whole hours and
// exactly for its partial edges.
func (s *Store) rollupSummary(ctx context.Context, db queryer, q *reportQuery) (*summaryParts, error) {
	p := newSummaryParts()
	lo, hi, edges := q.hours()
	w := &whereBuilder{}
	q.scopeConds(w, ``)
	w.add(`direction = ?`, string(q.dir))
	w.add(`hour >= ?`, lo)
	w.add(`hour < ?`, hi)
	q.dimConds(w, ``)
	read := func(what, query string, args []any, scan func(rows *sql.Rows) error) error {
		rows, err := db.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return fmt.Errorf("summary %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("summary %s: %w", what, err)
			}
		}
		return rows.Err()
	}
	err := read("by hour", `SELECT hour, status, accepted, CAST(SUM(n) AS BIGINT) FROM `+s.rollup(q)+w.sql()+
		` GROUP BY hour, status, accepted`, w.args, func(rows *sql.Rows) error {
		var c timeCell
		if err := rows.Scan(&c.start, &c.status, &c.accepted, &c.n); err != nil {
			return err
		}
		if c.n != 0 {
			c.start *= hourMS
			p.times = append(p.times, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = read("by content type", `SELECT content_type, CAST(SUM(n) AS BIGINT) FROM `+s.rollup(q)+w.sql()+
		` GROUP BY content_type`, w.args, func(rows *sql.Rows) error {
		var ct string
		var n int64
		if err := rows.Scan(&ct, &n); err != nil {
			return err
		}
		if n != 0 {
			p.contents[ct] += n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Campaigns are in the attributed rollup only.
	cw := &whereBuilder{conds: slices.Clone(w.conds), args: slices.Clone(w.args)}
	cw.add(`campaign_id <> 0`)
	from := s.rollupFrom(true, "")
	if q.f.Campaign != 0 {
		from = s.rollup(q)
	}
	err = read("by campaign", `SELECT campaign_id, status, CAST(SUM(n) AS BIGINT) FROM `+from+cw.sql()+
		` GROUP BY campaign_id, status`, cw.args, func(rows *sql.Rows) error {
		var campaign, n int64
		var status string
		if err := rows.Scan(&campaign, &status, &n); err != nil {
			return err
		}
		if n != 0 {
			p.addCampaign(campaign, status, n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, e := range edges {
		if err := s.exactSummary(ctx, db, q, e[0], e[1], hourMS, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// quarterMS is the bucket of exact summaries: every time zone's offset is
// a multiple of a quarter hour.
const quarterMS = 900_000

// exactSummary adds the messages of q in [lo, hi) to p, grouped by buckets
// of the given length in milliseconds.
func (s *Store) exactSummary(ctx context.Context, db queryer, q *reportQuery, lo, hi, bucket int64, p *summaryParts) error {
	w := &whereBuilder{}
	q.where(w, lo, hi)
	rows, err := db.QueryContext(ctx, s.q(`SELECT m.at / `+strconv.FormatInt(bucket, 10)+`, m.status, m.content_type,
		COALESCE(m.campaign_id, 0), m.wamid IS NOT NULL, COUNT(*) FROM messages m`+w.sql()+` GROUP BY 1, 2, 3, 4, 5`), w.args...)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c timeCell
		var ct string
		var campaign int64
		if err := rows.Scan(&c.start, &c.status, &ct, &campaign, &c.accepted, &c.n); err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		c.start *= bucket
		p.times = append(p.times, c)
		p.contents[ct] += c.n
		if campaign != 0 {
			p.addCampaign(campaign, c.status, c.n)
		}
	}
	return rows.Err()
}

// summarize adds the parts up into sum, with days in loc.
func summarize(sum *domain.MessageSummary, q *reportQuery, p *summaryParts, loc *time.Location) {
	days := map[string]*domain.DayCount{}
	dayOf := map[int64]string{}
	for _, c := range p.times {
		st := domain.Status(c.status)
		sum.Total += c.n
		sum.ByStatus[st] += c.n
		if c.accepted && q.dir == domain.DirectionMT {
			sum.Accepted += c.n
		}
		day, ok := dayOf[c.start]
		if !ok {
			day = time.UnixMilli(c.start).In(loc).Format(time.DateOnly)
			dayOf[c.start] = day
		}
		d := days[day]
		if d == nil {
			d = &domain.DayCount{Day: day}
			days[day] = d
		}
		countInto(&d.Total, &d.Delivered, &d.Read, &d.Failed, st, c.n)
	}
	for ct, n := range p.contents {
		sum.ByContentType[ct] = n
	}
	// Every day of a bounded range is listed, with zeros where nothing
	// happened, so a chart of it has no gaps.
	if len(days) > 0 && q.from > 0 && q.to != math.MaxInt64 {
		first := time.UnixMilli(q.from).In(loc)
		last := time.UnixMilli(q.to - 1).In(loc).Format(time.DateOnly)
		d := time.Date(first.Year(), first.Month(), first.Day(), 12, 0, 0, 0, loc)
		for i := 0; i < 5*366 && d.Format(time.DateOnly) <= last; i++ {
			if day := d.Format(time.DateOnly); days[day] == nil {
				days[day] = &domain.DayCount{Day: day}
			}
			d = d.AddDate(0, 0, 1)
		}
	}
	for _, d := range days {
		sum.ByDay = append(sum.ByDay, *d)
	}
	slices.SortFunc(sum.ByDay, func(a, b domain.DayCount) int { return strings.Compare(a.Day, b.Day) })
	for id, statuses := range p.campaigns {
		k := domain.CampaignCount{CampaignID: id}
		for st, n := range statuses {
			countInto(&k.Total, &k.Delivered, &k.Read, &k.Failed, domain.Status(st), n)
		}
		if k.Total != 0 {
			sum.ByCampaign = append(sum.ByCampaign, k)
		}
	}
	slices.SortFunc(sum.ByCampaign, func(a, b domain.CampaignCount) int { // most messages first
		if a.Total != b.Total {
			return cmp.Compare(b.Total, a.Total)
		}
		return cmp.Compare(a.CampaignID, b.CampaignID)
	})
	reached := sum.ByStatus[domain.StatusDelivered] + sum.ByStatus[domain.StatusRead]
	if sum.Accepted > 0 {
		sum.DeliveryRate = float64(reached) / float64(sum.Accepted)
	}
	if reached > 0 {
		sum.ReadRate = float64(sum.ByStatus[domain.StatusRead]) / float64(reached)
	}
}

func countInto(total, delivered, read, failed *int64, st domain.Status, n int64) {
	*total += n
	switch {
	case st == domain.StatusRead:
		*read += n
		*delivered += n
	case st == domain.StatusDelivered:
		*delivered += n
	case st.IsFailure():
		*failed += n
	}
}

// CheckRollup compares the rollup with a fresh count of the messages and
// returns an error listing the keys where they differ (nil when they all
// agree). It reads every message: for tests and repairs, not for requests.
func (s *Store) CheckRollup(ctx context.Context) error {
	counts := map[string]int64{}
	read := func(query string, sign int64, attributed bool) error {
		rows, err := s.r.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("check rollup: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var sa, hour, campaign, user, n int64
			var dir, status, ctype, convType string
			var session, accepted bool
			dest := []any{&sa, &dir, &hour, &status, &ctype, &session, &convType, &accepted}
			if attributed {
				dest = append(dest, &campaign, &user)
			}
			if err := rows.Scan(append(dest, &n)...); err != nil {
				return fmt.Errorf("check rollup: %w", err)
			}
			k := fmt.Sprintf("sa=%d dir=%s hour=%d status=%s content=%s session=%v conv=%q accepted=%v",
				sa, dir, hour, status, ctype, session, convType, accepted)
			if attributed {
				k = fmt.Sprintf("attributed %s campaign=%d user=%d", k, campaign, user)
			}
			counts[k] += sign * n
		}
		return rows.Err()
	}
	for _, step := range []struct {
		query      string
		sign       int64
		attributed bool
	}{
		{`SELECT ` + rollupKey + `, CAST(SUM(n) AS BIGINT) FROM ` + s.rollupFrom(false, "") + ` GROUP BY ` + rollupKey, 1, false},
		{`SELECT subaccount_id, direction, at / 3600000, status, content_type, with_session, conversation_type,
			wamid IS NOT NULL, COUNT(*) FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`, -1, false},
		{`SELECT ` + attributedKey + `, CAST(SUM(n) AS BIGINT) FROM ` + s.rollupFrom(true, "") + ` GROUP BY ` + attributedKey, 1, true},
		{`SELECT subaccount_id, direction, at / 3600000, status, content_type, with_session, conversation_type,
			wamid IS NOT NULL, COALESCE(campaign_id, 0), COALESCE(sender_user_id, 0), COUNT(*) FROM messages
			WHERE campaign_id IS NOT NULL OR sender_user_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10`, -1, true},
	} {
		if err := read(step.query, step.sign, step.attributed); err != nil {
			return err
		}
	}
	var diff []string
	for k, n := range counts {
		if n != 0 {
			diff = append(diff, fmt.Sprintf("%s: rollup %+d", k, n))
		}
	}
	if len(diff) == 0 {
		return nil
	}
	slices.Sort(diff)
	return fmt.Errorf("rollup differs from the messages at %d keys: %s", len(diff), strings.Join(diff, "; "))
}
