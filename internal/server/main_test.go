package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/jobs"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/store/storetest"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

func TestMain(m *testing.M) {
	// Cheap password hashes: tests create users, they do not defend them.
	secret.PasswordParams.Time, secret.PasswordParams.MemoryKiB = 1, 64
	os.Exit(m.Run())
}

const (
	appSecret  = "server-test-app-secret"
	adminToken = "server-test-admin-token-0123456789"
)

// serverDSN is a database for a test server: on SQLite a copy of one with
// the store's tables and River's in place, migrated once per test binary.
var serverDSN = storetest.Template(jobs.Migrate)

// testServer is a whole ticks server on a loopback port.
type testServer struct {
	t   *testing.T
	srv *server.Server
	url string
}

func newServer(t *testing.T) *testServer { return newServerWith(t, "") }

// newServerWith starts a server whose Cloud API base is apiBase (a
// simulator), or a closed port when empty.
func newServerWith(t *testing.T, apiBase string) *testServer {
	t.Helper()
	if apiBase == "" {
		apiBase = "http://127.0.0.1:1/v23.0"
	}
	cfg := &config.Config{DatabaseURL: serverDSN(t), WAAppSecret: appSecret, WAVerifyToken: "verify-me",
		AdminToken: adminToken, SecretKey: "server-test-secret-key-0123456789", WebhookMaxBytes: 64 << 10, DataDir: t.TempDir(),
		InboxRetention: 1 << 40, WAAPIBase: apiBase}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Handler = checkContract(t, srv.Handler) // every API exchange is held to the OpenAPI document
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

type response struct {
	code int
	body []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.code, err, r.body)
	}
}

// do sends a request; body may be nil, a []byte or a value to marshal.
func (s *testServer) do(method, path, token string, body any, header ...string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, b}
}

// must requires the wanted status code and decodes the body into v.
func (s *testServer) must(want int, method, path, token string, body, v any) {
	s.t.Helper()
	r := s.do(method, path, token, body)
	if r.code != want {
		s.t.Fatalf("%s %s: %d %s, want %d", method, path, r.code, r.body, want)
	}
	if v != nil {
		r.json(s.t, v)
	}
}

// webhook posts a signed webhook.
func (s *testServer) webhook(body []byte) response {
	s.t.Helper()
	return s.do("POST", "/webhooks/whatsapp", "", body, "X-Hub-Signature-256", whatsapp.Sign([]byte(appSecret), body))
}
