package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"zombiezen.com/go/sqlite"

	"github.com/ticksapp/ticks/internal/domain"
)

// rawReaders are read-only SQLite connections for the reads that hand over
// the most column values — exports, and the messages an apply transaction
// preloads (see preloadChunk for why that read is consistent) — opened through
// zombiezen.com/go/sqlite, which calls the same SQLite (modernc's
// translation to Go) without database/sql between: modernc's driver opens
// every connection in serialized mode, so each of the two calls per column
// it makes takes the connection's mutex, and database/sql converts every
// value once more on Scan. An export reads tens of millions of column
// values; read this way a report row costs half the CPU (measured on 10 M
// messages, BenchmarkReadExportColumns: 225–238k rows/s on one core
// against 104–114k), and applying a status about 4 µs less. Each
// connection is used by one goroutine at a time, which is all SQLite's
// multi-thread mode asks.
type rawReaders struct {
	path   string
	mu     sync.Mutex
	free   []*sqlite.Conn
	closed bool
}

func newRawReaders(path string) *rawReaders { return &rawReaders{path: path} }

// get returns an idle connection, or opens one.
func (p *rawReaders) get() (*sqlite.Conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, fmt.Errorf("store closed")
	}
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := sqlite.OpenConn(p.path, sqlite.OpenReadOnly)
	if err != nil {
		return nil, err
	}
	c.SetBusyTimeout(10 * time.Second)
	if err := rawExec(c, `PRAGMA query_only = 1`); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// put gives c back for the next export, or closes it once the store is
// closed or enough are idle.
func (p *rawReaders) put(c *sqlite.Conn) {
	c.SetInterrupt(nil)
	p.mu.Lock()
	if p.closed || len(p.free) >= 8 {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.free = append(p.free, c)
	p.mu.Unlock()
}

func (p *rawReaders) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.free {
		c.Close()
	}
	p.free = nil
}

func rawExec(c *sqlite.Conn, query string) error {
	st, _, err := c.PrepareTransient(query)
	if err != nil {
		return err
	}
	defer st.Finalize()
	_, err = st.Step()
	return err
}

// query runs query with args on one of the connections and calls each
// for every row, until each returns an error. A kept statement stays
// prepared on the connection for the next run of the same text: for a
// fixed query run often (the apply's preload), not for exports, whose
// texts vary with their filters and would pile up on every connection
// (preparing one costs little next to reading its window).
func (p *rawReaders) query(ctx context.Context, query string, keep bool, args []any, each func(st *sqlite.Stmt) error) (err error) {
	c, err := p.get()
	if err != nil {
		return err
	}
	defer p.put(c)
	c.SetInterrupt(ctx.Done())
	var st *sqlite.Stmt
	if keep {
		st, err = c.Prepare(query)
	} else {
		st, _, err = c.PrepareTransient(query)
	}
	if err != nil {
		return err
	}
	defer func() {
		if !keep {
			if ferr := st.Finalize(); err == nil && ferr != nil {
				err = ferr
			}
			return
		}
		if rerr := st.Reset(); err == nil && rerr != nil {
			err = rerr
		}
		st.ClearBindings()
	}()
	if err := bindArgs(st, args); err != nil {
		return err
	}
	for {
		row, err := st.Step()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if !row {
			return nil
		}
		if err := each(st); err != nil {
			return err
		}
	}
}

// bindArgs binds args to st's parameters the way database/sql binds them
// on modernc.org/sqlite: $N takes the Nth argument. SQLite itself numbers
// $N parameters in the order they first appear in the text, which is not
// always N (a statement built in pieces may number a later piece's
// placeholders first), so each is bound by its name. A ? parameter takes
// the argument of its own index: the long generated lists of the apply of
// webhooks are written with ? on SQLite (sqliteDialect.param).
func bindArgs(st *sqlite.Stmt, args []any) error {
	for i := 1; i <= st.BindParamCount(); i++ {
		k := i
		if name := st.BindParamName(i); name != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(name, "$"))
			if err != nil || !strings.HasPrefix(name, "$") {
				return fmt.Errorf("parameter %s: want $1, $2, …", name)
			}
			k = n
		}
		if k < 1 || k > len(args) {
			return fmt.Errorf("parameter %d: %d arguments", k, len(args))
		}
		switch v := args[k-1].(type) {
		case int64:
			st.BindInt64(i, v)
		case int:
			st.BindInt64(i, int64(v))
		case string:
			st.BindText(i, v)
		case bool:
			st.BindBool(i, v)
		default:
			return fmt.Errorf("argument %d: unsupported type %T", k, v)
		}
	}
	return nil
}

// nullInt64 reads a column that may be NULL.
func nullInt64(st *sqlite.Stmt, col int) sql.NullInt64 {
	if st.ColumnType(col) == sqlite.TypeNull {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: st.ColumnInt64(col), Valid: true}
}

// rawExport runs query, which selects exportColumns (notificationColumns
// when notifications is set), with args, and calls each with every row in
// order; the message is reused between calls.
func (p *rawReaders) rawExport(ctx context.Context, query string, args []any, notifications bool, each func(m *domain.Message, at int64)) error {
	var m domain.Message
	var sender, bot, campaign int64
	var expires, delivered, read, replied time.Time
	// rawTime reads a time column that may be NULL into *t.
	rawTime := func(st *sqlite.Stmt, col int, t *time.Time) *time.Time {
		if st.ColumnType(col) == sqlite.TypeNull {
			return nil
		}
		*t = fromMS(st.ColumnInt64(col))
		return t
	}
	var few fewValues
	return p.query(ctx, query, false, args, func(st *sqlite.Stmt) error {
		// The columns of exportColumns, in order.
		at := st.ColumnInt64(2)
		m.ID = st.ColumnInt64(0)
		m.Direction = domain.Direction(few.text(st, 1))
		m.At = fromMS(at)
		m.Status = domain.Status(few.text(st, 3))
		m.ErrorCode = st.ColumnInt(4)
		m.ErrorTitle = few.text(st, 5)
		m.ErrorDetail = few.text(st, 6)
		m.ErrorArgs = decodeArgs(few.text(st, 20))
		m.Phone = st.ColumnText(7)
		m.WAID = st.ColumnText(8)
		m.UserID = st.ColumnText(9)
		m.SenderUserID, m.BotID, m.CampaignID, m.ConversationExpires = nil, nil, nil, nil
		if st.ColumnType(10) != sqlite.TypeNull {
			sender = st.ColumnInt64(10)
			m.SenderUserID = &sender
		}
		if st.ColumnType(11) != sqlite.TypeNull {
			bot = st.ColumnInt64(11)
			m.BotID = &bot
		}
		if st.ColumnType(12) != sqlite.TypeNull {
			campaign = st.ColumnInt64(12)
			m.CampaignID = &campaign
		}
		m.ContentType = few.text(st, 13)
		m.Text = st.ColumnText(14)
		m.WithSession = st.ColumnBool(15)
		m.ConversationID = st.ColumnText(16)
		m.ConversationType = domain.ConversationType(few.text(st, 17))
		if st.ColumnType(18) != sqlite.TypeNull {
			expires = fromMS(st.ColumnInt64(18))
			m.ConversationExpires = &expires
		}
		m.ButtonPayload = few.text(st, 19)
		if notifications {
			m.TemplateName = few.text(st, 21)
			m.DeliveredAt = rawTime(st, 22, &delivered)
			m.ReadAt = rawTime(st, 23, &read)
			m.RepliedAt = rawTime(st, 24, &replied)
		}
		each(&m, at)
		return nil
	})
}

// fewValues hands out the text of columns that take few distinct values
// (a status, a content type, an error's title): each value is made a
// string once per query and handed out again, instead of a new string per
// row (an export reads millions of rows; every string is an allocation the
// collector then tracks). Values are kept up to fewValuesMax per column and
// fewValueLen bytes long; others are made each time.
type fewValues struct {
	buf  [fewValueLen]byte
	last [fewColumns]string // each column's value in the row before
	cols [fewColumns]map[string]string
}

const (
	fewColumns   = 32 // columns it knows, by index
	fewValueLen  = 96
	fewValuesMax = 256
)

func (f *fewValues) text(st *sqlite.Stmt, col int) string {
	n := st.ColumnLen(col)
	if n == 0 {
		return ""
	}
	if n > fewValueLen || col >= fewColumns {
		return st.ColumnText(col)
	}
	b := f.buf[:st.ColumnBytes(col, f.buf[:n])]
	if string(b) == f.last[col] {
		return f.last[col]
	}
	seen := f.cols[col]
	if v, ok := seen[string(b)]; ok {
		f.last[col] = v
		return v
	}
	v := string(b)
	f.last[col] = v
	if seen == nil {
		seen = map[string]string{}
		f.cols[col] = seen
	}
	if len(seen) < fewValuesMax {
		seen[v] = v
	}
	return v
}
