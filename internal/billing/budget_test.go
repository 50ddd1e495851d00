package billing_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/send"
)

// TestBudgetAlertsOncePerThreshold: a subaccount's marketing spend
// crosses 80 % and then 100 % of its budget; each threshold gives one
// alert, posted once to the budget's webhook (a failed post is tried
// again on the next check), and the report shows the spend.
func TestBudgetAlertsOncePerThreshold(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	var mu sync.Mutex
	var got []billing.AlertPayload
	fail := 1 // the first post is refused
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail > 0 {
			fail--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var p billing.AlertPayload
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &p); err != nil {
			t.Errorf("alert body %s: %v", b, err)
		}
		got = append(got, p)
	}))
	defer hook.Close()
	svc := e.service()
	admin := access.System()
	if _, err := svc.SetBudget(ctx, admin, e.ch.SubaccountID, billing.BudgetInput{Amount: "0.20", WebhookURL: hook.URL + "/alerts"}); err != nil {
		t.Fatal(err)
	}
	promo := func(to string) int64 {
		return e.send(&send.Request{To: to, Type: "template",
			Template: &send.TemplateRef{Name: "promocao_outono", Language: "pt_BR", Params: []string{"Maria", "X"}}})
	}
	check := func() {
		t.Helper()
		if err := svc.CheckBudgets(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 0.0625: under 80 % of 0.20.
	e.waitRead([]int64{promo("+5511970001001")})
	check()
	if list, _ := svc.Budgets(ctx, admin); len(list) != 1 || list[0].Spent != "0.06" || list[0].Percent != 31 || len(list[0].Alerts) != 0 {
		t.Fatalf("budget after one message: %+v", list)
	}
	// 0.1875: 93 %, the 80 % alert; its first post fails, the next check posts it.
	e.waitRead([]int64{promo("+5511970001002"), promo("+5511970001003")})
	check()
	check()
	check()
	// 0.25: 125 %, the 100 % alert.
	e.waitRead([]int64{promo("+5511970001004")})
	check()
	check()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].Threshold != 80 || got[0].Spent != "0.19" || got[1].Threshold != 100 || got[1].Spent != "0.25" ||
		got[0].Budget != "0.20" || got[0].Event != "budget.threshold" || got[0].SubaccountID != e.ch.SubaccountID {
		t.Errorf("alerts posted %+v, want 80 %% at 0.19 then 100 %% at 0.25, once each", got)
	}
	list, err := svc.Budgets(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if a := list[0].Alerts; len(a) != 2 || a[0].Attempts != 2 || a[0].DeliveredAt == nil || a[1].Attempts != 1 {
		t.Errorf("alerts %+v", a)
	}
	rep, err := svc.Consumption(ctx, admin, billing.Query{Month: billing.MonthOf(svc.Now().UTC())})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Budgets) != 1 || rep.Budgets[0].Spent != "0.25" || rep.Budgets[0].Percent != 125 {
		t.Errorf("the report's budgets %+v", rep.Budgets)
	}

	// The alerts in the app's notice area: each admin sees both until they
	// dismiss them; others have none.
	ana, bia := &access.Principal{Role: domain.RoleAdmin, UserID: 7}, &access.Principal{Role: domain.RoleAdmin, UserID: 8}
	notices := func(p *access.Principal) []billing.BudgetNotice {
		t.Helper()
		list, err := svc.BudgetNotices(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	month := billing.MonthOf(svc.Now().In(svc.Location)).String()
	if n := notices(ana); len(n) != 2 || n[0].Threshold != 80 || n[0].Spent != "0.19" || n[0].Amount != "0.20" ||
		n[1].Threshold != 100 || n[0].Month != month || n[0].SubaccountID != e.ch.SubaccountID || n[0].Subaccount == "" {
		t.Errorf("an admin's budget notices %+v", n)
	}
	if err := svc.SeeBudgetAlerts(ctx, ana, e.ch.SubaccountID, month, 80); err != nil {
		t.Fatal(err)
	}
	if n := notices(ana); len(n) != 1 || n[0].Threshold != 100 {
		t.Errorf("after dismissing the 80 %% alert: %+v", n)
	}
	if n := notices(bia); len(n) != 2 {
		t.Errorf("another admin's notices after the first dismissed one: %+v", n)
	}
	supervisor := &access.Principal{Role: domain.RoleSupervisor, UserID: 9, Scope: []int64{e.ch.SubaccountID}}
	if _, err := svc.BudgetNotices(ctx, supervisor); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("a supervisor's budget notices: %v, want forbidden", err)
	}
	if err := svc.SeeBudgetAlerts(ctx, ana, e.ch.SubaccountID, month, 50); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("a threshold that is none: %v", err)
	}
	if err := svc.SeeBudgetAlerts(ctx, ana, e.ch.SubaccountID, "2026-13", 100); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("a malformed month: %v", err)
	}
	if n := notices(ana); len(n) != 1 {
		t.Errorf("refused dismissals changed the notices: %+v", n)
	}
}

// TestBudgetInputs: admins only, a positive amount, an http(s) URL.
func TestBudgetInputs(t *testing.T) {
	e := newSimEnv(t)
	ctx := context.Background()
	svc := e.service()
	sa := e.ch.SubaccountID
	for _, in := range []billing.BudgetInput{{Amount: "0"}, {Amount: "-1"}, {Amount: "abc"}, {Amount: "1.0000001"},
		{Amount: "10", WebhookURL: "ftp://x"}, {Amount: "10", WebhookURL: "/relative"}} {
		if _, err := svc.SetBudget(ctx, access.System(), sa, in); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%+v: %v, want invalid", in, err)
		}
	}
	super := &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{sa}}
	if _, err := svc.SetBudget(ctx, super, sa, billing.BudgetInput{Amount: "10"}); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("a supervisor set a budget: %v", err)
	}
	other := &access.Principal{Role: domain.RoleAdmin, Scope: []int64{sa + 100}}
	if _, err := svc.SetBudget(ctx, other, sa, billing.BudgetInput{Amount: "10"}); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("another subaccount's admin set a budget: %v", err)
	}
	if err := svc.DeleteBudget(ctx, access.System(), sa); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("deleting no budget: %v", err)
	}
}
