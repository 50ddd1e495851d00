package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/tracking"
)

// EventsIntakeOptions configure the event intake benchmark: batches of
// events posted to POST /api/v1/events by concurrent clients with a bot's
// token, against a no-op handler over the same loopback.
type EventsIntakeOptions struct {
	DatabaseURL string // "" for a fresh SQLite file
	SQLiteSync  string
	Events      int
	Batch       int
	Clients     int
	Contacts    int // distinct contacts the events name
	CPUProfile  string
	// FoldAfter holds the server's folder until every batch is answered:
	// the answers and the fold are then measured each alone.
	FoldAfter bool
}

// EventsIntakeResult is what one intake run measured.
type EventsIntakeResult struct {
	Events, Requests          int
	Ticks, NoopBefore, NoopAt time.Duration
	P50, P99                  time.Duration
	Stored                    int64 // events the report counts afterwards
	// Folded is when the last event answered was folded into the events
	// and the reports' counts (by the server's folder), from the first
	// request; FoldLag is that after the last answer.
	Folded, FoldLag time.Duration
	// CPU is the process's CPU time (user + system) from the first request
	// to the last event folded: ticks and the clients; AnswerCPU the part
	// until the last answer.
	CPU, AnswerCPU time.Duration
}

// menu is the bots' flow of the benchmarks and its actions.
var menuActions = []string{"2ª via de boleto", "Falar com atendente", "Consultar pedido", "Cancelar pedido", "Horário de atendimento",
	"Segunda via de fatura", "Trocar produto", "Rastrear entrega", "Promoções", "Atualizar cadastro"}

// eventBodies builds the batches: each event a contact of the pool, an
// action of the menu, a time in the last hour, and an idempotency key.
func eventBodies(o EventsIntakeOptions) [][]byte {
	r := rand.New(rand.NewPCG(17, 4))
	now := time.Now()
	var out [][]byte
	for start := 0; start < o.Events; start += o.Batch {
		n := min(o.Batch, o.Events-start)
		list := make([]map[string]any, n)
		for i := range list {
			list[i] = map[string]any{"category": "Escolha de Menu", "action": menuActions[r.IntN(len(menuActions))],
				"contact": fmt.Sprintf("+5511%09d", 900000000+r.IntN(o.Contacts)),
				"at":      now.Add(-time.Duration(r.IntN(3600)) * time.Second).Format(time.RFC3339),
				"extras":  map[string]any{"canal": "whatsapp", "passo": r.IntN(5)}, "idempotency_key": fmt.Sprintf("ev-%d", start+i)}
		}
		b, _ := json.Marshal(map[string]any{"events": list})
		out = append(out, b)
	}
	return out
}

// postAll posts every body from clients goroutines and returns the sorted
// latencies and the wall time.
func postAll(url, token string, bodies [][]byte, clients int) ([]time.Duration, time.Duration, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	lat := make([]time.Duration, len(bodies))
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return
				}
				req, _ := http.NewRequest("POST", url, bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"errors":[]`)) {
						err = fmt.Errorf("status %d: %.300s", resp.StatusCode, body)
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

// noopEvents reads the body and answers what ticks answers a good batch.
func noopEvents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"accepted":100,"duplicates":0,"errors":[]}`)
	})
}

func runNoopEvents(bodies [][]byte, clients int) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: noopEvents()}
	go srv.Serve(ln)
	defer srv.Close()
	_, total, err := postAll("http://"+ln.Addr().String()+"/api/v1/events", "noop", bodies, clients)
	return total, err
}

// EventsIntake runs the no-op handler, ticks on a fresh database, and the
// no-op handler again, with the same batches and clients. ticks answers a
// batch only once its events are durable in the event intake (a write(2) to
// the intake log on SQLite: durable against a crash of the process), and
// the run waits until the server's folder has folded the last one.
func EventsIntake(ctx context.Context, o EventsIntakeOptions) (*EventsIntakeResult, error) {
	bodies := eventBodies(o)
	res := &EventsIntakeResult{Events: o.Events, Requests: len(bodies)}
	var err error
	if res.NoopBefore, err = runNoopEvents(bodies, o.Clients); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ticks-bench-events-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := &config.Config{DatabaseURL: o.DatabaseURL, DataDir: dir, WAAppSecret: benchSecret, AdminToken: "bench-admin-token-0123456789",
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
	sa, err := srv.Services.Access.CreateSubaccount(ctx, access.System(), access.SubaccountInput{Name: "Bench"})
	if err != nil {
		return nil, err
	}
	bot, err := srv.Services.Tracking.CreateBot(ctx, access.System(), tracking.BotInput{Name: "Bench bot", SubaccountID: sa.ID})
	if err != nil {
		return nil, err
	}
	if err := srv.Store.Checkpoint(ctx); err != nil {
		return nil, err
	}
	syscall.Sync()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if o.FoldAfter {
		srv.EventFolder.Hold = make(chan struct{})
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx, ln) }()
	defer func() { cancel(); <-done }()
	stopProfile, err := StartCPUProfile(o.CPUProfile)
	if err != nil {
		return nil, err
	}
	t0, cpu0 := time.Now(), cpuTime()
	lat, total, err := postAll("http://"+ln.Addr().String()+"/api/v1/events", bot.Token, bodies, o.Clients)
	if err != nil {
		stopProfile()
		return nil, fmt.Errorf("ticks: %w", err)
	}
	res.Ticks, res.P50, res.P99 = total, pct(lat, 0.5), pct(lat, 0.99)
	// The answers came once the events were durable in the intake; the
	// reports count them once the server's folder has folded them.
	answered := time.Now()
	res.AnswerCPU = cpuTime() - cpu0
	if o.FoldAfter {
		close(srv.EventFolder.Hold)
	}
	for {
		n, err := srv.Store.EventsPending(ctx)
		if err != nil {
			stopProfile()
			return nil, err
		}
		if n == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	res.Folded, res.FoldLag, res.CPU = time.Since(t0), time.Since(answered), cpuTime()-cpu0
	stopProfile()
	if res.NoopAt, err = runNoopEvents(bodies, o.Clients); err != nil {
		return nil, err
	}
	rows, err := srv.Services.Tracking.EventReport(ctx, access.System(), tracking.EventQuery{Granularity: domain.GranularityMonth,
		From: time.Now().AddDate(0, 0, -2), To: time.Now().Add(time.Hour)})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		res.Stored += r.Count
	}
	return res, nil
}

// Print writes the result.
func (r *EventsIntakeResult) Print(w io.Writer, o EventsIntakeOptions, dialect string) {
	rate := func(d time.Duration) float64 { return float64(r.Events) / d.Seconds() }
	fmt.Fprintf(w, "events %d in %d batches of %d, %d clients, %d contacts, %s\n", r.Events, r.Requests, o.Batch, o.Clients, o.Contacts, dialect)
	fmt.Fprintf(w, "no-op handler before  %8.0f events/s (%v)\n", rate(r.NoopBefore), r.NoopBefore.Round(time.Millisecond))
	fmt.Fprintf(w, "ticks                 %8.0f events/s (%v), batch p50 %v p99 %v, stored and counted %d\n", rate(r.Ticks),
		r.Ticks.Round(time.Millisecond), r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond), r.Stored)
	perEvent := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(r.Events) }
	fmt.Fprintf(w, "answers' CPU          %v (%.1f µs an event, ticks and the clients)\n", r.AnswerCPU.Round(time.Millisecond), perEvent(r.AnswerCPU))
	fold := "folded"
	if o.FoldAfter {
		fold = "folded after"
	}
	fmt.Fprintf(w, "%-21s %8.0f events/s (%v), the last %v after its answer; CPU %v (%.1f µs an event), %.1f µs an event after the answers\n", fold,
		rate(r.Folded), r.Folded.Round(time.Millisecond), r.FoldLag.Round(time.Millisecond), r.CPU.Round(time.Millisecond), perEvent(r.CPU),
		perEvent(r.CPU-r.AnswerCPU))
	fmt.Fprintf(w, "no-op handler after   %8.0f events/s (%v)\n", rate(r.NoopAt), r.NoopAt.Round(time.Millisecond))
	fmt.Fprintf(w, "ticks / no-op         %8.2f (before) %.2f (after)\n", r.NoopBefore.Seconds()/r.Ticks.Seconds(), r.NoopAt.Seconds()/r.Ticks.Seconds())
}

// EventsSeedOptions describe a generated history of event tracks.
type EventsSeedOptions struct {
	Path     string // SQLite file, created
	Events   int
	Days     int
	Contacts int
	Bots     int
	Raw      bool // also write every event's row (funnels and hourly contacts read them)
	End      time.Time
	Progress io.Writer
}

// EventsSeedResult is what a seed wrote.
type EventsSeedResult struct {
	Events, HourRows, ContactRows int
	Took                          time.Duration
	Subaccount                    int64
	Bots                          []int64
}

// bitset is a set of contact ids.
type bitset []uint64

func (b bitset) add(i int) { b[i>>6] |= 1 << (i & 63) }
func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// EventsSeed writes a history of a bots' menu flow into a fresh SQLite
// database: sessions spread over the days (more by day than by night), each
// opening the menu, most choosing one of ten options a few minutes later,
// and half of the boleto choices paid within the hour. The hourly rollup and
// the distinct-contact counters are computed in the generator (bit sets of
// contacts per period and action, flushed as each period ends) and written
// as the store writes them; with Raw, every event's row too, loaded without
// indexes that are built after, and each contact's first time of each
// action.
func EventsSeed(ctx context.Context, o EventsSeedOptions) (*EventsSeedResult, error) {
	t0 := time.Now()
	loc, _ := time.LoadLocation("America/Sao_Paulo")
	st, err := store.Open(ctx, o.Path)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	acc := access.New(st)
	sa, err := acc.CreateSubaccount(ctx, access.System(), access.SubaccountInput{Name: "Bench"})
	if err != nil {
		st.Close()
		return nil, err
	}
	svc := tracking.New(st, loc)
	res := &EventsSeedResult{Subaccount: sa.ID}
	for i := range o.Bots {
		b, err := svc.CreateBot(ctx, access.System(), tracking.BotInput{Name: fmt.Sprintf("Bot %d", i+1), SubaccountID: sa.ID})
		if err != nil {
			st.Close()
			return nil, err
		}
		res.Bots = append(res.Bots, b.ID)
	}
	st.Close()
	l, err := openLoader(ctx, o.Path, false)
	if err != nil {
		return nil, err
	}
	defer l.close()
	if o.Raw {
		for _, idx := range []string{"tracking_events_key", "tracking_events_at", "tracking_events_contact"} {
			if _, err := l.db.ExecContext(ctx, `DROP INDEX `+idx); err != nil {
				return nil, err
			}
		}
	}
	actions := append([][2]string{{"Escolha de Menu", "Abriu o menu"}, {"Pagamento", "Pago"}}, nil...)
	for _, a := range menuActions {
		actions = append(actions, [2]string{"Escolha de Menu", a})
	}
	nBots := len(res.Bots) + 1 // the last is "every bot"
	newSets := func() [][]bitset {
		sets := make([][]bitset, nBots)
		for b := range sets {
			sets[b] = make([]bitset, len(actions))
		}
		return sets
	}
	words := (o.Contacts + 63) / 64
	type counter struct {
		kind   string
		period int64
		sets   [][]bitset
	}
	var counters []any
	flush := func(c *counter) {
		for b, perAction := range c.sets {
			bot := int64(store.AllBots)
			if b < len(res.Bots) {
				bot = res.Bots[b]
			}
			for a, set := range perAction {
				if set != nil {
					counters = append(counters, []any{sa.ID, c.kind, c.period, bot, actions[a][0], actions[a][1], int64(set.count())})
				}
			}
		}
	}
	mark := func(c *counter, bot, action, contact int) {
		for _, b := range []int{bot, nBots - 1} {
			if c.sets[b][action] == nil {
				c.sets[b][action] = make(bitset, words)
			}
			c.sets[b][action].add(contact)
		}
	}
	hours := map[[3]int64]int64{} // hour, bot index, action → events
	// Each contact's first time of each action (tracking_firsts), 0 for
	// none.
	firsts := make([][]int64, len(actions))
	for a := range firsts {
		firsts[a] = make([]int64, o.Contacts)
	}
	end := o.End
	if end.IsZero() {
		end = time.Now()
	}
	first := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -o.Days+1)
	r := rand.New(rand.NewPCG(2026, 17))
	perDay := o.Events / o.Days
	var week, month *counter
	var id int64
	type ev struct {
		at               int64
		bot, action, cid int
	}
	var raw []ev
	writeRaw := func() error {
		if !o.Raw || len(raw) == 0 {
			raw = raw[:0]
			return nil
		}
		err := l.bulk(ctx, "tracking_events", "id, subaccount_id, bot_id, category, action, contact_id, at, created_at", len(raw),
			func(i int, row []any) bool {
				e := raw[i]
				id++
				row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] = id, sa.ID, res.Bots[e.bot], actions[e.action][0],
					actions[e.action][1], int64(e.cid+1), e.at, e.at
				return true
			})
		raw = raw[:0]
		return err
	}
	for d := 0; d < o.Days; d++ {
		dayStart := first.AddDate(0, 0, d)
		dayNum := time.Date(dayStart.Year(), dayStart.Month(), dayStart.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
		if week == nil || week.period != store.WeekOf(dayNum) {
			if week != nil {
				flush(week)
			}
			week = &counter{kind: store.PeriodWeek, period: store.WeekOf(dayNum), sets: newSets()}
		}
		if month == nil || month.period != store.MonthOf(dayNum) {
			if month != nil {
				flush(month)
			}
			month = &counter{kind: store.PeriodMonth, period: store.MonthOf(dayNum), sets: newSets()}
		}
		day := &counter{kind: store.PeriodDay, period: dayNum, sets: newSets()}
		emit := func(at time.Time, bot, action, contact int) {
			ms := at.UnixMilli()
			hours[[3]int64{ms / 3_600_000, int64(bot), int64(action)}]++
			if f := firsts[action][contact]; f == 0 || ms < f {
				firsts[action][contact] = ms
			}
			for _, c := range []*counter{day, week, month} {
				mark(c, bot, action, contact)
			}
			raw = append(raw, ev{ms, bot, action, contact})
			res.Events++
		}
		for n := 0; n < perDay; {
			// More sessions by day than by night: a start hour drawn twice,
			// the later kept, between 06:00 and 22:00 mostly.
			sec := 6*3600 + r.IntN(16*3600)
			if r.IntN(5) == 0 {
				sec = r.IntN(22 * 3600)
			}
			at := dayStart.Add(time.Duration(sec) * time.Second)
			contact, bot := r.IntN(o.Contacts), r.IntN(len(res.Bots))
			emit(at, bot, 0, contact)
			n++
			if r.IntN(10) < 7 {
				choice := 2 + r.IntN(len(menuActions))
				at = at.Add(time.Duration(30+r.IntN(600)) * time.Second)
				emit(at, bot, choice, contact)
				n++
				if choice == 2 && r.IntN(2) == 0 {
					emit(at.Add(time.Duration(300+r.IntN(3300))*time.Second), bot, 1, contact)
					n++
				}
			}
			if len(raw) >= 200_000 {
				if err := writeRaw(); err != nil {
					return nil, err
				}
			}
		}
		flush(day)
		if err := writeRaw(); err != nil {
			return nil, err
		}
		if o.Progress != nil && (d+1)%10 == 0 {
			fmt.Fprintf(o.Progress, "day %d of %d: %d events, %v\n", d+1, o.Days, res.Events, time.Since(t0).Round(time.Second))
		}
	}
	flush(week)
	flush(month)
	hourRows := make([][]any, 0, len(hours))
	for k, n := range hours {
		hourRows = append(hourRows, []any{sa.ID, k[0], res.Bots[k[1]], actions[k[2]][0], actions[k[2]][1], n})
	}
	if err := l.bulk(ctx, "tracking_hourly", "subaccount_id, hour, bot_id, category, action, events", len(hourRows), func(i int, row []any) bool {
		copy(row, hourRows[i])
		return true
	}); err != nil {
		return nil, err
	}
	if err := l.bulk(ctx, "tracking_contacts", "subaccount_id, kind, period, bot_id, category, action, contacts", len(counters), func(i int, row []any) bool {
		copy(row, counters[i].([]any))
		return true
	}); err != nil {
		return nil, err
	}
	if o.Raw {
		type first struct {
			action, contact int
			at              int64
		}
		var rows []first
		for a, list := range firsts {
			for c, at := range list {
				if at != 0 {
					rows = append(rows, first{a, c, at})
				}
			}
		}
		if err := l.bulk(ctx, "tracking_firsts", "subaccount_id, category, action, contact_id, first_at", len(rows), func(i int, row []any) bool {
			f := rows[i]
			row[0], row[1], row[2], row[3], row[4] = sa.ID, actions[f.action][0], actions[f.action][1], int64(f.contact+1), f.at
			return true
		}); err != nil {
			return nil, err
		}
	}
	res.HourRows, res.ContactRows = len(hourRows), len(counters)
	if o.Raw {
		for _, stmt := range []string{
			`CREATE UNIQUE INDEX tracking_events_key ON tracking_events (subaccount_id, idempotency_key)`,
			`CREATE INDEX tracking_events_at ON tracking_events (subaccount_id, at, category, action, contact_id)`,
			`CREATE INDEX tracking_events_contact ON tracking_events (subaccount_id, category, action, contact_id, at)`,
		} {
			if _, err := l.db.ExecContext(ctx, stmt); err != nil {
				return nil, err
			}
		}
	}
	if _, err := l.db.ExecContext(ctx, `ANALYZE`); err != nil {
		return nil, err
	}
	res.Took = time.Since(t0)
	return res, nil
}

// EventsTiming is the median time of a query over runs.
type EventsTiming struct {
	Name    string
	Median  time.Duration
	Min     time.Duration
	Rows    int
	Detail  string
	Results []time.Duration
}

// EventsReports times the custom report and funnels over a seeded
// database, each runs times, through the tracking service as the API
// calls it.
// Only a timing whose name starts with only is run ("" runs them all).
func EventsReports(ctx context.Context, path string, end time.Time, days, runs int, raw bool, only string) ([]EventsTiming, error) {
	loc, _ := time.LoadLocation("America/Sao_Paulo")
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	svc := tracking.New(st, loc)
	svc.Now = func() time.Time { return end }
	p := access.System()
	bots, err := svc.Bots(ctx, p)
	if err != nil || len(bots) == 0 {
		return nil, fmt.Errorf("no bots in %s: %v", path, err)
	}
	sub := bots[0].SubaccountID
	from := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -days+1)
	to := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	var out []EventsTiming
	time1 := func(name string, fn func() (int, string, error)) error {
		if !strings.HasPrefix(name, only) {
			return nil
		}
		t := EventsTiming{Name: name}
		for range runs {
			t0 := time.Now()
			n, detail, err := fn()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			t.Results = append(t.Results, time.Since(t0))
			t.Rows, t.Detail = n, detail
		}
		sorted := slices.Clone(t.Results)
		slices.Sort(sorted)
		t.Median, t.Min = sorted[len(sorted)/2], sorted[0]
		out = append(out, t)
		return nil
	}
	report := func(q tracking.EventQuery) func() (int, string, error) {
		return func() (int, string, error) {
			rows, err := svc.EventReport(ctx, p, q)
			var events int64
			for _, r := range rows {
				events += r.Count
			}
			return len(rows), fmt.Sprintf("%d events", events), err
		}
	}
	base := tracking.EventQuery{Subaccount: sub, From: from, To: to}
	for _, c := range []struct {
		name string
		q    func(q tracking.EventQuery) tracking.EventQuery
	}{
		{"report, day, every action", func(q tracking.EventQuery) tracking.EventQuery { q.Granularity = "day"; return q }},
		{"report, week, every action", func(q tracking.EventQuery) tracking.EventQuery { q.Granularity = "week"; return q }},
		{"report, month, every action", func(q tracking.EventQuery) tracking.EventQuery { q.Granularity = "month"; return q }},
		{"report, day, two actions", func(q tracking.EventQuery) tracking.EventQuery {
			q.Granularity, q.Categories, q.Actions = "day", []string{"Escolha de Menu"}, []string{"2ª via de boleto", "Abriu o menu"}
			return q
		}},
		{"report, day, one bot", func(q tracking.EventQuery) tracking.EventQuery { q.Granularity, q.BotID = "day", bots[0].ID; return q }},
	} {
		if err := time1(c.name, report(c.q(base))); err != nil {
			return nil, err
		}
	}
	funnel := func(steps []tracking.FunnelStep, within string) func() (int, string, error) {
		return func() (int, string, error) {
			res, err := svc.Funnel(ctx, p, tracking.FunnelQuery{Subaccount: sub, Steps: steps, Within: within,
				From: from.Format(time.RFC3339), To: to.Format(time.RFC3339)})
			if err != nil {
				return 0, "", err
			}
			d := ""
			for _, s := range res.Steps {
				d += fmt.Sprintf("%d ", s.Contacts)
			}
			return len(res.Steps), "contacts per step: " + d, nil
		}
	}
	if raw {
		if err := time1("funnel, 3 steps, 1 h", funnel([]tracking.FunnelStep{{Category: "Escolha de Menu", Action: "Abriu o menu"},
			{Category: "Escolha de Menu", Action: "2ª via de boleto"}, {Category: "Pagamento", Action: "Pago"}}, "1h")); err != nil {
			return nil, err
		}
		week := tracking.EventQuery{Subaccount: sub, From: to.AddDate(0, 0, -7), To: to, Granularity: "hour"}
		if err := time1("report, hour, last 7 days", report(week)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
