package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
)

// managerRoutes registers the report manager's pages.
func (h *Handler) managerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /reports/manager", h.auth(h.managerPage))
	mux.HandleFunc("POST /reports/manager", h.auth(h.requestExtraction))
	mux.HandleFunc("GET /reports/manager/status", h.auth(h.extractionStatus))
	mux.HandleFunc("GET /reports/manager/{id}/file", h.auth(h.extractionFile))
	mux.HandleFunc("POST /reports/manager/{id}/delete", h.auth(h.deleteExtraction))
	mux.HandleFunc("GET /reports/manager/notices", h.auth(h.extractionNotices))
	mux.HandleFunc("POST /reports/manager/{id}/seen", h.auth(h.seeExtraction))
}

// managerData is the report manager's page: the form and the visitor's
// extractions.
type managerData struct {
	Groups      []tableGroup
	Subaccounts []domain.Subaccount
	Rows        []extractionRow
	From, To    string // the form's dates: the last 7 days
	Today, Min  string // the date inputs' bounds
	Done        *extractionRow
	KeepDays    int
	MaxDays     int
	MaxYears    int
}

// tableGroup is one of the seed's groups of tables, for the form's select.
type tableGroup struct {
	Label  string
	Tables []tableOption
}

type tableOption struct{ Type, Label string }

// extractionRow is an extraction as the list shows it.
type extractionRow struct {
	*domain.Extraction
	Title, Label string
	Percent      int
	Size         string
}

func (h *Handler) extractionRow(lang string, e *domain.Extraction) extractionRow {
	return extractionRow{Extraction: e, Title: extracts.Title(lang, e.Type), Label: i18n.T(lang, "extract.status."+string(e.Status)),
		Percent: int(e.Progress() * 100), Size: byteSize(lang, e.Bytes)}
}

// byteSize writes n bytes as a person reads them: 812 B, 3,4 MB.
func byteSize(lang string, n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"kB", "MB", "GB", "TB"}
	f, u := float64(n)/1000, 0
	for f >= 1000 && u < len(units)-1 {
		f, u = f/1000, u+1
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	if i18n.Normalize(lang) == "pt-BR" {
		s = replaceDot(s)
	}
	return s + " " + units[u]
}

func replaceDot(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '.' {
			b[i] = ','
		}
	}
	return string(b)
}

func (h *Handler) managerPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	lang := v.lang()
	list, err := h.Extracts.List(r.Context(), v.principal)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	subs, err := h.Access.Subaccounts(r.Context(), v.principal)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	now := h.Now().In(h.Location)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, h.Location)
	d := &managerData{Subaccounts: subs, From: today.AddDate(0, 0, -6).Format(time.DateOnly), To: today.Format(time.DateOnly),
		Today: today.Format(time.DateOnly), Min: today.AddDate(-extracts.MaxYears, 0, 0).Format(time.DateOnly),
		KeepDays: int(h.Extracts.Keep.Hours() / 24), MaxDays: extracts.MaxDays, MaxYears: extracts.MaxYears}
	for i := range d.Subaccounts {
		d.Subaccounts[i].Name = subaccountName(lang, &d.Subaccounts[i])
	}
	byGroup := map[string]int{}
	for _, t := range extracts.Tables() {
		i, ok := byGroup[t.Group]
		if !ok {
			i = len(d.Groups)
			byGroup[t.Group] = i
			d.Groups = append(d.Groups, tableGroup{Label: i18n.T(lang, t.Group)})
		}
		d.Groups[i].Tables = append(d.Groups[i].Tables, tableOption{Type: t.Type, Label: extracts.Title(lang, t.Type)})
	}
	done, _ := strconv.ParseInt(r.URL.Query().Get("done"), 10, 64)
	for _, e := range list {
		row := h.extractionRow(lang, e)
		d.Rows = append(d.Rows, row)
		if e.ID == done {
			d.Done = &row
		}
	}
	p := v.page(i18n.T(lang, "extract.title"), "manager")
	p.Data = d
	switch {
	case r.URL.Query().Get("queued") != "":
		p.Flash = i18n.T(lang, "extract.queued_ok")
	case d.Done != nil && d.Done.Status == domain.ExtractionReady:
		p.Flash = i18n.T(lang, "extract.ready_note", d.Done.Title, formatCount(lang, d.Done.RowsWritten))
	case d.Done != nil && d.Done.Status == domain.ExtractionFailed:
		p.Error = i18n.T(lang, "extract.failed_note", d.Done.Title, d.Done.Error)
	}
	h.render(w, r, http.StatusOK, "manager", p)
}

// requestExtraction queues the form's extraction.
func (h *Handler) requestExtraction(w http.ResponseWriter, r *http.Request, v *visitor) {
	sa, _ := strconv.ParseInt(r.PostFormValue("subaccount"), 10, 64)
	_, err := h.Extracts.Request(r.Context(), v.principal, extracts.Input{Type: r.PostFormValue("type"),
		From: r.PostFormValue("from"), To: r.PostFormValue("to"), Subaccount: sa, Format: r.PostFormValue("format"), Lang: v.lang()})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/reports/manager?queued=1", http.StatusSeeOther)
}

// deleteExtraction cancels or deletes one of the visitor's extractions.
func (h *Handler) deleteExtraction(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := h.Extracts.Delete(r.Context(), v.principal, pathID(r)); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/reports/manager", http.StatusSeeOther)
}

// extractionFile downloads one of the visitor's ready files.
func (h *Handler) extractionFile(w http.ResponseWriter, r *http.Request, v *visitor) {
	f, err := h.Extracts.Open(r.Context(), v.principal, pathID(r))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	defer f.Close()
	respond.Attachment(w, f.Name, f.ContentType)
	http.ServeContent(w, r, f.Name, f.ModTime, f)
}

// extractionStatus is the list's state as JSON, which the page polls to
// move its progress bars and to tell the visitor when a file is ready.
func (h *Handler) extractionStatus(w http.ResponseWriter, r *http.Request, v *visitor) {
	list, err := h.Extracts.List(r.Context(), v.principal)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	type row struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Label   string `json:"label"`
		Percent int    `json:"percent"`
		Rows    string `json:"rows"`
	}
	out := make([]row, len(list))
	for i, e := range list {
		x := h.extractionRow(v.lang(), e)
		out[i] = row{ID: strconv.FormatInt(e.ID, 10), Status: string(e.Status), Label: x.Label, Percent: x.Percent,
			Rows: formatCount(v.lang(), e.RowsWritten)}
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, map[string]any{"rows": out})
}

// extractionNotices lists the visitor's extractions done and not yet seen,
// as JSON, for the notices every page shows (static/notices.js); a role
// that extracts nothing has none.
func (h *Handler) extractionNotices(w http.ResponseWriter, r *http.Request, v *visitor) {
	type notice struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Text     string `json:"text"`
		Href     string `json:"href,omitempty"`
		Download string `json:"download,omitempty"`
		Dismiss  string `json:"dismiss"`
	}
	out := []notice{}
	list, err := h.Extracts.Notices(r.Context(), v.principal)
	if err != nil && domain.ErrorCode(err) != domain.EFORBIDDEN {
		respond.Error(w, r, err)
		return
	}
	lang := v.lang()
	for _, e := range list {
		n := notice{ID: strconv.FormatInt(e.ID, 10), Status: string(e.Status), Dismiss: i18n.T(lang, "extract.dismiss")}
		title := extracts.Title(lang, e.Type)
		if e.Status == domain.ExtractionReady {
			n.Text = i18n.T(lang, "extract.notice.ready", title, e.From, e.To, formatCount(lang, e.RowsWritten))
			n.Href, n.Download = "/reports/manager/"+n.ID+"/file", i18n.T(lang, "extract.download")
		} else {
			n.Text = i18n.T(lang, "extract.notice.failed", title, e.From, e.To, e.Error)
			n.Href, n.Download = "/reports/manager?done="+n.ID, i18n.T(lang, "extract.notice.open")
		}
		out = append(out, n)
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, map[string]any{"notices": out})
}

// seeExtraction dismisses the notice of one of the visitor's extractions.
func (h *Handler) seeExtraction(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := h.Extracts.Seen(r.Context(), v.principal, pathID(r)); err != nil {
		h.fail(w, r, v, err)
		return
	}
	if r.Header.Get("Accept") == "application/json" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/reports/manager", http.StatusSeeOther)
}
