// Package bench measures ticks on this machine: webhook ingestion against a
// no-op handler, run in the same process and over the same loopback.
package bench

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/whatsapp"
)

// IngestOptions configure an ingestion benchmark.
type IngestOptions struct {
	DatabaseURL string // "" for a fresh SQLite file in a temp dir
	SQLiteSync  string
	Messages    int // each gets sent, delivered and read: three events
	PerBody     int // status events per webhook body
	Clients     int // concurrent HTTP clients
	// Unknown makes the statuses about messages ticks did not send (another
	// tool on the same number, from a number no channel owns): each sent
	// status creates its message, contact and conversation. Otherwise ticks
	// sent every message before the run, through the store, as the send
	// pipeline does, and the statuses update them: the common case.
	Unknown bool
	// Statuses is how many statuses each message gets, of sent, delivered
	// and read in that order (1 to 3; 0 means 3). With Unknown and 1, every
	// event creates its message: ingestion's costliest case.
	Statuses int
	// Gather and Linger, when not zero, replace the inbox's gather time
	// and the processor's linger, to measure other settings.
	Gather, Linger time.Duration
	// CPUProfile, when set, is a file to write a CPU profile of ticks's
	// part of the run to, from its first request until all is applied;
	// the no-op handler's part goes to the same name with ".noop" added.
	CPUProfile string
	// DeskAgents, when not zero, has that many help-desk agents keep
	// their desk page's live stream open during ticks's part, five active
	// messages of each among the messages (not with Unknown), timed from
	// their read status's webhook to the agent's page.
	DeskAgents int
}

// IngestResult is what one run measured.
type IngestResult struct {
	Events        int
	Bodies        int
	Answered      time.Duration // until the last 200
	Applied       time.Duration // until every event was applied
	P50, P99, Max time.Duration
	NoopAnswered  time.Duration
	NoopP50       time.Duration
	NoopP99       time.Duration
	NoopCPU       time.Duration // CPU time (user and system) the process used in the no-op run
	// The no-op handler again after ticks's part, for a baseline on both
	// sides of it.
	NoopAfterAnswered, NoopAfterCPU time.Duration
	CPU                             time.Duration // and from ticks's first request until every event was applied
	ReportedTotal                   int64         // outbound messages the report counts afterwards
	ReportedStatus                  map[domain.Status]int64
	// From ticks's metrics: the inbox's group commits and the processor's
	// apply transactions.
	Commits, ApplyBatches int64
	CommitBodies          float64       // mean bodies per commit
	CommitTime, ApplyTime time.Duration // mean time of each
	// The desk's agents (DeskAgents): the time from a read status's
	// webhook to its agent's page showing it, sorted; statuses never
	// shown; snapshots the streams sent during the run.
	DeskLatency   []time.Duration
	DeskMissed    int
	DeskSnapshots int
}

// AnsweredRate is events answered per second.
func (r *IngestResult) AnsweredRate() float64 { return float64(r.Events) / r.Answered.Seconds() }

// AppliedRate is events applied per second, counted from the first request.
func (r *IngestResult) AppliedRate() float64 { return float64(r.Events) / r.Applied.Seconds() }

// NoopRate is the baseline: events per second answered by the no-op
// handler, the mean of its runs before and after ticks's part.
func (r *IngestResult) NoopRate() float64 {
	if r.NoopAfterAnswered == 0 {
		return r.NoopBeforeRate()
	}
	return (r.NoopBeforeRate() + r.NoopAfterRate()) / 2
}

// NoopBeforeRate and NoopAfterRate are the no-op handler's events per
// second in its run before ticks's part and in the one after.
func (r *IngestResult) NoopBeforeRate() float64 { return float64(r.Events) / r.NoopAnswered.Seconds() }
func (r *IngestResult) NoopAfterRate() float64 {
	return float64(r.Events) / r.NoopAfterAnswered.Seconds()
}

const benchSecret = "bench-app-secret"

// The business number the benchmark's webhooks are addressed to.
var benchWABA = simulator.Business{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}

// benchContacts is how many contacts the messages go to.
const benchContacts = 5000

func benchWAMID(i int) string     { return fmt.Sprintf("wamid.BENCH%010d", i) }
func benchRecipient(i int) string { return fmt.Sprintf("55119%08d", 70000000+i%benchContacts) }

// bodies builds the signed webhooks: for each message a sent, a delivered
// and a read status, spread so that consecutive bodies are about different
// messages, as concurrent traffic is.
func bodies(o IngestOptions) (payloads [][]byte, sigs []string, events int) {
	biz := benchWABA
	base := time.Now().Add(-2 * time.Hour).Unix()
	var pending []simulator.Status
	flush := func() {
		if len(pending) == 0 {
			return
		}
		b := biz.StatusWebhook(pending...)
		payloads = append(payloads, b)
		sigs = append(sigs, whatsapp.Sign([]byte(benchSecret), b))
		events += len(pending)
		pending = pending[:0]
	}
	const wave = 1000 // messages in flight at once
	for start := 0; start < o.Messages; start += wave {
		end := min(start+wave, o.Messages)
		steps := []string{"sent", "delivered", "read"}
		if o.Statuses >= 1 && o.Statuses < len(steps) {
			steps = steps[:o.Statuses]
		}
		for step, st := range steps {
			for i := start; i < end; i++ {
				pending = append(pending, simulator.Status{
					ID: benchWAMID(i), Status: st,
					Timestamp:   simulator.Unix(base + int64(i/10) + int64(step*5)),
					RecipientID: benchRecipient(i),
					Pricing:     &simulator.StatusPricing{Billable: true, PricingModel: "PMP", Type: "regular", Category: "utility"},
				})
				if len(pending) == o.PerBody {
					flush()
				}
			}
		}
	}
	flush()
	return payloads, sigs, events
}

// load posts every body from o.Clients clients and returns the latencies.
// posted, when not nil, gets the time each body was posted.
func load(url string, payloads [][]byte, sigs []string, clients int, posted []time.Time) ([]time.Duration, time.Duration, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	lat := make([]time.Duration, len(payloads))
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(payloads) {
					return
				}
				req, _ := http.NewRequest("POST", url, bytes.NewReader(payloads[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Hub-Signature-256", sigs[i])
				t0 := time.Now()
				if posted != nil {
					posted[i] = t0
				}
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	total := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, 0, err
	}
	slices.Sort(lat)
	return lat, total, nil
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// noop is the baseline: a handler that reads the body and checks its
// signature, and does nothing else.
func noop() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !whatsapp.VerifySignature([]byte(benchSecret), body, r.Header.Get("X-Hub-Signature-256")) {
			w.WriteHeader(401)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	})
}

func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/webhooks/whatsapp", func() { srv.Close() }, nil
}

// Ingest runs the benchmark: the no-op handler first, then ticks on a fresh
// database, with the same bodies and clients.
func Ingest(ctx context.Context, o IngestOptions) (*IngestResult, error) {
	payloads, sigs, events := bodies(o)
	res := &IngestResult{Events: events, Bodies: len(payloads)}

	noopProfile := ""
	if o.CPUProfile != "" {
		noopProfile = o.CPUProfile + ".noop"
	}
	lat, total, cpu, err := runNoop(payloads, sigs, o.Clients, noopProfile)
	if err != nil {
		return nil, err
	}
	res.NoopAnswered, res.NoopP50, res.NoopP99, res.NoopCPU = total, pct(lat, 0.5), pct(lat, 0.99), cpu

	dir, err := os.MkdirTemp("", "ticks-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := &config.Config{DatabaseURL: o.DatabaseURL, DataDir: dir, WAAppSecret: benchSecret,
		WebhookMaxBytes: 1 << 20, InboxRetention: 24 * time.Hour, SQLiteSync: o.SQLiteSync}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = filepath.Join(dir, "bench.db")
	}
	if cfg.Dialect() == config.DialectPostgres {
		url, drop, err := freshSchema(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, err
		}
		defer drop()
		cfg.DatabaseURL = url
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	if os.Getenv("TICKS_BENCH_NO_CONSUMPTION_ROLLUP") == "1" { // what the consumption rollup costs (issue 15)
		if err := srv.Store.DropConsumptionTriggers(ctx); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var floor *deskFloor
	if o.DeskAgents > 0 {
		if o.Unknown {
			return nil, fmt.Errorf("-desk-agents needs messages sent by ticks (not -unknown)")
		}
		floor = newDeskFloor(o.DeskAgents)
	}
	if !o.Unknown {
		if err := sentByTicks(ctx, srv.Store, o.Messages, floor); err != nil {
			return nil, fmt.Errorf("send the messages first: %w", err)
		}
	}
	// The setup's writes (migrations, the messages sent) are checkpointed
	// and flushed to disk before the clock starts: otherwise the kernel
	// writes them out while ticks is being timed, and the no-op handler,
	// timed first, never pays for it.
	if err := srv.Store.Checkpoint(ctx); err != nil {
		return nil, err
	}
	syscall.Sync()
	if o.Gather > 0 {
		srv.Inbox.Gather = o.Gather
	}
	if o.Linger > 0 {
		srv.Processor.Linger = o.Linger
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx, ln) }()
	defer func() { cancel(); <-done }()
	var posted []time.Time
	if floor != nil {
		if err := floor.connect(runCtx, "http://"+ln.Addr().String()); err != nil {
			return nil, err
		}
		floor.mu.Lock()
		floor.events = 0
		floor.mu.Unlock()
		posted = make([]time.Time, len(payloads))
	}

	stopProfile, err := StartCPUProfile(o.CPUProfile)
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	start, cpu0 := time.Now(), cpuTime()
	lat, total, err = load("http://"+ln.Addr().String()+"/webhooks/whatsapp", payloads, sigs, o.Clients, posted)
	if err != nil {
		return nil, fmt.Errorf("ticks: %w", err)
	}
	res.Answered, res.P50, res.P99, res.Max = total, pct(lat, 0.5), pct(lat, 0.99), lat[len(lat)-1]
	for {
		st, err := srv.Store.InboxStats(ctx)
		if err != nil {
			return nil, err
		}
		if st.Applied >= st.LastID && srv.Processor.Applied() >= st.LastID {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.Applied, res.CPU = time.Since(start), cpuTime()-cpu0
	stopProfile()
	if floor != nil {
		res.DeskLatency, res.DeskMissed = floor.latencies(payloads, posted, 10*time.Second)
		floor.mu.Lock()
		res.DeskSnapshots = floor.events
		floor.mu.Unlock()
	}
	if err := res.readMetrics(srv.Registry); err != nil {
		return nil, err
	}

	res.ReportedStatus = map[domain.Status]int64{}
	for _, s := range []domain.Status{domain.StatusSent, domain.StatusDelivered, domain.StatusRead} {
		page, err := srv.Store.ReportMessages(ctx, &domain.MessageFilter{From: time.Unix(0, 0), Statuses: []domain.Status{s}, Limit: 1})
		if err != nil {
			return nil, err
		}
		res.ReportedStatus[s] = page.Total
		res.ReportedTotal += page.Total
	}

	// The no-op handler once more, now that ticks is idle: the machine's
	// speed drifts within a run, and a baseline taken on both sides of
	// ticks's part is not skewed by the drift the way one taken before is.
	if _, res.NoopAfterAnswered, res.NoopAfterCPU, err = runNoop(payloads, sigs, o.Clients, ""); err != nil {
		return nil, err
	}
	return res, nil
}

// runNoop posts the bodies to the no-op handler and returns the latencies,
// the time until the last answer and the process's CPU time meanwhile.
func runNoop(payloads [][]byte, sigs []string, clients int, profile string) ([]time.Duration, time.Duration, time.Duration, error) {
	url, stop, err := serve(noop())
	if err != nil {
		return nil, 0, 0, err
	}
	defer stop()
	stopProfile, err := StartCPUProfile(profile)
	if err != nil {
		return nil, 0, 0, err
	}
	defer stopProfile()
	cpu0 := cpuTime()
	lat, total, err := load(url, payloads, sigs, clients, nil)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("no-op handler: %w", err)
	}
	return lat, total, cpuTime() - cpu0, nil
}

// sentByTicks stores the benchmark's messages as the send pipeline does
// when Meta accepts them: a channel owning the webhooks' number, the
// contacts, each message inserted (deriving its conversation) and marked
// accepted with its wamid.
func sentByTicks(ctx context.Context, st *store.Store, messages int, floor *deskFloor) error {
	sa := &domain.Subaccount{Name: "bench"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		return err
	}
	ch := &domain.Channel{SubaccountID: sa.ID, Name: "bench", WABAID: benchWABA.WABAID, PhoneNumberID: benchWABA.PhoneNumberID,
		DisplayPhone: benchWABA.DisplayPhone, Tier: "TIER_UNLIMITED", ThroughputMPS: 1000}
	if err := st.CreateChannel(ctx, ch); err != nil {
		return err
	}
	if floor != nil {
		if err := floor.addAgents(ctx, st, sa.ID); err != nil {
			return err
		}
	}
	contacts := make([]*domain.Contact, min(messages, benchContacts))
	for i := range contacts {
		c, err := st.UpsertContact(ctx, sa.ID, store.ContactInput{Phone: "+" + benchRecipient(i)})
		if err != nil {
			return err
		}
		contacts[i] = c
	}
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= messages {
					return
				}
				c := contacts[i%len(contacts)]
				m := &domain.Message{SubaccountID: sa.ID, ChannelID: ch.ID, ContactID: c.ID, Phone: c.Phone, WAID: benchRecipient(i),
					ContentType: "template", TemplateName: "pedido_enviado", TemplateCategory: "utility", State: domain.StateSending,
					Status: domain.StatusSending}
				var agent *domain.User
				if floor != nil {
					agent, _ = floor.sender(i, messages)
				}
				if agent != nil { // an agent's active message, from the desk
					m.Origin, m.SenderUserID = "desk", &agent.ID
				}
				err := st.InsertOutbound(ctx, m, "")
				if err == nil && agent != nil {
					floor.record(i, m.ID)
				}
				if err == nil {
					err = st.MarkAccepted(ctx, m.ID, benchWAMID(i), benchRecipient(i))
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return nil
}

// Print writes a result as a table.
func (r *IngestResult) Print(w io.Writer, o IngestOptions, dialect string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%s\n", dialect)
	fmt.Fprintf(tw, "events\t%d status events in %d webhooks (%d per webhook), %d clients\n", r.Events, r.Bodies, o.PerBody, o.Clients)
	if o.Unknown {
		fmt.Fprintf(tw, "messages\tnot sent by ticks: each sent status creates its message, contact and conversation\n")
	} else {
		fmt.Fprintf(tw, "messages\tsent by ticks before the run; the statuses update them\n")
	}
	fmt.Fprintf(tw, "no-op handler\t%.0f events/s answered (before %.0f, after %.0f)\tp50 %v\tp99 %v (before)\n",
		r.NoopRate(), r.NoopBeforeRate(), r.NoopAfterRate(), r.NoopP50, r.NoopP99)
	fmt.Fprintf(tw, "ticks answered\t%.0f events/s\tp50 %v\tp99 %v\tmax %v\n", r.AnsweredRate(), r.P50, r.P99, r.Max)
	fmt.Fprintf(tw, "ticks applied\t%.0f events/s\t(all applied %v after the first request)\n", r.AppliedRate(), r.Applied.Round(time.Millisecond))
	fmt.Fprintf(tw, "ratio to no-op\tanswered %.2f\tapplied %.2f\t(applied to the no-op run before only: %.2f)\n",
		r.AnsweredRate()/r.NoopRate(), r.AppliedRate()/r.NoopRate(), r.AppliedRate()/r.NoopBeforeRate())
	perEvent := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(r.Events) }
	fmt.Fprintf(tw, "CPU per event	no-op %.0f µs before, %.0f after (%.1f cores busy)	ticks %.0f µs (%.1f cores busy)\n",
		perEvent(r.NoopCPU), perEvent(r.NoopAfterCPU), r.NoopCPU.Seconds()/r.NoopAnswered.Seconds(), perEvent(r.CPU),
		r.CPU.Seconds()/r.Applied.Seconds())
	fmt.Fprintf(tw, "inbox commits\t%d, %.1f webhooks and %v each on average\n", r.Commits, r.CommitBodies, r.CommitTime.Round(time.Microsecond))
	fmt.Fprintf(tw, "apply transactions\t%d, %.0f webhooks and %v each on average\n", r.ApplyBatches, float64(r.Bodies)/float64(max(r.ApplyBatches, 1)), r.ApplyTime.Round(time.Microsecond))
	if o.DeskAgents > 0 {
		fmt.Fprintf(tw, "desk\t%d agents with their page's stream open, %d snapshots sent during the run\n", o.DeskAgents, r.DeskSnapshots)
		fmt.Fprintf(tw, "desk: read status → agent's page\t%d shown\tp50 %v\tp99 %v\tmax %v\t%d never shown\n", len(r.DeskLatency),
			pct(r.DeskLatency, 0.5).Round(time.Millisecond), pct(r.DeskLatency, 0.99).Round(time.Millisecond),
			pct(r.DeskLatency, 1).Round(time.Millisecond), r.DeskMissed)
	}
	fmt.Fprintf(tw, "report afterwards\t%d messages: read %d, delivered %d, sent %d\n", r.ReportedTotal,
		r.ReportedStatus[domain.StatusRead], r.ReportedStatus[domain.StatusDelivered], r.ReportedStatus[domain.StatusSent])
	tw.Flush()
}

// PrintMedians writes the medians of several runs: the no-op handler's
// rate varies from run to run on a shared machine more than ticks's does,
// so one run's ratio says less than the median of a few.
func PrintMedians(w io.Writer, runs []*IngestResult) {
	median := func(f func(*IngestResult) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	fmt.Fprintf(w, "median of %d runs: no-op %.0f events/s, ticks answered %.0f and applied %.0f events/s, ratio answered %.2f applied %.2f (to the no-op run before only: %.2f)\n",
		len(runs), median((*IngestResult).NoopRate), median((*IngestResult).AnsweredRate), median((*IngestResult).AppliedRate),
		median(func(r *IngestResult) float64 { return r.AnsweredRate() / r.NoopRate() }),
		median(func(r *IngestResult) float64 { return r.AppliedRate() / r.NoopRate() }),
		median(func(r *IngestResult) float64 { return r.AppliedRate() / r.NoopBeforeRate() }))
}

// freshSchema creates an empty schema on the PostgreSQL server at dsn and
// returns a URL that uses it, and a function that drops it.
func freshSchema(ctx context.Context, dsn string) (string, func(), error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := neturl.Parse(dsn)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		db.Close()
	}, nil
}

// readMetrics takes the group commits' and apply transactions' counts and
// means from ticks's metrics.
func (r *IngestResult) readMetrics(reg prometheus.Gatherer) error {
	families, err := reg.Gather()
	if err != nil {
		return err
	}
	hist := func(name string) (int64, float64) {
		for _, f := range families {
			if f.GetName() == name && len(f.GetMetric()) == 1 {
				h := f.GetMetric()[0].GetHistogram()
				if n := h.GetSampleCount(); n > 0 {
					return int64(n), h.GetSampleSum() / float64(n)
				}
			}
		}
		return 0, 0
	}
	var mean float64
	r.Commits, mean = hist("ticks_inbox_commit_seconds")
	r.CommitTime = time.Duration(mean * float64(time.Second))
	_, r.CommitBodies = hist("ticks_inbox_commit_bodies")
	r.ApplyBatches, mean = hist("ticks_ingest_apply_seconds")
	r.ApplyTime = time.Duration(mean * float64(time.Second))
	return nil
}

// StartCPUProfile starts a CPU profile to path when path is set, and
// returns what stops it; calling that more than once is harmless.
func StartCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}

// cpuTime is the CPU time, user and system, the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
