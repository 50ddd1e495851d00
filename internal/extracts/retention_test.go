package extracts_test

import (
	"context"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/store"
)

// TestPruneHistory: five years after 21 November 2026, the history of the 20th goes — its messages (and
// the report's counts of them), event tracks, the closed ticket, the status changes but Bruno's last,
// the extractions done — while the 25th's message, the ticket still open and the status Bruno is in
// stay. A second prune finds nothing.
func TestPruneHistory(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	sale, active, _ := fx.desk(t)
	p := fx.shopUser()
	fx.now = fx.base.Add(10 * time.Hour) // asked for on the 20th, at 20:00
	old := fx.extract(t, p, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"})
	fx.now = time.Date(2026, 12, 1, 9, 0, 0, 0, fx.loc)
	if _, err := fx.svc.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(day int) int64 {
		from := time.Date(2026, 11, day, 0, 0, 0, 0, fx.loc)
		page, err := fx.st.ReportMessages(ctx, &domain.MessageFilter{Subaccounts: []int64{fx.shop}, From: from, To: from.AddDate(0, 0, 1),
			Direction: domain.DirectionMT, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(page.Rows)) != page.Total {
			t.Errorf("the 20th's rollup says %d messages, the rows are %d", page.Total, len(page.Rows))
		}
		return page.Total
	}
	if n20, n25 := count(20), count(25); n20 != 6 || n25 != 1 {
		t.Fatalf("before: %d messages on the 20th, %d on the 25th", n20, n25)
	}

	fx.now = time.Date(2031, 11, 21, 3, 0, 0, 0, fx.loc)
	if got := fx.svc.RetentionCutoff(); !got.Equal(time.Date(2026, 11, 21, 0, 0, 0, 0, fx.loc)) {
		t.Fatalf("cutoff %v", got)
	}
	pruned, err := fx.svc.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The shop's 6 outbound and 2 inbound and the other's 1 and 1 of the 20th; the shop's 2 event tracks
	// and the other's; the closed ticket; Bruno's 5 earlier changes; the expired extraction.
	want := store.Pruned{Messages: 10, Events: 3, Tickets: 1, StatusChanges: 5, Extractions: 1}
	if pruned != want {
		t.Errorf("pruned %+v, want %+v", pruned, want)
	}
	if n20, n25 := count(20), count(25); n20 != 0 || n25 != 1 {
		t.Errorf("after: %d messages on the 20th, %d on the 25th", n20, n25)
	}
	if _, err := fx.st.Ticket(ctx, sale); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("the closed ticket: %v", err)
	}
	if tk, err := fx.st.Ticket(ctx, active); err != nil || tk.State != domain.TicketOpen {
		t.Errorf("the open ticket: %v %v", tk, err)
	}
	if _, err := fx.st.Extraction(ctx, old.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("the expired extraction: %v", err)
	}
	agents, err := fx.st.Agents(ctx, []int64{fx.shop})
	if err != nil || len(agents) != 1 {
		t.Fatal(agents, err)
	}
	log, err := fx.st.StatusLog(ctx, []int64{agents[0].UserID}, fx.now.Add(-time.Hour), fx.now)
	if err != nil || len(log) != 1 || log[0].Status != domain.AgentOffline {
		t.Errorf("Bruno's status log from an hour ago: %+v (%v), want the offline he went at 18:00 five years ago", log, err)
	}
	if again, err := fx.svc.Prune(ctx); err != nil || again != (store.Pruned{}) {
		t.Errorf("a second prune: %+v (%v)", again, err)
	}
}
