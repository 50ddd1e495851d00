package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
)

// consumptionData is the consumption page: the month's report and the
// choices of its form.
type consumptionData struct {
	Report        *billing.Report
	Month         string
	MaxMonth      string
	Subaccount    int64
	Phone         string
	Subaccounts   []domain.Subaccount
	Channels      []domain.Channel
	PrevURL       string
	NextURL       string
	Chart         template.HTML
	ConsolidateOn string
	Exports       map[string]string
	BudgetSaved   bool
}

// consumptionRoutes registers the consumption report's page and export.
func (h *Handler) consumptionRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /consumption", h.auth(h.consumptionPage))
	mux.HandleFunc("GET /consumption/export", h.auth(h.exportConsumption))
	mux.HandleFunc("POST /consumption/budgets", h.auth(h.setBudget))
	mux.HandleFunc("POST /consumption/budgets/delete", h.auth(h.deleteBudget))
	mux.HandleFunc("GET /consumption/notices", h.auth(h.budgetNotices))
	mux.HandleFunc("POST /consumption/notices/seen", h.auth(h.seeBudgetNotice))
}

// budgetNotices lists the budget alerts the visitor (an admin) has not
// seen, as JSON for the notices every page shows (static/notices.js);
// other roles have none.
func (h *Handler) budgetNotices(w http.ResponseWriter, r *http.Request, v *visitor) {
	type notice struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Text     string `json:"text"`
		Href     string `json:"href"`
		Download string `json:"download"`
		Dismiss  string `json:"dismiss"`
		Seen     string `json:"seen"`
	}
	out := []notice{}
	list, err := h.Billing.BudgetNotices(r.Context(), v.principal)
	if err != nil && domain.ErrorCode(err) != domain.EFORBIDDEN {
		respond.Error(w, r, err)
		return
	}
	lang := v.lang()
	for _, n := range list {
		q := url.Values{"subaccount": {strconv.FormatInt(n.SubaccountID, 10)}, "month": {n.Month}}
		page := "/consumption?" + q.Encode() + "#budgets"
		q.Set("threshold", strconv.Itoa(n.Threshold))
		out = append(out, notice{ID: fmt.Sprintf("budget-%d-%s-%d", n.SubaccountID, n.Month, n.Threshold), Status: "budget",
			Text: i18n.T(lang, "budget.notice", n.Subaccount, n.Threshold, formatMoney(lang, n.Spent), formatMoney(lang, n.Amount),
				n.Currency, n.Month),
			Href: page, Download: i18n.T(lang, "budget.notice.open"), Dismiss: i18n.T(lang, "budget.notice.dismiss"),
			Seen: "/consumption/notices/seen?" + q.Encode()})
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, map[string]any{"notices": out})
}

// seeBudgetNotice dismisses a budget alert's notice for the visitor.
func (h *Handler) seeBudgetNotice(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, err := strconv.ParseInt(r.FormValue("subaccount"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "subaccount must be a subaccount id"))
		return
	}
	threshold, err := strconv.Atoi(r.FormValue("threshold"))
	if err != nil || threshold <= 0 {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "threshold must be one of %v", billing.Thresholds))
		return
	}
	if err := h.Billing.SeeBudgetAlerts(r.Context(), v.principal, id, r.FormValue("month"), threshold); err != nil {
		h.fail(w, r, v, err)
		return
	}
	if r.Header.Get("Accept") == "application/json" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, "/consumption#budgets", http.StatusSeeOther)
}

// setBudget saves a subaccount's monthly budget from the page's form.
func (h *Handler) setBudget(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, err := strconv.ParseInt(r.PostFormValue("subaccount"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "subaccount must be a subaccount id"))
		return
	}
	amount := strings.ReplaceAll(strings.TrimSpace(r.PostFormValue("amount")), ",", ".")
	if _, err := h.Billing.SetBudget(r.Context(), v.principal, id, billing.BudgetInput{Amount: amount,
		WebhookURL: strings.TrimSpace(r.PostFormValue("webhook_url"))}); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/consumption?budget=saved#budgets", http.StatusSeeOther)
}

// deleteBudget removes a subaccount's budget from the page.
func (h *Handler) deleteBudget(w http.ResponseWriter, r *http.Request, v *visitor) {
	id, err := strconv.ParseInt(r.PostFormValue("subaccount"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "subaccount must be a subaccount id"))
		return
	}
	if err := h.Billing.DeleteBudget(r.Context(), v.principal, id); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/consumption?budget=removed#budgets", http.StatusSeeOther)
}

// consumptionPage shows the consumption report of a month (Contrato →
// Conversas do WhatsApp): admins only, as the service decides.
func (h *Handler) consumptionPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	lang := v.lang()
	query := r.URL.Query()
	saved := query.Get("budget")
	query.Del("budget")
	q, err := h.Billing.ParseQuery(query)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	rep, err := h.Billing.Consumption(r.Context(), v.principal, q)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &consumptionData{BudgetSaved: saved == "saved" || saved == "removed", Report: rep, Month: rep.Month, Subaccount: q.Subaccount, Phone: q.PhoneNumberID,
		MaxMonth: billing.MonthOf(h.Now().In(h.Location)).String()}
	if d.Subaccounts, err = h.Access.Subaccounts(r.Context(), v.principal); err != nil {
		h.fail(w, r, v, err)
		return
	}
	for i := range d.Subaccounts {
		d.Subaccounts[i].Name = subaccountName(lang, &d.Subaccounts[i])
	}
	if d.Channels, err = h.Channels.List(r.Context(), v.principal); err != nil {
		h.fail(w, r, v, err)
		return
	}
	link := func(m billing.Month) string {
		u := url.Values{"month": {m.String()}}
		if q.Subaccount != 0 {
			u.Set("subaccount", strconv.FormatInt(q.Subaccount, 10))
		}
		if q.PhoneNumberID != "" {
			u.Set("phone_number_id", q.PhoneNumberID)
		}
		return "/consumption?" + u.Encode()
	}
	d.PrevURL = link(q.Month.Prev())
	if q.Month.String() < d.MaxMonth {
		d.NextURL = link(q.Month.Next())
	}
	d.ConsolidateOn = formatDate(lang, rep.ConsolidatedOn)
	d.Exports = map[string]string{}
	for f := range billing.ExportFormats {
		u := r.URL.Query()
		u.Set("month", rep.Month)
		u.Set("format", f)
		d.Exports[f] = "/consumption/export?" + u.Encode()
	}
	d.Chart = consumptionChart(rep.Daily, lang)
	p := v.page(i18n.T(lang, "consumption.title"), "consumption")
	p.Data = d
	h.render(w, r, http.StatusOK, "consumption", p)
}

// exportConsumption downloads the consumption report's tables as CSV or
// XLSX, in the visitor's language.
func (h *Handler) exportConsumption(w http.ResponseWriter, r *http.Request, v *visitor) {
	q := r.URL.Query()
	format := q.Get("format")
	if billing.ExportFormats[format] == "" {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "format must be csv or xlsx, not %q", format))
		return
	}
	token := q.Get("download_token")
	q.Del("download_token")
	query, err := h.Billing.ParseQuery(q)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	rep, err := h.Billing.Consumption(r.Context(), v.principal, query)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	e := &billing.Export{Report: rep, Format: format, Lang: v.lang(), BOM: format == "csv", Now: h.Now()}
	respond.Attachment(w, e.Filename(), e.ContentType())
	if safeToken.MatchString(token) { // the page's progress note goes away when the file starts
		http.SetCookie(w, &http.Cookie{Name: "ticks_download", Value: token, Path: "/", MaxAge: 60, SameSite: http.SameSiteLaxMode})
	}
	if _, err := e.Write(w); err != nil && r.Context().Err() == nil {
		respond.LogInternal(r, err)
	}
}

// formatMoney writes a decimal string amount ("1234.50") with the
// separators of lang ("1.234,50" in Portuguese).
func formatMoney(lang, amount string) string {
	neg := strings.HasPrefix(amount, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(amount, "-"), ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return amount
	}
	out := formatCount(lang, n)
	if frac != "" {
		sep := "."
		if i18n.Normalize(lang) == "pt-BR" {
			sep = ","
		}
		out += sep + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// formatDate writes 2026-11-09 as 09/11/2026 in Portuguese.
func formatDate(lang, day string) string {
	if lang == "pt-BR" && len(day) == 10 {
		return day[8:10] + "/" + day[5:7] + "/" + day[0:4]
	}
	return day
}

// consumptionChart draws the daily conversations as stacked bars
// (business initiated, user initiated, free entry point) with the charged
// messages as a line.
func consumptionChart(days []billing.DayCount, lang string) template.HTML {
	const w, h, pad = 900.0, 260.0, 30.0
	if len(days) == 0 {
		return template.HTML(`<p class="muted">` + template.HTMLEscapeString(i18n.T(lang, "consumption.none")) + `</p>`)
	}
	var max int64 = 1
	for _, d := range days {
		max = maxInt(max, d.Total, d.Charged)
	}
	slot := (w - 2*pad) / float64(len(days))
	y := func(n int64) float64 { return (h - 2*pad) * float64(n) / float64(max) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="consumption-chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h,
		template.HTMLEscapeString(i18n.T(lang, "consumption.daily")))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#d0d5dd"/>`, pad, h-pad, w-pad, h-pad)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="#667085">%s</text>`, pad, pad-10, template.HTMLEscapeString(formatCount(lang, max)))
	var line []string
	for i, d := range days {
		x := pad + float64(i)*slot + slot*0.15
		base := h - pad
		for _, s := range []struct {
			class, label string
			n            int64
		}{{"business", "consumption.conv.business", d.BusinessInitiated}, {"user", "consumption.conv.user", d.UserInitiated},
			{"fep", "consumption.conv.fep", d.FreeEntryPoint}} {
			bh := y(s.n)
			base -= bh
			fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s %s: %d</title></rect>`,
				s.class, x, base, slot*0.7, bh, template.HTMLEscapeString(d.Date), template.HTMLEscapeString(i18n.T(lang, s.label)), s.n)
		}
		line = append(line, fmt.Sprintf("%.1f,%.1f", x+slot*0.35, h-pad-y(d.Charged)))
		if len(days) <= 31 || i%(len(days)/15+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10" fill="#667085">%s</text>`, x, h-pad+14, template.HTMLEscapeString(shortDay(d.Date)))
		}
	}
	fmt.Fprintf(&b, `<polyline class="charged" fill="none" stroke="#f79009" stroke-width="2" points="%s"><title>%s</title></polyline>`,
		strings.Join(line, " "), template.HTMLEscapeString(i18n.T(lang, "consumption.charged")))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func maxInt(first int64, rest ...int64) int64 {
	for _, n := range rest {
		first = max(first, n)
	}
	return first
}
