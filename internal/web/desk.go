package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/desk"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/live"
	"github.com/ticksapp/ticks/internal/reports"
)

// The help desk's pages (Atendimento): the agent's desk with the Mensagens
// Ativas tab and the tickets, a ticket's view, the supervisor's live view,
// the attendance metrics and the desk's settings. Everything goes through
// desk.Service with the visitor's principal, as the API does.

func (h *Handler) deskRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /desk", h.auth(h.deskPage))
	mux.HandleFunc("GET /desk/live", h.auth(h.deskLive))
	mux.HandleFunc("POST /desk/status", h.auth(h.deskStatus))
	mux.HandleFunc("POST /desk/active", h.auth(h.deskSendActive))
	mux.HandleFunc("GET /desk/tickets/{id}", h.auth(h.ticketPage))
	mux.HandleFunc("POST /desk/tickets/{id}/reply", h.auth(h.ticketReply))
	mux.HandleFunc("POST /desk/tickets/{id}/transfer", h.auth(h.ticketTransfer))
	mux.HandleFunc("POST /desk/tickets/{id}/close", h.auth(h.ticketClose))
	mux.HandleFunc("GET /desk/supervisor", h.auth(h.supervisorPage))
	mux.HandleFunc("GET /desk/supervisor/live", h.auth(h.supervisorLive))
	mux.HandleFunc("GET /desk/metrics", h.auth(h.deskMetricsPage))
	mux.HandleFunc("GET /desk/settings", h.auth(h.deskSettingsPage))
	mux.HandleFunc("POST /desk/settings/teams", h.auth(h.deskCreateTeam))
	mux.HandleFunc("POST /desk/settings/teams/{id}/members", h.auth(h.deskSetMembers))
	mux.HandleFunc("POST /desk/settings/agents/{id}", h.auth(h.deskSetLimit))
	mux.HandleFunc("POST /desk/settings/pause-reasons", h.auth(h.deskAddPauseReason))
}

// deskView is the agent's desk as the page and its live stream show it.
type deskView struct {
	Status      domain.AgentStatus `json:"status"`
	StatusLabel string             `json:"status_label"`
	Reason      string             `json:"reason"`
	Today       string             `json:"today"`
	Active      []activeRow        `json:"active"`
	Tickets     []ticketRow        `json:"tickets"`
	NoActive    bool               `json:"no_active"`
	NoTickets   bool               `json:"no_tickets"`
	ActiveCount int                `json:"active_count"`
	TicketCount int                `json:"ticket_count"`
}

// activeRow is a line of the Mensagens Ativas tab.
type activeRow struct {
	Key      string `json:"key"`
	To       string `json:"to"`
	Template string `json:"template"`
	Status   string `json:"status"`
	Label    string `json:"label"`
	Reason   string `json:"reason"`
	SentAt   string `json:"sent_at"`
	Until    string `json:"until"`
}

// ticketRow is a line of a list of tickets.
type ticketRow struct {
	Key      string `json:"key"`
	URL      string `json:"url"`
	Contact  string `json:"contact"`
	Team     string `json:"team"`
	Agent    string `json:"agent"`
	State    string `json:"state"`
	Label    string `json:"label"`
	Origin   string `json:"origin"`
	OpenedAt string `json:"opened_at"`
	Waiting  string `json:"waiting"`
}

// when writes an instant as the pages do, in the server's time zone.
func (h *Handler) when(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(h.Location).Format(reports.TimeLayout(lang))
}

func (h *Handler) ticketRow(lang string, t *domain.Ticket, now time.Time) ticketRow {
	return ticketRow{Key: strconv.FormatInt(t.ID, 10), URL: "/desk/tickets/" + strconv.FormatInt(t.ID, 10),
		Contact: t.Contact, Team: t.Team, Agent: t.Agent, State: string(t.State),
		Label: i18n.T(lang, "desk.state."+string(t.State)), Origin: i18n.T(lang, "desk.origin."+t.Origin),
		OpenedAt: h.when(lang, t.OpenedAt), Waiting: durationText(now.Sub(t.OpenedAt).Seconds())}
}

// deskRefresh is how often an agent's live desk is read again with no
// change published.
const deskRefresh = 20 * time.Second

// deskGap is the shortest time between two snapshots of an agent's desk:
// an agent's topic changes a few times a minute (their messages' statuses,
// their tickets), so a shorter gap than the hub's costs little and a
// status that follows another closely (delivered, then read) is not held
// back half a second.
const deskGap = 100 * time.Millisecond

// deskView reads the visitor's desk: status, tab and tickets.
func (h *Handler) deskView(ctx context.Context, p *access.Principal, lang string) (*deskView, error) {
	me, err := h.Desk.Me(ctx, p)
	if err != nil {
		return nil, err
	}
	items, err := h.Desk.ActiveMessages(ctx, p, lang)
	if err != nil {
		return nil, err
	}
	v := &deskView{Status: me.Status, StatusLabel: i18n.T(lang, "desk.agent."+string(me.Status)), Reason: me.Reason,
		Today: todayText(lang, me.Today), Active: []activeRow{}, Tickets: []ticketRow{}}
	for _, it := range items {
		row := activeRow{Key: strconv.FormatInt(it.MessageID, 10), To: it.To, Template: it.Template, Status: string(it.Status),
			Label: i18n.T(lang, "desk.active."+string(it.Status)), Reason: it.Reason,
			SentAt: h.when(lang, it.SentAt), Until: h.when(lang, it.VisibleUntil)}
		if it.ErrorCode != 0 && it.Status == domain.DeskFailed {
			row.Reason = fmt.Sprintf("%s (%d)", it.Reason, it.ErrorCode)
		}
		v.Active = append(v.Active, row)
	}
	now := h.Now()
	list, err := h.Desk.Attending(ctx, p)
	if err != nil {
		return nil, err
	}
	// Their own open tickets first, then the queue. A supervisor's desk
	// lists their own and the waiting ones; the whole floor is on the
	// supervisor page.
	for _, state := range []domain.TicketState{domain.TicketOpen, domain.TicketWaiting} {
		for i := range list {
			if list[i].State != state || (state == domain.TicketOpen && (list[i].AgentID == nil || *list[i].AgentID != p.UserID)) {
				continue
			}
			v.Tickets = append(v.Tickets, h.ticketRow(lang, &list[i], now))
		}
	}
	v.NoActive, v.NoTickets = len(v.Active) == 0, len(v.Tickets) == 0
	v.ActiveCount, v.TicketCount = len(v.Active), len(v.Tickets)
	return v, nil
}

// todayText writes the time in each status today: "Online 2 h 5 min · …".
func todayText(lang string, today map[domain.AgentStatus]int64) string {
	var parts []string
	for _, st := range domain.AgentStatuses {
		if sec := today[st]; sec > 0 {
			parts = append(parts, i18n.T(lang, "desk.agent."+string(st))+" "+durationText(float64(sec)))
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, " · ")
}

// deskData is the agent's page.
type deskData struct {
	View      *deskView
	Statuses  []domain.AgentStatus
	Reasons   []domain.PauseReason
	Channels  []domain.Channel
	Templates []domain.Template
	Sent      string
}

func (h *Handler) deskPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := v.principal.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		h.forbidden(w, r, v)
		return
	}
	ctx, lang := r.Context(), v.lang()
	d := &deskData{Statuses: domain.AgentStatuses}
	var err error
	if d.View, err = h.deskView(ctx, v.principal, lang); err == nil {
		if d.Reasons, err = h.Desk.PauseReasons(ctx, v.principal); err == nil {
			if d.Channels, err = h.Channels.List(ctx, v.principal); err == nil {
				d.Templates, err = h.Channels.Templates(ctx, v.principal)
			}
		}
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	approved := d.Templates[:0]
	for _, t := range d.Templates {
		if strings.EqualFold(t.Status, "APPROVED") {
			approved = append(approved, t)
		}
	}
	d.Templates = approved
	p := v.page(i18n.T(lang, "desk.title"), "desk")
	p.Data = d
	switch {
	case r.URL.Query().Get("sent") != "":
		p.Flash = i18n.T(lang, "desk.active.sent_ok")
	case r.URL.Query().Get("closed") != "":
		p.Flash = i18n.T(lang, "desk.ticket.closed_ok")
	case r.URL.Query().Get("transferred") != "":
		p.Flash = i18n.T(lang, "desk.ticket.transferred_ok")
	}
	h.render(w, r, http.StatusOK, "desk", p)
}

// deskLive streams the visitor's desk: a new snapshot when one of their
// active messages moves, a ticket comes or goes, or their status changes.
func (h *Handler) deskLive(w http.ResponseWriter, r *http.Request, v *visitor) {
	if _, err := h.Desk.Me(r.Context(), v.principal); err != nil {
		h.fail(w, r, v, err)
		return
	}
	// Changes are published as they happen; the periodic refresh only
	// catches what another server changed, so it can be slower here,
	// where hundreds of agents keep the page open.
	h.Live.StreamPaced(w, r, desk.AgentTopic(v.principal.UserID), "desk", deskRefresh, deskGap, func(ctx context.Context) (any, error) {
		return h.deskView(ctx, v.principal, v.lang())
	})
}

func (h *Handler) deskStatus(w http.ResponseWriter, r *http.Request, v *visitor) {
	status := domain.AgentStatus(r.PostFormValue("status"))
	reason := ""
	if status == domain.AgentPaused {
		reason = r.PostFormValue("reason")
	}
	if _, err := h.Desk.SetStatus(r.Context(), v.principal, status, reason); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/desk", http.StatusSeeOther)
}

// formParams reads a form's template parameters: one per line.
func formParams(s string) []string {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// templateChoice reads a "name|language" option of a template select.
func templateChoice(s string) (name, lang string) {
	name, lang, _ = strings.Cut(s, "|")
	return name, lang
}

func (h *Handler) deskSendActive(w http.ResponseWriter, r *http.Request, v *visitor) {
	ch, _ := strconv.ParseInt(r.PostFormValue("channel"), 10, 64)
	name, lang := templateChoice(r.PostFormValue("template"))
	if l := strings.TrimSpace(r.PostFormValue("language")); l != "" {
		lang = l
	}
	out, err := h.Desk.SendActive(r.Context(), v.principal, desk.ActiveInput{ChannelID: ch, To: r.PostFormValue("to"),
		Template: name, Language: lang, Params: formParams(r.PostFormValue("params"))})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	// A refused message shows on the tab as Falha, with its reason.
	_ = out
	http.Redirect(w, r, "/desk?sent=1", http.StatusSeeOther)
}

// ticketData is a ticket's page.
type ticketData struct {
	View       *desk.TicketView
	Lines      []messageLine
	State      string
	WindowOpen bool
	WindowLeft string
	Mine       bool
	Teams      []domain.Team
	Agents     []domain.Agent
	Templates  []domain.Template
	History    []string
}

// messageLine is a message of a ticket's conversation.
type messageLine struct {
	Out    bool
	At     string
	Text   string
	Media  string // the media's link, when the message carries one
	Kind   string
	Status string
	Error  string
}

// mediaTypes are the content types whose message is a file.
var mediaTypes = map[string]bool{"image": true, "video": true, "audio": true, "document": true, "sticker": true}

func (h *Handler) messageLine(lang string, m *domain.Message) messageLine {
	l := messageLine{Out: m.Direction == domain.DirectionMT, At: h.when(lang, m.At), Text: m.Text, Kind: m.ContentType}
	if l.Out {
		l.Status = i18n.T(lang, "status."+string(m.Status))
	}
	if m.TemplateName != "" && l.Text == "" {
		l.Text = "[" + m.TemplateName + "]"
	}
	if mediaTypes[m.ContentType] && len(m.Content) > 0 {
		var c struct {
			Link, ID, Caption, Filename string
		}
		if json.Unmarshal(m.Content, &c) == nil {
			if u, err := url.Parse(c.Link); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
				l.Media = u.String()
			}
			if l.Text == "" {
				l.Text = c.Caption
			}
			if l.Media == "" && c.ID != "" {
				l.Text = strings.TrimSpace(l.Text + " " + i18n.T(lang, "desk.ticket.media_id", m.ContentType, c.ID))
			}
			if c.Filename != "" {
				l.Kind += " · " + c.Filename
			}
		}
	}
	return l
}

func (h *Handler) ticketPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	ctx, lang := r.Context(), v.lang()
	tv, err := h.Desk.Ticket(ctx, v.principal, pathID(r))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &ticketData{View: tv, State: i18n.T(lang, "desk.state."+string(tv.State)),
		Mine: tv.AgentID != nil && *tv.AgentID == v.principal.UserID}
	for i := range tv.Messages {
		d.Lines = append(d.Lines, h.messageLine(lang, &tv.Messages[i]))
	}
	now := h.Now()
	if tv.WindowEndsAt != nil && tv.WindowEndsAt.After(now) {
		d.WindowOpen, d.WindowLeft = true, durationText(tv.WindowEndsAt.Sub(now).Seconds())
	}
	if d.Teams, err = h.Desk.Teams(ctx, v.principal); err != nil {
		h.fail(w, r, v, err)
		return
	}
	teams := d.Teams[:0]
	for _, t := range d.Teams {
		if t.SubaccountID == tv.SubaccountID {
			teams = append(teams, t)
		}
	}
	d.Teams = teams
	// Agents to transfer to: the team mates of the ticket's subaccount.
	names := map[int64]string{}
	ofTicket := &access.Principal{Role: domain.RoleAdmin, Scope: []int64{tv.SubaccountID}}
	if list, err := h.Access.Users(ctx, ofTicket); err == nil {
		for _, u := range list {
			names[u.ID] = u.Name
			if u.ID == v.principal.UserID || u.Disabled || u.Role == domain.RoleViewer {
				continue
			}
			if u.Role == domain.RoleAdmin || containsInt(u.Subaccounts, tv.SubaccountID) {
				d.Agents = append(d.Agents, domain.Agent{UserID: u.ID, Name: u.Name, Email: u.Email})
			}
		}
	}
	if tmpl, err := h.Channels.Templates(ctx, v.principal); err == nil {
		for _, t := range tmpl {
			if t.SubaccountID == tv.SubaccountID && strings.EqualFold(t.Status, "APPROVED") {
				d.Templates = append(d.Templates, t)
			}
		}
	}
	teamNames := map[int64]string{}
	for _, t := range d.Teams {
		teamNames[t.ID] = t.Name
	}
	for _, e := range tv.Events {
		line := h.when(lang, e.At) + " · " + i18n.T(lang, "desk.event."+e.Kind)
		if e.AgentID != nil {
			line += " · " + names[*e.AgentID]
		}
		if e.TeamID != nil {
			line += " · " + teamNames[*e.TeamID]
		}
		if e.ByUserID != nil && (e.AgentID == nil || *e.ByUserID != *e.AgentID) {
			line += " (" + i18n.T(lang, "desk.event.by", names[*e.ByUserID]) + ")"
		}
		d.History = append(d.History, line)
	}
	p := v.page(i18n.T(lang, "desk.ticket.title", tv.ID), "desk")
	p.Data = d
	if r.URL.Query().Get("replied") != "" {
		p.Flash = i18n.T(lang, "desk.ticket.replied_ok")
	}
	if msg := r.URL.Query().Get("refused"); msg != "" {
		p.Error = i18n.T(lang, "desk.ticket.refused", msg)
	}
	h.render(w, r, http.StatusOK, "desk_ticket", p)
}

func containsInt(list []int64, id int64) bool {
	for _, v := range list {
		if v == id {
			return true
		}
	}
	return false
}

func (h *Handler) ticketReply(w http.ResponseWriter, r *http.Request, v *visitor) {
	id := pathID(r)
	in := desk.ReplyInput{Text: r.PostFormValue("text")}
	if t := r.PostFormValue("template"); t != "" {
		in.Template, in.Language = templateChoice(t)
		in.Params, in.Text = formParams(r.PostFormValue("params")), ""
	}
	out, err := h.Desk.Reply(r.Context(), v.principal, id, in)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	back := fmt.Sprintf("/desk/tickets/%d?replied=1", id)
	if out.Refused {
		back = fmt.Sprintf("/desk/tickets/%d?refused=%s", id, url.QueryEscape(h.reasonOf(v.lang(), out.Message)))
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// reasonOf is a refused message's reason in lang.
func (h *Handler) reasonOf(lang string, m *domain.Message) string {
	if m == nil {
		return ""
	}
	return reports.Reason(lang, m)
}

func (h *Handler) ticketTransfer(w http.ResponseWriter, r *http.Request, v *visitor) {
	var in desk.TransferInput
	to := r.PostFormValue("to")
	kind, idText, _ := strings.Cut(to, ":")
	id, _ := strconv.ParseInt(idText, 10, 64)
	switch kind {
	case "agent":
		in.AgentID = id
	case "team":
		in.TeamID = id
	}
	if _, err := h.Desk.Transfer(r.Context(), v.principal, pathID(r), in); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/desk?transferred=1", http.StatusSeeOther)
}

func (h *Handler) ticketClose(w http.ResponseWriter, r *http.Request, v *visitor) {
	tags := strings.Split(r.PostFormValue("tags"), ",")
	if len(tags) > 10 {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "%s", i18n.T(v.lang(), "desk.ticket.too_many_tags")))
		return
	}
	if _, err := h.Desk.Close(r.Context(), v.principal, pathID(r), tags); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/desk?closed=1", http.StatusSeeOther)
}

// supervisorView is the floor as the supervisor's page shows it.
type supervisorView struct {
	Agents  []agentRow  `json:"agents"`
	Queue   []ticketRow `json:"queue"`
	Open    []ticketRow `json:"open"`
	Waiting int         `json:"waiting"`
	Online  int         `json:"online"`
	Busy    int         `json:"busy"`
	NoQueue bool        `json:"no_queue"`
}

// agentRow is an agent's line on the supervisor's page.
type agentRow struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Label  string `json:"label"`
	Since  string `json:"since"`
	Today  string `json:"today"`
	Load   string `json:"load"`
}

func (h *Handler) supervisorView(ctx context.Context, p *access.Principal, lang string) (*supervisorView, error) {
	agents, err := h.Desk.Agents(ctx, p)
	if err != nil {
		return nil, err
	}
	sv := &supervisorView{Agents: []agentRow{}, Queue: []ticketRow{}, Open: []ticketRow{}}
	for _, a := range agents {
		row := agentRow{Key: strconv.FormatInt(a.UserID, 10), Name: cmpOr(a.Name, a.Email), Status: string(a.Status),
			Label: i18n.T(lang, "desk.agent."+string(a.Status)), Today: todayText(lang, a.Today),
			Load: fmt.Sprintf("%d / %d", a.OpenTickets, a.MaxTickets)}
		if a.Reason != "" {
			row.Label += " · " + a.Reason
		}
		if a.Since != nil {
			row.Since = h.when(lang, *a.Since)
		}
		if a.Status == domain.AgentOnline {
			sv.Online++
		}
		if a.OpenTickets > 0 {
			sv.Busy++
		}
		sv.Agents = append(sv.Agents, row)
	}
	now := h.Now()
	for _, state := range []string{"waiting", "open"} {
		list, err := h.Desk.Tickets(ctx, p, state)
		if err != nil {
			return nil, err
		}
		for i := range list {
			if state == "waiting" {
				sv.Queue = append(sv.Queue, h.ticketRow(lang, &list[i], now))
			} else {
				sv.Open = append(sv.Open, h.ticketRow(lang, &list[i], now))
			}
		}
	}
	sv.Waiting, sv.NoQueue = len(sv.Queue), len(sv.Queue) == 0
	return sv, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (h *Handler) supervisorPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := v.principal.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		h.forbidden(w, r, v)
		return
	}
	sv, err := h.supervisorView(r.Context(), v.principal, v.lang())
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	p := v.page(i18n.T(v.lang(), "desk.supervisor.title"), "desk-supervisor")
	p.Data = sv
	h.render(w, r, http.StatusOK, "desk_supervisor", p)
}

// supervisorTopic is what a supervisor's page follows: their subaccount's
// desk, or the whole organization's when they see several.
func supervisorTopic(p *access.Principal) live.Topic {
	if len(p.Scope) == 1 {
		return desk.SupervisorTopic(p.Scope[0])
	}
	return desk.OrganizationTopic
}

func (h *Handler) supervisorLive(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := v.principal.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		h.forbidden(w, r, v)
		return
	}
	h.Live.Stream(w, r, supervisorTopic(v.principal), "floor", func(ctx context.Context) (any, error) {
		return h.supervisorView(ctx, v.principal, v.lang())
	})
}

// metricsData is the attendance metrics page.
type metricsData struct {
	From, To    string
	Team, Agent int64
	Teams       []domain.Team
	Agents      []domain.Agent
	Metrics     *desk.Metrics
	Groups      []metricsGroup
}

// metricsGroup is one table of the metrics: by team, agent or tag.
type metricsGroup struct {
	ID, Title string
	Rows      []desk.Group
}

func (h *Handler) deskMetricsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := v.principal.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		h.forbidden(w, r, v)
		return
	}
	ctx, lang, q := r.Context(), v.lang(), r.URL.Query()
	now := h.Now().In(h.Location)
	d := &metricsData{From: q.Get("from"), To: q.Get("to")}
	if d.From == "" {
		d.From = now.AddDate(0, 0, -6).Format(time.DateOnly)
	}
	if d.To == "" {
		d.To = now.Format(time.DateOnly)
	}
	d.Team, _ = strconv.ParseInt(q.Get("team"), 10, 64)
	d.Agent, _ = strconv.ParseInt(q.Get("agent"), 10, 64)
	from, to, err := desk.ParsePeriod(d.From, d.To, h.Location, now)
	if err == nil {
		d.Metrics, err = h.Desk.Metrics(ctx, v.principal, desk.MetricsQuery{From: from, To: to, Team: d.Team, Agent: d.Agent})
	}
	if err == nil {
		if d.Teams, err = h.Desk.Teams(ctx, v.principal); err == nil {
			d.Agents, err = h.Desk.Agents(ctx, v.principal)
		}
	}
	p := v.page(i18n.T(lang, "desk.metrics.title"), "desk-metrics")
	if err != nil {
		if domain.ErrorCode(err) != domain.EINVALID {
			h.fail(w, r, v, err)
			return
		}
		p.Error = h.errorText(r, lang, err)
	}
	if d.Metrics != nil {
		for _, g := range []struct {
			id   string
			rows []desk.Group
		}{{"team", d.Metrics.ByTeam}, {"agent", d.Metrics.ByAgent}, {"tag", d.Metrics.ByTag}} {
			rows := g.rows
			for i := range rows {
				if rows[i].Name == "" {
					rows[i].Name = i18n.T(lang, "desk.metrics.none_"+g.id)
				}
			}
			d.Groups = append(d.Groups, metricsGroup{ID: g.id, Title: i18n.T(lang, "desk.metrics.by_"+g.id), Rows: rows})
		}
	}
	p.Data = d
	h.render(w, r, http.StatusOK, "desk_metrics", p)
}

// settingsData is the desk's settings page: teams, members, limits and
// pause reasons.
type settingsData struct {
	Subaccounts []domain.Subaccount
	Channels    []domain.Channel
	Teams       []teamRow
	Agents      []domain.Agent
	Users       []domain.User
	Reasons     []domain.PauseReason
}

type teamRow struct {
	domain.Team
	Subaccount, Channel string
	Members             map[int64]bool
	Candidates          []domain.User
}

func (h *Handler) deskSettingsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := v.principal.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		h.forbidden(w, r, v)
		return
	}
	ctx, lang := r.Context(), v.lang()
	d := &settingsData{}
	teams, err := h.Desk.Teams(ctx, v.principal)
	if err == nil {
		if d.Subaccounts, err = h.Access.Subaccounts(ctx, v.principal); err == nil {
			if d.Channels, err = h.Channels.List(ctx, v.principal); err == nil {
				if d.Agents, err = h.Desk.Agents(ctx, v.principal); err == nil {
					if d.Users, err = h.Access.Users(ctx, v.principal); err == nil {
						d.Reasons, err = h.Desk.PauseReasons(ctx, v.principal)
					}
				}
			}
		}
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	saNames, chNames := map[int64]string{}, map[int64]string{}
	for i := range d.Subaccounts {
		d.Subaccounts[i].Name = subaccountName(lang, &d.Subaccounts[i])
		saNames[d.Subaccounts[i].ID] = d.Subaccounts[i].Name
	}
	for _, c := range d.Channels {
		chNames[c.ID] = c.Name
	}
	for _, t := range teams {
		row := teamRow{Team: t, Subaccount: saNames[t.SubaccountID], Channel: i18n.T(lang, "desk.settings.all_channels"),
			Members: map[int64]bool{}}
		if t.ChannelID != nil {
			row.Channel = chNames[*t.ChannelID]
		}
		for _, m := range t.Members {
			row.Members[m] = true
		}
		for _, u := range d.Users {
			if !u.Disabled && u.Role != domain.RoleViewer && (u.Role == domain.RoleAdmin || containsInt(u.Subaccounts, t.SubaccountID)) {
				row.Candidates = append(row.Candidates, u)
			}
		}
		d.Teams = append(d.Teams, row)
	}
	p := v.page(i18n.T(lang, "desk.settings.title"), "desk-settings")
	p.Data = d
	if r.URL.Query().Get("saved") != "" {
		p.Flash = i18n.T(lang, "desk.settings.saved")
	}
	h.render(w, r, http.StatusOK, "desk_settings", p)
}

func formInt(r *http.Request, name string) int64 {
	n, _ := strconv.ParseInt(r.PostFormValue(name), 10, 64)
	return n
}

func (h *Handler) deskCreateTeam(w http.ResponseWriter, r *http.Request, v *visitor) {
	in := desk.TeamInput{SubaccountID: formInt(r, "subaccount"), Name: r.PostFormValue("name"),
		AbandonAfterMinutes: int(formInt(r, "abandon_after_minutes")), Members: []int64{}}
	if ch := formInt(r, "channel"); ch != 0 {
		in.ChannelID = &ch
	}
	if _, err := h.Desk.CreateTeam(r.Context(), v.principal, in); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/desk/settings?saved=1", http.StatusSeeOther)
}

func (h *Handler) deskSetMembers(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "%v", err))
		return
	}
	members := []int64{}
	for _, s := range r.PostForm["member"] {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			members = append(members, id)
		}
	}
	if _, err := h.Desk.SetMembers(r.Context(), v.principal, pathID(r), members); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/desk/settings?saved=1", http.StatusSeeOther)
}

func (h *Handler) deskSetLimit(w http.ResponseWriter, r *http.Request, v *visitor) {
	if _, err := h.Desk.SetAgentLimit(r.Context(), v.principal, pathID(r), int(formInt(r, "max_tickets"))); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/desk/settings?saved=1", http.StatusSeeOther)
}

func (h *Handler) deskAddPauseReason(w http.ResponseWriter, r *http.Request, v *visitor) {
	if _, err := h.Desk.CreatePauseReason(r.Context(), v.principal, desk.PauseReasonInput{SubaccountID: formInt(r, "subaccount"),
		Name: r.PostFormValue("name")}); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/desk/settings?saved=1", http.StatusSeeOther)
}
