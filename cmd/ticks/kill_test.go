package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store/storetest"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

// buildBinary builds ticks once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ticks")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	return bin
}

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

// TestKillNineLosesNothingAcknowledged posts webhooks from several clients,
// kills the server with SIGKILL in the middle, restarts it, and checks that
// every webhook that was answered 200 is applied.
func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	secret := "kill-test-secret"
	env := []string{"TICKS_DATA_DIR=" + t.TempDir(), "TICKS_DATABASE_URL=" + storetest.DSN(t),
		"TICKS_WA_APP_SECRET=" + secret, "TICKS_ADMIN_TOKEN=kill-test-admin-token", "TICKS_LOG_LEVEL=warn"}
	biz := simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}

	srv := startServer(t, bin, env)
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
				req, _ := http.NewRequest("POST", "http://"+srv.addr+"/webhooks/whatsapp", bytes.NewReader(body))
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
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d webhooks acknowledged before the kill; the test proves nothing", len(acked))
	}

	srv = startServer(t, bin, env)
	defer func() { srv.cmd.Process.Signal(syscall.SIGTERM); srv.cmd.Wait() }()
	waitApplied(t, srv.addr)
	missing := 0
	for _, wamid := range acked {
		req, _ := http.NewRequest("GET", "http://"+srv.addr+"/api/v1/messages/"+wamid, nil)
		req.Header.Set("Authorization", "Bearer kill-test-admin-token")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
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
