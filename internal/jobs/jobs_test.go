package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/jobs"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// countArgs is a test job: its worker counts each run of each N.
type countArgs struct {
	N int `json:"n"`
	// Fail makes the first attempt of the job fail.
	Fail bool `json:"fail"`
}

func (countArgs) Kind() string { return "test_count" }

type countWorker struct {
	river.WorkerDefaults[countArgs]
	name string
	log  *runLog
	// slow is how long each run takes.
	slow time.Duration
}

func (w *countWorker) Work(ctx context.Context, job *river.Job[countArgs]) error {
	time.Sleep(w.slow)
	w.log.add(w.name, job.Args.N, job.Attempt)
	if job.Args.Fail && job.Attempt == 1 {
		return errors.New("first attempt fails")
	}
	return nil
}

// runLog records every run: which client ran which N, at which attempt.
type runLog struct {
	mu       sync.Mutex
	runs     map[int][]int // N → attempts seen
	byClient map[string]int
	done     chan struct{}
	want     int // successful runs before done is closed
	ok       int
}

func newRunLog(want int) *runLog {
	return &runLog{runs: map[int][]int{}, byClient: map[string]int{}, done: make(chan struct{}), want: want}
}

func (l *runLog) add(client string, n, attempt int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.runs[n] = append(l.runs[n], attempt)
	l.byClient[client]++
	l.ok++
	if l.ok == l.want {
		close(l.done)
	}
}

func (l *runLog) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(d):
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Fatalf("after %s: %d runs of %d wanted", d, l.ok, l.want)
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st := storetest.Open(t)
	if err := jobs.Migrate(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return st
}

// start builds and runs a client with one countWorker, stopped when the
// test ends.
func start(t *testing.T, st *store.Store, w *countWorker) *jobs.Client {
	t.Helper()
	reg := jobs.NewRegistry()
	jobs.Register(reg, w)
	c, err := jobs.New(context.Background(), st, reg, jobs.Options{PollInterval: 50 * time.Millisecond, ID: w.name})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- c.Run(ctx, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("run: %v", err)
		}
		c.Close()
	})
	return c
}

func TestInsertedJobRuns(t *testing.T) {
	st := openStore(t)
	log := newRunLog(1)
	c := start(t, st, &countWorker{name: "a", log: log})
	if _, err := c.Insert(context.Background(), countArgs{N: 7}, nil); err != nil {
		t.Fatal(err)
	}
	log.wait(t, 20*time.Second)
	if got := log.runs[7]; len(got) != 1 || got[0] != 1 {
		t.Fatalf("job 7 ran at attempts %v, want [1]", got)
	}
}

func TestFailedJobIsRetried(t *testing.T) {
	st := openStore(t)
	log := newRunLog(2) // the failed first attempt, then the retry
	c := start(t, st, &countWorker{name: "a", log: log})
	if _, err := c.Insert(context.Background(), countArgs{N: 1, Fail: true}, nil); err != nil {
		t.Fatal(err)
	}
	log.wait(t, 30*time.Second)
	if got := log.runs[1]; len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("job ran at attempts %v, want [1 2]", got)
	}
}

// TestTwoClientsShareTheWork is two servers on one database: every job runs
// once, and both clients run some. On SQLite the two clients share the
// store (one process holds a SQLite database); on PostgreSQL the second has
// a store and a pool of its own, as a second `ticks serve` would.
func TestTwoClientsShareTheWork(t *testing.T) {
	st := openStore(t)
	other := st
	if st.Dialect() == store.Postgres {
		var err error
		if other, err = store.Open(context.Background(), st.DSN()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
	}
	const n = 200
	log := newRunLog(n)
	c := start(t, st, &countWorker{name: "a", log: log, slow: 5 * time.Millisecond})
	start(t, other, &countWorker{name: "b", log: log, slow: 5 * time.Millisecond})
	for i := range n {
		if _, err := c.Insert(context.Background(), countArgs{N: i}, nil); err != nil {
			t.Fatal(err)
		}
	}
	log.wait(t, 60*time.Second)
	time.Sleep(300 * time.Millisecond) // a second run of any job would show now
	log.mu.Lock()
	defer log.mu.Unlock()
	for i := range n {
		if got := log.runs[i]; len(got) != 1 {
			t.Errorf("job %d ran %d times", i, len(got))
		}
	}
	if log.byClient["a"] == 0 || log.byClient["b"] == 0 {
		t.Errorf("runs by client: %v, want both", log.byClient)
	}
}

func TestPeriodicJobRunsOnStart(t *testing.T) {
	st := openStore(t)
	log := newRunLog(1)
	reg := jobs.NewRegistry()
	jobs.Register(reg, &countWorker{name: "a", log: log})
	reg.Periodic(time.Hour, func() river.JobArgs { return countArgs{N: 3} })
	c, err := jobs.New(context.Background(), st, reg, jobs.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 5*time.Second) }()
	log.wait(t, 30*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
