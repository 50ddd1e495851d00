package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/jobs"
	"github.com/ticksapp/ticks/internal/store"
)

// MetaAnalytics asks Meta what it charged a WABA: the Cloud API client
// (or the simulator behind it).
type MetaAnalytics interface {
	PricingAnalytics(ctx context.Context, wabaID, accessToken string, from, to time.Time) ([]domain.MetaCharge, error)
	ConversationAnalytics(ctx context.Context, wabaID, accessToken string, from, to time.Time) ([]domain.MetaCharge, error)
}

// pmpStart is when Meta began to price per message: pricing_analytics
// answers from then, conversation_analytics before.
var pmpStart = time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)

// errStore marks a failure to store Meta's answer: River retries those.
var errStore = errors.New("storing Meta's figures")

// ReconcileEvery is how often the periodic job asks Meta again.
const ReconcileEvery = time.Hour

// ReconcileArgs is the periodic job that stores what Meta says it charged
// each WABA in the current and the previous month.
type ReconcileArgs struct{}

// Kind names the job in River's tables.
func (ReconcileArgs) Kind() string { return "billing_reconcile" }

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	s *Service
}

// Work asks Meta; a WABA whose question failed is recorded as such (the
// report says so) and asked again on the next run, not by River's retry.
func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	now := w.s.Now().UTC()
	err := w.s.FetchMeta(ctx, MonthOf(now).Prev().Start(time.UTC), now)
	if err != nil && ctx.Err() == nil && !errors.Is(err, errStore) {
		return nil // logged by FetchMeta, WABA by WABA
	}
	return err
}

// Register adds the billing's background jobs to reg: asking Meta for its
// figures every hour (when the service can ask) and checking the budgets
// every five minutes.
func (s *Service) Register(reg *jobs.Registry) {
	jobs.Register(reg, &reconcileWorker{s: s})
	jobs.Register(reg, &alertWorker{s: s})
	reg.Periodic(ReconcileEvery, func() river.JobArgs { return ReconcileArgs{} })
	reg.Periodic(AlertEvery, func() river.JobArgs { return AlertArgs{} })
}

// FetchMeta asks Meta for each WABA's charges of the UTC days from from's
// day to to's (included), pricing_analytics for days from July 2025 and
// conversation_analytics before, and stores the answers. A WABA whose
// question fails keeps its earlier answers and the failure is recorded;
// the others go on.
func (s *Service) FetchMeta(ctx context.Context, from, to time.Time) error {
	if s.Meta == nil {
		return nil
	}
	channels, err := s.Store.Channels(ctx, nil)
	if err != nil {
		return err
	}
	from = from.UTC().Truncate(24 * time.Hour)
	to = to.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	done := map[string]bool{}
	var errs []error
	for i := range channels {
		ch := &channels[i]
		if ch.WABAID == "" || done[ch.WABAID] || ch.SubaccountID == domain.UnassignedSubaccountID {
			continue
		}
		done[ch.WABAID] = true
		token := ""
		if s.Token != nil {
			if token, err = s.Token(ch); err != nil {
				errs = append(errs, fmt.Errorf("WABA %s: %w", ch.WABAID, err))
				continue
			}
		}
		type part struct {
			kind     string
			from, to time.Time
			ask      func(context.Context, string, string, time.Time, time.Time) ([]domain.MetaCharge, error)
		}
		var parts []part
		if from.Before(pmpStart) {
			parts = append(parts, part{"conversation", from, earlier(to, pmpStart), s.Meta.ConversationAnalytics})
		}
		if to.After(pmpStart) {
			parts = append(parts, part{"pricing", later(from, pmpStart), to, s.Meta.PricingAnalytics})
		}
		for _, p := range parts {
			charges, err := p.ask(ctx, ch.WABAID, token, p.from, p.to)
			if err != nil {
				slog.Warn("billing: asking Meta for its figures failed", slog.String("waba", ch.WABAID), slog.String("kind", p.kind),
					slog.Any("err", err))
				errs = append(errs, err)
				if rerr := s.Store.RecordMetaFetchError(ctx, ch.WABAID, p.kind, err.Error()); rerr != nil {
					return fmt.Errorf("%w: %w", errStore, rerr)
				}
				continue
			}
			if err := s.Store.ReplaceMetaCharges(ctx, ch.WABAID, p.kind, p.from, p.to, charges, s.Now()); err != nil {
				return fmt.Errorf("%w: %w", errStore, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Reconciliation compares Meta's figures with ticks's for the report's
// month, by UTC day (Meta's days) and category: charged messages under
// per-message pricing, conversations before.
type Reconciliation struct {
	Source string `json:"source"` // pricing_analytics or conversation_analytics
	Unit   string `json:"unit"`   // charged_messages or conversations
	// FetchedAt is the oldest of the last answers of the report's WABAs;
	// nil when Meta was never asked (then nothing is compared).
	FetchedAt *time.Time `json:"fetched_at"`
	Errors    []string   `json:"errors"` // the last failures of asking Meta, by WABA
	// From and To are the UTC days compared (those every WABA's answer covers).
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Meta     int64  `json:"meta"`
	Ticks    int64  `json:"ticks"`
	MetaCost string `json:"meta_cost"` // in Meta's currency: millionths summed, rounded to cents
	// Differences are the days and categories where the counts differ.
	Differences []Difference `json:"differences"`
}

// Difference is one UTC day and category where Meta's count and ticks's
// differ.
type Difference struct {
	Date       string `json:"date"`
	Category   string `json:"category"`
	Meta       int64  `json:"meta"`
	Ticks      int64  `json:"ticks"`
	Difference int64  `json:"difference"` // ticks − Meta
}

// reconcile builds the report's reconciliation over the channels in scope.
func (s *Service) reconcile(ctx context.Context, m Month, sc store.ConsumptionScope, channels []domain.Channel) (*Reconciliation, error) {
	r := &Reconciliation{Source: "pricing_analytics", Unit: "charged_messages", Errors: []string{}, Differences: []Difference{},
		MetaCost: FormatMoney(0)}
	kind := "pricing"
	if m.PricingModel() == "CBP" {
		r.Source, r.Unit, kind = "conversation_analytics", "conversations", "conversation"
	}
	var wabas []string
	phones := map[string]bool{}
	for _, c := range channels {
		if sc.ChannelID != 0 && c.ID != sc.ChannelID || c.WABAID == "" {
			continue
		}
		if !slices.Contains(wabas, c.WABAID) {
			wabas = append(wabas, c.WABAID)
		}
		phones[digits(c.DisplayPhone)] = true
	}
	fetches, err := s.Store.MetaFetches(ctx, wabas)
	if err != nil {
		return nil, err
	}
	from, to := m.Start(time.UTC), m.Next().Start(time.UTC)
	covered := map[string]bool{}
	for _, f := range fetches {
		if f.Kind != kind {
			continue
		}
		if f.Error != "" {
			r.Errors = append(r.Errors, f.WABAID+": "+f.Error)
		}
		if !f.To.After(f.From) { // never answered
			continue
		}
		covered[f.WABAID] = true
		if r.FetchedAt == nil || f.FetchedAt.Before(*r.FetchedAt) {
			at := f.FetchedAt
			r.FetchedAt = &at
		}
		from, to = later(from, f.From), earlier(to, f.To)
	}
	if len(wabas) == 0 || len(covered) < len(wabas) || !from.Before(to) {
		r.FetchedAt = nil
		return r, nil
	}
	r.From, r.To = from.Format(time.DateOnly), to.Add(-time.Second).Format(time.DateOnly)

	type key struct{ date, category string }
	diff := map[key]*Difference{}
	at := func(k key) *Difference {
		d := diff[k]
		if d == nil {
			d = &Difference{Date: k.date, Category: k.category}
			diff[k] = d
		}
		return d
	}
	charges, err := s.Store.MetaCharges(ctx, kind, wabas, from, to)
	if err != nil {
		return nil, err
	}
	var cost int64
	for _, c := range charges {
		if !phones[c.Phone] {
			continue
		}
		cost += c.CostMicros
		if kind == "pricing" && c.PricingType != "regular" {
			continue
		}
		n := c.Count
		at(key{c.Start.Format(time.DateOnly), domain.ReportCategory(c.Category)}).Meta += n
		r.Meta += n
	}
	r.MetaCost = FormatMoney(cost)
	sc.FromHour, sc.ToHour, sc.ByDay, sc.DayOffset = unixHour(from), unixHour(to), true, 0
	counts, err := s.Store.ConsumptionCounts(ctx, sc)
	if err != nil {
		return nil, err
	}
	for _, c := range counts {
		if kind == "pricing" && !c.Billable || kind == "conversation" && c.Opens == "" {
			continue
		}
		at(key{dayOf(c.Hour, time.UTC), domain.ReportCategory(c.Category)}).Ticks += c.N
		r.Ticks += c.N
	}
	for _, d := range diff {
		if d.Meta != d.Ticks {
			d.Difference = d.Ticks - d.Meta
			r.Differences = append(r.Differences, *d)
		}
	}
	slices.SortFunc(r.Differences, func(a, b Difference) int {
		if a.Date != b.Date {
			return strings.Compare(a.Date, b.Date)
		}
		return categoryOrder(a.Category) - categoryOrder(b.Category)
	})
	return r, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// digits keeps a phone number's digits: Meta's analytics name numbers so.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
