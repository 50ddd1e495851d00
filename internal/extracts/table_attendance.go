package extracts

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/store"
)

// The help desk's tables (seed 004, "Métricas de atendimento", "Histórico
// de atendimento", "Status dos atendentes"): the raw tickets opened in the
// period, their conversations ticket by ticket, and each agent's time in
// each status, day by day.
func init() {
	register(&Table{Type: "attendance_metrics", Group: "extract.group.attendance", Order: 40,
		Columns: []Column{{"extract.col.ticket", 0}, {"extract.col.opened_at", export.KindDateTime}, {"extract.col.channel", 0},
			{"extract.col.team", 0}, {"extract.col.agent", 0}, {"extract.col.contact_name", 0}, {"extract.col.contact", 0},
			{"extract.col.origin", 0}, {"extract.col.state", 0}, {"extract.col.assigned_at", export.KindDateTime},
			{"extract.col.first_response_at", export.KindDateTime}, {"extract.col.closed_at", export.KindDateTime},
			{"extract.col.waiting_s", 0}, {"extract.col.first_response_s", 0}, {"extract.col.handling_s", 0}, {"extract.col.tags", 0}},
		Rows: attendanceMetrics})
	register(&Table{Type: "attendance_history", Group: "extract.group.history", Order: 50,
		Columns: []Column{{"extract.col.ticket", 0}, {"extract.col.team", 0}, {"extract.col.agent", 0}, {"extract.col.contact", 0},
			{"extract.col.at", export.KindDateTime}, {"extract.col.author", 0}, {"extract.col.content_type", 0}, {"extract.col.message", 0}},
		Rows: attendanceHistory})
	register(&Table{Type: "agent_status", Group: "extract.group.agents", Order: 60,
		Columns: []Column{{"extract.col.date", 0}, {"extract.col.agent", 0}, {"extract.col.email", 0}, {"extract.col.agent_status", 0},
			{"extract.col.pause_reason", 0}, {"extract.col.seconds", 0}, {"extract.col.duration", 0}},
		Rows: agentStatus})
}

// seconds is the whole seconds from a to b, "" when either is missing.
func seconds(a, b *time.Time) string {
	if a == nil || b == nil {
		return ""
	}
	return count(int64(b.Sub(*a) / time.Second))
}

// attendanceMetrics writes each ticket with the times the desk's metrics
// are computed from: waiting (a queued ticket's time until an agent took
// it), first response (from opening) and handling (from the agent taking
// it, or its opening, to its close), in seconds.
func attendanceMetrics(ctx context.Context, q *Query, emit func([]string) error) error {
	row := make([]string, 16)
	return q.Store.AttendanceTickets(ctx, q.Scope, q.From, q.To, func(t *store.TicketExtractRow) error {
		opened := t.OpenedAt
		waiting, handling := "", ""
		if t.Origin != domain.TicketFromActiveMessage {
			waiting = seconds(&opened, t.AssignedAt)
		}
		if t.State == string(domain.TicketClosed) {
			start := &opened
			if t.AssignedAt != nil {
				start = t.AssignedAt
			}
			handling = seconds(start, t.ClosedAt)
		}
		row[0], row[1], row[2], row[3], row[4] = count(t.ID), q.Time(&opened), t.Channel, t.Team, t.Agent
		row[5], row[6], row[7], row[8] = t.Contact, t.Phone, i18n.T(q.Lang, "extract.ticket_origin."+t.Origin), i18n.T(q.Lang, "extract.ticket_state."+t.State)
		row[9], row[10], row[11] = q.Time(t.AssignedAt), q.Time(t.FirstResponseAt), q.Time(t.ClosedAt)
		row[12], row[13], row[14], row[15] = waiting, seconds(&opened, t.FirstResponseAt), handling, strings.ReplaceAll(t.Tags, ",", ", ")
		return emit(row)
	})
}

// attendanceHistory writes each ticket's messages: who wrote (the contact,
// the agent, or the bot) and what.
func attendanceHistory(ctx context.Context, q *Query, emit func([]string) error) error {
	contact := i18n.T(q.Lang, "extract.author.contact")
	row := make([]string, 8)
	return q.Store.AttendanceHistory(ctx, q.Scope, q.From, q.To, func(h *store.HistoryRow) error {
		author := contact
		if h.Direction == domain.DirectionMT {
			switch {
			case h.Sender != "":
				author = h.Sender
			case h.BotID != 0:
				author = botName(q, &h.BotID, nil)
			default:
				author = ""
			}
		}
		text := h.Text
		if text == "" && h.TemplateName != "" {
			text = h.TemplateName
		}
		row[0], row[1], row[2], row[3] = count(h.TicketID), h.Team, h.Agent, h.Phone
		row[4], row[5], row[6], row[7] = q.Time(&h.At), author, reports.ContentLabel(q.Lang, h.ContentType), text
		return emit(row)
	})
}

// statusKey is a status and, for a pause, its reason.
type statusKey struct {
	status domain.AgentStatus
	reason string
}

// statusOrder is the order an agent's day lists its statuses in.
var statusOrder = map[domain.AgentStatus]int{domain.AgentOnline: 0, domain.AgentPaused: 1, domain.AgentInvisible: 2, domain.AgentOffline: 3}

// agentStatus writes, for each day of the period and each agent of the
// scope, the time spent in each status (a pause for each reason apart),
// from the desk's status log. Before an agent's first change they were
// offline; today ends now.
func agentStatus(ctx context.Context, q *Query, emit func([]string) error) error {
	agents, err := q.Store.Agents(ctx, q.Scope)
	if err != nil {
		return err
	}
	if len(agents) == 0 {
		return nil
	}
	ids := make([]int64, len(agents))
	for i := range agents {
		ids[i] = agents[i].UserID
	}
	end := q.To
	if now := q.Store.Now(); now.Before(end) {
		end = now
	}
	log, err := q.Store.StatusLog(ctx, ids, q.From, end)
	if err != nil {
		return err
	}
	byUser := map[int64][]domain.StatusChange{}
	for _, c := range log {
		byUser[c.UserID] = append(byUser[c.UserID], c)
	}
	dateLayout := "02/01/2006"
	if i18n.Normalize(q.Lang) == "en" {
		dateLayout = time.DateOnly
	}
	labels := map[domain.AgentStatus]string{}
	for st := range statusOrder {
		labels[st] = i18n.T(q.Lang, "extract.agent_status."+string(st))
	}
	row := make([]string, 7)
	for day := q.From; day.Before(end); day = nextDay(day, q.Location) {
		dayEnd := nextDay(day, q.Location)
		if dayEnd.After(end) {
			dayEnd = end
		}
		for _, a := range agents {
			times := statusTimes(byUser[a.UserID], day, dayEnd)
			keys := make([]statusKey, 0, len(times))
			for k := range times {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool {
				if keys[i].status != keys[j].status {
					return statusOrder[keys[i].status] < statusOrder[keys[j].status]
				}
				return keys[i].reason < keys[j].reason
			})
			for _, k := range keys {
				secs := times[k]
				row[0], row[1], row[2], row[3], row[4] = day.In(q.Location).Format(dateLayout), a.Name, a.Email, labels[k.status], k.reason
				row[5], row[6] = count(secs), clock(secs)
				if err := emit(row); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// nextDay is the start of the day after day's, in loc.
func nextDay(day time.Time, loc *time.Location) time.Time {
	d := day.In(loc)
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
}

// statusTimes adds up the whole seconds one agent spent in each status
// and reason in [from, to), given their changes in order of time (the
// first may be before from: the status the period starts in).
func statusTimes(log []domain.StatusChange, from, to time.Time) map[statusKey]int64 {
	out := map[statusKey]int64{}
	add := func(k statusKey, a, b time.Time) {
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			out[k] += int64(b.Sub(a) / time.Second)
		}
	}
	cur, since := statusKey{status: domain.AgentOffline}, from
	for _, c := range log {
		if !c.At.Before(to) {
			break
		}
		add(cur, since, c.At)
		cur, since = statusKey{c.Status, ""}, c.At
		if c.Status == domain.AgentPaused {
			cur.reason = c.Reason
		}
	}
	add(cur, since, to)
	return out
}

// clock writes seconds as h:mm:ss.
func clock(secs int64) string {
	return fmt.Sprintf("%d:%02d:%02d", secs/3600, secs/60%60, secs%60)
}
