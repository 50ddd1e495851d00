package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/store"
)

func (h *Handler) savedFor(r *http.Request, v *visitor) ([]store.SavedSearch, error) {
	return h.Store.SavedSearches(r.Context(), v.user.ID, v.principal.Scope)
}

// saveSearch stores the current report search under a name, optionally
// shared with the user's subaccount (the one filtered on, or its only one).
func (h *Handler) saveSearch(w http.ResponseWriter, r *http.Request, v *visitor) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	query := r.PostFormValue("query")
	q, err := url.ParseQuery(query)
	if err == nil {
		_, err = h.filterFromQuery(cleanQuery(q), v) // only searches that run can be saved
	}
	if err != nil || name == "" || len(name) > 100 {
		msg := "name is required (1 to 100 characters)"
		if err != nil {
			msg = errorText(v.lang(), err)
		}
		h.fail(w, r, v, http.StatusBadRequest, msg)
		return
	}
	ss := &store.SavedSearch{UserID: v.user.ID, Name: name, Query: cleanQuery(q).Encode()}
	if r.PostFormValue("share") != "" {
		sa := int64(0)
		if s := q.Get("subaccount"); s != "" {
			sa, _ = strconv.ParseInt(s, 10, 64)
		} else if len(v.user.Subaccounts) == 1 && v.principal.Scope != nil {
			sa = v.user.Subaccounts[0]
		}
		if sa == 0 || !v.principal.CanSee(sa) {
			h.fail(w, r, v, http.StatusBadRequest, i18n.T(v.lang(), "report.subaccount")+": ?")
			return
		}
		ss.SubaccountID = &sa
	}
	if err := h.Store.SaveSearch(r.Context(), ss); err != nil {
		h.fail(w, r, v, httpStatus(err), errorText(v.lang(), err))
		return
	}
	http.Redirect(w, r, withQuery("/reports/messages", cleanQuery(q)), http.StatusSeeOther)
}

func httpStatus(err error) int { return respond.HTTPStatus(domain.ErrorCode(err)) }

func pathID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

// runSearch opens the report with a saved search's filters.
func (h *Handler) runSearch(w http.ResponseWriter, r *http.Request, v *visitor) {
	ss, err := h.Store.SavedSearch(r.Context(), pathID(r), v.user.ID, v.principal.Scope)
	if err != nil {
		h.fail(w, r, v, httpStatus(err), errorText(v.lang(), err))
		return
	}
	q, _ := url.ParseQuery(ss.Query)
	http.Redirect(w, r, withQuery("/reports/messages", q), http.StatusSeeOther)
}

func (h *Handler) renameSearch(w http.ResponseWriter, r *http.Request, v *visitor) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len(name) > 100 {
		h.fail(w, r, v, http.StatusBadRequest, "name is required (1 to 100 characters)")
		return
	}
	if err := h.Store.RenameSearch(r.Context(), pathID(r), v.user.ID, name); err != nil {
		h.fail(w, r, v, httpStatus(err), errorText(v.lang(), err))
		return
	}
	http.Redirect(w, r, "/reports/messages", http.StatusSeeOther)
}

func (h *Handler) deleteSearch(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := h.Store.DeleteSearch(r.Context(), pathID(r), v.user.ID); err != nil {
		h.fail(w, r, v, httpStatus(err), errorText(v.lang(), err))
		return
	}
	http.Redirect(w, r, "/reports/messages", http.StatusSeeOther)
}
