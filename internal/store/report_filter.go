package store

import (
	"math"
	"slices"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
)

// The report's filters as SQL conditions: the one place they are
// interpreted, for the page (report.go), the summary (summary.go), the
// rollup's counts (rollup.go) and the exports (export.go) alike.

// hourMS is the rollup's bucket: one UTC hour in milliseconds.
const hourMS = 3_600_000

// reportQuery is a report filter made ready for SQL: its direction, its
// time range in unix milliseconds, and whether the rollup can count it.
type reportQuery struct {
	f        *domain.MessageFilter
	d        sqlDialect
	dir      domain.Direction
	from, to int64 // [from, to); to is math.MaxInt64 when open
	pinpoint bool  // phone, correlation id or conversation id: not in the rollup
}

func newReportQuery(f *domain.MessageFilter, d sqlDialect) *reportQuery {
	q := &reportQuery{f: f, d: d, dir: f.Direction, to: math.MaxInt64}
	if q.dir == "" {
		q.dir = domain.DirectionMT
	}
	if !f.From.IsZero() && ms(f.From) > 0 {
		q.from = ms(f.From)
	}
	if !f.To.IsZero() {
		q.to = max(ms(f.To), 0)
	}
	q.pinpoint = f.Phone != "" || f.CorrelationID != "" || f.ConversationID != ""
	return q
}

// limit is the page size asked for, within bounds.
func (q *reportQuery) limit() int {
	if q.f.Limit <= 0 {
		return 50
	}
	return min(q.f.Limit, domain.MaxReportLimit)
}

// empty reports whether nothing can match: an empty scope or range.
func (q *reportQuery) empty() bool {
	return (q.f.Subaccounts != nil && len(q.f.Subaccounts) == 0) || q.from >= q.to
}

// scopeConds adds the subaccount conditions: the caller's scope and the
// subaccount filter. p prefixes column names ("m." for messages).
func (q *reportQuery) scopeConds(w *whereBuilder, p string) {
	f := q.f
	if f.Subaccounts != nil {
		if len(f.Subaccounts) == 0 {
			w.add(`1 = 0`)
		} else {
			w.in(p+`subaccount_id`, len(f.Subaccounts), func(i int) any { return f.Subaccounts[i] })
		}
	}
	if f.Subaccount != 0 {
		w.add(p + `subaccount_id = ` + w.arg(f.Subaccount))
	}
}

// dimConds adds the conditions of the filters the rollup counts, besides
// subaccount, direction and time. Campaign and user are 0 in the rollup for
// none, and filters are never 0, so the same conditions serve both tables.
func (q *reportQuery) dimConds(w *whereBuilder, p string) {
	for _, d := range q.dims() {
		w.add(d.cond(&w.sqlArgs, p))
	}
}

// pinpointConds adds the conditions of the filters the rollup does not
// count, for one of q.branches().
func (q *reportQuery) pinpointConds(w *whereBuilder, branch int) {
	f := q.f
	if f.CorrelationID != "" {
		// The message's own correlation id, or else its contact's: two
		// disjoint branches, each read through its own index (one OR would
		// defeat both on PostgreSQL).
		if branch == 0 {
			w.add(`m.correlation_id = ` + w.arg(f.CorrelationID) + ` AND m.correlation_id <> ''`)
		} else {
			w.add(`m.correlation_id = '' AND m.contact_id IN
				(SELECT id FROM contacts WHERE correlation_id = ` + w.arg(f.CorrelationID) + ` AND correlation_id <> '')`)
		}
	}
	if f.Phone != "" {
		w.add(`m.contact_id IN (SELECT id FROM contacts WHERE phone_key = ` + w.arg(phone.Canonical(f.Phone)) + `)`)
	}
	if f.ConversationID != "" {
		w.add(`m.conversation_id = ` + w.arg(f.ConversationID))
	}
}

// branches is how many disjoint parts q's rows are read in.
func (q *reportQuery) branches() int {
	if q.f.CorrelationID != "" {
		return 2
	}
	return 1
}

// dim is one rollup-counted filter, with what the page planner needs to
// know about reading it through an index of its own on SQLite.
type dim struct {
	column  string
	values  []any // the column equals the one value, or (set) is one of them
	set     bool
	index   string // SQLite index that leads with it, "" for none
	ordered bool   // that index is in time order within one value
	// terms, when set, are the condition instead of column and values:
	// index is partial and these are its WHERE clause's terms, values
	// written into the SQL rather than bound, since SQLite reads a partial
	// index only for a statement whose WHERE clause holds the index's own
	// terms, literal for literal (a bound value is not known when the
	// statement is prepared). The terms may stand for two filters
	// (conversation type and session).
	terms []partialTerm
}

// partialIndex is a partial index of messages that holds only the rows
// where each of its terms holds (see dim.terms).
type partialIndex struct {
	name  string
	terms []partialTerm
}

// partialTerm is column = value, value a SQL literal written exactly as
// the index's WHERE clause writes it.
type partialTerm struct{ column, value string }

// cond is d's condition on columns prefixed with p, its placeholders
// taken from a.
func (d dim) cond(a *sqlArgs, p string) string {
	if len(d.terms) > 0 {
		conds := make([]string, len(d.terms))
		for i, t := range d.terms {
			conds[i] = p + t.column + ` = ` + t.value
		}
		return strings.Join(conds, ` AND `)
	}
	if d.set {
		return p + d.column + ` IN (` + a.list(len(d.values), func(i int) any { return d.values[i] }) + `)`
	}
	return p + d.column + ` = ` + a.arg(d.values[0])
}

// dims lists q's rollup-counted filters (see dim), in a fixed order.
func (q *reportQuery) dims() []dim {
	f := q.f
	var out []dim
	if len(f.Statuses) > 0 {
		values := make([]any, len(f.Statuses))
		for i, s := range f.Statuses {
			values[i] = string(s)
		}
		out = append(out, dim{column: `status`, values: values, set: true,
			index: "messages_status", ordered: len(values) == 1})
	}
	if f.ContentType != "" {
		out = append(out, dim{column: `content_type`, values: []any{f.ContentType}, index: "messages_content_type",
			ordered: true})
	}
	// A conversation type whose rows (with the session flag asked for)
	// are few may have a partial index of its own; its terms then stand
	// for the conversation type's filter, and the session's if they name
	// it.
	session := f.Session
	if f.ConversationType != "" {
		d := dim{column: `conversation_type`, values: []any{string(f.ConversationType)}}
		if p := q.d.conversationIndex(q.dir, f.ConversationType, f.Session); p != nil {
			d.index, d.ordered, d.terms = p.name, true, p.terms
			if slices.ContainsFunc(p.terms, func(t partialTerm) bool { return t.column == `with_session` }) {
				session = nil
			}
		}
		out = append(out, d)
	}
	if f.Campaign != 0 {
		out = append(out, dim{column: `campaign_id`, values: []any{f.Campaign}, index: "messages_campaign", ordered: true})
	}
	if f.User != 0 {
		out = append(out, dim{column: `sender_user_id`, values: []any{f.User}, index: "messages_sender_user"})
	}
	if session != nil {
		out = append(out, dim{column: `with_session`, values: []any{*session}})
	}
	return out
}

// hours returns the whole hours inside [from, to), as [lo, hi) hour
// numbers, and the partial edges outside them as millisecond ranges.
func (q *reportQuery) hours() (lo, hi int64, edges [][2]int64) {
	lo = (q.from + hourMS - 1) / hourMS
	hi = q.to / hourMS
	if lo >= hi {
		return 0, 0, [][2]int64{{q.from, q.to}}
	}
	if q.from < lo*hourMS {
		edges = append(edges, [2]int64{q.from, lo * hourMS})
	}
	if hi*hourMS < q.to && q.to != math.MaxInt64 {
		edges = append(edges, [2]int64{hi * hourMS, q.to})
	}
	return lo, hi, edges
}

// enclosing returns the hours that cover [from, to).
func (q *reportQuery) enclosing() (lo, hi int64) {
	hi = math.MaxInt64
	if q.to != math.MaxInt64 {
		hi = (q.to + hourMS - 1) / hourMS
	}
	return q.from / hourMS, hi
}

// where adds every condition of q on messages m, for the time range [lo,
// hi) and one of q.branches().
func (q *reportQuery) where(w *whereBuilder, lo, hi int64, branch int) {
	q.scopeConds(w, `m.`)
	w.add(`m.direction = ` + w.arg(string(q.dir)))
	if lo > 0 {
		w.add(`m.at >= ` + w.arg(lo))
	}
	if hi != math.MaxInt64 {
		w.add(`m.at < ` + w.arg(hi))
	}
	q.dimConds(w, `m.`)
	q.pinpointConds(w, branch)
}
