package store

import (
	"context"
	"database/sql"
	"fmt"
)

// writeReq is a piece of write work waiting for the group writer.
type writeReq struct {
	fn   func(*sql.Tx) error
	done chan error
}

// maxGroup bounds the pieces of work in one group transaction.
const maxGroup = 256

// grouped runs fn in a write transaction shared with whatever other
// grouped work is waiting (group commit), each piece inside its own
// savepoint, so one piece failing rolls back only itself. Both databases
// pay for a commit — SQLite with its single writer, PostgreSQL with a disk
// sync — and sharing it is what lets many concurrent sends through.
func (s *Store) grouped(ctx context.Context, fn func(*sql.Tx) error) error {
	s.groupOnce.Do(func() {
		s.groupQ = make(chan *writeReq, maxGroup)
		go s.groupWriter()
	})
	req := &writeReq{fn: fn, done: make(chan error, 1)}
	select {
	case s.groupQ <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

// groupWriter runs grouped work until the store is closed.
func (s *Store) groupWriter() {
	batch := make([]*writeReq, 0, maxGroup)
	for first := range s.groupQ {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxGroup {
			select {
			case r, ok := <-s.groupQ:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.runGroup(batch)
	}
}

func (s *Store) runGroup(batch []*writeReq) {
	var errs []error
	var err error
	// On PostgreSQL a group can deadlock with the ingest processor updating
	// the same messages; the database cancels one side, and the group is
	// simply run again.
	for try := 0; try < 5; try++ {
		if errs, err = s.tryGroup(batch); !isRetryable(err) {
			break
		}
	}
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}

func (s *Store) tryGroup(batch []*writeReq) ([]error, error) {
	ctx := context.Background()
	errs := make([]error, len(batch))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i, r := range batch {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT piece`); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			if errs[i] = r.fn(tx); errs[i] != nil {
				if isRetryable(errs[i]) {
					return errs[i] // abort the whole group: it runs again from scratch
				}
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT piece`); err != nil {
					return fmt.Errorf("rollback to savepoint: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT piece`); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		return nil
	})
	return errs, err
}
