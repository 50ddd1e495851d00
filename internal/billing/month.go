package billing

import (
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// Month is a calendar month of the consumption report.
type Month struct {
	Year  int
	Month time.Month
}

// firstMonth is the earliest month the report answers: the Cloud API's
// pricing did not exist before.
var firstMonth = Month{2015, time.January}

// ParseMonth reads YYYY-MM.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return Month{}, domain.Errorf(domain.EINVALID, "month must be YYYY-MM, not %q", s)
	}
	return Month{t.Year(), t.Month()}, nil
}

// MonthOf is the month t falls in, in t's location.
func MonthOf(t time.Time) Month { return Month{t.Year(), t.Month()} }

func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Before reports whether m is earlier than o.
func (m Month) Before(o Month) bool {
	return m.Year < o.Year || m.Year == o.Year && m.Month < o.Month
}

// Next is the month after m.
func (m Month) Next() Month {
	if m.Month == time.December {
		return Month{m.Year + 1, time.January}
	}
	return Month{m.Year, m.Month + 1}
}

// Prev is the month before m.
func (m Month) Prev() Month {
	if m.Month == time.January {
		return Month{m.Year - 1, time.December}
	}
	return Month{m.Year, m.Month - 1}
}

// Start is the first instant of m in loc.
func (m Month) Start(loc *time.Location) time.Time {
	return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, loc)
}

// ConsolidationDay is the day m is consolidated: the 5th Brazilian business
// day of the following month (seed 004).
func (m Month) ConsolidationDay() time.Time {
	n := m.Next()
	return NthBusinessDay(n.Year, n.Month, 5)
}

// Consolidated reports whether m's consolidation day has ended at now, in
// loc: until then its figures are partial.
func (m Month) Consolidated(now time.Time, loc *time.Location) bool {
	d := m.ConsolidationDay()
	end := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
	return !now.Before(end)
}

// PricingModel is the model Meta priced m with: per-message pricing (PMP)
// from July 2025, conversation-based pricing (CBP) before.
func (m Month) PricingModel() string {
	if m.Before(Month{2025, time.July}) {
		return "CBP"
	}
	return "PMP"
}
