package desk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/channels"
	"github.com/ticksapp/ticks/internal/desk"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

func TestMain(m *testing.M) {
	secret.PasswordParams.Time, secret.PasswordParams.MemoryKiB = 1, 64
	os.Exit(m.Run())
}

// clock is the test's time, shared by the store, the pipeline and the desk.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// meta is WhatsApp as far as the pipeline sees it: it accepts every send
// with a fresh wamid. The statuses and replies come as webhooks through the
// store's real ingestion.
type meta struct {
	mu sync.Mutex
	n  int
}

func (m *meta) Send(_ context.Context, o *domain.Outbound) (*domain.SendResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	return &domain.SendResult{WAMID: fmt.Sprintf("wamid.desk.%d", m.n), WAID: strings.TrimPrefix(o.To, "+")}, nil
}

func (m *meta) Templates(context.Context, string, string) ([]domain.Template, error) { return nil, nil }

var rcpt = domain.Recipient{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}

// env is a real store with its ingestion, the send pipeline and the desk,
// on a clock the test moves.
type env struct {
	t      *testing.T
	ctx    context.Context
	st     *store.Store
	clock  *clock
	desk   *desk.Service
	router *desk.Router
	sa     *domain.Subaccount
	ch     *domain.Channel
	inbox  int64
	events *recorder
}

// recorder keeps the events the desk publishes.
type recorder struct {
	mu   sync.Mutex
	list []desk.Event
}

func (r *recorder) Publish(e desk.Event) {
	r.mu.Lock()
	r.list = append(r.list, e)
	r.mu.Unlock()
}

func (r *recorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.list {
		out = append(out, e.Kind)
	}
	return out
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := storetest.Open(t)
	ctx := context.Background()
	c := &clock{now: time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)}
	st.Now = c.Now
	e := &env{t: t, ctx: ctx, st: st, clock: c, events: &recorder{}}
	e.sa, e.ch = e.subaccount("Loja", rcpt)
	pipeline := send.New(st, &meta{}, nil)
	pipeline.Now = c.Now
	e.desk = desk.New(st, &send.Service{Pipeline: pipeline, Channels: &channels.Service{Store: st}})
	e.desk.Now = c.Now
	e.desk.Events = e.events
	e.router = desk.NewRouter(e.desk)
	return e
}

// subaccount creates a subaccount with a channel and an approved template.
func (e *env) subaccount(name string, r domain.Recipient) (*domain.Subaccount, *domain.Channel) {
	e.t.Helper()
	sa := &domain.Subaccount{Name: name}
	if err := e.st.CreateSubaccount(e.ctx, sa); err != nil {
		e.t.Fatal(err)
	}
	ch := &domain.Channel{SubaccountID: sa.ID, Name: name, WABAID: r.WABAID, PhoneNumberID: r.PhoneNumberID,
		DisplayPhone: r.DisplayPhone, Tier: "TIER_UNLIMITED"}
	if err := e.st.CreateChannel(e.ctx, ch); err != nil {
		e.t.Fatal(err)
	}
	tpl := domain.Template{WABAID: r.WABAID, Name: "retorno", Language: "pt_BR", Category: "utility", Status: "APPROVED",
		Components: json.RawMessage(`[{"type":"BODY","text":"Olá {{1}}, podemos falar?"}]`)}
	if err := e.st.UpsertTemplates(e.ctx, sa.ID, []domain.Template{tpl}); err != nil {
		e.t.Fatal(err)
	}
	return sa, ch
}

// user creates a user of role in subaccounts and returns their principal.
func (e *env) user(email string, role domain.Role, subaccounts ...int64) *access.Principal {
	e.t.Helper()
	u := &domain.User{Email: email, Name: strings.Split(email, "@")[0], Role: role, Subaccounts: subaccounts}
	if err := e.st.CreateUser(e.ctx, u); err != nil {
		e.t.Fatal(err)
	}
	return access.ForUser(u)
}

func (e *env) apply(b *domain.WebhookBatch) {
	e.t.Helper()
	e.inbox++
	items := []store.InboxBatch{{InboxID: e.inbox, ReceivedAt: e.clock.Now(), Batch: b}}
	if _, err := e.st.ApplyWebhooks(e.ctx, items, e.inbox); err != nil {
		e.t.Fatal(err)
	}
}

// status applies a status webhook for message id.
func (e *env) status(id int64, state domain.State, errs ...domain.MetaError) {
	e.t.Helper()
	m, err := e.st.Message(e.ctx, id, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.apply(&domain.WebhookBatch{Statuses: []domain.StatusEvent{{Recipient: rcpt, WAMID: m.WAMID, State: state,
		Timestamp: e.clock.Now(), RecipientWAID: strings.TrimPrefix(m.Phone, "+"), Errors: errs}}})
}

// writes makes a contact write to the channel, then lets the router run.
func (e *env) writes(r domain.Recipient, waID, text string) {
	e.t.Helper()
	e.apply(&domain.WebhookBatch{Messages: []domain.InboundMessage{{Recipient: r, WAMID: fmt.Sprintf("wamid.in.%d.%s", e.inbox, waID),
		FromWAID: waID, ProfileName: "Cliente " + waID[len(waID)-4:], Timestamp: e.clock.Now(), Type: "text", Text: text}}})
	e.step()
}

func (e *env) step() {
	e.t.Helper()
	if err := e.router.Step(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// abandon does what the periodic job AbandonArgs does.
func (e *env) abandon(want int) {
	e.t.Helper()
	n, err := e.desk.AbandonIdle(e.ctx)
	if err != nil || n != want {
		e.t.Fatalf("abandoned %d (%v), want %d", n, err, want)
	}
}

func (e *env) setStatus(p *access.Principal, s domain.AgentStatus) {
	e.t.Helper()
	if _, err := e.desk.SetStatus(e.ctx, p, s, ""); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) sendActive(p *access.Principal, to string) int64 {
	e.t.Helper()
	out, err := e.desk.SendActive(e.ctx, p, desk.ActiveInput{ChannelID: e.ch.ID, To: to, Template: "retorno", Language: "pt_BR",
		Params: []string{"Maria"}})
	if err != nil {
		e.t.Fatal(err)
	}
	if out.Refused {
		e.t.Fatalf("active message refused: %s", send.RefusalMessage(out.Message))
	}
	return out.Message.ID
}

func (e *env) tab(p *access.Principal) []desk.ActiveItem {
	e.t.Helper()
	list, err := e.desk.ActiveMessages(e.ctx, p, "pt-BR")
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *env) tickets(p *access.Principal, state string) []domain.Ticket {
	e.t.Helper()
	list, err := e.desk.Tickets(e.ctx, p, state)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *env) team(name string, members ...*access.Principal) *domain.Team {
	e.t.Helper()
	ids := make([]int64, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	tm, err := e.desk.CreateTeam(e.ctx, access.System(), desk.TeamInput{SubaccountID: e.sa.ID, Name: name, Members: ids,
		AbandonAfterMinutes: 30})
	if err != nil {
		e.t.Fatal(err)
	}
	return tm
}

// checkRollup compares the metrics read from the rollup with those read
// from every ticket: of the test's day (the day's rows), of three weeks
// around it (the weeks' rows and the days' at both ends), of a period
// that starts and ends inside days; then again after rebuilding the
// rollup from the tickets. It returns the day's metrics.
func (e *env) checkRollup() *desk.Metrics {
	e.t.Helper()
	sup := access.System()
	day := e.clock.Now().UTC().Truncate(24 * time.Hour)
	read := func(from, to time.Time, fromTickets bool) *desk.Metrics {
		m, err := e.desk.Metrics(e.ctx, sup, desk.MetricsQuery{From: from, To: to, FromTickets: fromTickets})
		if err != nil {
			e.t.Fatal(err)
		}
		return m
	}
	periods := [][2]time.Time{{day, day.Add(24 * time.Hour)}, {day.AddDate(0, 0, -10), day.AddDate(0, 0, 11)},
		{day.Add(-30 * time.Hour), day.Add(90 * time.Hour)}}
	for _, when := range []string{"kept", "rebuilt"} {
		for _, p := range periods {
			fromRollup, fromTickets := read(p[0], p[1], false), read(p[0], p[1], true)
			if !reflect.DeepEqual(fromRollup, fromTickets) {
				e.t.Errorf("%v–%v: the rollup (%s) gives\n%+v\nthe tickets\n%+v", p[0], p[1], when, fromRollup, fromTickets)
			}
		}
		if err := e.st.RebuildDeskMetrics(e.ctx); err != nil {
			e.t.Fatal(err)
		}
	}
	return read(day, day.Add(24*time.Hour), false)
}

func TestActiveMessageReplyBecomesTicketOfItsSender(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana@loja.example", domain.RoleAgent, e.sa.ID)
	bia := e.user("bia@loja.example", domain.RoleAgent, e.sa.ID)
	e.team("Vendas", ana, bia)
	e.step()

	id := e.sendActive(ana, "+5511987650001")
	want := func(status domain.DeskStatus) {
		t.Helper()
		tab := e.tab(ana)
		if len(tab) != 1 || tab[0].MessageID != id || tab[0].Status != status {
			t.Fatalf("ana's tab = %+v, want message %d %s", tab, id, status)
		}
	}
	want(domain.DeskSending)
	e.clock.advance(time.Second)
	e.status(id, domain.StateSent)
	want(domain.DeskSent)
	e.status(id, domain.StateDelivered)
	e.step()
	want(domain.DeskDelivered)
	e.status(id, domain.StateRead)
	e.step()
	want(domain.DeskRead)
	if got := e.tab(bia); len(got) != 0 {
		t.Errorf("bia's tab = %+v, want empty: only ana sent", got)
	}
	if n := strings.Count(strings.Join(e.events.kinds(), ","), "active"); n < 3 {
		t.Errorf("published %d active events (%v), want one per status seen moving", n, e.events.kinds())
	}

	e.clock.advance(10 * time.Minute)
	e.writes(rcpt, "5511987650001", "Sim, pode falar")
	if got := e.tab(ana); len(got) != 0 {
		t.Errorf("ana's tab after the reply = %+v, want empty: the item became a ticket", got)
	}
	list := e.tickets(ana, "open")
	if len(list) != 1 {
		t.Fatalf("ana's open tickets = %+v, want the one from her active message", list)
	}
	tk := list[0]
	if tk.Origin != domain.TicketFromActiveMessage || tk.AgentID == nil || *tk.AgentID != ana.UserID ||
		tk.ActiveMessageID == nil || *tk.ActiveMessageID != id || tk.TeamID != nil {
		t.Errorf("ticket = %+v, want ana's, from active message %d", tk, id)
	}
	if got := e.tickets(bia, ""); len(got) != 0 {
		t.Errorf("bia sees %+v, want nothing of ana's", got)
	}
	if _, err := e.desk.Ticket(e.ctx, bia, tk.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("bia opening ana's ticket: %v, want not found", err)
	}

	// The contact writes again: the same ticket, no new one.
	e.writes(rcpt, "5511987650001", "Estou aguardando")
	if got := e.tickets(access.System(), ""); len(got) != 1 {
		t.Errorf("tickets after a second message = %d, want 1", len(got))
	}
	v, err := e.desk.Ticket(e.ctx, ana, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Messages) != 3 || v.Messages[0].ID != id || v.Messages[2].Text != "Estou aguardando" {
		t.Errorf("conversation = %d messages, want the active message and both replies in order", len(v.Messages))
	}
	if v.WindowEndsAt == nil || !v.WindowEndsAt.Equal(e.clock.Now().Add(24*time.Hour).Truncate(time.Second)) {
		t.Errorf("window ends at %v, want 24 h after the last reply", v.WindowEndsAt)
	}

	// Ana answers in the window; her first response is recorded.
	e.clock.advance(90 * time.Second)
	out, err := e.desk.Reply(e.ctx, ana, tk.ID, desk.ReplyInput{Text: "Olá! Como posso ajudar?"})
	if err != nil || out.Refused {
		t.Fatalf("reply: %v %+v", err, out)
	}
	got, _ := e.st.Ticket(e.ctx, tk.ID)
	if got.FirstResponseAt == nil || !got.FirstResponseAt.Equal(e.clock.Now()) {
		t.Errorf("first response at %v, want %v", got.FirstResponseAt, e.clock.Now())
	}
	if got := e.tab(ana); len(got) != 0 {
		t.Errorf("a ticket reply showed on the tab: %+v", got)
	}
}

func TestContactWritingFirstWaitsInTheQueueUntilAnAgentHasRoom(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana@loja.example", domain.RoleAgent, e.sa.ID)
	bia := e.user("bia@loja.example", domain.RoleAgent, e.sa.ID)
	carla := e.user("carla@loja.example", domain.RoleAgent, e.sa.ID) // not in the team
	tm := e.team("Suporte", ana, bia)
	for _, p := range []*access.Principal{ana, bia} {
		if _, err := e.desk.SetAgentLimit(e.ctx, access.System(), p.UserID, 1); err != nil {
			t.Fatal(err)
		}
	}
	e.step()

	e.writes(rcpt, "5511900000001", "Oi, preciso de ajuda")
	q := e.tickets(ana, "waiting")
	if len(q) != 1 || q[0].TeamID == nil || *q[0].TeamID != tm.ID || q[0].Origin != domain.TicketFromInbound {
		t.Fatalf("ana's view of the queue = %+v, want the waiting ticket of her team", q)
	}
	if got := e.tickets(carla, ""); len(got) != 0 {
		t.Errorf("carla, in no team, sees %+v", got)
	}

	e.clock.advance(2 * time.Minute)
	e.setStatus(ana, domain.AgentOnline)
	e.step()
	first := e.tickets(ana, "open")
	if len(first) != 1 || first[0].AssignedAt == nil || !first[0].AssignedAt.Equal(e.clock.Now()) {
		t.Fatalf("ana's open tickets = %+v, want the queued one assigned now", first)
	}

	e.writes(rcpt, "5511900000002", "Olá")
	if got := e.tickets(access.System(), "waiting"); len(got) != 1 {
		t.Errorf("waiting = %d, want 1: ana is at her limit and bia offline", len(got))
	}
	e.setStatus(bia, domain.AgentPaused)
	e.step()
	if got := e.tickets(bia, "open"); len(got) != 0 {
		t.Errorf("a paused agent got %+v", got)
	}
	e.setStatus(bia, domain.AgentOnline)
	e.step()
	if got := e.tickets(bia, "open"); len(got) != 1 {
		t.Errorf("bia's open tickets = %+v, want the second contact", got)
	}

	e.writes(rcpt, "5511900000003", "Alô")
	if got := e.tickets(access.System(), "waiting"); len(got) != 1 {
		t.Fatalf("waiting = %d, want the third contact while both are full", len(got))
	}
	if _, err := e.desk.Close(e.ctx, ana, first[0].ID, []string{"resolvido"}); err != nil {
		t.Fatal(err)
	}
	e.step()
	open := e.tickets(ana, "open")
	if len(open) != 1 || open[0].ContactPhone != "+5511900000003" {
		t.Errorf("ana's open tickets after closing one = %+v, want the third contact", open)
	}
}

func TestActiveMessageExpiresAndLeavesTheTab48HoursAfterItsWindow(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana@loja.example", domain.RoleAgent, e.sa.ID)
	e.team("Vendas", ana)
	e.step()
	id := e.sendActive(ana, "+5511987650002")
	e.status(id, domain.StateDelivered)

	e.clock.advance(24*time.Hour - time.Minute)
	if tab := e.tab(ana); len(tab) != 1 || tab[0].Status != domain.DeskDelivered {
		t.Fatalf("tab a minute before the window ends = %+v, want delivered", tab)
	}
	e.clock.advance(time.Minute)
	tab := e.tab(ana)
	if len(tab) != 1 || tab[0].Status != domain.DeskExpired {
		t.Fatalf("tab when the window ends = %+v, want expired", tab)
	}
	if !tab[0].VisibleUntil.Equal(tab[0].WindowEndsAt.Add(48 * time.Hour)) {
		t.Errorf("visible until %v, want 48 h after %v", tab[0].VisibleUntil, tab[0].WindowEndsAt)
	}
	// A reply after the window is a new conversation: the team's queue.
	e.writes(rcpt, "5511987650002", "Oi, vi só agora")
	list := e.tickets(access.System(), "")
	if len(list) != 1 || list[0].Origin != domain.TicketFromInbound || list[0].State != domain.TicketWaiting {
		t.Errorf("tickets = %+v, want a waiting inbound ticket", list)
	}
	e.clock.advance(48*time.Hour - time.Second)
	if tab := e.tab(ana); len(tab) != 1 {
		t.Errorf("tab a second before 48 h after the window = %d items, want 1", len(tab))
	}
	e.clock.advance(2 * time.Second)
	if tab := e.tab(ana); len(tab) != 0 {
		t.Errorf("tab 48 h after the window = %+v, want empty", tab)
	}
}

func TestFailedActiveMessageSaysWhy(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana@loja.example", domain.RoleAgent, e.sa.ID)
	id := e.sendActive(ana, "+5511987650003")
	e.status(id, domain.StateFailed, domain.MetaError{Code: 131026, Title: "Message undeliverable"})
	tab := e.tab(ana)
	if len(tab) != 1 || tab[0].Status != domain.DeskFailed || tab[0].ErrorCode != 131026 ||
		!strings.Contains(tab[0].Reason, "131026") || !strings.Contains(tab[0].Reason, "undeliverable") {
		t.Errorf("tab = %+v, want failed with Meta's code and reason", tab)
	}
	// A refused message (not on the platform's list of numbers) fails at once.
	out, err := e.desk.SendActive(e.ctx, ana, desk.ActiveInput{ChannelID: e.ch.ID, To: "123", Template: "retorno",
		Language: "pt_BR", Params: []string{"x"}})
	if err != nil || !out.Refused {
		t.Fatalf("send to 123: %v %+v, want a refused message", err, out)
	}
	tab = e.tab(ana)
	if len(tab) != 2 || tab[0].Status != domain.DeskFailed || !strings.Contains(tab[0].Reason, "123") {
		t.Errorf("tab = %+v, want the refusal first, in words", tab)
	}
}

func TestTransferAndCloseWithTags(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana@loja.example", domain.RoleAgent, e.sa.ID)
	bia := e.user("bia@loja.example", domain.RoleAgent, e.sa.ID)
	sup := e.user("sup@loja.example", domain.RoleSupervisor, e.sa.ID)
	vendas := e.team("Vendas", ana)
	suporte := e.team("Suporte", bia)
	e.setStatus(ana, domain.AgentOnline)
	e.writes(rcpt, "5511900000010", "Quero comprar")
	tk := e.tickets(ana, "open")
	if len(tk) != 1 || *tk[0].TeamID != vendas.ID {
		t.Fatalf("ana's tickets = %+v", tk)
	}
	id := tk[0].ID

	if _, err := e.desk.Transfer(e.ctx, ana, id, desk.TransferInput{}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("transfer to nobody: %v, want invalid", err)
	}
	if _, err := e.desk.Transfer(e.ctx, ana, id, desk.TransferInput{TeamID: suporte.ID}); err != nil {
		t.Fatal(err)
	}
	if got := e.tickets(ana, ""); len(got) != 0 {
		t.Errorf("ana still sees %+v after transferring it", got)
	}
	if got := e.tickets(bia, "waiting"); len(got) != 1 {
		t.Fatalf("bia's team queue = %+v, want the transferred ticket", got)
	}
	if _, err := e.desk.Close(e.ctx, bia, id, nil); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("bia closing a queued ticket she has not taken: %v, want forbidden", err)
	}
	if _, err := e.desk.Transfer(e.ctx, sup, id, desk.TransferInput{AgentID: bia.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.Close(e.ctx, bia, id, []string{strings.Repeat("x", 51)}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("a tag of 51 characters: %v, want invalid", err)
	}
	closed, err := e.desk.Close(e.ctx, bia, id, []string{" venda ", "upsell", "venda"})
	if err != nil {
		t.Fatal(err)
	}
	if closed.State != domain.TicketClosed || strings.Join(closed.Tags, ",") != "venda,upsell" || closed.ClosedAt == nil {
		t.Errorf("closed ticket = %+v, want closed with tags venda, upsell", closed)
	}
	if _, err := e.desk.Close(e.ctx, bia, id, nil); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Errorf("closing twice: %v, want conflict", err)
	}
	v, err := e.desk.Ticket(e.ctx, sup, id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range v.Events {
		kinds = append(kinds, ev.Kind)
	}
	if strings.Join(kinds, ",") != "assigned,transferred,transferred,closed" {
		t.Errorf("history = %v", kinds)
	}
	m := e.checkRollup()
	if len(m.ByTeam) != 1 || m.ByTeam[0].ID != suporte.ID || len(m.ByAgent) != 1 || m.ByAgent[0].ID != bia.UserID || len(m.ByTag) != 2 {
		t.Errorf("metrics after the transfers = %+v, want the ticket in Suporte, bia's, with two tags", m)
	}
}

func TestIdleTicketsAreAbandoned(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana@loja.example", domain.RoleAgent, e.sa.ID)
	e.team("Vendas", ana) // abandons after 30 minutes
	e.step()
	e.writes(rcpt, "5511900000020", "Alguém?")
	e.clock.advance(29 * time.Minute)
	e.abandon(0)
	if got := e.tickets(access.System(), "waiting"); len(got) != 1 {
		t.Fatalf("waiting after 29 minutes = %d, want 1", len(got))
	}
	e.clock.advance(2 * time.Minute)
	e.abandon(1)
	got := e.tickets(access.System(), "")
	if len(got) != 1 || got[0].State != domain.TicketAbandoned || got[0].ClosedAt == nil {
		t.Errorf("tickets after 31 idle minutes = %+v, want abandoned", got)
	}
	// Writing again opens a new ticket.
	e.writes(rcpt, "5511900000020", "Voltei")
	if got := e.tickets(access.System(), "waiting"); len(got) != 1 {
		t.Errorf("waiting after writing again = %d, want a new ticket", len(got))
	}
	if m := e.checkRollup(); m.Total.Opened != 2 || m.Total.Abandoned != 1 {
		t.Errorf("metrics = %+v, want 2 opened, 1 abandoned", m.Total)
	}
}

func TestMetricsOfAGeneratedDay(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana@loja.example", domain.RoleAgent, e.sa.ID)
	bia := e.user("bia@loja.example", domain.RoleAgent, e.sa.ID)
	sup := e.user("sup@loja.example", domain.RoleSupervisor, e.sa.ID)
	tm := e.team("Suporte", ana, bia)
	for _, p := range []*access.Principal{ana, bia} {
		if _, err := e.desk.SetAgentLimit(e.ctx, access.System(), p.UserID, 10); err != nil {
			t.Fatal(err)
		}
	}
	e.step()
	start := e.clock.Now()
	// Four contacts write while nobody is online; ana comes online after
	// 60 s, so they waited 60, 50, 40 and 30 s.
	for i := range 4 {
		e.writes(rcpt, fmt.Sprintf("55119000001%02d", i), "Oi")
		e.clock.advance(10 * time.Second)
	}
	e.clock.advance(20 * time.Second) // start + 60 s
	e.setStatus(ana, domain.AgentOnline)
	e.step()
	open := e.tickets(ana, "open")
	if len(open) != 4 {
		t.Fatalf("ana has %d tickets, want 4", len(open))
	}
	// She answers the oldest three, 100, 200 and 300 s after it opened,
	// and closes two of them at +600 s; the fourth is never answered.
	byOpen := map[time.Time]int64{}
	for _, tk := range open {
		byOpen[tk.OpenedAt] = tk.ID
	}
	for i, after := range []time.Duration{100, 200, 300} {
		id := byOpen[start.Add(time.Duration(i)*10*time.Second).Truncate(time.Second)]
		e.clock.now = start.Add(time.Duration(i)*10*time.Second + after*time.Second)
		if _, err := e.desk.Reply(e.ctx, ana, id, desk.ReplyInput{Text: "Olá"}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.now = start.Add(600 * time.Second)
	for i := range 2 {
		if _, err := e.desk.Close(e.ctx, ana, byOpen[start.Add(time.Duration(i)*10*time.Second).Truncate(time.Second)], []string{"duvida"}); err != nil {
			t.Fatal(err)
		}
	}
	// Bia sends three active messages; one is answered.
	e.setStatus(bia, domain.AgentInvisible)
	for i := range 3 {
		e.sendActive(bia, fmt.Sprintf("+55119000002%02d", i))
	}
	e.clock.advance(time.Minute)
	e.writes(rcpt, "5511900000200", "Oi Bia")

	m, err := e.desk.Metrics(e.ctx, sup, desk.MetricsQuery{From: start.Add(-time.Hour), To: start.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	f := m.Total
	if f.Opened != 5 || f.Answered != 3 || f.Closed != 2 || f.Abandoned != 0 || f.FromActiveMessages != 1 {
		t.Errorf("totals = %+v, want 5 opened, 3 answered, 2 closed, 1 from an active message", f)
	}
	wantD := func(name string, got, want desk.Durations) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %+v, want %+v", name, got, want)
		}
	}
	wantD("waiting", f.Waiting, desk.Durations{Count: 4, Average: 45, P50: 40, P90: 60})
	wantD("first response", f.FirstResponse, desk.Durations{Count: 3, Average: 200, P50: 200, P90: 300})
	// Handling from assignment (start+60) to close (start+600): 540 s twice.
	wantD("handling", f.Handling, desk.Durations{Count: 2, Average: 540, P50: 540, P90: 540})
	if m.ActiveMessagesSent != 3 || m.ActiveAnsweredShare < 0.333 || m.ActiveAnsweredShare > 0.334 {
		t.Errorf("active messages = %d, share answered %v, want 3 and a third", m.ActiveMessagesSent, m.ActiveAnsweredShare)
	}
	if len(m.ByAgent) != 2 || m.ByAgent[0].ID != ana.UserID || m.ByAgent[0].Opened != 4 || m.ByAgent[1].FromActiveMessages != 1 {
		t.Errorf("by agent = %+v", m.ByAgent)
	}
	if len(m.ByTeam) != 2 || m.ByTeam[0].ID != tm.ID || m.ByTeam[0].Name != "Suporte" || m.ByTeam[0].Opened != 4 {
		t.Errorf("by team = %+v", m.ByTeam)
	}
	if len(m.ByTag) != 1 || m.ByTag[0].Name != "duvida" || m.ByTag[0].Closed != 2 {
		t.Errorf("by tag = %+v", m.ByTag)
	}
	one, err := e.desk.Metrics(e.ctx, sup, desk.MetricsQuery{From: start.Add(-time.Hour), To: start.Add(24 * time.Hour), Agent: bia.UserID})
	if err != nil || one.Total.Opened != 1 || one.ActiveMessagesSent != 3 {
		t.Errorf("bia's metrics = %+v %v, want her one ticket and three messages", one, err)
	}
	// The same figures from the rollup, and after a rebuild.
	if whole := e.checkRollup(); whole.Total != m.Total || whole.ActiveMessagesSent != 3 {
		t.Errorf("the whole day's totals = %+v (%d sent), want %+v", whole.Total, whole.ActiveMessagesSent, m.Total)
	}
	if _, err := e.desk.Metrics(e.ctx, ana, desk.MetricsQuery{From: start, To: start.Add(time.Hour)}); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("an agent reading the metrics: %v, want forbidden", err)
	}
	if _, err := e.desk.Metrics(e.ctx, sup, desk.MetricsQuery{From: start, To: start.Add(100 * 24 * time.Hour)}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("100 days: %v, want invalid", err)
	}
}

func TestStatusTimesAcrossMidnightAndARestart(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana@loja.example", domain.RoleAgent, e.sa.ID)
	loc := e.desk.Location
	e.clock.now = time.Date(2026, 3, 10, 23, 0, 0, 0, loc)
	e.setStatus(ana, domain.AgentOnline)
	e.clock.now = time.Date(2026, 3, 11, 0, 30, 0, 0, loc)
	if _, err := e.desk.SetStatus(e.ctx, ana, domain.AgentPaused, "almoço"); err != nil {
		t.Fatal(err)
	}
	e.clock.now = time.Date(2026, 3, 11, 1, 0, 0, 0, loc)
	e.setStatus(ana, domain.AgentOnline)

	// The server restarts: a new service on the same database.
	restarted := desk.New(e.st, nil)
	restarted.Now, restarted.Location = e.clock.Now, loc
	e.clock.now = time.Date(2026, 3, 11, 2, 15, 0, 0, loc)
	me, err := restarted.Me(e.ctx, ana)
	if err != nil {
		t.Fatal(err)
	}
	want := map[domain.AgentStatus]int64{domain.AgentOnline: 30*60 + 75*60, domain.AgentPaused: 30 * 60}
	if fmt.Sprint(me.Today) != fmt.Sprint(want) || me.Status != domain.AgentOnline {
		t.Errorf("today = %v (%s), want %v: from midnight, not from 23:00", me.Today, me.Status, want)
	}

	// The table of the cases StatusTimes must get right.
	at := func(h, m int) time.Time { return time.Date(2026, 3, 11, h, m, 0, 0, time.UTC) }
	from, to := at(0, 0), at(12, 0)
	for _, c := range []struct {
		name string
		log  []domain.StatusChange
		want string
	}{
		{"nothing", nil, "map[]"},
		{"before the period", []domain.StatusChange{{UserID: 1, Status: domain.AgentInvisible, At: at(0, 0).Add(-time.Hour)}}, "map[1:map[invisible:43200]]"},
		{"changes", []domain.StatusChange{{UserID: 1, Status: domain.AgentOnline, At: at(8, 0)}, {UserID: 1, Status: domain.AgentOffline, At: at(11, 0)}},
			"map[1:map[offline:3600 online:10800]]"},
		{"two users", []domain.StatusChange{{UserID: 1, Status: domain.AgentOnline, At: at(11, 0)}, {UserID: 2, Status: domain.AgentPaused, At: at(11, 30)}},
			"map[1:map[online:3600] 2:map[paused:1800]]"},
	} {
		if got := fmt.Sprint(desk.StatusTimes(c.log, from, to)); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestPauseReasonsComeFromTheList(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana@loja.example", domain.RoleAgent, e.sa.ID)
	sup := e.user("sup@loja.example", domain.RoleSupervisor, e.sa.ID)
	if _, err := e.desk.CreatePauseReason(e.ctx, ana, desk.PauseReasonInput{Name: "almoço"}); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("an agent adding a reason: %v, want forbidden", err)
	}
	if _, err := e.desk.CreatePauseReason(e.ctx, sup, desk.PauseReasonInput{Name: "almoço"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.SetStatus(e.ctx, ana, domain.AgentPaused, "café"); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("a reason not on the list: %v, want invalid", err)
	}
	if _, err := e.desk.SetStatus(e.ctx, ana, domain.AgentOnline, "almoço"); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("online with a reason: %v, want invalid", err)
	}
	if _, err := e.desk.SetStatus(e.ctx, ana, "away", ""); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("an unknown status: %v, want invalid", err)
	}
	a, err := e.desk.SetStatus(e.ctx, ana, domain.AgentPaused, "almoço")
	if err != nil || a.Status != domain.AgentPaused || a.Reason != "almoço" {
		t.Errorf("pause for lunch: %+v %v", a, err)
	}
	// A token of no user has no desk status.
	if _, err := e.desk.SetStatus(e.ctx, &access.Principal{Role: domain.RoleAgent, TokenID: 9, Scope: []int64{e.sa.ID}}, domain.AgentOnline, ""); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("a token of no user: %v, want invalid", err)
	}
}

func TestNobodySeesAnotherSubaccountsDesk(t *testing.T) {
	e := newEnv(t)
	other := domain.Recipient{WABAID: "999", PhoneNumberID: "999000111", DisplayPhone: "15550009999"}
	sa2, _ := e.subaccount("Outra", other)
	ana := e.user("ana@loja.example", domain.RoleAgent, e.sa.ID)
	sup2 := e.user("sup@outra.example", domain.RoleSupervisor, sa2.ID)
	zeca := e.user("zeca@outra.example", domain.RoleAgent, sa2.ID)
	e.team("Vendas", ana)
	e.setStatus(ana, domain.AgentOnline)
	e.writes(rcpt, "5511900000030", "Oi")
	tk := e.tickets(ana, "open")
	if len(tk) != 1 {
		t.Fatalf("ana's tickets = %+v", tk)
	}
	id := tk[0].ID
	if _, err := e.desk.CreateTeam(e.ctx, sup2, desk.TeamInput{SubaccountID: e.sa.ID, Name: "Intrusos"}); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("a team in another subaccount: %v, want forbidden", err)
	}
	if _, err := e.desk.CreateTeam(e.ctx, sup2, desk.TeamInput{SubaccountID: sa2.ID, Name: "Intrusos", Members: []int64{ana.UserID}}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("another subaccount's agent in a team: %v, want invalid", err)
	}
	for _, p := range []*access.Principal{sup2, zeca} {
		if got := e.tickets(p, ""); len(got) != 0 {
			t.Errorf("%d sees %+v", p.UserID, got)
		}
		if _, err := e.desk.Ticket(e.ctx, p, id); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("opening another subaccount's ticket: %v, want not found", err)
		}
		if _, err := e.desk.Reply(e.ctx, p, id, desk.ReplyInput{Text: "oi"}); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("answering another subaccount's ticket: %v, want not found", err)
		}
		if _, err := e.desk.Transfer(e.ctx, p, id, desk.TransferInput{AgentID: p.UserID}); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("transferring another subaccount's ticket: %v, want not found", err)
		}
		if _, err := e.desk.Close(e.ctx, p, id, nil); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("closing another subaccount's ticket: %v, want not found", err)
		}
	}
	agents, err := e.desk.Agents(e.ctx, sup2)
	if err != nil || len(agents) != 1 || agents[0].UserID != zeca.UserID {
		t.Errorf("sup2's agents = %+v %v, want zeca only", agents, err)
	}
	m, err := e.desk.Metrics(e.ctx, sup2, desk.MetricsQuery{From: e.clock.Now().Add(-time.Hour), To: e.clock.Now().Add(time.Hour)})
	if err != nil || m.Total.Opened != 0 {
		t.Errorf("sup2's metrics = %+v %v, want nothing", m, err)
	}
	if _, err := e.desk.Transfer(e.ctx, ana, id, desk.TransferInput{AgentID: zeca.UserID}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("transfer to another subaccount's agent: %v, want invalid", err)
	}
	if _, err := e.desk.SendActive(e.ctx, zeca, desk.ActiveInput{ChannelID: e.ch.ID, To: "+5511900000031", Template: "retorno", Language: "pt_BR"}); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("sending on another subaccount's channel: %v, want not found", err)
	}
}
