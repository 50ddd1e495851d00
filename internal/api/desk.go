package api

import (
	"net/http"
	"strconv"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/desk"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/send"
)

// The help desk's endpoints (SPEC 4.7). The desk knows the agent from the
// token: one created with user_id acts as that user.

func (h *Handler) deskRoutes(handle func(string, func(http.ResponseWriter, *http.Request, *access.Principal))) {
	handle("GET /api/v1/desk/me", h.deskMe)
	handle("PUT /api/v1/desk/status", h.deskSetStatus)
	handle("GET /api/v1/desk/agents", h.deskAgents)
	handle("PUT /api/v1/desk/agents/{id}", h.deskSetAgent)
	handle("GET /api/v1/desk/status-log", h.deskStatusLog)
	handle("GET /api/v1/desk/teams", h.deskTeams)
	handle("POST /api/v1/desk/teams", h.deskCreateTeam)
	handle("PUT /api/v1/desk/teams/{id}/members", h.deskSetMembers)
	handle("GET /api/v1/desk/pause-reasons", h.deskPauseReasons)
	handle("POST /api/v1/desk/pause-reasons", h.deskCreatePauseReason)
	handle("POST /api/v1/desk/active-messages", h.deskSendActive)
	handle("GET /api/v1/desk/active-messages", h.deskActiveMessages)
	handle("GET /api/v1/desk/tickets", h.deskTickets)
	handle("GET /api/v1/desk/tickets/{id}", h.deskTicket)
	handle("POST /api/v1/desk/tickets/{id}/messages", h.deskReply)
	handle("POST /api/v1/desk/tickets/{id}/transfer", h.deskTransfer)
	handle("POST /api/v1/desk/tickets/{id}/close", h.deskClose)
	handle("GET /api/v1/desk/metrics", h.deskMetrics)
}

func rows(v any) map[string]any { return map[string]any{"rows": v} }

func (h *Handler) deskMe(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	a, err := h.Desk.Me(r.Context(), p)
	reply(w, r, http.StatusOK, a, err)
}

func (h *Handler) deskSetStatus(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		Status domain.AgentStatus `json:"status"`
		Reason string             `json:"reason"`
	}
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	a, err := h.Desk.SetStatus(r.Context(), p, in.Status, in.Reason)
	reply(w, r, http.StatusOK, a, err)
}

func (h *Handler) deskAgents(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Desk.Agents(r.Context(), p)
	reply(w, r, http.StatusOK, rows(list), err)
}

func (h *Handler) deskSetAgent(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var in struct {
		MaxTickets int `json:"max_tickets"`
	}
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	a, err := h.Desk.SetAgentLimit(r.Context(), p, id, in.MaxTickets)
	reply(w, r, http.StatusOK, a, err)
}

func (h *Handler) deskStatusLog(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	from, to, err := desk.ParsePeriod(r.URL.Query().Get("from"), r.URL.Query().Get("to"), h.Desk.Location, h.Desk.Now())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	list, err := h.Desk.StatusLog(r.Context(), p, from, to)
	reply(w, r, http.StatusOK, rows(list), err)
}

func (h *Handler) deskTeams(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Desk.Teams(r.Context(), p)
	reply(w, r, http.StatusOK, rows(list), err)
}

func (h *Handler) deskCreateTeam(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in desk.TeamInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	t, err := h.Desk.CreateTeam(r.Context(), p, in)
	reply(w, r, http.StatusCreated, t, err)
}

func (h *Handler) deskSetMembers(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var in struct {
		Members []int64 `json:"members"`
	}
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	t, err := h.Desk.SetMembers(r.Context(), p, id, in.Members)
	reply(w, r, http.StatusOK, t, err)
}

func (h *Handler) deskPauseReasons(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Desk.PauseReasons(r.Context(), p)
	reply(w, r, http.StatusOK, rows(list), err)
}

func (h *Handler) deskCreatePauseReason(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in desk.PauseReasonInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	pr, err := h.Desk.CreatePauseReason(r.Context(), p, in)
	reply(w, r, http.StatusCreated, pr, err)
}

// sent answers a message the desk sent: 201, or 422 with the message when
// the platform refused it (as POST /api/v1/messages does).
func sent(w http.ResponseWriter, r *http.Request, out *send.Outcome, err error) {
	switch {
	case err != nil:
		respond.Error(w, r, err)
	case out.Refused:
		respond.JSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error":   respond.ErrorDetail{Code: "refused", Message: send.RefusalMessage(out.Message)},
			"message": out.Message,
		})
	default:
		respond.JSON(w, http.StatusCreated, out.Message)
	}
}

func (h *Handler) deskSendActive(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in desk.ActiveInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	out, err := h.Desk.SendActive(r.Context(), p, in)
	sent(w, r, out, err)
}

func (h *Handler) deskActiveMessages(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Desk.ActiveMessages(r.Context(), p, i18n.Normalize(r.URL.Query().Get("lang")))
	reply(w, r, http.StatusOK, rows(list), err)
}

func (h *Handler) deskTickets(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Desk.Tickets(r.Context(), p, r.URL.Query().Get("state"))
	reply(w, r, http.StatusOK, rows(list), err)
}

func (h *Handler) deskTicket(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	v, err := h.Desk.Ticket(r.Context(), p, id)
	reply(w, r, http.StatusOK, v, err)
}

func (h *Handler) deskReply(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var in desk.ReplyInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	out, err := h.Desk.Reply(r.Context(), p, id, in)
	sent(w, r, out, err)
}

func (h *Handler) deskTransfer(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var in desk.TransferInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	t, err := h.Desk.Transfer(r.Context(), p, id, in)
	reply(w, r, http.StatusOK, t, err)
}

func (h *Handler) deskClose(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var in struct {
		Tags []string `json:"tags"`
	}
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	t, err := h.Desk.Close(r.Context(), p, id, in.Tags)
	reply(w, r, http.StatusOK, t, err)
}

func (h *Handler) deskMetrics(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q := r.URL.Query()
	from, to, err := desk.ParsePeriod(q.Get("from"), q.Get("to"), h.Desk.Location, h.Desk.Now())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	mq := desk.MetricsQuery{From: from, To: to}
	for name, dst := range map[string]*int64{"team": &mq.Team, "agent": &mq.Agent} {
		if v := q.Get(name); v != "" {
			if *dst, err = strconv.ParseInt(v, 10, 64); err != nil || *dst <= 0 {
				respond.Error(w, r, domain.Errorf(domain.EINVALID, "%s %q is not a positive integer", name, v))
				return
			}
		}
	}
	m, err := h.Desk.Metrics(r.Context(), p, mq)
	reply(w, r, http.StatusOK, m, err)
}
