package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/reports"
)

// saveSearch stores the current report search under a name, optionally
// shared with the user's subaccount (the one filtered on, or its only one).
func (h *Handler) saveSearch(w http.ResponseWriter, r *http.Request, v *visitor) {
	q, err := url.ParseQuery(r.PostFormValue("query"))
	if err != nil {
		err = domain.Errorf(domain.EINVALID, "query: %v", err)
	} else {
		_, err = h.Reports.SaveSearch(r.Context(), v.principal, reports.SaveSearchInput{Name: r.PostFormValue("name"),
			Query: cleanQuery(q), Share: r.PostFormValue("share") != ""})
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, withQuery("/reports/messages", cleanQuery(q)), http.StatusSeeOther)
}

func pathID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id
}

// runSearch opens the report with a saved search's filters.
func (h *Handler) runSearch(w http.ResponseWriter, r *http.Request, v *visitor) {
	ss, err := h.Reports.SavedSearch(r.Context(), v.principal, pathID(r))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	q, _ := url.ParseQuery(ss.Query)
	http.Redirect(w, r, withQuery("/reports/messages", q), http.StatusSeeOther)
}

func (h *Handler) renameSearch(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := h.Reports.RenameSearch(r.Context(), v.principal, pathID(r), r.PostFormValue("name")); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/reports/messages", http.StatusSeeOther)
}

func (h *Handler) deleteSearch(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := h.Reports.DeleteSearch(r.Context(), v.principal, pathID(r)); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/reports/messages", http.StatusSeeOther)
}
