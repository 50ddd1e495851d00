package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/bench"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// TestBenchConsumption runs ticks bench consumption -meta over a small
// seed of 70 days: each month is timed, the closed ones closed, and the
// rollup's day level and the closed months' changes stay exact.
func TestBenchConsumption(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t)
	if _, err := bench.Seed(ctx, bench.SeedOptions{DatabaseURL: dsn, Messages: 4_000, Days: 70,
		End: time.Now().UTC().Truncate(time.Hour), Seed: 3}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := benchConsumption(ctx, []string{"-runs", "1", "-meta", "-database-url", dsn}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2+3*3 || !strings.Contains(out.String(), " closed ") || !strings.Contains(out.String(), " partial ") {
		t.Errorf("want three months or more, closed and partial:\n%s", out.String())
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CheckConsumption(ctx); err != nil {
		t.Fatal(err)
	}
}
