package extracts_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/extracts"
)

// numbered registers a table of n rows, "1" to "n", for the length of a test.
func numbered(t *testing.T, typ string, n int) {
	t.Cleanup(extracts.RegisterForTest(&extracts.Table{Type: typ, Columns: []extracts.Column{{Label: "extract.col.sent"}},
		Rows: func(ctx context.Context, q *extracts.Query, emit func([]string) error) error {
			for i := 1; i <= n; i++ {
				if err := emit([]string{strconv.Itoa(i)}); err != nil {
					return err
				}
			}
			return nil
		}}))
}

// TestCompressedCSV: a CSV past CompressAbove is stored gzipped, downloaded under a name ending in .gz
// as application/gzip, and reads back whole; a small one stays plain.
func TestCompressedCSV(t *testing.T) {
	fx := newFixture(t)
	p := fx.shopUser()
	numbered(t, "test_many", 5000)
	fx.svc.CompressAbove = 10 << 10 // 5,000 short rows are some 29 kB
	e := fx.extract(t, p, extracts.Input{Type: "test_many", From: "2026-11-20", To: "2026-11-20", Lang: "en"})
	f, err := fx.svc.Open(context.Background(), p, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if f.Name != "ticks-test-many-2026-11-20-2026-11-20.csv.gz" || f.ContentType != "application/gzip" || !strings.HasSuffix(e.File, ".csv.gz") {
		t.Errorf("file %q (%s), stored as %q", f.Name, f.ContentType, e.File)
	}
	if e.Bytes != f.Size || e.Bytes >= 14<<10 {
		t.Errorf("recorded %d bytes, file of %d: want the gzipped size, under half the plain 29 kB", e.Bytes, f.Size)
	}
	rows := readCSV(t, fx, p, e.ID)
	if len(rows) != 5001 || rows[0][0] != "Sent" || rows[1][0] != "1" || rows[5000][0] != "5000" {
		t.Errorf("%d lines read back: %q … %q", len(rows), rows[:2], rows[len(rows)-1])
	}
	// Under the threshold: plain CSV; no file but the two is left in the folder.
	e = fx.extract(t, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20", Lang: "en"})
	if strings.HasSuffix(e.File, ".gz") {
		t.Errorf("a small file was compressed: %q", e.File)
	}
	if entries, _ := os.ReadDir(fx.svc.Dir); len(entries) != 2 {
		t.Errorf("files in the folder: %v", entries)
	}
}

// TestXLSXSplitsSheets: an extraction with more rows than a sheet holds continues on new sheets, each
// with the header row, and every row is there once, in order.
func TestXLSXSplitsSheets(t *testing.T) {
	fx := newFixture(t)
	p := fx.shopUser()
	numbered(t, "test_many", 250)
	old := export.MaxXLSXSheetRows
	export.MaxXLSXSheetRows = 101
	t.Cleanup(func() { export.MaxXLSXSheetRows = old })
	e := fx.extract(t, p, extracts.Input{Type: "test_many", From: "2026-11-20", To: "2026-11-20", Format: "xlsx", Lang: "en"})
	if e.RowsWritten != 250 {
		t.Errorf("%d rows recorded", e.RowsWritten)
	}
	f, err := fx.svc.Open(context.Background(), p, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	book, err := excelize.OpenReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sheets := book.GetSheetList()
	if len(sheets) != 3 {
		t.Fatalf("sheets %q, want 3", sheets)
	}
	var got []string
	for _, sheet := range sheets {
		rows, err := book.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) > export.MaxXLSXSheetRows {
			t.Errorf("%s has %d rows, over %d", sheet, len(rows), export.MaxXLSXSheetRows)
		}
		header := -1
		for i, r := range rows {
			if len(r) == 1 && r[0] == "Sent" {
				header = i
				break
			}
		}
		if header < 0 {
			t.Fatalf("%s has no header row", sheet)
		}
		for _, r := range rows[header+1:] {
			got = append(got, r[0])
		}
	}
	if len(got) != 250 || got[0] != "1" || got[249] != "250" {
		t.Fatalf("%d rows across the sheets: %v … %v", len(got), got[:3], got[len(got)-3:])
	}
	for i, v := range got {
		if v != strconv.Itoa(i+1) {
			t.Fatalf("row %d is %q", i+1, v)
		}
	}
}

// TestConcurrencyLimits: while an extraction of a set of subaccounts runs, another of the same set
// waits (ErrBusy, still queued, not stale while its job keeps trying), one of another set runs; past
// the total, every other waits; a run that stopped beating holds nothing back.
func TestConcurrencyLimits(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	shop := fx.shopUser()
	admin := &access.Principal{Role: domain.RoleAdmin}
	fx.svc.Limits.PerScope, fx.svc.Limits.Total = 1, 2
	req := func(p *access.Principal, typ string) *domain.Extraction {
		e, err := fx.svc.Request(ctx, p, extracts.Input{Type: typ, From: "2026-11-20", To: "2026-11-20"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// The shop's first extraction starts (by hand, as a run in another server would).
	first := req(shop, "notifications_users")
	if ok, err := fx.st.StartExtraction(ctx, first.ID, 0, "elsewhere", fx.now.Add(-extracts.StaleAfter), fx.svc.Limits); !ok || err != nil {
		t.Fatal(ok, err)
	}
	second := req(shop, "notifications_users")
	if err := fx.svc.Run(ctx, second.ID); !errors.Is(err, extracts.ErrBusy) {
		t.Fatalf("the shop's second extraction: %v, want ErrBusy", err)
	}
	if e, _ := fx.st.Extraction(ctx, second.ID); e.Status != domain.ExtractionQueued {
		t.Errorf("held back: %s, want queued", e.Status)
	}
	// Another set of subaccounts (the admin's: all of them) runs.
	other := req(admin, "notifications_users")
	if err := fx.svc.Run(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if e, _ := fx.st.Extraction(ctx, other.ID); e.Status != domain.ExtractionReady {
		t.Errorf("another scope's extraction: %s, want ready", e.Status)
	}
	// The total: with the shop's first and a running admin one, a third set waits too.
	running := req(admin, "notifications_users")
	if ok, err := fx.st.StartExtraction(ctx, running.ID, 0, "elsewhere2", fx.now.Add(-extracts.StaleAfter), fx.svc.Limits); !ok || err != nil {
		t.Fatal(ok, err)
	}
	third := req(&access.Principal{Role: domain.RoleViewer, UserID: fx.user, Scope: []int64{fx.other}}, "notifications_users")
	if err := fx.svc.Run(ctx, third.ID); !errors.Is(err, extracts.ErrBusy) {
		t.Fatalf("past the total: %v, want ErrBusy", err)
	}
	// A queued extraction that its job keeps trying is not stale; one nobody tried for StaleAfter is.
	fx.now = fx.now.Add(extracts.StaleAfter / 2)
	fx.svc.Run(ctx, second.ID)
	fx.now = fx.now.Add(extracts.StaleAfter/2 + time.Second)
	stale, err := fx.st.StaleExtractions(ctx, fx.now.Add(-extracts.StaleAfter))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{first.ID, running.ID, third.ID}; fmt.Sprint(stale) != fmt.Sprint(want) {
		t.Errorf("stale %v, want %v (the two runs that stopped beating and the queued one nobody tried)", stale, want)
	}
	// Those runs stopped beating: they hold nothing back, and the shop's second runs.
	if err := fx.svc.Run(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	if e, _ := fx.st.Extraction(ctx, second.ID); e.Status != domain.ExtractionReady {
		t.Errorf("once the others stopped beating: %s, want ready", e.Status)
	}
}
