// Package store keeps ticks' data in SQLite or PostgreSQL. One Store type
// serves both: the SQL is shared, and the few dialect differences
// (placeholders, connection setup, migrations) are handled here.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // SQLite driver "sqlite"

	"github.com/ticksapp/ticks/internal/inboxlog"
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
	dialect Dialect
	w       *sql.DB // writer
	r       *sql.DB // readers
	// The webhook inbox of a SQLite database: a log of files beside it
	// (package inboxlog), opened when first needed, so that only the
	// process that serves webhooks holds it. On PostgreSQL the inbox is a
	// table.
	inbox inboxFiles
	// raw reads exports on a SQLite file, bypassing database/sql; nil
	// otherwise.
	raw *rawReaders
	ids idGen

	// Now is the clock, replaceable in tests.
	Now func() time.Time
	// OptOutKeywords are the texts (compared upper-cased and trimmed) that
	// opt a contact out when it sends one of them.
	OptOutKeywords []string

	rebound sync.Map // query text → dialect-specific text
	wstmts  sync.Map // query text → *sql.Stmt prepared on the writer
	rstmts  sync.Map // query text → *sql.Stmt prepared on the readers
	wanted  sync.Map // query text → true: to prepare on the writer when it is free

	groupOnce sync.Once
	groupQ    chan *writeReq
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
	st, err := db.PrepareContext(ctx, s.q(query))
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
	return tx.PrepareContext(ctx, s.q(query))
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

// txExec runs a cached statement in tx.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// txQueryRow runs a cached single-row query in tx.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return tx.QueryRowContext(ctx, s.q(query), args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

// txQuery runs a cached query in tx.
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
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
	s := &Store{Now: time.Now, OptOutKeywords: []string{"SAIR", "PARAR", "STOP"}}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s.dialect = Postgres
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// Statements are prepared once per connection, and after five runs
		// PostgreSQL may keep a generic plan for any parameters: one made
		// while a table was small (a new install's first minutes) scans
		// the table on every run until the next ANALYZE, and one for a
		// report cannot know this content type is rare or this range an
		// hour. Every statement is planned for its values instead.
		if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
			cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
		}
		db := stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.w, s.r = db, db
	} else {
		s.dialect = SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
		if path == "" {
			return nil, errors.New("open sqlite: empty database path")
		}
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return nil, fmt.Errorf("open sqlite: %w", err)
			}
		}
		pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(" + o.sqliteSync + ")&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
		w, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?"+pragmas+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		r, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?"+pragmas+"&_pragma=query_only(1)")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		r.SetMaxOpenConns(8)
		r.SetMaxIdleConns(8)
		s.w, s.r = w, r
		s.inbox = inboxFiles{dir: InboxDir(path), legacy: legacyInboxPath(path),
			opts: inboxlog.Options{Sync: o.sqliteSync == "full", SegmentBytes: o.inboxSegmentBytes}}
		if path == ":memory:" {
			if s.inbox.dir, err = os.MkdirTemp("", "ticks-inbox-"); err != nil {
				s.Close()
				return nil, fmt.Errorf("open sqlite inbox: %w", err)
			}
			s.inbox.temp = true
		} else {
			s.raw = newRawReaders(path)
		}
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
	if s.groupQ != nil {
		close(s.groupQ)
	}
	if s.raw != nil {
		s.raw.close()
	}
	for _, cache := range []*sync.Map{&s.wstmts, &s.rstmts} {
		cache.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	}
	err := s.inbox.close()
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
	if s.dialect != SQLite {
		return nil
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Ping checks that the database answers, for /readyz.
func (s *Store) Ping(ctx context.Context) error { return s.r.PingContext(ctx) }

// Migrate applies the embedded migrations of the store's dialect.
func (s *Store) Migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return err
	}
	gd := goose.DialectSQLite3
	if s.dialect == Postgres {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, s.w, sub)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if s.dialect == SQLite {
		return s.migrateInbox(ctx)
	}
	return nil
}

// q rewrites a query written with ? placeholders for the store's dialect.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	inStr := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c == '\'' {
			inStr = !inStr
		}
		if c == '?' && !inStr {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	s.rebound.Store(query, out)
	return out
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
