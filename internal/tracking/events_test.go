package tracking_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
	"github.com/ticksapp/ticks/internal/tracking"
)

var saoPaulo, _ = time.LoadLocation("America/Sao_Paulo")

// world is a store with two subaccounts, a channel, a router and a bot in
// the first, a bot in the second.
type world struct {
	st            *store.Store
	svc           *tracking.Service
	sub1, sub2    int64
	router, bot   *tracking.CreatedBot
	other         *tracking.CreatedBot
	sup1          *access.Principal
	botP, routerP *access.Principal
	now           time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	w := &world{st: st, now: time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)}
	w.svc = tracking.New(st, saoPaulo)
	w.svc.Now = func() time.Time { return w.now }
	for _, sub := range []*int64{&w.sub1, &w.sub2} {
		sa := &domain.Subaccount{Name: fmt.Sprintf("sub %p", sub)}
		if err := st.CreateSubaccount(ctx, sa); err != nil {
			t.Fatal(err)
		}
		*sub = sa.ID
	}
	ch := &domain.Channel{SubaccountID: w.sub1, Name: "main", PhoneNumberID: "111"}
	if err := st.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	admin := access.System()
	var err error
	if w.router, err = w.svc.CreateBot(ctx, admin, tracking.BotInput{Name: "Roteador", Kind: "router", SubaccountID: w.sub1, ChannelID: ch.ID}); err != nil {
		t.Fatal(err)
	}
	if w.bot, err = w.svc.CreateBot(ctx, admin, tracking.BotInput{Name: "Atendimento", SubaccountID: w.sub1, RouterID: w.router.ID}); err != nil {
		t.Fatal(err)
	}
	if w.other, err = w.svc.CreateBot(ctx, admin, tracking.BotInput{Name: "Outro", SubaccountID: w.sub2}); err != nil {
		t.Fatal(err)
	}
	w.sup1 = &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{w.sub1}}
	acc := access.New(st)
	if w.botP, err = acc.Authenticate(ctx, w.bot.Token, "test"); err != nil {
		t.Fatal(err)
	}
	if w.routerP, err = acc.Authenticate(ctx, w.router.Token, "test"); err != nil {
		t.Fatal(err)
	}
	return w
}

func events(t *testing.T, body string) []tracking.EventInput {
	t.Helper()
	list, _, err := tracking.DecodeEvents([]byte(body))
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return list
}

func TestBots(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if w.botP.BotID != w.bot.ID || w.botP.Role != domain.RoleAgent {
		t.Fatalf("a bot's token is the bot: %+v", w.botP)
	}
	list, err := w.svc.Bots(ctx, w.sup1)
	if err != nil || len(list) != 2 || list[0].Kind != "router" || *list[1].RouterID != w.router.ID {
		t.Fatalf("bots of subaccount 1: %+v %v", list, err)
	}
	if own, err := w.svc.Bots(ctx, w.botP); err != nil || len(own) != 1 || own[0].ID != w.bot.ID {
		t.Fatalf("a bot sees itself only: %+v %v", own, err)
	}
	bad := []struct {
		in   tracking.BotInput
		code string
	}{
		{tracking.BotInput{Name: "", SubaccountID: w.sub1}, domain.EINVALID},
		{tracking.BotInput{Name: strings.Repeat("x", 101), SubaccountID: w.sub1}, domain.EINVALID},
		{tracking.BotInput{Name: "Atendimento", SubaccountID: w.sub1}, domain.ECONFLICT},
		{tracking.BotInput{Name: "r2", Kind: "router", SubaccountID: w.sub1}, domain.EINVALID},
		{tracking.BotInput{Name: "r2", Kind: "router", SubaccountID: w.sub1, ChannelID: *w.router.ChannelID}, domain.ECONFLICT},
		{tracking.BotInput{Name: "b", SubaccountID: w.sub1, RouterID: w.other.ID}, domain.EINVALID},
		{tracking.BotInput{Name: "b", SubaccountID: w.sub1, RouterID: w.bot.ID}, domain.EINVALID},
		{tracking.BotInput{Name: "b", Kind: "robot", SubaccountID: w.sub1}, domain.EINVALID},
		{tracking.BotInput{Name: "b", SubaccountID: w.sub2}, domain.EFORBIDDEN},
	}
	for _, c := range bad {
		if _, err := w.svc.CreateBot(ctx, w.sup1, c.in); domain.ErrorCode(err) != c.code {
			t.Errorf("%+v: got %v, want %s", c.in, err, c.code)
		}
	}
	if _, err := w.svc.CreateBot(ctx, w.botP, tracking.BotInput{Name: "x"}); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("a bot registering bots: %v", err)
	}
}

func TestRecordEvents(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	res, err := w.svc.Record(ctx, w.botP, 0, events(t, `{"events": [
		{"category": " Escolha de Menu ", "action": "2ª via de boleto", "contact": "+55 11 98765-4321", "extras": {"opcao": 2}},
		{"category": "Escolha de Menu", "action": "2ª via de boleto", "contact": "5511987654321", "idempotency_key": "k1"},
		{"category": "Escolha de Menu", "action": "Falar com atendente", "contact": "551133334444"}
	]}`))
	if err != nil || res.Accepted != 3 || len(res.Errors) != 0 || res.Duplicates != 0 {
		t.Fatalf("record: %+v %v", res, err)
	}
	if res.Events[0].Category != "Escolha de Menu" || res.Events[0].BotID != w.bot.ID || res.Events[0].Extras != `{"opcao":2}` {
		t.Errorf("stored as %+v", res.Events[0])
	}
	if err := w.svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := w.st.ContactByPhone(ctx, w.sub1, "+5511987654321")
	if err != nil {
		t.Fatalf("the contact was created: %+v %v", c, err)
	}
	if land, err := w.st.ContactByPhone(ctx, w.sub1, "+551133334444"); err != nil || land.ID == c.ID {
		t.Errorf("a landline is another contact: %+v %v", land, err)
	}
	// The retry of an event with a key counts once.
	again, err := w.svc.Record(ctx, w.botP, 0, events(t, `{"events": [
		{"category": "Escolha de Menu", "action": "2ª via de boleto", "contact": "5511987654321", "idempotency_key": "k1"},
		{"category": "Escolha de Menu", "action": "2ª via de boleto", "contact": `+fmt.Sprint(c.ID)+`, "bot": `+fmt.Sprint(w.bot.ID)+`}
	]}`))
	if err != nil || again.Accepted != 2 || again.Duplicates != 1 {
		t.Fatalf("retry: %+v %v", again, err)
	}
	rows := eventReport(t, w, w.sup1, "day")
	want := map[string][2]int64{"2ª via de boleto": {3, 1}, "Falar com atendente": {1, 1}}
	if len(rows) != 2 {
		t.Fatalf("report rows %+v", rows)
	}
	for _, r := range rows {
		if got := [2]int64{r.Count, r.Contacts}; got != want[r.Action] || r.Period != "2026-03-10" {
			t.Errorf("%s: %+v, want %v", r.Action, r, want[r.Action])
		}
	}
}

func eventReport(t *testing.T, w *world, p *access.Principal, granularity string) []domain.EventCount {
	t.Helper()
	// The report reads what the folder folded.
	if err := w.svc.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	q := tracking.EventQuery{From: w.now.Add(-30 * 24 * time.Hour), To: w.now.Add(time.Hour), Granularity: granularity}
	rows, err := w.svc.EventReport(context.Background(), p, q)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// Every bad event is refused at its index, and the good ones beside it kept.
func TestRecordBadEvents(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	good := `{"category": "c", "action": "a", "contact": "+5511987654321"}`
	bad := []struct{ event, want string }{
		{`{"action": "a", "contact": "+5511987654321"}`, "category is required"},
		{`{"category": "c", "action": "  ", "contact": "+5511987654321"}`, "action is required"},
		{`{"category": "` + strings.Repeat("é", 101) + `", "action": "a", "contact": "+5511987654321"}`, "over 100"},
		{`{"category": "c", "action": "a"}`, "contact is required"},
		{`{"category": "c", "action": "a", "contact": "not a phone"}`, "not a valid phone"},
		{`{"category": "c", "action": "a", "contact": "123"}`, "not a valid phone"},
		{`{"category": "c", "action": "a", "contact": -4}`, "positive integer"},
		{`{"category": "c", "action": "a", "contact": 999999}`, "not a contact of this subaccount"},
		{`{"category": "c", "action": "a", "contact": "+5511987654321", "extras": {"x": "` + strings.Repeat("y", 4100) + `"}}`, "at most 4096"},
		{`{"category": "c", "action": "a", "contact": "+5511987654321", "extras": [1]}`, "JSON object"},
		{`{"category": "c", "action": "a", "contact": "+5511987654321", "at": "2026-03-01T00:00:00Z"}`, "7 days in the past"},
		{`{"category": "c", "action": "a", "contact": "+5511987654321", "at": "2026-03-10T15:06:00Z"}`, "5 minutes in the future"},
		{`{"category": "c", "action": "a", "contact": "+5511987654321", "at": "yesterday"}`, "at must be a date-time (RFC 3339), not \"yesterday\""},
		{`{"category": "c", "action": "a", "contact": "+5511987654321", "bot": ` + fmt.Sprint(w.other.ID) + `}`, "not a bot of this subaccount"},
		{`{"category": "c", "action": "a", "contact": "+5511987654321", "bot": "x"}`, "bot must be"},
		{`{"category": 7, "action": "a", "contact": "+5511987654321"}`, "category must be a string"},
		{`{"category": "c", "action": "a", "contact": "+5511987654321", "colour": "red"}`, "unknown field"},
		{`{"category": "c", "action": "a", "contact": "+5511987654321", "message_id": "77"}`, "no such message"},
		{`{"category": "c", "action": "a", "contact": "+5511987654321", "wamid": "wamid.X", "message_id": "1"}`, "name the message once"},
		{`"just a string"`, "not a valid event"},
	}
	var b strings.Builder
	b.WriteString(`{"events": [` + good)
	for _, c := range bad {
		b.WriteString(", " + c.event)
	}
	b.WriteString(", " + good + "]}")
	res, err := w.svc.Record(ctx, w.sup1, 0, events(t, b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || len(res.Errors) != len(bad) {
		t.Fatalf("accepted %d, errors %+v", res.Accepted, res.Errors)
	}
	for i, c := range bad {
		e := res.Errors[i]
		if e.Index != i+1 || !strings.Contains(e.Error, c.want) {
			t.Errorf("event %d %s: got %+v, want %q", i+1, c.event, e, c.want)
		}
	}
	if rows := eventReport(t, w, w.sup1, "day"); len(rows) != 1 || rows[0].Count != 2 {
		t.Errorf("only the good events are counted: %+v", rows)
	}
	// A bot's token records as itself only.
	res, err = w.svc.Record(ctx, w.routerP, 0, events(t, `{"events": [{"category": "c", "action": "a", "contact": "+5511987654321", "bot": `+fmt.Sprint(w.bot.ID)+`}]}`))
	if err != nil || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error, "its own events") {
		t.Errorf("a router recording as its bot: %+v %v", res, err)
	}
	// Requests that are wrong as a whole.
	if _, _, err := tracking.DecodeEvents([]byte(`{"events": [` + strings.Repeat(good+",", 1000) + good + `]}`)); domain.ErrorCode(err) != domain.ETOOLARGE {
		t.Errorf("1,001 events: %v", err)
	}
	for _, body := range []string{`[]`, `{"events": []}`, `{"events": {}}`, `{"events": [], "x": 1}`, `nope`} {
		if _, _, err := tracking.DecodeEvents([]byte(body)); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%s: %v", body, err)
		}
	}
	viewer := &access.Principal{Role: domain.RoleViewer, Scope: []int64{w.sub1}}
	if _, err := w.svc.Record(ctx, viewer, 0, events(t, good)); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("a viewer recording: %v", err)
	}
	if _, err := w.svc.Record(ctx, w.sup1, w.sub2, events(t, good)); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("recording into another's subaccount: %v", err)
	}
}

// TestRecordConcurrent: batches recorded at the same time, in two
// subaccounts, each sent twice (a client's retry) and beside calls that
// fail (a subaccount that does not exist), are written together by the
// store's event writer: every call gets its own answer and the report
// counts each event once and each contact once per action.
func TestRecordConcurrent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	otherP, err := access.New(w.st).Authenticate(ctx, w.other.Token, "test")
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		count    map[string]int64
		contacts map[string]map[int]bool
	}
	wants := map[int64]*want{}
	for _, sub := range []int64{w.sub1, w.sub2} {
		wants[sub] = &want{count: map[string]int64{}, contacts: map[string]map[int]bool{}}
	}
	const clients, batches, size = 8, 4, 50
	bodies := make([][]string, clients)
	for c := range clients {
		sub := w.sub1
		if c%2 == 1 {
			sub = w.sub2
		}
		for b := range batches {
			var list []string
			for i := range size {
				n := (c*7 + b*13 + i*5) % 40
				action := fmt.Sprintf("A%d", (c+b+i)%4)
				at := w.now.Add(-time.Duration((c*31+b*17+i*3)%600) * time.Minute)
				list = append(list, fmt.Sprintf(`{"category": "Menu", "action": %q, "contact": "+55119000%05d", "at": %q, "idempotency_key": "c%d-b%d-i%d"}`,
					action, n, at.Format(time.RFC3339), c, b, i))
				wants[sub].count[action]++
				if wants[sub].contacts[action] == nil {
					wants[sub].contacts[action] = map[int]bool{}
				}
				wants[sub].contacts[action][n] = true
			}
			bodies[c] = append(bodies[c], `{"events": [`+strings.Join(list, ",")+`]}`)
		}
	}
	missing := &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{w.sub2 + 1000}}
	const failing = 20
	errs := make(chan error, clients*batches*2+failing)
	var wg sync.WaitGroup
	for c := range clients {
		p := w.botP
		if c%2 == 1 {
			p = otherP
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, body := range bodies[c] {
				for try := range 2 {
					res, err := w.svc.Record(ctx, p, 0, events(t, body))
					switch {
					case err != nil:
						errs <- err
					case res.Accepted != size || len(res.Errors) != 0 || res.Duplicates != try*size:
						errs <- fmt.Errorf("client %d, try %d: accepted %d, duplicates %d, errors %v", c, try, res.Accepted, res.Duplicates, res.Errors)
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range failing {
			_, err := w.svc.Record(ctx, missing, 0, events(t, bodies[0][i%batches]))
			if domain.ErrorCode(err) != domain.EINVALID {
				errs <- fmt.Errorf("a subaccount that does not exist: %v", err)
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for sub, want := range wants {
		p := &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{sub}}
		for _, g := range []string{"day", "week", "month", "hour"} {
			got := map[string][2]int64{}
			for _, r := range eventReport(t, w, p, g) {
				c := got[r.Action]
				c[0] += r.Count
				if g != "hour" {
					c[1] += r.Contacts
				}
				got[r.Action] = c
			}
			for action, n := range want.count {
				w := [2]int64{n, int64(len(want.contacts[action]))}
				if g == "hour" {
					w[1] = 0
				}
				if got[action] != w {
					t.Errorf("subaccount %d, %s, %s: %v, want %v", sub, g, action, got[action], w)
				}
			}
			if len(got) != len(want.count) {
				t.Errorf("subaccount %d, %s: %v", sub, g, got)
			}
		}
	}
}

// A contact written with JSON escapes is read as the same phone: the
// unescaped fast path and the JSON decoder agree.
func TestRecordContactEscaped(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	res, err := w.svc.Record(ctx, w.botP, 0, events(t, `{"events": [
		{"category": "c", "action": "a", "contact": "+55 11 98765-4321"},
		{"category": "c", "action": "a", "contact": "+55 11 98765\u002d4321"},
		{"category": "c", "action": "a", "contact": "\u002b5511987654321"}
	]}`))
	if err != nil || res.Accepted != 3 || len(res.Errors) != 0 {
		t.Fatalf("record: %+v %v", res, err)
	}
	rows := eventReport(t, w, w.sup1, "day")
	if len(rows) != 1 || rows[0].Count != 3 || rows[0].Contacts != 1 {
		t.Errorf("three ways of writing one phone: %+v", rows)
	}
}
