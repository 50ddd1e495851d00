package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoShowsEveryStatusWithinAMinute runs `ticks demo` as the README
// says, on a fresh data folder, and checks that within a minute the
// detailed report has messages in every status of SPEC section 2; then that
// Ctrl-C stops it cleanly and a second run resumes the same data.
func TestDemoShowsEveryStatusWithinAMinute(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for up to a minute")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	start := time.Now()
	cmd := startDemo(t, bin, addr, dir)

	var state struct {
		AdminToken string `json:"admin_token"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &state)

	statuses := []string{"delivered", "read", "ttl_expired", "rejected", "undelivered", "invalid_number", "opted_out",
		"invalid_session", "internal_error", "invalid_content", "warmup_blocked", "tier_limit", "invalid_parameter"}
	missing := statuses
	for time.Since(start) < 60*time.Second && len(missing) > 0 {
		time.Sleep(2 * time.Second)
		var still []string
		for _, st := range missing {
			if reportTotal(t, addr, state.AdminToken, "status="+st) == 0 {
				still = append(still, st)
			}
		}
		missing = still
	}
	if len(missing) > 0 {
		t.Errorf("after %v the demo has no message in status %v", time.Since(start).Round(time.Second), missing)
	} else {
		t.Logf("every status present after %v", time.Since(start).Round(time.Second))
	}
	if n := reportTotal(t, addr, state.AdminToken, "direction=mo"); n == 0 {
		t.Error("the demo has no inbound messages")
	}
	// Free text outside the window on Varejo Centro goes out as its
	// fallback template, which shows the template's text.
	fallbacks, refused := 0, 0
	for _, m := range reportRows(t, addr, state.AdminToken, "content_type=template&limit=1000") {
		if strings.HasPrefix(m.Text, "Olá! Recebemos sua mensagem") {
			fallbacks++
			if m.Status == "invalid_content" && m.ErrorCode == 0 { // refused by ticks, not by (simulated) Meta
				refused++
			}
		}
	}
	if fallbacks == 0 || refused > 0 {
		t.Errorf("the fallback template went out %d times, %d of them refused", fallbacks, refused)
	}
	before := reportTotal(t, addr, state.AdminToken, "")

	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo did not stop cleanly on Ctrl-C: %v", err)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("demo did not stop within 20s of Ctrl-C")
	}

	// The second start with an admin token of the user's own: the demo
	// accepts it, as `ticks serve` would, and its own token still works.
	const userToken = "tk_chosen_by_the_user_0123456789"
	cmd = startDemo(t, bin, addr, dir, "TICKS_ADMIN_TOKEN="+userToken)
	defer func() { cmd.Process.Signal(syscall.SIGINT); cmd.Wait() }()
	if after := reportTotal(t, addr, state.AdminToken, ""); after < before {
		t.Errorf("restart lost data: %d messages before, %d after", before, after)
	}
	for _, token := range []string{state.AdminToken, userToken} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/subaccounts", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var subs struct{ Subaccounts []any }
		json.NewDecoder(resp.Body).Decode(&subs)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(subs.Subaccounts) != 3 {
			t.Errorf("token %s…: %d, %d subaccounts after restart, want 200 and 3 (unassigned + 2 seeded once)",
				token[:10], resp.StatusCode, len(subs.Subaccounts))
		}
	}
}

func startDemo(t *testing.T, bin, addr, dir string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "demo", "-addr", addr, "-data-dir", dir, "-rate", "20")
	cmd.Env = append(append(os.Environ(), "TICKS_LOG_LEVEL=warn"), env...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	banner := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if !found && strings.Contains(sc.Text(), "API token") {
				found = true
				banner <- true
			}
		}
	}()
	select {
	case <-banner:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the demo printed no banner within 30s")
	}
	return cmd
}

type reportRow struct {
	Text, Status string
	ErrorCode    int `json:"error_code"`
}

// reportRows returns the first page of the report (limit in the query).
func reportRows(t *testing.T, addr, token, query string) []reportRow {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/api/v1/reports/messages?%s", addr, query), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Rows []reportRow }
	if resp.StatusCode != 200 {
		t.Fatalf("report %s: %d", query, resp.StatusCode)
	}
	json.NewDecoder(resp.Body).Decode(&page)
	return page.Rows
}

func reportTotal(t *testing.T, addr, token, query string) int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/api/v1/reports/messages?limit=1&%s", addr, query), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Total int64 }
	if resp.StatusCode != 200 {
		t.Fatalf("report %s: %d", query, resp.StatusCode)
	}
	json.NewDecoder(resp.Body).Decode(&page)
	return page.Total
}
