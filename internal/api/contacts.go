package api

import (
	"net/http"
	"strconv"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/contacts"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/respond"
)

func (h *Handler) getContact(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.Contacts.Get(r.Context(), p, id)
	reply(w, r, http.StatusOK, c, err)
}

// listContacts lists contacts by id, a page at a time (after=<last id>),
// optionally those with one phone number.
func (h *Handler) listContacts(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q := r.URL.Query()
	f := contacts.ListFilter{Phone: q.Get("phone")}
	var err error
	if f.Limit, err = queryInt(q.Get("limit"), "limit must be between 1 and "+strconv.Itoa(domain.MaxReportLimit)); err != nil {
		respond.Error(w, r, err)
		return
	}
	if v := q.Get("after"); v != "" {
		if f.AfterID, err = strconv.ParseInt(v, 10, 64); err != nil || f.AfterID < 0 {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "after must be a contact id"))
			return
		}
	}
	list, err := h.Contacts.List(r.Context(), p, f)
	reply(w, r, http.StatusOK, map[string]any{"contacts": list}, err)
}

// upsertContact creates or updates a contact by phone.
func (h *Handler) upsertContact(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		contacts.Input
		SubaccountID int64 `json:"subaccount_id"`
	}
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.Contacts.Upsert(r.Context(), p, in.SubaccountID, in.Input)
	reply(w, r, http.StatusOK, c, err)
}

// importContacts takes a CSV (header: phone, and optionally name,
// correlation_id and any custom field columns) and upserts the good rows;
// bad rows are reported one by one and the good ones kept.
func (h *Handler) importContacts(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var sa int64
	if v := r.URL.Query().Get("subaccount_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "subaccount_id must be a positive integer id"))
			return
		}
		sa = n
	}
	res, err := h.Contacts.Import(r.Context(), p, sa, http.MaxBytesReader(w, r.Body, 32<<20))
	reply(w, r, http.StatusOK, res, err)
}

func (h *Handler) setOptOut(out bool) func(http.ResponseWriter, *http.Request, *access.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *access.Principal) {
		id, err := pathID(r)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		c, err := h.Contacts.SetOptOut(r.Context(), p, id, out)
		reply(w, r, http.StatusOK, c, err)
	}
}
