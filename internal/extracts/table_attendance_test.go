package extracts_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/store"
)

// desk adds the help desk's data to the fixture: in the shop, the team Vendas with the agent Bruno;
// the contact who replied "Quero!" at 10:02 queued in Vendas, taken by Bruno at 10:03, answered at
// 10:04 and closed with the tag "venda" at 10:10; Bruno's active message to the third contact at
// 15:00, answered at 15:10 (a ticket of his, still open). Bruno's day: invisible since the evening
// before, online at 9:00, paused for lunch at 12:00, online at 13:00, invisible at 17:00, offline at
// 18:00. In the other subaccount, Carla's team and a ticket of its own. It returns the tickets'
// ids, the shop's first.
func (fx *fixture) desk(t *testing.T) (sale, active, other int64) {
	t.Helper()
	ctx := context.Background()
	st := fx.st
	users := map[string]int64{}
	for _, u := range []*domain.User{
		{Email: "bruno@loja.example", Name: "Bruno", Role: domain.RoleAgent, Subaccounts: []int64{fx.shop}},
		{Email: "carla@outra.example", Name: "Carla", Role: domain.RoleAgent, Subaccounts: []int64{fx.other}},
	} {
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users[u.Name] = u.ID
	}
	bruno := users["Bruno"]
	for _, team := range []*domain.Team{
		{SubaccountID: fx.shop, Name: "Vendas", AbandonAfterMinutes: 60, Members: []int64{bruno}},
		{SubaccountID: fx.other, Name: "Suporte", AbandonAfterMinutes: 60, Members: []int64{users["Carla"]}},
	} {
		if err := st.CreateTeam(ctx, team); err != nil {
			t.Fatal(err)
		}
	}
	day := fx.base.Add(-10 * time.Hour) // 20 November, 0:00
	for _, c := range []struct {
		at     time.Time
		status domain.AgentStatus
		reason string
	}{
		{day.Add(-4 * time.Hour), domain.AgentInvisible, ""},
		{day.Add(9 * time.Hour), domain.AgentOnline, ""},
		{day.Add(12 * time.Hour), domain.AgentPaused, "Almoço"},
		{day.Add(13 * time.Hour), domain.AgentOnline, ""},
		{day.Add(17 * time.Hour), domain.AgentInvisible, ""},
		{day.Add(18 * time.Hour), domain.AgentOffline, ""},
	} {
		if _, err := st.SetAgentStatus(ctx, bruno, c.status, c.reason, c.at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.SetAgentStatus(ctx, users["Carla"], domain.AgentOnline, "", day.Add(8*time.Hour)); err != nil {
		t.Fatal(err)
	}

	shop, otherCh := fx.channels[0], fx.channels[1]
	inbox := int64(1000)
	reply := func(ch *domain.Channel, phone, wamid, text string, at time.Time) {
		c, err := st.UpsertContact(ctx, ch.SubaccountID, store.ContactInput{Phone: phone})
		if err != nil {
			t.Fatal(err)
		}
		inbox++
		r := domain.Recipient{WABAID: ch.WABAID, PhoneNumberID: ch.PhoneNumberID, DisplayPhone: ch.DisplayPhone}
		b := &domain.WebhookBatch{Messages: []domain.InboundMessage{{Recipient: r, WAMID: wamid, FromWAID: c.WAID, Timestamp: at, Type: "text", Text: text}}}
		if _, err := st.ApplyWebhooks(ctx, []store.InboxBatch{{InboxID: inbox, ReceivedAt: at, Batch: b}}, inbox); err != nil {
			t.Fatal(err)
		}
	}
	agentSends := func(phone, text string, at time.Time) *domain.Message {
		c, err := st.UpsertContact(ctx, shop.SubaccountID, store.ContactInput{Phone: phone})
		if err != nil {
			t.Fatal(err)
		}
		m := &domain.Message{SubaccountID: shop.SubaccountID, ChannelID: shop.ID, ContactID: c.ID, Phone: c.Phone, WAID: c.WAID,
			ContentType: "text", Text: text, At: at, State: domain.StateSending, Status: domain.StatusSending,
			SenderUserID: &bruno, Origin: "desk"}
		if err := st.InsertOutbound(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
		return m
	}
	route := func() []int64 {
		var opened []int64
		in, err := st.InboundAfter(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range in {
			id, created, err := st.RouteInbound(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			if created {
				opened = append(opened, id)
			}
		}
		return opened
	}
	reply(otherCh, "+5511987650006", "wamid.O1", "Oi", fx.base.Add(40*time.Minute))
	ids := route() // the fixture's "Quero!" at 10:02, and the other subaccount's
	if len(ids) != 2 {
		t.Fatalf("tickets opened: %v", ids)
	}
	sale, other = ids[0], ids[1]
	if err := st.TransferTicket(ctx, sale, bruno, 0, fx.user, fx.base.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	agentSends("+5511987650001", "Posso ajudar?", fx.base.Add(4*time.Minute))
	if err := st.TicketAnswered(ctx, sale, fx.base.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.CloseTicket(ctx, sale, []string{"venda"}, bruno, fx.base.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	agentSends("+5511987650003", "Podemos falar?", fx.base.Add(5*time.Hour))
	reply(shop, "+5511987650003", "wamid.R3", "Sim", fx.base.Add(5*time.Hour+10*time.Minute))
	ids = route()
	if len(ids) != 1 {
		t.Fatalf("tickets opened: %v", ids)
	}
	return sale, ids[0], other
}

// TestAttendanceTables extracts the desk's tables of 20 November in the shop and checks every cell:
// nothing of the other subaccount's ticket, team or agent.
func TestAttendanceTables(t *testing.T) {
	fx := newFixture(t)
	sale, active, _ := fx.desk(t)
	p := fx.shopUser()
	s, a := strconv.FormatInt(sale, 10), strconv.FormatInt(active, 10)
	text := reports.ContentLabel("pt-BR", "text")
	agent := func(date, status, reason, secs, clock string) []string {
		return []string{date, "Bruno", "bruno@loja.example", status, reason, secs, clock}
	}
	cases := []struct {
		typ, to string
		want    [][]string
	}{
		{"attendance_metrics", "2026-11-20", [][]string{
			{"Ticket", "Aberto em", "Canal", "Equipe", "Atendente", "Nome do contato", "Contato", "Origem", "Situação", "Atribuído em",
				"Primeira resposta em", "Encerrado em", "Espera (s)", "Primeira resposta (s)", "Atendimento (s)", "Tags"},
			{s, "20/11/2026 10:02:00", "Loja", "Vendas", "Bruno", "", "+5511987650001", "Contato", "Encerrado", "20/11/2026 10:03:00",
				"20/11/2026 10:04:00", "20/11/2026 10:10:00", "60", "120", "420", "venda"},
			{a, "20/11/2026 15:10:00", "Loja", "", "Bruno", "", "+5511987650003", "Mensagem ativa", "Em atendimento", "20/11/2026 15:10:00",
				"", "", "", "", "", ""},
		}},
		// The sale's ticket starts with the reply that opened it (the bot's welcome before is not its);
		// the active message's ticket starts with the active message.
		{"attendance_history", "2026-11-20", [][]string{
			{"Ticket", "Equipe", "Atendente", "Contato", "Data e hora", "Autor", "Tipo", "Mensagem"},
			{s, "Vendas", "Bruno", "+5511987650001", "20/11/2026 10:02:00", "Contato", text, "Quero!"},
			{s, "Vendas", "Bruno", "+5511987650001", "20/11/2026 10:04:00", "Bruno", text, "Posso ajudar?"},
			{a, "", "Bruno", "+5511987650003", "20/11/2026 15:00:00", "Bruno", text, "Podemos falar?"},
			{a, "", "Bruno", "+5511987650003", "20/11/2026 15:10:00", "Contato", text, "Sim"},
		}},
		// Two days: the 20th as the log tells it (invisible since the evening before), the 21st offline.
		{"agent_status", "2026-11-21", [][]string{
			{"Data", "Atendente", "E-mail", "Status", "Motivo da pausa", "Segundos", "Duração"},
			agent("20/11/2026", "Online", "", "25200", "7:00:00"),
			agent("20/11/2026", "Pausa", "Almoço", "3600", "1:00:00"),
			agent("20/11/2026", "Invisível", "", "36000", "10:00:00"),
			agent("20/11/2026", "Offline", "", "21600", "6:00:00"),
			agent("21/11/2026", "Offline", "", "86400", "24:00:00"),
		}},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			e := fx.extract(t, p, extracts.Input{Type: c.typ, From: "2026-11-20", To: c.to, Lang: "pt-BR"})
			rows := readCSV(t, fx, p, e.ID)
			if !slices.EqualFunc(rows, c.want, cellsMatch) {
				t.Errorf("rows:\n%q\nwant\n%q", rows, c.want)
			}
		})
	}
}

// TestAgentStatusEnglish checks the agent status table's labels and dates in English, and that a day
// still going ends now.
func TestAgentStatusEnglish(t *testing.T) {
	fx := newFixture(t)
	fx.desk(t)
	fx.now = fx.base.Add(2*time.Hour + 30*time.Minute) // 20 November, 12:30: paused since 12:00
	p := fx.shopUser()
	e := fx.extract(t, p, extracts.Input{Type: "agent_status", From: "2026-11-20", To: "2026-11-20", Lang: "en"})
	rows := readCSV(t, fx, p, e.ID)
	want := [][]string{
		{"Date", "Agent", "E-mail", "Status", "Pause reason", "Seconds", "Duration"},
		{"2026-11-20", "Bruno", "bruno@loja.example", "Online", "", "10800", "3:00:00"},
		{"2026-11-20", "Bruno", "bruno@loja.example", "Paused", "Almoço", "1800", "0:30:00"},
		{"2026-11-20", "Bruno", "bruno@loja.example", "Invisible", "", "32400", "9:00:00"},
	}
	if !slices.EqualFunc(rows, want, cellsMatch) {
		t.Errorf("rows:\n%q\nwant\n%q", rows, want)
	}
}
