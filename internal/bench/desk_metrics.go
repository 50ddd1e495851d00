package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/desk"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// DeskMetricsOptions configure the attendance metrics benchmark (issue
// 16): tickets spread over days, then the metrics of the whole period
// read as the supervisor's page reads them.
type DeskMetricsOptions struct {
	DatabaseURL string // "" for a fresh SQLite file in a temp dir; postgres:// for a fresh schema there
	Tickets     int
	Days        int
	Agents      int
	Teams       int
	Runs        int
	Seed        uint64
	CPUProfile  string // a file for a CPU profile of the metrics' reads
}

// DeskMetricsResult is what the benchmark measured.
type DeskMetricsResult struct {
	Dialect        store.Dialect
	Tickets        int
	ActiveMessages int
	Load           time.Duration
	Rollup         time.Duration   // filling the metrics' rollup from the loaded tickets
	Exact          bool            // whether the figures from the rollup equal those from every ticket
	FromTickets    time.Duration   // the whole period read from every ticket, for comparison
	Runs           []time.Duration // each query of the whole period, sorted
	CPU            []time.Duration // the process's CPU time in each, sorted
	Month          []time.Duration // the last 30 days, of one team
	Agent          []time.Duration // the whole period, of one agent (from their tickets)
	Metrics        *desk.Metrics
}

// deskTags are the tags the generated tickets are closed with.
var deskTags = []string{"venda", "dúvida", "entrega", "troca", "reclamação", "elogio", "cancelamento", "pagamento"}

// DeskMetrics writes o.Tickets tickets over o.Days days into a fresh
// database (a quarter from active messages, each of those with the active
// message it answered and as many unanswered ones; 80% closed, 8%
// abandoned, the rest open or waiting) and times the metrics.
func DeskMetrics(ctx context.Context, o DeskMetricsOptions) (*DeskMetricsResult, error) {
	dir, err := os.MkdirTemp("", "ticks-bench-desk-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	dsn := o.DatabaseURL
	if dsn == "" {
		dsn = filepath.Join(dir, "desk.db")
	} else if strings.HasPrefix(dsn, "postgres") {
		url, drop, err := freshSchema(ctx, dsn)
		if err != nil {
			return nil, err
		}
		defer drop()
		dsn = url
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	res := &DeskMetricsResult{Dialect: st.Dialect(), Tickets: o.Tickets}
	sa := &domain.Subaccount{Name: "bench"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		return nil, err
	}
	ch := &domain.Channel{SubaccountID: sa.ID, Name: "bench", WABAID: benchWABA.WABAID, PhoneNumberID: benchWABA.PhoneNumberID,
		DisplayPhone: benchWABA.DisplayPhone, Tier: "TIER_UNLIMITED", ThroughputMPS: 1000}
	if err := st.CreateChannel(ctx, ch); err != nil {
		return nil, err
	}
	agents := make([]int64, o.Agents)
	for i := range agents {
		u := &domain.User{Email: fmt.Sprintf("agente%03d@bench.local", i), Name: fmt.Sprintf("Agente %03d", i), Role: domain.RoleAgent,
			PasswordHash: "-", Subaccounts: []int64{sa.ID}}
		if err := st.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		agents[i] = u.ID
	}
	teams := make([]int64, o.Teams)
	for i := range teams {
		var members []int64
		for j := i; j < len(agents); j += o.Teams {
			members = append(members, agents[j])
		}
		t := &domain.Team{SubaccountID: sa.ID, ChannelID: &ch.ID, Name: fmt.Sprintf("Equipe %d", i+1), AbandonAfterMinutes: 60, Members: members}
		if err := st.CreateTeam(ctx, t); err != nil {
			return nil, err
		}
		teams[i] = t.ID
	}

	end := time.Now().Truncate(time.Hour)
	start := end.AddDate(0, 0, -o.Days)
	span := end.Sub(start).Milliseconds()
	l, err := openLoader(ctx, dsn, false)
	if err != nil {
		return nil, err
	}
	defer l.close()
	t0 := time.Now()
	r := rand.New(rand.NewPCG(o.Seed, 16))
	// The active messages first: a quarter of the tickets answer one, and
	// as many more were never answered.
	nActive := o.Tickets / 4
	res.ActiveMessages = 2 * nActive
	firstID := int64(1) << 40
	rank := domain.StateRead.Rank()
	err = l.bulk(ctx, "messages", "id, subaccount_id, channel_id, direction, origin, contact_id, sender_user_id, content_type, template_name, state, state_rank, status, at, created_at",
		res.ActiveMessages, func(i int, row []any) bool {
			at := start.UnixMilli() + r.Int64N(span)
			row[0], row[1], row[2], row[3], row[4], row[5] = firstID+int64(i), sa.ID, ch.ID, "mt", "desk", int64(1+i%50000)
			row[6], row[7], row[8], row[9], row[10], row[11], row[12], row[13] = agents[i%len(agents)], "template", "pedido_enviado", "read", rank, "read", at, at
			return true
		})
	if err != nil {
		return nil, err
	}
	err = l.bulk(ctx, "desk_tickets", "id, subaccount_id, channel_id, contact_id, team_id, agent_id, state, origin, active_message_id, opened_at, assigned_at, first_response_at, closed_at, last_activity_at, tags",
		o.Tickets, func(i int, row []any) bool {
			opened := start.UnixMilli() + r.Int64N(span)
			agent := agents[r.IntN(len(agents))]
			var team, active, assigned, first, closed any = teams[r.IntN(len(teams))], nil, nil, nil, nil
			origin := domain.TicketFromInbound
			if i < nActive {
				origin, team, active = domain.TicketFromActiveMessage, nil, firstID+int64(i)
				assigned = opened
			} else {
				assigned = opened + 1000*r.Int64N(600)
			}
			state, tags, last := domain.TicketClosed, "", opened
			switch p := r.IntN(100); {
			case p < 80:
				first = assigned.(int64) + 1000*(5+r.Int64N(300))
				closed = first.(int64) + 1000*(60+r.Int64N(1800))
				tags, last = deskTags[r.IntN(len(deskTags))], closed.(int64)
				if r.IntN(3) == 0 {
					tags += "," + deskTags[r.IntN(len(deskTags))]
				}
			case p < 88:
				state, last = domain.TicketAbandoned, opened+3600_000
				if r.IntN(2) == 0 {
					first = assigned.(int64) + 1000*(5+r.Int64N(300))
				}
			case p < 96:
				state = domain.TicketOpen
				first = assigned.(int64) + 1000*(5+r.Int64N(300))
			default:
				state, assigned = domain.TicketWaiting, nil
				if origin == domain.TicketFromInbound {
					agent = 0
				}
			}
			if strings.Contains(tags, ",") {
				if a, b, _ := strings.Cut(tags, ","); a == b {
					tags = a
				}
			}
			row[0], row[1], row[2], row[3], row[4] = int64(i+1), sa.ID, ch.ID, int64(1+r.IntN(200000)), team
			row[5] = nullInt(agent)
			row[6], row[7], row[8], row[9], row[10], row[11], row[12], row[13], row[14] = string(state), origin, active, opened, assigned, first, closed, last, tags
			return true
		})
	if err != nil {
		return nil, err
	}
	if err := l.analyze(ctx, false); err != nil {
		return nil, err
	}
	res.Load = time.Since(t0)
	// The tickets went in behind the store's back: fill the rollup the
	// store keeps as it writes tickets.
	t0 = time.Now()
	if err := st.RebuildDeskMetrics(ctx); err != nil {
		return nil, err
	}
	res.Rollup = time.Since(t0)
	if err := l.analyze(ctx, false); err != nil {
		return nil, err
	}

	svc := desk.New(st, nil)
	p := &access.Principal{Role: domain.RoleSupervisor, UserID: 0, Scope: []int64{sa.ID}}
	stop, err := StartCPUProfile(o.CPUProfile)
	if err != nil {
		return nil, err
	}
	defer stop()
	for range o.Runs {
		t, cpu := time.Now(), cpuTime()
		m, err := svc.Metrics(ctx, p, desk.MetricsQuery{From: start, To: end})
		if err != nil {
			return nil, err
		}
		res.Runs = append(res.Runs, time.Since(t))
		res.CPU = append(res.CPU, cpuTime()-cpu)
		res.Metrics = m
		t = time.Now()
		if _, err := svc.Metrics(ctx, p, desk.MetricsQuery{From: end.AddDate(0, 0, -30), To: end, Team: teams[0]}); err != nil {
			return nil, err
		}
		res.Month = append(res.Month, time.Since(t))
		t = time.Now()
		if _, err := svc.Metrics(ctx, p, desk.MetricsQuery{From: start, To: end, Agent: agents[0]}); err != nil {
			return nil, err
		}
		res.Agent = append(res.Agent, time.Since(t))
	}
	stop()
	slices.Sort(res.Runs)
	slices.Sort(res.Month)
	slices.Sort(res.Agent)
	slices.Sort(res.CPU)
	// Once from every ticket, to compare the figures and the time.
	t0 = time.Now()
	all, err := svc.Metrics(ctx, p, desk.MetricsQuery{From: start, To: end, FromTickets: true})
	if err != nil {
		return nil, err
	}
	res.FromTickets = time.Since(t0)
	res.Exact = reflect.DeepEqual(all, res.Metrics)
	return res, nil
}

// Print writes the result.
func (r *DeskMetricsResult) Print(w io.Writer, o DeskMetricsOptions) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%s\n", r.Dialect)
	fmt.Fprintf(tw, "data\t%d tickets over %d days, %d agents in %d teams, %d active messages, written in %v\n",
		r.Tickets, o.Days, o.Agents, o.Teams, r.ActiveMessages, r.Load.Round(time.Millisecond))
	t := r.Metrics.Total
	fmt.Fprintf(tw, "figures\topened %d, answered %d, closed %d, abandoned %d, from active messages %d (%.1f%% of %d sent); first response p50 %.0f s p90 %.0f s\n",
		t.Opened, t.Answered, t.Closed, t.Abandoned, t.FromActiveMessages, 100*r.Metrics.ActiveAnsweredShare, r.Metrics.ActiveMessagesSent,
		t.FirstResponse.P50, t.FirstResponse.P90)
	med := func(d []time.Duration) time.Duration { return d[len(d)/2].Round(time.Millisecond) }
	fmt.Fprintf(tw, "metrics of the %d days\tmedian %v\tmin %v\tmax %v\t(%d runs)\n", o.Days, med(r.Runs), r.Runs[0].Round(time.Millisecond),
		r.Runs[len(r.Runs)-1].Round(time.Millisecond), len(r.Runs))
	fmt.Fprintf(tw, "  CPU time of each\tmedian %v\tmin %v\tmax %v\n", med(r.CPU), r.CPU[0].Round(time.Millisecond),
		r.CPU[len(r.CPU)-1].Round(time.Millisecond))
	fmt.Fprintf(tw, "metrics of 30 days, one team\tmedian %v\tmin %v\tmax %v\n", med(r.Month), r.Month[0].Round(time.Millisecond),
		r.Month[len(r.Month)-1].Round(time.Millisecond))
	fmt.Fprintf(tw, "metrics of the %d days, one agent\tmedian %v\tmin %v\tmax %v\n", o.Days, med(r.Agent), r.Agent[0].Round(time.Millisecond),
		r.Agent[len(r.Agent)-1].Round(time.Millisecond))
	fmt.Fprintf(tw, "rollup\tfilled from the tickets in %v; the %d days from every ticket instead: %v, same figures: %v\n",
		r.Rollup.Round(time.Millisecond), o.Days, r.FromTickets.Round(time.Millisecond), r.Exact)
	tw.Flush()
}
