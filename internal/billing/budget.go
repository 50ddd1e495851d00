package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/hook"
	"github.com/ticksapp/ticks/internal/store"
)

// Thresholds are the shares of a budget (percent) whose crossing gives an
// alert, once per month.
var Thresholds = []int{80, 100}

// AlertEvery is how often the budgets are checked against the month's spend.
const AlertEvery = 5 * time.Minute

// maxAlertAttempts bounds the posts of one alert to a webhook that fails.
const maxAlertAttempts = 20

// BudgetInput is what an admin sets: the monthly amount in the rate card's
// currency (a decimal string) and an optional URL alerts are posted to.
type BudgetInput struct {
	Amount     string `json:"amount"`
	WebhookURL string `json:"webhook_url"`
}

// BudgetStatus is a subaccount's budget and its month's spend against it.
type BudgetStatus struct {
	SubaccountID int64        `json:"subaccount_id"`
	Subaccount   string       `json:"subaccount"`
	Month        string       `json:"month"`
	Currency     string       `json:"currency"`
	Amount       string       `json:"amount"`
	Spent        string       `json:"spent"`
	Percent      int64        `json:"percent"` // spent × 100 / amount, rounded down
	WebhookURL   string       `json:"webhook_url"`
	UpdatedAt    time.Time    `json:"updated_at"`
	Alerts       []AlertState `json:"alerts"`
}

// AlertState is an alert a budget gave in the month.
type AlertState struct {
	Threshold   int        `json:"threshold"`
	Spent       string     `json:"spent"` // when it crossed
	At          time.Time  `json:"at"`
	DeliveredAt *time.Time `json:"delivered_at"` // when the webhook answered 2xx
	Attempts    int        `json:"attempts"`
	Error       string     `json:"error,omitempty"`
}

// SetBudget sets subaccount's monthly budget (admins only).
func (s *Service) SetBudget(ctx context.Context, p *access.Principal, subaccount int64, in BudgetInput) (*BudgetStatus, error) {
	if err := p.Need(domain.RoleAdmin); err != nil {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only an admin may set a budget")
	}
	if _, err := p.WriteTarget(subaccount); err != nil {
		return nil, err
	}
	if _, err := s.Store.Subaccount(ctx, subaccount); err != nil {
		return nil, err
	}
	amount, err := parseMicros(strings.TrimSpace(in.Amount))
	if err != nil || amount <= 0 {
		return nil, domain.Errorf(domain.EINVALID, "amount must be a positive decimal with at most six decimals, not %q", in.Amount)
	}
	if in.WebhookURL != "" {
		u, err := url.Parse(in.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.WebhookURL) > 2000 {
			return nil, domain.Errorf(domain.EINVALID, "webhook_url must be an http or https URL of at most 2000 characters")
		}
	}
	b := domain.Budget{SubaccountID: subaccount, AmountMicros: amount, WebhookURL: in.WebhookURL, UpdatedAt: s.Now()}
	if err := s.Store.SetBudget(ctx, b); err != nil {
		return nil, err
	}
	list, err := s.budgetStatuses(ctx, []domain.Budget{b})
	if err != nil {
		return nil, err
	}
	return &list[0], nil
}

// DeleteBudget removes subaccount's budget (admins only).
func (s *Service) DeleteBudget(ctx context.Context, p *access.Principal, subaccount int64) error {
	if err := p.Need(domain.RoleAdmin); err != nil {
		return domain.Errorf(domain.EFORBIDDEN, "only an admin may remove a budget")
	}
	if _, err := p.WriteTarget(subaccount); err != nil {
		return err
	}
	ok, err := s.Store.DeleteBudget(ctx, subaccount)
	if err != nil {
		return err
	}
	if !ok {
		return domain.Errorf(domain.ENOTFOUND, "subaccount %d has no budget", subaccount)
	}
	return nil
}

// Budgets returns the budgets of the subaccounts p sees, with the current
// month's spend and alerts (admins only).
func (s *Service) Budgets(ctx context.Context, p *access.Principal) ([]BudgetStatus, error) {
	if err := p.Need(domain.RoleAdmin); err != nil {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only an admin may see budgets")
	}
	list, err := s.Store.Budgets(ctx, p.Scope)
	if err != nil {
		return nil, err
	}
	return s.budgetStatuses(ctx, list)
}

// budgetStatuses adds each budget's current month, spend and alerts.
func (s *Service) budgetStatuses(ctx context.Context, list []domain.Budget) ([]BudgetStatus, error) {
	out := make([]BudgetStatus, 0, len(list))
	for _, b := range list {
		sa, err := s.Store.Subaccount(ctx, b.SubaccountID)
		if err != nil {
			return nil, err
		}
		loc := s.subaccountLocation(sa)
		m := MonthOf(s.Now().In(loc))
		spent, err := s.spent(ctx, m, b.SubaccountID, loc)
		if err != nil {
			return nil, err
		}
		alerts, err := s.Store.BudgetAlerts(ctx, []int64{b.SubaccountID}, m.String(), false)
		if err != nil {
			return nil, err
		}
		out = append(out, budgetStatus(b, sa.Name, m.String(), s.Rates.Currency, spent, alerts))
	}
	return out, nil
}

func budgetStatus(b domain.Budget, name, month, currency string, spent int64, alerts []domain.BudgetAlert) BudgetStatus {
	st := BudgetStatus{SubaccountID: b.SubaccountID, Subaccount: name, Month: month, Currency: currency,
		Amount: FormatMoney(b.AmountMicros), Spent: FormatMoney(spent), Percent: spent * 100 / b.AmountMicros,
		WebhookURL: b.WebhookURL, UpdatedAt: b.UpdatedAt, Alerts: []AlertState{}}
	for _, a := range alerts {
		st.Alerts = append(st.Alerts, AlertState{Threshold: a.Threshold, Spent: FormatMoney(a.SpentMicros), At: a.CreatedAt,
			DeliveredAt: a.DeliveredAt, Attempts: a.Attempts, Error: a.Error})
	}
	return st
}

func (s *Service) subaccountLocation(sa *domain.Subaccount) *time.Location {
	if l, err := time.LoadLocation(sa.TimeZone); err == nil && sa.TimeZone != "" {
		return l
	}
	return s.Location
}

// spent is a subaccount's estimated cost of month m so far, in its time
// zone, as the report prices it.
func (s *Service) spent(ctx context.Context, m Month, subaccount int64, loc *time.Location) (int64, error) {
	sc := store.ConsumptionScope{FromHour: unixHour(m.Start(loc)), ToHour: unixHour(m.Next().Start(loc)), Subaccounts: []int64{subaccount}}
	sc.ByDay, sc.DayOffset = dayOffset(m.Start(loc), m.Next().Start(loc))
	counts, err := s.Store.ConsumptionCounts(ctx, sc)
	if err != nil {
		return 0, err
	}
	costs, _ := s.Rates.priceCounts(s.Market, m.PricingModel(), counts, loc)
	var total int64
	for _, c := range costs {
		total += c
	}
	return total, nil
}

// AlertArgs is the periodic job that checks the budgets and posts their
// alerts.
type AlertArgs struct{}

// Kind names the job in River's tables.
func (AlertArgs) Kind() string { return "billing_budget_alerts" }

type alertWorker struct {
	river.WorkerDefaults[AlertArgs]
	s *Service
}

func (w *alertWorker) Work(ctx context.Context, _ *river.Job[AlertArgs]) error {
	return w.s.CheckBudgets(ctx)
}

// AlertPayload is the JSON an alert posts to a budget's webhook URL.
type AlertPayload struct {
	Event        string `json:"event"` // budget.threshold
	SubaccountID int64  `json:"subaccount_id"`
	Subaccount   string `json:"subaccount"`
	Month        string `json:"month"`
	Threshold    int    `json:"threshold"`
	Currency     string `json:"currency"`
	Budget       string `json:"budget"`
	Spent        string `json:"spent"`
	At           string `json:"at"`
}

// CheckBudgets records, for each budget, the thresholds its subaccount's
// spend crossed this month (each once per month), then posts the alerts
// not yet delivered to the budget's webhook URL.
func (s *Service) CheckBudgets(ctx context.Context) error {
	list, err := s.Store.Budgets(ctx, nil)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range list {
		sa, err := s.Store.Subaccount(ctx, b.SubaccountID)
		if err != nil {
			if domain.ErrorCode(err) == domain.ENOTFOUND {
				continue
			}
			return err
		}
		loc := s.subaccountLocation(sa)
		now := s.Now()
		m := MonthOf(now.In(loc))
		spent, err := s.spent(ctx, m, b.SubaccountID, loc)
		if err != nil {
			return err
		}
		for _, th := range Thresholds {
			if spent*100 < b.AmountMicros*int64(th) {
				continue
			}
			a := domain.BudgetAlert{SubaccountID: b.SubaccountID, Month: m.String(), Threshold: th, AmountMicros: b.AmountMicros,
				SpentMicros: spent, CreatedAt: now}
			added, err := s.Store.AddBudgetAlert(ctx, a)
			if err != nil {
				return err
			}
			if added {
				slog.Info("billing: a budget crossed a threshold", slog.Int64("subaccount", b.SubaccountID), slog.String("month", a.Month),
					slog.Int("threshold", th), slog.String("spent", FormatMoney(spent)), slog.String("budget", FormatMoney(b.AmountMicros)))
			}
		}
		if b.WebhookURL == "" {
			continue
		}
		pending, err := s.Store.BudgetAlerts(ctx, []int64{b.SubaccountID}, "", true)
		if err != nil {
			return err
		}
		for _, a := range pending {
			if a.Attempts >= maxAlertAttempts {
				continue
			}
			failure := ""
			if err := s.postAlert(ctx, b.WebhookURL, AlertPayload{Event: "budget.threshold", SubaccountID: a.SubaccountID,
				Subaccount: sa.Name, Month: a.Month, Threshold: a.Threshold, Currency: s.Rates.Currency,
				Budget: FormatMoney(a.AmountMicros), Spent: FormatMoney(a.SpentMicros), At: a.CreatedAt.UTC().Format(time.RFC3339)}); err != nil {
				failure = err.Error()
				errs = append(errs, err)
			}
			if err := s.Store.BudgetAlertDelivery(ctx, a, s.Now(), failure); err != nil {
				return err
			}
		}
	}
	if len(errs) > 0 {
		// The failed posts are tried again on the next check, not by
		// River's retry of this one: say so in the log, succeed the job.
		slog.Warn("billing: posting budget alerts failed", slog.Any("err", errors.Join(errs...)))
	}
	return nil
}

func (s *Service) postAlert(ctx context.Context, target string, p AlertPayload) error {
	if err := hook.Post(ctx, s.AlertClient, target, p); err != nil {
		return fmt.Errorf("budget alert: %w", err)
	}
	return nil
}

// reportBudgets are the budgets of the report's subaccounts with their
// spend in the report's month, from the report's own priced counts.
func (s *Service) reportBudgets(ctx context.Context, m Month, scope []int64, counts []domain.ConsumptionCount, costs []int64) ([]BudgetStatus, error) {
	list, err := s.Store.Budgets(ctx, scope)
	if err != nil {
		return nil, err
	}
	spent := map[int64]int64{}
	for i, c := range counts {
		spent[c.SubaccountID] += costs[i]
	}
	out := []BudgetStatus{}
	for _, b := range list {
		if b.SubaccountID == domain.UnassignedSubaccountID {
			continue
		}
		sa, err := s.Store.Subaccount(ctx, b.SubaccountID)
		if err != nil {
			return nil, err
		}
		alerts, err := s.Store.BudgetAlerts(ctx, []int64{b.SubaccountID}, m.String(), false)
		if err != nil {
			return nil, err
		}
		out = append(out, budgetStatus(b, sa.Name, m.String(), s.Rates.Currency, spent[b.SubaccountID], alerts))
	}
	slices.SortFunc(out, func(a, b BudgetStatus) int { return strings.Compare(a.Subaccount, b.Subaccount) })
	return out, nil
}

// BudgetNotice is a budget alert as the app's notice area shows it to an
// admin who has not seen it yet.
type BudgetNotice struct {
	SubaccountID int64     `json:"subaccount_id"`
	Subaccount   string    `json:"subaccount"`
	Month        string    `json:"month"`
	Threshold    int       `json:"threshold"`
	Spent        string    `json:"spent"`
	Amount       string    `json:"amount"`
	Currency     string    `json:"currency"`
	At           time.Time `json:"at"`
}

// BudgetNotices are the budget alerts of this month and the last (in the
// account's time zone) the caller has not seen, for the notice area of
// every page. Only admins have them; a principal that is not a user (an
// API token) has none to see.
func (s *Service) BudgetNotices(ctx context.Context, p *access.Principal) ([]BudgetNotice, error) {
	if err := p.Need(domain.RoleAdmin); err != nil {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only an admin sees budget alerts")
	}
	out := []BudgetNotice{}
	if p.UserID == 0 {
		return out, nil
	}
	m := MonthOf(s.Now().In(s.Location))
	alerts, err := s.Store.UnseenBudgetAlerts(ctx, p.UserID, p.Scope, []string{m.String(), m.Prev().String()})
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, a := range alerts {
		name, ok := names[a.SubaccountID]
		if !ok {
			sa, err := s.Store.Subaccount(ctx, a.SubaccountID)
			if err != nil {
				return nil, err
			}
			name = sa.Name
			names[a.SubaccountID] = name
		}
		out = append(out, BudgetNotice{SubaccountID: a.SubaccountID, Subaccount: name, Month: a.Month, Threshold: a.Threshold,
			Spent: FormatMoney(a.SpentMicros), Amount: FormatMoney(a.AmountMicros), Currency: s.Rates.Currency, At: a.CreatedAt})
	}
	return out, nil
}

// SeeBudgetAlerts dismisses, for the caller, the alerts of subaccount in
// month: of threshold, or all of the month's when threshold is 0.
func (s *Service) SeeBudgetAlerts(ctx context.Context, p *access.Principal, subaccount int64, month string, threshold int) error {
	if err := p.Need(domain.RoleAdmin); err != nil {
		return domain.Errorf(domain.EFORBIDDEN, "only an admin sees budget alerts")
	}
	if !p.CanSee(subaccount) {
		return domain.Errorf(domain.ENOTFOUND, "no subaccount %d", subaccount)
	}
	m, err := ParseMonth(month)
	if err != nil {
		return err
	}
	var thresholds []int
	if threshold != 0 {
		if !slices.Contains(Thresholds, threshold) {
			return domain.Errorf(domain.EINVALID, "threshold must be one of %v, not %d", Thresholds, threshold)
		}
		thresholds = []int{threshold}
	}
	if p.UserID == 0 {
		return nil
	}
	_, err = s.Store.SeeBudgetAlerts(ctx, p.UserID, subaccount, m.String(), thresholds, s.Now())
	return err
}
