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
// direction, UTC hour, status, content type, session and conversation type
// (message_rollup), and the same with campaign and sending user for the
// messages that have either (message_rollup_attributed). Triggers on
// messages keep them exact, so every write path (webhooks, sends, the
// expirer, merges, channel claims) stays counted without code of its own —
// with one exception on SQLite, the hot one: the apply of status webhooks
// sums its rows' moves between keys per batch and writes each key once
// (applier.writeRollup), marking its updates with rollup_gen so the update
// triggers skip them (migration 00005). On PostgreSQL the triggers append
// changes to message_rollup_delta, folded into the tables from time to
// time; readers sum both.

// The rollup's three tables, from coarse to fine, and their key columns.
type rollupLevel int

const (
	levelStatus     rollupLevel = iota // message_rollup_status
	levelMain                          // message_rollup
	levelAttributed                    // message_rollup_attributed
)

var rollupTables = [...]struct{ name, key string }{
	levelStatus: {"message_rollup_status", `subaccount_id, direction, hour, status, accepted`},
	levelMain: {"message_rollup",
		`subaccount_id, direction, hour, status, accepted, content_type, with_session, conversation_type`},
	levelAttributed: {"message_rollup_attributed",
		`subaccount_id, direction, hour, status, accepted, content_type, with_session, conversation_type, campaign_id, sender_user_id`},
}

// level is the coarsest rollup table that counts every filter of q.
func (q *reportQuery) level() rollupLevel {
	switch {
	case q.f.Campaign != 0 || q.f.User != 0:
		return levelAttributed
	case q.f.ContentType != "" || q.f.Session != nil || q.f.ConversationType != "":
		return levelMain
	}
	return levelStatus
}

// rollupFrom is a rollup table as readers see it. On SQLite, index names
// the index to read it through ("" for the primary key).
func (s *Store) rollupFrom(l rollupLevel, index string) string {
	t := rollupTables[l]
	if s.dialect == Postgres {
		where := ``
		if l == levelAttributed {
			where = ` WHERE campaign_id <> 0 OR sender_user_id <> 0`
		}
		return `(SELECT ` + t.key + `, n FROM ` + t.name + ` UNION ALL SELECT ` + t.key + `, n FROM message_rollup_delta` + where + `) r`
	}
	if index != "" {
		return t.name + ` r INDEXED BY ` + index
	}
	return t.name + ` r`
}

// rollup is the rollup table that counts q: by campaign through the
// attributed table's primary key, by user through its user index.
func (s *Store) rollup(q *reportQuery) string {
	if q.level() == levelAttributed && q.f.Campaign == 0 {
		return s.rollupFrom(levelAttributed, "message_rollup_user")
	}
	return s.rollupFrom(q.level(), "")
}

// acceptedExpr is the rollup's accepted column: false for a message ticks
// refused before sending, which fails with no Meta error code. Not "has a
// wamid", so that recording a send's wamid changes no count.
const acceptedExpr = `(state <> 'failed' OR error_code <> 0)`

// rollupCount is what the rollup says of one subaccount for a report.
type rollupCount struct {
	subaccount int64
	all        int64   // rows of the direction in the hours enclosing the range
	match      int64   // of which match every filter
	inner      int64   // matching rows in the whole hours inside the range
	dims       []int64 // rows matching each filter of q.dims() alone, enclosing hours
}

// unestimated stands for a count the planner does without: the index it
// would price is not chosen.
const unestimated = math.MaxInt64 / 1024

// rollupCounts reads, per subaccount of q's scope with rows of its
// direction in the range, the counts a total and a page plan need: a scan
// of the status rollup over the hours that enclose the range, a scan of
// message_rollup when q filters by content type, session or conversation
// type, a seek into the attributed rollup when by campaign or user, and a
// look at the edge hours, whose matches are counted exactly instead.
func (s *Store) rollupCounts(ctx context.Context, db queryer, q *reportQuery) ([]rollupCount, error) {
	dims := q.dims()
	level := q.level()
	elo, ehi := q.enclosing()
	rangeConds := func(w *whereBuilder) {
		q.scopeConds(w, ``)
		w.add(`direction = ?`, string(q.dir))
		w.add(`hour >= ?`, elo)
		if ehi != math.MaxInt64 {
			w.add(`hour < ?`, ehi)
		}
	}
	cond := func(i int) *whereBuilder {
		e := &whereBuilder{}
		e.add(strings.ReplaceAll(dims[i].cond, `{p}`, ``), dims[i].args...)
		return e
	}
	matchAll := &whereBuilder{}
	for i := range dims {
		matchAll.add(cond(i).conds[0], cond(i).args...)
	}
	// sums runs SELECT subaccount_id, SUM(n), and SUM(n) of the rows each
	// of exprs holds for, grouped by subaccount.
	sums := func(table string, w *whereBuilder, exprs []*whereBuilder) (map[int64][]int64, []int64, error) {
		query := `SELECT subaccount_id, CAST(SUM(n) AS BIGINT)`
		var args []any
		for _, e := range exprs {
			query += `, CAST(SUM(CASE WHEN ` + e.and() + ` THEN n ELSE 0 END) AS BIGINT)`
			args = append(args, e.args...)
		}
		rows, err := db.QueryContext(ctx, s.q(query+` FROM `+table+w.sql()+` GROUP BY subaccount_id`), append(args, w.args...)...)
		if err != nil {
			return nil, nil, fmt.Errorf("rollup counts: %w", err)
		}
		defer rows.Close()
		out := map[int64][]int64{}
		var order []int64
		for rows.Next() {
			var sa int64
			v := make([]int64, 1+len(exprs))
			dest := []any{&sa}
			for i := range v {
				dest = append(dest, &v[i])
			}
			if err := rows.Scan(dest...); err != nil {
				return nil, nil, fmt.Errorf("rollup counts: %w", err)
			}
			out[sa] = v
			order = append(order, sa)
		}
		slices.Sort(order)
		return out, order, rows.Err()
	}

	// The status rollup: every row, and the status filter's.
	statusDim := slices.IndexFunc(dims, func(d dim) bool { return d.index == "messages_status" })
	w := &whereBuilder{}
	rangeConds(w)
	var exprs []*whereBuilder
	if statusDim >= 0 {
		exprs = append(exprs, cond(statusDim))
	}
	coarse, order, err := sums(s.rollupFrom(levelStatus, ""), w, exprs)
	if err != nil {
		return nil, err
	}
	counts := map[int64]*rollupCount{}
	for _, sa := range order {
		v := coarse[sa]
		c := &rollupCount{subaccount: sa, all: v[0], match: v[0], dims: make([]int64, len(dims))}
		for i := range c.dims {
			c.dims[i] = unestimated
		}
		if statusDim >= 0 {
			c.match, c.dims[statusDim] = v[1], v[1]
		}
		counts[sa] = c
	}

	switch level {
	case levelMain:
		// message_rollup: the rows matching every filter, and those of
		// each filter with an index, unless it is the only one.
		exprs := []*whereBuilder{matchAll}
		var priced []int
		for i, d := range dims {
			if d.index != "" && i != statusDim && len(dims) > 1 {
				exprs = append(exprs, cond(i))
				priced = append(priced, i)
			}
		}
		w := &whereBuilder{}
		rangeConds(w)
		main, _, err := sums(s.rollupFrom(levelMain, ""), w, exprs)
		if err != nil {
			return nil, err
		}
		for sa, c := range counts {
			v := main[sa]
			if v == nil {
				v = make([]int64, 1+len(exprs))
			}
			c.match = v[1]
			for k, i := range priced {
				c.dims[i] = v[2+k]
			}
			if len(dims) == 1 {
				c.dims[0] = c.match
			}
		}
	case levelAttributed:
		// A campaign (or else user) filter seeks; the other filters count
		// in the sum. The seek's SUM(n) is that filter's count alone.
		lead := &whereBuilder{}
		leadDim := slices.IndexFunc(dims, func(d dim) bool { return d.index == "messages_campaign" })
		if leadDim >= 0 {
			lead.add(`campaign_id = ?`, q.f.Campaign)
		} else {
			leadDim = slices.IndexFunc(dims, func(d dim) bool { return d.index == "messages_sender_user" })
			lead.add(`sender_user_id = ?`, q.f.User)
		}
		w := &whereBuilder{}
		rangeConds(w)
		w.add(lead.conds[0], lead.args...)
		seek, _, err := sums(s.rollup(q), w, []*whereBuilder{matchAll})
		if err != nil {
			return nil, err
		}
		for sa, c := range counts {
			v := seek[sa]
			if v == nil {
				v = []int64{0, 0}
			}
			c.match, c.dims[leadDim] = v[1], v[0]
		}
	}

	// inner leaves out the edge hours, which are counted exactly.
	lo, hi, _ := q.hours()
	var edgeHours []any
	if lo < hi {
		if elo < lo {
			edgeHours = append(edgeHours, elo)
		}
		if q.to != math.MaxInt64 && hi < ehi {
			edgeHours = append(edgeHours, hi)
		}
	}
	for _, c := range counts {
		if lo < hi {
			c.inner = c.match
		}
	}
	if len(edgeHours) > 0 {
		w := &whereBuilder{}
		q.scopeConds(w, ``)
		w.add(`direction = ?`, string(q.dir))
		w.in(`hour`, len(edgeHours), func(i int) any { return edgeHours[i] })
		switch {
		case q.f.Campaign != 0:
			w.add(`campaign_id = ?`, q.f.Campaign)
		case q.f.User != 0:
			w.add(`sender_user_id = ?`, q.f.User)
		}
		edge, _, err := sums(s.rollup(q), w, []*whereBuilder{matchAll})
		if err != nil {
			return nil, err
		}
		for sa, v := range edge {
			if c := counts[sa]; c != nil {
				c.inner -= v[1]
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
		for _, stmt := range []string{`DELETE FROM message_rollup_status`, `DELETE FROM message_rollup`,
			`DELETE FROM message_rollup_attributed`,
			`INSERT INTO message_rollup_status (` + rollupTables[levelStatus].key + `, n)
			SELECT subaccount_id, direction, at / 3600000, status, ` + acceptedExpr + `, COUNT(*)
			FROM messages GROUP BY 1, 2, 3, 4, 5`,
			`INSERT INTO message_rollup (` + rollupTables[levelMain].key + `, n)
			SELECT subaccount_id, direction, at / 3600000, status, ` + acceptedExpr + `, content_type, with_session,
				conversation_type, COUNT(*)
			FROM messages GROUP BY 1, 2, 3, 4, 5, 6, 7, 8`,
			`INSERT INTO message_rollup_attributed (` + rollupTables[levelAttributed].key + `, n)
			SELECT subaccount_id, direction, at / 3600000, status, ` + acceptedExpr + `, content_type, with_session,
				conversation_type, COALESCE(campaign_id, 0), COALESCE(sender_user_id, 0), COUNT(*)
			FROM messages WHERE campaign_id IS NOT NULL OR sender_user_id IS NOT NULL
			GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10`} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("rebuild rollup: %w", err)
			}
		}
		if s.dialect == Postgres {
			// Every row is new: without fresh statistics the planner
			// takes the rollup for empty and reads it by index.
			_, err := tx.ExecContext(ctx, `ANALYZE message_rollup_status, message_rollup, message_rollup_attributed`)
			if err != nil {
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
	byContent := s.rollup(q)
	if q.level() == levelStatus {
		byContent = s.rollupFrom(levelMain, "")
	}
	err = read("by content type", `SELECT content_type, CAST(SUM(n) AS BIGINT) FROM `+byContent+w.sql()+
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
	from := s.rollupFrom(levelAttributed, "")
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
	for b := 0; b < q.branches(); b++ {
		if err := s.exactBranch(ctx, db, q, lo, hi, bucket, b, p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) exactBranch(ctx context.Context, db queryer, q *reportQuery, lo, hi, bucket int64, branch int, p *summaryParts) error {
	w := &whereBuilder{}
	q.where(w, lo, hi, branch)
	rows, err := db.QueryContext(ctx, s.q(`SELECT m.at / `+strconv.FormatInt(bucket, 10)+`, m.status, m.content_type,
		COALESCE(m.campaign_id, 0), `+acceptedExpr+`, COUNT(*) FROM messages m`+w.sql()+` GROUP BY 1, 2, 3, 4, 5`), w.args...)
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
		if c.accepted && q.dir == domain.DirectionMT && st != domain.StatusSending {
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
	read := func(table, query string, sign int64, cols int) error {
		rows, err := s.r.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("check rollup: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			key := make([]any, cols)
			dest := make([]any, cols+1)
			for i := range key {
				dest[i] = &key[i]
			}
			var n int64
			dest[cols] = &n
			if err := rows.Scan(dest...); err != nil {
				return fmt.Errorf("check rollup: %w", err)
			}
			// Booleans read back as 0/1 on SQLite and true/false on
			// PostgreSQL, from either table: one spelling for both.
			for i, v := range key {
				switch v := v.(type) {
				case bool:
					key[i] = map[bool]int64{false: 0, true: 1}[v]
				case []byte:
					key[i] = string(v)
				}
			}
			counts[table+fmt.Sprint(key)] += sign * n
		}
		return rows.Err()
	}
	for l, t := range rollupTables {
		cols := strings.Count(t.key, ",") + 1
		fresh := strings.NewReplacer(`hour`, `at / 3600000`, `accepted`, acceptedExpr,
			`campaign_id`, `COALESCE(campaign_id, 0)`, `sender_user_id`, `COALESCE(sender_user_id, 0)`).Replace(t.key)
		where := ``
		if rollupLevel(l) == levelAttributed {
			where = ` WHERE campaign_id IS NOT NULL OR sender_user_id IS NOT NULL`
		}
		groups := make([]string, cols)
		for i := range groups {
			groups[i] = strconv.Itoa(i + 1)
		}
		for _, step := range []struct {
			query string
			sign  int64
		}{
			{`SELECT ` + t.key + `, CAST(SUM(n) AS BIGINT) FROM ` + s.rollupFrom(rollupLevel(l), "") + ` GROUP BY ` + t.key, 1},
			{`SELECT ` + fresh + `, COUNT(*) FROM messages` + where + ` GROUP BY ` + strings.Join(groups, `, `), -1},
		} {
			if err := read(t.name, step.query, step.sign, cols); err != nil {
				return err
			}
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
