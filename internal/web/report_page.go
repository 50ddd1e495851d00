package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/respond"
)

// option is an entry of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// reportForm is the filter form as shown: what the user asked, with the
// dates the report actually used.
type reportForm struct {
	Direction        string
	From, To         string // YYYY-MM-DD in the account's time zone
	Subaccounts      []option
	Users            []option
	Campaign         string
	Campaigns        []option // the subaccount's campaigns by name, newest first
	ContentTypes     []option
	Session          []option
	CorrelationID    string
	Statuses         []option
	Phone            string
	ConversationID   string
	ConversationType []option
	// Errors are the messages of parameters the report could not take, by
	// parameter, shown beside their fields.
	Errors map[string]string
}

type reportRow struct {
	ID     int64
	Cells  []string
	Status domain.Status
	Failed bool
}

// pager moves through the report's pages. The store pages by keyset
// cursors, so the page keeps the cursors of the pages before it (back) to
// offer the previous one.
type pager struct {
	Page, Pages int
	Size        int
	Sizes       []option
	PrevURL     string
	NextURL     string
}

// pageSizes are the page sizes a user may choose.
var pageSizes = []int{25, 50, 100, 200}

const defaultPageSize = 50

type reportData struct {
	Form     reportForm
	Headers  []string
	Rows     []reportRow
	Total    int64
	Query    string // the effective query string, for saving and exporting
	Pager    pager
	FirstURL string
	MTURL    string
	MOURL    string
	ViewURL  string // the other view (message / consolidated) with the same filters
	Saved    []reports.SavedSearch
	Exports  map[string]string // format → URL
	Classes  []string          // each column's cell class: how its text wraps
	Summary  *summaryView
}

var contentTypes = []string{"text", "template", "image", "audio", "video", "document", "sticker", "interactive",
	"button", "location", "contacts", "reaction", "order", "unsupported"}

// cleanQuery drops empty parameters and the cursor, so URLs stay short and
// saved searches do not keep a page position.
func cleanQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, vs := range q {
		if k == "cursor" || k == "back" || k == "format" || k == "bom" || k == "download_token" {
			continue
		}
		for _, v := range vs {
			if strings.TrimSpace(v) != "" {
				out.Add(k, v)
			}
		}
	}
	return out
}

func (h *Handler) reportPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.report(w, r, v, false)
}

func (h *Handler) consolidatedPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.report(w, r, v, true)
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request, v *visitor, consolidated bool) {
	lang := v.lang()
	if v.principal.Role == domain.RoleAgent { // agents work in the desk, not the reports
		h.forbidden(w, r, v)
		return
	}
	q := cleanQuery(r.URL.Query())
	cursor := r.URL.Query().Get("cursor")
	p := v.page(i18n.T(lang, "nav.detailed"), "report")
	if consolidated {
		p.Active = "consolidated"
	}
	data := &reportData{}
	p.Data = data
	f, err := h.Reports.Filter(q, v.principal)
	if err == nil && cursor != "" {
		f.Cursor = cursor
	}
	data.Form = h.form(r, v, q, f)
	var fe *reports.FilterError
	if errors.As(err, &fe) {
		data.Form.Errors = map[string]string{fe.Param: h.errorText(r, lang, err)}
	}
	data.Query = q.Encode()
	base := "/reports/messages"
	other := base + "/consolidated"
	if consolidated {
		base, other = other, base
	}
	data.FirstURL = withQuery(base, q)
	data.ViewURL = withQuery(other, q)
	data.MTURL = withQuery(base, with(q, "direction", "mt"))
	data.MOURL = withQuery(base, with(q, "direction", "mo"))
	data.Exports = map[string]string{}
	exportURL, formats := "/reports/messages/export", []string{"csv", "xlsx", "pdf"}
	if consolidated {
		exportURL, formats = "/reports/messages/consolidated/export", []string{"csv", "xlsx"}
	}
	for _, format := range formats {
		data.Exports[format] = withQuery(exportURL, with(q, "format", format))
	}
	saved, serr := h.Reports.SavedSearches(r.Context(), v.principal)
	data.Saved = saved
	if f == nil {
		p.Error = h.errorText(r, lang, err)
		name := "report"
		if consolidated {
			name = "consolidated"
		}
		h.render(w, r, respond.HTTPStatus(domain.ErrorCode(err)), name, p)
		return
	}
	dir := f.Direction
	if consolidated {
		sum, err := h.summary(r, v, f)
		if err != nil {
			p.Error = h.errorText(r, lang, err)
			h.render(w, r, http.StatusBadRequest, "consolidated", p)
			return
		}
		data.Summary, data.Total = sum, sum.Total
		p.Error = h.errorText(r, lang, serr)
		h.render(w, r, http.StatusOK, "consolidated", p)
		return
	}
	if f.Limit == 0 {
		f.Limit = defaultPageSize
	}
	pg, err := h.Reports.Messages(r.Context(), v.principal, f)
	var names *reports.Names
	if err == nil {
		names, err = h.Reports.Names(r.Context(), v.principal)
	}
	if err != nil {
		p.Error = h.errorText(r, lang, err)
		h.render(w, r, respond.HTTPStatus(domain.ErrorCode(err)), "report", p)
		return
	}
	data.Total = pg.Total
	data.Headers = reports.Headers(dir, lang)
	data.Classes = cellClasses(dir)
	format := reports.NewFormatter(lang, h.Location, names)
	for i := range pg.Rows {
		m := &pg.Rows[i]
		data.Rows = append(data.Rows, reportRow{ID: m.ID, Cells: format.Row(m), Status: m.Status,
			Failed: m.State == domain.StateFailed || m.State == domain.StateExpired})
	}
	data.Pager = newPager(base, q, cursor, r.URL.Query().Get("back"), pg, f.Limit, lang)
	p.Error = h.errorText(r, lang, serr)
	h.render(w, r, http.StatusOK, "report", p)
}

// cellClasses says how each column's cells wrap so that the table fits a
// 1440 px screen: the message and the reason wrap at words in the widest
// cells; phone numbers and WhatsApp ids never break; dates and labels wrap
// only at their spaces; other ids may break anywhere.
func cellClasses(dir domain.Direction) []string {
	keys := reports.Columns(dir)
	out := make([]string, len(keys))
	for i, k := range keys {
		switch k {
		case "col.text_mt", "col.text_mo":
			out[i] = "text"
		case "col.reason":
			out[i] = "wrap"
		case "col.phone", "col.wa_user":
			out[i] = "nowrap"
		case "col.sent_at", "col.replied_at", "col.conversation_expires", "col.status", "col.conversation_type":
			out[i] = "words" // a date and its time on two lines, a label at its spaces
		}
	}
	return out
}

// newPager places the page read with cursor (after the pages whose cursors
// back lists, page 1 having none) among the total's pages.
func newPager(base string, q url.Values, cursor, back string, pg *domain.MessagePage, size int, lang string) pager {
	var trail []string
	if back != "" {
		trail = strings.Split(back, ".")
	}
	p := pager{Page: 1, Size: size, Pages: int((pg.Total + int64(size) - 1) / int64(size))}
	if cursor != "" {
		p.Page = len(trail) + 2
		prev := with(q, "cursor", "")
		if len(trail) > 0 {
			prev = with(with(q, "cursor", trail[len(trail)-1]), "back", strings.Join(trail[:len(trail)-1], "."))
		}
		p.PrevURL = withQuery(base, cleanEmpty(prev))
		trail = append(trail, cursor)
	}
	if pg.NextCursor != "" {
		p.NextURL = withQuery(base, cleanEmpty(with(with(q, "cursor", pg.NextCursor), "back", strings.Join(trail, "."))))
	}
	p.Pages = max(p.Pages, p.Page)
	for _, n := range pageSizes {
		p.Sizes = append(p.Sizes, option{Value: withQuery(base, with(q, "limit", strconv.Itoa(n))), Label: strconv.Itoa(n), Selected: n == size})
	}
	return p
}

// cleanEmpty drops the parameters with no value.
func cleanEmpty(q url.Values) url.Values {
	for k, vs := range q {
		if len(vs) == 1 && vs[0] == "" {
			delete(q, k)
		}
	}
	return q
}

func with(q url.Values, k, v string) url.Values {
	out := url.Values{}
	for key, vs := range q {
		out[key] = append([]string(nil), vs...)
	}
	out.Set(k, v)
	return out
}

func withQuery(base string, q url.Values) string {
	if len(q) == 0 {
		return base
	}
	return base + "?" + q.Encode()
}

// form builds the filter form from the query and the filter it parsed to.
func (h *Handler) form(r *http.Request, v *visitor, q url.Values, f *domain.MessageFilter) reportForm {
	lang := v.lang()
	fm := reportForm{Direction: "mt", Campaign: q.Get("campaign"), CorrelationID: q.Get("correlation_id"),
		Phone: q.Get("phone"), ConversationID: q.Get("conversation_id")}
	if q.Get("direction") == "mo" {
		fm.Direction = "mo"
	}
	if f == nil { // the filter was refused: show what the user typed
		fm.From, fm.To = q.Get("from"), q.Get("to")
	} else {
		fm.From = f.From.In(h.Location).Format("2006-01-02")
		to := f.To
		if to.IsZero() {
			to = h.Now()
		} else {
			to = to.Add(-time.Nanosecond) // "to" is exclusive; the form shows the last day included
		}
		fm.To = to.In(h.Location).Format("2006-01-02")
	}
	subs, _ := h.Access.Subaccounts(r.Context(), v.principal)
	fm.Subaccounts = []option{{Value: "", Label: i18n.T(lang, "common.all")}}
	for _, s := range subs {
		fm.Subaccounts = append(fm.Subaccounts, option{Value: strconv.FormatInt(s.ID, 10), Label: subaccountName(lang, &s),
			Selected: q.Get("subaccount") == strconv.FormatInt(s.ID, 10)})
	}
	users, _ := h.Reports.Users(r.Context(), v.principal)
	fm.Users = []option{{Value: "", Label: i18n.T(lang, "common.all")}}
	for _, u := range users {
		name := u.Name
		if name == "" {
			name = u.Email
		}
		fm.Users = append(fm.Users, option{Value: strconv.FormatInt(u.ID, 10), Label: name, Selected: q.Get("user") == strconv.FormatInt(u.ID, 10)})
	}
	fm.Campaigns = h.campaignOptions(r, v, q)
	fm.ContentTypes = []option{{Value: "", Label: i18n.T(lang, "common.all")}}
	for _, c := range contentTypes {
		fm.ContentTypes = append(fm.ContentTypes, option{Value: c, Label: reports.ContentLabel(lang, c), Selected: q.Get("content_type") == c})
	}
	fm.Session = []option{{Value: "", Label: i18n.T(lang, "common.all")},
		{Value: "true", Label: i18n.T(lang, "common.yes"), Selected: q.Get("session") == "true"},
		{Value: "false", Label: i18n.T(lang, "common.no"), Selected: q.Get("session") == "false"}}
	chosen := map[string]bool{}
	for _, s := range q["status"] {
		for _, x := range strings.Split(s, ",") {
			chosen[strings.TrimSpace(x)] = true
		}
	}
	for _, s := range domain.Statuses {
		fm.Statuses = append(fm.Statuses, option{Value: string(s), Label: reports.StatusLabel(lang, s), Selected: chosen[string(s)]})
	}
	fm.ConversationType = []option{{Value: "", Label: i18n.T(lang, "common.all")}}
	for _, c := range []domain.ConversationType{domain.ConversationBusinessInitiated, domain.ConversationUserInitiated, domain.ConversationFreeEntryPoint} {
		fm.ConversationType = append(fm.ConversationType, option{Value: string(c), Label: i18n.T(lang, "conv."+string(c)),
			Selected: q.Get("conversation_type") == string(c)})
	}
	return fm
}
