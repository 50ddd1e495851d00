package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/store"
)

// benchConsumption times the consumption report (issue 15) over a database
// seeded by ticks bench seed: each month of the seed, across subaccounts,
// for the busiest subaccount and for one phone number; a consolidated
// month's first answer (which writes its snapshot) is printed apart.
func benchConsumption(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("ticks bench consumption", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	runs := fs.Int("runs", 7, "timed runs of each case, after one warm-up")
	tz := fs.String("tz", "America/Sao_Paulo", "the account's time zone")
	dsn := fs.String("database-url", os.Getenv("TICKS_DATABASE_URL"), "a database seeded by ticks bench seed")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to this file")
	meta := fs.Bool("meta", false, "first record an answer of Meta (no charges) for every WABA over the seed's days, so the "+
		"reports compare with it (writes into the database: use a copy)")
	if err := fs.Parse(args); err != nil || *runs < 1 {
		return errUsage
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *dsn == "" {
		return fmt.Errorf("-database-url is required")
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	svc := billing.New(st, loc)
	admin := access.System()
	all, err := st.ConsumptionCounts(ctx, store.ConsumptionScope{FromHour: -1 << 40, ToHour: 1 << 40})
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return fmt.Errorf("the database has no consumption: seed it first")
	}
	bySub, byChannel := map[int64]int64{}, map[int64]int64{}
	first, last := all[0].Hour, all[0].Hour
	var messages int64
	for _, c := range all {
		messages += c.N
		bySub[c.SubaccountID] += c.N
		byChannel[c.ChannelID] += c.N
		first, last = min(first, c.Hour), max(last, c.Hour)
	}
	busiest := func(m map[int64]int64) int64 {
		var id, n int64
		for k, v := range m {
			if v > n {
				id, n = k, v
			}
		}
		return id
	}
	sub := busiest(bySub)
	ch, err := st.Channel(ctx, busiest(byChannel))
	if err != nil {
		return err
	}
	if *meta {
		// Meta's answer covers the seed's UTC days: each report's
		// reconciliation then reads ticks's counts per UTC day.
		from := time.Unix(first*3600, 0).UTC().Truncate(24 * time.Hour)
		to := time.Unix(last*3600, 0).UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
		channels, err := st.Channels(ctx, nil)
		if err != nil {
			return err
		}
		done := map[string]bool{}
		for _, c := range channels {
			if c.WABAID == "" || done[c.WABAID] {
				continue
			}
			done[c.WABAID] = true
			if err := st.ReplaceMetaCharges(ctx, c.WABAID, "pricing", from, to, nil, time.Now()); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(out, "consumption report: %d outbound messages counted, %d rollup rows, time zone %s, %d runs after a warm-up\n",
		messages, len(all), *tz, *runs)
	fmt.Fprintf(out, "%-8s %-32s %6s %9s %9s %9s %9s %12s\n", "month", "case", "state", "first", "min", "median", "max", "charged")
	for m := billing.MonthOf(time.Unix(first*3600, 0).In(loc)); !billing.MonthOf(time.Unix(last*3600, 0).In(loc)).Before(m); m = m.Next() {
		for _, c := range []struct {
			name string
			q    billing.Query
		}{{"all subaccounts", billing.Query{Month: m}},
			{fmt.Sprintf("subaccount %d", sub), billing.Query{Month: m, Subaccount: sub}},
			{"number " + ch.PhoneNumberID, billing.Query{Month: m, PhoneNumberID: ch.PhoneNumberID}}} {
			t0 := time.Now()
			rep, err := svc.Consumption(ctx, admin, c.q)
			if err != nil {
				return err
			}
			firstTook := time.Since(t0)
			var took []time.Duration
			for range *runs {
				t0 := time.Now()
				if rep, err = svc.Consumption(ctx, admin, c.q); err != nil {
					return err
				}
				took = append(took, time.Since(t0))
			}
			slices.Sort(took)
			state := "closed"
			if rep.Partial {
				state = "partial"
			}
			fmt.Fprintf(out, "%-8s %-32s %6s %9s %9s %9s %9s %12d\n", m, c.name, state, ms(firstTook), ms(took[0]),
				ms(took[len(took)/2]), ms(took[len(took)-1]), rep.Charged)
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
