package campaigns_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/campaigns"
	"github.com/ticksapp/ticks/internal/cloudapi"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/ingest"
	"github.com/ticksapp/ticks/internal/jobs"
	"github.com/ticksapp/ticks/internal/live"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

func TestMain(m *testing.M) {
	secret.PasswordParams.Time, secret.PasswordParams.MemoryKiB = 1, 64
	os.Exit(m.Run())
}

const appSecret = "campaigns-test-secret"

var simPhone = simulator.Phone{PhoneNumberID: "106540352242922", DisplayPhone: "15550783881", WABAID: "102290129340398", AccessToken: "sim-token"}

// env is a store, the simulator behind real HTTP posting its webhooks to
// real ingestion, the send pipeline, and the campaigns service with its
// jobs: everything but Meta is real.
type env struct {
	t   *testing.T
	st  *store.Store
	sim *simulator.Server
	svc *campaigns.Service
	ch  *domain.Channel
	sa  int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := storetest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	if err := jobs.Migrate(ctx, st); err != nil {
		t.Fatal(err)
	}
	m := ingest.NewMetrics(prometheus.NewRegistry())
	inbox := ingest.NewInbox(st, m)
	proc := ingest.NewProcessor(st, m, inbox.Stored())
	proc.Poll = 20 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/whatsapp", (&ingest.Handler{Inbox: inbox, AppSecret: []byte(appSecret), MaxBytes: 1 << 20}).Receive)
	hooks := httptest.NewServer(mux)
	sim := simulator.NewServer(simulator.Config{Seed: 5, WebhookURL: hooks.URL + "/webhooks/whatsapp", AppSecret: []byte(appSecret),
		Phones: []simulator.Phone{simPhone}, Delays: simulator.Delays{TimeScale: 0.01}, Throughput: 100000,
		Templates: append(simulator.DefaultTemplates(), linkTemplates...)})
	api := httptest.NewServer(sim.Handler())
	client := cloudapi.New(api.URL + "/v23.0")
	client.Backoff = func(int) time.Duration { return time.Millisecond }
	box, _ := secret.NewBox("campaigns-test-secret-key-0123456789")
	sa := &domain.Subaccount{Name: "Loja"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	sealed, _ := box.Seal(simPhone.AccessToken)
	ch := &domain.Channel{SubaccountID: sa.ID, Name: "Loja", WABAID: simPhone.WABAID, PhoneNumberID: simPhone.PhoneNumberID,
		DisplayPhone: simPhone.DisplayPhone, AccessTokenEnc: sealed, Tier: "TIER_UNLIMITED"}
	if err := st.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	list, err := client.Templates(ctx, simPhone.WABAID, simPhone.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertTemplates(ctx, sa.ID, list); err != nil {
		t.Fatal(err)
	}
	svc := &campaigns.Service{Store: st, Pipeline: send.New(st, client, box), Live: live.New()}
	reg := jobs.NewRegistry()
	svc.Register(reg)
	jc, err := jobs.New(ctx, st, reg, jobs.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc.Jobs = jc
	done := make(chan struct{}, 4)
	go func() { inbox.Run(ctx); done <- struct{}{} }()
	go func() { proc.Run(ctx); done <- struct{}{} }()
	go func() { sim.Run(ctx); done <- struct{}{} }()
	go func() { jc.Run(ctx, 5*time.Second); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		for range 4 {
			<-done
		}
		jc.Close()
		api.Close()
		hooks.Close()
		sim.Close()
	})
	return &env{t: t, st: st, sim: sim, svc: svc, ch: ch, sa: sa.ID}
}

// audience is a CSV of n valid rows for promocao_outono (two variables).
func audience(n int) string {
	var b strings.Builder
	b.WriteString("phone,name,var1,var2\n")
	for i := range n {
		fmt.Fprintf(&b, "+55119%08d,Cliente %d,Cliente %d,CUPOM%d\n", 70000000+i, i, i, i)
	}
	return b.String()
}

func (e *env) create(csv string, at *time.Time) *campaigns.Created {
	e.t.Helper()
	c, err := e.svc.Create(context.Background(), access.System(), campaigns.CreateInput{Name: "Outono", ChannelID: e.ch.ID,
		Template: "promocao_outono", Language: "pt_BR", ScheduledAt: at, Audience: strings.NewReader(csv)})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// checkProgress fails the test if campaign id's page, read mid-run, shows
// more messages sent than rows processed, or a pending count that does not
// add up.
func (e *env) checkProgress(id int64) {
	e.t.Helper()
	d, err := e.svc.Detail(context.Background(), access.System(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	k := d.Counters
	if k.Sent > int64(k.Processed) || k.Processed > k.Audience ||
		(d.Status != domain.CampaignCanceled && k.Pending != int64(k.Audience-k.Processed)) {
		e.t.Fatalf("campaign %d (%s): processed %d of %d, sent %d, pending %d", id, d.Status, k.Processed, k.Audience, k.Sent, k.Pending)
	}
}

// waitStatus waits for campaign id to reach status.
func (e *env) waitStatus(id int64, status domain.CampaignStatus, within time.Duration) *domain.Campaign {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := e.st.Campaign(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if c.Status == status {
			return c
		}
		e.checkProgress(id)
		if time.Now().After(deadline) {
			e.t.Fatalf("campaign %d is %s after %s (%d of %d processed), want %s", id, c.Status, within, c.Processed, c.Audience, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settle waits until the simulator has posted every webhook it scheduled
// (each answered only once stored in the inbox) and the processor has
// applied every stored one. The campaign's sends must be over: each
// schedules its webhooks before it is answered.
func (e *env) settle() {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// In this order: a webhook the simulator no longer counts as
		// pending is in the inbox, so the inbox's last id includes it.
		sim := e.sim.Stats()
		in, err := e.st.InboxStats(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if sim.Pending == 0 && in.Pending() == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("not settled after 30s: the simulator %+v, the inbox %+v", sim, in)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDispatchEnded waits until no dispatch holds campaign id: the one
// that ran has seen it paused or canceled, waited for its sends in flight
// and let its lease go. Taking the lease is the test: it is free once let
// go, and taken until now only, it leaves the next dispatch free to take it.
func (e *env) waitDispatchEnded(id int64) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		now := time.Now()
		free, err := e.st.LeaseCampaign(context.Background(), id, "test", now, now)
		if err != nil {
			e.t.Fatal(err)
		}
		if free {
			return
		}
		if now.After(deadline) {
			e.t.Fatalf("campaign %d: its dispatch still runs after 20s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCounters waits until ok accepts the campaign's counters and returns them.
func (e *env) waitCounters(id int64, ok func(campaigns.Counters) bool) campaigns.Counters {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := e.svc.Detail(context.Background(), access.System(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if ok(d.Counters) {
			return d.Counters
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("counters stayed %+v", d.Counters)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCampaignSendsEveryRowOnce(t *testing.T) {
	e := newEnv(t)
	created := e.create(audience(300)+"+5511,Bad,x,y\n", nil)
	if a := created.Audience; a.Rows != 301 || a.Valid != 300 || a.Invalid != 1 || len(a.Errors) != 1 || a.Errors[0].Line != 302 {
		t.Fatalf("import report %+v", a)
	}
	if created.Campaign.Status != domain.CampaignDraft {
		t.Fatalf("status %s, want draft", created.Campaign.Status)
	}
	if _, err := e.svc.Resume(context.Background(), access.System(), created.Campaign.ID); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("resume of a draft: %v, want conflict", err)
	}
	if _, err := e.svc.Start(context.Background(), access.System(), created.Campaign.ID); err != nil {
		t.Fatal(err)
	}
	c := e.waitStatus(created.Campaign.ID, domain.CampaignCompleted, 30*time.Second)
	if c.Processed != 300 || c.StartedAt == nil || c.FinishedAt == nil {
		t.Fatalf("completed campaign %+v", c)
	}
	if got := e.sim.Stats().Accepted; got != 300 {
		t.Fatalf("the simulator accepted %d sends, want 300", got)
	}
	// Once every webhook is posted and applied, the counters are final.
	e.settle()
	k := e.waitCounters(c.ID, func(campaigns.Counters) bool { return true })
	if k.Delivered == 0 {
		t.Fatalf("counters %+v: nothing delivered", k)
	}
	if k.Audience != 300 || k.Processed != 300 || k.Sent != 300 || k.Pending != 0 {
		t.Fatalf("counters %+v", k)
	}
	// The counters are the detailed report's.
	page, err := e.st.ReportMessages(context.Background(), &domain.MessageFilter{Campaign: c.ID, Direction: domain.DirectionMT,
		From: c.CreatedAt.Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 300 {
		t.Fatalf("the report has %d messages of the campaign, want 300", page.Total)
	}
	var delivered, read int64
	phones := map[string]bool{}
	for _, m := range page.Rows {
		phones[m.Phone] = true
		if m.Status == domain.StatusDelivered || m.Status == domain.StatusRead {
			delivered++
		}
		if m.Status == domain.StatusRead {
			read++
		}
	}
	if len(phones) != 300 {
		t.Fatalf("%d distinct phones in 300 messages", len(phones))
	}
	k = e.waitCounters(c.ID, func(campaigns.Counters) bool { return true })
	if k.Delivered != delivered || k.Read != read {
		t.Fatalf("counters delivered %d read %d; the report %d and %d", k.Delivered, k.Read, delivered, read)
	}
	// The failures by reason and the answers by button, kept by triggers,
	// are the messages' own.
	d, err := e.svc.Detail(context.Background(), access.System(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	failures := map[store.CampaignFailure]int64{}
	for _, m := range page.Rows {
		if m.State == domain.StateFailed {
			failures[store.CampaignFailure{Status: m.Status, ErrorCode: m.ErrorCode, ErrorTitle: m.ErrorTitle}]++
		}
	}
	got := map[store.CampaignFailure]int64{}
	for _, f := range d.Failures {
		got[store.CampaignFailure{Status: f.Status, ErrorCode: f.ErrorCode, ErrorTitle: f.ErrorTitle}] = f.Count
	}
	if len(failures) == 0 || !maps.Equal(got, failures) {
		t.Errorf("failures by reason %v; the messages say %v", got, failures)
	}
	mo, err := e.st.ReportMessages(context.Background(), &domain.MessageFilter{Campaign: c.ID, Direction: domain.DirectionMO,
		ContentType: "button", From: c.CreatedAt.Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	buttons := map[string]int64{}
	for _, m := range mo.Rows {
		buttons[m.ButtonPayload+"|"+m.Text]++
	}
	gotButtons := map[string]int64{}
	for _, b := range d.Buttons {
		gotButtons[b.Payload+"|"+b.Text] = b.Count
	}
	if len(buttons) == 0 || !maps.Equal(gotButtons, buttons) {
		t.Errorf("answers by button %v; the messages say %v", gotButtons, buttons)
	}
}

// TestDispatchCutOffResumesWithoutDoubles cuts a dispatch off in the middle
// again and again (as a kill would, between a send and the record of its
// progress), then lets it finish: the simulator received every row once.
func TestDispatchCutOffResumesWithoutDoubles(t *testing.T) {
	e := newEnv(t)
	e.svc.Jobs = nil // no River here: the test runs the dispatch itself
	created := e.create(audience(200), nil)
	id := created.Campaign.ID
	if _, err := e.st.ChangeCampaign(context.Background(), id, store.CampaignChange{
		From: []domain.CampaignStatus{domain.CampaignDraft}, To: domain.CampaignRunning}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(20+i*7)*time.Millisecond)
		done, _ := e.svc.DispatchFor(ctx, id, time.Minute)
		cancel()
		// A cut-off dispatch leaves its lease to expire: take it over as a
		// later one would.
		e.st.LeaseCampaign(context.Background(), id, "x", time.Now(), time.Now().Add(-time.Second))
		if done {
			break
		}
		if i > 500 {
			t.Fatal("the dispatch never finished")
		}
	}
	c := e.waitStatus(id, domain.CampaignCompleted, time.Second)
	if c.Processed != 200 {
		t.Fatalf("processed %d", c.Processed)
	}
	st := e.sim.Stats()
	if st.Accepted != 200 {
		t.Fatalf("the simulator accepted %d sends for 200 rows (rejected %d)", st.Accepted, st.Rejected)
	}
}

func TestPauseResumeCancel(t *testing.T) {
	e := newEnv(t)
	e.svc.Parallel = 1
	created := e.create(audience(3000), nil)
	id := created.Campaign.ID
	p := access.System()
	if _, err := e.svc.Start(context.Background(), p, id); err != nil {
		t.Fatal(err)
	}
	for {
		c, _ := e.st.Campaign(context.Background(), id)
		if c.Processed > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := e.svc.Pause(context.Background(), p, id); err != nil {
		t.Fatal(err)
	}
	e.waitDispatchEnded(id) // the dispatch sees the pause at its next look (batchFor), once its sends in flight end
	before := e.sim.Stats().Accepted
	time.Sleep(500 * time.Millisecond)
	if after := e.sim.Stats().Accepted; after != before || before >= 3000 {
		t.Fatalf("sends went on after the pause: %d then %d", before, after)
	}
	if _, err := e.svc.Pause(context.Background(), p, id); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("pause of a paused campaign: %v, want conflict", err)
	}
	if _, err := e.svc.Resume(context.Background(), p, id); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.sim.Stats().Accepted == before {
		if time.Now().After(deadline) {
			t.Fatal("resume sent nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c, err := e.svc.Cancel(context.Background(), p, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != domain.CampaignCanceled || c.FinishedAt == nil {
		t.Fatalf("canceled campaign %+v", c)
	}
	e.waitDispatchEnded(id)
	sent := e.sim.Stats().Accepted
	time.Sleep(300 * time.Millisecond)
	if e.sim.Stats().Accepted != sent || sent >= 3000 {
		t.Fatalf("sends after cancel: %d", sent)
	}
	d, err := e.svc.Detail(context.Background(), p, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Counters.Canceled != 3000-d.Processed || d.Counters.Canceled <= 0 {
		t.Fatalf("canceled %d of 3000, processed %d", d.Counters.Canceled, d.Processed)
	}
}

func TestScheduledCampaignStartsAtItsTime(t *testing.T) {
	e := newEnv(t)
	at := time.Now().Add(1500 * time.Millisecond)
	created := e.create(audience(5), &at)
	if created.Campaign.Status != domain.CampaignScheduled {
		t.Fatalf("status %s", created.Campaign.Status)
	}
	time.Sleep(500 * time.Millisecond)
	if n := e.sim.Stats().Accepted; n != 0 {
		t.Fatalf("%d sent before the time", n)
	}
	c := e.waitStatus(created.Campaign.ID, domain.CampaignCompleted, 20*time.Second)
	if c.StartedAt.Before(at.Truncate(time.Millisecond)) {
		t.Fatalf("started %s, before its time %s", c.StartedAt, at)
	}
}

func TestCreateRefusals(t *testing.T) {
	e := newEnv(t)
	p := access.System()
	past := time.Now().Add(-time.Minute)
	for _, tc := range []struct {
		name string
		in   campaigns.CreateInput
		code string
	}{
		{"no valid row", campaigns.CreateInput{Audience: strings.NewReader("phone,var1,var2\nabc,x,y\n")}, domain.EUNPROCESSABLE},
		{"unknown channel", campaigns.CreateInput{ChannelID: 999999, Audience: strings.NewReader(audience(1))}, domain.EUNPROCESSABLE},
		{"unknown template", campaigns.CreateInput{Template: "nope", Language: "pt_BR", Audience: strings.NewReader(audience(1))}, domain.EUNPROCESSABLE},
		{"past", campaigns.CreateInput{ScheduledAt: &past, Audience: strings.NewReader(audience(1))}, domain.EUNPROCESSABLE},
		{"no name", campaigns.CreateInput{Name: " ", Audience: strings.NewReader(audience(1))}, domain.EINVALID},
	} {
		in := tc.in
		if in.Name == "" {
			in.Name = "X"
		}
		if in.ChannelID == 0 {
			in.ChannelID = e.ch.ID
		}
		if in.Template == "" {
			in.Template, in.Language = "promocao_outono", "pt_BR"
		}
		if _, err := e.svc.Create(context.Background(), p, in); domain.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	// A file whose reading fails after 2,500 good rows: on PostgreSQL the
	// first rows are already streaming into the database by then.
	gone := errors.New("the upload's temporary file is gone")
	in := campaigns.CreateInput{Name: "Meio", ChannelID: e.ch.ID, Template: "promocao_outono", Language: "pt_BR",
		Audience: io.MultiReader(strings.NewReader(audience(2500)), iotest.ErrReader(gone))}
	if _, err := e.svc.Create(context.Background(), p, in); !errors.Is(err, gone) {
		t.Errorf("a read failing half-way: %v, want %v", err, gone)
	}
	// A parser's panic half-way (a malformed workbook) is a 422, not the
	// end of the server: on PostgreSQL the file is read in a goroutine.
	in.Audience = io.MultiReader(strings.NewReader(audience(2500)), panicReader{})
	if _, err := e.svc.Create(context.Background(), p, in); domain.ErrorCode(err) != domain.EUNPROCESSABLE {
		t.Errorf("a read panicking half-way: %v, want %s", err, domain.EUNPROCESSABLE)
	}
	list, _, err := e.svc.List(context.Background(), p, campaigns.ListFilter{})
	if err != nil || len(list) != 0 {
		t.Fatalf("refused creations stored %d campaigns (%v)", len(list), err)
	}
}

// panicReader panics when read.
type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("a malformed file") }

func TestListFilters(t *testing.T) {
	e := newEnv(t)
	p := access.System()
	for _, name := range []string{"Promoção de Natal", "Black Friday", "Natal VIP"} {
		if _, err := e.svc.Create(context.Background(), p, campaigns.CreateInput{Name: name, ChannelID: e.ch.ID,
			Template: "promocao_outono", Language: "pt_BR", Audience: strings.NewReader(audience(2))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		want int
	}{{"natal", 2}, {"PROMOCAO", 1}, {"friday", 1}, {"", 3}, {"100%", 0}} {
		list, _, err := e.svc.List(context.Background(), p, campaigns.ListFilter{Name: tc.name})
		if err != nil || len(list) != tc.want {
			t.Errorf("name %q: %d campaigns (%v), want %d", tc.name, len(list), err, tc.want)
		}
	}
	first, next, err := e.svc.List(context.Background(), p, campaigns.ListFilter{Limit: 2})
	if err != nil || len(first) != 2 || next == "" || first[0].Name != "Natal VIP" {
		t.Fatalf("first page %v next %q err %v", first, next, err)
	}
	rest, next, err := e.svc.List(context.Background(), p, campaigns.ListFilter{Limit: 2, Cursor: next})
	if err != nil || len(rest) != 1 || next != "" || rest[0].Name != "Promoção de Natal" {
		t.Fatalf("second page %v next %q err %v", rest, next, err)
	}
	// Another subaccount's supervisor sees none of them.
	other := &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{e.sa + 1000}}
	if list, _, _ := e.svc.List(context.Background(), other, campaigns.ListFilter{}); len(list) != 0 {
		t.Fatalf("another tenant sees %d campaigns", len(list))
	}
	if _, err := e.svc.Detail(context.Background(), other, first[0].ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("another tenant's detail: %v", err)
	}
	if _, err := e.svc.Start(context.Background(), other, first[0].ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("another tenant's start: %v", err)
	}
}
