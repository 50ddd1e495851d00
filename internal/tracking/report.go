package tracking

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// EventQuery is a custom report of events: which actions, over which
// period, in buckets of which granularity.
type EventQuery struct {
	Subaccount  int64     `json:"subaccount,omitempty"` // 0: every subaccount the caller sees
	From        time.Time `json:"from"`
	To          time.Time `json:"to"` // excluded
	Granularity string    `json:"granularity"`
	Categories  []string  `json:"categories,omitempty"`
	Actions     []string  `json:"actions,omitempty"`
	BotID       int64     `json:"bot,omitempty"`
}

// Limits of a report's period.
const (
	MaxHourDays   = 31   // days of an hourly report
	MaxDayDays    = 400  // days of a daily report
	MaxReportDays = 1830 // days of a weekly or monthly report: 5 years
)

// ParseEventQuery reads a custom report's parameters: from and to
// (RFC 3339 date-times or YYYY-MM-DD dates in the account's time zone, to
// included when a date; the last 7 days by default), granularity
// (hour, day, week, month; day by default), category and action
// (repeatable), bot and subaccount.
func (s *Service) ParseEventQuery(q url.Values) (EventQuery, error) {
	var out EventQuery
	var err error
	if out.From, out.To, err = s.period(q.Get("from"), q.Get("to")); err != nil {
		return out, err
	}
	out.Granularity = q.Get("granularity")
	if out.Granularity == "" {
		out.Granularity = domain.GranularityDay
	}
	for _, c := range q["category"] {
		if c = strings.TrimSpace(c); c != "" {
			out.Categories = append(out.Categories, c)
		}
	}
	for _, a := range q["action"] {
		if a = strings.TrimSpace(a); a != "" {
			out.Actions = append(out.Actions, a)
		}
	}
	if out.BotID, err = queryID(q, "bot"); err != nil {
		return out, err
	}
	if out.Subaccount, err = queryID(q, "subaccount"); err != nil {
		return out, err
	}
	return out, nil
}

func queryID(q url.Values, key string) (int64, error) {
	v := q.Get(key)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, domain.Errorf(domain.EINVALID, "%s %q is not a positive integer", key, v)
	}
	return id, nil
}

// period reads a from and to pair; empty means the last 7 days.
func (s *Service) period(from, to string) (time.Time, time.Time, error) {
	end, err := parseWhen(to, s.Location, true)
	if err != nil {
		return time.Time{}, time.Time{}, domain.Errorf(domain.EINVALID, "to: %s", domain.ErrorMessage(err))
	}
	if end.IsZero() {
		end = s.Now()
	}
	start, err := parseWhen(from, s.Location, false)
	if err != nil {
		return time.Time{}, time.Time{}, domain.Errorf(domain.EINVALID, "from: %s", domain.ErrorMessage(err))
	}
	if start.IsZero() {
		start = end.AddDate(0, 0, -7)
	}
	if !start.Before(end) {
		return time.Time{}, time.Time{}, domain.Errorf(domain.EINVALID, "from must be before to")
	}
	return start, end, nil
}

// parseWhen reads an RFC 3339 date-time or a YYYY-MM-DD date in loc; for an
// end, a bare date means the end of that day.
func parseWhen(v string, loc *time.Location, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		d, derr := time.ParseInLocation("2006-01-02", v, loc)
		if derr != nil {
			return time.Time{}, domain.Errorf(domain.EINVALID, "%q is neither an RFC 3339 date-time nor a YYYY-MM-DD date", v)
		}
		t = d
		if end {
			t = t.AddDate(0, 0, 1)
		}
	}
	if t.Year() < 2000 || t.Year() > 2100 {
		return time.Time{}, domain.Errorf(domain.EINVALID, "%q is out of range (years 2000 to 2100)", v)
	}
	return t, nil
}

// bucket cuts time into a granularity's periods in a time zone.
type bucket struct {
	granularity string
	loc         *time.Location
}

// start is the start of the period t is in.
func (b bucket) start(t time.Time) time.Time {
	t = t.In(b.loc)
	y, m, d := t.Date()
	switch b.granularity {
	case domain.GranularityHour:
		return time.Date(y, m, d, t.Hour(), 0, 0, 0, b.loc)
	case domain.GranularityWeek:
		monday := (int(t.Weekday()) + 6) % 7
		return time.Date(y, m, d-monday, 0, 0, 0, 0, b.loc)
	case domain.GranularityMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, b.loc)
	}
	return time.Date(y, m, d, 0, 0, 0, 0, b.loc)
}

// next is the start of the period after the one starting at t.
func (b bucket) next(t time.Time) time.Time {
	switch b.granularity {
	case domain.GranularityHour:
		return t.Add(time.Hour)
	case domain.GranularityWeek:
		return t.AddDate(0, 0, 7)
	case domain.GranularityMonth:
		return t.AddDate(0, 1, 0)
	}
	return t.AddDate(0, 0, 1)
}

// label names the period starting at t.
func (b bucket) label(t time.Time) string {
	switch b.granularity {
	case domain.GranularityHour:
		return t.Format(time.RFC3339)
	case domain.GranularityMonth:
		return t.Format("2006-01")
	}
	return t.Format("2006-01-02")
}

// EventReport counts the events of each action, and the distinct contacts
// who did it, per period: the custom report. The period is widened to whole
// buckets. Counts come from the hourly rollup; distinct contacts from the
// daily one (the events themselves for hours).
func (s *Service) EventReport(ctx context.Context, p *access.Principal, q EventQuery) ([]domain.EventCount, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	scope, err := p.Narrow(q.Subaccount)
	if err != nil {
		return nil, err
	}
	switch q.Granularity {
	case domain.GranularityHour, domain.GranularityDay, domain.GranularityWeek, domain.GranularityMonth:
	default:
		return nil, domain.Errorf(domain.EINVALID, "granularity must be hour, day, week or month, not %q", q.Granularity)
	}
	if !q.From.Before(q.To) {
		return nil, domain.Errorf(domain.EINVALID, "from must be before to")
	}
	limit := MaxReportDays
	switch q.Granularity {
	case domain.GranularityHour:
		limit = MaxHourDays
	case domain.GranularityDay:
		limit = MaxDayDays
	}
	if q.To.Sub(q.From) > time.Duration(limit)*24*time.Hour {
		return nil, domain.Errorf(domain.EINVALID, "the period is over %d days; %s reports cover at most %d", limit, q.Granularity, limit)
	}
	if len(q.Categories) > 100 || len(q.Actions) > 100 {
		return nil, domain.Errorf(domain.EINVALID, "at most 100 categories and 100 actions")
	}
	if q.BotID != 0 {
		b, err := s.Store.Bot(ctx, q.BotID)
		if err != nil || !p.CanSee(b.SubaccountID) {
			return nil, domain.Errorf(domain.EINVALID, "bot %d is not a bot you may see", q.BotID)
		}
	}
	bk := bucket{q.Granularity, s.Location}
	from := bk.start(q.From)
	to := bk.start(q.To)
	if to.Before(q.To) {
		to = bk.next(to)
	}
	f := &store.EventFilter{Subaccounts: scope, BotID: q.BotID, Categories: q.Categories, Actions: q.Actions}

	type key struct{ period, category, action string }
	rows := map[key]*domain.EventCount{}
	row := func(period time.Time, category, action string) *domain.EventCount {
		k := key{bk.label(period), category, action}
		r := rows[k]
		if r == nil {
			r = &domain.EventCount{Period: k.period, Category: category, Action: action}
			rows[k] = r
		}
		return r
	}
	hours, err := s.Store.EventHours(ctx, f, from.Unix()/3600, to.Unix()/3600)
	if err != nil {
		return nil, err
	}
	for _, h := range hours {
		row(bk.start(time.Unix(h.Hour*3600, 0)), h.Category, h.Action).Count += h.Events
	}
	switch q.Granularity {
	case domain.GranularityHour:
		list, err := s.Store.ContactsByHour(ctx, f, from, to)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			row(bk.start(time.Unix(c.Bucket*3600, 0)), c.Category, c.Action).Contacts = c.Contacts
		}
	default:
		// Days, weeks and months have counters; their periods are numbered
		// from the days of the account's time zone.
		first, last := dayNumber(from, s.Location), dayNumber(to, s.Location)
		kind, lo, hi := store.PeriodDay, first, last
		start := func(p int64) time.Time { return dayStart(p, s.Location) }
		switch q.Granularity {
		case domain.GranularityWeek:
			kind, lo, hi = store.PeriodWeek, store.WeekOf(first), store.WeekOf(last)
			start = func(p int64) time.Time { return dayStart(store.WeekStart(p), s.Location) }
		case domain.GranularityMonth:
			kind, lo, hi = store.PeriodMonth, store.MonthOf(first), store.MonthOf(last)
			start = func(p int64) time.Time { return time.Date(int(p/12), time.Month(p%12+1), 1, 0, 0, 0, 0, s.Location) }
		}
		list, err := s.Store.ContactsByPeriod(ctx, f, kind, lo, hi)
		if err != nil {
			return nil, err
		}
		for _, c := range list {
			row(start(c.Bucket), c.Category, c.Action).Contacts = c.Contacts
		}
	}
	out := make([]domain.EventCount, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b domain.EventCount) int {
		if c := strings.Compare(a.Period, b.Period); c != 0 {
			return c
		}
		if c := strings.Compare(a.Category, b.Category); c != 0 {
			return c
		}
		return strings.Compare(a.Action, b.Action)
	})
	return out, nil
}

// EventNames lists the categories and actions recorded in the subaccounts
// p may see: the choices of the report's form.
func (s *Service) EventNames(ctx context.Context, p *access.Principal) ([][2]string, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	return s.Store.EventNames(ctx, p.Scope)
}
