package extracts_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
)

// fakeS3 starts an in-process S3 server (a stand-in for the outside service) with the bucket "ticks"
// and returns a storage on it.
func fakeS3(t *testing.T) *extracts.S3Storage {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("ticks"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	st, err := extracts.NewS3Storage(srv.URL+"/ticks?region=us-east-1", "ticks-key", "ticks-secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestS3Storage: with a bucket, a finished file leaves the server's disk for the bucket; another server
// (its own folder, the same database) serves it, seeking as a range request does; rights are checked at
// download time; deleting and expiring remove it from the bucket, and a file no extraction holds goes
// once it is an hour old. A missing bucket is told at start.
func TestS3Storage(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.shopUser()
	bucket := fakeS3(t)
	fx.svc.Storage = bucket
	e := fx.extract(t, p, extracts.Input{Type: "notifications_summary", From: "2026-11-20", To: "2026-11-20", Lang: "pt-BR"})
	if entries, _ := os.ReadDir(fx.svc.Dir); len(entries) != 0 {
		t.Errorf("files left on the disk: %v", entries)
	}
	stored, err := bucket.List(ctx)
	if err != nil || len(stored) != 1 || stored[0].Name != e.File {
		t.Fatalf("the bucket holds %v (%v), want %q", stored, err, e.File)
	}

	other := extracts.New(fx.st, filepath.Join(t.TempDir(), "elsewhere"), fx.loc)
	other.Storage, other.Now = bucket, fx.svc.Now
	f, err := other.Open(ctx, p, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != e.Bytes {
		t.Errorf("size %d, recorded %d", f.Size, e.Bytes)
	}
	buf := make([]byte, 10)
	if _, err := f.Seek(3, 0); err != nil { // past the BOM
		t.Fatal(err)
	}
	if _, err := f.Read(buf); err != nil || string(buf) != "Enviada em" {
		t.Errorf("read from byte 3: %q (%v)", buf, err)
	}
	f.Close()
	if rows := readCSV(t, fx, p, e.ID); len(rows) != 5 || rows[4][3] != "boas_vindas" {
		t.Errorf("read back: %q", rows)
	}
	// The same user, no longer seeing the shop: the file is not theirs now.
	moved := &access.Principal{Role: domain.RoleSupervisor, UserID: fx.user, Scope: []int64{fx.other}}
	if _, err := other.Open(ctx, moved, e.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("download after losing the subaccount: %v, want not found", err)
	}

	// Deleted: gone from the bucket.
	if err := fx.svc.Delete(ctx, p, e.ID); err != nil {
		t.Fatal(err)
	}
	if stored, _ := bucket.List(ctx); len(stored) != 0 {
		t.Errorf("after delete the bucket holds %v", stored)
	}
	// Expired: gone too.
	e = fx.extract(t, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"})
	fx.now = fx.now.Add(fx.svc.Keep + time.Minute)
	if n, err := fx.svc.Expire(ctx); err != nil || n != 1 {
		t.Errorf("expire: %d files (%v)", n, err)
	}
	if stored, _ := bucket.List(ctx); len(stored) != 0 {
		t.Errorf("after expiry the bucket holds %v", stored)
	}
	// A file no extraction holds (a server died between the upload and the record) goes once an hour old.
	fx.now = time.Now() // the bucket's clock
	orphan := filepath.Join(t.TempDir(), "orphan.csv")
	os.WriteFile(orphan, []byte("x"), 0o600)
	if err := bucket.Put(ctx, "999-orphan.csv", orphan); err != nil {
		t.Fatal(err)
	}
	if n, _ := fx.svc.Expire(ctx); n != 0 {
		t.Errorf("a fresh orphan removed")
	}
	fx.now = time.Now().Add(2 * time.Hour)
	if n, err := fx.svc.Expire(ctx); err != nil || n != 1 {
		t.Errorf("an hour-old orphan: %d removed (%v)", n, err)
	}

	missing, err := extracts.NewS3Storage("http://127.0.0.1:1/ticks", "k", "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := missing.Check(ctx); err == nil {
		t.Error("an unreachable bucket passes the check")
	}
}
