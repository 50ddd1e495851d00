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

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
)

// The detailed report (seed 000) over large data. Totals come from the
// message rollup (rollup.go) when every filter is one it counts, plus exact
// counts of the partial hours at the range's edges; otherwise the filters
// include a phone, correlation id or conversation id, which match few rows
// through their own indexes, and the count is exact. A page reads each
// subaccount of the scope through the index the rollup's counts say is
// cheapest, and merges them newest first.

// whereBuilder appends SQL conditions and their arguments.
type whereBuilder struct {
	conds []string
	args  []any
}

func (w *whereBuilder) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *whereBuilder) in(column string, n int, arg func(i int) any) {
	w.conds = append(w.conds, column+` IN (`+placeholders(n)+`)`)
	for i := 0; i < n; i++ {
		w.args = append(w.args, arg(i))
	}
}

func (w *whereBuilder) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return ` WHERE ` + w.and()
}

// and is the conditions joined with AND; a true condition when there are none.
func (w *whereBuilder) and() string {
	if len(w.conds) == 0 {
		return `1 = 1`
	}
	return strings.Join(w.conds, ` AND `)
}

// hourMS is the rollup's bucket: one UTC hour in milliseconds.
const hourMS = 3_600_000

// reportQuery is a report filter made ready for SQL: its direction, its
// time range in unix milliseconds, and whether the rollup can count it.
type reportQuery struct {
	f        *domain.MessageFilter
	dir      domain.Direction
	from, to int64 // [from, to); to is math.MaxInt64 when open
	pinpoint bool  // phone, correlation id or conversation id: not in the rollup
}

func newReportQuery(f *domain.MessageFilter) *reportQuery {
	q := &reportQuery{f: f, dir: f.Direction, to: math.MaxInt64}
	if q.dir == "" {
		q.dir = domain.DirectionMT
	}
	if !f.From.IsZero() && ms(f.From) > 0 {
		q.from = ms(f.From)
	}
	if !f.To.IsZero() {
		q.to = max(ms(f.To), 0)
	}
	q.pinpoint = f.Phone != "" || f.CorrelationID != "" || f.ConversationID != ""
	return q
}

// limit is the page size asked for, within bounds.
func (q *reportQuery) limit() int {
	if q.f.Limit <= 0 {
		return 50
	}
	return min(q.f.Limit, domain.MaxReportLimit)
}

// empty reports whether nothing can match: an empty scope or range.
func (q *reportQuery) empty() bool {
	return (q.f.Subaccounts != nil && len(q.f.Subaccounts) == 0) || q.from >= q.to
}

// scopeConds adds the subaccount conditions: the caller's scope and the
// subaccount filter. p prefixes column names ("m." for messages).
func (q *reportQuery) scopeConds(w *whereBuilder, p string) {
	f := q.f
	if f.Subaccounts != nil {
		if len(f.Subaccounts) == 0 {
			w.add(`1 = 0`)
		} else {
			w.in(p+`subaccount_id`, len(f.Subaccounts), func(i int) any { return f.Subaccounts[i] })
		}
	}
	if f.Subaccount != 0 {
		w.add(p+`subaccount_id = ?`, f.Subaccount)
	}
}

// dimConds adds the conditions of the filters the rollup counts, besides
// subaccount, direction and time. Campaign and user are 0 in the rollup for
// none, and filters are never 0, so the same conditions serve both tables.
func (q *reportQuery) dimConds(w *whereBuilder, p string) {
	for _, d := range q.dims() {
		w.add(strings.ReplaceAll(d.cond, `{p}`, p), d.args...)
	}
}

// pinpointConds adds the conditions of the filters the rollup does not
// count, for one of q.branches().
func (q *reportQuery) pinpointConds(w *whereBuilder, branch int) {
	f := q.f
	if f.CorrelationID != "" {
		// The message's own correlation id, or else its contact's: two
		// disjoint branches, each read through its own index (one OR would
		// defeat both on PostgreSQL).
		if branch == 0 {
			w.add(`m.correlation_id = ? AND m.correlation_id <> ''`, f.CorrelationID)
		} else {
			w.add(`m.correlation_id = '' AND m.contact_id IN
				(SELECT id FROM contacts WHERE correlation_id = ? AND correlation_id <> '')`, f.CorrelationID)
		}
	}
	if f.Phone != "" {
		w.add(`m.contact_id IN (SELECT id FROM contacts WHERE phone_key = ?)`, phone.Canonical(f.Phone))
	}
	if f.ConversationID != "" {
		w.add(`m.conversation_id = ?`, f.ConversationID)
	}
}

// branches is how many disjoint parts q's rows are read in.
func (q *reportQuery) branches() int {
	if q.f.CorrelationID != "" {
		return 2
	}
	return 1
}

// dim is one rollup-counted filter, with what the page planner needs to
// know about reading it through an index of its own on SQLite.
type dim struct {
	cond    string // with {p} for the column prefix
	args    []any
	index   string // SQLite index that leads with it, "" for none
	ordered bool   // that index is in time order within one value
}

// dims lists q's rollup-counted filters (see dim), in a fixed order.
func (q *reportQuery) dims() []dim {
	f := q.f
	var out []dim
	if len(f.Statuses) > 0 {
		args := make([]any, len(f.Statuses))
		for i, s := range f.Statuses {
			args[i] = string(s)
		}
		out = append(out, dim{cond: `{p}status IN (` + placeholders(len(args)) + `)`, args: args,
			index: "messages_status", ordered: len(args) == 1})
	}
	if f.ContentType != "" {
		out = append(out, dim{cond: `{p}content_type = ?`, args: []any{f.ContentType}, index: "messages_content_type"})
	}
	if f.ConversationType != "" {
		out = append(out, dim{cond: `{p}conversation_type = ?`, args: []any{string(f.ConversationType)}})
	}
	if f.Campaign != 0 {
		out = append(out, dim{cond: `{p}campaign_id = ?`, args: []any{f.Campaign}, index: "messages_campaign", ordered: true})
	}
	if f.User != 0 {
		out = append(out, dim{cond: `{p}sender_user_id = ?`, args: []any{f.User}, index: "messages_sender_user"})
	}
	if f.Session != nil {
		out = append(out, dim{cond: `{p}with_session = ?`, args: []any{*f.Session}})
	}
	return out
}

// hours returns the whole hours inside [from, to), as [lo, hi) hour
// numbers, and the partial edges outside them as millisecond ranges.
func (q *reportQuery) hours() (lo, hi int64, edges [][2]int64) {
	lo = (q.from + hourMS - 1) / hourMS
	hi = q.to / hourMS
	if lo >= hi {
		return 0, 0, [][2]int64{{q.from, q.to}}
	}
	if q.from < lo*hourMS {
		edges = append(edges, [2]int64{q.from, lo * hourMS})
	}
	if hi*hourMS < q.to && q.to != math.MaxInt64 {
		edges = append(edges, [2]int64{hi * hourMS, q.to})
	}
	return lo, hi, edges
}

// enclosing returns the hours that cover [from, to).
func (q *reportQuery) enclosing() (lo, hi int64) {
	hi = math.MaxInt64
	if q.to != math.MaxInt64 {
		hi = (q.to + hourMS - 1) / hourMS
	}
	return q.from / hourMS, hi
}

// where adds every condition of q on messages m, for the time range [lo,
// hi) and one of q.branches(). It is the one place report filters are
// interpreted, for the page, the API and the exports alike.
func (q *reportQuery) where(w *whereBuilder, lo, hi int64, branch int) {
	q.scopeConds(w, `m.`)
	w.add(`m.direction = ?`, string(q.dir))
	if lo > 0 {
		w.add(`m.at >= ?`, lo)
	}
	if hi != math.MaxInt64 {
		w.add(`m.at < ?`, hi)
	}
	q.dimConds(w, `m.`)
	q.pinpointConds(w, branch)
}

// queryer is what report reads run on: the reader pool or a read transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readTx runs fn in a read-only transaction, so that a total and its page,
// read by several statements, come from one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// ReportMessages returns one page of the detailed report, newest first, with
// the total number of matching messages.
func (s *Store) ReportMessages(ctx context.Context, f *domain.MessageFilter) (*domain.MessagePage, error) {
	q := newReportQuery(f)
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
	to         int64         // the exclusive upper bound of at, math.MaxInt64 when open
	after      *cursor
	buf        []domain.Message
	done       bool
}

func newer(a, b *domain.Message) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return a.ID > b.ID
}

// fill reads the next n rows of st into its buffer.
func (s *Store) fill(ctx context.Context, db queryer, st *stream, n int) error {
	w := &whereBuilder{conds: slices.Clone(st.w.conds), args: slices.Clone(st.w.args)}
	// One upper bound on at: the cursor's when there is one, so the index
	// range starts there (given two, SQLite may seek by the looser).
	switch {
	case st.after != nil && st.after.at < st.to:
		w.add(`m.at <= ?`, st.after.at)
		w.add(`(m.at < ? OR m.id < ?)`, st.after.at, st.after.id)
	case st.to != math.MaxInt64:
		w.add(`m.at < ?`, st.to)
	}
	var query string
	if s.dialect == SQLite {
		// SQLite tests the conditions on the index entry and reads the
		// row only when they hold.
		from := `messages m`
		if st.index != "" && s.dialect == SQLite {
			from += ` INDEXED BY ` + st.index
		}
		query = `SELECT ` + messageColumns + ` FROM ` + from + ` LEFT JOIN contacts c ON c.id = m.contact_id` + w.sql() +
			` ORDER BY m.at DESC, m.id DESC LIMIT ?`
	} else {
		// PostgreSQL reads the row before testing conditions on columns an
		// index includes, unless the scan is index-only: a page finds its
		// ids that way first, then reads those rows.
		query = `SELECT ` + messageColumns + ` FROM (SELECT m.id FROM messages m` + w.sql() +
			` ORDER BY m.at DESC, m.id DESC LIMIT ?) k JOIN messages m ON m.id = k.id
			LEFT JOIN contacts c ON c.id = m.contact_id ORDER BY m.at DESC, m.id DESC`
	}
	rows, err := db.QueryContext(ctx, s.q(query), append(w.args, n)...)
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
				if err := db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM messages m`+w.sql()), w.args...).Scan(&n); err != nil {
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
		w := &whereBuilder{}
		w.add(`m.subaccount_id = ?`, c.subaccount)
		w.add(`m.direction = ?`, string(q.dir))
		if q.from > 0 {
			w.add(`m.at >= ?`, q.from)
		}
		q.dimConds(w, `m.`)
		// A page reads its limit (and one more) in one statement; an
		// export every row, a window at a time.
		rows, statements := int64(q.limit()+1), 1.0
		if !withTotal {
			rows, statements = math.MaxInt64, math.Ceil(float64(c.all)/float64(exportWindowRows))
		}
		streams = append(streams, &stream{subaccount: c.subaccount, w: w, to: q.to, index: chooseIndex(q, c, rows, statements)})
	}
	return streams, total, nil
}

// Costs of the page plans, in index entries read in order: an entry of a
// non-covering index also costs a row read, and a sort costs per row.
const (
	rowReadCost = 4
	sortCost    = 1
)

// chooseIndex picks, for one subaccount, the SQLite index that reads the
// first rows rows fastest, from the rollup's counts, in the given number of
// statements (one for a page, one per window for an export): a backward scan of the covering time index reads about
// rows*all/match entries; an index of one filter that is in time order
// reads about rows*dim/match table rows; one that is not reads and sorts
// every row of its value, in every statement. The lowest estimate wins.
func chooseIndex(q *reportQuery, c rollupCount, rows int64, statements float64) string {
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
	return best
}

// edgeCount counts exactly the rows of q in one partial hour, e, of the
// given subaccounts (those the rollup found rows for).
func (s *Store) edgeCount(ctx context.Context, db queryer, q *reportQuery, subaccounts []int64, e [2]int64) (int64, error) {
	if len(subaccounts) == 0 || e[0] >= e[1] {
		return 0, nil
	}
	w := &whereBuilder{}
	w.in(`m.subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	w.add(`m.direction = ?`, string(q.dir))
	w.add(`m.at >= ?`, e[0])
	w.add(`m.at < ?`, e[1])
	q.dimConds(w, `m.`)
	from := `messages m`
	if s.dialect == SQLite {
		from += ` INDEXED BY messages_report` // at most an hour of it
	}
	var n int64
	if err := db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM `+from+w.sql()), w.args...).Scan(&n); err != nil {
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
