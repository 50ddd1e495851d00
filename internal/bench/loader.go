package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ticksapp/ticks/internal/store"
)

// seedColumns are the columns of messages a history writes; the others keep
// their defaults (user_id is always empty: the contacts have phones).
const seedColumns = `id, subaccount_id, channel_id, direction, wamid, origin, contact_id, phone, wa_id,
	sender_user_id, bot_id, campaign_id, content_type, text, template_name, template_language, template_category,
	correlation_id, state, state_rank, status, error_code, error_title, error_detail, with_session, conversation_id,
	conversation_type, conversation_category, conversation_expires_at, meta_conversation_id, meta_conversation_type,
	meta_conversation_expires_at, pricing_model, pricing_category, pricing_type, billable, pricing_rank, at, sent_at,
	delivered_at, read_at, failed_at, context_wamid, button_payload, referral, created_at`

var seedColumnCount = strings.Count(seedColumns, ",") + 1

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// row writes m as a row of seedColumns.
func (m *msg) row(row []any) {
	rank := int64(m.state.Rank())
	if m.direction == "mo" {
		rank = -1
	}
	var billable any
	if m.billable >= 0 {
		billable = m.billable == 1
	}
	var convID, convType, convCat, convExp any = nil, "", "", nil
	if c := m.conv; c != nil {
		convID, convType, convCat, convExp = c.ID, string(c.Type), c.Category, c.ExpiresAt.UnixMilli()
	}
	row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] =
		m.id, m.sub, m.ch, m.direction, nullStr(m.wamid), m.origin, m.contact, m.phone, m.waID
	row[9], row[10], row[11], row[12], row[13], row[14], row[15], row[16] =
		nullInt(m.sender), nullInt(m.bot), nullInt(m.campaign), m.contentType, m.text, m.tplName, m.tplLang, m.tplCat
	row[17], row[18], row[19], row[20], row[21], row[22], row[23], row[24] =
		m.correlation, string(m.state), rank, string(m.status), int64(m.errCode), m.errTitle, m.errDetail, m.withSession
	row[25], row[26], row[27], row[28], row[29], row[30], row[31] =
		convID, convType, convCat, convExp, m.metaConvID, m.metaConvTyp, nullInt(m.metaConvExp)
	row[32], row[33], row[34], row[35], row[36], row[37], row[38], row[39], row[40], row[41] =
		m.pricingModel, m.pricingC, m.pricingType, billable, int64(m.pricingRank), m.at, nullInt(m.sentAt),
		nullInt(m.deliveredAt), nullInt(m.readAt), nullInt(m.failedAt)
	row[42], row[43], row[44], row[45] = m.context, m.button, nullStr(m.referral), m.created
}

// rowBatch is rows the generator made, handed to the loader.
type rowBatch struct {
	vals []any
	n    int
}

const batchRows = 512

// rowSource runs a generator in a goroutine of its own, so that making
// rows and writing them use both cores, and hands the rows out in order.
type rowSource struct {
	ch   chan *rowBatch
	free chan *rowBatch
	cur  *rowBatch
	pos  int
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// produce starts g; keep chooses the messages that become rows.
func produce(ctx context.Context, g *generator, keep func(*msg) bool) *rowSource {
	ctx, cancel := context.WithCancel(ctx)
	s := &rowSource{ch: make(chan *rowBatch, 4), free: make(chan *rowBatch, 8), stop: cancel}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(s.ch)
		var m msg
		b := &rowBatch{vals: make([]any, batchRows*seedColumnCount)}
		for g.next(&m) {
			if !keep(&m) {
				continue
			}
			m.row(b.vals[b.n*seedColumnCount : (b.n+1)*seedColumnCount])
			if b.n++; b.n < batchRows {
				continue
			}
			select {
			case s.ch <- b:
			case <-ctx.Done():
				return
			}
			select {
			case b = <-s.free:
				b.n = 0
			default:
				b = &rowBatch{vals: make([]any, batchRows*seedColumnCount)}
			}
		}
		if b.n > 0 {
			select {
			case s.ch <- b:
			case <-ctx.Done():
			}
		}
	}()
	return s
}

// next copies the next row into row; false when there are no more.
func (s *rowSource) next(row []any) bool {
	for s.cur == nil || s.pos == s.cur.n {
		if s.cur != nil {
			select {
			case s.free <- s.cur:
			default:
			}
			s.cur = nil
		}
		b, ok := <-s.ch
		if !ok {
			return false
		}
		s.cur, s.pos = b, 0
	}
	copy(row, s.cur.vals[s.pos*seedColumnCount:(s.pos+1)*seedColumnCount])
	s.pos++
	return true
}

// close stops the generator and waits for it: after close, its state may
// be read.
func (s *rowSource) close() {
	s.stop()
	for range s.ch {
	}
	s.wg.Wait()
}

// loader writes rows fast through a connection of its own.
type loader struct {
	dialect store.Dialect
	db      *sql.DB
}

// openLoader connects to dsn. A fresh load runs without syncs and with a
// big page cache (a load that fails is started again); a live one writes
// beside the server, so it waits its turn for the write lock and syncs
// as the server does.
func openLoader(ctx context.Context, dsn string, live bool) (*loader, error) {
	l := &loader{dialect: store.SQLite}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		l.dialect = store.Postgres
		l.db, err = sql.Open("pgx", dsn)
		if err == nil {
			l.db.SetMaxOpenConns(1)
			_, err = l.db.ExecContext(ctx, `SET synchronous_commit = off`)
		}
		if err == nil && !live {
			_, err = l.db.ExecContext(ctx, `SET maintenance_work_mem = '1GB'`)
		}
		return l, err
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
	pragmas := "_pragma=busy_timeout(10000)&_pragma=synchronous(OFF)&_pragma=cache_size(-1000000)&_pragma=temp_store(MEMORY)"
	if live {
		pragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-131072)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	}
	l.db, err = sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		return nil, err
	}
	l.db.SetMaxOpenConns(1)
	return l, nil
}

func (l *loader) close() { l.db.Close() }

// savedDDL is what dropIndexes removed, to put back.
type savedDDL struct {
	indexes, triggers []string
}

// dropIndexes removes the secondary indexes of messages (not the ones that
// enforce uniqueness) and turns its triggers off.
func (l *loader) dropIndexes(ctx context.Context) (*savedDDL, error) {
	s := &savedDDL{}
	var query string
	if l.dialect == store.Postgres {
		query = `SELECT indexname, indexdef, 'index' FROM pg_indexes
			WHERE tablename = 'messages' AND schemaname = current_schema() AND indexdef NOT LIKE 'CREATE UNIQUE%'`
	} else {
		query = `SELECT name, sql, type FROM sqlite_master WHERE tbl_name = 'messages' AND type IN ('index', 'trigger')
			AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'`
	}
	rows, err := l.db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var name, def, typ string
		if err := rows.Scan(&name, &def, &typ); err != nil {
			rows.Close()
			return nil, err
		}
		if typ == "trigger" {
			s.triggers = append(s.triggers, def)
			names = append(names, "DROP TRIGGER "+name)
		} else {
			s.indexes = append(s.indexes, def)
			names = append(names, "DROP INDEX "+name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, stmt := range names {
		if _, err := l.db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	if l.dialect == store.Postgres {
		if _, err := l.db.ExecContext(ctx, `ALTER TABLE messages DISABLE TRIGGER USER`); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// restore builds the saved indexes, or turns the triggers back on.
func (l *loader) restore(ctx context.Context, s *savedDDL, triggers bool) error {
	list := s.indexes
	if triggers {
		list = s.triggers
		if l.dialect == store.Postgres {
			_, err := l.db.ExecContext(ctx, `ALTER TABLE messages ENABLE TRIGGER USER`)
			return err
		}
	}
	for _, stmt := range list {
		if _, err := l.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

// analyze collects planner statistics. After a fresh load it also moves
// PostgreSQL's contact ids past the loaded ones and vacuums (the
// visibility map the index-only scans need); beside a running server it
// samples, so that the write lock is not held long.
func (l *loader) analyze(ctx context.Context, live bool) error {
	if l.dialect == store.Postgres {
		if live {
			_, err := l.db.ExecContext(ctx, `ANALYZE messages, contacts`)
			return err
		}
		_, err := l.db.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('contacts', 'id'), (SELECT MAX(id) FROM contacts))`)
		for _, table := range []string{"messages", "contacts", "message_rollup_status", "message_rollup",
			"message_rollup_attributed", "message_rollup_delta"} {
			if err == nil {
				_, err = l.db.ExecContext(ctx, `VACUUM ANALYZE `+table)
			}
		}
		return err
	}
	if live {
		if _, err := l.db.ExecContext(ctx, `PRAGMA analysis_limit = 1000`); err != nil {
			return err
		}
	}
	_, err := l.db.ExecContext(ctx, `ANALYZE`)
	return err
}

// contactRow is a contact as the loader inserts it.
type contactRow struct {
	id, subaccount        int64
	e164, key, waID, name string
	correlation           string
	optedOut              bool
	preferenceAt          int64
	lastInbound           int64
	createdAt             int64
}

// contacts inserts contacts, with their ids when they have one.
func (l *loader) contacts(ctx context.Context, list []contactRow) error {
	cols := `subaccount_id, phone, phone_key, wa_id, name, correlation_id, opted_out, preference_at, last_inbound_at, created_at`
	withID := len(list) > 0 && list[0].id != 0
	if withID {
		cols = "id, " + cols
	}
	return l.bulk(ctx, "contacts", cols, len(list), func(i int, row []any) bool {
		c := &list[i]
		if withID {
			row[0], row = c.id, row[1:]
		}
		row[0], row[1], row[2], row[3], row[4], row[5] = c.subaccount, c.e164, c.key, c.waID, c.name, c.correlation
		row[6], row[7], row[8], row[9] = c.optedOut, c.preferenceAt, nullInt(c.lastInbound), c.createdAt
		return true
	})
}

// messages loads the rows of src, chunk rows per transaction, and returns
// how many it wrote.
func (l *loader) messages(ctx context.Context, src *rowSource, chunk int, progress func(written int)) (int, error) {
	written := 0
	for more := true; more; {
		n := 0
		err := l.bulk(ctx, "messages", seedColumns, chunk, func(i int, row []any) bool {
			if !src.next(row) {
				more = false
				return false
			}
			n++
			return true
		})
		if err != nil {
			return written, err
		}
		if written += n; progress != nil && n > 0 {
			progress(written)
		}
	}
	return written, nil
}

// bulk writes up to n rows into table in one transaction, asking fill
// for each until it says there are no more: COPY on PostgreSQL, prepared
// multi-row inserts on SQLite.
func (l *loader) bulk(ctx context.Context, table, cols string, n int, fill func(i int, row []any) bool) error {
	ncol := strings.Count(cols, ",") + 1
	if l.dialect == store.Postgres {
		conn, err := l.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			names := strings.Split(cols, ",")
			for i := range names {
				names[i] = strings.TrimSpace(names[i])
			}
			row := make([]any, ncol)
			i := 0
			_, err := pc.CopyFrom(ctx, pgx.Identifier{table}, names, pgx.CopyFromFunc(func() ([]any, error) {
				if i == n || !fill(i, row) {
					return nil, nil
				}
				i++
				return row, nil
			}))
			return err
		})
	}
	const per = 100 // rows per statement
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", ncol), ",") + ")"
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+table+` (`+cols+`) VALUES `+strings.TrimSuffix(strings.Repeat(one+",", per), ","))
	if err != nil {
		return err
	}
	defer stmt.Close()
	args := make([]any, ncol*per)
	k := 0 // rows in args
	for i := 0; i < n; i++ {
		if !fill(i, args[k*ncol:(k+1)*ncol]) {
			break
		}
		if k++; k == per {
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert %s: %w", table, err)
			}
			k = 0
		}
	}
	for r := 0; r < k; r++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+cols+`) VALUES `+one, args[r*ncol:(r+1)*ncol]...); err != nil {
			return fmt.Errorf("insert %s: %w", table, err)
		}
	}
	return tx.Commit()
}
