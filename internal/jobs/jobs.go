// Package jobs runs ticks's background work as River jobs (riverqueue.com),
// in the database ticks already uses: River's SQLite driver on the store's
// writer connection, its pgx driver on PostgreSQL, where several `ticks
// serve` on one database share the work (a job is locked by the one client
// that fetched it).
//
// A capability registers its workers, and its periodic jobs, on a Registry
// before the server starts; the server builds one Client from it (New),
// starts it with the rest of the server and stops it in its shutdown order.
// A job is enqueued with Client.Insert. River retries a job whose Work
// returns an error (with backoff, up to its attempts), and a job a process
// was killed in the middle of is rescued and run again: a worker must be
// idempotent, keeping in the database how far it got.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/ticksapp/ticks/internal/store"
)

// Registry gathers what each capability runs in the background before the
// client is built: workers for job kinds, periodic jobs and queues.
type Registry struct {
	workers  *river.Workers
	kinds    int
	periodic []*river.PeriodicJob
	queues   map[string]river.QueueConfig
}

// NewRegistry returns a registry with River's default queue (10 workers).
func NewRegistry() *Registry {
	return &Registry{workers: river.NewWorkers(),
		queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}}
}

// Register adds the worker of one job kind (T's Kind()). A kind registered
// twice panics: two capabilities chose the same name.
func Register[T river.JobArgs](r *Registry, w river.Worker[T]) {
	river.AddWorker(r.workers, w)
	r.kinds++
}

// Periodic runs the job make returns every interval, on one server at a
// time (River's elected leader inserts it), and once when that server
// starts.
func (r *Registry) Periodic(every time.Duration, make func() river.JobArgs) {
	r.periodic = append(r.periodic, river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return make(), nil },
		&river.PeriodicJobOpts{RunOnStart: true}))
}

// Queue declares a queue of its own with at most workers jobs at once on
// each server, for work that must not wait behind (or crowd out) another
// capability's; a job goes there with InsertOpts{Queue: name} or its args'
// InsertOpts method.
func (r *Registry) Queue(name string, workers int) {
	r.queues[name] = river.QueueConfig{MaxWorkers: workers}
}

// Options tune a client; the zero value suits a server.
type Options struct {
	// PollInterval is how often a client looks for jobs without being told
	// of one (default 250 ms). On PostgreSQL an insert also wakes every
	// client at once through LISTEN/NOTIFY; SQLite has only polling.
	PollInterval time.Duration
	// RetryPolicy decides when a failed job runs again; River's default
	// (attempt⁴ seconds) when nil.
	RetryPolicy river.ClientRetryPolicy
	// ID names the client in River's tables (default: host and a random
	// suffix).
	ID string
}

// Client runs the registered jobs and enqueues new ones. It is one of two
// River clients, by database: the methods hide which.
type Client struct {
	insert func(context.Context, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error)
	start  func(context.Context) error // nil: nothing registered to run
	stop   func(context.Context) error
	pool   *pgxpool.Pool // PostgreSQL only
}

// New builds the client of st's database from what r holds. It does not
// start it.
func New(ctx context.Context, st *store.Store, r *Registry, o Options) (*Client, error) {
	if o.PollInterval <= 0 {
		o.PollInterval = 250 * time.Millisecond
	}
	cfg := &river.Config{
		Workers:           r.workers,
		Queues:            r.queues,
		PeriodicJobs:      r.periodic,
		FetchPollInterval: o.PollInterval,
		FetchCooldown:     min(o.PollInterval, 100*time.Millisecond),
		RetryPolicy:       o.RetryPolicy,
		ID:                o.ID,
		// River speaks at info about every start and stop of its parts;
		// ticks's log keeps its warnings and errors.
		Logger: slog.New(minLevel{slog.Default().Handler(), slog.LevelWarn}),
	}
	if r.kinds == 0 { // River runs nothing without workers: enqueue only
		cfg.Workers, cfg.Queues, cfg.PeriodicJobs = nil, nil, nil
	}
	if st.Dialect() == store.SQLite {
		rc, err := river.NewClient(riversqlite.New(st.JobsDB()), cfg)
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		return newClient(rc, r, nil), nil
	}
	pool, err := openPool(ctx, st.DSN())
	if err != nil {
		return nil, err
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return newClient(rc, r, pool), nil
}

func newClient[TTx any](rc *river.Client[TTx], r *Registry, pool *pgxpool.Pool) *Client {
	c := &Client{insert: rc.Insert, pool: pool}
	if r.kinds > 0 {
		c.start, c.stop = rc.Start, rc.Stop
	}
	return c
}

// openPool opens River's own pgx pool on the store's PostgreSQL database,
// with the store's connection parameters (its search_path in tests).
func openPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	pc.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("jobs: connect: %w", err)
	}
	return pool, nil
}

// Insert enqueues a job; opts may be nil. It is run by whichever client of
// the database fetches it first.
func (c *Client) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return res, nil
}

// Run starts working jobs and returns when ctx is done, after the jobs in
// flight have finished (or, past stopWait, been cancelled: River runs them
// again later).
func (c *Client) Run(ctx context.Context, stopWait time.Duration) error {
	if c.start == nil {
		<-ctx.Done()
		return nil
	}
	if err := c.start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), stopWait)
	defer cancel()
	err := c.stop(stopCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		slog.Warn("jobs: stopped before every job in flight had finished; they run again later")
		err = nil
	}
	return err
}

// Close releases the client's own connections (PostgreSQL); call it after
// Run has returned.
func (c *Client) Close() {
	if c.pool != nil {
		c.pool.Close()
	}
}

// Migrate creates or updates River's tables in st's database. The server
// runs it at start and `ticks migrate` with the store's own migrations.
func Migrate(ctx context.Context, st *store.Store) error {
	if st.Dialect() == store.SQLite {
		m, err := rivermigrate.New(riversqlite.New(st.JobsDB()), nil)
		if err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		return nil
	}
	pool, err := openPool(ctx, st.DSN())
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	// Two servers starting at once on one database would both migrate:
	// a session's advisory lock makes the second wait for the first. (Each
	// of River's versions runs in a transaction of its own: one adds enum
	// values a later statement uses.)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7471202520710)`); err != nil {
		return fmt.Errorf("jobs: migrate lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7471202520710)`)
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}

// minLevel drops records below its level: River's info chatter.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
