package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

// newServerOn starts a server on the database dsn (a SQLite file or a
// PostgreSQL URL), as newServer does on the test's own.
func newServerOn(t *testing.T, dsn string) *testServer {
	t.Helper()
	cfg := &config.Config{DatabaseURL: dsn, WAAppSecret: appSecret, WAVerifyToken: "verify-me",
		AdminToken: adminToken, SecretKey: "server-test-secret-key-0123456789", WebhookMaxBytes: 64 << 10,
		InboxRetention: 1 << 40, WAAPIBase: "http://127.0.0.1:1/v23.0"}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Handler = checkContract(t, srv.Handler)
	srv.Processor.MaxBackoff = 500 * time.Millisecond // a test's outage is seconds long
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	return &testServer{t: t, srv: srv, url: "http://" + ln.Addr().String()}
}

// metaSender posts status webhooks as Meta does: one that is not answered
// 200 is sent again later, until it is.
type metaSender struct {
	s        *testServer
	biz      simulator.Business
	at       string
	next     int
	unsent   []int          // refused, to send again
	answered map[int]string // every answer, by webhook, as "503 503 200"
	retryHdr bool           // some 503 said when to retry
}

func newMetaSender(s *testServer) *metaSender {
	return &metaSender{s: s, answered: map[int]string{}, at: strconv.FormatInt(time.Now().Unix(), 10),
		biz: simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}}
}

func (m *metaSender) wamid(i int) string { return fmt.Sprintf("wamid.OUTAGE%04d", i) }

// post sends webhook i once and reports whether it was stored (200).
func (m *metaSender) post(i int) bool {
	body := m.biz.StatusWebhook(simulator.Status{ID: m.wamid(i), Status: "delivered", Timestamp: m.at, RecipientID: "5511987654321"})
	r, hdr, err := m.s.tryWebhook(body)
	code := "error"
	if err == nil {
		code = strconv.Itoa(r.code)
		if r.code == 503 && hdr.Get("Retry-After") != "" && strings.Contains(string(r.body), `"unavailable"`) {
			m.retryHdr = true
		}
	}
	m.answered[i] = strings.TrimSpace(m.answered[i] + " " + code)
	return err == nil && r.code == 200
}

// send sends the next new webhook, keeping it to send again if refused.
func (m *metaSender) send() bool {
	i := m.next
	m.next++
	ok := m.post(i)
	if !ok {
		m.unsent = append(m.unsent, i)
	}
	return ok
}

// resend sends the refused webhooks again until each is stored.
func (m *metaSender) resend(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(m.unsent) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d webhooks still refused after %v: %v", len(m.unsent), within, m.unsent)
		}
		if m.post(m.unsent[0]) {
			m.unsent = m.unsent[1:]
			continue
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkAllApplied: every webhook sent was applied, once, and none was set
// aside; the outage is in the webhook events list; /readyz is ready.
func (m *metaSender) checkAllApplied(t *testing.T) {
	t.Helper()
	s := m.s
	s.waitApplied()
	for i := 0; i < m.next; i++ {
		s.waitFor(m.wamid(i))
	}
	var list struct {
		Events []struct {
			Field, Event, Detail string
		} `json:"events"`
	}
	s.must(200, "GET", "/api/v1/webhook-events?limit=1000", adminToken, nil, &list)
	outages := 0
	for _, e := range list.Events {
		switch {
		case e.Field == "ingest_error" || e.Event == "set_aside":
			t.Errorf("webhook set aside: %+v", e)
		case e.Field == "ingest" && e.Event == "store_unavailable":
			outages++
			if !strings.Contains(e.Detail, "could not write for") {
				t.Errorf("outage event says %q", e.Detail)
			}
		}
	}
	if outages == 0 {
		t.Errorf("no store_unavailable event in the webhook events list: %+v", list.Events)
	}
	if r := s.do("GET", "/readyz", "", nil); r.code != 200 {
		t.Errorf("/readyz after the outage: %d %s", r.code, r.body)
	}
	if !m.retryHdr {
		t.Error("no webhook was answered 503 with Retry-After while the store could not write")
	}
}

// tryWebhook posts a signed webhook, returning a transport error rather
// than failing the test (a server whose database is down still answers,
// but the test must not stop on a refused connection either).
func (s *testServer) tryWebhook(body []byte) (response, http.Header, error) {
	req, err := http.NewRequest("POST", s.url+"/webhooks/whatsapp", bytes.NewReader(body))
	if err != nil {
		return response{}, nil, err
	}
	req.Header.Set("X-Hub-Signature-256", whatsapp.Sign([]byte(appSecret), body))
	return s.send(req)
}

func (s *testServer) tryGet(path string) (response, http.Header, error) {
	req, err := http.NewRequest("GET", s.url+path, nil)
	if err != nil {
		return response{}, nil, err
	}
	return s.send(req)
}

func (s *testServer) send(req *http.Request) (response, http.Header, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, b}, resp.Header, err
}

// waitUnready waits until /readyz says the store cannot write.
func (s *testServer) waitUnready(within time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if r, _, err := s.tryGet("/readyz"); err == nil && r.code == 503 {
			return string(r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("/readyz never failed within %v", within)
	return ""
}

// TestFullDiskLosesNothing (issue 13, 1): on SQLite, a disk that fills
// while webhooks arrive and frees again. Webhooks stored before it filled
// are applied once it frees, none is set aside; meanwhile new webhooks are
// answered 503 with Retry-After (Meta sends them again), /readyz fails and
// says why, the metric shows it, and the outage is in the webhook events
// list afterwards.
//
// The full disk is a file size limit (RLIMIT_FSIZE) on this process: no
// file may be written past a few kilobytes more than the inbox log holds,
// so the database's write-ahead log cannot be written while the inbox log
// still has a little room — as on a real disk, where a webhook's small
// record can fit where a transaction's pages cannot. Not parallel: the
// limit holds for every file the test process writes.
func TestFullDiskLosesNothing(t *testing.T) {
	dir := t.TempDir()
	s := newServerOn(t, filepath.Join(dir, "ticks.db"))
	m := newMetaSender(s)
	for range 20 {
		if !m.send() {
			t.Fatalf("webhook refused before the disk filled: %v", m.answered)
		}
	}
	s.waitApplied()

	inbox := 0
	segs, _ := filepath.Glob(filepath.Join(dir, "ticks-inbox", "*"))
	for _, f := range segs {
		if fi, err := os.Stat(f); err == nil {
			inbox = max(inbox, int(fi.Size()))
		}
	}
	if wal, err := os.Stat(filepath.Join(dir, "ticks.db-wal")); err != nil || int(wal.Size()) < inbox+64<<10 {
		t.Fatalf("the write-ahead log (%v, %v) is not past the inbox log (%d bytes): the fault would not bite", wal, err, inbox)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	full := syscall.Rlimit{Cur: uint64(inbox + 16<<10), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Fatal(err)
	}
	freed := false
	free := func() {
		if !freed {
			freed = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer free()

	// While full: webhooks keep coming; some are stored before ticks finds
	// it cannot apply them, the rest refused.
	for range 40 {
		m.send()
		time.Sleep(20 * time.Millisecond)
	}
	why := s.waitUnready(5 * time.Second)
	pending, err := s.srv.Store.InboxStats(context.Background())
	free()
	if err != nil {
		t.Fatal(err)
	}
	if pending.Pending() == 0 {
		t.Errorf("no stored webhook was waiting to be applied while the disk was full (answers %v)", m.answered)
	}
	if !strings.Contains(why, "store cannot write") || !(strings.Contains(why, "disk I/O error") || strings.Contains(why, "file too large")) {
		t.Errorf("/readyz while full says %s", why)
	}
	if r := s.do("GET", "/metrics", "", nil); !strings.Contains(string(r.body), "ticks_store_write_failing 1") {
		t.Error("ticks_store_write_failing is not 1 while the store cannot write")
	}
	t.Logf("while full: %d webhooks stored and waiting, %d refused; /readyz: %s", pending.Pending(), len(m.unsent), why)

	// Freed: Meta's retries are stored, everything is applied.
	m.resend(t, 30*time.Second)
	for range 10 {
		if !m.send() {
			t.Errorf("webhook refused after the disk was freed: %v", m.answered)
		}
	}
	m.checkAllApplied(t)
}
