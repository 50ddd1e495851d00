package billing

import "time"

// Brazil's national holidays (Lei 662/1949, Lei 6.802/1980 and Lei
// 14.759/2023) and Good Friday, which the law counts among the religious
// holidays and which closes banks nationwide. Carnival and Corpus Christi
// are optional days off (pontos facultativos), not holidays, and count as
// business days. The calendar lives here because no maintained Go holiday
// module is served to this project; its tests pin every year's dates that
// depend on the rules below.
type fixedHoliday struct {
	month    time.Month
	day      int
	from, to int // the years it applies to; 0 for no bound
}

var brazilFixedHolidays = []fixedHoliday{
	{month: time.January, day: 1},               // Confraternização Universal
	{month: time.April, day: 21},                // Tiradentes
	{month: time.May, day: 1},                   // Dia do Trabalho
	{month: time.September, day: 7},             // Independência
	{month: time.October, day: 12},              // Nossa Senhora Aparecida (Lei 6.802/1980)
	{month: time.November, day: 2},              // Finados
	{month: time.November, day: 15},             // Proclamação da República
	{month: time.November, day: 20, from: 2024}, // Zumbi e Consciência Negra (Lei 14.759/2023)
	{month: time.December, day: 25},             // Natal
}

// easter returns Easter Sunday of year (the Gregorian computus, Meeus's
// algorithm), as a date in UTC.
func easter(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// IsBrazilianHoliday reports whether the calendar date of d (its year,
// month and day, whatever its location) is a national holiday in Brazil.
func IsBrazilianHoliday(d time.Time) bool {
	y, m, day := d.Date()
	for _, h := range brazilFixedHolidays {
		if h.month == m && h.day == day && (h.from == 0 || y >= h.from) && (h.to == 0 || y <= h.to) {
			return true
		}
	}
	goodFriday := easter(y).AddDate(0, 0, -2)
	return m == goodFriday.Month() && day == goodFriday.Day()
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
