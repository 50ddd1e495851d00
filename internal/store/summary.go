package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// The consolidated report: counts by status, day, content type and
// campaign. It adds up the rollup's hours (rollup.go) when it can, and
// groups the matching messages (report_filter.go's conditions) otherwise.

// timeCell counts the messages of one status in one time bucket.
type timeCell struct {
	start    int64 // bucket start, unix ms
	status   string
	accepted bool
	n        int64
}

// summaryParts are the counts a summary is added up from.
type summaryParts struct {
	times     []timeCell
	contents  map[string]int64
	campaigns map[int64]map[string]int64 // campaign → status → count
}

func newSummaryParts() *summaryParts {
	return &summaryParts{contents: map[string]int64{}, campaigns: map[int64]map[string]int64{}}
}

func (p *summaryParts) addCampaign(campaign int64, status string, n int64) {
	if p.campaigns[campaign] == nil {
		p.campaigns[campaign] = map[string]int64{}
	}
	p.campaigns[campaign][status] += n
}

// ReportSummary returns the consolidated view of the messages matching f
// (its limit and cursor ignored), with days in loc. It sums the rollup
// when every filter is one it counts and loc's offsets are whole hours,
// and groups the matching messages otherwise.
func (s *Store) ReportSummary(ctx context.Context, f *domain.MessageFilter, loc *time.Location) (*domain.MessageSummary, error) {
	if loc == nil {
		loc = time.UTC
	}
	q := newReportQuery(f, s.sqlDialect)
	sum := &domain.MessageSummary{ByStatus: map[domain.Status]int64{}, ByContentType: map[string]int64{},
		ByDay: []domain.DayCount{}, ByCampaign: []domain.CampaignCount{}}
	if q.empty() {
		return sum, nil
	}
	var parts *summaryParts
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if !q.pinpoint {
			parts, err = s.rollupSummary(ctx, tx, q)
			if err != nil {
				return err
			}
			if wholeHours(parts.times, loc) {
				return nil
			}
		}
		parts = newSummaryParts()
		return s.exactSummary(ctx, tx, q, q.from, q.to, quarterMS, parts)
	})
	if err != nil {
		return nil, err
	}
	summarize(sum, q, parts, loc)
	return sum, nil
}

// wholeHours reports whether every bucket of cells starts on a whole hour
// in loc, so that each falls in a single local day.
func wholeHours(cells []timeCell, loc *time.Location) bool {
	for _, c := range cells {
		if _, off := time.UnixMilli(c.start).In(loc).Zone(); off%3600 != 0 {
			return false
		}
	}
	return true
}

// rollupSummary reads q's counts from the rollup for its whole hours and
// exactly for its partial edges.
func (s *Store) rollupSummary(ctx context.Context, db queryer, q *reportQuery) (*summaryParts, error) {
	p := newSummaryParts()
	lo, hi, edges := q.hours()
	w := &whereBuilder{}
	q.scopeConds(w, ``)
	w.add(`direction = ` + w.arg(string(q.dir)))
	w.add(`hour >= ` + w.arg(lo))
	w.add(`hour < ` + w.arg(hi))
	q.dimConds(w, ``)
	read := func(what, query string, args []any, scan func(rows *sql.Rows) error) error {
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("summary %s: %w", what, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("summary %s: %w", what, err)
			}
		}
		return rows.Err()
	}
	err := read("by hour", `SELECT hour, status, accepted, CAST(SUM(n) AS BIGINT) FROM `+s.rollup(q)+w.sql()+
		` GROUP BY hour, status, accepted`, w.args, func(rows *sql.Rows) error {
		var c timeCell
		if err := rows.Scan(&c.start, &c.status, &c.accepted, &c.n); err != nil {
			return err
		}
		if c.n != 0 {
			c.start *= hourMS
			p.times = append(p.times, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// By content type: from the day level's whole days and the hours of
	// the days the range cuts, unless by campaign or user.
	byContent, bw := s.rollup(q)+w.sql(), w
	if q.level() != levelAttributed {
		bw = &whereBuilder{}
		from := s.span(levelMain, &bw.sqlArgs, lo, hi, func(w *whereBuilder) {
			q.scopeConds(w, ``)
			w.add(`direction = ` + w.arg(string(q.dir)))
		})
		q.dimConds(bw, ``)
		byContent = from + bw.sql()
	}
	err = read("by content type", `SELECT content_type, CAST(SUM(n) AS BIGINT) FROM `+byContent+
		` GROUP BY content_type`, bw.args, func(rows *sql.Rows) error {
		var ct string
		var n int64
		if err := rows.Scan(&ct, &n); err != nil {
			return err
		}
		if n != 0 {
			p.contents[ct] += n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Campaigns are in the attributed rollup only.
	cw := w.clone()
	cw.add(`campaign_id <> 0`)
	from := s.rollupFrom(levelAttributed, "")
	if q.f.Campaign != 0 {
		from = s.rollup(q)
	}
	err = read("by campaign", `SELECT campaign_id, status, CAST(SUM(n) AS BIGINT) FROM `+from+cw.sql()+
		` GROUP BY campaign_id, status`, cw.args, func(rows *sql.Rows) error {
		var campaign, n int64
		var status string
		if err := rows.Scan(&campaign, &status, &n); err != nil {
			return err
		}
		if n != 0 {
			p.addCampaign(campaign, status, n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, e := range edges {
		if err := s.exactSummary(ctx, db, q, e[0], e[1], hourMS, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// quarterMS is the bucket of exact summaries: every time zone's offset is
// a multiple of a quarter hour.
const quarterMS = 900_000

// exactSummary adds the messages of q in [lo, hi) to p, grouped by buckets
// of the given length in milliseconds.
func (s *Store) exactSummary(ctx context.Context, db queryer, q *reportQuery, lo, hi, bucket int64, p *summaryParts) error {
	for b := 0; b < q.branches(); b++ {
		if err := s.exactBranch(ctx, db, q, lo, hi, bucket, b, p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) exactBranch(ctx context.Context, db queryer, q *reportQuery, lo, hi, bucket int64, branch int, p *summaryParts) error {
	w := &whereBuilder{}
	q.where(w, lo, hi, branch)
	rows, err := db.QueryContext(ctx, `SELECT m.at / `+strconv.FormatInt(bucket, 10)+`, m.status, m.content_type,
		COALESCE(m.campaign_id, 0), `+acceptedExpr+`, COUNT(*) FROM messages m`+w.sql()+` GROUP BY 1, 2, 3, 4, 5`, w.args...)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c timeCell
		var ct string
		var campaign int64
		if err := rows.Scan(&c.start, &c.status, &ct, &campaign, &c.accepted, &c.n); err != nil {
			return fmt.Errorf("summary: %w", err)
		}
		c.start *= bucket
		p.times = append(p.times, c)
		p.contents[ct] += c.n
		if campaign != 0 {
			p.addCampaign(campaign, c.status, c.n)
		}
	}
	return rows.Err()
}

// summarize adds the parts up into sum, with days in loc.
func summarize(sum *domain.MessageSummary, q *reportQuery, p *summaryParts, loc *time.Location) {
	days := map[string]*domain.DayCount{}
	dayOf := map[int64]string{}
	for _, c := range p.times {
		st := domain.Status(c.status)
		sum.Total += c.n
		sum.ByStatus[st] += c.n
		if c.accepted && q.dir == domain.DirectionMT && st != domain.StatusSending {
			sum.Accepted += c.n
		}
		day, ok := dayOf[c.start]
		if !ok {
			day = time.UnixMilli(c.start).In(loc).Format(time.DateOnly)
			dayOf[c.start] = day
		}
		d := days[day]
		if d == nil {
			d = &domain.DayCount{Day: day}
			days[day] = d
		}
		countInto(&d.Total, &d.Delivered, &d.Read, &d.Failed, st, c.n)
	}
	for ct, n := range p.contents {
		sum.ByContentType[ct] = n
	}
	// Every day of a bounded range is listed, with zeros where nothing
	// happened, so a chart of it has no gaps.
	if len(days) > 0 && q.from > 0 && q.to != math.MaxInt64 {
		first := time.UnixMilli(q.from).In(loc)
		last := time.UnixMilli(q.to - 1).In(loc).Format(time.DateOnly)
		d := time.Date(first.Year(), first.Month(), first.Day(), 12, 0, 0, 0, loc)
		for i := 0; i < 5*366 && d.Format(time.DateOnly) <= last; i++ {
			if day := d.Format(time.DateOnly); days[day] == nil {
				days[day] = &domain.DayCount{Day: day}
			}
			d = d.AddDate(0, 0, 1)
		}
	}
	for _, d := range days {
		sum.ByDay = append(sum.ByDay, *d)
	}
	slices.SortFunc(sum.ByDay, func(a, b domain.DayCount) int { return strings.Compare(a.Day, b.Day) })
	for id, statuses := range p.campaigns {
		k := domain.CampaignCount{CampaignID: id}
		for st, n := range statuses {
			countInto(&k.Total, &k.Delivered, &k.Read, &k.Failed, domain.Status(st), n)
		}
		if k.Total != 0 {
			sum.ByCampaign = append(sum.ByCampaign, k)
		}
	}
	slices.SortFunc(sum.ByCampaign, func(a, b domain.CampaignCount) int { // most messages first
		if a.Total != b.Total {
			return cmp.Compare(b.Total, a.Total)
		}
		return cmp.Compare(a.CampaignID, b.CampaignID)
	})
	reached := sum.ByStatus[domain.StatusDelivered] + sum.ByStatus[domain.StatusRead]
	if sum.Accepted > 0 {
		sum.DeliveryRate = float64(reached) / float64(sum.Accepted)
	}
	if reached > 0 {
		sum.ReadRate = float64(sum.ByStatus[domain.StatusRead]) / float64(reached)
	}
}

func countInto(total, delivered, read, failed *int64, st domain.Status, n int64) {
	*total += n
	switch {
	case st == domain.StatusRead:
		*read += n
		*delivered += n
	case st == domain.StatusDelivered:
		*delivered += n
	case st.IsFailure():
		*failed += n
	}
}
