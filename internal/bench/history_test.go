package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

var testEnd = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

// TestSeedStoresWhatTicksDerives seeds a small bench data set (SQLite, or
// PostgreSQL with TICKS_TEST_POSTGRES_URL) and checks it against ticks's
// own rules: every session and conversation is what the store derives,
// the rollup is exact, and the volume is what was asked.
func TestSeedStoresWhatTicksDerives(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t)
	res, err := Seed(ctx, SeedOptions{DatabaseURL: dsn, Messages: 20_000, Days: 30, End: testEnd, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if want := 20_200; res.Messages < want*85/100 || res.Messages > want*115/100 {
		t.Errorf("seeded %d messages, want about %d", res.Messages, want)
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkHistory(t, st, res.Messages)
	if _, err := Seed(ctx, SeedOptions{DatabaseURL: dsn, Messages: 100, Days: 1, End: testEnd}); err == nil ||
		!strings.Contains(err.Error(), "already has") {
		t.Errorf("a second seed into the same database: %v, want a refusal", err)
	}

	// The check sees a session the derivation would not give.
	l, err := openLoader(ctx, dsn, true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	if _, err := l.db.ExecContext(ctx, `UPDATE messages SET with_session = NOT with_session
		WHERE id = (SELECT MIN(id) FROM messages WHERE direction = 'mt' AND wamid IS NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if drift, err := st.ConversationDrift(ctx); err != nil || drift != 1 {
		t.Errorf("after changing one session: drift %d (%v), want 1", drift, err)
	}
}

// checkHistory checks a database holding only a history of n messages:
// its sessions and conversations are the store's own derivation, its
// rollup is exact, and its failures are stored as the pipeline and the
// webhooks store them.
func checkHistory(t *testing.T, st *store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	drift, err := st.ConversationDrift(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if drift != 0 {
		t.Errorf("%d messages have a session or conversation other than the store derives", drift)
	}
	if err := st.CheckRollup(ctx); err != nil {
		t.Errorf("rollup: %v", err)
	}
	page, err := st.ReportMessages(ctx, &domain.MessageFilter{Limit: domain.MaxReportLimit,
		Statuses: []domain.Status{domain.StatusInvalidSession, domain.StatusOptedOut, domain.StatusUndelivered, domain.StatusInvalidNumber}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Rows) == 0 {
		t.Fatal("no failed message")
	}
	for _, m := range page.Rows {
		switch {
		case m.ErrorCode == 0 && (m.WAMID != "" || m.ErrorTitle == "" || m.PricingModel != ""):
			t.Errorf("message %d refused by ticks: wamid %q, title %q, pricing %q; want no wamid, a reason, no pricing",
				m.ID, m.WAMID, m.ErrorTitle, m.PricingModel)
		case m.ErrorCode != 0 && domain.StatusFromMetaError(m.ErrorCode) != m.Status:
			t.Errorf("message %d failed with %d but has status %s", m.ID, m.ErrorCode, m.Status)
		case m.ErrorCode == 131026 && m.ErrorTitle != "Message undeliverable":
			t.Errorf("message %d: 131026 titled %q, not as Meta titles it", m.ID, m.ErrorTitle)
		}
	}
}

// testWorld creates a small organization in st and describes it: two
// subaccounts, one with a fallback template and a number warming up, one
// with a tier of 250 contacts.
func testWorld(t *testing.T, st *store.Store, perDay, contacts int) *World {
	t.Helper()
	ctx := context.Background()
	w := &World{PerDay: perDay, Days: 30, End: testEnd, Seed: 3, TTL: time.Minute, Templates: []WorldTemplate{
		{Name: "promocao", Language: "pt_BR", Category: "marketing", Body: "Olá {{1}}, use o cupom {{2}}!",
			Examples: []string{"Maria", "OUTONO20"}, QuickReplies: []string{"Quero", "Parar promoções"}},
		{Name: "pedido_enviado", Language: "pt_BR", Category: "utility", Body: "{{1}}, seu pedido {{2}} saiu.",
			Examples: []string{"Maria", "12345"}, QuickReplies: []string{"Rastrear pedido", "Falar com atendente"}},
		{Name: "codigo", Language: "pt_BR", Category: "authentication", Body: "*{{1}}* é seu código."},
		{Name: "retomar", Language: "pt_BR", Category: "utility", Body: "Olá! Queremos continuar o atendimento."},
		{Name: "hello_world", Language: "en_US", Category: "utility", Body: "Welcome!"},
	}}
	for i, name := range []string{"Centro", "Online"} {
		sa := &domain.Subaccount{Name: name}
		if err := st.CreateSubaccount(ctx, sa); err != nil {
			t.Fatal(err)
		}
		ws := WorldSubaccount{ID: sa.ID, Share: float64(2 - i), Campaigns: 1, CampaignAudience: [2]float64{0.2, 0.5}}
		for j := 0; j < 2; j++ {
			ch := &domain.Channel{SubaccountID: sa.ID, Name: fmt.Sprintf("%s %d", name, j), WABAID: fmt.Sprintf("waba%d", i),
				PhoneNumberID: fmt.Sprintf("1065%d%d", i, j), Tier: []string{"TIER_10K", "TIER_250"}[i]}
			if err := st.CreateChannel(ctx, ch); err != nil {
				t.Fatal(err)
			}
			wc := WorldChannel{ID: ch.ID, PhoneNumberID: ch.PhoneNumberID, Share: 0.9, Tier: ch.Tier}
			switch {
			case i == 0:
				wc.Fallback, wc.FallbackLanguage = "retomar", "pt_BR"
			case j == 1:
				wc.Share, wc.Since, wc.WarmupUntil, wc.WarmupTemplate = 0.1, testEnd.AddDate(0, 0, -10), testEnd.AddDate(0, 0, 20), "hello_world"
			}
			ws.Channels = append(ws.Channels, wc)
		}
		for j, role := range []domain.Role{domain.RoleSupervisor, domain.RoleAgent} {
			u := &domain.User{Email: fmt.Sprintf("u%d%d@test", i, j), Role: role, Subaccounts: []int64{sa.ID}}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			if j == 0 {
				ws.Marketers = append(ws.Marketers, u.ID)
			}
			ws.Agents = append(ws.Agents, u.ID)
		}
		ws.Bots = []int64{int64(10 + i)}
		for j := range contacts {
			ws.Contacts = append(ws.Contacts, WorldContact{Phone: fmt.Sprintf("+55119%08d", 70000000+j),
				Name: fmt.Sprintf("Pessoa %d", j), CorrelationID: fmt.Sprintf("C-%d", j), OptedOut: j%25 == 0})
		}
		// Some of the contacts exist already, as the demo's do.
		for j := 0; j < contacts/2; j++ {
			if _, err := st.UpsertContact(ctx, sa.ID, store.ContactInput{Phone: ws.Contacts[j].Phone, Name: ws.Contacts[j].Name}); err != nil {
				t.Fatal(err)
			}
		}
		w.Subaccounts = append(w.Subaccounts, ws)
	}
	return w
}

// TestWriteHistoryResumes writes a world's history beside what is there,
// stops it in the middle, starts it again, and checks the history is
// whole, written once, and what ticks would have stored: the same
// messages by day as planned, every failure status the world can have,
// campaigns, answers with their context, and the store's own derivation.
func TestWriteHistoryResumes(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t)
	st := openMigrated(t, dsn)
	w := testWorld(t, st, 600, 400)
	plan, err := PlanHistory(w, HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Messages < 15_000 || plan.Messages > 21_000 {
		t.Errorf("planned %d messages, want about %d", plan.Messages, 600*30)
	}

	// The last days first, as the demo does, then the rest, stopped after
	// two chunks and resumed.
	cut := testEnd.Add(-75 * time.Hour)
	recent, err := WriteHistory(ctx, dsn, w, HistoryOptions{From: cut})
	if err != nil {
		t.Fatal(err)
	}
	if recent.Contacts != 400 || recent.Written == 0 || recent.Written != recent.Messages {
		t.Errorf("recent part: %d contacts created, %d of %d messages written; want 400 and all", recent.Contacts, recent.Written, recent.Messages)
	}
	stopped, cancel := context.WithCancel(ctx)
	chunks := 0
	_, err = WriteHistory(stopped, dsn, w, HistoryOptions{To: cut, Chunk: 1000, Progress: func(int) {
		if chunks++; chunks == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped history: %v, want context.Canceled", err)
	}
	rest, err := WriteHistory(ctx, dsn, w, HistoryOptions{To: cut})
	if err != nil {
		t.Fatal(err)
	}
	if rest.Contacts != 0 || rest.Written != rest.Messages-2000 {
		t.Errorf("resumed: created %d contacts, wrote %d of %d; want none and all but the 2,000 written before",
			rest.Contacts, rest.Written, rest.Messages)
	}
	again, err := WriteHistory(ctx, dsn, w, HistoryOptions{})
	if err != nil || again.Written != 0 {
		t.Errorf("a third run wrote %d messages (%v), want none", again.Written, err)
	}

	// The database holds the plan, day by day.
	got := map[string]int{}
	rows, err := st.ReportSummary(ctx, &domain.MessageFilter{From: w.start(), To: testEnd}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	mo, err := st.ReportSummary(ctx, &domain.MessageFilter{From: w.start(), To: testEnd, Direction: domain.DirectionMO}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range append(rows.ByDay, mo.ByDay...) {
		got[d.Day] += int(d.Total)
	}
	for day, n := range plan.ByDay {
		if got[day] != n {
			t.Errorf("%s: %d messages stored, %d planned", day, got[day], n)
		}
	}
	if int(rows.Total) != plan.MT || int(mo.Total) != plan.MO {
		t.Errorf("stored %d MT and %d MO, planned %d and %d", rows.Total, mo.Total, plan.MT, plan.MO)
	}
	checkHistory(t, st, plan.Messages)

	for _, s := range domain.Statuses {
		if s == domain.StatusSending || s == domain.StatusSent {
			continue // the world's TTL expires what is never delivered, and nothing is in flight
		}
		if rows.ByStatus[s] == 0 {
			t.Errorf("no message in status %s", s)
		}
	}
	if len(plan.Campaigns) < 20 || len(rows.ByCampaign) != len(plan.Campaigns) {
		t.Errorf("%d campaigns planned, %d in the report", len(plan.Campaigns), len(rows.ByCampaign))
	}
	buttons, err := st.ReportMessages(ctx, &domain.MessageFilter{Direction: domain.DirectionMO, ContentType: "button", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if buttons.Total == 0 {
		t.Fatal("no quick-reply taps")
	}
	for _, m := range buttons.Rows {
		if m.ContextWAMID == "" {
			t.Errorf("tap %d answers no message", m.ID)
		}
	}
	// The contacts know their last message: the live pipeline's sessions go on from the history's.
	c, err := st.ContactByPhone(ctx, w.Subaccounts[0].ID, w.Subaccounts[0].Contacts[0].Phone)
	if err != nil {
		t.Fatal(err)
	}
	if c.LastInboundAt == nil || !c.LastInboundAt.Before(testEnd) || c.LastInboundAt.Before(testEnd.AddDate(0, 0, -10)) {
		t.Errorf("the busiest contact's last message: %v, want in the history's last days", c.LastInboundAt)
	}
}

func openMigrated(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
