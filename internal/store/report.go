package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ticksapp/ticks/internal/domain"
)

// The detailed report (seed 000) over large data, its filters as
// report_filter.go writes them. Totals come from the message rollup
// (rollupCounts, rollup.go) when every filter is one it counts, plus exact
// counts of the partial hours at the range's edges; otherwise the filters
// include a phone, correlation id or conversation id, which match few rows
// through their own indexes, and the count is exact. A page reads each
// subaccount of the scope through the index the rollup's counts say is
// cheapest, and merges them newest first.

// ReportMessages returns one page of the detailed report, newest first, with
// the total number of matching messages.
func (s *Store) ReportMessages(ctx context.Context, f *domain.MessageFilter) (*domain.MessagePage, error) {
	q := newReportQuery(f, s.sqlDialect)
	limit := q.limit()
	var cur *cursor
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		cur = &cursor{at, id}
	}
	page := &domain.MessagePage{Rows: []domain.Message{}}
	if q.empty() {
		return page, nil
	}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		streams, total, err := s.planReport(ctx, tx, q, true)
		if err != nil {
			return err
		}
		page.Total = total
		rows, err := s.mergeStreams(ctx, tx, streams, cur, limit+1)
		if err != nil {
			return err
		}
		page.Rows = rows
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(page.Rows) > limit {
		page.Rows = page.Rows[:limit]
		last := page.Rows[limit-1]
		page.NextCursor = encodeCursor(ms(last.At), last.ID)
	}
	return page, nil
}

// cursor is a keyset position: rows strictly older than (at, id) follow.
type cursor struct{ at, id int64 }

// stream reads one part of a report (one subaccount, or all of a pinpoint
// search) newest first, by keyset.
type stream struct {
	subaccount int64         // the subaccount a rollup-planned stream reads; 0 for a pinpoint search
	index      string        // SQLite index to read through ("" lets the planner choose)
	w          *whereBuilder // every condition but the upper time bound
	base       *whereBuilder // w without its lower time bound, for hour ranges
	to         int64         // the exclusive upper bound of at, math.MaxInt64 when open
	after      *cursor
	buf        []domain.Message
	done       bool

	// A page's stream may instead read only the hours the rollup says hold
	// its next rows (see hourRanges), when that reads fewer index entries
	// than cost, the estimate for index.
	q    *reportQuery // nil: not this way
	cost float64
}

func newer(a, b *domain.Message) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.ID > b.ID
}

// fill reads the next n rows of st into its buffer.
func (s *Store) fill(ctx context.Context, db queryer, st *stream, n int) error {
	if st.q != nil {
		ranges, cost, err := s.hourRanges(ctx, db, st, n)
		if err != nil {
			return err
		}
		if cost < st.cost {
			return s.fillRanges(ctx, db, st, ranges, n)
		}
	}
	return s.fillFrom(ctx, db, st, n, st.w, st.index, st.to)
}

// fillFrom reads the next n rows of st before to (at most st.to), under
// the conditions of w, through index.
func (s *Store) fillFrom(ctx context.Context, db queryer, st *stream, n int, where *whereBuilder, index string, to int64) error {
	w := where.clone()
	to = min(to, st.to)
	// One upper bound on at: the cursor's when there is one, so the index
	// range starts there (given two, SQLite may seek by the looser).
	switch {
	case st.after != nil && st.after.at < to:
		w.add(`m.at <= ` + w.arg(st.after.at))
		w.add(`(m.at < ` + w.arg(st.after.at) + ` OR m.id < ` + w.arg(st.after.id) + `)`)
	case to != math.MaxInt64:
		w.add(`m.at < ` + w.arg(to))
	}
	query := s.sqlDialect.reportPage(index, w.sql(), w.arg(n))
	pageReads.add(index)
	rows, err := db.QueryContext(ctx, query, w.args...)
	if err != nil {
		return fmt.Errorf("report messages: %w", err)
	}
	defer rows.Close()
	st.buf = st.buf[:0]
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return fmt.Errorf("report messages: %w", err)
		}
		st.buf = append(st.buf, *m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report messages: %w", err)
	}
	if len(st.buf) < n {
		st.done = true
	}
	if len(st.buf) > 0 {
		last := st.buf[len(st.buf)-1]
		st.after = &cursor{ms(last.At), last.ID}
	}
	return nil
}

// mergeStreams reads up to n rows after cur from every stream and returns
// the newest n.
func (s *Store) mergeStreams(ctx context.Context, db queryer, streams []*stream, cur *cursor, n int) ([]domain.Message, error) {
	var all []domain.Message
	for _, st := range streams {
		st.after = cur
		if err := s.fill(ctx, db, st, n); err != nil {
			return nil, err
		}
		all = append(all, st.buf...)
	}
	if len(streams) > 1 {
		slices.SortFunc(all, func(a, b domain.Message) int {
			if newer(&a, &b) {
				return -1
			}
			return 1
		})
	}
	if len(all) > n {
		all = all[:n]
	}
	if all == nil {
		all = []domain.Message{}
	}
	return all, nil
}

// planReport returns the streams that read q's rows and, when withTotal
// (a page), the number of matching rows; otherwise the streams are planned
// to read every row (an export).
func (s *Store) planReport(ctx context.Context, db queryer, q *reportQuery, withTotal bool) ([]*stream, int64, error) {
	if q.pinpoint {
		var streams []*stream
		var total int64
		for b := 0; b < q.branches(); b++ {
			if withTotal {
				w := &whereBuilder{}
				q.where(w, q.from, q.to, b)
				var n int64
				if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages m`+w.sql(), w.args...).Scan(&n); err != nil {
					return nil, 0, fmt.Errorf("count messages: %w", err)
				}
				total += n
			}
			w := &whereBuilder{}
			q.where(w, q.from, math.MaxInt64, b)
			streams = append(streams, &stream{w: w, to: q.to})
		}
		return streams, total, nil
	}
	counts, err := s.rollupCounts(ctx, db, q)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	var subaccounts []int64
	for _, c := range counts {
		total += c.inner
		subaccounts = append(subaccounts, c.subaccount)
	}
	if withTotal {
		_, _, edges := q.hours()
		for _, e := range edges {
			n, err := s.edgeCount(ctx, db, q, subaccounts, e)
			if err != nil {
				return nil, 0, err
			}
			total += n
		}
	}
	var streams []*stream
	for _, c := range counts {
		if c.match == 0 {
			continue
		}
		base := &whereBuilder{}
		base.add(`m.subaccount_id = ` + base.arg(c.subaccount))
		base.add(`m.direction = ` + base.arg(string(q.dir)))
		q.dimConds(base, `m.`)
		w := base.clone()
		if q.from > 0 {
			w.add(`m.at >= ` + w.arg(q.from))
		}
		// A page reads its limit (and one more) in one statement; an
		// export every row, a window at a time.
		rows, statements := int64(q.limit()+1), 1.0
		if !withTotal {
			rows, statements = math.MaxInt64, math.Ceil(float64(c.all)/float64(exportWindowRows))
		}
		st := &stream{subaccount: c.subaccount, w: w, base: base, to: q.to}
		st.index, st.cost = chooseIndex(q, c, rows, statements, s.sqlDialect.rowReadCost())
		// Worth asking the rollup where the rows are when the index's
		// plan reads more than a few hours of rows. (Campaigns and users
		// have indexes in time order of their own.)
		elo, ehi := q.enclosing()
		perHour := float64(c.all) / float64(max(1, min(ehi, elo+24*366)-elo))
		if withTotal && q.level() != levelAttributed && st.cost > 4*perHour {
			st.q = q
		}
		streams = append(streams, st)
	}
	return streams, total, nil
}

// A page of rare rows: the rollup knows, hour by hour, how many rows match
// a page's filters, so instead of reading the time index back until enough
// rows match (every row of the range when few do), a page can read only
// the hours that hold its next rows. hourRanges finds them, newest first:
// the day level says which days hold matching rows, then the hours of
// those days (as few days as can hold the rows still wanted, in turn) say
// which hours. It returns them as ranges (adjacent hours merged), each
// with the index that reads it cheapest, and their cost (see rangesOf).
func (s *Store) hourRanges(ctx context.Context, db queryer, st *stream, n int) ([]hourRange, float64, error) {
	q := st.q
	elo, ehi := q.enclosing()
	if st.after != nil {
		ehi = min(ehi, st.after.at/hourMS+1)
	}
	if ehi == math.MaxInt64 {
		var last sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT MAX(hour) FROM `+s.rollupFrom(levelStatus, "")+
			` WHERE subaccount_id = $1 AND direction = $2`, st.subaccount, string(q.dir)).Scan(&last); err != nil {
			return nil, 0, fmt.Errorf("report hours: %w", err)
		}
		if !last.Valid {
			return nil, 0, nil
		}
		ehi = last.Int64 + 1
	}
	scope := func(w *whereBuilder) {
		w.add(`subaccount_id = ` + w.arg(st.subaccount))
		w.add(`direction = ` + w.arg(string(q.dir)))
	}

	// The days with matching rows, newest first, and how many each has.
	type day struct{ day, match int64 }
	var days []day
	w := &whereBuilder{}
	from := s.span(q.level(), &w.sqlArgs, elo, ehi, scope)
	match := &whereBuilder{sqlArgs: w.sqlArgs}
	q.dimConds(match, ``)
	rows, err := db.QueryContext(ctx, `SELECT day, CAST(SUM(CASE WHEN `+match.and()+` THEN n ELSE 0 END) AS BIGINT) FROM `+
		from+` GROUP BY day ORDER BY day DESC`, match.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("report days: %w", err)
	}
	for rows.Next() {
		var d day
		if err := rows.Scan(&d.day, &d.match); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("report days: %w", err)
		}
		if d.match > 0 {
			days = append(days, d)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("report days: %w", err)
	}

	// The dimensions whose index is in time order within one value: a
	// range can be read through one of them instead of the time index,
	// at a row read for each of its rows of that value.
	dims := q.dims()
	var seekable []int
	for i, d := range dims {
		if d.index != "" && d.ordered {
			seekable = append(seekable, i)
		}
	}
	rowRead := s.sqlDialect.rowReadCost()

	var hours []rollupHour
	var found int64
	for next := 0; next < len(days) && found < int64(n); {
		// The next days whose matches could make up the rows still
		// wanted, as ranges of hours (adjacent days merged).
		var spans [][2]int64
		for want := int64(n) - found; next < len(days) && want > 0; next++ {
			d := days[next]
			want -= d.match
			lo, hi := max(elo, d.day*24), min(ehi, d.day*24+24)
			if k := len(spans) - 1; k >= 0 && spans[k][0] == hi {
				spans[k][0] = lo
			} else {
				spans = append(spans, [2]int64{lo, hi})
			}
		}
		// Their hours with matching rows, newest first, a span at a time
		// (each a seek; SQLite reads an OR of ranges by scanning): the
		// filters in the WHERE clause, so only those rows are summed.
		start := len(hours)
		for _, sp := range spans {
			if found >= int64(n) {
				break
			}
			w := &whereBuilder{}
			scope(w)
			w.add(`hour >= ` + w.arg(sp[0]))
			w.add(`hour < ` + w.arg(sp[1]))
			q.dimConds(w, ``)
			rows, err := db.QueryContext(ctx, `SELECT hour, CAST(SUM(n) AS BIGINT) FROM `+s.rollupFrom(q.level(), "")+w.sql()+
				` GROUP BY hour ORDER BY hour DESC`, w.args...)
			if err != nil {
				return nil, 0, fmt.Errorf("report hours: %w", err)
			}
			for rows.Next() && found < int64(n) {
				var h, matching int64
				if err := rows.Scan(&h, &matching); err != nil {
					rows.Close()
					return nil, 0, fmt.Errorf("report hours: %w", err)
				}
				if matching <= 0 {
					continue
				}
				// Rows of an hour the range or the cursor cuts may not
				// follow: read it, but count none of its rows.
				from, to := h*hourMS, (h+1)*hourMS
				if from >= q.from && to <= q.to && (st.after == nil || to <= st.after.at) {
					found += matching
				}
				hours = append(hours, rollupHour{hour: h, dims: make([]int64, len(seekable))})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, 0, fmt.Errorf("report hours: %w", err)
			}
		}
		if len(hours) == start {
			continue
		}
		// What reading each of those hours costs: its rows, and its rows
		// of each seekable dimension.
		w := &whereBuilder{}
		scope(w)
		w.in(`hour`, len(hours)-start, func(i int) any { return hours[start+i].hour })
		sel := `SELECT hour, CAST(SUM(n) AS BIGINT)`
		for _, i := range seekable {
			sel += `, CAST(SUM(CASE WHEN ` + dims[i].cond(&w.sqlArgs, ``) + ` THEN n ELSE 0 END) AS BIGINT)`
		}
		byHour := map[int64]*rollupHour{}
		for k := start; k < len(hours); k++ {
			byHour[hours[k].hour] = &hours[k]
		}
		rows, err := db.QueryContext(ctx, sel+` FROM `+s.rollupFrom(q.level(), "")+w.sql()+` GROUP BY hour`, w.args...)
		if err != nil {
			return nil, 0, fmt.Errorf("report hours: %w", err)
		}
		for rows.Next() {
			var h, all int64
			v := make([]int64, len(seekable))
			dest := []any{&h, &all}
			for i := range v {
				dest = append(dest, &v[i])
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, 0, fmt.Errorf("report hours: %w", err)
			}
			if x := byHour[h]; x != nil {
				x.all, x.dims = all, v
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, 0, fmt.Errorf("report hours: %w", err)
		}
		if cost := rangesOf(hours, seekable, dims, rowRead, nil); cost >= st.cost {
			break // the index's plan is cheaper already
		}
	}
	var ranges []hourRange
	cost := rangesOf(hours, seekable, dims, rowRead, &ranges)
	return ranges, cost, nil
}

// hourRange is a [from, to) millisecond range of whole hours a page reads,
// through index.
type hourRange struct {
	from, to int64
	index    string
}

// rollupHour is an hour holding a page's rows: all its rows, and those of
// each seekable dimension (see hourRanges).
type rollupHour struct {
	hour, all int64
	dims      []int64
}

// rangesOf merges adjacent hours (newest first) into ranges, picks for each
// the index that reads it cheapest — the time index, every row of its
// hours; or the index of a seekable dimension, a row read for each row of
// that value — and returns the sum of their costs with a seek for each,
// and the ranges in out when out is not nil.
func rangesOf(hours []rollupHour, seekable []int, dims []dim, rowRead float64, out *[]hourRange) float64 {
	const seekCost = 64
	var total float64
	for i := 0; i < len(hours); {
		all, sums := float64(0), make([]float64, len(seekable))
		j := i
		for ; j < len(hours) && hours[j].hour == hours[i].hour-int64(j-i); j++ {
			all += float64(hours[j].all)
			for k, v := range hours[j].dims {
				sums[k] += float64(v)
			}
		}
		best, index := all, "messages_report"
		for k, d := range seekable {
			if c := sums[k] * rowRead; c < best {
				best, index = c, dims[d].index
			}
		}
		total += best + seekCost
		if out != nil {
			*out = append(*out, hourRange{from: hours[j-1].hour * hourMS, to: (hours[i].hour + 1) * hourMS, index: index})
		}
		i = j
	}
	return total
}

// rangeReads counts the pages read by hour ranges, for tests.
var rangeReads atomic.Int64

// pageReads counts the statements that read report rows, by the index
// they name, for tests.
var pageReads = readCounts{n: map[string]int64{}}

type readCounts struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *readCounts) add(index string) {
	c.mu.Lock()
	c.n[index]++
	c.mu.Unlock()
}

// fillRanges reads the next n rows of st from the given hour ranges,
// newest first, through the time index. The rollup is exact, so a stream
// whose ranges are read out is done.
func (s *Store) fillRanges(ctx context.Context, db queryer, st *stream, ranges []hourRange, n int) error {
	rangeReads.Add(1)
	var got []domain.Message
	after := st.after
	for _, r := range ranges {
		if len(got) >= n {
			break
		}
		// One bound on at each way, the range's within the page's: given
		// two, SQLite may seek by the looser.
		w := st.base.clone()
		w.add(`m.at >= ` + w.arg(max(r.from, st.q.from)))
		if err := s.fillFrom(ctx, db, st, n-len(got), w, r.index, r.to); err != nil {
			return err
		}
		got = append(got, st.buf...)
		st.after = after
	}
	st.buf = got
	st.done = len(got) < n
	if len(got) > 0 {
		last := got[len(got)-1]
		st.after = &cursor{ms(last.At), last.ID}
	}
	return nil
}

// Costs of the page plans, in entries of the covering time index read in
// order: an entry of a non-covering index also costs a row read
// (sqlDialect.rowReadCost), and a sort costs per row.
const sortCost = 1

// chooseIndex picks, for one subaccount, the SQLite index that reads the
// first rows rows fastest, from the rollup's counts, in the given number of
// statements (one for a page, one per window for an export): a backward scan of the covering time index reads about
// rows*all/match entries; an index of one filter that is in time order
// reads about rows*dim/match table rows; one that is not reads and sorts
// every row of its value, in every statement. The lowest estimate wins.
func chooseIndex(q *reportQuery, c rollupCount, rows int64, statements, rowReadCost float64) (string, float64) {
	match := float64(max(c.match, 1))
	n := float64(min(rows, max(c.match, 1)))
	best, bestCost := "messages_report", n*float64(c.all)/match
	for i, d := range q.dims() {
		if d.index == "" {
			continue
		}
		count := float64(c.dims[i])
		cost := count * (rowReadCost + sortCost) * statements
		if d.ordered {
			cost = n * count / match * rowReadCost
		}
		if cost < bestCost {
			best, bestCost = d.index, cost
		}
	}
	return best, bestCost
}

// edgeCount counts exactly the rows of q in one partial hour, e, of the
// given subaccounts (those the rollup found rows for).
func (s *Store) edgeCount(ctx context.Context, db queryer, q *reportQuery, subaccounts []int64, e [2]int64) (int64, error) {
	if len(subaccounts) == 0 || e[0] >= e[1] {
		return 0, nil
	}
	w := &whereBuilder{}
	w.in(`m.subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	w.add(`m.direction = ` + w.arg(string(q.dir)))
	w.add(`m.at >= ` + w.arg(e[0]))
	w.add(`m.at < ` + w.arg(e[1]))
	q.dimConds(w, `m.`)
	from := `messages m` + s.sqlDialect.indexedBy(`messages_report`) // at most an hour of it
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+from+w.sql(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count messages: %w", err)
	}
	return n, nil
}

func encodeCursor(at, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + ":" + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (at, id int64, err error) {
	bad := domain.Errorf(domain.EINVALID, "cursor is not one this API returned")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, bad
	}
	a, i, ok := strings.Cut(string(b), ":")
	if !ok {
		return 0, 0, bad
	}
	if at, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, bad
	}
	if id, err = strconv.ParseInt(i, 10, 64); err != nil {
		return 0, 0, bad
	}
	return at, id, nil
}
