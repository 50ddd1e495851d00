package store

import (
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/ingest/apply"
)

// mergeTimeline appends a timeline's rows to those of the timelines merged
// before it, and on a tie (a new row in the same millisecond and direction
// as a stored one) leaves them exactly as they were: the timeline is then
// derived after the writes instead.
func TestMergeTimelineAppendsOrLeavesAlone(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_000).UTC()
	row := func(id int64, ms int, dir domain.Direction) apply.TimelineRow {
		return apply.TimelineRow{Message: domain.TimelineMessage{Direction: dir, At: at.Add(time.Duration(ms) * time.Millisecond)},
			Stored: apply.Assignment{ID: id}}
	}
	ids := func(rows []apply.TimelineRow) []int64 {
		var out []int64
		for _, r := range rows {
			out = append(out, r.Stored.ID)
		}
		return out
	}
	before := []apply.TimelineRow{row(1, 0, domain.DirectionMT)} // another timeline's
	stored := []apply.TimelineRow{row(10, 5, domain.DirectionMT), row(11, 20, domain.DirectionMT)}

	got, ok := mergeTimeline(before, stored, []apply.TimelineRow{row(20, 10, domain.DirectionMT), row(21, 30, domain.DirectionMO)})
	if want := []int64{1, 10, 20, 11, 21}; !ok || len(got) != len(want) {
		t.Fatalf("merge: %v %v, want %v", ok, ids(got), want)
	} else {
		for i := range want {
			if got[i].Stored.ID != want[i] {
				t.Fatalf("merge: %v, want %v", ids(got), want)
			}
		}
	}

	all := make([]apply.TimelineRow, 0, 8)
	all = append(all, before...)
	got, ok = mergeTimeline(all, stored, []apply.TimelineRow{row(20, 1, domain.DirectionMT), row(21, 20, domain.DirectionMT)})
	if ok || len(got) != 1 || got[0].Stored.ID != 1 {
		t.Fatalf("tie: %v %v, want false and the rows before unchanged [1]", ok, ids(got))
	}
}
