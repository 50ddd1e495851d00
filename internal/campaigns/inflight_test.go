package campaigns_test

import (
	"testing"

	"github.com/ticksapp/ticks/internal/campaigns"
)

// A dispatch keeps half a second of a number's sends in flight, so a number
// allowed more than Meta's default is not held to what 16 sends at a time
// can do against Meta's latency.
func TestInFlightFollowsThroughput(t *testing.T) {
	for _, c := range []struct{ mps, want int }{
		{0, 16}, {1, 16}, {20, 16}, {80, 40}, {200, 100}, {500, 250}, {1000, 256}, {1_000_000, 256},
	} {
		if got := campaigns.InFlight(c.mps); got != c.want {
			t.Errorf("InFlight(%d) = %d, want %d", c.mps, got, c.want)
		}
	}
}
