package main

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKillNineDuringExtraction kills the server with SIGKILL while an extraction is writing its file,
// and checks the state after a restart: the extraction is not ready and its half file is not served
// (409); once its silent run is stale (TICKS_EXTRACTION_STALE_AFTER), the restarted server writes it
// again from its first row, and the file is whole: every event once.
func TestKillNineDuringExtraction(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel() // its own server, data folder and database: the three kill tests overlap
	k := startKillTest(t, "TICKS_EXTRACTION_STALE_AFTER=3s", "TICKS_TIMEZONE=America/Sao_Paulo")
	sa := k.subaccount("Kill")
	call := k.mustCall
	// Event tracks of today, with extras wide enough that writing them takes a few seconds.
	const batches, perBatch = 150, 1000
	pad := strings.Repeat("x", 300)
	t0 := time.Now()
	for b := range batches {
		events := make([]map[string]any, perBatch)
		for i := range events {
			events[i] = map[string]any{"category": "Menu", "action": fmt.Sprintf("Opção %d", i%7),
				"contact": fmt.Sprintf("+55119876%05d", i%200), "extras": map[string]any{"n": b*perBatch + i, "pad": pad}}
		}
		var res struct {
			Accepted int `json:"accepted"`
		}
		if code := call("POST", fmt.Sprintf("/api/v1/events?subaccount=%d", sa), map[string]any{"events": events}, &res); code != http.StatusOK || res.Accepted != perBatch {
			t.Fatalf("events batch %d: %d, %d accepted", b, code, res.Accepted)
		}
	}
	t.Logf("%d events recorded in %v", batches*perBatch, time.Since(t0).Round(time.Millisecond))
	// The extraction reads the folded events: wait until the report counts
	// them all.
	k.waitCounted(sa, batches*perBatch)

	loc, _ := time.LoadLocation("America/Sao_Paulo")
	today := time.Now().In(loc).Format(time.DateOnly)
	type extraction struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Rows   int64  `json:"rows"`
	}
	var e extraction
	if code := call("POST", "/api/v1/extractions", map[string]any{"type": "event_tracks", "from": today, "to": today, "subaccount": sa}, &e); code != http.StatusAccepted {
		t.Fatalf("request: %d", code)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		call("GET", "/api/v1/extractions/"+e.ID, nil, &e)
		if e.Status == "running" && e.Rows > 0 {
			break
		}
		if e.Status != "queued" && e.Status != "running" || time.Now().After(deadline) {
			t.Fatalf("the extraction is %s with %d rows before the kill: the test proves nothing", e.Status, e.Rows)
		}
		time.Sleep(5 * time.Millisecond)
	}
	k.kill()
	killedAt := time.Now()
	t.Logf("killed with %d of %d rows written", e.Rows, batches*perBatch)
	parts, _ := filepath.Glob(filepath.Join(k.data, "extractions", "*.part"))
	if len(parts) != 1 {
		t.Errorf("partial files after the kill: %v", parts)
	}

	// Restarted before the run is stale: the extraction is still running, its half file not served.
	k.restart()
	call("GET", "/api/v1/extractions/"+e.ID, nil, &e)
	if time.Since(killedAt) < 3*time.Second && e.Status != "running" {
		t.Errorf("right after the restart the extraction is %s, want running", e.Status)
	}
	if e.Status != "ready" {
		if code := call("GET", "/api/v1/extractions/"+e.ID+"/file", nil, nil); code != http.StatusConflict {
			t.Errorf("the file of an extraction %s: %d, want 409", e.Status, code)
		}
	}
	// The sweep (every minute, and at start) hands it to a new run once its silence passes 3 s; this
	// test waits for the minute's sweep at most.
	deadline = time.Now().Add(100 * time.Second)
	for e.Status != "ready" {
		if time.Now().After(deadline) || e.Status == "failed" || e.Status == "canceled" {
			t.Fatalf("after the restart the extraction is %s with %d rows", e.Status, e.Rows)
		}
		time.Sleep(200 * time.Millisecond)
		call("GET", "/api/v1/extractions/"+e.ID, nil, &e)
	}
	var file []byte
	if code := call("GET", "/api/v1/extractions/"+e.ID+"/file", nil, &file); code != http.StatusOK {
		t.Fatalf("download: %d", code)
	}
	// Some 57 MB of CSV: stored and served gzipped.
	zr, err := gzip.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("the file is not gzipped: %v", err)
	}
	if file, err = io.ReadAll(zr); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(file, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatalf("the file does not read as CSV: %v\n%.400q", err, file)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		var x struct {
			N int `json:"n"`
		}
		if err := json.Unmarshal([]byte(r[5]), &x); err != nil {
			t.Fatalf("extras %q: %v", r[5], err)
		}
		seen[fmt.Sprint(x.N)] = true
	}
	if len(rows) != batches*perBatch+1 || len(seen) != batches*perBatch || e.Rows != batches*perBatch {
		t.Fatalf("after the restart: %d lines, %d distinct events, %d rows recorded; want %d each", len(rows)-1, len(seen), e.Rows, batches*perBatch)
	}
	t.Logf("ready %v after the kill, %d rows, every event once", time.Since(killedAt).Round(time.Millisecond), len(rows)-1)
}
