package billing

import (
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

func TestShippedRateCard(t *testing.T) {
	c, err := LoadRateCard("")
	if err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time { return date(s) }
	for _, tt := range []struct {
		model, category, day string
		want                 int64 // millionths; -1 for no rate
	}{
		{"CBP", "marketing", "2025-06-30", 62_500},
		{"PMP", "marketing", "2025-06-30", -1}, // per-message pricing starts on 1 July 2025
		{"PMP", "marketing", "2025-07-01", 62_500},
		{"CBP", "marketing", "2025-07-01", -1},
		{"CBP", "utility", "2024-05-31", 35_000},
		{"CBP", "utility", "2024-06-01", 8_000},
		{"CBP", "service", "2024-10-31", 30_000},
		{"CBP", "service", "2024-11-01", 0},
		{"PMP", "utility", "2026-10-15", 6_800},
		{"PMP", "authentication", "2026-10-15", 6_800},
	} {
		r := c.rate("BR", tt.model, tt.category, day(tt.day))
		got := int64(-1)
		if r != nil {
			got = r.micros
		}
		if got != tt.want {
			t.Errorf("%s %s on %s: %d, want %d", tt.model, tt.category, tt.day, got, tt.want)
		}
	}
}

func TestRateCardIsChecked(t *testing.T) {
	for _, tt := range []struct{ name, card, want string }{
		{"unknown field", `{"version":"1","currency":"BRL","rates":[],"colour":1}`, "colour"},
		{"no currency", `{"version":"1","rates":[]}`, "currency"},
		{"bad model", `{"version":"1","currency":"BRL","rates":[{"market":"BR","model":"XYZ","category":"marketing","from":"2025-07-01","rate":"1"}]}`, "model"},
		{"bad date", `{"version":"1","currency":"BRL","rates":[{"market":"BR","model":"PMP","category":"marketing","from":"1/7/2025","rate":"1"}]}`, "from"},
		{"to before from", `{"version":"1","currency":"BRL","rates":[{"market":"BR","model":"PMP","category":"marketing","from":"2025-07-01","to":"2025-06-01","rate":"1"}]}`, "to"},
		{"negative rate", `{"version":"1","currency":"BRL","rates":[{"market":"BR","model":"PMP","category":"marketing","from":"2025-07-01","rate":"-1"}]}`, "decimal"},
		{"float rate", `{"version":"1","currency":"BRL","rates":[{"market":"BR","model":"PMP","category":"marketing","from":"2025-07-01","rate":"1e-3"}]}`, "decimal"},
		{"too many decimals", `{"version":"1","currency":"BRL","rates":[{"market":"BR","model":"PMP","category":"marketing","from":"2025-07-01","rate":"0.0000001"}]}`, "decimal"},
		{"overlap", `{"version":"1","currency":"BRL","rates":[{"market":"BR","model":"PMP","category":"marketing","from":"2025-07-01","rate":"1"},{"market":"BR","model":"PMP","category":"marketing","from":"2026-01-01","rate":"2"}]}`, "same time"},
		{"tiers out of order", `{"version":"1","currency":"BRL","rates":[{"market":"BR","model":"PMP","category":"utility","from":"2025-07-01","rate":"1","tiers":[{"from":100,"rate":"0.9"},{"from":50,"rate":"0.8"}]}]}`, "tiers"},
		{"bad exchange", `{"version":"1","currency":"BRL","exchange":{"from":"USD","rate":"x","date":"2026-10-01"},"rates":[]}`, "exchange"},
	} {
		_, err := ParseRateCard([]byte(tt.card))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error about %s", tt.name, err, tt.want)
		}
	}
	ok := `{"version":"1","currency":"BRL","exchange":{"from":"USD","rate":"5.40","date":"2026-10-01"},"rates":[
		{"market":"BR","model":"PMP","category":"marketing","from":"2025-07-01","to":"2026-01-01","rate":"0.35"},
		{"market":"BR","model":"PMP","category":"marketing","from":"2026-01-01","rate":"0.36"}]}`
	if _, err := ParseRateCard([]byte(ok)); err != nil {
		t.Errorf("a good card: %v", err)
	}
}

func TestMoneyIsDecimal(t *testing.T) {
	for micros, want := range map[int64]string{0: "0.00", 4_999: "0.00", 5_000: "0.01", 62_500: "0.06", 125_000: "0.13",
		1_234_567_890: "1234.57", -62_500: "-0.06"} {
		if got := FormatMoney(micros); got != want {
			t.Errorf("FormatMoney(%d) = %s, want %s", micros, got, want)
		}
	}
	for s, want := range map[string]int64{"0": 0, "0.0625": 62_500, "12.5": 12_500_000, "0.000001": 1} {
		if got, err := parseMicros(s); err != nil || got != want {
			t.Errorf("parseMicros(%s) = %d %v, want %d", s, got, err, want)
		}
	}
}

// Volume tiers: the month's units of a category are counted across days,
// and each unit pays the price of the tier it falls in.
func TestVolumeTiers(t *testing.T) {
	c, err := ParseRateCard([]byte(`{"version":"t","currency":"BRL","rates":[
		{"market":"BR","model":"PMP","category":"utility","from":"2025-07-01","rate":"0.10",
		 "tiers":[{"from":10,"rate":"0.05"},{"from":15,"rate":"0.01"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	h := func(day string) int64 { return date(day).Unix()/3600 + 12 }
	counts := []domain.ConsumptionCount{
		{Hour: h("2026-10-01"), ChannelID: 1, Category: "utility", PricingType: "regular", Billable: true, N: 6},
		{Hour: h("2026-10-01"), ChannelID: 2, Category: "utility", PricingType: "regular", Billable: true, N: 2},
		{Hour: h("2026-10-02"), ChannelID: 1, Category: "utility", PricingType: "regular", Billable: true, N: 5},
		{Hour: h("2026-10-03"), ChannelID: 1, Category: "utility", PricingType: "regular", Billable: true, N: 7},
		{Hour: h("2026-10-03"), ChannelID: 1, Category: "utility", PricingType: "free_customer_service", Billable: false, N: 9},
		{Hour: h("2026-10-03"), ChannelID: 1, Category: "marketing", PricingType: "regular", Billable: true, N: 3},
	}
	costs, unpriced := c.priceCounts("BR", "PMP", counts, time.UTC)
	// Day 1: 8 at 0.10. Day 2: 2 at 0.10, 3 at 0.05. Day 3: 2 at 0.05, 5 at 0.01.
	want := []int64{600_000, 200_000, 350_000, 150_000, 0, 0}
	for i := range want {
		if costs[i] != want[i] {
			t.Errorf("count %d costs %d, want %d", i, costs[i], want[i])
		}
	}
	if unpriced != 3 {
		t.Errorf("unpriced %d, want the 3 marketing messages the card has no rate for", unpriced)
	}
}
