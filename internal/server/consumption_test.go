package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// TestWebConsumptionPage: Contrato → Conversas do WhatsApp is an admin's
// page; every other role gets 403, and a bad month a 400 page.
func TestWebConsumptionPage(t *testing.T) {
	s := newServer(t)
	var sa struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Loja"}, &sa)
	for _, u := range []struct{ email, role string }{{"chefe@example.com", "admin"}, {"super@example.com", "supervisor"},
		{"agente@example.com", "agent"}, {"leitor@example.com", "viewer"}} {
		body := map[string]any{"email": u.email, "role": u.role, "password": "senha-" + u.role}
		if u.role != "admin" {
			body["subaccounts"] = []int64{sa.ID}
		}
		s.must(201, "POST", "/api/v1/users", adminToken, body, nil)
	}
	admin := newWebClient(t, s)
	admin.login("chefe@example.com", "senha-admin")
	code, body := admin.get("/consumption")
	if code != 200 || !strings.Contains(body, "Consumo parcial") || !strings.Contains(body, `id="nav-consumption"`) ||
		!strings.Contains(body, "Contagem diária de conversas") {
		t.Errorf("admin's consumption page: %d %s", code, body)
	}
	if !strings.Contains(body, "Conferência com a Meta") || !strings.Contains(body, `id="recon-pending"`) {
		t.Errorf("the reconciliation panel before Meta was asked: %s", body)
	}
	// Meta's answer for the channel's WABA: three marketing messages
	// charged today, which ticks never sent.
	s.must(201, "POST", "/api/v1/channels", adminToken, map[string]any{"subaccount_id": sa.ID, "name": "Loja",
		"phone_number_id": "106540352242922", "waba_id": "102290129340398", "display_phone": "+55 11 95555-0001"}, nil)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if err := s.srv.Store.ReplaceMetaCharges(context.Background(), "102290129340398", "pricing", today.AddDate(0, 0, -today.Day()+1),
		today.AddDate(0, 0, 1), []domain.MetaCharge{{Start: today, End: today.AddDate(0, 0, 1), Phone: "5511955550001",
			Category: "marketing", PricingType: "regular", Count: 3, CostMicros: 187_500}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	code, body = admin.get("/consumption?month=" + today.Format("2006-01"))
	if code != 200 || !strings.Contains(body, `id="recon-differences"`) || !strings.Contains(body, "<td class=\"num\">-3</td>") ||
		!strings.Contains(body, `id="recon-cost">0,19<`) {
		t.Errorf("the reconciliation panel with Meta's answer: %d %s", code, body)
	}
	// A budget set on the page, and a form without the CSRF token refused.
	if code, _ := admin.post("/consumption/budgets", url.Values{"subaccount": {fmt.Sprint(sa.ID)}, "amount": {"150,00"}}); code != 403 {
		t.Errorf("a budget without the CSRF token: %d, want 403", code)
	}
	if code, body := admin.post("/consumption/budgets", url.Values{"csrf": {admin.csrf}, "subaccount": {fmt.Sprint(sa.ID)},
		"amount": {"150,00"}, "webhook_url": {"https://hooks.example.com/b"}}); code != 303 {
		t.Fatalf("set a budget: %d %s", code, body)
	}
	code, body = admin.get("/consumption?budget=saved")
	if code != 200 || !strings.Contains(body, `id="budget-saved"`) || !strings.Contains(body, "150,00 USD") ||
		!strings.Contains(body, "https://hooks.example.com/b") {
		t.Errorf("the page after saving a budget: %d %s", code, body)
	}
	if code, _ := admin.post("/consumption/budgets", url.Values{"csrf": {admin.csrf}, "subaccount": {fmt.Sprint(sa.ID)}, "amount": {"-3"}}); code != 400 {
		t.Errorf("a negative budget: %d, want 400", code)
	}
	if code, _ := admin.post("/consumption/budgets/delete", url.Values{"csrf": {admin.csrf}, "subaccount": {fmt.Sprint(sa.ID)}}); code != 303 {
		t.Errorf("remove the budget: %d", code)
	}
	if _, body := admin.get("/consumption"); !strings.Contains(body, `id="budget-none"`) {
		t.Errorf("the budget is still shown after removal")
	}
	if code, body := admin.get("/consumption?month=2020-01"); code != 200 || strings.Contains(body, "Consumo parcial") ||
		!strings.Contains(body, "Consolidado em 07/02/2020") {
		t.Errorf("a closed month: %d %s", code, body)
	}
	if code, _ := admin.get("/consumption?month=2020-13"); code != 400 {
		t.Errorf("a malformed month: %d, want 400", code)
	}
	for _, u := range []struct{ email, role string }{{"super@example.com", "supervisor"}, {"agente@example.com", "agent"}, {"leitor@example.com", "viewer"}} {
		c := newWebClient(t, s)
		c.login(u.email, "senha-"+u.role)
		if code, body := c.get("/consumption"); code != 403 || strings.Contains(body, "consumption-summary") {
			t.Errorf("%s on the consumption page: %d, want 403", u.role, code)
		}
		if _, body := c.get("/reports/messages"); strings.Contains(body, `id="nav-consumption"`) {
			t.Errorf("%s sees the consumption entry in the menu", u.role)
		}
	}
}

// TestWebBudgetNotices: a budget's alerts show in the notice area of every
// page an admin opens (the layout polls /consumption/notices), each admin
// dismisses their own, with the CSRF token; other roles have none.
func TestWebBudgetNotices(t *testing.T) {
	s := newServer(t)
	var sa struct{ ID int64 }
	s.must(201, "POST", "/api/v1/subaccounts", adminToken, map[string]string{"name": "Loja <Centro>"}, &sa)
	for _, u := range []struct{ email, role string }{{"chefe@example.com", "admin"}, {"outra@example.com", "admin"},
		{"super@example.com", "supervisor"}} {
		body := map[string]any{"email": u.email, "role": u.role, "password": "senha-" + u.role + "-1"}
		if u.role != "admin" {
			body["subaccounts"] = []int64{sa.ID}
		}
		s.must(201, "POST", "/api/v1/users", adminToken, body, nil)
	}
	month := time.Now().UTC().AddDate(0, 0, -2).Format("2006-01") // this month or the last in any time zone
	for _, a := range []domain.BudgetAlert{{SubaccountID: sa.ID, Month: month, Threshold: 80, AmountMicros: 100_000_000,
		SpentMicros: 81_500_000, CreatedAt: time.Now()}, {SubaccountID: sa.ID, Month: "2020-01", Threshold: 100,
		AmountMicros: 1_000_000, SpentMicros: 2_000_000, CreatedAt: time.Now()}} {
		if _, err := s.srv.Store.AddBudgetAlert(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	type notices struct {
		Notices []struct{ ID, Status, Text, Href, Seen string }
	}
	list := func(c *webClient) notices {
		t.Helper()
		code, body := c.get("/consumption/notices")
		var n notices
		if code != 200 || json.Unmarshal([]byte(body), &n) != nil {
			t.Fatalf("notices: %d %s", code, body)
		}
		return n
	}
	admin := newWebClient(t, s)
	admin.login("chefe@example.com", "senha-admin-1")
	if _, body := admin.get("/reports/messages"); !strings.Contains(body, `data-notices="/reports/manager/notices /consumption/notices"`) {
		t.Errorf("an admin's pages do not poll the budget notices")
	}
	n := list(admin)
	if len(n.Notices) != 1 || n.Notices[0].Status != "budget" || !strings.Contains(n.Notices[0].Text, "Loja <Centro>") ||
		!strings.Contains(n.Notices[0].Text, "80 %") || !strings.Contains(n.Notices[0].Text, "81,50 de 100,00 USD") ||
		n.Notices[0].Href != fmt.Sprintf("/consumption?month=%s&subaccount=%d#budgets", month, sa.ID) {
		t.Fatalf("an admin's budget notices (the alert of 2020 is too old to show): %+v", n)
	}
	seen := n.Notices[0].Seen
	if code, _ := admin.post(seen, url.Values{}); code != 403 {
		t.Errorf("dismissed without the CSRF token: %d, want 403", code)
	}
	if code, _ := admin.post(strings.Replace(seen, "threshold=80", "threshold=abc", 1), url.Values{"csrf": {admin.csrf}}); code != 400 {
		t.Errorf("a malformed threshold: %d, want 400", code)
	}
	if n := list(admin); len(n.Notices) != 1 {
		t.Errorf("refused dismissals changed the notices: %+v", n)
	}
	if code, body := admin.post(seen, url.Values{"csrf": {admin.csrf}}); code != 303 {
		t.Fatalf("dismiss: %d %s", code, body)
	}
	if n := list(admin); len(n.Notices) != 0 {
		t.Errorf("a dismissed alert still shows: %+v", n)
	}
	other := newWebClient(t, s)
	other.login("outra@example.com", "senha-admin-1")
	if n := list(other); len(n.Notices) != 1 {
		t.Errorf("one admin's dismissal hid the other's notice: %+v", n)
	}
	super := newWebClient(t, s)
	super.login("super@example.com", "senha-supervisor-1")
	if n := list(super); len(n.Notices) != 0 {
		t.Errorf("a supervisor sees budget alerts: %+v", n)
	}
	if _, body := super.get("/reports/messages"); strings.Contains(body, "/consumption/notices") {
		t.Errorf("a supervisor's pages poll the budget notices")
	}
	if code, _ := super.post(seen, url.Values{"csrf": {super.csrf}}); code != 403 {
		t.Errorf("a supervisor dismissing a budget alert: %d, want 403", code)
	}
}
