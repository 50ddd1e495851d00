package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // SQLite driver "sqlite"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/inboxlog"
)

// Where SQLite and PostgreSQL part, all in this file. The rest of the
// store writes one SQL for both, with $1, $2, … placeholders: PostgreSQL's
// own, and modernc.org/sqlite binds $N to the Nth argument too (as do the
// raw readers, rawread.go). Upserts (ON CONFLICT … excluded), RETURNING,
// time buckets (unix milliseconds divided in SQL) and IN lists are the
// same on both. What differs is below, one method per difference, and
// the migrations (a folder per dialect; PostgreSQL keeps the rollup with
// statement triggers appending to a delta table, SQLite with row
// triggers). The webhook inbox differs in storage rather than in SQL (a
// log of files beside a SQLite database, a table on PostgreSQL): see
// inbox_log.go and inbox_table.go.
//
// modernc.org/sqlite looks up the name of every $N parameter on each run,
// through a scan of the statement's parameter list: a cost that grows
// with the square of their number. It is lost in the run of a statement
// of tens of parameters, as every statement here has (31 cost about 3 µs
// more than with ?); one of a thousand, a multi-row VALUES, binds in
// 1.5 ms against 0.15 ms with ?: the long generated lists of the apply of
// webhooks are written with sqlDialect.param, ? on SQLite.

// sqlDialect is what the store does differently on one database.
type sqlDialect interface {
	// name is the dialect's name, as Store.Dialect returns it.
	name() Dialect
	// open connects s to the database dsn names: its writer and reader
	// pools, and its inbox.
	open(s *Store, dsn string, o options) error
	// migrations names the folder of the embedded migrations and the
	// dialect goose runs them with.
	migrations() (dir string, d goose.Dialect)
	// checkpoint is the statement that copies the write-ahead log into
	// the database file and empties it; "" when there is none to run.
	checkpoint() string
	// readTxOptions are those of the read-only transactions that give a
	// report's several statements one snapshot.
	readTxOptions() *sql.TxOptions
	// indexedBy is what follows a table in FROM to read it through index
	// ("" lets the planner choose).
	indexedBy(index string) string
	// reportPage selects messageColumns of the rows of messages m (and
	// its contact c) where holds, newest first, the first limit of them,
	// through index when the dialect takes that hint.
	reportPage(index, where, limit string) string
	// rollupFrom is rollup table l as readers see it, aliased r, read
	// through index when the dialect takes that hint.
	rollupFrom(l rollupLevel, index string) string
	// rollupPending is what readers add to the rollup tables (and their
	// day level) for the UTC hours [lo, hi): a SELECT of cols (the key
	// columns, hour written as the caller needs it) and n from the changes
	// not yet folded in, with its conditions' placeholders from w; "" when
	// the tables are exact as they stand.
	rollupPending(w *whereBuilder, cols string, lo, hi int64) string
	// rollupRebuild are the statements RebuildRollup runs before it
	// empties and refills the rollup tables, and after.
	rollupRebuild() (before, after []string)
	// rollupFold are the statements that fold pending rollup changes
	// into the rollup tables; none when changes are never pending.
	rollupFold() []string
	// analyzesNewIndexes is whether Migrate gives the indexes migrations
	// create the statistics the other indexes of their table have (see
	// Store.analyzeNewIndexes); false where the database does it itself.
	analyzesNewIndexes() bool
	// conversationIndex is the partial index holding only the rows of
	// direction dir and conversation type t, or of those the ones with
	// the session flag session when its terms name it; nil when there is
	// none.
	conversationIndex(dir domain.Direction, t domain.ConversationType, session *bool) *partialIndex
	// rowReadCost is what reading a message's row through a non-covering
	// index costs, in entries of the covering time index read in order
	// (the page plans' unit, see chooseIndex).
	rowReadCost() float64
	// exportReaders is how many goroutines read an export's windows on a
	// machine of the given cores.
	exportReaders(cores int) int
	// param is the nth (from 1) parameter of a statement built with it
	// throughout: long generated lists (multi-row VALUES, IN lists of
	// the apply of webhooks), never mixed with hand-written $N.
	param(n int) string
	// applyBegin are the statements that start the transaction of an
	// apply of webhooks.
	applyBegin() []string
	// appliesRollup reports whether the apply of webhooks writes the
	// rollup moves it counted itself (and marks the rows so the update
	// triggers skip them) instead of leaving them to the triggers.
	appliesRollup() bool
	// lockRow is what ends a SELECT of one row to lock it until the
	// transaction ends ("" where the one writer already excludes others).
	lockRow() string
}

// dialectOf returns the dialect of a data source name: "postgres://…" or
// "postgresql://…" is PostgreSQL, anything else a SQLite file.
func dialectOf(dsn string) sqlDialect {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return postgresDialect{}
	}
	return sqliteDialect{}
}

// sqliteDialect is SQLite through modernc.org/sqlite: a single writer
// connection and a pool of readers on one file in WAL mode.
type sqliteDialect struct{}

func (sqliteDialect) name() Dialect { return SQLite }

func (sqliteDialect) open(s *Store, dsn string, o options) error {
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
	if path == "" {
		return errors.New("open sqlite: empty database path")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return fmt.Errorf("open sqlite: %w", err)
		}
	}
	pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(" + o.sqliteSync + ")&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	// One writer connection: SQLite allows one writer, and serialising in
	// Go avoids busy retries. Immediate transactions take the write lock
	// at BEGIN, so a transaction never fails half way for want of it.
	// The group writer runs each piece in a savepoint, and a savepoint
	// keeps the pages it changes in a statement sub-journal: a temporary
	// file by default, written with a syscall a page. In memory it costs
	// a copy (event batches: 5 times faster).
	writer := pragmas + "&_pragma=temp_store(MEMORY)&_txlock=immediate"
	if path != ":memory:" {
		// Checkpoints run beside the writer (checkpointer.go).
		writer += "&_pragma=wal_autocheckpoint(" + strconv.Itoa(walAutocheckpointPages) + ")"
	}
	w, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?"+writer)
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	s.w = w
	r, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s.r = r
	in := &inboxLog{s: s, dir: InboxDir(path), legacy: legacyInboxPath(path),
		opts: inboxlog.Options{Sync: o.sqliteSync == "full", SegmentBytes: o.inboxSegmentBytes}}
	s.inbox = in
	events := &intakeLog{s: s, dir: EventsDir(path), opts: inboxlog.Options{Sync: o.sqliteSync == "full"}}
	s.intake = events
	if path == ":memory:" {
		if in.dir, err = os.MkdirTemp("", "ticks-inbox-"); err != nil {
			return fmt.Errorf("open sqlite inbox: %w", err)
		}
		in.temp = true
		if events.dir, err = os.MkdirTemp("", "ticks-events-"); err != nil {
			return fmt.Errorf("open sqlite event intake: %w", err)
		}
		events.temp = true
	} else {
		s.raw = newRawReaders(path)
		if s.ckpt, err = startCheckpointer(path, pragmas); err != nil {
			return fmt.Errorf("open sqlite checkpointer: %w", err)
		}
	}
	return nil
}

func (sqliteDialect) migrations() (string, goose.Dialect) {
	return "migrations/sqlite", goose.DialectSQLite3
}

func (sqliteDialect) checkpoint() string { return `PRAGMA wal_checkpoint(TRUNCATE)` }

// A SQLite read transaction sees one snapshot from its first read on.
func (sqliteDialect) readTxOptions() *sql.TxOptions { return &sql.TxOptions{ReadOnly: true} }

func (sqliteDialect) indexedBy(index string) string {
	if index == "" {
		return ""
	}
	return ` INDEXED BY ` + index
}

// SQLite tests the conditions on the index entry and reads the row only
// when they hold, so a page reads its rows in one statement.
func (d sqliteDialect) reportPage(index, where, limit string) string {
	return `SELECT ` + messageColumns + ` FROM messages m` + d.indexedBy(index) +
		` LEFT JOIN contacts c ON c.id = m.contact_id` + where + ` ORDER BY m.at DESC, m.id DESC LIMIT ` + limit
}

// On SQLite the rollup tables are exact as they stand: row triggers (and
// the apply of status webhooks, applier.writeRollup) write them directly.
func (d sqliteDialect) rollupFrom(l rollupLevel, index string) string {
	return rollupTables[l].name + ` r` + d.indexedBy(index)
}

func (sqliteDialect) rollupPending(*whereBuilder, string, int64, int64) string { return "" }

func (sqliteDialect) rollupRebuild() (before, after []string) { return nil, nil }

func (sqliteDialect) rollupFold() []string { return nil }

func (sqliteDialect) analyzesNewIndexes() bool { return true }

// SQLite's partial indexes of the rare conversation rows: the free entry
// points (about 3 % of messages, migration 00070) and the messages sent
// outside a session in a user-initiated conversation (0.03 % of MT
// messages, migration 00071). Every other pair of conversation type and
// session flag holds a sixth of the messages or more, whose rows a scan of
// the time index finds soon enough.
var (
	freeEntryPointIndex = &partialIndex{name: "messages_free_entry_point",
		terms: []partialTerm{{`conversation_type`, `'free_entry_point'`}}}
	userInitiatedNoSessionIndex = &partialIndex{name: "messages_user_initiated_no_session",
		terms: []partialTerm{{`direction`, `'mt'`}, {`conversation_type`, `'user_initiated'`}, {`with_session`, `0`}}}
)

func (sqliteDialect) conversationIndex(dir domain.Direction, t domain.ConversationType, session *bool) *partialIndex {
	switch {
	case t == domain.ConversationFreeEntryPoint:
		return freeEntryPointIndex
	case t == domain.ConversationUserInitiated && dir == domain.DirectionMT && session != nil && !*session:
		return userInitiatedNoSessionIndex
	}
	return nil
}

// A row of SQLite's table is a seek in the same file the index entries
// are read from.
func (sqliteDialect) rowReadCost() float64 { return 4 }

// A reader per core: SQLite reads in the goroutine that steps it.
func (sqliteDialect) exportReaders(cores int) int { return cores }

// An anonymous ? is bound by position: modernc looks the name of a $N up
// in the statement's parameter list on each run, a cost that grows with
// the square of their number (1,650 parameters of a 50-row upsert: about
// 3 ms with $N, 0.3 with ?).
func (sqliteDialect) param(int) string { return "?" }

func (sqliteDialect) applyBegin() []string { return nil }

// The row triggers would update two rows of two tables for every message
// a status moves: a quarter of the cost of applying it.
func (sqliteDialect) appliesRollup() bool { return true }

func (sqliteDialect) lockRow() string { return "" }

// postgresDialect is PostgreSQL through pgx's database/sql driver: one pool
// for reads and writes.
type postgresDialect struct{}

func (postgresDialect) name() Dialect { return Postgres }

func (postgresDialect) open(s *Store, dsn string, _ options) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	// Statements are prepared once per connection, and after five runs
	// PostgreSQL may keep a generic plan for any parameters: one made
	// while a table was small (a new install's first minutes) scans the
	// table on every run until the next ANALYZE, and one for a report
	// cannot know this content type is rare or this range an hour. Every
	// statement is planned for its values instead.
	if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.w, s.r = db, db
	s.inbox = &inboxTable{s: s}
	s.intake = &intakeTable{s: s}
	return nil
}

func (postgresDialect) migrations() (string, goose.Dialect) {
	return "migrations/postgres", goose.DialectPostgres
}

func (postgresDialect) checkpoint() string { return "" }

// PostgreSQL's default, read committed, takes a snapshot per statement.
func (postgresDialect) readTxOptions() *sql.TxOptions {
	return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
}

func (postgresDialect) indexedBy(string) string { return "" }

// PostgreSQL reads the row before testing conditions on columns an index
// includes, unless the scan is index-only: a page finds its ids that way
// first, then reads those rows.
func (postgresDialect) reportPage(_, where, limit string) string {
	return `SELECT ` + messageColumns + ` FROM (SELECT m.id FROM messages m` + where +
		` ORDER BY m.at DESC, m.id DESC LIMIT ` + limit + `) k JOIN messages m ON m.id = k.id
			LEFT JOIN contacts c ON c.id = m.contact_id ORDER BY m.at DESC, m.id DESC`
}

// On PostgreSQL the triggers append changes to message_rollup_delta
// (concurrent writers would otherwise queue on the rollup's hot rows
// until commit), folded into the tables from time to time; readers add
// the two in one statement, hence one snapshot.
func (postgresDialect) rollupFrom(l rollupLevel, _ string) string {
	t := rollupTables[l]
	where := ``
	if l == levelAttributed {
		where = ` WHERE campaign_id <> 0 OR sender_user_id <> 0`
	}
	return `(SELECT ` + t.key + `, n FROM ` + t.name + ` UNION ALL SELECT ` + t.key + `, n FROM message_rollup_delta` + where + `) r`
}

func (postgresDialect) rollupPending(w *whereBuilder, cols string, lo, hi int64) string {
	w.add(`hour >= ` + w.arg(lo))
	if hi != math.MaxInt64 {
		w.add(`hour < ` + w.arg(hi))
	}
	return `SELECT ` + cols + `, n FROM message_rollup_delta` + w.sql()
}

func (postgresDialect) rollupRebuild() (before, after []string) {
	// Writers wait while the messages are counted; pending changes are
	// part of what is recounted. Every row is new afterwards: without
	// fresh statistics the planner takes the rollup for empty and reads
	// it by index.
	return []string{`LOCK TABLE messages IN SHARE MODE`, `DELETE FROM message_rollup_delta`},
		[]string{`ANALYZE message_rollup_status, message_rollup, message_rollup_attributed, message_rollup_status_day,
			message_rollup_day`}
}

func (postgresDialect) rollupFold() []string {
	// The lock is the one the triggers take when they fold by themselves.
	return []string{`SELECT pg_advisory_xact_lock(7311470155206528001)`, `SELECT message_rollup_fold()`}
}

// PostgreSQL's autovacuum analyzes new indexes' tables by itself.
func (postgresDialect) analyzesNewIndexes() bool { return false }

// A heap fetch: a random read of a table several times the page cache's
// size, where the covering time index's entries are read in order from
// pages next to each other (measured at 10 M messages: 53,671 heap fetches
// through messages_status took 850 ms, the 326,000 entries of the hours
// that held the same 25 rows were read in 66 ms, the whole page with its
// total: ticks bench report -only 'status invalid_session + content_type
// video + conversation_type business_initiated').
func (postgresDialect) rowReadCost() float64 { return 16 }

// PostgreSQL's time index includes the conversation type (and the session
// flag), so the hours holding a page's rows are read without the table.
func (postgresDialect) conversationIndex(domain.Direction, domain.ConversationType, *bool) *partialIndex {
	return nil
}

// One reader more than cores: the server does much of the reading in
// processes of its own (measured: 440–480k rows/s with three readers on
// two cores, 360–440k with two).
func (postgresDialect) exportReaders(cores int) int { return cores + 1 }

func (postgresDialect) param(n int) string { return "$" + strconv.Itoa(n) }

// The apply does not wait for its disk sync: what it writes derives from
// inbox rows that are already durable, and the cursor is in the same
// transaction, so a crash that loses it leaves the cursor before those
// rows and they are applied again. (Syncs take 20 ms to 1 s on some
// disks; the processor would spend most of its time waiting.)
func (postgresDialect) applyBegin() []string { return []string{`SET LOCAL synchronous_commit = off`} }

// The statement triggers already sum a statement's moves.
func (postgresDialect) appliesRollup() bool { return false }

func (postgresDialect) lockRow() string { return " FOR UPDATE" }

// params is n parameters of a generated list, numbered from first on,
// comma-separated (see sqlDialect.param).
func (s *Store) params(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.sqlDialect.param(first + i))
	}
	return b.String()
}

// The errors of either database that the store tells apart, by their text:
// database/sql hands both drivers' errors over as they are.

// isUniqueViolation reports whether err is a unique-constraint failure.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// isForeignKeyViolation reports whether err is a foreign-key failure.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "FOREIGN KEY") || strings.Contains(msg, "23503")
}

// isRetryable reports whether err is a deadlock or serialization failure
// that running the transaction again resolves (PostgreSQL only: SQLite's
// single writer has neither).
func isRetryable(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 40P01") || strings.Contains(msg, "SQLSTATE 40001")
}

// consumptionRollupFrom is consumption_rollup as readers see it: on
// PostgreSQL the table plus the changes its triggers appended and no fold
// has moved yet (migration 00020), on SQLite the table.
func (s *Store) consumptionRollupFrom() string {
	if s.dialect == Postgres {
		return `(SELECT ` + consumptionKey + `, n FROM consumption_rollup UNION ALL
			SELECT ` + consumptionKey + `, n FROM consumption_rollup_delta) r`
	}
	return `consumption_rollup`
}

// consumptionBillable is whether a message counts as charged: Meta's
// billable flag, or until it arrives a regular price on a message that has
// not failed (an integer on SQLite, a boolean on PostgreSQL).
func (s *Store) consumptionBillable() string {
	if s.dialect == Postgres {
		return `COALESCE(billable, pricing_type = 'regular' AND state <> 'failed')`
	}
	return `CASE WHEN billable IS NOT NULL THEN billable WHEN pricing_type = 'regular' AND state <> 'failed' THEN 1 ELSE 0 END`
}

// consumptionRebuild empties the consumption rollup and counts the
// messages again; on PostgreSQL writers wait meanwhile.
func (s *Store) consumptionRebuild() []string {
	fill := `INSERT INTO consumption_rollup (` + consumptionKey + `, n)
		SELECT subaccount_id, at / 3600000, channel_id, pricing_category, pricing_type, ` + s.consumptionBillable() + `,
		CASE WHEN conversation_expires_at - at = CASE conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
		     THEN conversation_type ELSE '' END, COUNT(*)
		FROM messages WHERE direction = 'mt' AND (state <> 'failed' OR error_code <> 0) GROUP BY 1, 2, 3, 4, 5, 6, 7`
	if s.dialect == Postgres {
		// The day level and the closed months' changes follow the rollup:
		// on SQLite its triggers do it row by row, here they are counted
		// again from the new rollup (the delta is empty).
		return []string{`LOCK TABLE messages IN SHARE MODE`, `DELETE FROM consumption_rollup_delta`,
			`DELETE FROM consumption_rollup`, fill, `ANALYZE consumption_rollup`,
			`DELETE FROM consumption_daily`,
			`INSERT INTO consumption_daily (off, day, ` + consumptionDims + `, n)
			SELECT o.off, (r.hour + o.off) / 24, ` + prefixed("r.", consumptionDims) + `, CAST(SUM(r.n) AS BIGINT)
			FROM consumption_rollup r CROSS JOIN consumption_offsets o GROUP BY 1, 2, ` + prefixed("r.", consumptionDims) + `
			HAVING SUM(r.n) <> 0`,
			`DELETE FROM consumption_changes`,
			`INSERT INTO consumption_changes (month, ` + consumptionKey + `, n)
			SELECT month, ` + consumptionKey + `, CAST(SUM(n) AS BIGINT) FROM (
				SELECT c.month, ` + prefixed("r.", consumptionKey) + `, r.n
				FROM consumption_rollup r JOIN consumption_closings c ON r.hour >= c.from_hour AND r.hour < c.to_hour
				UNION ALL SELECT month, ` + consumptionKey + `, -n FROM consumption_snapshot) x
			GROUP BY month, ` + consumptionKey + ` HAVING SUM(n) <> 0`}
	}
	return []string{`DELETE FROM consumption_rollup`, fill}
}

// onConn runs fn on one PostgreSQL connection inside a transaction begun
// and ended by SQL, so that fn may use pgx itself (copyIn) as well as
// database/sql on it; the transaction commits when fn returns nil.
func (s *Store) onConn(ctx context.Context, fn func(*sql.Conn) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(conn); err != nil {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			// A connection whose transaction cannot be ended is not reused.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("commit: %w", err)
	}
	s.prepareWanted(ctx)
	return nil
}

// copyIn writes the rows next gives (false after the last) into table's
// columns with PostgreSQL's COPY, on conn (onConn's).
func copyIn(ctx context.Context, conn *sql.Conn, table string, columns []string, next func() ([]any, bool, error)) error {
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy into %s: not a pgx connection", table)
		}
		_, err := pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromFunc(func() ([]any, error) {
			row, more, err := next()
			if err != nil || !more {
				return nil, err
			}
			return row, nil
		}))
		if err != nil {
			return fmt.Errorf("copy into %s: %w", table, err)
		}
		return nil
	})
}
