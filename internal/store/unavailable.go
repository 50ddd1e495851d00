package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	msqlite "modernc.org/sqlite"
	zsqlite "zombiezen.com/go/sqlite"

	"github.com/ticksapp/ticks/internal/domain"
)

// IsUnavailable reports whether err is the store failing rather than the
// work it was given: a full disk, an I/O error, a lock held too long, a
// database that went away or refuses connections for now. Such a failure
// passes; the same work succeeds once it has, so it is retried and never
// blamed on the data (a webhook set aside for a full disk would stay
// unapplied until an admin replayed it). Anything else — a constraint, a
// value the database refuses — is the work's own fault.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EFBIG, syscall.EROFS,
		syscall.EAGAIN, syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, syscall.ENOMEM} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var me *msqlite.Error
	if errors.As(err, &me) {
		return sqliteUnavailable(me.Code() & 0xff)
	}
	if code := zsqlite.ErrCode(err); code != zsqlite.ResultError && code != zsqlite.ResultOK {
		return sqliteUnavailable(int(code.ToPrimary()))
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return postgresUnavailable(pe.Code)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) {
		return true
	}
	// Drivers that flatten their errors into text.
	msg := err.Error()
	for _, s := range []string{"database or disk is full", "disk I/O error", "database is locked",
		"conn closed", "connection refused", "connection reset", "broken pipe", "unexpected EOF",
		"SQLSTATE 57P0", "SQLSTATE 53", "SQLSTATE 08"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// sqliteUnavailable: SQLite's primary result codes of a store that cannot
// work for now (sqlite3.h).
func sqliteUnavailable(code int) bool {
	switch code {
	case 5, // SQLITE_BUSY
		6,  // SQLITE_LOCKED
		7,  // SQLITE_NOMEM
		8,  // SQLITE_READONLY
		9,  // SQLITE_INTERRUPT
		10, // SQLITE_IOERR
		13, // SQLITE_FULL
		14, // SQLITE_CANTOPEN
		15: // SQLITE_PROTOCOL
		return true
	}
	return false
}

// postgresUnavailable: PostgreSQL's SQLSTATEs of a server that cannot work
// for now: connection exceptions (08), insufficient resources such as a
// full disk (53), operator intervention such as a shutdown (57), system
// errors such as I/O (58), serialization failures and deadlocks, a lock not
// available, a read-only server (a standby).
func postgresUnavailable(code string) bool {
	switch code {
	case "40001", "40P01", "55P03", "25006":
		return true
	}
	if len(code) != 5 {
		return false
	}
	switch code[:2] {
	case "08", "53", "57", "58":
		return true
	}
	return false
}

// writeProbeKey is the kv row ProbeWrite writes.
const writeProbeKey = "write_probe"

// ProbeWrite writes one small row, to learn whether the store can write
// again after it failed: reads go on working on a full disk.
func (s *Store) ProbeWrite(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO kv (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, writeProbeKey, strconv.FormatInt(ms(s.Now()), 10))
	return err
}

// RecordOutage records, for admins, a time the store could not write, as a
// webhook event of the unassigned subaccount (field "ingest", event
// "store_unavailable"): an organization admin sees it in the webhook events
// list, with the last failure and how many writes failed.
func (s *Store) RecordOutage(ctx context.Context, since, until time.Time, attempts int, cause string) error {
	if len(cause) > 500 {
		cause = strings.ToValidUTF8(cause[:500], "")
	}
	detail := fmt.Sprintf("the store could not write for %s (%d failed writes), from %s to %s: %s. "+
		"Webhooks stored before were applied once it could; those received meanwhile were answered 503 and Meta sends them again.",
		until.Sub(since).Round(time.Millisecond), attempts, since.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339), cause)
	payload, _ := json.Marshal(map[string]any{"since": since.UTC(), "until": until.UTC(), "failed_writes": attempts, "cause": cause})
	h := sha256.Sum256(payload)
	_, err := s.w.ExecContext(ctx, `INSERT INTO webhook_events
		(id, subaccount_id, channel_id, field, event, detail, payload, hash, at)
		VALUES ($1, $2, NULL, 'ingest', 'store_unavailable', $3, $4, $5, $6) ON CONFLICT (hash) DO NOTHING`,
		s.NewID(), domain.UnassignedSubaccountID, detail, string(payload), hex.EncodeToString(h[:]), ms(since))
	if err != nil {
		return fmt.Errorf("record the store's outage: %w", err)
	}
	return nil
}
