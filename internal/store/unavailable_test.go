package store_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// TestIsUnavailable: a failure of the store is told from a failure of the
// work, so that only the latter sets a webhook aside.
func TestIsUnavailable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("apply: commit: %w", err) }
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"a full disk", wrap(&fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}), true},
		{"a file size limit", wrap(&fs.PathError{Op: "write", Path: "x", Err: syscall.EFBIG}), true},
		{"an I/O error", wrap(syscall.EIO), true},
		{"a bad connection", wrap(driver.ErrBadConn), true},
		{"PostgreSQL shutting down", wrap(&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}), true},
		{"PostgreSQL's disk full", wrap(&pgconn.PgError{Code: "53100", Message: "could not extend file"}), true},
		{"a deadlock", wrap(&pgconn.PgError{Code: "40P01"}), true},
		{"SQLite's text", errors.New("database or disk is full (13)"), true},
		{"a unique violation", wrap(&pgconn.PgError{Code: "23505"}), false},
		{"a value PostgreSQL refuses", wrap(&pgconn.PgError{Code: "22021", Message: "invalid byte sequence"}), false},
		{"a rule of the work", domain.Errorf(domain.EINVALID, "message without a recipient id"), false},
		{"a cancelled context", wrap(context.Canceled), false},
		{"nil", nil, false},
	} {
		if got := store.IsUnavailable(c.err); got != c.want {
			t.Errorf("%s: IsUnavailable(%v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

// TestProbeWriteAndOutage: the probe writes, and an outage is recorded
// for admins in the webhook events list. (That the probe fails on a full
// disk is TestFullDiskLosesNothing's.)
func TestProbeWriteAndOutage(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	if err := st.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if err := st.RecordOutage(ctx, st.Now().Add(-5e9), st.Now(), 7, "disk I/O error"); err != nil {
		t.Fatal(err)
	}
	evs, err := st.WebhookEvents(ctx, nil, "ingest", 10)
	if err != nil || len(evs) != 1 || evs[0].Event != "store_unavailable" || evs[0].SubaccountID != domain.UnassignedSubaccountID {
		t.Fatalf("events %+v, %v; want the outage", evs, err)
	}
}
