package store_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// Exports read a window's rows in the table's order when the ids of its
// rows (the times they were stored) bound a stretch of the table holding
// few others: the same rows come out, in the report's order, whether the
// messages were stored in time order, a little out of it, or long after
// they happened, with another subaccount's messages between them.
func TestExportRowsInTableOrder(t *testing.T) {
	fx := newReportFixture(t)
	ctx := context.Background()
	st := fx.st
	type sent struct {
		id, sa int64
		at     time.Time
	}
	var all []sent
	put := func(i int, at, stored time.Time) {
		st.Now = func() time.Time { return stored }
		m := fx.send(t, i, at, "text", 0, 0, "", "")
		all = append(all, sent{m.ID, m.SubaccountID, at})
	}
	// Three days: every 7 minutes a message of subaccount 1 (contacts 0–4)
	// and every fifth time one of subaccount 2 (contact 5), stored two
	// seconds after it happened; every ninth pair stored in the opposite
	// order, so that id order and time order differ. Under -short (the
	// race step, where storing them took half a minute) every 21 minutes:
	// a third of the rows, the same shapes, the same windows.
	step := 7 * time.Minute
	if testing.Short() {
		step = 21 * time.Minute
	}
	var late []time.Time
	for k := 0; k < int(3*24*time.Hour/step); k++ {
		at := base.Add(time.Duration(k)*step + time.Duration(k%13)*time.Second)
		next := at.Add(3 * time.Minute)
		switch {
		case k%9 == 0:
			put(k%5, next, next.Add(2*time.Second))
			put((k+1)%5, at, at.Add(2*time.Second))
		case k%5 == 0:
			put(5, next, next.Add(2*time.Second))
			put(k%5, at, at.Add(2*time.Second))
		default:
			put(k%5, at, at.Add(2*time.Second))
		}
		if k%97 == 0 {
			late = append(late, at.Add(time.Minute))
		}
	}
	// Messages stored a week after they happened (an import): the windows
	// holding them span most of the table and are read through the index.
	for i, at := range late {
		put(i%5, at, base.Add(10*24*time.Hour+time.Duration(i)*time.Second))
	}
	st.Now = time.Now
	checkRollup(t, st, "the messages")

	for _, c := range []struct {
		name     string
		from, to time.Time
	}{
		{"everything", base.Add(-time.Hour), base.Add(4 * 24 * time.Hour)},
		{"uneven edges", base.Add(5*time.Hour + 17*time.Minute), base.Add(51*time.Hour + 3*time.Minute)},
		{"open end", base.Add(30 * time.Hour), time.Time{}},
	} {
		var want []int64
		var wantAt []time.Time
		for _, m := range all {
			if m.sa == fx.sa1 && !m.at.Before(c.from) && (c.to.IsZero() || m.at.Before(c.to)) {
				want = append(want, m.id)
				wantAt = append(wantAt, m.at)
			}
		}
		order := make([]int, len(want))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int {
			if c := wantAt[b].Compare(wantAt[a]); c != 0 {
				return c
			}
			return int(math.Max(-1, math.Min(1, float64(want[b]-want[a]))))
		})
		ids := make([]int64, len(order))
		for i, k := range order {
			ids[i] = want[k]
		}
		for _, f := range []float64{0, 2, 1e9} {
			t.Run(fmt.Sprintf("%s/factor %g", c.name, f), func(t *testing.T) {
				defer store.SetExportWindowRows(40)()
				defer store.SetTableOrderFactor(f)()
				before := store.TableOrderReads()
				var got []int64
				filter := domain.MessageFilter{Subaccounts: []int64{fx.sa1, fx.sa2}, Subaccount: fx.sa1,
					Direction: domain.DirectionMT, From: c.from, To: c.to}
				err := store.ExportRows(ctx, st, &filter, func(m *domain.Message) int64 { return m.ID },
					func(id int64) error { got = append(got, id); return nil })
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, ids) {
					t.Errorf("ExportRows returns %d rows %v,\nwant %d %v", len(got), got, len(ids), ids)
				}
				reads := store.TableOrderReads() - before
				switch {
				case st.Dialect() != "sqlite" || f == 0:
					if reads != 0 {
						t.Errorf("%d windows read in table order, want none", reads)
					}
				case reads == 0:
					t.Error("no window read in table order")
				}
			})
		}
	}
}
