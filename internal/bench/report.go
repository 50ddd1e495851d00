package bench

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// ReportOptions configure the detailed report benchmark.
type ReportOptions struct {
	DatabaseURL string // a database made by Seed
	Runs        int    // timed runs of each case, after one warm-up
	Limit       int    // page size
	Only        string // run only the cases and combinations whose name contains this
	// Combos also times the first page of every combination of one to
	// three of the report's rollup-counted filters (status, content type,
	// conversation type, session), each with every value the seeded data
	// holds (and every status, found or not), Runs times each.
	Combos bool
}

// ReportCase is one search of the benchmark.
type ReportCase struct {
	Name   string
	Filter domain.MessageFilter
}

// ReportTiming is what one case measured.
type ReportTiming struct {
	Case                      string
	Total                     int64
	Rows                      int
	PageMedian, PageP95       time.Duration // first page with its total
	SummaryMedian, SummaryP95 time.Duration
	SummaryTotal              int64
}

// ReportResult is a run of the benchmark.
type ReportResult struct {
	Dialect  store.Dialect
	Messages int64 // in the main subaccount, from the rollup
	Days     int
	Runs     int
	Timings  []ReportTiming
	// Combinations: how many were timed, and the slowest by p95.
	Combos      int
	CombosOver  int
	CombosWorst []ReportTiming
}

// ReportTarget is SPEC section 6's bar for a first page with its total.
const ReportTarget = 200 * time.Millisecond

// Report measures the detailed report on a seeded database: for each case,
// the first page (with its total) and the consolidated summary, each run
// Runs times after a warm-up.
func Report(ctx context.Context, o ReportOptions) (*ReportResult, error) {
	if o.Runs < 1 {
		o.Runs = 7
	}
	if o.Limit < 1 {
		o.Limit = 50
	}
	st, err := openSeeded(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	cases, res, err := reportCases(ctx, st, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	res.Runs = o.Runs
	loc, _ := time.LoadLocation("America/Sao_Paulo")
	for _, c := range cases {
		if o.Only != "" && !strings.Contains(c.Name, o.Only) {
			continue
		}
		t := ReportTiming{Case: c.Name}
		var pages, sums []time.Duration
		for run := 0; run <= o.Runs; run++ {
			f := c.Filter
			f.Limit = o.Limit
			t0 := time.Now()
			page, err := st.ReportMessages(ctx, &f)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
			d := time.Since(t0)
			t0 = time.Now()
			sum, err := st.ReportSummary(ctx, &f, loc)
			if err != nil {
				return nil, fmt.Errorf("%s: summary: %w", c.Name, err)
			}
			ds := time.Since(t0)
			t.Total, t.Rows, t.SummaryTotal = page.Total, len(page.Rows), sum.Total
			if run > 0 { // the first run warms the caches
				pages, sums = append(pages, d), append(sums, ds)
			}
		}
		t.PageMedian, t.PageP95 = quantiles(pages)
		t.SummaryMedian, t.SummaryP95 = quantiles(sums)
		res.Timings = append(res.Timings, t)
	}
	if o.Combos {
		if err := timeCombos(ctx, st, o, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// timeCombos times the first page (with its total) of every combination
// of one to three filters, keeping the slowest ten. Every combination is
// screened with one run after a warm-up; the slowest twenty are then timed
// with o.Runs runs each, and those figures replace the screening's.
func timeCombos(ctx context.Context, st *store.Store, o ReportOptions, res *ReportResult) error {
	base, dims, err := comboDims(ctx, st, o.DatabaseURL)
	if err != nil {
		return err
	}
	type combo struct {
		f      domain.MessageFilter
		timing ReportTiming
	}
	var all []combo
	var add func(i int, f domain.MessageFilter, name []string)
	add = func(i int, f domain.MessageFilter, name []string) {
		if c := strings.Join(name, " + "); len(name) > 0 && strings.Contains(c, o.Only) {
			all = append(all, combo{f, ReportTiming{Case: c}})
		}
		if len(name) == 3 {
			return
		}
		for j := i; j < len(dims); j++ {
			for _, v := range dims[j].values {
				g := f
				v.set(&g)
				add(j+1, g, append(slices.Clip(name), dims[j].name+" "+v.name))
			}
		}
	}
	add(0, base, nil)
	time1 := func(c *combo, runs int) error {
		var pages []time.Duration
		for run := 0; run <= runs; run++ {
			g := c.f
			g.Limit = o.Limit
			t0 := time.Now()
			page, err := st.ReportMessages(ctx, &g)
			if err != nil {
				return fmt.Errorf("%s: %w", c.timing.Case, err)
			}
			if run > 0 {
				pages = append(pages, time.Since(t0))
			}
			c.timing.Total, c.timing.Rows = page.Total, len(page.Rows)
		}
		c.timing.PageMedian, c.timing.PageP95 = quantiles(pages)
		return nil
	}
	for i := range all {
		if err := time1(&all[i], 1); err != nil {
			return err
		}
	}
	slowest := func() {
		slices.SortFunc(all, func(a, b combo) int { return cmp.Compare(b.timing.PageP95, a.timing.PageP95) })
	}
	slowest()
	for i := range min(20, len(all)) {
		if err := time1(&all[i], max(o.Runs, 1)); err != nil {
			return err
		}
	}
	slowest()
	res.Combos = len(all)
	for _, c := range all {
		if c.timing.PageP95 > ReportTarget {
			res.CombosOver++
		}
	}
	for _, c := range all[:min(10, len(all))] {
		res.CombosWorst = append(res.CombosWorst, c.timing)
	}
	return nil
}

// comboDim is one filter of the combinations and the values it takes.
type comboDim struct {
	name   string
	values []comboValue
}

type comboValue struct {
	name string
	set  func(f *domain.MessageFilter)
}

// comboDims reads, from a seeded database's rollup, the values each
// filter takes in the main subaccount's sent messages, over the whole
// range the base filter covers.
func comboDims(ctx context.Context, st *store.Store, dsn string) (domain.MessageFilter, []comboDim, error) {
	db, err := rawDB(st.Dialect(), dsn)
	if err != nil {
		return domain.MessageFilter{}, nil, err
	}
	defer db.Close()
	sa, err := benchSubaccount(ctx, db)
	if err != nil {
		return domain.MessageFilter{}, nil, err
	}
	distinct := func(column string) ([]string, error) {
		rows, err := db.QueryContext(ctx, `SELECT DISTINCT `+column+` FROM message_rollup
			WHERE subaccount_id = $1 AND direction = 'mt' AND `+column+` <> '' ORDER BY 1`, sa)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
	var minAt, maxAt int64
	if err := db.QueryRowContext(ctx, `SELECT MIN(at), MAX(at) FROM messages WHERE subaccount_id = $1 AND direction = 'mt'`, sa).
		Scan(&minAt, &maxAt); err != nil {
		return domain.MessageFilter{}, nil, err
	}
	base := domain.MessageFilter{Subaccounts: []int64{sa}, From: time.UnixMilli(minAt), To: time.UnixMilli(maxAt + 1)}
	status := comboDim{name: "status"}
	for _, s := range domain.Statuses {
		status.values = append(status.values, comboValue{string(s), func(f *domain.MessageFilter) { f.Statuses = []domain.Status{s} }})
	}
	contentTypes, err := distinct(`content_type`)
	if err != nil {
		return domain.MessageFilter{}, nil, err
	}
	content := comboDim{name: "content_type"}
	for _, c := range contentTypes {
		content.values = append(content.values, comboValue{c, func(f *domain.MessageFilter) { f.ContentType = c }})
	}
	conversationTypes, err := distinct(`conversation_type`)
	if err != nil {
		return domain.MessageFilter{}, nil, err
	}
	conversation := comboDim{name: "conversation_type"}
	for _, c := range conversationTypes {
		conversation.values = append(conversation.values, comboValue{c, func(f *domain.MessageFilter) {
			f.ConversationType = domain.ConversationType(c)
		}})
	}
	yes, no := true, false
	session := comboDim{name: "session", values: []comboValue{
		{"true", func(f *domain.MessageFilter) { f.Session = &yes }},
		{"false", func(f *domain.MessageFilter) { f.Session = &no }},
	}}
	return base, []comboDim{status, content, conversation, session}, nil
}

func quantiles(d []time.Duration) (median, p95 time.Duration) {
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, (len(d)*95+99)/100-1)]
}

// Print writes the timings as a table, flagging what misses the target.
func (r *ReportResult) Print(w io.Writer) {
	fmt.Fprintf(w, "database %s: %d messages in the main subaccount over %d days; %d timed runs per case (median, p95)\n",
		r.Dialect, r.Messages, r.Days, r.Runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "case\ttotal\trows\tpage+total median\tp95\tsummary median\tp95\t\t\n")
	slow := 0
	for _, t := range r.Timings {
		flag := ""
		if t.PageP95 > ReportTarget {
			flag = "  over 200 ms"
			slow++
		}
		if t.SummaryTotal != t.Total {
			flag += fmt.Sprintf("  summary total %d differs", t.SummaryTotal)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", t.Case, t.Total, t.Rows, ms3(t.PageMedian), ms3(t.PageP95),
			ms3(t.SummaryMedian), ms3(t.SummaryP95), flag)
	}
	tw.Flush()
	if slow == 0 {
		fmt.Fprintf(w, "every first page with its total within %v at p95\n", ReportTarget)
	} else {
		fmt.Fprintf(w, "%d cases over %v at p95\n", slow, ReportTarget)
	}
	if r.Combos > 0 {
		fmt.Fprintf(w, "\n%d combinations of one to three filters (status, content type, conversation type, session), first page with its total; the slowest:\n", r.Combos)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "combination\ttotal\trows\tmedian\tp95\t\n")
		for _, t := range r.CombosWorst {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t\n", t.Case, t.Total, t.Rows, ms3(t.PageMedian), ms3(t.PageP95))
		}
		tw.Flush()
		if r.CombosOver == 0 {
			fmt.Fprintf(w, "every combination within %v at p95\n", ReportTarget)
		} else {
			fmt.Fprintf(w, "%d combinations over %v at p95\n", r.CombosOver, ReportTarget)
		}
	}
}

func ms3(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// reportCases finds, in a seeded database, the values the cases search
// for: a busy contact's phone, correlation id and conversation, a
// mid-sized campaign, an agent.
func reportCases(ctx context.Context, st *store.Store, dsn string) ([]ReportCase, *ReportResult, error) {
	res := &ReportResult{Dialect: st.Dialect()}
	db, err := rawDB(st.Dialect(), dsn)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	q := func(query string, args []any, dest ...any) error {
		return db.QueryRowContext(ctx, query, args...).Scan(dest...)
	}
	sa, err := benchSubaccount(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	var minAt, maxAt int64
	if err := q(`SELECT MIN(at), MAX(at) FROM messages WHERE subaccount_id = $1 AND direction = 'mt'`, []any{sa}, &minAt, &maxAt); err != nil {
		return nil, nil, err
	}
	if err := q(`SELECT CAST(SUM(n) AS BIGINT) FROM message_rollup WHERE subaccount_id = $1`, []any{sa}, &res.Messages); err != nil {
		return nil, nil, err
	}
	// A typical contact (the generator skews traffic to low ids) and the
	// busiest one.
	var contactID, busiestID int64
	var phoneE164, busiest, corr string
	if err := q(`SELECT id, phone FROM contacts WHERE subaccount_id = $1 ORDER BY id LIMIT 1 OFFSET 20000`, []any{sa}, &contactID, &phoneE164); err != nil {
		if err := q(`SELECT id, phone FROM contacts WHERE subaccount_id = $1 ORDER BY id DESC LIMIT 1 OFFSET 10`, []any{sa}, &contactID, &phoneE164); err != nil {
			return nil, nil, err
		}
	}
	if err := q(`SELECT id, phone FROM contacts WHERE subaccount_id = $1 ORDER BY id LIMIT 1`, []any{sa}, &busiestID, &busiest); err != nil {
		return nil, nil, err
	}
	if err := q(`SELECT correlation_id FROM contacts WHERE subaccount_id = $1 AND correlation_id <> '' ORDER BY id LIMIT 1 OFFSET 500`,
		[]any{sa}, &corr); err != nil {
		return nil, nil, err
	}
	var convID string
	if err := q(`SELECT conversation_id FROM messages WHERE contact_id = $1 AND direction = 'mt' AND conversation_id IS NOT NULL
		ORDER BY at DESC LIMIT 1`, []any{contactID}, &convID); err != nil {
		return nil, nil, err
	}
	var campaign, campaignN, user, userN int64
	if err := q(`SELECT campaign_id, CAST(SUM(n) AS BIGINT) FROM message_rollup_attributed WHERE subaccount_id = $1 AND direction = 'mt'
		AND campaign_id <> 0 GROUP BY campaign_id ORDER BY 2 DESC LIMIT 1 OFFSET 20`, []any{sa}, &campaign, &campaignN); err != nil {
		return nil, nil, err
	}
	if err := q(`SELECT sender_user_id, CAST(SUM(n) AS BIGINT) FROM message_rollup_attributed WHERE subaccount_id = $1 AND direction = 'mt'
		AND sender_user_id <> 0 AND campaign_id = 0 GROUP BY sender_user_id ORDER BY 2 DESC LIMIT 1 OFFSET 10`, []any{sa}, &user, &userN); err != nil {
		return nil, nil, err
	}
	// The whole seeded range, in São Paulo days (whole hours), and a week
	// with minutes at both ends (partial hours, counted exactly).
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	first := time.UnixMilli(minAt).In(sp)
	from := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, sp)
	last := time.UnixMilli(maxAt).In(sp)
	to := time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, sp)
	res.Days = int(to.Sub(from).Hours()/24 + 0.5)
	weekTo := time.UnixMilli(maxAt).Add(-26*time.Hour - 17*time.Minute)
	weekFrom := weekTo.Add(-7*24*time.Hour + 43*time.Minute)
	scope := []int64{sa}
	yes, no := true, false
	failures := []domain.Status{domain.StatusTTLExpired, domain.StatusRejected, domain.StatusUndelivered,
		domain.StatusInvalidNumber, domain.StatusOptedOut, domain.StatusInvalidSession, domain.StatusInternalError,
		domain.StatusInvalidContent, domain.StatusWarmupBlocked, domain.StatusTierLimit, domain.StatusInvalidParameter}
	base := domain.MessageFilter{Subaccounts: scope, From: from, To: to}
	with := func(fn func(f *domain.MessageFilter)) domain.MessageFilter {
		f := base
		fn(&f)
		return f
	}
	cases := []ReportCase{
		{"date range only", base},
		{"direction mo", with(func(f *domain.MessageFilter) { f.Direction = domain.DirectionMO })},
		{"status delivered", with(func(f *domain.MessageFilter) { f.Statuses = []domain.Status{domain.StatusDelivered} })},
		{"status failures (11)", with(func(f *domain.MessageFilter) { f.Statuses = failures })},
		{"status warmup_blocked (rare)", with(func(f *domain.MessageFilter) { f.Statuses = []domain.Status{domain.StatusWarmupBlocked} })},
		{"content_type document", with(func(f *domain.MessageFilter) { f.ContentType = "document" })},
		{"content_type video (rare)", with(func(f *domain.MessageFilter) { f.ContentType = "video" })},
		{"session true", with(func(f *domain.MessageFilter) { f.Session = &yes })},
		{"correlation_id", with(func(f *domain.MessageFilter) { f.CorrelationID = corr })},
		{"phone", with(func(f *domain.MessageFilter) { f.Phone = phoneE164 })},
		{"phone (busiest contact)", with(func(f *domain.MessageFilter) { f.Phone = busiest })},
		{"conversation_id", with(func(f *domain.MessageFilter) { f.ConversationID = convID })},
		{"conversation_type free_entry_point", with(func(f *domain.MessageFilter) { f.ConversationType = domain.ConversationFreeEntryPoint })},
		{fmt.Sprintf("campaign (%d msgs)", campaignN), with(func(f *domain.MessageFilter) { f.Campaign = campaign })},
		{fmt.Sprintf("user (%d msgs)", userN), with(func(f *domain.MessageFilter) { f.User = user })},
		{"campaign + status read", with(func(f *domain.MessageFilter) {
			f.Campaign, f.Statuses = campaign, []domain.Status{domain.StatusRead}
		})},
		{"failures + template + no session", with(func(f *domain.MessageFilter) {
			f.Statuses, f.ContentType, f.Session = failures, "template", &no
		})},
		{"user + image + session", with(func(f *domain.MessageFilter) { f.User, f.ContentType, f.Session = user, "image", &yes })},
		{"mo + button + campaign", with(func(f *domain.MessageFilter) {
			f.Direction, f.ContentType, f.Campaign = domain.DirectionMO, "button", campaign
		})},
		{"busiest phone + status read", with(func(f *domain.MessageFilter) { f.Phone, f.Statuses = busiest, []domain.Status{domain.StatusRead} })},
		{"7 days, partial hours, delivered", with(func(f *domain.MessageFilter) {
			f.From, f.To, f.Statuses = weekFrom, weekTo, []domain.Status{domain.StatusDelivered}
		})},
		{"conversation_type fep + status read + document", with(func(f *domain.MessageFilter) {
			f.ConversationType, f.Statuses, f.ContentType = domain.ConversationFreeEntryPoint, []domain.Status{domain.StatusRead}, "document"
		})},
		{"all subaccounts (admin scope)", domain.MessageFilter{From: from, To: to}},
		{"both subaccounts, failures", with(func(f *domain.MessageFilter) {
			var small int64
			_ = q(`SELECT id FROM subaccounts WHERE name = 'bench-small'`, nil, &small)
			f.Subaccounts, f.Statuses = []int64{sa, small}, failures
		})},
	}
	return cases, res, nil
}

func rawDB(d store.Dialect, dsn string) (*sql.DB, error) {
	if d == store.Postgres {
		return sql.Open("pgx", dsn)
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
	return sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
}
