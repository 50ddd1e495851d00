package live

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPublishReachesOnlyItsTopic(t *testing.T) {
	h := New()
	a := Topic{Subaccount: 2, Name: "campaign:1"}
	other := Topic{Subaccount: 3, Name: "campaign:1"} // same name, another tenant
	chA, stopA := h.Subscribe(a)
	defer stopA()
	chB, stopB := h.Subscribe(other)
	defer stopB()
	h.Publish(a)
	h.Publish(a) // merges with the first: Publish never blocks
	select {
	case <-chA:
	default:
		t.Fatal("follower of the topic got no notice")
	}
	select {
	case <-chA:
		t.Fatal("two publishes not taken should make one notice")
	default:
	}
	select {
	case <-chB:
		t.Fatal("another subaccount's follower got the notice")
	default:
	}
	stopA()
	stopA() // twice is harmless
	if n := h.Followers(a); n != 0 {
		t.Fatalf("followers after stop: %d", n)
	}
}

// TestStream follows a stream as a browser would: a snapshot at once, a new
// one after a publish, and the subscription gone once the visitor leaves.
func TestStream(t *testing.T) {
	h := New()
	h.Gap = 10 * time.Millisecond
	h.Every = time.Hour
	topic := Topic{Subaccount: 2, Name: "campaign:9"}
	var count atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Stream(w, r, topic, "counters", func(context.Context) (any, error) {
			return map[string]int64{"sent": count.Load()}, nil
		})
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		t.Helper()
		var ev string
		for lines.Scan() {
			l := lines.Text()
			if strings.HasPrefix(l, "event: ") {
				ev = strings.TrimPrefix(l, "event: ")
			}
			if strings.HasPrefix(l, "data: ") {
				return ev + " " + strings.TrimPrefix(l, "data: ")
			}
		}
		t.Fatalf("stream ended: %v", lines.Err())
		return ""
	}
	if got := next(); got != `counters {"sent":0}` {
		t.Fatalf("first event %q", got)
	}
	for h.Followers(topic) == 0 {
		time.Sleep(time.Millisecond)
	}
	count.Store(5)
	h.Publish(topic)
	if got := next(); got != `counters {"sent":5}` {
		t.Fatalf("after publish %q", got)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for h.Followers(topic) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("stream still subscribed after the visitor left")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamRefreshesWithoutPublish: a change made by another server is
// seen at the next periodic snapshot.
func TestStreamRefreshesWithoutPublish(t *testing.T) {
	h := New()
	h.Gap = time.Millisecond
	h.Every = 20 * time.Millisecond
	var n atomic.Int64
	rec := httptest.NewRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
	h.Stream(rec, req, Topic{Subaccount: 1, Name: "x"}, "tick", func(context.Context) (any, error) {
		return n.Add(1), nil
	})
	if got := strings.Count(rec.Body.String(), "event: tick\n"); got < 3 {
		t.Fatalf("%d snapshots in 300 ms at a 20 ms refresh, want several:\n%s", got, rec.Body.String())
	}
}
