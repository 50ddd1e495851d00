package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/ticksapp/ticks/internal/simulator"
)

// chromium returns Debian's Chromium, failing when it is not installed
// (scripts/test-deps.sh installs it; make test runs that first).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed: scripts/test-deps.sh installs it")
	return ""
}

// browse starts headless Chromium with downloads going to dir.
func browse(t *testing.T, dir string) context.Context {
	t.Helper()
	// Not t.TempDir: Chromium may still be writing its profile when the
	// test's own clean-up runs, so the profile is removed here, leniently.
	profile, err := os.MkdirTemp("", "ticks-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1440, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err = chromedp.Run(ctx, browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).
		WithDownloadPath(dir).WithEventsEnabled(true)); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// seedReport fills a subaccount with traffic through webhooks: outbound
// messages in several statuses and replies with quick-reply clicks.
func seedReport(t *testing.T, s *testServer) (supervisorEmail, password string) {
	t.Helper()
	var sa struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Loja São João"}, &sa)
	s.must(201, "POST", "/api/v1/channels", adminToken, map[string]any{"subaccount_id": sa.ID, "name": "Loja",
		"phone_number_id": "106540352242922", "waba_id": "102290129340398"}, nil)
	email, pw := "supervisora@example.com", "senha-segura-123"
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": email, "name": "Conceição", "role": "supervisor",
		"password": pw, "subaccounts": []int64{sa.ID}}, nil)
	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}
	now := time.Now().Add(-3 * time.Hour).Unix()
	statuses := []string{"read", "read", "delivered", "sent", "read", "delivered", "read"}
	for i, st := range statuses {
		wamid := fmt.Sprintf("wamid.BROWSER%03d", i)
		wa := fmt.Sprintf("55119876500%02d", i)
		s.webhook(biz.StatusWebhook(simulator.Status{ID: wamid, Status: "sent", Timestamp: simulator.Unix(now + int64(i)), RecipientID: wa}))
		if st != "sent" {
			s.webhook(biz.StatusWebhook(simulator.Status{ID: wamid, Status: st, Timestamp: simulator.Unix(now + int64(i) + 60), RecipientID: wa}))
		}
		if i%2 == 0 {
			s.webhook(biz.InboundWebhook(simulator.Contact{Name: "Cliente", WAID: wa}, map[string]any{
				"id": fmt.Sprintf("wamid.BROWSERIN%03d", i), "from": wa, "timestamp": simulator.Unix(now + int64(i) + 120),
				"type": "button", "context": map[string]any{"from": "15550783881", "id": wamid},
				"button": map[string]any{"payload": "QR_SIM", "text": "Quero aproveitar"}}))
		}
	}
	f := &simulator.StatusError{Code: 131026, Title: "Message undeliverable", Message: "Message undeliverable"}
	f.ErrorData.Details = "Não entregue: aparelho indisponível"
	s.webhook(biz.StatusWebhook(simulator.Status{ID: "wamid.BROWSERFAIL", Status: "failed", Timestamp: simulator.Unix(now + 30),
		RecipientID: "5511987650099", Errors: []simulator.StatusError{*f}}))
	s.waitFor("wamid.BROWSERFAIL")
	s.waitFor("wamid.BROWSERIN006")
	return email, pw
}

// navigate runs actions that load a new page (a click on a link or a
// submit) and waits until the new page has #total: a marker set on the old
// page must be gone.
func navigate(actions ...chromedp.Action) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := chromedp.Evaluate(`window.__oldPage = true`, nil).Do(ctx); err != nil {
			return err
		}
		if err := chromedp.Tasks(actions).Do(ctx); err != nil {
			return err
		}
		// Evaluating while the page changes fails; that is the wait.
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var ready bool
			err := chromedp.Evaluate(`!window.__oldPage && document.readyState === "complete" && !!document.querySelector("#total, .error")`, &ready).Do(ctx)
			if err == nil && ready {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return fmt.Errorf("no new page with #total within 20s")
	})
}

// screenshot saves the whole page the browser shows as name.png in the
// folder TICKS_SCREENSHOTS names (the docs' pictures); without it, it does
// nothing. quality is chromedp.FullScreenshot's: 100 is PNG, below is JPEG
// (in a file named .png all the same, as before this helper).
func screenshot(ctx context.Context, name string, quality int) {
	shots := os.Getenv("TICKS_SCREENSHOTS")
	if shots == "" {
		return
	}
	var buf []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&buf, quality)); err == nil {
		os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
	}
}

// exportCSV clicks the page's CSV export and returns the rows of the file
// it downloads into dir (without the byte-order mark Excel wants).
func exportCSV(ctx context.Context, t *testing.T, dir string) [][]string {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Click("#export-csv", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(waitFile(t, dir, "csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatalf("the CSV export does not read as CSV: %v", err)
	}
	return rows
}

// logIn fills in the login form of the page the browser is on (or is
// going to), sends it, and waits for ready on the page it lands on.
func logIn(email, pw, ready string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.WaitVisible("#login-form", chromedp.ByQuery),
		chromedp.SendKeys("#email", email, chromedp.ByQuery),
		chromedp.SendKeys("#password", pw, chromedp.ByQuery),
		chromedp.Click("#login-submit", chromedp.ByQuery),
		chromedp.WaitVisible(ready, chromedp.ByQuery),
	}
}

func text(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	var out string
	if err := chromedp.Run(ctx, chromedp.Text(sel, &out, chromedp.ByQuery)); err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(out)
}

// waitFile waits for a download to finish in dir.
func waitFile(t *testing.T, dir, ext string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(dir, "*."+ext))
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Size() > 0 {
				return m
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no .%s download in %s", ext, dir)
	return ""
}

// TestBrowserReport drives the report in headless Chromium as a supervisor
// would: log in, filter and see the count change, switch MT/MO and the
// language, save and re-run a search, download every export format, and
// open the consolidated view.
func TestBrowserReport(t *testing.T) {
	downloads := t.TempDir()
	ctx := browse(t, downloads)
	s := newServer(t)
	email, pw := seedReport(t, s)

	// Log in: Portuguese by default.
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/reports/messages"),
		logIn(email, pw, "#total"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#total"); got != "8 resultados" {
		t.Fatalf("total after login = %q, want 8 resultados", got)
	}
	if !strings.Contains(text(ctx, t, "#report-table"), "Não entregue") {
		t.Error("the failed message's status label is missing")
	}
	screenshot(ctx, "report-mt", 90)

	// Filter by status Lida: the count changes.
	err = chromedp.Run(ctx,
		chromedp.Click(`input[name=status][value=read]`, chromedp.ByQuery),
		navigate(chromedp.Click("#apply", chromedp.ByQuery)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#total"); got != "4 resultados" {
		t.Fatalf("total with status=read = %q, want 4 resultados", got)
	}

	// Save this search, clear the filters, and run it again.
	err = chromedp.Run(ctx,
		chromedp.SendKeys("#save-name", "Lidas da semana", chromedp.ByQuery),
		navigate(chromedp.Click("#save-submit", chromedp.ByQuery)),
		navigate(chromedp.Navigate(s.url+"/reports/messages")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#total"); got != "8 resultados" {
		t.Fatalf("total after clearing = %q", got)
	}
	err = chromedp.Run(ctx,
		navigate(chromedp.Click(`//a[contains(@class,"saved-run") and text()="Lidas da semana"]`, chromedp.BySearch)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#total"); got != "4 resultados" {
		t.Fatalf("total of the saved search = %q, want 4 resultados", got)
	}

	// Exports of the current search.
	for _, format := range []string{"csv", "xlsx", "pdf"} {
		if err := chromedp.Run(ctx, chromedp.Click("#export-"+format, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		path := waitFile(t, downloads, format)
		checkDownload(t, format, path)
	}

	// MO: the replies, with the quick-reply clicks.
	err = chromedp.Run(ctx, navigate(chromedp.Navigate(s.url+"/reports/messages")),
		navigate(chromedp.Click("#dir-mo", chromedp.ByQuery)))
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#total"); got != "4 resultados" {
		t.Errorf("MO total = %q, want 4 resultados", got)
	}
	table := text(ctx, t, "#report-table")
	if !strings.Contains(table, "Quero aproveitar") || !strings.Contains(table, "QR_SIM") || !strings.Contains(table, "Recebido em") {
		t.Errorf("MO table lacks the button click: %s", table)
	}
	screenshot(ctx, "report-mo", 90)

	// English, remembered across pages.
	err = chromedp.Run(ctx,
		navigate(chromedp.Evaluate(`(function(){ var s = document.getElementById("lang"); s.value = "en"; s.form.submit(); return true })()`, nil)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#total"); got != "4 results" {
		t.Errorf("total in English = %q, want 4 results", got)
	}
	err = chromedp.Run(ctx, chromedp.Navigate(s.url+"/reports/messages/consolidated"), chromedp.WaitVisible("#summary", chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#kpi-total"); got != "8" {
		t.Errorf("consolidated total = %q, want 8", got)
	}
	if !strings.Contains(text(ctx, t, "#by-status"), "Read") {
		t.Error("consolidated view is not in English")
	}
	var bars int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("#day-chart rect").length`, &bars)); err != nil || bars == 0 {
		t.Errorf("no chart bars (%v)", err)
	}
	screenshot(ctx, "consolidated", 90)
}

func checkDownload(t *testing.T, format, path string) {
	t.Helper()
	switch format {
	case "csv":
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatalf("csv: %v", err)
		}
		if len(recs) != 5 { // header + the 4 read messages
			t.Errorf("csv has %d records, want 5", len(recs))
		}
	case "xlsx":
		x, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatalf("xlsx: %v", err)
		}
		defer x.Close()
		rows, err := x.GetRows(x.GetSheetList()[0])
		if err != nil {
			t.Fatal(err)
		}
		found, reads, data := false, 0, false
		for _, r := range rows {
			for _, c := range r {
				found = found || strings.Contains(c, "Relatório Detalhado")
			}
			if len(r) > 1 && data && r[1] == "Lida" {
				reads++
			}
			data = data || (len(r) > 0 && r[0] == "Enviado") // the column header row; data follows
		}
		if !found || reads != 4 {
			t.Errorf("xlsx: title found %v, %d rows Lida, want 4", found, reads)
		}
	case "pdf":
		b, _ := os.ReadFile(path)
		if !strings.HasPrefix(string(b), "%PDF") {
			t.Fatalf("pdf does not start with %%PDF")
		}
		if _, err := exec.LookPath("pdftotext"); err != nil {
			t.Fatal("pdftotext is not on PATH: scripts/test-deps.sh installs it")
		}
		out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		txt := string(out)
		for _, want := range []string{"Relatório Detalhado", "Período", "Lida", "Página 1 de 1"} {
			if !strings.Contains(txt, want) {
				t.Errorf("the PDF text lacks %q:\n%s", want, txt)
			}
		}
	}
}
