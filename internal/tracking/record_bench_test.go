package tracking_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/store/storetest"
	"github.com/ticksapp/ticks/internal/tracking"
)

// BenchmarkRecord100 records batches of 100 events through the service on
// one goroutine: the cost of a batch without HTTP.
func BenchmarkRecord100(b *testing.B) {
	ctx := context.Background()
	st := storetest.Open(b)
	svc := tracking.New(st, saoPaulo)
	sa, err := access.New(st).CreateSubaccount(ctx, access.System(), access.SubaccountInput{Name: "b"})
	if err != nil {
		b.Fatal(err)
	}
	p := &access.Principal{Role: "supervisor", Scope: []int64{sa.ID}}
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Now()
	batch := func(n int) []tracking.EventInput {
		var parts []string
		for i := 0; i < 100; i++ {
			parts = append(parts, fmt.Sprintf(`{"category":"Menu","action":"A%d","contact":"+5511%09d","at":%q,"idempotency_key":"k%d-%d"}`,
				r.IntN(10), 900000000+r.IntN(20000), now.Add(-time.Duration(r.IntN(3600))*time.Second).Format(time.RFC3339), n, i))
		}
		list, _, err := tracking.DecodeEvents([]byte(`{"events":[` + strings.Join(parts, ",") + `]}`))
		if err != nil {
			b.Fatal(err)
		}
		return list
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := svc.Record(ctx, p, 0, batch(i))
		if err != nil || res.Accepted != 100 {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
