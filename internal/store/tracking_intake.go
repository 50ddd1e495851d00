package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/inboxlog"
)

// The event intake (issue 17). A batch of events is answered once its
// checked events are durable in an intake log — one record a request,
// appended with a group commit shared by the requests that arrive together —
// and a folder (FoldEvents) moves the log into the events, contacts, hourly
// rollup, distinct-contact counters and first times behind the answer, in
// large transactions, forgetting what it folded in the same transaction.
// Writing an event's six B-tree entries while the client waited held the
// intake to the single writer's pace (~50 µs an event); appending a
// request's events is one write.
//
// Like the webhook inbox, the log is a log of files beside a SQLite database
// (package inboxlog; "ticks.db" → "ticks-events"), so that appends never
// wait for the folder's transactions on SQLite's single writer, and the
// tracking_intake table on PostgreSQL.

// eventIntake is where checked events wait for the folder.
type eventIntake interface {
	// append stores records durably, all at once.
	append(ctx context.Context, bodies [][]byte, received time.Time) error
	// next returns up to limit records not folded yet, oldest first, read
	// in the folder's transaction.
	next(ctx context.Context, tx *sql.Tx, limit int) ([]InboxRow, error)
	// waiting returns up to limit records not folded yet with an id above
	// after, in order.
	waiting(ctx context.Context, tx *sql.Tx, after int64, limit int) ([]InboxRow, error)
	// folded forgets rows, in the folder's transaction.
	folded(ctx context.Context, tx *sql.Tx, rows []InboxRow) error
	// prune removes what is folded from storage, after the commit (the
	// log's whole files; nothing for the table, whose rows went with it).
	prune(ctx context.Context) error
	// pending counts the records not folded yet.
	pending(ctx context.Context) (int64, error)
	close() error
}

// intakeRecord is one request's checked events as the log keeps them.
type intakeRecord struct {
	Subaccount int64         `json:"s"`
	Events     []intakeEvent `json:"e"`
}

type intakeEvent struct {
	ID       int64  `json:"i"`
	Bot      int64  `json:"b,omitempty"`
	Category string `json:"c"`
	Action   string `json:"a"`
	Contact  int64  `json:"k,omitempty"` // a contact id, checked; or
	Phone    string `json:"p,omitempty"` // a canonical phone key, its contact created when folded if missing
	Message  int64  `json:"m,omitempty"`
	Extras   string `json:"x,omitempty"`
	At       int64  `json:"t"` // unix ms
	Day      int64  `json:"d"`
	Key      string `json:"y,omitempty"`
}

func encodeIntake(sub int64, events []domain.TrackEvent, contacts []EventContact) ([]byte, error) {
	rec := intakeRecord{Subaccount: sub, Events: make([]intakeEvent, len(events))}
	for i, e := range events {
		rec.Events[i] = intakeEvent{ID: e.ID, Bot: e.BotID, Category: e.Category, Action: e.Action, Contact: contacts[i].ID,
			Phone: contacts[i].Key, Message: e.MessageID, Extras: e.Extras, At: ms(e.At), Day: e.Day, Key: e.IdempotencyKey}
	}
	return json.Marshal(rec)
}

// decodeIntake turns a record back into a call of the event writer.
func decodeIntake(body []byte) (*eventReq, error) {
	var rec intakeRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		return nil, err
	}
	r := &eventReq{subaccount: rec.Subaccount, events: make([]domain.TrackEvent, len(rec.Events)), contacts: make([]EventContact, len(rec.Events))}
	for i, e := range rec.Events {
		r.events[i] = domain.TrackEvent{ID: e.ID, SubaccountID: rec.Subaccount, BotID: e.Bot, Category: e.Category, Action: e.Action,
			MessageID: e.Message, Extras: e.Extras, At: fromMS(e.At), Day: e.Day, IdempotencyKey: e.Key}
		r.contacts[i] = EventContact{ID: e.Contact, Key: e.Phone}
	}
	return r, nil
}

// intakeReq is one call of AppendEvents waiting for the intake writer.
type intakeReq struct {
	subaccount int64
	body       []byte
	keys       []string        // the events' idempotency keys, "" for none
	stored     map[string]bool // keys the events table had when read
	gen        int64           // keysGen before that read
	dups       int
	done       chan error
}

// keyRef names an idempotency key of a subaccount.
type keyRef struct {
	sub int64
	key string
}

// AppendEvents makes a subaccount's checked events durable in the intake
// log, to be folded into the events and their counts by FoldEvents, and
// returns how many carry an idempotency key the subaccount already used:
// in an event folded, in one waiting in the log, or earlier in the same
// call. Those are not counted again (the fold keeps the first). Calls made
// at the same time share one append.
//
// Each event needs its ID set, and a contact that is an id already checked
// or a canonical phone key.
func (s *Store) AppendEvents(ctx context.Context, subaccountID int64, events []domain.TrackEvent, contacts []EventContact) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	body, err := encodeIntake(subaccountID, events, contacts)
	if err != nil {
		return 0, fmt.Errorf("encode events: %w", err)
	}
	req := &intakeReq{subaccount: subaccountID, body: body, keys: make([]string, len(events)), done: make(chan error, 1)}
	var keyed []string
	for i, e := range events {
		req.keys[i] = e.IdempotencyKey
		if e.IdempotencyKey != "" {
			keyed = append(keyed, e.IdempotencyKey)
		}
	}
	if len(keyed) > 0 {
		// Read before the log's keys are looked at (in the writer): a key
		// folded after this read was in the log's keys until then, and
		// keysGen tells the writer it must read again.
		s.keysMu.Lock()
		req.gen = s.keysGen
		s.keysMu.Unlock()
		if req.stored, err = s.storedKeys(ctx, subaccountID, keyed); err != nil {
			return 0, err
		}
	}
	q, err := s.startIntake(ctx)
	if err != nil {
		return 0, err
	}
	select {
	case q <- req:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	// Once queued the events are appended or failed; wait for the outcome
	// even if the client goes away, so the answer is never a lie.
	if err := <-req.done; err != nil {
		return 0, err
	}
	return req.dups, nil
}

// startIntake starts the intake writer on first use, once the keys
// waiting in the log are noted, and returns its queue.
func (s *Store) startIntake(ctx context.Context) (chan<- *intakeReq, error) {
	s.intakeMu.Lock()
	defer s.intakeMu.Unlock()
	if s.intakeQ == nil {
		if err := s.loadWaitingKeys(ctx); err != nil {
			return nil, err
		}
		s.intakeQ = make(chan *intakeReq, 256)
		go s.intakeWriter()
	}
	return s.intakeQ, nil
}

// loadWaitingKeys notes the keys of the records a previous process left in
// the log, so that a retry of them is answered as one. The folder waits
// meanwhile: a record it folded first would leave its keys noted for good.
func (s *Store) loadWaitingKeys(ctx context.Context) error {
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var after int64
		for {
			rows, err := s.intake.waiting(ctx, tx, after, foldRecords)
			if err != nil || len(rows) == 0 {
				return err
			}
			s.keysMu.Lock()
			for _, row := range rows {
				r, err := decodeIntake(row.Body)
				if err != nil {
					continue // the folder drops it
				}
				for _, e := range r.events {
					if e.IdempotencyKey != "" {
						s.keys[keyRef{r.subaccount, e.IdempotencyKey}]++
					}
				}
			}
			s.keysMu.Unlock()
			after = rows[len(rows)-1].ID
		}
	})
	if err != nil {
		return fmt.Errorf("event intake: keys waiting: %w", err)
	}
	return nil
}

// storedKeys returns which of keys a subaccount's stored events have.
func (s *Store) storedKeys(ctx context.Context, sub int64, keys []string) (map[string]bool, error) {
	found := make(map[string]bool)
	for start := 0; start < len(keys); start += 500 {
		part := keys[start:min(start+500, len(keys))]
		w := &whereBuilder{}
		w.add(`subaccount_id = ` + w.arg(sub))
		w.in(`idempotency_key`, len(part), func(i int) any { return part[i] })
		query := `SELECT idempotency_key FROM tracking_events` + w.sql()
		var rows *sql.Rows
		var err error
		if len(part) == 100 || len(part) == 500 {
			// The usual batch, and a full chunk: prepared once (parsing
			// the statement cost a third of the lookup).
			var st *sql.Stmt
			if st, err = s.readStmt(ctx, query); err == nil {
				rows, err = st.QueryContext(ctx, w.args...)
			}
		} else {
			rows, err = s.r.QueryContext(ctx, query, w.args...)
		}
		if err != nil {
			return nil, fmt.Errorf("idempotency keys: %w", err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, err
			}
			found[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("idempotency keys: %w", err)
		}
	}
	return found, nil
}

// maxIntakeGroup bounds the requests of one append.
const maxIntakeGroup = 256

// intakeWriter appends the waiting calls of AppendEvents until the store is
// closed.
func (s *Store) intakeWriter() {
	group := make([]*intakeReq, 0, maxIntakeGroup)
	for first := range s.intakeQ {
		group = append(group[:0], first)
	gather:
		for len(group) < maxIntakeGroup {
			select {
			case r, ok := <-s.intakeQ:
				if !ok {
					break gather
				}
				group = append(group, r)
			default:
				break gather
			}
		}
		s.appendIntake(group)
	}
}

// appendIntake counts the group's repeated keys, notes its keys as waiting
// in the log, and appends its records in one write.
func (s *Store) appendIntake(group []*intakeReq) {
	ctx := context.Background()
	for _, r := range group {
		s.markDuplicates(ctx, r)
	}
	bodies := make([][]byte, len(group))
	for i, r := range group {
		bodies[i] = r.body
	}
	err := s.intake.append(ctx, bodies, s.Now())
	if err != nil {
		err = fmt.Errorf("append events: %w", err)
		s.keysMu.Lock()
		for _, r := range group {
			s.forgetKeysLocked(r.subaccount, r.keys)
		}
		s.keysMu.Unlock()
	} else {
		select {
		case s.intakeWake <- struct{}{}:
		default:
		}
	}
	for _, r := range group {
		r.done <- err
	}
}

// markDuplicates counts r's events whose key is already used and notes r's
// keys as waiting in the log. A fold since r read the events table
// (keysGen moved) may have taken a key out of the log's keys after that
// read: the table is read again then.
func (s *Store) markDuplicates(ctx context.Context, r *intakeReq) {
	if r.stored == nil {
		return
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	for s.keysGen != r.gen {
		gen := s.keysGen
		s.keysMu.Unlock()
		var keyed []string
		for _, k := range r.keys {
			if k != "" {
				keyed = append(keyed, k)
			}
		}
		stored, err := s.storedKeys(ctx, r.subaccount, keyed)
		s.keysMu.Lock()
		if err != nil {
			// The count of duplicates is the answer's only; the fold
			// counts each key once whatever it says.
			slog.Warn("event intake: idempotency keys", slog.Any("err", err))
			break
		}
		r.stored, r.gen = stored, gen
	}
	seen := make(map[string]bool, len(r.keys))
	for _, k := range r.keys {
		if k == "" {
			continue
		}
		ref := keyRef{r.subaccount, k}
		if seen[k] || r.stored[k] || s.keys[ref] > 0 {
			r.dups++
		}
		seen[k] = true
		s.keys[ref]++
	}
}

// forgetKeysLocked takes keys of a record out of the log's keys.
func (s *Store) forgetKeysLocked(sub int64, keys []string) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		ref := keyRef{sub, k}
		if s.keys[ref] <= 1 {
			delete(s.keys, ref)
		} else {
			s.keys[ref]--
		}
	}
}

// EventsAppended is signalled after each append to the intake log, for the
// folder.
func (s *Store) EventsAppended() <-chan struct{} { return s.intakeWake }

// Limits of one fold.
const (
	foldRecords = 80   // records read at a time: 8,000 events in batches of 100
	foldEvents  = 8000 // events folded in one transaction, but for a single larger record
)

// FoldEvents folds the oldest records of the intake log into the events and
// their counts, up to about foldEvents events in one transaction, and
// returns how many events it folded (0: the log is empty). A record that
// cannot be folded because its subaccount is gone is dropped, logged.
// Concurrent calls take turns.
func (s *Store) FoldEvents(ctx context.Context) (int, error) {
	s.foldMu.Lock()
	defer s.foldMu.Unlock()
	n, err := s.foldOnce(ctx, foldRecords)
	if err == nil || isRetryable(err) || ctx.Err() != nil {
		return n, err
	}
	// One record spoils the group: fold one at a time, so that only that
	// one is dropped (a subaccount deleted since its events were taken).
	n, err = s.foldOnce(ctx, 1)
	if err != nil && isForeignKeyViolation(err) {
		return s.dropRecord(ctx, err)
	}
	return n, err
}

// foldOnce folds up to limit records in one transaction.
func (s *Store) foldOnce(ctx context.Context, limit int) (int, error) {
	var rows []InboxRow
	var group []*eventReq
	var err error
	for try := 0; try < 5; try++ {
		err = s.tx(ctx, func(tx *sql.Tx) error {
			all, err := s.intake.next(ctx, tx, limit)
			if err != nil {
				return fmt.Errorf("read event intake: %w", err)
			}
			rows, group = nil, nil
			events := 0
			for _, row := range all {
				r, err := decodeIntake(row.Body)
				if err != nil {
					// Only a bug writes a record that does not decode;
					// keeping it would stop the folder for good.
					slog.Error("event intake: a record that does not decode is dropped", slog.Int64("id", row.ID), slog.Any("err", err))
					r = &eventReq{}
				}
				if len(rows) > 0 && events+len(r.events) > foldEvents {
					break
				}
				rows, group = append(rows, row), append(group, r)
				events += len(r.events)
			}
			if len(rows) == 0 {
				return nil
			}
			if err := s.recordEventsTx(ctx, tx, group); err != nil {
				return err
			}
			return s.intake.folded(ctx, tx, rows)
		})
		if !isRetryable(err) {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("fold events: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	n := 0
	s.keysMu.Lock()
	s.keysGen++
	for _, r := range group {
		n += len(r.events)
		keys := make([]string, len(r.events))
		for i, e := range r.events {
			keys[i] = e.IdempotencyKey
		}
		s.forgetKeysLocked(r.subaccount, keys)
	}
	s.keysMu.Unlock()
	s.folds++
	if s.folds%64 == 0 {
		if err := s.intake.prune(ctx); err != nil {
			slog.Warn("event intake: prune", slog.Any("err", err))
		}
	}
	return n, nil
}

// dropRecord forgets the oldest record of the log, which failed with
// cause.
func (s *Store) dropRecord(ctx context.Context, cause error) (int, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := s.intake.next(ctx, tx, 1)
		if err != nil || len(rows) == 0 {
			return err
		}
		r, _ := decodeIntake(rows[0].Body)
		if r != nil {
			slog.Warn("event intake: events of a subaccount that no longer exists are dropped", slog.Int64("subaccount", r.subaccount),
				slog.Int("events", len(r.events)), slog.Any("err", cause))
			s.keysMu.Lock()
			s.keysGen++
			keys := make([]string, len(r.events))
			for i, e := range r.events {
				keys[i] = e.IdempotencyKey
			}
			s.forgetKeysLocked(r.subaccount, keys)
			s.keysMu.Unlock()
		}
		return s.intake.folded(ctx, tx, rows)
	})
	if err != nil {
		return 0, fmt.Errorf("drop event record: %w", err)
	}
	return 0, nil
}

// FlushEvents folds the intake log until it is empty: for tests, the
// benchmarks and a clean shutdown.
func (s *Store) FlushEvents(ctx context.Context) error {
	for {
		n, err := s.FoldEvents(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			if p, err := s.intake.pending(ctx); err != nil || p == 0 {
				return err
			}
		}
	}
}

// EventsPending counts the intake log's records not folded yet.
func (s *Store) EventsPending(ctx context.Context) (int64, error) {
	n, err := s.intake.pending(ctx)
	if err != nil {
		return 0, fmt.Errorf("events pending: %w", err)
	}
	return n, nil
}

// The SQLite intake: a log of files beside the database, and the id of the
// last record folded in the kv table, moved in the fold's transaction.

const intakeCursorKey = "tracking.intake.cursor"

// EventsDir is the directory of a SQLite database's event intake log: next
// to it, named after it ("ticks.db" → "ticks-events"). Back both up
// together.
func EventsDir(path string) string {
	if base, ok := strings.CutSuffix(path, ".db"); ok {
		return base + "-events"
	}
	return path + "-events.d"
}

// intakeLog is a SQLite database's intake log, opened on first use.
type intakeLog struct {
	s    *Store
	dir  string
	temp bool // dir is a temporary one, removed on close (":memory:")
	opts inboxlog.Options

	mu  sync.Mutex
	log *inboxlog.Log
}

// take returns the log, opening it (and taking its lock) on first use, its
// ids going on after the last one folded even if it lost its tail to a
// power loss.
func (in *intakeLog) take(ctx context.Context) (*inboxlog.Log, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.log != nil {
		return in.log, nil
	}
	l, err := inboxlog.Open(in.dir, in.opts)
	if err != nil {
		return nil, err
	}
	cur, err := in.cursor(ctx, in.s.r)
	if err != nil {
		l.Close()
		return nil, err
	}
	l.SetFloor(cur)
	in.log = l
	return l, nil
}

func (in *intakeLog) cursor(ctx context.Context, q queryer) (int64, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = $1`, intakeCursorKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read intake cursor: %w", err)
	}
	return strconv.ParseInt(v, 10, 64)
}

func (in *intakeLog) append(ctx context.Context, bodies [][]byte, received time.Time) error {
	l, err := in.take(ctx)
	if err != nil {
		return err
	}
	_, err = l.Append(bodies, received)
	return err
}

func (in *intakeLog) next(ctx context.Context, tx *sql.Tx, limit int) ([]InboxRow, error) {
	return in.waiting(ctx, tx, 0, limit)
}

func (in *intakeLog) waiting(ctx context.Context, tx *sql.Tx, after int64, limit int) ([]InboxRow, error) {
	l, err := in.take(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := in.cursor(ctx, tx)
	if err != nil {
		return nil, err
	}
	recs, err := l.Read(max(cur, after), limit)
	out := make([]InboxRow, len(recs))
	for i, r := range recs {
		out[i] = InboxRow(r)
	}
	return out, err
}

func (in *intakeLog) folded(ctx context.Context, tx *sql.Tx, rows []InboxRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO kv (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, intakeCursorKey, strconv.FormatInt(rows[len(rows)-1].ID, 10))
	if err != nil {
		return fmt.Errorf("move intake cursor: %w", err)
	}
	return nil
}

// prune removes the log's files whose every record is folded.
func (in *intakeLog) prune(ctx context.Context) error {
	l, err := in.take(ctx)
	if err != nil {
		return err
	}
	cur, err := in.cursor(ctx, in.s.r)
	if err != nil {
		return err
	}
	_, err = l.Prune(cur, time.Now())
	return err
}

func (in *intakeLog) pending(ctx context.Context) (int64, error) {
	l, err := in.take(ctx)
	if err != nil {
		return 0, err
	}
	cur, err := in.cursor(ctx, in.s.r)
	if err != nil {
		return 0, err
	}
	return max(l.LastID()-cur, 0), nil
}

func (in *intakeLog) close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	var err error
	if in.log != nil {
		err = in.log.Close()
		in.log = nil
	}
	if in.temp {
		os.RemoveAll(in.dir)
	}
	return err
}

// The PostgreSQL intake: the tracking_intake table. The folder locks the
// events' writers first (the advisory lock of countNewContacts), so folders
// of several servers take turns, and deletes the rows it folded.

type intakeTable struct{ s *Store }

func (t *intakeTable) append(ctx context.Context, bodies [][]byte, received time.Time) error {
	return txOn(ctx, t.s.w, func(tx *sql.Tx) error {
		for start := 0; start < len(bodies); start += appendChunk {
			part := bodies[start:min(start+appendChunk, len(bodies))]
			args := make([]any, 0, 2*len(part))
			var b strings.Builder
			b.WriteString(`INSERT INTO tracking_intake (received_at, body) VALUES `)
			for i, body := range part {
				if i > 0 {
					b.WriteString(`, `)
				}
				b.WriteString(`($` + strconv.Itoa(2*i+1) + `, $` + strconv.Itoa(2*i+2) + `)`)
				args = append(args, ms(received), body)
			}
			if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

func (t *intakeTable) next(ctx context.Context, tx *sql.Tx, limit int) ([]InboxRow, error) {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(1700000017)`); err != nil {
		return nil, fmt.Errorf("lock events: %w", err)
	}
	return t.waiting(ctx, tx, 0, limit)
}

func (t *intakeTable) waiting(ctx context.Context, tx *sql.Tx, after int64, limit int) ([]InboxRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, received_at, body FROM tracking_intake WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	return scanInboxRows(rows)
}

func (t *intakeTable) folded(ctx context.Context, tx *sql.Tx, rows []InboxRow) error {
	w := &whereBuilder{}
	w.in(`id`, len(rows), func(i int) any { return rows[i].ID })
	if _, err := tx.ExecContext(ctx, `DELETE FROM tracking_intake`+w.sql(), w.args...); err != nil {
		return fmt.Errorf("forget folded events: %w", err)
	}
	return nil
}

func (t *intakeTable) prune(context.Context) error { return nil }

func (t *intakeTable) pending(ctx context.Context) (int64, error) {
	var n int64
	err := t.s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM tracking_intake`).Scan(&n)
	return n, err
}

func (t *intakeTable) close() error { return nil }
