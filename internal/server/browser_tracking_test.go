package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
)

// waitFor runs actions that load a page and waits until a new page shows
// sel (or an error).
func waitPage(sel string, actions ...chromedp.Action) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := chromedp.Evaluate(`window.__oldPage = true`, nil).Do(ctx); err != nil {
			return err
		}
		if err := chromedp.Tasks(actions).Do(ctx); err != nil {
			return err
		}
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var ready bool
			err := chromedp.Evaluate(`!window.__oldPage && document.readyState === "complete" && !!document.querySelector(`+jsString(sel+", .error")+`)`, &ready).Do(ctx)
			if err == nil && ready {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return fmt.Errorf("no new page with %s within 20s", sel)
	})
}

// seedTracking registers a router and a bot and records a menu flow: 6
// contacts open the menu, 4 ask for a boleto 10 minutes later, 2 pay 30
// minutes after that. It returns a supervisor's login.
func seedTracking(t *testing.T, s *testServer) (email, password string) {
	t.Helper()
	var sa, ch struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Loja São João"}, &sa)
	s.must(201, "POST", "/api/v1/channels", adminToken, map[string]any{"subaccount_id": sa.ID, "name": "Loja",
		"phone_number_id": "106540352242922", "waba_id": "102290129340398"}, &ch)
	email, password = "supervisora@example.com", "senha-segura-123"
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": email, "name": "Conceição", "role": "supervisor",
		"password": password, "subaccounts": []int64{sa.ID}}, nil)
	var router, bot struct {
		ID    int64
		Token string
	}
	s.must(201, "POST", "/api/v1/bots", adminToken, map[string]any{"name": "Roteador", "kind": "router", "subaccount_id": sa.ID, "channel_id": ch.ID}, &router)
	s.must(201, "POST", "/api/v1/bots", adminToken, map[string]any{"name": "Boletos", "subaccount_id": sa.ID, "router_id": router.ID}, &bot)
	t0 := time.Now().Add(-3 * time.Hour)
	var events []any
	for i := range 6 {
		phone := fmt.Sprintf("+55119876500%02d", i)
		at := t0.Add(time.Duration(i) * time.Minute)
		events = append(events, map[string]any{"category": "Escolha de Menu", "action": "Abriu o menu", "contact": phone, "at": at.Format(time.RFC3339)})
		if i < 4 {
			events = append(events, map[string]any{"category": "Escolha de Menu", "action": "2ª via de boleto", "contact": phone, "at": at.Add(10 * time.Minute).Format(time.RFC3339)})
		}
		if i < 2 {
			events = append(events, map[string]any{"category": "Pagamento", "action": "Pago", "contact": phone, "at": at.Add(40 * time.Minute).Format(time.RFC3339)})
		}
	}
	var res struct{ Accepted int }
	s.must(200, "POST", "/api/v1/events", bot.Token, map[string]any{"events": events}, &res)
	if res.Accepted != 12 {
		t.Fatalf("seed events: %+v", res)
	}
	s.flushEvents()
	return email, password
}

// TestBrowserCustomReports builds a custom report and a funnel in headless
// Chromium as a supervisor would: choose actions, see the chart and the
// table, save and open the saved report, download CSV and XLSX; then a
// funnel of three steps with its counts, conversions and medians, saved.
func TestBrowserCustomReports(t *testing.T) {
	downloads := t.TempDir()
	ctx := browse(t, downloads)
	s := newServer(t)
	email, pw := seedTracking(t, s)
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/reports/custom"),
		logIn(email, pw, "#custom-form"),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Choose two actions and a granularity.
	err = chromedp.Run(ctx,
		chromedp.Click(`//label[contains(., "2ª via de boleto")]/input`, chromedp.BySearch),
		chromedp.Click(`//label[contains(., "Abriu o menu")]/input`, chromedp.BySearch),
		chromedp.SetValue("#granularity", "hour", chromedp.ByQuery),
		waitPage("#custom-chart", chromedp.Click("#run-custom", chromedp.ByQuery)),
	)
	if err != nil {
		t.Fatal(err)
	}
	var bars int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("#custom-chart rect").length`, &bars)); err != nil || bars == 0 {
		t.Fatalf("no chart bars (%d, %v)", bars, err)
	}
	totals := text(ctx, t, "#custom-totals")
	if !strings.Contains(totals, "Abriu o menu") || !strings.Contains(totals, "2ª via de boleto") || strings.Contains(totals, "Pago") {
		t.Errorf("totals: %s", totals)
	}
	if !strings.Contains(text(ctx, t, "#custom-totals tbody tr:first-child"), "6") {
		t.Errorf("the menu was opened 6 times: %s", totals)
	}
	if rows := text(ctx, t, "#custom-rows"); !strings.Contains(rows, "Contatos únicos") {
		t.Errorf("rows table: %s", rows)
	}
	screenshot(ctx, "custom-report", 100)

	// Save it, open the page afresh, and run the saved report.
	err = chromedp.Run(ctx,
		chromedp.SendKeys("#save-name", "Menu por hora", chromedp.ByQuery),
		waitPage("#custom-chart", chromedp.Click("#save-custom-button", chromedp.ByQuery)),
		waitPage("#custom-form", chromedp.Navigate(s.url+"/reports/custom")),
		waitPage("#custom-chart", chromedp.Click(`//a[text()="Menu por hora"]`, chromedp.BySearch)),
	)
	if err != nil {
		t.Fatal(err)
	}
	var picked int
	chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("#picks input:checked").length`, &picked))
	if picked != 2 || !strings.Contains(text(ctx, t, "#custom-totals"), "2ª via de boleto") {
		t.Errorf("the saved report opened with %d actions: %s", picked, text(ctx, t, "#custom-totals"))
	}

	// Exports.
	recs := exportCSV(ctx, t, downloads)
	var sum int
	for _, r := range recs[1:] {
		var n int
		fmt.Sscan(r[3], &n)
		sum += n
	}
	if err != nil || len(recs) < 2 || recs[0][1] != "Categoria" || sum != 10 {
		t.Errorf("CSV (%v): %v, events %d, want 10", err, recs, sum)
	}
	if err := chromedp.Run(ctx, chromedp.Click("#export-xlsx", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenFile(waitFile(t, downloads, "xlsx"))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	rows, _ := x.GetRows(x.GetSheetList()[0])
	x.Close()
	if !strings.Contains(fmt.Sprint(rows), "Abriu o menu") {
		t.Errorf("xlsx rows: %v", rows)
	}

	// A funnel: menu → boleto → paid within an hour of each.
	err = chromedp.Run(ctx,
		waitPage("#funnel-form", chromedp.Navigate(s.url+"/reports/funnel")),
		chromedp.SetValue("#within", "1h", chromedp.ByQuery),
		chromedp.SetValue("#step-1", "a\x1fEscolha de Menu\x1fAbriu o menu", chromedp.ByQuery),
		chromedp.SetValue("#step-2", "a\x1fEscolha de Menu\x1f2ª via de boleto", chromedp.ByQuery),
		chromedp.SetValue("#step-3", "a\x1fPagamento\x1fPago", chromedp.ByQuery),
		waitPage("#funnel-chart", chromedp.Click("#run-funnel", chromedp.ByQuery)),
	)
	if err != nil {
		t.Fatal(err)
	}
	var cells []string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll("#funnel-steps tbody tr")).map(r => Array.from(r.cells).slice(2).map(c => c.textContent.trim()).join(" | "))`, &cells)); err != nil {
		t.Fatal(err)
	}
	want := []string{"6 | 100,0% | —", "4 | 66,7% | 10 min", "2 | 50,0% | 30 min"}
	if fmt.Sprint(cells) != fmt.Sprint(want) {
		t.Errorf("funnel steps: %q, want %q", cells, want)
	}
	screenshot(ctx, "funnel", 100)
	err = chromedp.Run(ctx,
		chromedp.SendKeys("#save-funnel-name", "Menu → pagamento", chromedp.ByQuery),
		waitPage("#funnel-chart", chromedp.Click("#save-funnel-button", chromedp.ByQuery)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#saved-funnels"); !strings.Contains(got, "Menu → pagamento") {
		t.Errorf("saved funnels: %s", got)
	}
	// The conversation metrics and the bots pages open.
	if err := chromedp.Run(ctx, waitPage("#conversation-rows", chromedp.Navigate(s.url+"/reports/conversations"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, waitPage("#bots", chromedp.Navigate(s.url+"/admin/bots"))); err != nil {
		t.Fatal(err)
	}
	var botRows []string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll("#bots tbody tr")).map(r => Array.from(r.cells).slice(0, 3).map(c => c.textContent.trim()).join(" | "))`, &botRows)); err != nil {
		t.Fatal(err)
	}
	// Each bot with its kind and the router it answers to (the whole table
	// rendered: a failing row would cut it short).
	if got := strings.Join(botRows, "; "); !strings.Contains(got, "Boletos | Bot | Roteador") || !strings.Contains(got, "Roteador | Roteador | ") {
		t.Errorf("bots: %s", got)
	}
}
