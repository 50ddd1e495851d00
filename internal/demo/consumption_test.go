package demo

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// TestDemoConsumption writes a small history and checks the consumption
// report a new user sees: a partial current month whose figures Meta (the
// simulator, told what the history was charged) agrees with, a closed
// month two back with traffic, and each subaccount's budget.
func TestDemoConsumption(t *testing.T) {
	ctx := context.Background()
	sim := simulator.NewServer(simulator.Config{Seed: 11, Phones: Phones, Mix: Outcomes(), Contacts: Contacts})
	api := httptest.NewServer(sim.Handler())
	t.Cleanup(api.Close)
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.WAAPIBase, cfg.DataDir = storetest.DSN(t), api.URL+"/v23.0", t.TempDir()
	cfg.SecretKey, cfg.WAAppSecret = "demo-test-secret-key-0123456789abcdef", "demo-test-app-secret"
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	state := &State{Password: "demo-test", SimulatorID: 11}
	if err := Seed(ctx, srv.Services, state); err != nil {
		t.Fatal(err)
	}
	state.HistoryEnd = time.Now().UTC().Truncate(time.Second)
	h := &History{Services: srv.Services, DSN: server.DSN(cfg), State: state, Dir: t.TempDir(), TTL: 30 * time.Second, PerDay: 150}
	if err := h.Run(ctx, func() {}); err != nil {
		t.Fatal(err)
	}
	if err := Reconcile(ctx, srv.Services, sim, state, time.Now()); err != nil {
		t.Fatal(err)
	}
	svc := srv.Services.Billing
	now := time.Now().In(svc.Location)
	cur := billing.MonthOf(now)
	rep, err := svc.Consumption(ctx, access.System(), billing.Query{Month: cur})
	if err != nil {
		t.Fatal(err)
	}
	rc := rep.Reconciliation
	if !rep.Partial || rc.FetchedAt == nil || len(rc.Differences) != 0 || rc.Meta != rc.Ticks || (now.Day() > 2 && rc.Meta == 0) {
		t.Errorf("current month: partial %v, reconciliation %+v; want partial, fetched, Meta's = ticks's", rep.Partial, rc)
	}
	old, err := svc.Consumption(ctx, access.System(), billing.Query{Month: cur.Prev().Prev()})
	if err != nil {
		t.Fatal(err)
	}
	if old.Partial || old.ClosedAt == nil || old.Charged == 0 || old.Reconciliation.Meta != old.Reconciliation.Ticks {
		t.Errorf("two months back: partial %v closed %v charged %d reconciliation %+v; want closed with traffic, Meta agreeing",
			old.Partial, old.ClosedAt, old.Charged, old.Reconciliation)
	}
	if err := SeedBudgets(ctx, srv.Services, state); err != nil {
		t.Fatal(err)
	}
	list, err := svc.Budgets(ctx, access.System())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || !state.BudgetsSeeded || list[0].Amount == "0.00" || list[1].Amount == "0.00" {
		t.Errorf("budgets %+v", list)
	}
}
