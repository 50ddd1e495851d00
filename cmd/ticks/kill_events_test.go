package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/store"
)

// TestKillNineKeepsAnsweredEvents posts batches of events from several
// clients, kills the server with SIGKILL as soon as the last one is
// answered — while the folder still has answered batches to fold — and
// checks that after a restart the report counts every answered event, once
// (the batches are sent again after the restart, as clients that missed
// an answer would).
func TestKillNineKeepsAnsweredEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel() // its own server, data folder and database: the three kill tests overlap
	k := startKillTest(t, "TICKS_TIMEZONE=America/Sao_Paulo")
	sa := k.subaccount("Kill")
	const clients, batches, perBatch = 8, 10, 1000
	body := func(c, b int) map[string]any {
		events := make([]map[string]any, perBatch)
		for i := range events {
			events[i] = map[string]any{"category": "Menu", "action": fmt.Sprintf("Opção %d", i%7), "contact": fmt.Sprintf("+55119876%05d", (c*perBatch+i)%3000),
				"idempotency_key": fmt.Sprintf("c%d-b%d-i%d", c, b, i)}
		}
		return map[string]any{"events": events}
	}
	path := fmt.Sprintf("/api/v1/events?subaccount=%d", sa)
	var mu sync.Mutex
	answered := 0
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var res struct {
					Accepted int `json:"accepted"`
				}
				if code := k.call("POST", path, body(c, b), &res); code != http.StatusOK || res.Accepted != perBatch {
					t.Errorf("client %d batch %d: %d, %d accepted", c, b, code, res.Accepted)
					return
				}
				mu.Lock()
				answered++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	k.kill()
	if t.Failed() {
		t.FailNow()
	}
	// What the killed server left to fold, as the database and the log
	// hold it.
	st, err := store.Open(context.Background(), k.dsn)
	if err != nil {
		t.Fatal(err)
	}
	waiting, err := st.EventsPending(context.Background())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if waiting == 0 {
		t.Fatalf("the folder had folded all %d answered batches before the kill: the test proves nothing", answered)
	}
	t.Logf("killed with %d of %d answered batches not folded", waiting, answered)

	k.restart()
	k.waitCounted(sa, clients*batches*perBatch)
	// Every batch sent again: all duplicates, nothing counted twice.
	for c := range clients {
		for b := range batches {
			var res struct {
				Accepted   int `json:"accepted"`
				Duplicates int `json:"duplicates"`
			}
			if code := k.call("POST", path, body(c, b), &res); code != http.StatusOK || res.Duplicates != perBatch {
				t.Fatalf("client %d batch %d sent again: %d, %+v", c, b, code, res)
			}
		}
	}
	k.waitCounted(sa, clients*batches*perBatch)
}

// waitCounted waits until the events report of subaccount sa counts want
// events (the folder is behind the answers), and fails if it counts more,
// or never gets there.
func (k *killTest) waitCounted(sa int64, want int) {
	t := k.t
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var report struct {
			Rows []struct{ Count int } `json:"rows"`
		}
		from, to := time.Now().AddDate(0, 0, -2).Format(time.DateOnly), time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
		if code := k.call("GET", fmt.Sprintf("/api/v1/reports/events?subaccount=%d&from=%s&to=%s&granularity=month", sa, from, to), nil, &report); code != http.StatusOK {
			t.Fatalf("report: %d", code)
		}
		n := 0
		for _, r := range report.Rows {
			n += r.Count
		}
		switch {
		case n == want:
			return
		case n > want:
			t.Fatalf("the report counts %d events, want %d", n, want)
		case time.Now().After(deadline):
			t.Fatalf("the report counts %d events after a minute, want %d", n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
