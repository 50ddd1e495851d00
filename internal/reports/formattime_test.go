package reports

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The report's times, written digit by digit, are what time.Format writes
// with the same layout, in every zone, across daylight-saving changes and
// over the years.
func TestFormatTimeIsFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, zone := range []string{"UTC", "America/Sao_Paulo", "Asia/Kolkata", "America/St_Johns"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, lang := range []string{"pt-BR", "en"} {
			for _, f := range []*Formatter{NewFormatter(lang, loc, nil), NewFormatter(lang, loc, nil).withTimeLayout(time.RFC3339)} {
				for i := 0; i < 20000; i++ {
					at := time.UnixMilli(r.Int64N(4102444800000)).UTC() // 1970–2100
					if got, want := f.formatTime(at), at.In(loc).Format(f.layout); got != want {
						t.Fatalf("%s %s %s: %q, want %q", zone, f.layout, at, got, want)
					}
				}
			}
		}
	}
}
