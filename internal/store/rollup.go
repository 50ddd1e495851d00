package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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

// The day level (migration 00008): message_rollup_status and
// message_rollup summed per UTC day, kept exact by the hourly tables' own
// triggers. The attributed table has none: its readers seek a campaign or
// a user first.
var dayTables = [...]string{levelStatus: "message_rollup_status_day", levelMain: "message_rollup_day"}

// span is rollup level l (status or main) over the UTC hours [lo, hi) as
// one source aliased r, with the level's key columns but day (the UTC day,
// hour / 24) in place of hour: the whole days of the range from the day
// table, the hours of the days it cuts from the hourly one, and on
// PostgreSQL the changes not yet folded in. scope adds the conditions
// every part shares (subaccounts, direction), with placeholders from a.
func (s *Store) span(l rollupLevel, a *sqlArgs, lo, hi int64, scope func(w *whereBuilder)) string {
	t := rollupTables[l]
	hourCols := strings.Replace(t.key, `hour`, `hour / 24 AS day`, 1)
	dayCols := strings.Replace(t.key, `hour`, `day`, 1)
	var parts []string
	part := func(cols, table string, conds func(w *whereBuilder)) {
		w := &whereBuilder{sqlArgs: *a}
		scope(w)
		conds(w)
		parts = append(parts, `SELECT `+cols+`, n FROM `+table+w.sql())
		*a = w.sqlArgs
	}
	hours := func(from, to int64) {
		part(hourCols, t.name, func(w *whereBuilder) {
			w.add(`hour >= ` + w.arg(from))
			if to != math.MaxInt64 {
				w.add(`hour < ` + w.arg(to))
			}
		})
	}
	// Whole days: [dlo, dhi), open above when the range is. The hours of
	// the day the range ends in count whole when the range is open.
	dlo, dhi := (lo+23)/24, hi/24
	if hi == math.MaxInt64 {
		dhi = math.MaxInt64
	}
	if dlo >= dhi {
		hours(lo, hi)
	} else {
		if lo < dlo*24 {
			hours(lo, dlo*24)
		}
		part(dayCols, dayTables[l], func(w *whereBuilder) {
			w.add(`day >= ` + w.arg(dlo))
			if dhi != math.MaxInt64 {
				w.add(`day < ` + w.arg(dhi))
			}
		})
		if dhi != math.MaxInt64 && dhi*24 < hi {
			hours(dhi*24, hi)
		}
	}
	w := &whereBuilder{sqlArgs: *a}
	scope(w)
	if pending := s.sqlDialect.rollupPending(w, hourCols, lo, hi); pending != "" {
		parts = append(parts, pending)
	}
	*a = w.sqlArgs
	return `(` + strings.Join(parts, ` UNION ALL `) + `) r`
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

// rollupFrom is a rollup table as readers see it, aliased r. On SQLite,
// index names the index to read it through ("" for the primary key).
func (s *Store) rollupFrom(l rollupLevel, index string) string {
	return s.sqlDialect.rollupFrom(l, index)
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
	scope := func(w *whereBuilder) {
		q.scopeConds(w, ``)
		w.add(`direction = ` + w.arg(string(q.dir)))
	}
	rangeConds := func(w *whereBuilder) {
		scope(w)
		w.add(`hour >= ` + w.arg(elo))
		if ehi != math.MaxInt64 {
			w.add(`hour < ` + w.arg(ehi))
		}
	}
	// matchAll is the condition that every filter holds, with its
	// placeholders from a.
	matchAll := func(a *sqlArgs) string {
		if len(dims) == 0 {
			return `1 = 1`
		}
		conds := make([]string, len(dims))
		for i, d := range dims {
			conds[i] = d.cond(a, ``)
		}
		return strings.Join(conds, ` AND `)
	}
	// sums runs SELECT subaccount_id, SUM(n), and SUM(n) of the rows each
	// of exprs (conditions with their placeholders from w) holds for, where
	// w holds, grouped by subaccount.
	sums := func(table string, w *whereBuilder, exprs []string) (map[int64][]int64, []int64, error) {
		query := `SELECT subaccount_id, CAST(SUM(n) AS BIGINT)`
		for _, e := range exprs {
			query += `, CAST(SUM(CASE WHEN ` + e + ` THEN n ELSE 0 END) AS BIGINT)`
		}
		rows, err := db.QueryContext(ctx, query+` FROM `+table+w.sql()+` GROUP BY subaccount_id`, w.args...)
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
	from := s.span(levelStatus, &w.sqlArgs, elo, ehi, scope)
	var exprs []string
	if statusDim >= 0 {
		exprs = append(exprs, dims[statusDim].cond(&w.sqlArgs, ``))
	}
	coarse, order, err := sums(from, w, exprs)
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
		w := &whereBuilder{}
		from := s.span(levelMain, &w.sqlArgs, elo, ehi, scope)
		exprs := []string{matchAll(&w.sqlArgs)}
		var priced []int
		for i, d := range dims {
			if d.index != "" && i != statusDim && len(dims) > 1 {
				exprs = append(exprs, d.cond(&w.sqlArgs, ``))
				priced = append(priced, i)
			}
		}
		main, _, err := sums(from, w, exprs)
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
		w := &whereBuilder{}
		rangeConds(w)
		leadDim := slices.IndexFunc(dims, func(d dim) bool { return d.index == "messages_campaign" })
		if leadDim >= 0 {
			w.add(`campaign_id = ` + w.arg(q.f.Campaign))
		} else {
			leadDim = slices.IndexFunc(dims, func(d dim) bool { return d.index == "messages_sender_user" })
			w.add(`sender_user_id = ` + w.arg(q.f.User))
		}
		seek, _, err := sums(s.rollup(q), w, []string{matchAll(&w.sqlArgs)})
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
		w.add(`direction = ` + w.arg(string(q.dir)))
		w.in(`hour`, len(edgeHours), func(i int) any { return edgeHours[i] })
		switch {
		case q.f.Campaign != 0:
			w.add(`campaign_id = ` + w.arg(q.f.Campaign))
		case q.f.User != 0:
			w.add(`sender_user_id = ` + w.arg(q.f.User))
		}
		edge, _, err := sums(s.rollup(q), w, []string{matchAll(&w.sqlArgs)})
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
	before, after := s.sqlDialect.rollupRebuild()
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, stmt := range slices.Concat(before, []string{`DELETE FROM message_rollup_status`, `DELETE FROM message_rollup`,
			`DELETE FROM message_rollup_attributed`,
			// Emptied after the hourly tables, whose triggers subtract their
			// rows from these; refilled by the same triggers as the hourly
			// ones fill.
			`DELETE FROM message_rollup_status_day`, `DELETE FROM message_rollup_day`,
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
			GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10`}, after) {
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
	stmts := s.sqlDialect.rollupFold()
	if len(stmts) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("fold rollup: %w", err)
			}
		}
		return nil
	})
}

// CheckRollup compares the rollup with a fresh count of the messages and
// returns an error listing the keys where they differ (nil when they all
// agree). It reads every message: for tests and repairs, not for requests.
func (s *Store) CheckRollup(ctx context.Context) error {
	counts := map[string]int64{}
	read := func(table, query string, args []any, sign int64, cols int) error {
		rows, err := s.r.QueryContext(ctx, query, args...)
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
	type check struct {
		name, key, from string
		args            []any
	}
	var checks []check
	for l, t := range rollupTables {
		checks = append(checks, check{name: t.name, key: t.key, from: s.rollupFrom(rollupLevel(l), "")})
		if rollupLevel(l) != levelAttributed {
			var a sqlArgs
			from := s.span(rollupLevel(l), &a, 0, math.MaxInt64, func(*whereBuilder) {})
			checks = append(checks, check{name: dayTables[l], key: strings.Replace(t.key, `hour`, `day`, 1), from: from,
				args: a.args})
		}
	}
	for _, c := range checks {
		cols := strings.Count(c.key, ",") + 1
		fresh := strings.NewReplacer(`hour`, `at / 3600000`, `day`, `at / 86400000`, `accepted`, acceptedExpr,
			`campaign_id`, `COALESCE(campaign_id, 0)`, `sender_user_id`, `COALESCE(sender_user_id, 0)`).Replace(c.key)
		where := ``
		if c.name == rollupTables[levelAttributed].name {
			where = ` WHERE campaign_id IS NOT NULL OR sender_user_id IS NOT NULL`
		}
		groups := make([]string, cols)
		for i := range groups {
			groups[i] = strconv.Itoa(i + 1)
		}
		for _, step := range []struct {
			query string
			args  []any
			sign  int64
		}{
			{`SELECT ` + c.key + `, CAST(SUM(n) AS BIGINT) FROM ` + c.from + ` GROUP BY ` + c.key, c.args, 1},
			{`SELECT ` + fresh + `, COUNT(*) FROM messages` + where + ` GROUP BY ` + strings.Join(groups, `, `), nil, -1},
		} {
			if err := read(c.name, step.query, step.args, step.sign, cols); err != nil {
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
