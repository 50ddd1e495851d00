package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store/storetest"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type process struct {
	cmd  *exec.Cmd
	addr string
}

func startServer(t *testing.T, bin string, env []string) *process {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "-addr", addr)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, addr: addr}
	// Whatever way the test ends (a t.Fatal between a start and its stop
	// included), no server outlives it.
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatal("server did not start")
	return nil
}

// killTest is the setup the SIGKILL tests share: ticks built and serving
// on a data folder and a database of the test's own, with an admin token,
// and a client of its API; restart starts the binary again on the same data
// after a kill.
type killTest struct {
	t         *testing.T
	bin       string
	data, dsn string
	env       []string
	srv       *process
	client    *http.Client
}

const killAdminToken = "kill-test-admin-token"

// startKillTest builds ticks and starts it on a fresh data folder and
// database, with the admin token, warn logs, and env.
func startKillTest(t *testing.T, env ...string) *killTest {
	t.Helper()
	k := &killTest{t: t, bin: buildBinary(t), data: t.TempDir(), dsn: storetest.DSN(t), client: &http.Client{Timeout: 60 * time.Second}}
	k.env = append([]string{"TICKS_DATA_DIR=" + k.data, "TICKS_DATABASE_URL=" + k.dsn,
		"TICKS_ADMIN_TOKEN=" + killAdminToken, "TICKS_LOG_LEVEL=warn"}, env...)
	k.srv = startServer(t, k.bin, k.env)
	return k
}

// kill sends the server SIGKILL and waits for it to be gone.
func (k *killTest) kill() {
	k.t.Helper()
	if err := k.srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		k.t.Fatal(err)
	}
	k.srv.cmd.Wait()
}

// restart starts the server again, and stops it with SIGTERM when the test
// ends.
func (k *killTest) restart() {
	k.t.Helper()
	k.srv = startServer(k.t, k.bin, k.env)
	srv := k.srv
	k.t.Cleanup(func() {
		if srv.cmd.ProcessState == nil {
			srv.cmd.Process.Signal(syscall.SIGTERM)
			srv.cmd.Wait()
		}
	})
}

// do calls the API as the admin with body as JSON, and decodes a 2xx
// answer into out (a *[]byte takes the body as it is). A request that got
// no answer (the server killed) is code 0 and an error.
func (k *killTest) do(method, path string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+k.srv.addr+path, r)
	req.Header.Set("Authorization", "Bearer "+killAdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if w, ok := out.(*[]byte); ok {
			*w = b
		} else if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, nil
}

// call is do from any goroutine: a body that does not decode fails the
// test, and no answer is code 0.
func (k *killTest) call(method, path string, body, out any) int {
	code, err := k.do(method, path, body, out)
	if err != nil && code != 0 {
		k.t.Error(err)
	}
	return code
}

// mustCall is do from the test's goroutine: no answer, or one that does not
// decode, ends the test.
func (k *killTest) mustCall(method, path string, body, out any) int {
	k.t.Helper()
	code, err := k.do(method, path, body, out)
	if err != nil {
		k.t.Fatal(err)
	}
	return code
}

// subaccount creates a subaccount and returns its ID.
func (k *killTest) subaccount(name string) int64 {
	k.t.Helper()
	var sa struct {
		ID int64 `json:"id"`
	}
	if code := k.mustCall("POST", "/api/v1/subaccounts", map[string]any{"name": name}, &sa); code != http.StatusCreated {
		k.t.Fatalf("create subaccount: %d", code)
	}
	return sa.ID
}

// TestKillNineLosesNothingAcknowledged posts webhooks from several clients,
// kills the server with SIGKILL in the middle, restarts it, and checks that
// every webhook that was answered 200 is applied.
func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel() // its own server, data folder and database: the three kill tests overlap
	secret := "kill-test-secret"
	k := startKillTest(t, "TICKS_WA_APP_SECRET="+secret)
	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}

	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				wamid := fmt.Sprintf("wamid.KILL%02d%06d", w, i)
				body := biz.StatusWebhook(simulator.Status{ID: wamid, Status: "delivered",
					Timestamp: simulator.Unix(1750000000 + int64(i)), RecipientID: "5511987654321"})
				req, _ := http.NewRequest("POST", "http://"+k.srv.addr+"/webhooks/whatsapp", bytes.NewReader(body))
				req.Header.Set("X-Hub-Signature-256", whatsapp.Sign([]byte(secret), body))
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					acked = append(acked, wamid)
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	k.kill()
	close(stop)
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d webhooks acknowledged before the kill; the test proves nothing", len(acked))
	}

	k.restart()
	waitApplied(t, k.srv.addr)
	missing := 0
	for _, wamid := range acked {
		if k.mustCall("GET", "/api/v1/messages/"+wamid, nil, nil) != http.StatusOK {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged webhooks lost after kill -9", missing, len(acked))
	}
	t.Logf("%d acknowledged webhooks all present after kill -9 and restart", len(acked))
}

// waitApplied waits until /readyz reports the inbox fully applied.
func waitApplied(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			var st struct {
				Last    int64 `json:"inbox_last_id"`
				Applied int64 `json:"inbox_applied_id"`
			}
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if st.Applied >= st.Last {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("inbox not applied within 60s")
}
