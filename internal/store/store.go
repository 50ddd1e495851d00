// Package store keeps ticks' data in SQLite or PostgreSQL. One Store type
// serves both: the SQL is shared, written with $1, $2, … placeholders, and
// the few differences between the databases are in dialect.go.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
)

//go:embed migrations
var migrations embed.FS

// Dialect names a supported database.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is ticks' storage. Writes go through one connection on SQLite (the
// database allows one writer; serialising in Go avoids busy retries) and a
// pool on PostgreSQL; reads use a pool on both.
type Store struct {
	dialect    Dialect
	dsn        string
	sqlDialect sqlDialect // where the SQL differs (dialect.go)
	w          *sql.DB    // writer
	r          *sql.DB    // readers
	// inbox is where webhooks wait for the processor: a log of files
	// beside a SQLite database (inbox_log.go), a table on PostgreSQL
	// (inbox_table.go).
	inbox webhookInbox
	// raw reads exports on a SQLite file, bypassing database/sql; nil
	// otherwise.
	raw *rawReaders
	// ckpt checkpoints a SQLite file's write-ahead log beside the writer
	// (checkpointer.go); nil otherwise.
	ckpt *checkpointer
	ids  idGen

	// Now is the clock, replaceable in tests.
	Now func() time.Time
	// OptOutKeywords are the texts (compared upper-cased and trimmed) that
	// opt a contact out when it sends one of them.
	OptOutKeywords []string

	wstmts sync.Map // query text → *sql.Stmt prepared on the writer
	rstmts sync.Map // query text → *sql.Stmt prepared on the readers
	wanted sync.Map // query text → true: to prepare on the writer when it is free
	// flushQueries are flush's statements by row count and kind
	// (flushQuery), built once: building one was 7% of what applying a
	// batch allocated.
	flushQueries sync.Map
	// consumptionOffsets are the UTC offsets whose days the consumption
	// rollup keeps, as this process has seen them (consumption.go).
	consumptionOffsets sync.Map

	groupOnce sync.Once
	groupQ    []chan *writeReq // one per group writer (batch.go)
	groupRuns atomic.Int64     // group transactions run again after a deadlock or serialization failure (batch.go)
	// groupCareful counts down the groups run with savepoints straight
	// away after one whose piece failed (tryGroupWhole).
	groupCareful atomic.Int64

	// Templates as Template read them (templates.go), and a count of this
	// process's committed writes to templates.
	templateCache sync.Map // waba, name and language → *cachedTemplate
	templateGen   atomic.Int64

	// The event writer (RecordEvents), started on first use.
	eventOnce sync.Once
	eventQ    chan *eventReq

	// The event intake (tracking_intake.go): the log, its writer, the
	// idempotency keys waiting in it, and the folder's turn.
	intake     eventIntake
	intakeMu   sync.Mutex // guards intakeQ
	intakeQ    chan *intakeReq
	intakeWake chan struct{}
	keysMu     sync.Mutex
	keys       map[keyRef]int // key → records in the log carrying it
	keysGen    int64          // moved by every fold
	foldMu     sync.Mutex
	folds      int
}

// prepared returns the cached statement for query on db, or nil. SQLite
// spends more time parsing a statement than running a small one, so hot
// queries must not be parsed again on every call.
func (s *Store) cached(db *sql.DB, query string) *sql.Stmt {
	if st, ok := s.stmtCache(db).Load(query); ok {
		return st.(*sql.Stmt)
	}
	return nil
}

// prepare prepares query on db and caches it. It must not be called on the
// writer while a transaction holds its only connection: statements used in
// transactions are noted in s.wanted and prepared after the commit.
func (s *Store) prepare(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	cache := s.stmtCache(db)
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := cache.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// stmtCache is the statement cache of one of the store's pools.
func (s *Store) stmtCache(db *sql.DB) *sync.Map {
	if db == s.w {
		return &s.wstmts
	}
	return &s.rstmts
}

// readStmt returns the cached reader statement for query.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := s.cached(s.r, query); st != nil {
		return st, nil
	}
	return s.prepare(ctx, s.r, query)
}

// txStmt returns query as a statement of tx: the cached one when there is,
// otherwise one prepared in tx for this transaction only, noting the query
// so that it is cached once the transaction is over.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st := s.cached(s.w, query); st != nil {
		return tx.StmtContext(ctx, st), nil
	}
	s.wanted.Store(query, true)
	return tx.PrepareContext(ctx, query)
}

// prepareWanted caches the statements transactions asked for.
func (s *Store) prepareWanted(ctx context.Context) {
	s.wanted.Range(func(k, _ any) bool {
		s.wanted.Delete(k)
		if _, err := s.prepare(ctx, s.w, k.(string)); err != nil {
			return false
		}
		return true
	})
}

// stmtExec runs query in tx as a cached statement.
func (s *Store) stmtExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// stmtQueryRow runs the single-row query in tx as a cached statement.
func (s *Store) stmtQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return tx.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

// stmtQuery runs query in tx as a cached statement.
func (s *Store) stmtQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// Option changes how Open connects.
type Option func(*options)

type options struct {
	sqliteSync        string
	inboxSegmentBytes int64
}

// WithSQLiteSync sets SQLite's synchronous mode: "normal" (the default) makes
// a commit durable against a crash of the process, which is what WAL mode
// needs to lose nothing on kill -9; "full" also syncs the disk on every
// commit, to survive a power loss, at the cost of the disk's sync latency.
func WithSQLiteSync(mode string) Option { return func(o *options) { o.sqliteSync = mode } }

// WithInboxSegmentBytes sets the size at which a SQLite database's inbox
// log starts a new file (default 64 MiB): small in tests of retention.
func WithInboxSegmentBytes(n int64) Option { return func(o *options) { o.inboxSegmentBytes = n } }

// Open connects to the database named by dsn: "postgres://…" or
// "postgresql://…" for PostgreSQL, anything else is a SQLite file path
// (optionally "sqlite://path"). It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{sqliteSync: "normal"}
	for _, fn := range opts {
		fn(&o)
	}
	if o.sqliteSync != "normal" && o.sqliteSync != "full" {
		return nil, fmt.Errorf("sqlite sync mode %q: want normal or full", o.sqliteSync)
	}
	d := dialectOf(dsn)
	s := &Store{dialect: d.name(), dsn: dsn, sqlDialect: d, Now: time.Now, OptOutKeywords: []string{"SAIR", "PARAR", "STOP"},
		intakeWake: make(chan struct{}, 1), keys: map[keyRef]int{}}
	if err := d.open(s, dsn, o); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect %s: %w", s.dialect, err)
	}
	return s, nil
}

// Dialect returns the database the store talks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the connections.
func (s *Store) Close() error {
	for _, q := range s.groupQ {
		close(q)
	}
	if s.eventQ != nil {
		close(s.eventQ)
	}
	s.intakeMu.Lock()
	if s.intakeQ != nil {
		close(s.intakeQ)
	}
	s.intakeMu.Unlock()
	if s.raw != nil {
		s.raw.close()
	}
	if s.ckpt != nil {
		s.ckpt.close()
	}
	for _, cache := range []*sync.Map{&s.wstmts, &s.rstmts} {
		cache.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	}
	var err error
	if s.inbox != nil {
		err = s.inbox.close()
	}
	if s.intake != nil {
		if e := s.intake.close(); err == nil {
			err = e
		}
	}
	closed := map[*sql.DB]bool{}
	for _, db := range []*sql.DB{s.w, s.r} {
		if db == nil || closed[db] {
			continue
		}
		closed[db] = true
		if e := db.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Checkpoint copies the write-ahead log of a SQLite database into its file
// and empties it; on PostgreSQL it does nothing. The
// benchmarks call it after their setup, so that writing the setup's pages
// out does not fall inside what they time.
func (s *Store) Checkpoint(ctx context.Context) error {
	stmt := s.sqlDialect.checkpoint()
	if stmt == "" {
		return nil
	}
	if _, err := s.w.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Ping checks that the database answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

// Migrate applies the embedded migrations of the store's dialect, then
// moves into the inbox what an earlier ticks kept elsewhere.
func (s *Store) Migrate(ctx context.Context) error {
	dir, gd := s.sqlDialect.migrations()
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return err
	}
	// Migrations are numbered in ranges, one per capability, so a newer
	// ticks may bring one numbered below what a database already has: it
	// is applied all the same.
	p, err := goose.NewProvider(gd, s.w, sub, goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := s.rebuildDeskMetricsIfAsked(ctx); err != nil {
		return err
	}
	if s.sqlDialect.analyzesNewIndexes() {
		if err := s.analyzeNewIndexes(ctx); err != nil {
			return err
		}
	}
	return s.inbox.migrate(ctx)
}

// analyzeNewIndexes runs ANALYZE on the indexes a migration created in
// tables whose other indexes have statistics (only a database someone
// analyzed, such as a benchmark's seed, has sqlite_stat1). SQLite plans a
// table whose indexes have statistics but one by guesses it does not make
// for the others: measured, a search by correlation ID read the time index
// (25 s at 10 M messages) instead of its own (2 ms) once migration 00009
// had recreated the content type's index.
func (s *Store) analyzeNewIndexes(ctx context.Context) error {
	var analyzed int
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'`).
		Scan(&analyzed); err != nil || analyzed == 0 {
		return err
	}
	rows, err := s.w.QueryContext(ctx, `SELECT name FROM sqlite_master
		WHERE type = 'index' AND sql IS NOT NULL
		  AND tbl_name IN (SELECT tbl FROM sqlite_stat1 WHERE idx IS NOT NULL)
		  AND name NOT IN (SELECT idx FROM sqlite_stat1 WHERE idx IS NOT NULL)`)
	if err != nil {
		return fmt.Errorf("statistics of new indexes: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("statistics of new indexes: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("statistics of new indexes: %w", err)
	}
	for _, n := range names {
		if _, err := s.w.ExecContext(ctx, `ANALYZE "`+strings.ReplaceAll(n, `"`, `""`)+`"`); err != nil {
			return fmt.Errorf("statistics of index %s: %w", n, err)
		}
	}
	return nil
}

// txOn runs fn in a write transaction on db, committing when it returns nil.
func txOn(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// readTx runs fn in a read-only transaction, so that a total and its page,
// read by several statements, come from one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, s.sqlDialect.readTxOptions())
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// queryer is what reads run on: the reader pool or a read transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx runs fn in a write transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := txOn(ctx, s.w, fn); err != nil {
		return err
	}
	s.prepareWanted(ctx)
	return nil
}

// idGen makes time-ordered 63-bit IDs: milliseconds since the epoch in the
// high bits and a counter in the low 20, so IDs sort by creation time and
// index inserts stay at the right edge of the b-tree.
type idGen struct{ last atomic.Int64 }

func (g *idGen) next(now time.Time) int64 {
	for {
		last := g.last.Load()
		id := now.UnixMilli() << 20
		if id <= last {
			id = last + 1
		}
		if g.last.CompareAndSwap(last, id) {
			return id
		}
	}
}

// NewID returns a fresh time-ordered ID.
func (s *Store) NewID() int64 { return s.ids.next(s.Now()) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func ptrMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}
