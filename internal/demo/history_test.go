package demo

import (
	"context"
	"database/sql"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/bench"
	"github.com/ticksapp/ticks/internal/config"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

func TestMain(m *testing.M) {
	// Cheap password hashes: the demo's users are created, not defended.
	secret.PasswordParams.Time, secret.PasswordParams.MemoryKiB = 1, 64
	os.Exit(m.Run())
}

// seededDemo is a demo organization seeded through the services, on
// SQLite or (with TICKS_TEST_POSTGRES_URL) PostgreSQL, with the simulator
// answering its template sync.
func seededDemo(t *testing.T) (*server.Server, *State, string) {
	t.Helper()
	ctx := context.Background()
	sim := simulator.NewServer(simulator.Config{Seed: 11, Phones: Phones, Mix: Outcomes(), Contacts: Contacts})
	api := httptest.NewServer(sim.Handler())
	t.Cleanup(api.Close)
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.WAAPIBase, cfg.DataDir = storetest.DSN(t), api.URL+"/v23.0", t.TempDir()
	cfg.SecretKey, cfg.WAAppSecret = "demo-test-secret-key-0123456789abcdef", "demo-test-app-secret"
	srv, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	state := &State{Password: "demo-test", SimulatorID: 11}
	if err := Seed(ctx, srv.Services, state); err != nil {
		t.Fatal(err)
	}
	state.HistoryEnd = time.Now().UTC().Truncate(time.Second)
	return srv, state, server.DSN(cfg)
}

// TestHistory writes the demo's history on a freshly seeded demo and
// checks what a new user's first look shows: every one of the 90 days,
// weekdays busier than Sundays, every report status, campaigns, inbound
// messages and taps answering the campaigns, a consolidated view whose
// days agree with a direct count, sessions and conversations as ticks
// derives them, the recent days written before live traffic may start,
// and live sends that go on from the history.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	srv, state, dsn := seededDemo(t)
	h := &History{Services: srv.Services, DSN: dsn, State: state, Dir: t.TempDir(), TTL: 30 * time.Second, PerDay: 700}
	w, err := h.World(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cut := state.HistoryEnd.Add(-RecentHistory)
	recent, err := bench.PlanHistory(w, bench.HistoryOptions{From: cut})
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dsn)
	countSince := func(from time.Time) int {
		var n int
		if err := db.QueryRow(rebind(dsn, `SELECT COUNT(*) FROM messages WHERE at >= ?`), from.UnixMilli()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	readyAt := -1
	if err := h.Run(ctx, func() { readyAt = countSince(cut) }); err != nil {
		t.Fatal(err)
	}
	if readyAt != recent.Messages || recent.Messages == 0 {
		t.Errorf("live traffic was let in with %d messages of the last days written, want all %d", readyAt, recent.Messages)
	}
	if !state.HistoryDone || state.HistoryMT == 0 || state.HistoryMO == 0 {
		t.Errorf("state after the history: done %v, %d MT, %d MO", state.HistoryDone, state.HistoryMT, state.HistoryMO)
	}
	saved, err := LoadState(h.Dir)
	if err != nil || !saved.HistoryDone {
		t.Errorf("the saved state does not say the history is done (%v)", err)
	}
	called := false
	if err := h.Run(ctx, func() { called = true }); err != nil || !called {
		t.Errorf("a second run: %v, ready called %v", err, called)
	}
	// The supervisor's report manager has three files on the way (active messages, chatbots, help desk),
	// asked for once.
	if n, err := srv.Store.PendingExtractions(ctx, supervisorID(t, srv), 0); err != nil || n != 3 {
		t.Errorf("the supervisor has %d extractions on the way (%v), want 3", n, err)
	}

	// The consolidated view, by the account's days, against a direct count.
	sp := srv.Services.Reports.Location
	from, to := state.HistoryEnd.AddDate(0, 0, -HistoryDays), state.HistoryEnd
	sum, err := srv.Services.Reports.Summary(ctx, access.System(), &domain.MessageFilter{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	direct := map[string]int64{}
	rows, err := db.Query(rebind(dsn, `SELECT at FROM messages WHERE direction = 'mt' AND at >= ? AND at < ?`), from.UnixMilli(), to.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var at int64
		rows.Scan(&at)
		direct[time.UnixMilli(at).In(sp).Format(time.DateOnly)]++
	}
	rows.Close()
	var weekdays, sundays, nWeekdays, nSundays int64
	for _, d := range sum.ByDay {
		if d.Total != direct[d.Day] {
			t.Errorf("%s: the consolidated view shows %d messages, a direct count finds %d", d.Day, d.Total, direct[d.Day])
		}
		day, _ := time.ParseInLocation(time.DateOnly, d.Day, sp)
		// The period's first and last days in the account's zone can be a
		// few minutes of a night (the history ends when the demo started:
		// at 02:40 UTC, its first day is 23:40-24:00 in São Paulo).
		whole := !day.Before(from) && !day.AddDate(0, 0, 1).After(to)
		switch {
		case d.Total == 0 && whole:
			t.Errorf("%s has no message", d.Day)
		case !whole:
		case day.Weekday() == time.Sunday:
			sundays, nSundays = sundays+d.Total, nSundays+1
		case day.Weekday() != time.Saturday:
			weekdays, nWeekdays = weekdays+d.Total, nWeekdays+1
		}
	}
	if len(sum.ByDay) < HistoryDays || nSundays == 0 || weekdays/nWeekdays < 2*sundays/nSundays {
		t.Errorf("%d days; a weekday has %d messages on average, a Sunday %d: want 90 days, weekdays at least twice as busy",
			len(sum.ByDay), weekdays/max(nWeekdays, 1), sundays/max(nSundays, 1))
	}
	if int(sum.Total) != state.HistoryMT {
		t.Errorf("the report counts %d MT messages, the history says it wrote %d", sum.Total, state.HistoryMT)
	}
	for _, s := range domain.Statuses {
		if s != domain.StatusSending && s != domain.StatusSent && sum.ByStatus[s] == 0 {
			t.Errorf("no message of the history in status %s", s)
		}
	}
	if len(sum.ByCampaign) < 30 {
		t.Errorf("%d campaigns in the history, want one or so a business day", len(sum.ByCampaign))
	}
	taps, err := srv.Services.Reports.Messages(ctx, access.System(), &domain.MessageFilter{From: from, To: to,
		Direction: domain.DirectionMO, ContentType: "button", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	campaignTaps := 0
	for _, m := range taps.Rows {
		if m.ContextWAMID == "" || m.CampaignID == nil && m.SenderUserID == nil && m.BotID == nil {
			t.Errorf("tap %d answers %q, sent by campaign %v, user %v, bot %v: want the message it answers and who sent it",
				m.ID, m.ContextWAMID, m.CampaignID, m.SenderUserID, m.BotID)
		}
		if m.CampaignID != nil {
			campaignTaps++
		}
	}
	if taps.Total == 0 || campaignTaps == 0 {
		t.Errorf("%d quick-reply taps, %d of the newest 50 answering a campaign", taps.Total, campaignTaps)
	}
	drift, err := srv.Store.ConversationDrift(ctx)
	if err != nil || drift != 0 {
		t.Errorf("%d messages have a session or conversation ticks would not derive (%v)", drift, err)
	}
	checkEventTracks(t, srv, state, dsn)

	// Live traffic goes on from the history: a contact who wrote in its
	// last hours is in session, and a message to them joins or opens the
	// conversation the store derives from the history's.
	var contactID int64
	var phone string
	if err := db.QueryRow(rebind(dsn, `SELECT c.id, c.phone FROM contacts c JOIN channels ch ON ch.subaccount_id = c.subaccount_id
		WHERE ch.phone_number_id = ? AND c.last_inbound_at > ? ORDER BY c.last_inbound_at DESC LIMIT 1`),
		Phones[0].PhoneNumberID, state.HistoryEnd.Add(-20*time.Hour).UnixMilli()).Scan(&contactID, &phone); err != nil {
		t.Fatalf("no contact wrote in the history's last 20 hours: %v", err)
	}
	chans, _ := srv.Services.Channels.List(ctx, access.System())
	var centro int64
	for _, c := range chans {
		if c.PhoneNumberID == Phones[0].PhoneNumberID {
			centro = c.ID
		}
	}
	out, err := srv.Services.Send.Send(ctx, access.System(), &send.Request{ChannelID: centro, To: phone, Type: "text", Text: "Oi, ainda posso ajudar?"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Refused || !out.Message.WithSession || out.Message.ContentType != "text" {
		t.Errorf("a free-form answer to a contact who wrote lately: refused %v, session %v, type %s; want sent in session as text",
			out.Refused, out.Message.WithSession, out.Message.ContentType)
	}
	if drift, err := srv.Store.ConversationDrift(ctx); err != nil || drift != 0 {
		t.Errorf("after a live send: %d messages drift (%v)", drift, err)
	}
}

func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver, name := "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
	if strings.HasPrefix(dsn, "postgres") {
		driver, name = "pgx", dsn
	}
	db, err := sql.Open(driver, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rebind numbers ? placeholders for PostgreSQL.
func rebind(dsn, query string) string {
	if !strings.HasPrefix(dsn, "postgres") {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// supervisorID is the id of the demo's supervisor.
func supervisorID(t *testing.T, srv *server.Server) int64 {
	t.Helper()
	users, err := srv.Services.Access.Users(context.Background(), access.System())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Email == "supervisor@ticks.local" {
			return u.ID
		}
	}
	t.Fatal("no demo supervisor")
	return 0
}
