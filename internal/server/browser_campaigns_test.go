package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserCampaign is a campaign's main path as a supervisor meets it in
// Growth → Mensagens Ativas: upload a CSV, read the import's report (a bad
// row and a duplicate by line) before confirming, start it, watch the
// counters move without reloading, pause it, and download its messages as
// CSV and read them back.
func TestBrowserCampaign(t *testing.T) {
	downloads := t.TempDir()
	ctx := browse(t, downloads)
	s, sa, _ := simServer(t)
	email, pw := "supervisora@example.com", "senha-segura-123"
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": email, "name": "Conceição", "role": "supervisor",
		"password": pw, "subaccounts": []int64{sa}}, nil)
	// 3,000 good rows (the channel's pace makes that last long enough to
	// pause), then a bad number and a duplicate.
	audience := campaignAudience(3000) + "12;Ruim;a;b\n+5511960000000;De novo;x;y\n"
	file := filepath.Join(t.TempDir(), "publico.csv")
	if err := os.WriteFile(file, []byte(audience), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/login"),
		logIn(email, pw, "#total"),
		chromedp.Click("#nav-campaigns", chromedp.ByQuery),
		chromedp.WaitVisible("#campaign-filter", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "h1"); got != "Mensagens Ativas" {
		t.Errorf("title %q", got)
	}
	if got := text(ctx, t, "#campaigns-empty"); !strings.Contains(got, "Nenhuma campanha") {
		t.Errorf("an empty list says %q", got)
	}
	if err := chromedp.Run(ctx,
		chromedp.Click("#new-campaign", chromedp.ByQuery),
		chromedp.WaitVisible("#campaign-form", chromedp.ByQuery),
		chromedp.SendKeys("#campaign-name", "Outono 2026", chromedp.ByQuery),
		chromedp.SetValue("#campaign-template", "promocao_outono|pt_BR", chromedp.ByQuery),
		chromedp.SetUploadFiles("#campaign-audience", []string{file}, chromedp.ByQuery),
		chromedp.Click("#campaign-upload", chromedp.ByQuery),
		chromedp.WaitVisible("#import-report", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	// The review: the draft exists, nothing is sent until confirmed.
	for sel, want := range map[string]string{"#import-rows": "3.002", "#import-valid": "3.000", "#import-invalid": "1",
		"#import-duplicates": "1", "#import-opted-out": "0"} {
		if got := text(ctx, t, sel); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	rejected := text(ctx, t, "#rejected-rows tbody")
	if !strings.Contains(rejected, "3002") || !strings.Contains(rejected, "3003") {
		t.Errorf("rejected rows %q: want lines 3002 (bad number) and 3003 (duplicate)", rejected)
	}
	var list struct {
		Rows []struct{ Status string }
	}
	s.must(200, "GET", "/api/v1/campaigns", adminToken, nil, &list)
	if len(list.Rows) != 1 || list.Rows[0].Status != "draft" {
		t.Fatalf("before confirming: %+v", list)
	}
	if err := chromedp.Run(ctx,
		chromedp.Click("#confirm-send", chromedp.ByQuery),
		chromedp.WaitVisible("#campaign-counters", chromedp.ByQuery),
		chromedp.Evaluate(`window.__samePage = true`, nil),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#c-audience"); got != "3.000" {
		t.Errorf("Audiência %q", got)
	}
	// The counters move by themselves: the page is never reloaded.
	number := func(sel string) int {
		n, _ := strconv.Atoi(strings.ReplaceAll(text(ctx, t, sel), ".", ""))
		return n
	}
	first := number("#c-delivered")
	deadline := time.Now().Add(30 * time.Second)
	for number("#c-delivered") <= first+10 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	var same bool
	chromedp.Run(ctx, chromedp.Evaluate(`window.__samePage === true`, &same))
	if got := number("#c-delivered"); got <= first+10 || !same {
		t.Fatalf("Recebidas went from %d to %d (same page: %v)", first, got, same)
	}
	if got := text(ctx, t, "#campaign-status"); got != "Enviando" {
		t.Errorf("status %q while sending", got)
	}
	if err := chromedp.Run(ctx,
		chromedp.Click("#campaign-pause", chromedp.ByQuery),
		chromedp.WaitVisible("#campaign-resume", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#campaign-status"); got != "Pausada" {
		t.Errorf("status %q after pausing", got)
	}
	// Paused: what was processed stays put (a second after the pause).
	time.Sleep(1500 * time.Millisecond)
	var detail struct {
		Status   string
		Counters struct{ Processed, Sent int }
	}
	id := strings.TrimPrefix(mustLocation(ctx, t), "/campaigns/")
	s.must(200, "GET", "/api/v1/campaigns/"+id, adminToken, nil, &detail)
	time.Sleep(1500 * time.Millisecond)
	var later struct {
		Counters struct{ Processed int }
	}
	s.must(200, "GET", "/api/v1/campaigns/"+id, adminToken, nil, &later)
	if detail.Status != "paused" || detail.Counters.Processed == 0 || detail.Counters.Processed >= 3000 ||
		later.Counters.Processed != detail.Counters.Processed {
		t.Fatalf("paused: %+v, then processed %d", detail, later.Counters.Processed)
	}
	// Every message sent so far, as CSV.
	rows := exportCSV(ctx, t, downloads)
	if len(rows)-1 != detail.Counters.Processed {
		t.Errorf("the CSV has %d messages; the campaign processed %d", len(rows)-1, detail.Counters.Processed)
	}
	phones := map[string]bool{}
	for _, r := range rows[1:] {
		for _, cell := range r {
			if strings.HasPrefix(cell, "+55119") {
				phones[cell] = true
			}
		}
	}
	if len(phones) != len(rows)-1 {
		t.Errorf("%d distinct audience phones in %d rows: %q", len(phones), len(rows)-1, rows[:min(3, len(rows))])
	}
	// The list shows it, found by a part of its name without its accent.
	if err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/campaigns?name=OUTONO"), chromedp.WaitVisible("#campaigns", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#campaigns tbody"); !strings.Contains(got, "Outono 2026") || !strings.Contains(got, "Pausada") {
		t.Errorf("list %q", got)
	}
	// The list follows its figures live too: its stream's snapshot fills
	// the same cells.
	if err := chromedp.Run(ctx, chromedp.WaitVisible("#campaigns[data-live-at]", chromedp.ByQuery)); err != nil {
		t.Fatalf("the list's live stream: %v", err)
	}
	if got := text(ctx, t, "#campaign-"+id+" [data-live-field$=failed]"); got == "" {
		t.Errorf("the list's Falharam after the stream: %q", got)
	}
	// The detailed report's campaign filter lists the campaigns by name
	// (issue 12, 6); choosing one shows its messages.
	var label string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/reports/messages"), chromedp.WaitVisible("#f-campaign", chromedp.ByQuery),
		chromedp.Evaluate(`(function(){ var sel = document.querySelector("#f-campaign");
			var o = Array.from(sel.options).find(function(o){ return o.text.indexOf("Outono 2026") === 0; });
			if (!o) { return ""; } sel.value = o.value; return o.text; })()`, &label),
	); err != nil {
		t.Fatal(err)
	}
	if label != "Outono 2026 (#"+id+")" {
		t.Fatalf("the campaign filter offers %q", label)
	}
	var total string
	if err := chromedp.Run(ctx, navigate(chromedp.Click("#apply", chromedp.ByQuery)),
		chromedp.AttributeValue("#total", "data-total", &total, nil, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if total != strconv.Itoa(detail.Counters.Processed) || !strings.Contains(mustURL(ctx, t), "campaign="+id) {
		t.Errorf("filtered by the campaign: %s messages at %s; want %d", total, mustURL(ctx, t), detail.Counters.Processed)
	}
}

// mustURL is the browser's current address.
func mustURL(ctx context.Context, t *testing.T) string {
	t.Helper()
	var u string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`location.href`, &u)); err != nil {
		t.Fatal(err)
	}
	return u
}

// mustLocation is the browser's current path.
func mustLocation(ctx context.Context, t *testing.T) string {
	t.Helper()
	var path string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`location.pathname`, &path)); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBrowserCampaignLinkClicks is a campaign whose template's URL button
// takes a dynamic suffix, routed through ticks's /r/{code}: created in the
// browser with the link's destination, sent, its codes tapped as contacts
// tap them (one contact twice, one in the browser itself, which lands on
// the destination), and the campaign's page shows the clicks beside the
// quick-reply buttons and as the funnel's last step — moving live, a
// tap while the page is open counted without reloading it.
func TestBrowserCampaignLinkClicks(t *testing.T) {
	ctx := browse(t, t.TempDir())
	s, sa, _ := linkServer(t)
	email, pw := "supervisora@example.com", "senha-segura-123"
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": email, "name": "Conceição", "role": "supervisor",
		"password": pw, "subaccounts": []int64{sa}}, nil)
	file := filepath.Join(t.TempDir(), "publico.csv")
	if err := os.WriteFile(file, []byte(campaignAudience(5)), 0o600); err != nil {
		t.Fatal(err)
	}
	target := s.url + "/healthz?oferta=natal"
	if err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/login"),
		logIn(email, pw, "#total"),
		chromedp.Navigate(s.url+"/campaigns"),
		chromedp.WaitVisible("#new-campaign", chromedp.ByQuery),
		chromedp.Click("#new-campaign", chromedp.ByQuery),
		chromedp.WaitVisible("#campaign-form", chromedp.ByQuery),
		chromedp.SendKeys("#campaign-name", "Natal com link", chromedp.ByQuery),
		chromedp.SetValue("#campaign-template", "oferta_link|pt_BR", chromedp.ByQuery),
		chromedp.SendKeys("#campaign-link-url", target, chromedp.ByQuery),
		chromedp.SetUploadFiles("#campaign-audience", []string{file}, chromedp.ByQuery),
		chromedp.Click("#campaign-upload", chromedp.ByQuery),
		chromedp.WaitVisible("#import-report", chromedp.ByQuery),
		chromedp.Click("#confirm-send", chromedp.ByQuery),
		chromedp.WaitVisible("#campaign-counters", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(mustLocation(ctx, t), "/campaigns/")
	var detail struct {
		Status    string
		CreatedAt time.Time `json:"created_at"`
	}
	for deadline := time.Now().Add(30 * time.Second); detail.Status != "completed"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the campaign is %q after 30 s", detail.Status)
		}
		s.must(200, "GET", "/api/v1/campaigns/"+id, adminToken, nil, &detail)
	}
	codes := sentLinkCodes(t, s, id, detail.CreatedAt, 5)
	tap := func(code string) {
		t.Helper()
		resp, err := http.Get(s.url + "/r/" + code)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != target {
			t.Fatalf("tap %s: %d at %s", code, resp.StatusCode, resp.Request.URL)
		}
	}
	tap(codes["+5511960000000"])
	tap(codes["+5511960000000"])
	// In the browser: the tap lands on the link's destination.
	if err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/r/"+codes["+5511960000003"])); err != nil {
		t.Fatal(err)
	}
	if got := mustURL(ctx, t); got != target {
		t.Fatalf("the browser's tap went to %s, want %s", got, target)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/campaigns/"+id), chromedp.WaitVisible("#link-clicks", chromedp.ByQuery),
		chromedp.WaitVisible("#campaign-live[data-live-at]", chromedp.ByQuery),
		chromedp.Evaluate(`window.__samePage = true`, nil)); err != nil {
		t.Fatal(err)
	}
	// The link's row: its button, its destination, 2 contacts, 3 clicks;
	// the quick-reply buttons' table (or its "none") beside it.
	linkRow := func() []string {
		var cells []string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll("#link-clicks tbody tr td")).map(function(td){ return td.textContent.trim(); })`, &cells)); err != nil {
			t.Fatal(err)
		}
		return cells
	}
	if cells := linkRow(); len(cells) < 4 || cells[0] != "Ver oferta" || cells[1] != target || cells[2] != "2" || cells[3] != "3" {
		t.Fatalf("the link's row %q: want Ver oferta, %s, 2 contacts, 3 clicks", cells, target)
	}
	var beside bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(`!!document.querySelector("#buttons #link-clicks") &&
		!!document.querySelector("#buttons #button-clicks, #buttons #buttons-none")`, &beside)); err != nil || !beside {
		t.Errorf("the link clicks are not beside the quick-reply buttons (%v)", err)
	}
	funnel := func() string {
		var label string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`(function(){ var r = document.querySelector('#campaign-funnel rect[data-step="link_clicked"]');
			return r ? r.parentNode.textContent : ""; })()`, &label)); err != nil {
			t.Fatal(err)
		}
		return label
	}
	if got := funnel(); !strings.HasPrefix(got, "Clicaram em links2 · ") {
		t.Errorf("the funnel's link step %q: want 2 and their share of the sent", got)
	}
	var clicked int
	fmt.Sscan(text(ctx, t, "#c-clicked"), &clicked)
	if clicked < 2 {
		t.Errorf("Cliques em botões %d: it counts the 2 contacts who clicked a link", clicked)
	}
	// A third contact taps while the page is open: the row and the funnel
	// follow without a reload.
	tap(codes["+5511960000004"])
	deadline := time.Now().Add(10 * time.Second)
	for cells := linkRow(); (len(cells) < 4 || cells[2] != "3") && time.Now().Before(deadline); cells = linkRow() {
		time.Sleep(100 * time.Millisecond)
	}
	var same bool
	chromedp.Run(ctx, chromedp.Evaluate(`window.__samePage === true`, &same))
	if cells := linkRow(); len(cells) < 4 || cells[2] != "3" || cells[3] != "4" || !same {
		t.Fatalf("after a tap with the page open: %q (same page: %v)", cells, same)
	}
	if got := funnel(); !strings.HasPrefix(got, "Clicaram em links3 · ") {
		t.Errorf("the funnel's link step after it %q", got)
	}
	// The funnel's step opens who clicked.
	if err := chromedp.Run(ctx, chromedp.Navigate(s.url+"/campaigns/"+id+"/clicks"), chromedp.WaitReady("body", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "body"); !strings.Contains(got, "+5511960000000") || !strings.Contains(got, "+5511960000004") {
		t.Errorf("who clicked: %.300q", got)
	}
}
