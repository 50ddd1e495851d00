// Package billing is the consumption report (Relatório de Consumo de
// Conversa, seed 004): conversations and charged messages per month, phone
// number and day, the "Consumo parcial" state until a month is
// consolidated on the 5th Brazilian business day of the next, the closing
// snapshot and the adjustments that arrive after it. Admins only.
package billing

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// Service answers the consumption report.
type Service struct {
	Store *store.Store
	// Location is TICKS_TIMEZONE: the account's time zone when the report
	// spans subaccounts (one subaccount's report uses its own).
	Location *time.Location
	Now      func() time.Time
	// Rates prices the months; Market is the recipients' country the
	// rates are taken for (ticks does not count by recipient country).
	Rates  *RateCard
	Market string
	// Meta answers what Meta charged (the Cloud API client); nil asks
	// nothing. Token opens a channel's access token for it.
	Meta  MetaAnalytics
	Token func(*domain.Channel) (string, error)
	// AlertClient posts budget alerts to their webhooks (http.DefaultClient
	// when nil; each post times out after 10 s).
	AlertClient *http.Client
}

// New returns the service over st, with days cut in loc across subaccounts.
// It prices with the rate card ticks ships; set Rates to use another.
func New(st *store.Store, loc *time.Location) *Service {
	rates, err := LoadRateCard("")
	if err != nil {
		panic(err) // the card ticks ships is checked by its tests
	}
	return &Service{Store: st, Location: loc, Now: time.Now, Rates: rates, Market: "BR"}
}

// KeepDays makes the consumption rollup keep the days the reports ask for
// most from now on — UTC's (the reconciliation with Meta) and those of the
// account's time zone (each whole-hour offset it has this year) — so that
// ingestion pays for them from the start and no report waits while they
// are counted. Other offsets are kept when a report first asks for them.
func (s *Service) KeepDays(ctx context.Context) error {
	offs := []int64{0}
	y := s.Now().Year()
	for _, t := range []time.Time{time.Date(y, 1, 1, 0, 0, 0, 0, s.Location), time.Date(y, 7, 1, 0, 0, 0, 0, s.Location)} {
		if _, off := t.Zone(); off%3600 == 0 && !slices.Contains(offs, int64(off/3600)) {
			offs = append(offs, int64(off/3600))
		}
	}
	for _, off := range offs {
		if err := s.Store.KeepConsumptionDays(ctx, off); err != nil {
			return err
		}
	}
	return nil
}

// RateCard returns the rate card the report prices with (admins only).
func (s *Service) RateCard(p *access.Principal) (*RateCard, error) {
	if err := p.Need(domain.RoleAdmin); err != nil {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only an admin may see the rate card")
	}
	return s.Rates, nil
}

// Query is what a consumption report is asked for.
type Query struct {
	Month         Month
	Subaccount    int64  // 0 for every subaccount the caller sees
	PhoneNumberID string // "" for every number
}

// ParseQuery reads month (YYYY-MM, default the current month),
// subaccount and phone_number_id. The errors name the parameter.
func (s *Service) ParseQuery(q url.Values) (Query, error) {
	var out Query
	for k := range q {
		switch k {
		case "month", "subaccount", "phone_number_id", "format", "bom":
		default:
			return out, domain.Errorf(domain.EINVALID, "unknown parameter %q", k)
		}
	}
	now := MonthOf(s.Now().In(s.Location))
	out.Month = now
	if v := q.Get("month"); v != "" {
		m, err := ParseMonth(v)
		if err != nil {
			return out, err
		}
		if m.Before(firstMonth) || now.Before(m) {
			return out, domain.Errorf(domain.EINVALID, "month must be between %s and %s, not %s", firstMonth, now, m)
		}
		out.Month = m
	}
	if v := q.Get("subaccount"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return out, domain.Errorf(domain.EINVALID, "subaccount must be a subaccount id, not %q", v)
		}
		out.Subaccount = id
	}
	out.PhoneNumberID = q.Get("phone_number_id")
	if len(out.PhoneNumberID) > 64 {
		return out, domain.Errorf(domain.EINVALID, "phone_number_id is too long")
	}
	return out, nil
}

// Report is the consumption report of a month (the API's JSON).
type Report struct {
	Month          string            `json:"month"`
	Partial        bool              `json:"partial"`
	ConsolidatedOn string            `json:"consolidated_on"`
	ClosedAt       *time.Time        `json:"closed_at,omitempty"`
	PricingModel   string            `json:"pricing_model"`
	TimeZone       string            `json:"time_zone"`
	Currency       string            `json:"currency"`
	RateCard       string            `json:"rate_card"`
	Exchange       *Exchange         `json:"exchange,omitempty"`
	Conversations  ConversationCount `json:"conversations"`
	Messages       []MessageCount    `json:"messages"`
	Charged        int64             `json:"charged_messages"`
	Free           int64             `json:"free_messages"`
	EstimatedCost  string            `json:"estimated_cost"`
	// Unpriced is the charged messages (PMP) or paid conversations (CBP)
	// no rate of the card covers; the estimate leaves them out.
	Unpriced int64        `json:"unpriced"`
	ByPhone  []PhoneCount `json:"by_phone"`
	Daily    []DayCount   `json:"daily"`
	// Adjustments are what arrived for a closed month after it closed, by
	// day and category; the figures above leave them out.
	Adjustments []Adjustment `json:"adjustments"`
	// Reconciliation compares Meta's own figures with ticks's.
	Reconciliation *Reconciliation `json:"reconciliation"`
	// Budgets are the report's subaccounts' budgets, spent in the month.
	Budgets []BudgetStatus `json:"budgets"`
}

// ConversationCount is the summary's conversations: by how they started,
// and paid (opened by a charged message) or free.
type ConversationCount struct {
	BusinessInitiated int64 `json:"business_initiated"`
	UserInitiated     int64 `json:"user_initiated"`
	FreeEntryPoint    int64 `json:"free_entry_point"`
	Total             int64 `json:"total"`
	Paid              int64 `json:"paid"`
	Free              int64 `json:"free"`
}

// MessageCount is the outbound messages of one category, pricing type and
// charge.
type MessageCount struct {
	Category    string `json:"category"`
	PricingType string `json:"pricing_type"`
	Billable    bool   `json:"billable"`
	Count       int64  `json:"count"`
	Cost        string `json:"cost"`
}

// PhoneCount is one phone number's messages of one category.
type PhoneCount struct {
	PhoneNumberID string `json:"phone_number_id"`
	DisplayPhone  string `json:"display_phone"`
	Category      string `json:"category"`
	Messages      int64  `json:"messages"`
	Charged       int64  `json:"charged"`
	Conversations int64  `json:"conversations"`
	Cost          string `json:"cost"`
}

// DayCount is one day of the month, in the account's time zone.
type DayCount struct {
	Date              string `json:"date"`
	BusinessInitiated int64  `json:"business_initiated"`
	UserInitiated     int64  `json:"user_initiated"`
	FreeEntryPoint    int64  `json:"free_entry_point"`
	Total             int64  `json:"total"`
	Charged           int64  `json:"charged_messages"`
}

// Adjustment is a change to a closed month after it closed: messages,
// charged messages and conversations of one day and category, signed.
type Adjustment struct {
	Date          string `json:"date"`
	Category      string `json:"category"`
	Messages      int64  `json:"messages"`
	Charged       int64  `json:"charged"`
	Conversations int64  `json:"conversations"`
	Cost          string `json:"cost"`
}

// closingMargin widens a closing snapshot beyond the month's UTC hours so
// that every time zone's month is inside it.
const closingMargin = 14

// Consumption returns the consumption report q asks for. Only admins may
// see it; a month whose consolidation day has ended is closed (its
// snapshot written) on first sight if it was not already.
func (s *Service) Consumption(ctx context.Context, p *access.Principal, q Query) (*Report, error) {
	if err := p.Need(domain.RoleAdmin); err != nil {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only an admin may see the consumption report")
	}
	scope, err := p.Narrow(q.Subaccount)
	if err != nil {
		return nil, err
	}
	loc := s.Location
	if q.Subaccount != 0 {
		sa, err := s.Store.Subaccount(ctx, q.Subaccount)
		if err != nil {
			return nil, err
		}
		if l, err := time.LoadLocation(sa.TimeZone); err == nil {
			loc = l
		}
	}
	channels, err := s.Store.Channels(ctx, scope)
	if err != nil {
		return nil, err
	}
	byID := map[int64]domain.Channel{}
	for _, c := range channels {
		byID[c.ID] = c
	}
	var channelID int64
	if q.PhoneNumberID != "" {
		i := slices.IndexFunc(channels, func(c domain.Channel) bool { return c.PhoneNumberID == q.PhoneNumberID })
		if i < 0 {
			return nil, domain.Errorf(domain.EINVALID, "phone_number_id %q is not a number of yours", q.PhoneNumberID)
		}
		channelID = channels[i].ID
	}

	now := s.Now()
	m := q.Month
	from, to := m.Start(loc), m.Next().Start(loc)
	r := &Report{Month: m.String(), ConsolidatedOn: m.ConsolidationDay().Format(time.DateOnly),
		PricingModel: m.PricingModel(), TimeZone: loc.String(), Partial: !m.Consolidated(now, loc),
		Currency: s.Rates.Currency, RateCard: s.Rates.Version, Exchange: s.Rates.Exchange,
		Messages: []MessageCount{}, ByPhone: []PhoneCount{}, Adjustments: []Adjustment{}}
	sc := store.ConsumptionScope{FromHour: unixHour(from), ToHour: unixHour(to), Subaccounts: scope, ChannelID: channelID}
	sc.ByDay, sc.DayOffset = dayOffset(from, to)
	var counts []domain.ConsumptionCount
	if r.Partial {
		if counts, err = s.Store.ConsumptionCounts(ctx, sc); err != nil {
			return nil, err
		}
	} else {
		closedAt, ok, err := s.Store.ConsumptionClosing(ctx, m.String())
		if err != nil {
			return nil, err
		}
		if !ok {
			if closedAt, err = s.Close(ctx, m); err != nil {
				return nil, err
			}
		}
		r.ClosedAt = &closedAt
		if counts, err = s.Store.ConsumptionSnapshot(ctx, m.String(), sc); err != nil {
			return nil, err
		}
		changes, err := s.Store.ConsumptionChanges(ctx, m.String(), sc)
		if err != nil {
			return nil, err
		}
		if len(changes) > 0 {
			live := mergeCounts(counts, changes)
			liveCosts, _ := s.Rates.priceCounts(s.Market, r.PricingModel, live, loc)
			snapCosts, _ := s.Rates.priceCounts(s.Market, r.PricingModel, counts, loc)
			r.Adjustments = adjustments(counts, snapCosts, live, liveCosts, loc)
		}
	}
	costs, unpriced := s.Rates.priceCounts(s.Market, r.PricingModel, counts, loc)
	r.Unpriced = unpriced
	r.fill(counts, costs, byID, loc, from, to, now)
	if r.Reconciliation, err = s.reconcile(ctx, m, sc, channels); err != nil {
		return nil, err
	}
	if channelID == 0 { // a budget is a subaccount's: one number's report shows none
		if r.Budgets, err = s.reportBudgets(ctx, m, scope, counts, costs); err != nil {
			return nil, err
		}
	} else {
		r.Budgets = []BudgetStatus{}
	}
	return r, nil
}

// Close writes month m's snapshot, once, and returns when it was closed.
// The report closes a month on first sight after its consolidation day;
// this is the same step for a scheduler or a test.
func (s *Service) Close(ctx context.Context, m Month) (time.Time, error) {
	at := s.Now().UTC().Truncate(time.Millisecond)
	from, to := unixHour(m.Start(time.UTC))-closingMargin, unixHour(m.Next().Start(time.UTC))+closingMargin
	if _, err := s.Store.CloseConsumptionMonth(ctx, m.String(), from, to, at); err != nil {
		return time.Time{}, err
	}
	closedAt, _, err := s.Store.ConsumptionClosing(ctx, m.String())
	return closedAt, err
}

// dayOffset tells whether the days of [from, to) are all a whole number of
// hours off UTC, the same one (no change of daylight saving time inside):
// then the rollup can be summed per day by the database.
func dayOffset(from, to time.Time) (bool, int64) {
	_, a := from.Zone()
	_, b := to.Add(-time.Second).Zone()
	if a != b || a%3600 != 0 {
		return false, 0
	}
	return true, int64(a / 3600)
}

func unixHour(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return (u - 3599) / 3600
	}
	return u / 3600
}

func dayOf(hour int64, loc *time.Location) string {
	return time.Unix(hour*3600, 0).In(loc).Format(time.DateOnly)
}

// fill computes the report's figures from the rollup's counts.
func (r *Report) fill(counts []domain.ConsumptionCount, costs []int64, channels map[int64]domain.Channel, loc *time.Location, from, to, now time.Time) {
	type msgKey struct {
		category, pricingType string
		billable              bool
	}
	type phoneKey struct {
		channel  int64
		category string
	}
	msgs := map[msgKey]int64{}
	phones := map[phoneKey]*PhoneCount{}
	phoneCosts := map[phoneKey]int64{}
	days := map[string]*DayCount{}
	var dayList []string
	for d := from; d.Before(to) && (d.Before(now) || len(dayList) == 0); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		days[key] = &DayCount{Date: key}
		dayList = append(dayList, key)
	}
	msgCosts := map[msgKey]int64{}
	var total int64
	for i, c := range counts {
		cat := domain.ReportCategory(c.Category)
		msgs[msgKey{cat, c.PricingType, c.Billable}] += c.N
		msgCosts[msgKey{cat, c.PricingType, c.Billable}] += costs[i]
		total += costs[i]
		pk := phoneKey{c.ChannelID, cat}
		ph := phones[pk]
		if ph == nil {
			ch := channels[c.ChannelID]
			ph = &PhoneCount{PhoneNumberID: ch.PhoneNumberID, DisplayPhone: ch.DisplayPhone, Category: cat}
			phones[pk] = ph
		}
		ph.Messages += c.N
		phoneCosts[pk] += costs[i]
		day := days[dayOf(c.Hour, loc)]
		if day == nil { // a day the list stops before (a late count of today's future hours cannot be, but be safe)
			key := dayOf(c.Hour, loc)
			day = &DayCount{Date: key}
			days[key] = day
			dayList = append(dayList, key)
		}
		if c.Billable {
			r.Charged += c.N
			ph.Charged += c.N
			day.Charged += c.N
		} else {
			r.Free += c.N
		}
		if c.Opens == "" {
			continue
		}
		ph.Conversations += c.N
		r.Conversations.Total += c.N
		day.Total += c.N
		if c.Billable {
			r.Conversations.Paid += c.N
		}
		switch c.Opens {
		case domain.ConversationBusinessInitiated:
			r.Conversations.BusinessInitiated += c.N
			day.BusinessInitiated += c.N
		case domain.ConversationUserInitiated:
			r.Conversations.UserInitiated += c.N
			day.UserInitiated += c.N
		case domain.ConversationFreeEntryPoint:
			r.Conversations.FreeEntryPoint += c.N
			day.FreeEntryPoint += c.N
		}
	}
	r.Conversations.Free = r.Conversations.Total - r.Conversations.Paid
	r.EstimatedCost = FormatMoney(total)
	for k, n := range msgs {
		r.Messages = append(r.Messages, MessageCount{Category: k.category, PricingType: k.pricingType, Billable: k.billable, Count: n,
			Cost: FormatMoney(msgCosts[k])})
	}
	slices.SortFunc(r.Messages, func(a, b MessageCount) int {
		if c := categoryOrder(a.Category) - categoryOrder(b.Category); c != 0 {
			return c
		}
		if a.PricingType != b.PricingType {
			return strings.Compare(a.PricingType, b.PricingType)
		}
		return boolOrder(b.Billable) - boolOrder(a.Billable)
	})
	for k, ph := range phones {
		ph.Cost = FormatMoney(phoneCosts[k])
		r.ByPhone = append(r.ByPhone, *ph)
	}
	slices.SortFunc(r.ByPhone, func(a, b PhoneCount) int {
		if a.DisplayPhone != b.DisplayPhone {
			return strings.Compare(a.DisplayPhone, b.DisplayPhone)
		}
		if a.PhoneNumberID != b.PhoneNumberID {
			return strings.Compare(a.PhoneNumberID, b.PhoneNumberID)
		}
		return categoryOrder(a.Category) - categoryOrder(b.Category)
	})
	slices.Sort(dayList)
	r.Daily = make([]DayCount, 0, len(dayList))
	for _, d := range dayList {
		r.Daily = append(r.Daily, *days[d])
	}
}

// mergeCounts adds changes to counts, key by key: the live rollup from a
// snapshot and what changed since.
func mergeCounts(counts, changes []domain.ConsumptionCount) []domain.ConsumptionCount {
	if len(changes) == 0 {
		return counts
	}
	type key struct {
		sub, ch, hour                int64
		category, pricingType, opens string
		billable                     bool
	}
	at := map[key]int{}
	out := slices.Clone(counts)
	for i, c := range out {
		at[key{c.SubaccountID, c.ChannelID, c.Hour, c.Category, c.PricingType, string(c.Opens), c.Billable}] = i
	}
	for _, c := range changes {
		k := key{c.SubaccountID, c.ChannelID, c.Hour, c.Category, c.PricingType, string(c.Opens), c.Billable}
		if i, ok := at[k]; ok {
			out[i].N += c.N
		} else {
			at[k] = len(out)
			out = append(out, c)
		}
	}
	return slices.DeleteFunc(out, func(c domain.ConsumptionCount) bool { return c.N == 0 })
}

// adjustments are live minus snapshot, by day and category, where they
// differ.
func adjustments(snapshot []domain.ConsumptionCount, snapCosts []int64, live []domain.ConsumptionCount, liveCosts []int64, loc *time.Location) []Adjustment {
	type key struct{ date, category string }
	diff := map[key]*Adjustment{}
	diffCosts := map[key]int64{}
	add := func(counts []domain.ConsumptionCount, costs []int64, sign int64) {
		for i, c := range counts {
			k := key{dayOf(c.Hour, loc), domain.ReportCategory(c.Category)}
			a := diff[k]
			if a == nil {
				a = &Adjustment{Date: k.date, Category: k.category}
				diff[k] = a
			}
			a.Messages += sign * c.N
			diffCosts[k] += sign * costs[i]
			if c.Billable {
				a.Charged += sign * c.N
			}
			if c.Opens != "" {
				a.Conversations += sign * c.N
			}
		}
	}
	add(live, liveCosts, 1)
	add(snapshot, snapCosts, -1)
	out := []Adjustment{}
	for k, a := range diff {
		if a.Messages != 0 || a.Charged != 0 || a.Conversations != 0 || diffCosts[k] != 0 {
			a.Cost = FormatMoney(diffCosts[k])
			out = append(out, *a)
		}
	}
	slices.SortFunc(out, func(a, b Adjustment) int {
		if a.Date != b.Date {
			return strings.Compare(a.Date, b.Date)
		}
		return categoryOrder(a.Category) - categoryOrder(b.Category)
	})
	return out
}

func categoryOrder(c string) int { return slices.Index(domain.PricingCategories, c) }

func boolOrder(b bool) int {
	if b {
		return 1
	}
	return 0
}
