package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"zombiezen.com/go/sqlite"

	"github.com/ticksapp/ticks/internal/domain"
)

// exportWindowRows is about how many messages (matching or not) one window
// of an export reads: windows are cut from the rollup's hourly counts, so
// a window's rows, held until the writer reaches them, stay a few MB.
// A variable so that tests can cut small data into many windows.
var exportWindowRows int64 = 16000

// exportColumns are the columns of the detailed report's rows: fewer
// columns read faster, and an export reads millions of rows.
const exportColumns = `m.id, m.direction, m.at, m.status, m.error_code, m.error_title, m.error_detail, m.phone, m.wa_id,
	m.user_id, m.sender_user_id, m.bot_id, m.campaign_id, m.content_type, m.text, m.with_session,
	COALESCE(m.conversation_id, ''), m.conversation_type, m.conversation_expires_at, m.button_payload, m.error_args`

// notificationColumns are exportColumns and what the report manager's
// notifications summary adds: the template, when the message was delivered
// and read, and when the contact first replied to it (the earliest inbound
// message quoting it, found through messages_context).
const notificationColumns = exportColumns + `, m.template_name, m.delivered_at, m.read_at,
	(SELECT MIN(r.at) FROM messages r WHERE r.context_wamid = m.wamid AND r.context_wamid <> '')`

// exportScanner scans exportColumns (and, when notifications is set,
// notificationColumns) into one reused message, through a scan function:
// database/sql's Rows.Scan or pgx's (pgtype.Int8 is a sql.Scanner for the
// one and native to the other).
type exportScanner struct {
	notifications                  bool
	m                              domain.Message
	dir, status, convType          string
	sender, bot, campaign, convExp pgtype.Int8
	at                             int64
	args                           string
	senderV, botV, campaignV       int64
	expires                        time.Time
	delivered, read, replied       pgtype.Int8
	deliveredV, readV, repliedV    time.Time
	dest                           []any
}

func (sc *exportScanner) scan(scan func(dest ...any) error) (*domain.Message, error) {
	m := &sc.m
	if sc.dest == nil {
		sc.dest = []any{&m.ID, &sc.dir, &sc.at, &sc.status, &m.ErrorCode, &m.ErrorTitle, &m.ErrorDetail, &m.Phone,
			&m.WAID, &m.UserID, &sc.sender, &sc.bot, &sc.campaign, &m.ContentType, &m.Text, &m.WithSession,
			&m.ConversationID, &sc.convType, &sc.convExp, &m.ButtonPayload, &sc.args}
		if sc.notifications {
			sc.dest = append(sc.dest, &m.TemplateName, &sc.delivered, &sc.read, &sc.replied)
		}
	}
	if err := scan(sc.dest...); err != nil {
		return nil, err
	}
	if sc.notifications {
		m.DeliveredAt = reuseMS(sc.delivered, &sc.deliveredV)
		m.ReadAt = reuseMS(sc.read, &sc.readV)
		m.RepliedAt = reuseMS(sc.replied, &sc.repliedV)
	}
	m.Direction, m.Status, m.ConversationType = domain.Direction(sc.dir), domain.Status(sc.status), domain.ConversationType(sc.convType)
	m.At = fromMS(sc.at)
	m.ErrorArgs = decodeArgs(sc.args)
	m.SenderUserID, m.BotID, m.CampaignID = reuseInt(sc.sender, &sc.senderV), reuseInt(sc.bot, &sc.botV), reuseInt(sc.campaign, &sc.campaignV)
	m.ConversationExpires = reuseMS(sc.convExp, &sc.expires)
	return m, nil
}

// exportWindow is one time slice [lo, hi) of an export and, once read, its
// rows in report order.
type exportWindow[T any] struct {
	lo, hi int64
	rows   []T
	err    error
	done   chan struct{}
}

// ExportRows reads every message matching f (its limit and cursor
// ignored), newest first, turns each into a T with row and hands the Ts to
// emit in that order, until emit returns an error.
//
// The messages carry the detailed report's columns only (id, direction,
// time, status and its reason, phone, WhatsApp ids, sender, campaign,
// content type, text, session, conversation and button payload), and the
// message row gets is reused once row returns. The range is cut into time
// windows of about exportWindowRows rows each, from the rollup's hourly
// counts; windows are read and turned into rows by several goroutines at
// once (row must be safe for that), a few windows ahead of emit, so memory
// stays flat in the row count and no transaction spans the export.
func ExportRows[T any](ctx context.Context, s *Store, f *domain.MessageFilter, row func(*domain.Message) T, emit func(T) error) error {
	return exportRows(ctx, s, f, false, row, emit)
}

// ExportNotificationRows is ExportRows over outbound messages with the
// report manager's notification fields set as well: TemplateName,
// DeliveredAt, ReadAt and RepliedAt (the first reply quoting the message).
func ExportNotificationRows[T any](ctx context.Context, s *Store, f *domain.MessageFilter, row func(*domain.Message) T, emit func(T) error) error {
	if f.Direction != domain.DirectionMT {
		return fmt.Errorf("export notifications: direction %q, want MT", f.Direction)
	}
	return exportRows(ctx, s, f, true, row, emit)
}

func exportRows[T any](ctx context.Context, s *Store, f *domain.MessageFilter, notifications bool, row func(*domain.Message) T, emit func(T) error) error {
	q := newReportQuery(f, s.sqlDialect)
	if q.empty() {
		return nil
	}
	var streams []*stream
	var windows [][2]int64
	var guide *tableGuide
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if streams, _, err = s.planReport(ctx, tx, q, false); err != nil {
			return err
		}
		if len(streams) == 0 {
			return nil // nothing the principal may see matches
		}
		if q.pinpoint {
			// A phone, correlation or conversation id: few rows, one window.
			windows = [][2]int64{{q.from, q.to}}
			return nil
		}
		if windows, err = s.exportWindows(ctx, tx, q, streams); err != nil {
			return err
		}
		guide, err = s.tableOrderGuide(ctx, tx, q, windows)
		return err
	})
	if err != nil || len(streams) == 0 {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// On any return, and first on an early one (emit refused a row, a
	// window failed): stop the readers, then wait for them.
	defer func() {
		cancel()
		wg.Wait()
	}()
	workers := max(1, min(s.sqlDialect.exportReaders(runtime.GOMAXPROCS(0)), 8))
	ahead := make(chan struct{}, workers+1) // windows read but not yet emitted
	todo := make(chan *exportWindow[T])
	order := make(chan *exportWindow[T], workers+1)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range todo {
				w.rows, w.err = readWindow(ctx, s, q, streams, guide, w.lo, w.hi, notifications, row)
				close(w.done)
			}
		}()
	}
	go func() {
		defer close(todo)
		defer close(order)
		for _, bounds := range windows {
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			w := &exportWindow[T]{lo: bounds[0], hi: bounds[1], done: make(chan struct{})}
			order <- w
			todo <- w
		}
	}()
	for w := range order {
		<-w.done
		if w.err != nil {
			return w.err
		}
		for _, r := range w.rows {
			if err := emit(r); err != nil {
				return err
			}
		}
		w.rows = nil
		<-ahead
	}
	return ctx.Err()
}

// readWindow reads the rows of every stream in [lo, hi), newest first:
// through the stream's index, or, when guide says the window's rows lie
// close together in the table, in the table's own order (see
// tableGuide), then sorted.
func readWindow[T any](ctx context.Context, s *Store, q *reportQuery, streams []*stream, guide *tableGuide, lo, hi int64, notifications bool, row func(*domain.Message) T) ([]T, error) {
	type keyed struct {
		at, id int64
		v      T
	}
	var out []T
	var merged []keyed
	sorted := true // merged is in report order
	for _, st := range streams {
		w := st.w.clone()
		if lo > q.from {
			w.add(`m.at >= ` + w.arg(lo))
		}
		if hi != math.MaxInt64 {
			w.add(`m.at < ` + w.arg(min(hi, st.to)))
		}
		from := `messages m` + s.sqlDialect.indexedBy(st.index)
		order := ` ORDER BY m.at DESC, m.id DESC`
		inOrder := len(streams) == 1
		if guide != nil && st.subaccount != 0 {
			span, err := guide.span(ctx, s, st.subaccount, q.dir, max(lo, q.from), min(hi, st.to))
			if err != nil {
				return nil, fmt.Errorf("export messages: %w", err)
			}
			if span.rows == 0 {
				continue
			}
			if span.tableOrder {
				// The rows' ids bound them: read that stretch of the
				// table front to back (newest id first), no index.
				w.add(`m.id >= ` + w.arg(span.lo))
				w.add(`m.id <= ` + w.arg(span.hi))
				from, order, inOrder = `messages m NOT INDEXED`, ` ORDER BY m.id DESC`, false
				tableOrderReads.Add(1)
			}
		}
		each := func(m *domain.Message, at int64) {
			if inOrder {
				out = append(out, row(m))
				return
			}
			if n := len(merged); n > 0 && sorted {
				last := &merged[n-1]
				sorted = at < last.at || at == last.at && m.ID < last.id
			}
			merged = append(merged, keyed{at, m.ID, row(m)})
		}
		columns := exportColumns
		if notifications {
			columns = notificationColumns
		}
		query := `SELECT ` + columns + ` FROM ` + from + w.sql() + order
		var err error
		switch {
		case s.raw != nil:
			err = s.raw.rawExport(ctx, query, w.args, notifications, each)
		case s.sqlDialect.name() == Postgres:
			err = s.pgExport(ctx, query, w.args, notifications, each)
		default:
			err = s.queryExport(ctx, query, w.args, notifications, each)
		}
		if err != nil {
			return nil, fmt.Errorf("export messages: %w", err)
		}
		if !inOrder && st != streams[len(streams)-1] {
			sorted = false // the next stream's rows interleave with these
		}
	}
	if merged == nil {
		return out, nil
	}
	if !sorted {
		slices.SortFunc(merged, func(a, b keyed) int {
			if a.at != b.at {
				return cmpDesc(a.at, b.at)
			}
			return cmpDesc(a.id, b.id)
		})
	}
	out = make([]T, len(merged))
	for i := range merged {
		out[i] = merged[i].v
	}
	return out, nil
}

// queryExport runs query, which selects exportColumns (notificationColumns
// when notifications is set), through database/sql and calls each with
// every row in order; the message is reused between calls.
func (s *Store) queryExport(ctx context.Context, query string, args []any, notifications bool, each func(m *domain.Message, at int64)) error {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return scanExport(rows, notifications, each)
}

// exportCursor is the rows of an export's query, from database/sql or pgx.
type exportCursor interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanExport calls each with every row of rows in order; the message is
// reused between calls.
func scanExport(rows exportCursor, notifications bool, each func(m *domain.Message, at int64)) error {
	sc := exportScanner{notifications: notifications}
	for rows.Next() {
		m, err := sc.scan(rows.Scan)
		if err != nil {
			return err
		}
		each(m, sc.at)
	}
	return rows.Err()
}

// reuseMS sets *t to a time read in milliseconds and returns t, or nil for
// NULL, so a reused message points into memory its reader owns.
func reuseMS(v pgtype.Int8, t *time.Time) *time.Time {
	if !v.Valid {
		return nil
	}
	*t = fromMS(v.Int64)
	return t
}

// reuseInt is reuseMS for a number.
func reuseInt(v pgtype.Int8, n *int64) *int64 {
	if !v.Valid {
		return nil
	}
	*n = v.Int64
	return n
}

func cmpDesc(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// exportWindows cuts [q.from, q.to) into contiguous windows, newest first,
// of about exportWindowRows messages of the streams' subaccounts and
// direction each, by the rollup's hourly counts. An hour holding more is
// cut into equal parts. The first window is open above and the last below,
// so no row falls outside them whatever the counts say.
func (s *Store) exportWindows(ctx context.Context, db queryer, q *reportQuery, streams []*stream) ([][2]int64, error) {
	w := &whereBuilder{}
	w.in(`subaccount_id`, len(streams), func(i int) any { return streams[i].subaccount })
	w.add(`direction = ` + w.arg(string(q.dir)))
	lo, hi := q.enclosing()
	w.add(`hour >= ` + w.arg(lo))
	if hi != math.MaxInt64 {
		w.add(`hour < ` + w.arg(hi))
	}
	rows, err := db.QueryContext(ctx, `SELECT hour, CAST(SUM(n) AS BIGINT) FROM message_rollup_status`+w.sql()+
		` GROUP BY hour ORDER BY hour DESC`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("export windows: %w", err)
	}
	defer rows.Close()
	var cuts []int64 // lower bounds of the windows, descending
	var acc int64
	for rows.Next() {
		var hour, n int64
		if err := rows.Scan(&hour, &n); err != nil {
			return nil, fmt.Errorf("export windows: %w", err)
		}
		start := hour * hourMS
		if n > exportWindowRows {
			// Close the window above this hour, then cut the hour itself.
			if acc > 0 {
				cuts = append(cuts, start+hourMS)
				acc = 0
			}
			parts := (n + exportWindowRows - 1) / exportWindowRows
			for p := parts - 1; p >= 1; p-- {
				cuts = append(cuts, start+hourMS*p/parts)
			}
			cuts = append(cuts, start)
			continue
		}
		if acc += n; acc >= exportWindowRows {
			cuts = append(cuts, start)
			acc = 0
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export windows: %w", err)
	}
	var windows [][2]int64
	upper := q.to
	for _, c := range cuts {
		if c <= q.from || c >= upper {
			continue
		}
		windows = append(windows, [2]int64{c, upper})
		upper = c
	}
	return append(windows, [2]int64{q.from, upper}), nil
}

// Reading a window in the table's order. A message's id is the time it was
// stored, in milliseconds, shifted left 20 bits (Store.NewID; the bench
// seed's too), and messages are stored about when they happen, so a time
// window's rows lie in one stretch of the table: the stretch between the
// window's smallest and largest ids. Read through the time index, each row
// is a seek into the table from its root (on 10 M messages, 28 % of an
// export's CPU, and reads of the pages the seeks pass through); read as
// that stretch of the table, front to back, each page is read once, and
// the rows of other subaccounts and directions in it are read and skipped.
// So a window is read that way when the stretch holds few rows besides its
// own: tableGuide estimates how many from the rollup's hourly counts of
// every subaccount and direction over the hours the ids span, and a window
// whose ids stray outside the export's hours (messages stored long after
// they happened, an import) is read through the index as before. Either
// way the rows are the same: the stretch holds every row of the window,
// and the query keeps every condition.

// tableOrderFactor is how many rows the stretch may hold for each row of
// the window for it to be read in the table's order (see tableGuide).
var tableOrderFactor = 2.0

// tableOrderReads counts the windows read in the table's order, for tests.
var tableOrderReads atomic.Int64

// tableGuide knows how many messages, of every subaccount and direction,
// each hour of an export holds.
type tableGuide struct {
	lo, hi int64           // the hours it knows, [lo, hi); hi is math.MaxInt64 when open
	hours  map[int64]int64 // hour → messages
}

// tableSpan is where one window of one subaccount lies in the table.
type tableSpan struct {
	rows       int64 // the window's messages (of its subaccount, direction and time)
	lo, hi     int64 // their smallest and largest ids
	tableOrder bool  // read [lo, hi] in the table's order
}

// tableOrderGuide returns the guide to an export's windows, or nil when
// they are read through the indexes: only SQLite's direct readers read
// this way (it was measured on SQLite, where a seek costs most; PostgreSQL
// keeps its index scans), not for filters the time index does not hold alone (their rows may be rare in
// the table), not for an export of one window.
func (s *Store) tableOrderGuide(ctx context.Context, db queryer, q *reportQuery, windows [][2]int64) (*tableGuide, error) {
	if s.raw == nil || q.pinpoint || len(q.dims()) > 0 || len(windows) < 2 {
		return nil, nil
	}
	lo, hi := q.enclosing()
	// An hour each side: messages are stored a little after they happen.
	g := &tableGuide{lo: max(lo-1, 0), hi: hi, hours: map[int64]int64{}}
	if hi != math.MaxInt64 {
		g.hi = hi + 1
	}
	w := &whereBuilder{}
	w.add(`hour >= ` + w.arg(g.lo))
	if g.hi != math.MaxInt64 {
		w.add(`hour < ` + w.arg(g.hi))
	}
	rows, err := db.QueryContext(ctx, `SELECT hour, CAST(SUM(n) AS BIGINT) FROM message_rollup_status`+w.sql()+
		` GROUP BY hour`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("export guide: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var hour, n int64
		if err := rows.Scan(&hour, &n); err != nil {
			return nil, fmt.Errorf("export guide: %w", err)
		}
		g.hours[hour] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export guide: %w", err)
	}
	return g, nil
}

// span finds where the messages of subaccount sa, direction dir and time
// [lo, hi) lie in the table (from the time index alone), and whether to
// read them in the table's order.
func (g *tableGuide) span(ctx context.Context, s *Store, sa int64, dir domain.Direction, lo, hi int64) (tableSpan, error) {
	var sp tableSpan
	err := s.raw.query(ctx, `SELECT MIN(id), MAX(id), COUNT(*) FROM messages INDEXED BY messages_report
		WHERE subaccount_id = $1 AND direction = $2 AND at >= $3 AND at < $4`, true,
		[]any{sa, string(dir), lo, hi}, func(st *sqlite.Stmt) error {
			sp.lo, sp.hi, sp.rows = st.ColumnInt64(0), st.ColumnInt64(1), st.ColumnInt64(2)
			return nil
		})
	if err != nil || sp.rows == 0 {
		return sp, err
	}
	sp.tableOrder = g.stretch(sp.lo>>idTimeShift, sp.hi>>idTimeShift) <= tableOrderFactor*float64(sp.rows)
	return sp, nil
}

// idTimeShift is how far Store.NewID shifts the milliseconds it is made of.
const idTimeShift = 20

// stretch estimates how many messages were stored between the times a and
// b (milliseconds, both included), from the hours' counts, each hour's
// spread evenly over it; +Inf when the guide does not know those hours.
func (g *tableGuide) stretch(a, b int64) float64 {
	if a > b || a < g.lo*hourMS || (g.hi != math.MaxInt64 && b >= g.hi*hourMS) {
		return math.Inf(1)
	}
	var n float64
	for h := a / hourMS; h <= b/hourMS; h++ {
		c := g.hours[h]
		if c == 0 {
			continue
		}
		from, to := max(a, h*hourMS), min(b+1, (h+1)*hourMS)
		n += float64(c) * float64(to-from) / hourMS
	}
	return n
}
