package store_test

import (
	"context"
	"testing"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// TestDeskMetricsRollupIsFilledForTicketsFromBefore: tickets that a ticks
// before the rollup wrote are in it after the migration (which asks the
// store to fill it), with their histograms.
func TestDeskMetricsRollupIsFilledForTicketsFromBefore(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	sa := &domain.Subaccount{Name: "Loja"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	const day = 20522 // 2026-03-10
	at := int64(day)*86400000 + 14*3600000
	for i, q := range []string{
		`INSERT INTO desk_tickets (subaccount_id, channel_id, contact_id, team_id, agent_id, state, origin, opened_at, assigned_at,
			first_response_at, closed_at, last_activity_at, tags) VALUES ($1, 1, 1, 7, 3, 'closed', 'inbound', CAST($2 AS BIGINT), $2 + 60000, $2 + 90000, $2 + 600000, $2, 'venda,troca')`,
		`INSERT INTO desk_tickets (subaccount_id, channel_id, contact_id, team_id, agent_id, state, origin, opened_at, assigned_at,
			last_activity_at) VALUES ($1, 1, 2, 7, 3, 'open', 'inbound', CAST($2 AS BIGINT), $2 + 20000, $2)`,
		`INSERT INTO kv (key, value) VALUES ('desk.metrics.rebuild', '1')`,
	} {
		args := []any{sa.ID, at}
		if i == 2 {
			args = nil
		}
		if _, err := st.DB().ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var rows []store.DeskRollupRow
	err := st.DeskRollup(ctx, []int64{sa.ID}, day, day+1, 0, 0, func(r *store.DeskRollupRow) { rows = append(rows, *r) })
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("rollup rows = %+v, want one by agent and two by tag", rows)
	}
	c := rows[0].DeskCell
	if rows[0].TeamID != 7 || rows[0].AgentID != 3 || c.Opened != 2 || c.Answered != 1 || c.Closed != 1 ||
		c.N != [3]int64{2, 1, 1} || c.SumMS != [3]int64{80000, 90000, 540000} {
		t.Errorf("the agent's row = %+v", rows[0])
	}
	if rows[1].Tag != "troca" || rows[2].Tag != "venda" || rows[2].Opened != 1 || rows[2].N != [3]int64{1, 1, 1} {
		t.Errorf("the tags' rows = %+v", rows[1:])
	}
	var n int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM kv WHERE key = 'desk.metrics.rebuild'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the rebuild key is still there (%d, %v)", n, err)
	}
}
