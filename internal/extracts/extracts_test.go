package extracts_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/store"
)

// readCSV opens an extraction's file as p and returns its rows, header first.
func readCSV(t *testing.T, fx *fixture, p *access.Principal, id int64) [][]string {
	t.Helper()
	f, err := fx.svc.Open(context.Background(), p, id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(f.Name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("read the CSV back: %v\n%s", err, b)
	}
	return rows
}

func TestNotificationsSummary(t *testing.T) {
	fx := newFixture(t)
	p := fx.shopUser()
	e := fx.extract(t, p, extracts.Input{Type: "notifications_summary", From: "2026-11-19", To: "2026-11-21", Format: "csv", Lang: "pt-BR"})
	rows := readCSV(t, fx, p, e.ID)
	want := [][]string{
		{"Enviada em", "Bot", "Campanha", "Template", "Contato", "Status", "Motivo", "Entregue em", "Lida em", "Respondida em"},
		{"20/11/2026 13:00:00", "Ana", "", "promo", "+5511987650004", "Número de destino inválido", "*", "", "", ""},
		{"20/11/2026 12:00:00", "Ana", "", "promo", "+5511987650003", "Enviada", "", "", "", ""},
		{"20/11/2026 11:00:00", "Bot Loja", "#7", "boas_vindas", "+5511987650002", "Não entregue", "131026 Message undeliverable", "", "", ""},
		{"20/11/2026 10:00:00", "Bot Loja", "#7", "boas_vindas", "+5511987650001", "Lida", "", "20/11/2026 10:00:05",
			"20/11/2026 10:01:00", "20/11/2026 10:02:00"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%q", len(rows), len(want), rows)
	}
	for i := range want {
		for j := range want[i] {
			if want[i][j] == "*" {
				if rows[i][j] == "" {
					t.Errorf("row %d column %q is empty", i, want[0][j])
				}
				continue
			}
			if rows[i][j] != want[i][j] {
				t.Errorf("row %d column %q = %q, want %q", i, want[0][j], rows[i][j], want[i][j])
			}
		}
	}
	if e.RowsWritten != 4 || e.Bytes == 0 || e.ExpiresAt == nil || !e.ExpiresAt.Equal(fx.now.Add(extracts.DefaultKeep)) {
		t.Errorf("ready extraction: rows %d, bytes %d, expires %v; want 4 rows, some bytes, expiring in 7 days", e.RowsWritten, e.Bytes, e.ExpiresAt)
	}
}

func TestNotificationsUsers(t *testing.T) {
	fx := newFixture(t)
	p := fx.shopUser()
	e := fx.extract(t, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20", Lang: "en"})
	rows := readCSV(t, fx, p, e.ID)
	want := [][]string{
		{"Template", "Bot", "Sent", "Failed", "Delivered", "Read", "Replied"},
		{"boas_vindas", "Bot Loja", "2", "1", "1", "1", "1"},
		{"promo", "", "2", "1", "0", "0", "0"},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("rows:\n%q\nwant\n%q", rows, want)
	}
}

func TestXLSX(t *testing.T) {
	fx := newFixture(t)
	p := fx.shopUser()
	e := fx.extract(t, p, extracts.Input{Type: "notifications_summary", From: "2026-11-20", To: "2026-11-20", Format: "xlsx", Lang: "en"})
	f, err := fx.svc.Open(context.Background(), p, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Name != "ticks-notifications-summary-2026-11-20-2026-11-20.xlsx" || !strings.Contains(f.ContentType, "spreadsheetml") {
		t.Errorf("file %q (%s)", f.Name, f.ContentType)
	}
	book, err := excelize.OpenReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := book.GetRows(book.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	var header int
	for i, r := range rows {
		if len(r) > 0 && r[0] == "Sent at" {
			header = i
		}
	}
	data := rows[header+1:]
	if len(data) != 4 || data[3][3] != "boas_vindas" || data[3][1] != "Bot Loja" {
		t.Fatalf("data rows:\n%q", data)
	}
	// The read time is a date cell, shown in the reader's format.
	cell, _ := excelize.CoordinatesToCellName(9, header+5)
	if v, _ := book.GetCellValue(book.GetSheetName(0), cell); v != "2026-11-20 10:01:00" {
		t.Errorf("read at %s = %q", cell, v)
	}
}

func TestScope(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	// An organization admin extracting every subaccount sees the other one's welcome too.
	admin := access.System()
	e := fx.extract(t, admin, extracts.Input{Type: "notifications_summary", From: "2026-11-20", To: "2026-11-20"})
	if rows := readCSV(t, fx, admin, e.ID); len(rows) != 6 {
		t.Errorf("the admin's extraction has %d rows, want a header and 5", len(rows))
	}
	// The shop's supervisor sees neither the admin's extraction nor its file.
	p := fx.shopUser()
	if _, err := fx.svc.Get(ctx, p, e.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("another's extraction: %v, want not found", err)
	}
	if _, err := fx.svc.Open(ctx, p, e.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("another's file: %v, want not found", err)
	}
	if err := fx.svc.Delete(ctx, p, e.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("deleting another's extraction: %v, want not found", err)
	}
	list, err := fx.svc.List(ctx, p)
	if err != nil || len(list) != 0 {
		t.Errorf("the supervisor's list: %v, %v; want empty", list, err)
	}
	// Rights are checked when the file is downloaded: a user who lost the subaccount loses its files.
	mine := fx.extract(t, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"})
	moved := &access.Principal{Role: domain.RoleSupervisor, UserID: fx.user, Scope: []int64{fx.other}}
	if _, err := fx.svc.Open(ctx, moved, mine.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("a file of a subaccount no longer the user's: %v, want not found", err)
	}
	// Asking for a subaccount that is not yours is refused.
	if _, err := fx.svc.Request(ctx, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20",
		Subaccount: fx.other}); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("another subaccount: %v, want forbidden", err)
	}
}

func TestRefusedRequests(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.shopUser()
	cases := []struct {
		name string
		in   extracts.Input
		code string
	}{
		{"91 days", extracts.Input{Type: "notifications_summary", From: "2026-09-01", To: "2026-11-30"}, domain.EUNPROCESSABLE},
		{"more than five years back", extracts.Input{Type: "notifications_summary", From: "2021-11-30", To: "2021-12-05"}, domain.EUNPROCESSABLE},
		{"to before from", extracts.Input{Type: "notifications_summary", From: "2026-11-20", To: "2026-11-19"}, domain.EUNPROCESSABLE},
		{"after today", extracts.Input{Type: "notifications_summary", From: "2026-11-30", To: "2026-12-02"}, domain.EUNPROCESSABLE},
		{"not a date", extracts.Input{Type: "notifications_summary", From: "20/11/2026", To: "2026-11-21"}, domain.EUNPROCESSABLE},
		{"no dates", extracts.Input{Type: "notifications_summary"}, domain.EUNPROCESSABLE},
		{"unknown type", extracts.Input{Type: "everything", From: "2026-11-20", To: "2026-11-21"}, domain.EUNPROCESSABLE},
		{"pdf", extracts.Input{Type: "notifications_summary", From: "2026-11-20", To: "2026-11-21", Format: "pdf"}, domain.EUNPROCESSABLE},
		{"another subaccount", extracts.Input{Type: "notifications_summary", From: "2026-11-20", To: "2026-11-21", Subaccount: fx.other}, domain.EFORBIDDEN},
	}
	for _, c := range cases {
		if _, err := fx.svc.Request(ctx, p, c.in); domain.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	agent := &access.Principal{Role: domain.RoleAgent, UserID: fx.user, Scope: []int64{fx.shop}}
	if _, err := fx.svc.Request(ctx, agent, extracts.Input{Type: "notifications_summary", From: "2026-11-20", To: "2026-11-21"}); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("an agent: %v, want forbidden", err)
	}
	list, err := fx.svc.List(ctx, p)
	if err != nil || len(list) != 0 || len(fx.queued) != 0 {
		t.Errorf("after refusals: list %v (%v), queued %v; want nothing", list, err, fx.queued)
	}
	// 90 days, and a start exactly five years back, are accepted.
	for _, in := range []extracts.Input{{Type: "notifications_summary", From: "2026-09-02", To: "2026-11-30"},
		{Type: "notifications_summary", From: "2021-12-01", To: "2021-12-01"}} {
		if _, err := fx.svc.Request(ctx, p, in); err != nil {
			t.Errorf("%s – %s: %v", in.From, in.To, err)
		}
	}
	// A requester has at most MaxPending extractions waiting.
	for range extracts.MaxPending - 2 {
		if _, err := fx.svc.Request(ctx, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fx.svc.Request(ctx, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"}); domain.ErrorCode(err) != domain.ETOOMANY {
		t.Errorf("one more than %d waiting: %v, want too many", extracts.MaxPending, err)
	}
}

func TestCancel(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.shopUser()
	in := extracts.Input{Type: "notifications_summary", From: "2026-11-20", To: "2026-11-20"}
	// Canceled while queued: the job finds nothing to do.
	e, err := fx.svc.Request(ctx, p, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.svc.Delete(ctx, p, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := fx.svc.Run(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if e, _ = fx.svc.Get(ctx, p, e.ID); e.Status != domain.ExtractionCanceled {
		t.Errorf("canceled while queued: %s", e.Status)
	}
	// Canceled while running: the writer stops at its next progress record and leaves no file.
	defer extracts.SetProgressEvery(1)()
	defer extracts.RegisterForTest(&extracts.Table{Type: "test_cancel", Columns: []extracts.Column{{Label: "extract.col.sent"}},
		Rows: func(ctx context.Context, q *extracts.Query, emit func([]string) error) error {
			for i := range 3 {
				if err := emit([]string{"row"}); err != nil {
					return err
				}
				if i == 0 {
					if err := fx.svc.Delete(ctx, p, e.ID); err != nil {
						return err
					}
				}
			}
			return nil
		}})()
	if e, err = fx.svc.Request(ctx, p, extracts.Input{Type: "test_cancel", From: "2026-11-20", To: "2026-11-20"}); err != nil {
		t.Fatal(err)
	}
	fx.svc.Notify = func(ctx context.Context, done *domain.Extraction) { t.Errorf("notified of %s", done.Status) }
	if err := fx.svc.Run(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if e, _ = fx.svc.Get(ctx, p, e.ID); e.Status != domain.ExtractionCanceled || e.RowsWritten != 1 {
		t.Errorf("canceled while running after its first row: %s with %d rows recorded", e.Status, e.RowsWritten)
	}
	entries, _ := os.ReadDir(fx.svc.Dir)
	if len(entries) != 0 {
		t.Errorf("files left after a cancel: %v", entries)
	}
	// Deleting a canceled extraction removes it from the list.
	if err := fx.svc.Delete(ctx, p, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.svc.Get(ctx, p, e.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("deleted: %v", err)
	}
}

// TestRestart: a process killed while writing leaves its extraction running with a partial file. While
// its run could still be alive (it beat less than StaleAfter ago) another leaves it alone; after that,
// the extraction starts over and ends ready with one complete file, and the partial one is removed once
// it is a day old.
func TestRestart(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.shopUser()
	e, err := fx.svc.Request(ctx, p, extracts.Input{Type: "notifications_summary", From: "2026-11-20", To: "2026-11-20"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := fx.st.StartExtraction(ctx, e.ID, 4, "killed", fx.now, store.ExtractionLimits{}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, err := fx.st.ExtractionProgress(ctx, e.ID, "killed", 2); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(fx.svc.Dir, 0o750)
	partial := filepath.Join(fx.svc.Dir, "1-0000000000000000.csv.part")
	if err := os.WriteFile(partial, []byte("Enviada em,Bot\n20/11"), 0o640); err != nil {
		t.Fatal(err)
	}
	fx.now = fx.now.Add(time.Minute)
	if err := fx.svc.Run(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if stale, err := fx.st.StaleExtractions(ctx, fx.now.Add(-extracts.StaleAfter)); err != nil || len(stale) != 0 {
		t.Errorf("stale a minute after its last beat: %v (%v)", stale, err)
	}
	fx.now = fx.now.Add(extracts.StaleAfter)
	if stale, err := fx.st.StaleExtractions(ctx, fx.now.Add(-extracts.StaleAfter)); err != nil || !slices.Equal(stale, []int64{e.ID}) {
		t.Errorf("stale after StaleAfter: %v (%v), want %d", stale, err, e.ID)
	}
	if got, _ := fx.svc.Get(ctx, p, e.ID); got.Status != domain.ExtractionRunning || got.Progress() != 0.5 {
		t.Fatalf("before the restart: %s at %.2f", got.Status, got.Progress())
	}
	if err := fx.svc.Run(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := fx.svc.Get(ctx, p, e.ID)
	if got.Status != domain.ExtractionReady || got.RowsWritten != 4 || got.Attempts != 2 {
		t.Fatalf("after the restart: %s, %d rows, attempt %d", got.Status, got.RowsWritten, got.Attempts)
	}
	if rows := readCSV(t, fx, p, e.ID); len(rows) != 5 {
		t.Errorf("%d lines, want a header and 4", len(rows))
	}
	old := fx.now.Add(-25 * time.Hour)
	os.Chtimes(partial, old, old)
	if n, err := fx.svc.Expire(ctx); err != nil || n != 1 {
		t.Errorf("Expire removed %d files (%v), want the partial one", n, err)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("the partial file is still there: %v", err)
	}
	if _, err := fx.svc.Open(ctx, p, e.ID); err != nil {
		t.Errorf("the ready file after Expire: %v", err)
	}
}

func TestExpire(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	p := fx.shopUser()
	fx.svc.Keep = 48 * time.Hour
	var notified []domain.ExtractionStatus
	fx.svc.Notify = func(_ context.Context, e *domain.Extraction) { notified = append(notified, e.Status) }
	e := fx.extract(t, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"})
	if !slices.Equal(notified, []domain.ExtractionStatus{domain.ExtractionReady}) {
		t.Errorf("notified %v, want ready", notified)
	}
	fx.now = fx.now.Add(47 * time.Hour)
	if n, err := fx.svc.Expire(ctx); err != nil || n != 0 {
		t.Fatalf("before its time: %d files deleted, %v", n, err)
	}
	fx.now = fx.now.Add(time.Hour)
	if n, err := fx.svc.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("at its time: %d files deleted, %v", n, err)
	}
	got, _ := fx.svc.Get(ctx, p, e.ID)
	if got.Status != domain.ExtractionExpired {
		t.Errorf("status %s, want expired", got.Status)
	}
	if _, err := fx.svc.Open(ctx, p, e.ID); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Errorf("open an expired extraction: %v, want conflict", err)
	}
	if entries, _ := os.ReadDir(fx.svc.Dir); len(entries) != 0 {
		t.Errorf("files left: %v", entries)
	}
}
