package server_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/simulator"
)

// TestBrowserConsumption drives Contrato → Conversas do WhatsApp as an
// admin: the current month with its "Consumo parcial" tag, chart and
// figures, its CSV and XLSX, a consolidated month two back, and English.
func TestBrowserConsumption(t *testing.T) {
	downloads := t.TempDir()
	ctx := browse(t, downloads)
	s := newServer(t)
	var sa struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Loja"}, &sa)
	s.must(201, "POST", "/api/v1/channels", adminToken, map[string]any{"subaccount_id": sa.ID, "name": "Loja",
		"phone_number_id": "106540352242922", "waba_id": "102290129340398", "display_phone": "5511955550001"}, nil)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "dona@example.com", "name": "Dona", "role": "admin",
		"password": "senha-da-dona"}, nil)
	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "5511955550001"}
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	now := time.Now().In(sp)
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, sp)
	twoBack := thisMonth.AddDate(0, -2, 0)
	send := func(wamid, to string, at time.Time, category string, billable bool) {
		typ := "regular"
		if !billable {
			typ = "free_customer_service"
		}
		s.webhook(biz.StatusWebhook(simulator.Status{ID: wamid, Status: "sent", Timestamp: simulator.Unix(at.Unix()), RecipientID: to,
			Pricing: &simulator.StatusPricing{Billable: billable, PricingModel: "PMP", Type: typ, Category: category}}))
	}
	// This month: three contacts, two marketing templates charged and a
	// free service reply. Two months back: one utility template.
	at := now.Add(-time.Minute)
	if at.Before(thisMonth) {
		at = thisMonth
	}
	send("wamid.CONS1", "5511987650001", at, "marketing", true)
	send("wamid.CONS2", "5511987650002", at, "marketing", true)
	send("wamid.CONS3", "5511987650003", at, "service", false)
	send("wamid.CONS4", "5511987650004", twoBack.AddDate(0, 0, 14).Add(12*time.Hour), "utility", true)
	for _, w := range []string{"wamid.CONS1", "wamid.CONS2", "wamid.CONS3", "wamid.CONS4"} {
		s.waitFor(w)
	}

	err := chromedp.Run(ctx,
		chromedp.Navigate(s.url+"/consumption"),
		chromedp.WaitVisible("#login-form", chromedp.ByQuery),
		chromedp.SendKeys("#email", "dona@example.com", chromedp.ByQuery),
		chromedp.SendKeys("#password", "senha-da-dona", chromedp.ByQuery),
		navigate(chromedp.Click("#login-submit", chromedp.ByQuery)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#partial-tag"); got != "Consumo parcial" {
		t.Errorf("partial tag = %q", got)
	}
	for sel, want := range map[string]string{"#kpi-business": "3", "#kpi-total": "3", "#kpi-paid": "2", "#kpi-charged": "2",
		"#kpi-free-messages": "1", "#kpi-cost": "0,13"} {
		if got := text(ctx, t, sel); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	var bars int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("#consumption-chart rect.business[height]:not([height='0.0'])").length`, &bars)); err != nil {
		t.Fatal(err)
	}
	if bars != 1 {
		t.Errorf("%d days with business-initiated bars in the chart, want 1", bars)
	}
	if phones := text(ctx, t, "#consumption-phones"); !strings.Contains(phones, "5511955550001") || !strings.Contains(phones, "Marketing") {
		t.Errorf("phone table: %s", phones)
	}

	// Exports of the month.
	recs := exportCSV(ctx, t, downloads)
	found := false
	for _, r := range recs {
		if len(r) > 12 && r[0] == "Número de telefone" && r[3] == "5511955550001" && r[4] == "Marketing" && r[6] == "2" && r[12] == "0.13" {
			found = true
		}
	}
	if !found || !strings.Contains(strings.TrimPrefix(recs[0][0], "\ufeff"), "Tabela") {
		t.Errorf("the CSV lacks the number's marketing row: %v", recs)
	}
	if err := chromedp.Run(ctx, chromedp.Click("#export-xlsx", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenFile(waitFile(t, downloads, "xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows(x.GetSheetList()[0])
	x.Close()
	if !strings.Contains(fmt.Sprint(rows), "Relatório de Consumo de Conversa do WhatsApp") || !strings.Contains(fmt.Sprint(rows), "Consumo parcial") {
		t.Errorf("the XLSX lacks its title or state: %v", rows)
	}

	// Two months back: consolidated, no tag.
	month := twoBack.Format("2006-01")
	err = chromedp.Run(ctx,
		chromedp.SetValue("#month", month, chromedp.ByQuery),
		navigate(chromedp.Click("#show", chromedp.ByQuery)),
	)
	if err != nil {
		t.Fatal(err)
	}
	var tags int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("#partial-tag").length`, &tags)); err != nil {
		t.Fatal(err)
	}
	if tags != 0 || text(ctx, t, "#kpi-charged") != "1" || text(ctx, t, "#kpi-cost") != "0,01" {
		t.Errorf("%s: %d partial tags, charged %s, cost %s; want none, 1, 0,01", month, tags, text(ctx, t, "#kpi-charged"), text(ctx, t, "#kpi-cost"))
	}
	if !strings.Contains(text(ctx, t, "#consumption-summary"), "Consolidado em") {
		t.Errorf("no consolidation date on a closed month: %s", text(ctx, t, "#consumption-summary"))
	}

	// A budget of 0,10 for the subaccount: this month's 0,13 is 125 % of it;
	// the budget check gives the 80 % and 100 % alerts, shown on the page.
	err = chromedp.Run(ctx,
		navigate(chromedp.Navigate(s.url+"/consumption")),
		chromedp.SetValue("#budget-amount", "0,10", chromedp.ByQuery),
		navigate(chromedp.Click("#budget-save", chromedp.ByQuery)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#budget-table .budget-percent"); got != "125 %" {
		t.Errorf("budget share = %q, want 125 %%", got)
	}
	if err := s.srv.Services.Billing.CheckBudgets(context.Background()); err != nil {
		t.Fatal(err)
	}
	var alerts int
	if err := chromedp.Run(ctx, navigate(chromedp.Navigate(s.url+"/consumption")),
		chromedp.Evaluate(`document.querySelectorAll(".budget-alert").length`, &alerts)); err != nil {
		t.Fatal(err)
	}
	if alerts != 2 || !strings.Contains(text(ctx, t, ".budget-alert"), "passou de 80 % do orçamento") {
		t.Errorf("%d budget alerts on the page (%q), want 2", alerts, text(ctx, t, ".budget-alert"))
	}

	// Back to this month, in English.
	err = chromedp.Run(ctx,
		navigate(chromedp.Navigate(s.url+"/consumption")),
		navigate(chromedp.Evaluate(`(function(){ var s = document.getElementById("lang"); s.value = "en"; s.form.submit(); return true })()`, nil)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(ctx, t, "#partial-tag"); got != "Partial consumption" {
		t.Errorf("partial tag in English = %q", got)
	}
	if got := text(ctx, t, "#kpi-cost"); got != "0.13" {
		t.Errorf("cost in English = %q", got)
	}
	screenshot(ctx, "consumption", 90)
}

// TestBrowserBudgetNotice: a budget alert shows in the notice area of an
// admin's other pages, beside the report manager's notices, links to the
// consumption page and, once dismissed, stays gone after a reload.
func TestBrowserBudgetNotice(t *testing.T) {
	ctx := browse(t, t.TempDir())
	s := newServer(t)
	var sa struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Loja Online"}, &sa)
	s.must(201, "POST", "/api/v1/users", adminToken, map[string]any{"email": "dona@example.com", "name": "Dona", "role": "admin",
		"password": "senha-da-dona"}, nil)
	month := time.Now().UTC().AddDate(0, 0, -2).Format("2006-01")
	if _, err := s.srv.Store.AddBudgetAlert(context.Background(), domain.BudgetAlert{SubaccountID: sa.ID, Month: month,
		Threshold: 100, AmountMicros: 50_000_000, SpentMicros: 52_250_000, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	loginAs(ctx, t, s, "dona@example.com", "senha-da-dona", "/reports/messages", "#logout")
	notice := `#notices .notice[data-id="budget-` + fmt.Sprint(sa.ID) + "-" + month + `-100"]`
	waitJS(ctx, t, "the budget notice", `!!document.querySelector('`+notice+`')`)
	if got := text(ctx, t, notice+" span"); !strings.Contains(got, "Loja Online") || !strings.Contains(got, "100 %") ||
		!strings.Contains(got, "52,25 de 50,00 USD") {
		t.Errorf("budget notice = %q", got)
	}
	var href string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelector('`+notice+` a').getAttribute("href")`, &href)); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("/consumption?month=%s&subaccount=%d#budgets", month, sa.ID); href != want {
		t.Errorf("the notice links to %q, want %q", href, want)
	}
	if shots := os.Getenv("TICKS_SCREENSHOTS"); shots != "" {
		var buf []byte
		if err := chromedp.Run(ctx, chromedp.CaptureScreenshot(&buf)); err == nil {
			os.WriteFile(filepath.Join(shots, "budget-notice.png"), buf, 0o644)
		}
	}
	if err := chromedp.Run(ctx, chromedp.Click(notice+" .notice-dismiss", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the dismissed notice gone", `!document.querySelector('`+notice+`')`)
	if err := chromedp.Run(ctx, chromedp.Reload(), chromedp.WaitVisible("#logout", chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the notices are read at load
	var left int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll('#notices .notice').length`, &left)); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d notices after dismissing the budget's and reloading", left)
	}
}
