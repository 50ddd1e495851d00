package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/ticksapp/ticks/internal/demo"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var statuses = []string{"delivered", "read", "ttl_expired", "rejected", "undelivered", "invalid_number", "opted_out",
	"invalid_session", "internal_error", "invalid_content", "warmup_blocked", "tier_limit", "invalid_parameter"}

// demoState is the part of demo.json the tests read.
type demoState struct {
	AdminToken  string    `json:"admin_token"`
	HistoryEnd  time.Time `json:"history_end"`
	HistoryDone bool      `json:"history_done"`
	HistoryMT   int64     `json:"history_mt"`
	HistoryMO   int64     `json:"history_mo"`
}

func readState(t *testing.T, dir string) demoState {
	t.Helper()
	var st demoState
	b, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// span is a report query of the messages from from to to.
func span(from, to time.Time) string {
	return "from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
}

// demoWait bounds how long TestDemoShowsEveryStatus waits for what the
// README says the demo shows within a minute: the test logs the times it
// measured, and its deadlines leave room for a machine busy with other
// work (a timing is a benchmark's figure, not a unit test's assertion).
const demoWait = 3 * time.Minute

// TestDemoShowsEveryStatus runs `ticks demo` as the README says, on a
// fresh data folder, and checks that the detailed report soon has messages
// in every status of SPEC section 2, and 90 days of history behind them;
// that live traffic, which starts where the history ends, has every status
// too; then that Ctrl-C stops it cleanly and a second run resumes the same
// data.
func TestDemoShowsEveryStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for a few minutes")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	start := time.Now()
	cmd, banner := startDemo(t, bin, addr, dir)
	t.Logf("banner after %v", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(banner, "being written in the background") {
		t.Errorf("the first start's banner does not say the history is being written:\n%s", banner)
	}
	state := readState(t, dir)
	if state.HistoryEnd.IsZero() || time.Since(state.HistoryEnd) > time.Minute {
		t.Fatalf("the history ends at %v, want the first start", state.HistoryEnd)
	}
	live := span(state.HistoryEnd, time.Now().Add(time.Hour))

	missing := statuses
	for time.Since(start) < demoWait && len(missing) > 0 {
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
	checkDemoCampaigns(t, addr, state.AdminToken, start)
	checkDemoLinkClicks(t, addr, state.AdminToken, start)
	// The history fills in from its first days: messages 80 days ago too.
	end := state.HistoryEnd
	old := span(end.AddDate(0, 0, -81), end.AddDate(0, 0, -79))
	n := reportTotal(t, addr, state.AdminToken, old)
	for ; n < 500 && time.Since(start) < demoWait; n = reportTotal(t, addr, state.AdminToken, old) {
		time.Sleep(time.Second)
	}
	if n < 500 {
		t.Errorf("%d messages 80 days ago after %v, want the history's two days of them", n, time.Since(start).Round(time.Second))
	} else {
		t.Logf("messages of 80 days ago after %v", time.Since(start).Round(time.Second))
	}
	// Live traffic, after the history, shows every status by itself.
	missing = statuses
	for time.Since(start) < demoWait+time.Minute && len(missing) > 0 {
		var still []string
		for _, st := range missing {
			if reportTotal(t, addr, state.AdminToken, live+"&status="+st) == 0 {
				still = append(still, st)
			}
		}
		if missing = still; len(missing) > 0 {
			time.Sleep(2 * time.Second)
		}
	}
	if len(missing) > 0 {
		t.Errorf("after %v live traffic has no message in status %v", time.Since(start).Round(time.Second), missing)
	}
	if n := reportTotal(t, addr, state.AdminToken, live+"&direction=mo"); n == 0 {
		t.Error("the demo's live traffic has no inbound messages")
	}
	// Free text outside the window on Varejo Centro goes out as its
	// fallback template, which shows the template's text.
	// Every live template message is read (the campaigns send many more
	// than the fallback), until one went out.
	fallbacks, refused := 0, 0
	for fallbacks == 0 && time.Since(start) < demoWait+time.Minute {
		fallbacks, refused = 0, 0
		cursor := ""
		for page := 0; page == 0 || cursor != "" && page < 50; page++ {
			rows, next := reportPage(t, addr, state.AdminToken, live+"&content_type=template&limit=1000&cursor="+cursor)
			for _, m := range rows {
				if strings.HasPrefix(m.Text, "Olá! Recebemos sua mensagem") {
					fallbacks++
					if m.Status == "invalid_content" && m.ErrorCode == 0 { // refused by ticks, not by (simulated) Meta
						refused++
					}
				}
			}
			cursor = next
		}
		if fallbacks == 0 {
			time.Sleep(2 * time.Second)
		}
	}
	if fallbacks == 0 || refused > 0 {
		t.Errorf("the fallback template went out %d times, %d of them refused (after %v)", fallbacks, refused,
			time.Since(start).Round(time.Second))
	} else {
		t.Logf("the fallback template went out %d times after %v", fallbacks, time.Since(start).Round(time.Second))
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
	cmd, banner = startDemo(t, bin, addr, dir, "TICKS_ADMIN_TOKEN="+userToken)
	if !strings.Contains(banner, "History") {
		t.Errorf("the second start's banner says nothing of the history:\n%s", banner)
	}
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

// startDemo starts the demo and returns once it printed its banner, with
// the banner.
func startDemo(t *testing.T, bin, addr, dir string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "demo", "-addr", addr, "-data-dir", dir, "-rate", "20")
	cmd.Env = append(append(os.Environ(), "TICKS_LOG_LEVEL=warn"), env...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	banner := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var lines []string
		for sc.Scan() {
			if lines = append(lines, sc.Text()); strings.Contains(sc.Text(), "Traffic:") {
				banner <- strings.Join(lines, "\n")
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case b := <-banner:
		return cmd, b
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the demo printed no banner within 30s")
	}
	return nil, ""
}

// TestDemoHistoryResumesAfterKill kills the demo (kill -9) while it writes
// its history, and checks the next start completes it: every message of
// the history once, as many as the history says it holds.
func TestDemoHistoryResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo twice")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	cmd, _ := startDemo(t, bin, addr, dir)
	state := readState(t, dir)
	end := state.HistoryEnd
	// Once the older part has begun (messages 80 days ago), kill.
	old := span(end.AddDate(0, 0, -81), end.AddDate(0, 0, -79))
	deadline := time.Now().Add(demoWait)
	for reportTotal(t, addr, state.AdminToken, old) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if state = readState(t, dir); state.HistoryDone {
		t.Fatal("the history was done before the kill; the test proves nothing")
	}

	cmd, _ = startDemo(t, bin, addr, dir)
	defer func() { cmd.Process.Signal(syscall.SIGINT); cmd.Wait() }()
	restarted := time.Now()
	deadline = restarted.Add(2 * demoWait)
	for !state.HistoryDone && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		state = readState(t, dir)
	}
	if !state.HistoryDone {
		t.Fatalf("the history was not completed within %v of the restart", 2*demoWait)
	}
	t.Logf("the history was completed %v after the restart", time.Since(restarted).Round(time.Second))
	all := span(end.AddDate(0, 0, -90), end)
	mt, mo := reportTotal(t, addr, state.AdminToken, all), reportTotal(t, addr, state.AdminToken, all+"&direction=mo")
	if mt != state.HistoryMT || mo != state.HistoryMO || mt < 100_000 {
		t.Errorf("the history holds %d MT and %d MO messages; it says it wrote %d and %d", mt, mo, state.HistoryMT, state.HistoryMO)
	}
}

type reportRow struct {
	Text, Status string
	ErrorCode    int `json:"error_code"`
}

// reportRows returns the first page of the report (limit in the query).
// reportPage returns a page of the detailed report and its next cursor.
func reportPage(t *testing.T, addr, token, query string) ([]reportRow, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/api/v1/reports/messages?%s", addr, query), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Rows       []reportRow
		NextCursor string `json:"next_cursor"`
	}
	if resp.StatusCode != 200 {
		t.Fatalf("report %s: %d", query, resp.StatusCode)
	}
	json.NewDecoder(resp.Body).Decode(&page)
	return page.Rows, page.NextCursor
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

// checkDemoCampaigns waits, up to the demo's first minute, for its
// campaigns: a finished one, a running one, a scheduled one, and the A/B
// pair whose read and reply rates differ beyond chance.
func checkDemoCampaigns(t *testing.T, addr, token string, start time.Time) {
	t.Helper()
	type row struct {
		ID, Name, Status string
		Template         string
	}
	get := func(path string, v any) { getJSON(t, addr, token, path, v) }
	var list struct{ Rows []row }
	var seen map[string]bool
	var ab []string
	for {
		get("/api/v1/campaigns", &list)
		seen, ab = map[string]bool{}, nil
		for _, c := range list.Rows {
			seen[c.Status] = true
			if c.Template == demo.TemplateA || c.Template == demo.TemplateB {
				ab = append(ab, c.ID)
			}
		}
		if seen["completed"] && seen["running"] && seen["scheduled"] || time.Since(start) > demoWait {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if !seen["completed"] || !seen["running"] || !seen["scheduled"] || len(ab) != 2 {
		t.Fatalf("after %v the demo's campaigns are %+v", time.Since(start).Round(time.Second), list.Rows)
	}
	t.Logf("a finished, a running and a scheduled campaign after %v", time.Since(start).Round(time.Second))
	var cmp struct {
		Differences []struct {
			Rate        string
			Significant bool
		}
	}
	for {
		get("/api/v1/campaigns/compare?id="+ab[0]+"&id="+ab[1], &cmp)
		significant := map[string]bool{}
		for _, d := range cmp.Differences {
			significant[d.Rate] = d.Significant
		}
		if significant["read"] && significant["reply"] {
			t.Logf("the A/B pair's read and reply rates differ after %v", time.Since(start).Round(time.Second))
			return
		}
		if time.Since(start) > demoWait+30*time.Second {
			t.Fatalf("the A/B pair's differences after %v: %+v", time.Since(start).Round(time.Second), cmp.Differences)
		}
		time.Sleep(2 * time.Second)
	}
}

// checkDemoLinkClicks waits for the demo's simulated contacts to tap the
// link button of its link campaign, through the redirect, and for the
// campaign to count them.
func checkDemoLinkClicks(t *testing.T, addr, token string, start time.Time) {
	t.Helper()
	get := func(path string, v any) { getJSON(t, addr, token, path, v) }
	var list struct {
		Rows []struct{ ID, Template string }
	}
	get("/api/v1/campaigns", &list)
	id := ""
	for _, c := range list.Rows {
		if c.Template == demo.TemplateLink {
			id = c.ID
		}
	}
	if id == "" {
		t.Fatalf("the demo has no campaign of %s: %+v", demo.TemplateLink, list.Rows)
	}
	for {
		var d struct {
			Counters struct {
				LinkClicked int64 `json:"link_clicked"`
			}
			Links []struct{ Contacts, Clicks int64 }
		}
		get("/api/v1/campaigns/"+id, &d)
		if d.Counters.LinkClicked > 0 && len(d.Links) == 1 && d.Links[0].Clicks > d.Links[0].Contacts {
			t.Logf("the link campaign: %d contacts clicked %d times after %v", d.Links[0].Contacts, d.Links[0].Clicks,
				time.Since(start).Round(time.Second))
			return
		}
		if time.Since(start) > demoWait+30*time.Second {
			t.Fatalf("the link campaign after %v: %+v", time.Since(start).Round(time.Second), d)
		}
		time.Sleep(2 * time.Second)
	}
}

// getJSON reads the demo's API answer at path into v; anything but 200 and
// JSON fails the test.
func getJSON(t *testing.T, addr, token, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
}
