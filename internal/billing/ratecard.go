package billing

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// defaultRateCard is the card ticks ships (TICKS_RATE_CARD replaces it).
//
//go:embed ratecard.json
var defaultRateCard []byte

// RateCard is a versioned list of Meta's prices: per market (the
// recipient's country), pricing model, category and period, each rate a
// decimal string in the card's currency, with optional volume tiers. Each
// month is priced with the model and the rates in force on each of its
// days.
type RateCard struct {
	Version  string `json:"version"`
	Currency string `json:"currency"`
	Source   string `json:"source,omitempty"`
	// Exchange says how the rates were converted, when they were: from
	// which currency, at what rate, on what date.
	Exchange *Exchange `json:"exchange,omitempty"`
	Rates    []Rate    `json:"rates"`
}

// Exchange is the conversion a card's rates went through.
type Exchange struct {
	From string `json:"from"`
	Rate string `json:"rate"`
	Date string `json:"date"`
}

// Rate is one price in force over [From, To) (To "" while in force).
type Rate struct {
	Market   string `json:"market"`
	Model    string `json:"model"`    // PMP: per charged message; CBP: per paid conversation
	Category string `json:"category"` // marketing, utility, authentication, authentication_international, service
	From     string `json:"from"`
	To       string `json:"to,omitempty"`
	Price    string `json:"rate"`
	// Tiers lower the price from the nth unit of a month on (counted
	// from 0, per category): Meta's volume tiers.
	Tiers []Tier `json:"tiers,omitempty"`

	from, to time.Time
	micros   int64
}

// Tier is a volume tier of a rate.
type Tier struct {
	From   int64  `json:"from"`
	Price  string `json:"rate"`
	micros int64
}

// LoadRateCard reads the card at path, or the one ticks ships when path is
// "", and checks it.
func LoadRateCard(path string) (*RateCard, error) {
	b := defaultRateCard
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("rate card: %w", err)
		}
	}
	return ParseRateCard(b)
}

// ParseRateCard reads a card and checks it: dates, decimal rates, tiers in
// order, no two rates of a market, model and category in force at once.
func ParseRateCard(b []byte) (*RateCard, error) {
	var c RateCard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("rate card: %w", err)
	}
	if c.Version == "" || len(c.Currency) != 3 {
		return nil, fmt.Errorf("rate card: version and a three-letter currency are required")
	}
	if c.Exchange != nil {
		if _, err := parseMicros(c.Exchange.Rate); err != nil || c.Exchange.From == "" {
			return nil, fmt.Errorf("rate card: exchange needs from and a decimal rate")
		}
		if _, err := time.Parse(time.DateOnly, c.Exchange.Date); err != nil {
			return nil, fmt.Errorf("rate card: exchange date %q is not YYYY-MM-DD", c.Exchange.Date)
		}
	}
	for i := range c.Rates {
		r := &c.Rates[i]
		where := fmt.Sprintf("rate card: rate %d (%s %s %s)", i+1, r.Market, r.Model, r.Category)
		if r.Market == "" || (r.Model != "PMP" && r.Model != "CBP") || r.Category == "" {
			return nil, fmt.Errorf("%s: market, model (PMP or CBP) and category are required", where)
		}
		var err error
		if r.from, err = time.Parse(time.DateOnly, r.From); err != nil {
			return nil, fmt.Errorf("%s: from %q is not YYYY-MM-DD", where, r.From)
		}
		if r.To != "" {
			if r.to, err = time.Parse(time.DateOnly, r.To); err != nil || !r.to.After(r.from) {
				return nil, fmt.Errorf("%s: to %q is not a date after from", where, r.To)
			}
		}
		if r.micros, err = parseMicros(r.Price); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		last := int64(0)
		for j := range r.Tiers {
			t := &r.Tiers[j]
			if t.From <= last {
				return nil, fmt.Errorf("%s: tiers must start after 0 and in increasing order", where)
			}
			last = t.From
			if t.micros, err = parseMicros(t.Price); err != nil {
				return nil, fmt.Errorf("%s: tier %d: %w", where, j+1, err)
			}
		}
		for _, o := range c.Rates[:i] {
			if o.Market == r.Market && o.Model == r.Model && o.Category == r.Category && overlaps(o, *r) {
				return nil, fmt.Errorf("%s: in force at the same time as the one from %s", where, o.From)
			}
		}
	}
	return &c, nil
}

func overlaps(a, b Rate) bool {
	aEnds, bEnds := !a.to.IsZero(), !b.to.IsZero()
	return (!aEnds || b.from.Before(a.to)) && (!bEnds || a.from.Before(b.to))
}

// parseMicros reads a non-negative decimal with at most six decimals as
// millionths.
func parseMicros(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 6 || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("rate %q is not a decimal with at most six decimals", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 1_000_000 {
		return 0, fmt.Errorf("rate %q is not a decimal with at most six decimals", s)
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt((frac + "000000")[:6], 10, 64); err != nil || strings.ContainsAny(frac, "+-") {
			return 0, fmt.Errorf("rate %q is not a decimal with at most six decimals", s)
		}
	}
	return w*1_000_000 + f, nil
}

// FormatMoney writes millionths of a currency unit as a decimal string
// with two decimals, rounding half up: no floating-point money.
func FormatMoney(micros int64) string {
	neg := micros < 0
	if neg {
		micros = -micros
	}
	cents := (micros + 5_000) / 10_000
	s := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	if neg && cents != 0 {
		s = "-" + s
	}
	return s
}

// rate returns the rate of market, model and category in force on day,
// or nil.
func (c *RateCard) rate(market, model, category string, day time.Time) *Rate {
	for i := range c.Rates {
		r := &c.Rates[i]
		if r.Market == market && r.Model == model && r.Category == category && !day.Before(r.from) &&
			(r.to.IsZero() || day.Before(r.to)) {
			return r
		}
	}
	return nil
}

// cost is the price of n units after the month's first done of the
// category: the base rate below the first tier, each tier's from its start.
func (r *Rate) cost(done, n int64) int64 {
	total := int64(0)
	price := r.micros
	pos := done
	end := done + n
	for _, t := range r.Tiers {
		if pos >= end {
			break
		}
		if pos < t.From {
			upto := min(end, t.From)
			total += (upto - pos) * price
			pos = upto
		}
		price = t.micros
	}
	if pos < end {
		total += (end - pos) * price
	}
	return total
}

// cardCategory is the category a card prices a Meta pricing category at:
// its own when the card has it (authentication_international), else the
// report's.
func (c *RateCard) cardCategory(market, model, pricingCategory string, day time.Time) (string, *Rate) {
	if r := c.rate(market, model, pricingCategory, day); r != nil {
		return pricingCategory, r
	}
	cat := domain.ReportCategory(pricingCategory)
	return cat, c.rate(market, model, cat, day)
}

// priceCounts prices each count: per charged message under PMP, per paid
// conversation (opened by a charged message) under CBP. A day and
// category's cost is shared among its counts by their units. It returns
// each count's cost in millionths and the units no rate covered.
func (c *RateCard) priceCounts(market, model string, counts []domain.ConsumptionCount, loc *time.Location) ([]int64, int64) {
	type group struct {
		day      time.Time
		category string
		rate     *Rate
		units    int64
		rows     []int
	}
	units := func(x domain.ConsumptionCount) int64 {
		if !x.Billable || (model == "CBP" && x.Opens == "") {
			return 0
		}
		return x.N
	}
	groups := map[string]*group{}
	for i, x := range counts {
		u := units(x)
		if u == 0 {
			continue
		}
		local := time.Unix(x.Hour*3600, 0).In(loc)
		day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
		cat, r := c.cardCategory(market, model, x.Category, day)
		key := day.Format(time.DateOnly) + "|" + cat
		g := groups[key]
		if g == nil {
			g = &group{day: day, category: cat, rate: r}
			groups[key] = g
		}
		g.units += u
		g.rows = append(g.rows, i)
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	slices.SortFunc(list, func(a, b *group) int {
		if c := a.day.Compare(b.day); c != 0 {
			return c
		}
		return strings.Compare(a.category, b.category)
	})
	costs := make([]int64, len(counts))
	done := map[string]int64{}
	var unpriced int64
	for _, g := range list {
		if g.rate == nil {
			unpriced += g.units
			continue
		}
		total := g.rate.cost(done[g.category], g.units)
		done[g.category] += g.units
		left := total
		for j, i := range g.rows {
			share := total * units(counts[i]) / g.units
			if j == len(g.rows)-1 {
				share = left
			}
			costs[i] = share
			left -= share
		}
	}
	return costs, unpriced
}
