// Package live pushes changes to open pages as server-sent events: a page
// follows a topic (a campaign's counters, a queue's length) and is sent a
// fresh snapshot of it whenever a publisher says it changed.
//
// Topics are scoped by subaccount, the tenant: a Topic carries its
// subaccount, and a handler streams one only after the capability's service
// has checked that the principal may see that subaccount (a service method
// returns the Topic with the right already checked). Publishers say only
// "this changed", never what: each stream reads its snapshot itself, with
// the viewer's rights, so nothing one tenant publishes can carry another's
// data, and a change another server made (several `ticks serve` on one
// PostgreSQL) still arrives through the periodic refresh.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Topic names what a page follows: Name (such as "campaign:42" or
// "campaigns") in one subaccount.
type Topic struct {
	Subaccount int64
	Name       string
}

// Hub hands notices of change from publishers to the streams following a
// topic. Its zero value is not usable: call New.
type Hub struct {
	mu   sync.Mutex
	subs map[Topic]map[chan struct{}]struct{}

	// Gap is the shortest time between two snapshots of one stream, so a
	// burst of changes costs one read (default 500 ms); a change after a
	// quieter while is sent at once.
	Gap time.Duration
	// Every is the longest time between two snapshots, a change or not
	// (default 5 s): changes made by another server reach a page this way.
	Every time.Duration
	// MaxAge ends a stream after this long (default 10 minutes); the
	// browser connects again at once, perhaps to another server behind a
	// load balancer, so no connection is held for ever.
	MaxAge time.Duration
}

// New returns an empty hub with the default timings.
func New() *Hub {
	return &Hub{subs: map[Topic]map[chan struct{}]struct{}{}, Gap: 500 * time.Millisecond, Every: 5 * time.Second,
		MaxAge: 10 * time.Minute}
}

// Publish tells every follower of t that it changed. It never blocks: a
// follower that has not yet taken an earlier notice gets one for both.
func (h *Hub) Publish(t Topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[t] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Subscribe follows t: the channel receives a value after each Publish(t)
// (changes that come faster than they are taken merge into one). Call the
// returned function to stop following.
func (h *Hub) Subscribe(t Topic) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs[t] == nil {
		h.subs[t] = map[chan struct{}]struct{}{}
	}
	h.subs[t][ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.subs[t], ch)
			if len(h.subs[t]) == 0 {
				delete(h.subs, t)
			}
		})
	}
}

// Followers returns how many streams follow t, for tests and metrics.
func (h *Hub) Followers(t Topic) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[t])
}

// Stream answers r with an event stream of t until the visitor leaves or
// the server shuts down: an event named event whose data is snapshot's
// value as JSON, sent at once, then after each change of t (at most every
// Gap), and at least every Every. The caller has checked the visitor's
// right to t. A snapshot that fails ends the stream (the browser's
// EventSource connects again after a few seconds).
func (h *Hub) Stream(w http.ResponseWriter, r *http.Request, t Topic, event string, snapshot func(context.Context) (any, error)) {
	h.StreamEvery(w, r, t, event, h.Every, snapshot)
}

// StreamEvery is Stream with a snapshot at least every every instead of
// the hub's Every: a page many keep open, whose changes are all published,
// can be refreshed less often.
func (h *Hub) StreamEvery(w http.ResponseWriter, r *http.Request, t Topic, event string, every time.Duration, snapshot func(context.Context) (any, error)) {
	h.StreamPaced(w, r, t, event, every, h.Gap, snapshot)
}

// StreamPaced is StreamEvery with its own shortest time between two
// snapshots instead of the hub's Gap: a page whose topic changes seldom
// and whose changes must show at once (an agent's desk) can take a
// shorter one.
func (h *Hub) StreamPaced(w http.ResponseWriter, r *http.Request, t Topic, event string, every, gap time.Duration, snapshot func(context.Context) (any, error)) {
	rc := http.NewResponseController(w)
	// The server's write timeout is for ordinary answers; a stream lasts
	// as long as the page is open.
	rc.SetWriteDeadline(time.Time{})
	changed, stop := h.Subscribe(t)
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // a proxy in front must not hold events back
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	// MaxAge bounds the waits between snapshots, not a snapshot being
	// read: a slow first one still reaches the page before the stream ends.
	ctx, cancel := context.WithTimeout(r.Context(), h.MaxAge)
	defer cancel()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		v, err := snapshot(r.Context())
		if err != nil {
			return
		}
		data, err := json.Marshal(v)
		if err != nil {
			return
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		sent := time.Now()
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
		// At most a snapshot per Gap: a burst of changes gathers into
		// one, while a change after a quiet while goes out at once.
		if wait := gap - time.Since(sent); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}
