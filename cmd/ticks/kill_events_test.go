package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
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
	bin := buildBinary(t)
	dsn := storetest.DSN(t)
	env := []string{"TICKS_DATA_DIR=" + t.TempDir(), "TICKS_DATABASE_URL=" + dsn, "TICKS_ADMIN_TOKEN=kill-test-admin-token",
		"TICKS_LOG_LEVEL=warn", "TICKS_TIMEZONE=America/Sao_Paulo"}
	srv := startServer(t, bin, env)
	client := &http.Client{Timeout: 60 * time.Second}
	call := func(method, path string, body any, out any) int {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, "http://"+srv.addr+path, r)
		req.Header.Set("Authorization", "Bearer kill-test-admin-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0 // the server was killed
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil && resp.StatusCode < 300 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Errorf("%s %s: %v: %s", method, path, err, b)
			}
		}
		return resp.StatusCode
	}
	var sa struct {
		ID int64 `json:"id"`
	}
	if code := call("POST", "/api/v1/subaccounts", map[string]any{"name": "Kill"}, &sa); code != http.StatusCreated {
		t.Fatalf("create subaccount: %d", code)
	}
	const clients, batches, perBatch = 8, 10, 1000
	body := func(c, b int) map[string]any {
		events := make([]map[string]any, perBatch)
		for i := range events {
			events[i] = map[string]any{"category": "Menu", "action": fmt.Sprintf("Opção %d", i%7), "contact": fmt.Sprintf("+55119876%05d", (c*perBatch+i)%3000),
				"idempotency_key": fmt.Sprintf("c%d-b%d-i%d", c, b, i)}
		}
		return map[string]any{"events": events}
	}
	path := fmt.Sprintf("/api/v1/events?subaccount=%d", sa.ID)
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
				if code := call("POST", path, body(c, b), &res); code != http.StatusOK || res.Accepted != perBatch {
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
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// What the killed server left to fold, as the database and the log
	// hold it.
	st, err := store.Open(context.Background(), dsn)
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

	srv = startServer(t, bin, env)
	defer func() { srv.cmd.Process.Signal(syscall.SIGTERM); srv.cmd.Wait() }()
	waitCounted(t, call, sa.ID, clients*batches*perBatch)
	// Every batch sent again: all duplicates, nothing counted twice.
	for c := range clients {
		for b := range batches {
			var res struct {
				Accepted   int `json:"accepted"`
				Duplicates int `json:"duplicates"`
			}
			if code := call("POST", path, body(c, b), &res); code != http.StatusOK || res.Duplicates != perBatch {
				t.Fatalf("client %d batch %d sent again: %d, %+v", c, b, code, res)
			}
		}
	}
	waitCounted(t, call, sa.ID, clients*batches*perBatch)
}

// waitCounted waits until the events report of subaccount sa counts want
// events (the folder is behind the answers), and fails if it counts more,
// or never gets there.
func waitCounted(t *testing.T, call func(method, path string, body any, out any) int, sa int64, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var report struct {
			Rows []struct{ Count int } `json:"rows"`
		}
		from, to := time.Now().AddDate(0, 0, -2).Format(time.DateOnly), time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
		if code := call("GET", fmt.Sprintf("/api/v1/reports/events?subaccount=%d&from=%s&to=%s&granularity=month", sa, from, to), nil, &report); code != http.StatusOK {
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
