package send_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ticksapp/ticks/internal/cloudapi"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/ingest"
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

const appSecret = "pipeline-test-secret"

var phone = simulator.Phone{PhoneNumberID: "106540352242922", DisplayPhone: "15550783881", WABAID: "102290129340398", AccessToken: "sim-token"}

// env is a store, the simulator behind real HTTP, the Cloud API client
// pointed at it, the webhook endpoint the simulator posts to, and a
// pipeline: everything but Meta is real.
type env struct {
	t        *testing.T
	st       *store.Store
	sim      *simulator.Server
	pipeline *send.Pipeline
	client   *cloudapi.Client
	ch       *domain.Channel
	proc     *ingest.Processor
}

func newEnv(t *testing.T, mix simulator.Outcomes) *env { return newEnvThroughput(t, mix, 0) }

// newEnvThroughput is newEnv with the simulator accepting at most
// throughput messages/s per number (Meta's 80 when 0).
func newEnvThroughput(t *testing.T, mix simulator.Outcomes, throughput int) *env {
	t.Helper()
	st := storetest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	m := ingest.NewMetrics(prometheus.NewRegistry())
	inbox := ingest.NewInbox(st, m)
	proc := ingest.NewProcessor(st, m, inbox.Stored())
	proc.Poll = 20 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("POST /webhooks/whatsapp", (&ingest.Handler{Inbox: inbox, AppSecret: []byte(appSecret), MaxBytes: 1 << 20}).Receive)
	hooks := httptest.NewServer(mux)
	sim := simulator.NewServer(simulator.Config{Seed: 3, WebhookURL: hooks.URL + "/webhooks/whatsapp", AppSecret: []byte(appSecret),
		Phones: []simulator.Phone{phone}, Mix: mix, Delays: simulator.Delays{TimeScale: 0.01}, Throughput: throughput})
	api := httptest.NewServer(sim.Handler())
	done := make(chan struct{}, 3)
	go func() { inbox.Run(ctx); done <- struct{}{} }()
	go func() { proc.Run(ctx); done <- struct{}{} }()
	go func() { sim.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		<-done
		api.Close()
		hooks.Close()
		sim.Close()
	})
	box, _ := secret.NewBox("pipeline-test-secret-key-0123456789")
	client := cloudapi.New(api.URL + "/v23.0")
	client.Backoff = func(int) time.Duration { return time.Millisecond }
	sa := &domain.Subaccount{Name: "Loja"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	sealed, _ := box.Seal(phone.AccessToken)
	ch := &domain.Channel{SubaccountID: sa.ID, Name: "Loja", WABAID: phone.WABAID, PhoneNumberID: phone.PhoneNumberID,
		DisplayPhone: phone.DisplayPhone, AccessTokenEnc: sealed, Tier: "TIER_UNLIMITED"}
	if err := st.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	list, err := client.Templates(ctx, phone.WABAID, phone.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertTemplates(ctx, sa.ID, list); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, sim: sim, pipeline: send.New(st, client, box), client: client, ch: ch, proc: proc}
}

func (e *env) send(req *send.Request) *send.Outcome {
	e.t.Helper()
	ch, err := e.st.Channel(context.Background(), e.ch.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := e.pipeline.Send(context.Background(), ch, req)
	if err != nil {
		e.t.Fatalf("send: %v", err)
	}
	return out
}

// waitState waits for the webhooks to take a message to a final state.
func (e *env) waitState(id int64, states ...domain.State) *domain.Message {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := e.st.Message(context.Background(), id, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, s := range states {
			if m.State == s {
				return m
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("message %d stayed %s (%s), want one of %v", id, m.State, m.Status, states)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var promo = &send.TemplateRef{Name: "promocao_outono", Language: "pt_BR", Params: []string{"Maria", "OUTONO20"}}

// inbound makes the contact write, so its session is open.
func (e *env) inbound(to string) {
	e.t.Helper()
	id, err := e.sim.GenerateInbound(simulator.Inbound{From: strings.TrimPrefix(to, "+"), Type: "text", Text: "oi"})
	if err != nil {
		e.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := e.st.MessageByWAMID(context.Background(), id, nil); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatal("inbound message never applied")
}

func TestRefusalsAreStoredAndNeverReachTheProvider(t *testing.T) {
	e := newEnv(t, simulator.Outcomes{Read: 1})
	ctx := context.Background()
	optedOut, _ := e.st.UpsertContact(ctx, e.ch.SubaccountID, store.ContactInput{Phone: "+5511988887777"})
	e.st.SetOptOut(ctx, optedOut.ID, nil, true)

	cases := []struct {
		name   string
		setup  func(t *testing.T)
		req    *send.Request
		status domain.Status
		reason string
	}{
		{"invalid number", nil, &send.Request{To: "+55 11 123", Type: "text", Text: "oi"}, domain.StatusInvalidNumber, "invalid destination number"},
		// A caller's word that the number is normalised is taken only for
		// E.164's shape: anything else is parsed, and refused, as before.
		{"invalid number the caller called normalised", nil, &send.Request{To: "+55 11 123", Type: "template", Template: promo, Normalized: true}, domain.StatusInvalidNumber, "invalid destination number"},
		{"letters for a number", nil, &send.Request{To: "não é número", Type: "template", Template: promo}, domain.StatusInvalidNumber, "invalid destination number"},
		{"opted out", nil, &send.Request{To: "+5511988887777", Type: "template", Template: promo}, domain.StatusOptedOut, "contact opted out"},
		{"free-form outside a session, no fallback", nil, &send.Request{To: "+5511977776666", Type: "text", Text: "oi"}, domain.StatusInvalidSession, "session closed and no fallback template"},
		{"unknown template", nil, &send.Request{To: "+5511977776666", Type: "template", Template: &send.TemplateRef{Name: "nope", Language: "pt_BR"}}, domain.StatusInvalidContent, "template not found"},
		{"wrong parameter count", nil, &send.Request{To: "+5511977776666", Type: "template", Template: &send.TemplateRef{Name: "promocao_outono", Language: "pt_BR", Params: []string{"só um"}}}, domain.StatusInvalidContent, "wrong parameter count"},
		{"wrong language", nil, &send.Request{To: "+5511977776666", Type: "template", Template: &send.TemplateRef{Name: "promocao_outono", Language: "en_US", Params: []string{"a", "b"}}}, domain.StatusInvalidContent, "template not found"},
		{"tier limit", func(t *testing.T) {
			e.ch.Tier = "TIER_250"
			e.st.UpdateChannelSettings(ctx, e.ch)
			e.pipeline = send.New(e.st, e.client, e.pipeline.Box) // forget the counted window
			ch, _ := e.st.Channel(ctx, e.ch.ID)
			for i := 0; i < 250; i++ {
				if _, err := e.pipeline.Send(ctx, ch, &send.Request{To: fmt.Sprintf("+55119%08d", 70000000+i), Type: "template", Template: promo}); err != nil {
					t.Fatalf("filling the tier: %v", err)
				}
			}
		}, &send.Request{To: "+5511966665555", Type: "template", Template: promo}, domain.StatusTierLimit, "messaging limit reached"},
		{"warm-up", func(t *testing.T) {
			until := time.Now().Add(time.Hour)
			e.ch.Tier, e.ch.WarmupUntil = "TIER_UNLIMITED", &until
			e.st.UpdateChannelSettings(ctx, e.ch)
		}, &send.Request{To: "+5511966665555", Type: "template", Template: promo}, domain.StatusWarmupBlocked, "number in warm-up"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup(t)
			}
			before := e.sim.Stats()
			out := e.send(c.req)
			after := e.sim.Stats()
			if !out.Refused || out.Message.Status != c.status || out.Message.State != domain.StateFailed {
				t.Fatalf("got refused=%v state %s status %s, want refused %s", out.Refused, out.Message.State, out.Message.Status, c.status)
			}
			if out.Message.ErrorTitle != c.reason || out.Message.ErrorDetail == "" {
				t.Errorf("reason %q (%q), want %q with a detail", out.Message.ErrorTitle, out.Message.ErrorDetail, c.reason)
			}
			if after.Accepted != before.Accepted || after.Rejected != before.Rejected {
				t.Errorf("the provider was called: %+v → %+v", before, after)
			}
			stored, err := e.st.Message(ctx, out.Message.ID, nil)
			if err != nil || stored.Status != c.status || stored.WAMID != "" {
				t.Errorf("stored %+v (err %v)", stored, err)
			}
			page, _ := e.st.ReportMessages(ctx, &domain.MessageFilter{From: time.Now().Add(-time.Hour), Statuses: []domain.Status{c.status}, Limit: 1})
			if page.Total == 0 {
				t.Errorf("the report does not show the refused message")
			}
		})
	}
}

func TestFallbackTemplateReplacesFreeFormOutsideSession(t *testing.T) {
	e := newEnv(t, simulator.Outcomes{Read: 1})
	e.ch.FallbackTemplate, e.ch.FallbackLanguage = "hello_world", "en_US"
	e.st.UpdateChannelSettings(context.Background(), e.ch)
	before := e.sim.Stats()
	out := e.send(&send.Request{To: "+5511955554444", Type: "text", Text: "Seu pedido saiu"})
	if out.Refused {
		t.Fatalf("refused: %s %s", out.Message.Status, out.Message.ErrorDetail)
	}
	if out.Message.ContentType != "template" || out.Message.TemplateName != "hello_world" || out.Message.WAMID == "" {
		t.Errorf("sent %s %q (wamid %q), want the hello_world fallback", out.Message.ContentType, out.Message.TemplateName, out.Message.WAMID)
	}
	if !strings.HasPrefix(out.Message.Text, "Welcome and congratulations!!") {
		t.Errorf("the message shows %q, want the fallback template's text, not the free text it replaced", out.Message.Text)
	}
	if e.sim.Stats().Accepted != before.Accepted+1 {
		t.Error("the fallback did not reach the provider")
	}
	m := e.waitState(out.Message.ID, domain.StateRead)
	if m.WithSession || m.ConversationType != domain.ConversationBusinessInitiated {
		t.Errorf("fallback: session %v conversation %s, want business initiated outside a session", m.WithSession, m.ConversationType)
	}
}

func TestSendThroughSimulatorToFinalState(t *testing.T) {
	e := newEnv(t, simulator.Outcomes{Read: 1})
	e.inbound("+5511944443333")
	out := e.send(&send.Request{To: "+5511944443333", Type: "text", Text: "Olá! Como posso ajudar?", CorrelationID: "CRM-9"})
	if out.Refused || out.Message.WAMID == "" || out.Message.State != domain.StateSending {
		t.Fatalf("send: %+v", out.Message)
	}
	m := e.waitState(out.Message.ID, domain.StateRead)
	if m.Status != domain.StatusRead || m.DeliveredAt == nil || m.ReadAt == nil {
		t.Errorf("final: %s delivered %v read %v", m.Status, m.DeliveredAt, m.ReadAt)
	}
	if !m.WithSession || m.ConversationType != domain.ConversationUserInitiated || m.CorrelationID != "CRM-9" {
		t.Errorf("session %v conversation %s correlation %q", m.WithSession, m.ConversationType, m.CorrelationID)
	}
	if m.PricingModel != "PMP" || m.PricingType != "free_customer_service" {
		t.Errorf("pricing %s %s %s, want PMP free_customer_service from the webhook", m.PricingModel, m.PricingCategory, m.PricingType)
	}
}

func TestMetaFailuresFromTheSimulator(t *testing.T) {
	e := newEnv(t, simulator.Outcomes{Failed: 1, FailureCodes: []int{131026}})
	out := e.send(&send.Request{To: "+5511933332222", Type: "template", Template: promo})
	m := e.waitState(out.Message.ID, domain.StateFailed)
	if m.Status != domain.StatusUndelivered || m.ErrorCode != 131026 || m.ErrorTitle == "" {
		t.Errorf("async failure: %s %d %q", m.Status, m.ErrorCode, m.ErrorTitle)
	}
}

func TestPermanentSyncErrorIsNotRetried(t *testing.T) {
	e := newEnv(t, simulator.Outcomes{Read: 1})
	// A template ticks believes approved but Meta no longer has: 132001.
	ctx := context.Background()
	e.st.UpsertTemplates(ctx, e.ch.SubaccountID, []domain.Template{{WABAID: phone.WABAID, Name: "apagado", Language: "pt_BR",
		Category: "marketing", Status: "APPROVED", Components: []byte(`[{"type":"BODY","text":"oi"}]`)}})
	before := e.sim.Stats()
	out := e.send(&send.Request{To: "+5511922221111", Type: "template", Template: &send.TemplateRef{Name: "apagado", Language: "pt_BR"}})
	after := e.sim.Stats()
	if !out.Refused || out.Message.Status != domain.StatusInvalidContent || out.Message.ErrorCode != 132001 {
		t.Errorf("got %s %d, want invalid_content 132001", out.Message.Status, out.Message.ErrorCode)
	}
	if after.Rejected-before.Rejected != 1 {
		t.Errorf("%d requests for a permanent error, want 1", after.Rejected-before.Rejected)
	}
}

func TestTransientThroughputErrorIsRetried(t *testing.T) {
	e := newEnvThroughput(t, simulator.Outcomes{Read: 1}, 20)
	// The simulator allows 20/s per number; sending 120 at once without the
	// client's own pacing makes it answer 130429, which the client retries.
	// 120 at 20/s take 6 s: the retries span 9 s (30 × 300 ms), so every
	// message has room to go out however the race detector slows the sends.
	e.client.MaxRetries = 30
	e.client.Backoff = func(int) time.Duration { return 300 * time.Millisecond }
	e.client.SetThroughput(phone.PhoneNumberID, 1000)
	e.ch.Tier = "TIER_UNLIMITED"
	before := e.sim.Stats()
	results := make(chan *send.Outcome, 120)
	for i := 0; i < 120; i++ {
		go func(i int) {
			ch, _ := e.st.Channel(context.Background(), e.ch.ID)
			out, err := e.pipeline.Send(context.Background(), ch, &send.Request{To: fmt.Sprintf("+55119%08d", 60000000+i), Type: "template", Template: promo})
			if err != nil {
				t.Error(err)
			}
			results <- out
		}(i)
	}
	sent := 0
	for i := 0; i < 120; i++ {
		if out := <-results; out != nil && !out.Refused {
			sent++
		}
	}
	after := e.sim.Stats()
	if after.Rejected == before.Rejected {
		t.Fatal("the simulator never refused for throughput; the test proves nothing")
	}
	if sent != 120 {
		t.Errorf("only %d of 120 sent despite retries (%d throughput refusals)", sent, after.Rejected-before.Rejected)
	}
}

func TestIdempotencyKeyDoesNotSendTwice(t *testing.T) {
	e := newEnv(t, simulator.Outcomes{Read: 1})
	req := func() *send.Request {
		return &send.Request{To: "+5511911110000", Type: "template", Template: promo, IdempotencyKey: "pedido-42"}
	}
	first := e.send(req())
	before := e.sim.Stats()
	again := e.send(req())
	if !again.Replayed || again.Message.ID != first.Message.ID || e.sim.Stats().Accepted != before.Accepted {
		t.Errorf("second send with the same key: replayed %v id %d vs %d", again.Replayed, again.Message.ID, first.Message.ID)
	}
}

// TestIdempotencyKeyFoundByTheInsert: a repeated key is found by the
// message's insert, not by a look-up before the checks. A repeat of a
// refused send answers with the refusal even once the reason is gone;
// a different request with the key is refused; and repeats sent at the
// same time store one message and send it once.
func TestIdempotencyKeyFoundByTheInsert(t *testing.T) {
	e := newEnv(t, simulator.Outcomes{Read: 1})
	ctx := context.Background()
	c, _ := e.st.UpsertContact(ctx, e.ch.SubaccountID, store.ContactInput{Phone: "+5511988886666"})
	e.st.SetOptOut(ctx, c.ID, nil, true)
	refusedReq := func() *send.Request {
		return &send.Request{To: "+5511988886666", Type: "template", Template: promo, IdempotencyKey: "recusa-1"}
	}
	first := e.send(refusedReq())
	if !first.Refused || first.Message.Status != domain.StatusOptedOut {
		t.Fatalf("first send: refused %v status %s", first.Refused, first.Message.Status)
	}
	e.st.SetOptOut(ctx, c.ID, nil, false)
	again := e.send(refusedReq())
	if !again.Replayed || !again.Refused || again.Message.ID != first.Message.ID || e.sim.Stats().Accepted != 0 {
		t.Fatalf("repeat of a refusal: replayed %v refused %v id %d (first %d), %d sent",
			again.Replayed, again.Refused, again.Message.ID, first.Message.ID, e.sim.Stats().Accepted)
	}
	ch, _ := e.st.Channel(ctx, e.ch.ID)
	other := refusedReq()
	other.Template = &send.TemplateRef{Name: "promocao_outono", Language: "pt_BR", Params: []string{"Ana", "OUTRO"}}
	if _, err := e.pipeline.Send(ctx, ch, other); domain.ErrorCode(err) != domain.EUNPROCESSABLE {
		t.Fatalf("another request with the key: %v, want unprocessable", err)
	}

	ids := make(chan int64, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := e.pipeline.Send(ctx, ch, &send.Request{To: "+5511911112222", Type: "template", Template: promo,
				IdempotencyKey: "pedido-simultaneo"})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- out.Message.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || e.sim.Stats().Accepted != 1 {
		t.Fatalf("8 sends at once with one key: messages %v, %d sent", seen, e.sim.Stats().Accepted)
	}
}

// A number the caller calls normalised but written otherwise is parsed
// (and sent to its E.164 form); a template's body, remembered by its
// components, follows a change of them.
func TestNormalizedNumberAndTemplateBodyChange(t *testing.T) {
	e := newEnv(t, simulator.Outcomes{Read: 1})
	ctx := context.Background()
	out := e.send(&send.Request{To: "(11) 98765-4321", Type: "template", Template: promo, Normalized: true})
	if out.Refused || out.Message.Phone != "+5511987654321" {
		t.Fatalf("refused=%v phone %q, want sent to +5511987654321", out.Refused, out.Message.Phone)
	}
	first := out.Message.Text
	list, err := e.client.Templates(ctx, phone.WABAID, phone.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for i := range list {
		if list[i].Name == promo.Name && list[i].Language == promo.Language {
			list[i].Components = json.RawMessage(`[{"type":"BODY","text":"Oi {{1}}, use {{2}} hoje."}]`)
		}
	}
	if err := e.st.UpsertTemplates(ctx, e.ch.SubaccountID, list); err != nil {
		t.Fatal(err)
	}
	out = e.send(&send.Request{To: "+5511987654322", Type: "template", Template: promo, Normalized: true})
	if out.Refused || out.Message.Text != "Oi Maria, use OUTONO20 hoje." || out.Message.Text == first {
		t.Fatalf("after the template's change: refused=%v text %q (before %q)", out.Refused, out.Message.Text, first)
	}
}
