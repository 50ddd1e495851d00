package tracking_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
	"github.com/ticksapp/ticks/internal/tracking"
)

// openAt opens and migrates the store at dsn, with the service over it.
func openAt(t *testing.T, dsn string, now time.Time) (*store.Store, *tracking.Service) {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		st.Close()
		t.Fatal(err)
	}
	svc := tracking.New(st, saoPaulo)
	svc.Now = func() time.Time { return now }
	return st, svc
}

// An answered batch is in the intake until folded: a store closed before
// its folder ran (as a killed process's) folds it when opened again, once.
// (cmd/ticks TestKillNineKeepsAnsweredEvents does it with SIGKILL.)
func TestIntakeSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	st, svc := openAt(t, dsn, now)
	sa := &domain.Subaccount{Name: "restart"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	sup := &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{sa.ID}}
	var list []string
	for i := range 300 {
		list = append(list, fmt.Sprintf(`{"category": "Menu", "action": "A%d", "contact": "+5511987%06d", "idempotency_key": "k%d"}`, i%3, i%50, i))
	}
	for start := 0; start < len(list); start += 100 {
		res, err := svc.Record(ctx, sup, 0, events(t, `{"events": [`+strings.Join(list[start:start+100], ",")+`]}`))
		if err != nil || res.Accepted != 100 || len(res.Errors) != 0 {
			t.Fatalf("record: %+v %v", res, err)
		}
	}
	if n, err := st.EventsPending(ctx); err != nil || n != 3 {
		t.Fatalf("records waiting before the restart: %d %v, want 3", n, err)
	}
	st.Close()

	st, svc = openAt(t, dsn, now)
	defer st.Close()
	if n, err := st.EventsPending(ctx); err != nil || n != 3 {
		t.Fatalf("records waiting after the restart: %d %v, want 3", n, err)
	}
	// A retry of the last batch after the restart: its keys are waiting in
	// the log, so it is all duplicates, and counts nothing more.
	res, err := svc.Record(ctx, sup, 0, events(t, `{"events": [`+strings.Join(list[200:], ",")+`]}`))
	if err != nil || res.Accepted != 100 || res.Duplicates != 100 {
		t.Fatalf("a retry after the restart: accepted %d, duplicates %d, %v", res.Accepted, res.Duplicates, err)
	}
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := st.EventsPending(ctx); err != nil || n != 0 {
		t.Fatalf("records waiting after the flush: %d %v", n, err)
	}
	rows, err := svc.EventReport(ctx, sup, tracking.EventQuery{From: now.Add(-time.Hour), To: now.Add(time.Hour), Granularity: domain.GranularityDay})
	if err != nil {
		t.Fatal(err)
	}
	var count, contacts int64
	for _, r := range rows {
		count, contacts = count+r.Count, contacts+r.Contacts
	}
	// 50 contacts, each in one of three actions (i%50 and i%3 go together:
	// 50 and 3 are coprime, so each contact does all three).
	if count != 300 || contacts != 150 {
		t.Errorf("after the restart the report counts %d events of %d contact-actions, want 300 and 150: %+v", count, contacts, rows)
	}
	if _, err := st.ContactByPhone(ctx, sa.ID, "+5511987000049"); err != nil {
		t.Errorf("the fold created the contact: %v", err)
	}
}

// Batches retried while the folder folds: every retry is answered all
// duplicates, whether its keys are still in the log or already folded
// (the two are told apart in the same moment the folder moves them), and
// the report counts each event once.
func TestIntakeRetriesCountOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var folds atomic.Int64
	var folder sync.WaitGroup
	folder.Add(1)
	go func() {
		defer folder.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, err := w.st.FoldEvents(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			if n > 0 {
				folds.Add(1)
			}
		}
	}()
	const clients, batches, size, tries = 6, 8, 25, 3
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var list []string
				for i := range size {
					list = append(list, fmt.Sprintf(`{"category": "Menu", "action": "A%d", "contact": "+55119876%05d", "idempotency_key": "c%d-b%d-i%d"}`,
						i%4, (c*size+i)%60, c, b, i))
				}
				// The same key twice in one batch counts once too.
				list = append(list, list[0])
				body := `{"events": [` + strings.Join(list, ",") + `]}`
				for try := range tries {
					res, err := w.svc.Record(ctx, w.botP, 0, events(t, body))
					want := 1
					if try > 0 {
						want = size + 1
					}
					if err != nil || res.Accepted != size+1 || res.Duplicates != want {
						t.Errorf("client %d batch %d try %d: accepted %d, duplicates %d, %v, want %d duplicates", c, b, try, res.Accepted, res.Duplicates, err, want)
					}
					// Every other batch is folded between its tries, while
					// the other clients append: its retry finds its keys
					// folded, the others' find theirs waiting.
					if try == 0 && (c+b)%2 == 0 {
						if err := w.svc.Flush(ctx); err != nil {
							t.Error(err)
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	folder.Wait()
	t.Logf("the background folder folded %d times", folds.Load())
	var count int64
	for _, r := range eventReport(t, w, w.sup1, "day") {
		count += r.Count
	}
	if count != clients*batches*size {
		t.Errorf("events counted %d, want %d", count, clients*batches*size)
	}
}

// The fold's counts equal a recount of the events it stored: events of
// two subaccounts, three bots and no bot, over ten days, some sent twice,
// recorded by concurrent clients while a folder runs; then the hourly
// rollup, every distinct-contact counter and every first time are compared
// with what the stored events give.
func TestFoldEqualsRecount(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	otherP, err := access.New(w.st).Authenticate(ctx, w.other.Token, "test")
	if err != nil {
		t.Fatal(err)
	}
	folderCtx, stopFolder := context.WithCancel(ctx)
	folderDone := make(chan struct{})
	go func() {
		defer close(folderDone)
		f := tracking.NewFolder(w.svc)
		f.Linger = time.Millisecond
		f.Run(folderCtx)
	}()
	r := rand.New(rand.NewPCG(7, 17))
	type batch struct {
		p    *access.Principal
		body string
	}
	var batches []batch
	for b := range 60 {
		p := []*access.Principal{w.botP, w.routerP, w.sup1, otherP}[b%4]
		var list []string
		for i := range 50 {
			at := w.now.Add(-time.Duration(r.IntN(6*24*60)) * time.Minute)
			key := fmt.Sprintf("b%d-%d", b, i)
			if r.IntN(10) == 0 && b > 0 {
				key = fmt.Sprintf("b%d-%d", b-1, i) // a retried event, maybe of another subaccount's key
			}
			list = append(list, fmt.Sprintf(`{"category": "C%d", "action": "A%d", "contact": "+55119876%05d", "at": %q, "idempotency_key": %q}`,
				r.IntN(2), r.IntN(3), r.IntN(40), at.Format(time.RFC3339), key))
		}
		batches = append(batches, batch{p, `{"events": [` + strings.Join(list, ",") + `]}`})
	}
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < len(batches); i += 4 {
				res, err := w.svc.Record(ctx, batches[i].p, 0, events(t, batches[i].body))
				if err != nil || len(res.Errors) > 0 {
					t.Errorf("batch %d: %+v %v", i, res, err)
				}
			}
		}()
	}
	wg.Wait()
	stopFolder()
	<-folderDone
	if n, err := w.st.EventsPending(ctx); err != nil || n != 0 {
		t.Fatalf("the folder left %d records (%v)", n, err)
	}
	db := openRaw(t, w.st)
	type ev struct {
		sub, bot, contact, at int64
		cat, action           string
	}
	var stored []ev
	rows, err := db.QueryContext(ctx, `SELECT subaccount_id, bot_id, contact_id, at, category, action FROM tracking_events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e ev
		if err := rows.Scan(&e.sub, &e.bot, &e.contact, &e.at, &e.cat, &e.action); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, e)
	}
	rows.Close()
	if len(stored) < 2500 {
		t.Fatalf("%d events stored, want about 2,700", len(stored))
	}
	// The recount.
	hours := map[string]int64{}
	firsts := map[string]int64{}
	sets := map[string]map[int64]bool{}
	for _, e := range stored {
		hours[fmt.Sprint(e.sub, e.at/3_600_000, e.bot, e.cat, e.action)]++
		fk := fmt.Sprint(e.sub, e.cat, e.action, e.contact)
		if at, ok := firsts[fk]; !ok || e.at < at {
			firsts[fk] = e.at
		}
		l := time.UnixMilli(e.at).In(saoPaulo)
		y, m, d := l.Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
		for _, bot := range []int64{store.AllBots, e.bot} {
			if bot == 0 {
				continue
			}
			for kind, period := range map[string]int64{store.PeriodDay: day, store.PeriodWeek: store.WeekOf(day), store.PeriodMonth: store.MonthOf(day)} {
				k := fmt.Sprint(e.sub, kind, period, bot, e.cat, e.action)
				if sets[k] == nil {
					sets[k] = map[int64]bool{}
				}
				sets[k][e.contact] = true
			}
		}
	}
	got := func(query string) map[string]int64 {
		out := map[string]int64{}
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			parts := make([]any, len(cols)-1)
			for i, v := range vals[:len(cols)-1] {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				parts[i] = v
			}
			var n int64
			switch v := vals[len(cols)-1].(type) {
			case int64:
				n = v
			case int32:
				n = int64(v)
			default:
				t.Fatalf("%s: a count of type %T", query, v)
			}
			out[fmt.Sprint(parts...)] = n
		}
		return out
	}
	compare := func(what string, got map[string]int64, want map[string]int64) {
		t.Helper()
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%s %s: %d, recounted %d", what, k, got[k], n)
			}
		}
		for k, n := range got {
			if _, ok := want[k]; !ok && n != 0 {
				t.Errorf("%s %s: %d, recounted none", what, k, n)
			}
		}
	}
	compare("hourly", got(`SELECT subaccount_id, hour, bot_id, category, action, events FROM tracking_hourly`), hours)
	compare("first time", got(`SELECT subaccount_id, category, action, contact_id, first_at FROM tracking_firsts`), firsts)
	distinct := map[string]int64{}
	for k, set := range sets {
		distinct[k] = int64(len(set))
	}
	compare("contacts", got(`SELECT subaccount_id, kind, period, bot_id, category, action, contacts FROM tracking_contacts`), distinct)
}

// openRaw opens the store's database directly, to recount what the store
// wrote.
func openRaw(t *testing.T, st *store.Store) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", st.DSN()
	if st.Dialect() == store.Postgres {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
