package demo

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/simulator"
)

// The consumption report of the demo (issue 15): Meta's side of the
// reconciliation, and budgets.

// simulatorRates are what the simulated Meta charges per message, in
// millionths of a dollar: the simulator's list prices.
var simulatorRates = map[string]int64{"MARKETING": 62_500, "UTILITY": 6_800, "AUTHENTICATION": 6_800}

// Reconcile gives the simulator, which remembers only what it charged
// since it started (at started), the charges of what was sent before: the
// history, written straight into the database, and earlier runs. Meta
// would have charged them; the simulator answers pricing_analytics with
// them from now on. Then it asks the simulator, as the hourly job does,
// for the days of the history, so the report's reconciliation shows at
// once.
func Reconcile(ctx context.Context, svc server.Services, sim *simulator.Server, state *State, started time.Time) error {
	counts, err := svc.Billing.Store.ConsumptionBefore(ctx, started)
	if err != nil {
		return fmt.Errorf("demo reconciliation: %w", err)
	}
	list, err := svc.Billing.Store.Channels(ctx, nil)
	if err != nil {
		return fmt.Errorf("demo reconciliation: %w", err)
	}
	byID := map[int64]domain.Channel{}
	for _, c := range list {
		byID[c.ID] = c
	}
	charged := 0
	for _, c := range counts {
		ch, ok := byID[c.ChannelID]
		if !ok || ch.WABAID == "" || c.PricingType == "" || !c.Billable && c.PricingType == "regular" {
			continue // no price from Meta, or a failure Meta did not charge
		}
		cat, typ := strings.ToUpper(c.Category), strings.ToUpper(c.PricingType)
		cost := int64(0)
		if c.Billable {
			cost = simulatorRates[cat] * c.N
		}
		sim.Charge(simulator.Charge{WABAID: ch.WABAID, Phone: digits(ch.DisplayPhone), Day: time.Unix(c.Hour*3600, 0),
			Category: cat, PricingType: typ, Count: c.N, Cost: float64(cost) / 1e6})
		charged += int(c.N)
	}
	from := state.HistoryEnd.AddDate(0, 0, -HistoryDays)
	if err := svc.Billing.FetchMeta(ctx, from, time.Now()); err != nil {
		return fmt.Errorf("demo reconciliation: %w", err)
	}
	slog.Info("demo: the simulated Meta knows what the history was charged", slog.Int("messages", charged))
	return nil
}

// SeedBudgets gives each subaccount a monthly budget once: Varejo Centro
// the spend of the previous month, Loja Online a tight one (a quarter of
// it) so that its 80 % and 100 % alerts show early in the month.
func SeedBudgets(ctx context.Context, svc server.Services, state *State) error {
	if state.BudgetsSeeded {
		return nil
	}
	admin := access.System()
	subs, err := svc.Access.Subaccounts(ctx, admin)
	if err != nil {
		return err
	}
	prev := billing.MonthOf(time.Now().In(svc.Billing.Location)).Prev()
	for _, sa := range subs {
		if sa.ID == domain.UnassignedSubaccountID {
			continue
		}
		rep, err := svc.Billing.Consumption(ctx, admin, billing.Query{Month: prev, Subaccount: sa.ID})
		if err != nil {
			return err
		}
		amount := rep.EstimatedCost
		if sa.Name == "Loja Online" {
			amount = quarter(amount)
		}
		if amount == "0.00" {
			amount = "100.00"
		}
		if _, err := svc.Billing.SetBudget(ctx, admin, sa.ID, billing.BudgetInput{Amount: amount}); err != nil {
			return err
		}
	}
	state.BudgetsSeeded = true
	return svc.Billing.CheckBudgets(ctx)
}

// quarter is a quarter of a decimal amount, to the cent.
func quarter(amount string) string {
	var whole, cents int64
	fmt.Sscanf(amount, "%d.%d", &whole, &cents)
	c := (whole*100 + cents) / 4
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
