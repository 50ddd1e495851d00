package store

import (
	"context"
	"database/sql"
	"log/slog"
	"net/url"
	"sync"
	"time"
)

// walCheckpointEvery is how often the checkpointer copies the write-ahead
// log of a SQLite file into the database.
const walCheckpointEvery = 100 * time.Millisecond

// walAutocheckpointPages is the writer connection's own checkpoint
// threshold, left as a bound on the log should the checkpointer fall
// behind: SQLite's default (1,000 pages) made the transaction that crossed
// it copy the log and sync the file at its commit, on the goroutine that
// committed (the ingest processor, whose batches cross it at almost every
// commit when statuses create their messages).
const walAutocheckpointPages = 16384

// checkpointer runs PRAGMA wal_checkpoint(PASSIVE) on a connection of its
// own, so that copying the write-ahead log into the database, and the sync
// that follows, run beside the writer instead of inside its commits. A
// WAL commit is durable without it (synchronous=normal syncs the log at
// checkpoints, which protects against power loss the same wherever the
// checkpoint runs).
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func startCheckpointer(path, pragmas string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", "file:"+url.PathEscape(path)+"?"+pragmas)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(walCheckpointEvery)
	defer t.Stop()
	warned := false
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		// PASSIVE never waits for the writer or the readers: it copies
		// what it can, and the writer starts the log over once all of it
		// is copied.
		if _, err := c.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err != nil && !warned {
			warned = true
			slog.Warn("store: WAL checkpoint failed (the writer's own checkpoints remain)", slog.Any("err", err))
		}
	}
}

// close stops the checkpointer; calling it again does nothing.
func (c *checkpointer) close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		err = c.db.Close()
	})
	return err
}
