package api

import (
	"net/http"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
)

// reportConsumption answers the consumption report of a month, as JSON
// or its tables as a CSV or XLSX file (admins only; the service decides).
func (h *Handler) reportConsumption(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q, err := h.Billing.ParseQuery(r.URL.Query())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && billing.ExportFormats[format] == "" {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "format must be json, csv or xlsx, not %q", format))
		return
	}
	rep, err := h.Billing.Consumption(r.Context(), p, q)
	if format == "" || format == "json" || err != nil {
		reply(w, r, http.StatusOK, rep, err)
		return
	}
	bom := r.URL.Query().Get("bom")
	e := &billing.Export{Report: rep, Format: format, Lang: i18n.Normalize(r.Header.Get("Accept-Language")),
		BOM: bom == "1" || bom == "true", Now: h.Billing.Now()}
	respond.Attachment(w, e.Filename(), e.ContentType())
	if _, err := e.Write(w); err != nil && r.Context().Err() == nil {
		respond.LogInternal(r, err)
	}
}

// rateCard answers the rate card the consumption report prices with.
func (h *Handler) rateCard(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	card, err := h.Billing.RateCard(p)
	reply(w, r, http.StatusOK, card, err)
}

// budgetRoutes registers the budgets' endpoints and a campaign's estimate.
func (h *Handler) budgetRoutes(handle func(string, func(http.ResponseWriter, *http.Request, *access.Principal))) {
	handle("GET /api/v1/budgets", h.listBudgets)
	handle("PUT /api/v1/budgets/{id}", h.setBudget)
	handle("DELETE /api/v1/budgets/{id}", h.deleteBudget)
	handle("GET /api/v1/campaigns/{id}/estimate", h.campaignEstimate)
}

// listBudgets answers the budgets of the caller's subaccounts with the
// current month's spend (admins only).
func (h *Handler) listBudgets(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Billing.Budgets(r.Context(), p)
	reply(w, r, http.StatusOK, map[string]any{"data": list}, err)
}

// setBudget sets a subaccount's monthly budget ({id} is the subaccount).
func (h *Handler) setBudget(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var in billing.BudgetInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	st, err := h.Billing.SetBudget(r.Context(), p, id, in)
	reply(w, r, http.StatusOK, st, err)
}

// deleteBudget removes a subaccount's budget.
func (h *Handler) deleteBudget(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if err := h.Billing.DeleteBudget(r.Context(), p, id); err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// campaignEstimate answers what a campaign's audience will cost at the
// rate card's rate for its template's category.
func (h *Handler) campaignEstimate(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.Campaigns.Get(r.Context(), p, id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	e, err := h.Billing.Estimate(r.Context(), p, c)
	reply(w, r, http.StatusOK, e, err)
}
