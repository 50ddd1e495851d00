package billing

import (
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/br"
)

// brazilHolidays are Brazil's national holidays (Lei 662/1949, Lei
// 6.802/1980 and Lei 14.759/2023) and Good Friday, which the law counts
// among the religious holidays and which closes banks nationwide, as the
// maintained calendar github.com/rickar/cal defines them (their dates,
// Easter's included, are its rules). Carnival and Corpus Christi, which it
// also lists, are optional days off (pontos facultativos) by federal law,
// not holidays, and count as business days; Consciência Negra is national
// from 2024 (Lei 14.759/2023).
var brazilHolidays = func() *cal.Calendar {
	c := &cal.Calendar{}
	c.AddHoliday(br.AnoNovo, br.SextaFeiraSanta, br.Tiradentes, br.Trabalhador, br.Independencia,
		br.NossaSenhoraAparecida, br.Finados, br.Republica, br.ConscienciaNegra.Clone(&cal.Holiday{StartYear: 2024}), br.Natal)
	return c
}()

// IsBrazilianHoliday reports whether the calendar date of d (its year,
// month and day, whatever its location) is a national holiday in Brazil.
func IsBrazilianHoliday(d time.Time) bool {
	y, m, day := d.Date()
	actual, _, _ := brazilHolidays.IsHoliday(time.Date(y, m, day, 12, 0, 0, 0, time.UTC))
	return actual
}

// IsBusinessDay reports whether the calendar date of d is a Brazilian
// business day: not a weekend, not a national holiday.
func IsBusinessDay(d time.Time) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return !IsBrazilianHoliday(d)
}

// NthBusinessDay returns the nth Brazilian business day of a month, as a
// date in UTC.
func NthBusinessDay(year int, month time.Month, n int) time.Time {
	d := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	for {
		if IsBusinessDay(d) {
			n--
			if n == 0 {
				return d
			}
		}
		d = d.AddDate(0, 0, 1)
	}
}
