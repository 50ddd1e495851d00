package ingest_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/ingest"
	"github.com/ticksapp/ticks/internal/simulator"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

func generatedDay(messages int) *simulator.Day {
	return simulator.GenerateDay(simulator.DayConfig{Seed: 42, Messages: messages, Contacts: messages / 4,
		Start: time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC), Business: biz})
}

// postAll posts bodies from several workers at once, as Meta does.
func (h *harness) postAll(bodies [][]byte, workers int) {
	h.t.Helper()
	var wg sync.WaitGroup
	next := make(chan []byte)
	errs := make(chan int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				if code := h.post(b); code != 200 {
					errs <- code
					return
				}
			}
		}()
	}
	for _, b := range bodies {
		select {
		case next <- b:
		case code := <-errs:
			h.t.Fatalf("webhook answered %d", code)
		}
	}
	close(next)
	wg.Wait()
	select {
	case code := <-errs:
		h.t.Fatalf("webhook answered %d", code)
	default:
	}
}

// snapshot is the whole observable state: every message of both directions
// and every contact, without the row ids that depend on arrival order.
func snapshot(t *testing.T, st *store.Store) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	for _, dir := range []domain.Direction{domain.DirectionMT, domain.DirectionMO} {
		f := &domain.MessageFilter{Direction: dir, From: time.Unix(0, 0), Limit: domain.MaxReportLimit}
		for {
			page, err := st.ReportMessages(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range page.Rows {
				m.ID, m.ContactID, m.CreatedAt, m.ChannelID = 0, 0, time.Time{}, 0
				b, _ := json.Marshal(m)
				lines = append(lines, string(b))
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
	}
	contacts, err := st.Contacts(ctx, store.ContactFilter{})
	for err == nil && len(contacts) > 0 {
		for _, c := range contacts {
			c2 := c
			c2.ID, c2.CreatedAt = 0, time.Time{}
			b, _ := json.Marshal(c2)
			lines = append(lines, string(b))
		}
		contacts, err = st.Contacts(ctx, store.ContactFilter{AfterID: contacts[len(contacts)-1].ID})
	}
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestReplayShuffledGivesSameState plays a generated day once, and then
// three times, shuffled and with extra duplicates, into another database:
// the two must end in the same state.
func TestReplayShuffledGivesSameState(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 600
	}
	day := generatedDay(n)

	once := newHarness(t)
	once.postAll(day.Bodies, 4)
	once.settle()
	want := snapshot(t, once.store)

	var bodies [][]byte
	for i := 0; i < 3; i++ {
		bodies = append(bodies, day.Bodies...)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < len(day.Bodies)/10; i++ {
		bodies = append(bodies, day.Bodies[r.IntN(len(day.Bodies))])
	}
	r.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	thrice := newHarness(t)
	thrice.postAll(bodies, 8)
	thrice.settle()
	got := snapshot(t, thrice.store)

	if got != want {
		wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
		for i := 0; i < len(wl) && i < len(gl); i++ {
			if wl[i] != gl[i] {
				t.Fatalf("state differs after shuffled replay (%d vs %d lines); first difference:\n once:   %s\n thrice: %s", len(wl), len(gl), wl[i], gl[i])
			}
		}
		t.Fatalf("state differs after shuffled replay: %d vs %d lines", len(wl), len(gl))
	}
	assertDayCoverage(t, once.store, day)
	// The sessions and conversations the batches derived, most before their
	// new rows were written, are those a derivation of every whole timeline
	// from the stored rows gives.
	for name, h := range map[string]*harness{"once": once, "thrice": thrice} {
		if drift, err := h.store.ConversationDrift(context.Background()); err != nil || drift != 0 {
			t.Errorf("%s: %d messages' sessions or conversations differ from a derivation of their whole timelines (%v)", name, drift, err)
		}
		// The batches count the rows they create in the rollup themselves.
		if err := h.store.CheckRollup(context.Background()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// assertDayCoverage checks the generated day really exercised the model:
// every report status Meta can cause, conversations of each type, inbound
// messages of every type, opt-outs.
func assertDayCoverage(t *testing.T, st *store.Store, day *simulator.Day) {
	t.Helper()
	snap := snapshot(t, st)
	for _, want := range []string{
		`"status":"delivered"`, `"status":"read"`, `"status":"sent"`, `"status":"undelivered"`, `"status":"rejected"`,
		`"status":"opted_out"`, `"status":"invalid_session"`, `"status":"internal_error"`, `"status":"invalid_content"`,
		`"status":"invalid_parameter"`, `"status":"invalid_number"`, `"status":"tier_limit"`,
		`"conversation_type":"business_initiated"`, `"conversation_type":"user_initiated"`, `"conversation_type":"free_entry_point"`,
		`"with_session":true`, `"opted_out":true`, `"button_payload":"QR_`, `"pricing_model":"PMP"`,
	} {
		if !strings.Contains(snap, want) {
			t.Errorf("generated day never produced %s", want)
		}
	}
	for _, typ := range []string{"text", "button", "interactive", "image", "audio", "video", "document", "sticker",
		"location", "contacts", "reaction", "order", "unsupported"} {
		if !strings.Contains(snap, `"direction":"mo","wamid":"wamid.IN`) || !strings.Contains(snap, `"content_type":"`+typ+`"`) {
			t.Errorf("no inbound message of type %s", typ)
		}
	}
	ctx := context.Background()
	for _, w := range []string{day.Outbound[0], day.Outbound[len(day.Outbound)-1], day.Inbound[0]} {
		if _, err := st.MessageByWAMID(ctx, w, nil); err != nil {
			t.Errorf("message %s missing: %v", w, err)
		}
	}
	page, err := st.ReportMessages(ctx, &domain.MessageFilter{Direction: domain.DirectionMT, From: time.Unix(0, 0), Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != int64(len(day.Outbound)) {
		t.Errorf("%d outbound messages stored, want %d", page.Total, len(day.Outbound))
	}
}

// TestInboxReadBackAndReplay applies webhooks that only the inbox holds (no
// hand-off: after a restart, or a processor that fell behind), and then
// replays the whole inbox: both give the state the hand-off path gives.
func TestInboxReadBackAndReplay(t *testing.T) {
	day := generatedDay(300)
	live := newHarness(t)
	live.postAll(day.Bodies, 4)
	live.settle()
	want := snapshot(t, live.store)

	ctx := context.Background()
	st := storetest.Open(t)
	ids, err := st.AppendInbox(ctx, day.Bodies, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := ingest.NewProcessor(st, nil, nil)
	p.BatchRows = 97 // several batches
	drain := func() {
		t.Helper()
		for {
			n, err := p.Step(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
		}
	}
	drain()
	if got := snapshot(t, st); got != want {
		t.Fatalf("state applied from the inbox differs from the live state")
	}
	if err := p.Replay(ctx); err != nil {
		t.Fatal(err)
	}
	drain()
	if got := snapshot(t, st); got != want {
		t.Fatalf("state after a replay differs from the live state")
	}
	if cur, _ := st.Cursor(ctx); cur != ids[len(ids)-1] {
		t.Errorf("cursor %d after the replay, want the last inbox row %d", cur, ids[len(ids)-1])
	}
}
