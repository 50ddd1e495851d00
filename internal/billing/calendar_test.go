package billing

import (
	"testing"
	"time"
)

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestBrazilianHolidays(t *testing.T) {
	for _, tt := range []struct {
		day  string
		want bool
	}{
		{"2026-01-01", true}, {"2026-04-03", true}, // Good Friday
		{"2026-04-21", true}, {"2026-05-01", true}, {"2026-09-07", true}, {"2026-10-12", true},
		{"2026-11-02", true}, {"2026-11-15", true}, {"2026-11-20", true}, {"2026-12-25", true},
		{"2023-11-20", false}, // a national holiday from 2024 on
		{"2024-11-20", true},
		{"2026-02-16", false}, {"2026-02-17", false}, // Carnival: an optional day off, not a holiday
		{"2026-06-04", false}, // Corpus Christi: the same
		{"2026-04-05", false}, // Easter Sunday is a Sunday, not a holiday of its own
		{"2026-11-03", false},
		{"2027-03-26", true}, {"2038-04-23", true}, {"2019-04-19", true}, // Good Friday in other years
		{"2027-02-09", false}, // Carnival of 2027
		{"2015-01-01", true}, {"2030-09-07", true},
	} {
		if got := IsBrazilianHoliday(date(tt.day)); got != tt.want {
			t.Errorf("IsBrazilianHoliday(%s) = %v, want %v", tt.day, got, tt.want)
		}
	}
}

func TestConsolidationDay(t *testing.T) {
	for _, tt := range []struct{ month, want string }{
		// November 2026: the 1st is a Sunday, the 2nd (Finados) a holiday:
		// 3, 4, 5, 6, then Monday the 9th.
		{"2026-10", "2026-11-09"},
		// December 2026: Tuesday the 1st, ..., the 7th is the 5th business day.
		{"2026-11", "2026-12-07"},
		// January 2027: the 1st a holiday (Friday), then 4, 5, 6, 7, 8.
		{"2026-12", "2027-01-08"},
		// April 2026: the 3rd is Good Friday: 1, 2, 6, 7, 8.
		{"2026-03", "2026-04-08"},
		// September 2025: Monday the 1st, ..., the 7th is a Sunday anyway: 1-5.
		{"2025-08", "2025-09-05"},
		// May 2026: Friday the 1st a holiday: 4, 5, 6, 7, 8.
		{"2026-04", "2026-05-08"},
	} {
		m, err := ParseMonth(tt.month)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.ConsolidationDay().Format(time.DateOnly); got != tt.want {
			t.Errorf("ConsolidationDay(%s) = %s, want %s", tt.month, got, tt.want)
		}
	}
}

func TestConsolidatedAtTheEndOfTheDayInTheAccountsZone(t *testing.T) {
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	m := Month{2026, time.October}
	for _, tt := range []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2026, 11, 9, 23, 59, 0, 0, sp), false},
		{time.Date(2026, 11, 10, 0, 0, 0, 0, sp), true},
		{time.Date(2026, 11, 10, 2, 0, 0, 0, time.UTC), false}, // 23:00 of the 9th in São Paulo
		{time.Date(2026, 11, 10, 3, 0, 0, 0, time.UTC), true},
	} {
		if got := m.Consolidated(tt.now, sp); got != tt.want {
			t.Errorf("Consolidated(%v) = %v, want %v", tt.now, got, tt.want)
		}
	}
}

func TestParseMonth(t *testing.T) {
	for _, bad := range []string{"", "2026", "2026-13", "2026-1", "26-10", "2026-10-01", "abcd-ef"} {
		if _, err := ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q) accepted", bad)
		}
	}
	if m, err := ParseMonth("2025-07"); err != nil || m.PricingModel() != "PMP" || m.Prev().PricingModel() != "CBP" {
		t.Errorf("2025-07: %v %v", m, err)
	}
}
