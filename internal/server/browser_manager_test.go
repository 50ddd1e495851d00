package server_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserManager asks the report manager for an extraction as a supervisor: the list shows it
// queued, the page follows it by itself until it is ready and says so, and the file downloaded holds
// the subaccount's notifications.
func TestBrowserManager(t *testing.T) {
	downloads := t.TempDir()
	ctx := browse(t, downloads)
	s := newServer(t)
	email, pw := seedReport(t, s) // 8 outbound messages, 3 hours ago
	if err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/login"),
		logIn(email, pw, "#total"),
		chromedp.Click("#nav-manager", chromedp.ByQuery),
		chromedp.WaitVisible("#new-extraction", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "h1"); got != "Gerenciador de relatórios" {
		t.Errorf("title %q", got)
	}
	if got := text(ctx, t, "#extractions-empty"); !strings.Contains(got, "Nenhuma extração") {
		t.Errorf("an empty list says %q", got)
	}
	// The last 7 days, the notifications of every subaccount of the supervisor's, as CSV.
	var first string
	if err := chromedp.Run(ctx,
		chromedp.SetValue("#extract-type", "notifications_summary", chromedp.ByQuery),
		chromedp.Click("#new-extraction button[type=submit]", chromedp.ByQuery),
		chromedp.WaitVisible("#extractions tbody tr", chromedp.ByQuery),
		chromedp.AttributeValue("#extractions tbody tr", "data-status", &first, nil, chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "p.flash"); !strings.Contains(got, "Extração pedida") {
		t.Errorf("after asking: flash %q", got)
	}
	// The page follows the extraction by itself: when it is done the page says so.
	deadline := time.Now().Add(30 * time.Second)
	var status, location string
	for time.Now().Before(deadline) {
		chromedp.Run(ctx, chromedp.Evaluate(`(function(){ var tr = document.querySelector("#extractions tbody tr");
			return tr ? tr.dataset.status : ""; })()`, &status), chromedp.Evaluate(`location.search`, &location))
		if status == "ready" && (first == "ready" || strings.Contains(location, "done=")) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the extraction was %s when the list was first shown", first)
	if status != "ready" {
		t.Fatalf("the extraction is %q after 30 s", status)
	}
	if first != "ready" {
		if got := text(ctx, t, "p.flash"); !strings.Contains(got, "Pronta: Notifications summary (8 linhas)") {
			t.Errorf("when it was done the page said %q", got)
		}
	}
	if got := text(ctx, t, "#extractions tbody tr [data-rows]"); got != "8" {
		t.Errorf("rows %q", got)
	}
	// Another page of the app tells of the file ready, with its link; downloading it sees the notice.
	if err := chromedp.Run(ctx,
		chromedp.Click("#nav-custom", chromedp.ByQuery),
		chromedp.WaitVisible("#notices .notice", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#notices .notice span"); !strings.Contains(got, "Notifications summary") || !strings.Contains(got, "está pronta: 8 linhas") {
		t.Errorf("the notice says %q", got)
	}
	if err := chromedp.Run(ctx, chromedp.Click("#notices .notice-link", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	path := waitFile(t, downloads, "csv")
	var notices int
	if err := chromedp.Run(ctx,
		chromedp.Reload(),
		chromedp.WaitReady("#notices", chromedp.ByQuery),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.Evaluate(`document.querySelectorAll("#notices .notice").length`, &notices),
	); err != nil {
		t.Fatal(err)
	}
	if notices != 0 {
		t.Errorf("%d notices after the download", notices)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 9 || rows[0][0] != "Enviada em" || rows[0][9] != "Respondida em" {
		t.Fatalf("the file: %q", rows)
	}
	statuses := map[string]int{}
	replied := 0
	for _, r := range rows[1:] {
		statuses[r[5]]++
		if r[9] != "" {
			replied++
		}
	}
	if statuses["Lida"] != 4 || statuses["Não entregue"] != 1 || replied != 4 {
		t.Errorf("statuses %v, %d replied; want 4 read, 1 undelivered, 4 replied", statuses, replied)
	}
}
