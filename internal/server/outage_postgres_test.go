//go:build pgoutage

// The PostgreSQL outage test needs PostgreSQL's server programs (initdb,
// pg_ctl) to run a cluster of its own, which it stops and starts: it is
// built with -tags pgoutage, by scripts/test-outage.sh (and the PostgreSQL
// suite, scripts/test-postgres.sh).

package server_test

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pgCluster is a PostgreSQL server of the test's own, in a temporary
// directory on a port of its own: the shared server is never stopped.
type pgCluster struct {
	t         *testing.T
	bin, data string
	port      int
	cred      *syscall.Credential // the postgres user's, when the test runs as root
}

func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	bin := os.Getenv("TICKS_PG_BIN")
	if bin == "" {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Strings(dirs)
		if len(dirs) == 0 {
			t.Fatal("PostgreSQL's server programs not found: set TICKS_PG_BIN to the folder of initdb and pg_ctl")
		}
		bin = dirs[len(dirs)-1]
	}
	root, err := os.MkdirTemp("", "ticks-pg-outage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	c := &pgCluster{t: t, bin: bin, data: filepath.Join(root, "data")}
	if err := os.Mkdir(c.data, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, and no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(c.data, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c.run("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	c.start()
	t.Cleanup(func() { c.pgctl("stop", "-m", "immediate") })
	return c
}

func (c *pgCluster) run(name string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func (c *pgCluster) pgctl(args ...string) {
	c.t.Helper()
	c.run("pg_ctl", append([]string{"-D", c.data, "-w"}, args...)...)
}

func (c *pgCluster) start() {
	c.t.Helper()
	c.pgctl("-l", filepath.Join(c.data, "server.log"), "-o",
		"-p "+strconv.Itoa(c.port)+" -k "+c.data+" -c listen_addresses=127.0.0.1 -c fsync=off", "start")
}

// stop stops the server at once, as a crash or a kill would.
func (c *pgCluster) stop() { c.pgctl("stop", "-m", "immediate") }

func (c *pgCluster) url() string {
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(c.port) + "/postgres?sslmode=disable"
}

// TestPostgresOutageLosesNothing (issue 13, 1): a PostgreSQL that stops
// during ingestion and starts again. Webhooks answered 200 before it
// stopped are all applied once it is back, none set aside; while it is
// down, webhooks are answered 503 with Retry-After, /readyz fails, and the
// outage is in the webhook events list afterwards.
func TestPostgresOutageLosesNothing(t *testing.T) {
	pg := newPGCluster(t)
	s := newServerOn(t, pg.url())
	m := newMetaSender(s)
	for range 20 {
		if !m.send() {
			t.Fatalf("webhook refused before the outage: %v", m.answered)
		}
	}
	// Webhooks arrive while the server stops: the stop lands between a
	// store and its apply, or in the middle of either.
	stopped := make(chan struct{})
	go func() {
		time.Sleep(150 * time.Millisecond)
		pg.stop()
		close(stopped)
	}()
	for range 60 {
		m.send()
		time.Sleep(10 * time.Millisecond)
	}
	<-stopped
	for range 10 {
		m.send()
	}
	why := s.waitUnready(10 * time.Second)
	t.Logf("while PostgreSQL was down: %d refused; /readyz: %s", len(m.unsent), why)
	time.Sleep(time.Second)
	pg.start()

	m.resend(t, 60*time.Second)
	for range 10 {
		if !m.send() {
			t.Errorf("webhook refused after PostgreSQL came back: %v", m.answered)
		}
	}
	m.checkAllApplied(t)
}
