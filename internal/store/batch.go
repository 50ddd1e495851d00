package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// writeReq is a piece of write work waiting for the group writer.
type writeReq struct {
	fn   func(*sql.Tx) error
	on   lockOn
	done chan error
}

// lockOn names the contact whose messages a piece of grouped work writes:
// directly, or through the id of a stored message of it. Its group locks
// that contact first (lockGroupSQL); the zero value is work that writes no
// message.
type lockOn struct{ contact, message int64 }

// maxGroup bounds the pieces of work in one group transaction.
const maxGroup = 256

// pgGroupWriters is how many group writers run on PostgreSQL. SQLite has
// one (its one writer connection); on PostgreSQL each statement of a group
// waits for a round trip and each commit for a disk sync, so one writer's
// groups, run one after another, would hold every send behind them while
// the database sits idle. PostgreSQL locks rows, not the database, and
// flushes concurrent commits together.
const pgGroupWriters = 4

// A group writer on SQLite waits up to groupLinger for more work when its
// group is small and the group before had more than one piece (work is
// arriving from several senders at once). A campaign's sends gave groups of
// five pieces (under two sends) a commit, and each commit writes every page
// the group changed — the messages table's and its indexes' — to the WAL:
// commits and their writes were a third of the writer's CPU. Waiting 1 ms
// for more cut a dispatch's CPU a message by some 18 %. A lone piece never
// waits (the group before it had one piece, or none), and PostgreSQL's
// writers, whose commits wait for a disk sync, do not wait.
//
// A group of lingerBelow pieces or more runs at once: when the writer is
// what limits the sends, its queue holds that many, and waiting would leave
// it idle for little (on the loaded VM, waiting below 32 or below 64 cost
// the same CPU a message, 0.37 ms; below 16, 4 % more).
const (
	groupLinger = time.Millisecond
	lingerBelow = 32 // a group this large runs without waiting
	lingerUpTo  = 64 // a wait ends when the group is this large
)

// lingerFor adds to batch what reaches q within groupLinger, until it holds
// lingerUpTo pieces.
func lingerFor(q chan *writeReq, batch []*writeReq) []*writeReq {
	t := time.NewTimer(groupLinger)
	defer t.Stop()
	for len(batch) < lingerUpTo {
		select {
		case r, ok := <-q:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		case <-t.C:
			return batch
		}
	}
	return batch
}

// grouped runs fn in a write transaction shared with whatever other
// grouped work is waiting (group commit), each piece inside its own
// savepoint, so one piece failing rolls back only itself. Both databases
// pay for a commit — SQLite with its single writer, PostgreSQL with a disk
// sync — and sharing it is what lets many concurrent sends through.
//
// On PostgreSQL several writers run groups at once; key picks the writer,
// so work with the same key runs in order on one writer, never in two
// transactions at once. Work that derives a contact's timeline keys on the
// contact: two transactions deriving it concurrently would each miss the
// other's message. on names the contact whose messages fn writes.
func (s *Store) grouped(ctx context.Context, key int64, on lockOn, fn func(*sql.Tx) error) error {
	s.groupOnce.Do(func() {
		n := 1
		if s.dialect == Postgres {
			n = pgGroupWriters
		}
		for range n {
			q := make(chan *writeReq, maxGroup)
			s.groupQ = append(s.groupQ, q)
			go s.groupWriter(q)
		}
	})
	req := &writeReq{fn: fn, on: on, done: make(chan error, 1)}
	select {
	case s.groupQ[uint64(key)%uint64(len(s.groupQ))] <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

// groupWriter runs the grouped work of q until the store is closed.
func (s *Store) groupWriter(q chan *writeReq) {
	batch := make([]*writeReq, 0, maxGroup)
	prev := 0 // the pieces of the group before
	for first := range q {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxGroup {
			select {
			case r, ok := <-q:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		if s.dialect == SQLite && prev > 1 && len(batch) < lingerBelow {
			batch = lingerFor(q, batch)
		}
		prev = len(batch)
		s.runGroup(batch)
	}
}

func (s *Store) runGroup(batch []*writeReq) {
	var errs []error
	var err error
	// On PostgreSQL a group could deadlock with the ingest processor
	// updating the same messages (the contact locks of lockGroupSQL now
	// order them); were the database to cancel one side anyway, the
	// group simply runs again.
	for try := 0; try < 5; try++ {
		if errs, err = s.tryGroup(batch); !isRetryable(err) {
			break
		}
		s.groupRuns.Add(1)
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
	if s.dialect == SQLite && len(batch) > 1 {
		if s.groupCareful.Load() > 0 {
			s.groupCareful.Add(-1)
		} else if err := s.tryGroupWhole(ctx, batch); !errors.Is(err, errPieceFailed) {
			return errs, err
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// The contact locks of the pieces, all taken before any runs
		// (contact_locks.go says why), in the first savepoint's round trip.
		lock := s.lockGroupSQL(batch)
		for i, r := range batch {
			if err := s.nextSavepoint(ctx, tx, i == 0, lock); err != nil {
				return err
			}
			if errs[i] = r.fn(tx); errs[i] != nil {
				if isRetryable(errs[i]) {
					return errs[i] // abort the whole group: it runs again from scratch
				}
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT piece`); err != nil {
					return fmt.Errorf("rollback to savepoint: %w", err)
				}
			}
		}
		return nil // the commit releases the last piece's savepoint
	})
	return errs, err
}

// lockGroupSQL is the statement that takes the contact locks of a group's
// pieces, followed by "; " ("" when there are none, and on SQLite).
func (s *Store) lockGroupSQL(batch []*writeReq) string {
	if s.dialect != Postgres {
		return ""
	}
	var contacts, messages []int64
	for _, r := range batch {
		if r.on.contact != 0 {
			contacts = append(contacts, r.on.contact)
		}
		if r.on.message != 0 {
			messages = append(messages, r.on.message)
		}
	}
	return lockContactsSQL(contacts, messages)
}

// errPieceFailed aborts a group run without savepoints.
var errPieceFailed = errors.New("a piece of the group failed")

// carefulGroups is how many groups after one whose piece failed run with
// savepoints straight away.
const carefulGroups = 16

// tryGroupWhole runs a group on SQLite without a savepoint a piece, as one
// transaction: a piece's savepoint cost two statements (2.5 % of a
// dispatch's CPU) for the rare piece that fails, a repeated idempotency key
// after a crash. If one fails, the whole transaction is rolled back (and
// errPieceFailed returned): the group then runs again with savepoints, each
// failing piece alone, as a retryable error's group runs again from scratch
// (every piece can run twice). A retryable error is returned as it is.
func (s *Store) tryGroupWhole(ctx context.Context, batch []*writeReq) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range batch {
			if err := r.fn(tx); err != nil {
				if isRetryable(err) {
					return err
				}
				s.groupCareful.Store(carefulGroups)
				return errPieceFailed
			}
		}
		return nil
	})
}

// nextSavepoint starts a group's next piece: it releases the savepoint of
// the piece before (if any) and sets a new one; the first piece's sends
// lock (lockGroupSQL) along. On PostgreSQL the release and the savepoint
// go in one statement, one round trip instead of two: a group's
// savepoints were a third of the statements it sent.
func (s *Store) nextSavepoint(ctx context.Context, tx *sql.Tx, first bool, lock string) error {
	var err error
	switch {
	case first:
		_, err = tx.ExecContext(ctx, lock+`SAVEPOINT piece`)
	case s.dialect == Postgres:
		_, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT piece; SAVEPOINT piece`)
	default:
		if _, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT piece`); err == nil {
			_, err = tx.ExecContext(ctx, `SAVEPOINT piece`)
		}
	}
	if err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	return nil
}
