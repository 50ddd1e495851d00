package web

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/tracking"
)

// trackingRoutes registers the custom reports, funnels, conversation
// metrics and bots pages.
func (h *Handler) trackingRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /reports/custom", h.auth(h.customReportPage))
	mux.HandleFunc("GET /reports/custom/export", h.auth(h.exportCustomReport))
	mux.HandleFunc("POST /reports/custom/save", h.auth(h.saveCustomReport))
	mux.HandleFunc("GET /reports/custom/saved/{id}", h.auth(h.openCustomReport))
	mux.HandleFunc("GET /reports/funnel", h.auth(h.funnelPage))
	mux.HandleFunc("GET /reports/conversations", h.auth(h.conversationsPage))
	mux.HandleFunc("GET /admin/bots", h.auth(h.botsPage))
	mux.HandleFunc("POST /admin/bots", h.auth(h.createBot))
}

// trackingChoices are the choices of the custom reports' forms.
type trackingChoices struct {
	Names [][2]string // category, action
	Bots  []domain.Bot
	Saved []tracking.SavedReport
}

func (h *Handler) trackingChoices(r *http.Request, v *visitor, kind string) (*trackingChoices, error) {
	c := &trackingChoices{}
	var err error
	if c.Names, err = h.Tracking.EventNames(r.Context(), v.principal); err != nil {
		return nil, err
	}
	if c.Bots, err = h.Tracking.Bots(r.Context(), v.principal); err != nil {
		return nil, err
	}
	saved, err := h.Tracking.SavedReports(r.Context(), v.principal)
	if err != nil {
		return nil, err
	}
	for _, s := range saved {
		if s.Kind == kind {
			c.Saved = append(c.Saved, s)
		}
	}
	return c, nil
}

// customReportData is the custom report page.
type customReportData struct {
	trackingChoices
	From, To    string
	Granularity string
	Actions     map[string]bool // "category\x1faction" chosen
	Bot         int64
	Rows        []domain.EventCount
	Totals      []domain.EventCount // per action over the period
	Chart       template.HTML
	Exports     map[string]string
	Query       string // the report's query, for saving
	Days        int
	Ran         bool
	// Granularities are the form's choices.
	Granularities []string
}

// actionKey joins a category and an action in one form value.
func actionKey(category, action string) string { return category + "\x1f" + action }

func (h *Handler) customReportPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := v.principal.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleViewer); err != nil {
		h.forbidden(w, r, v)
		return
	}
	lang := v.lang()
	choices, err := h.trackingChoices(r, v, tracking.KindEvents)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	q := cleanQuery(r.URL.Query())
	d := &customReportData{trackingChoices: *choices, Actions: map[string]bool{}, Granularity: q.Get("granularity"),
		From: q.Get("from"), To: q.Get("to"), Granularities: []string{domain.GranularityHour, domain.GranularityDay,
			domain.GranularityWeek, domain.GranularityMonth}}
	if d.Granularity == "" {
		d.Granularity = domain.GranularityDay
		q.Set("granularity", d.Granularity)
	}
	// The form sends actions as category\x1faction; the report's query
	// names them as category and action.
	api := url.Values{}
	for k, vs := range q {
		if k != "pick" {
			api[k] = vs
		}
	}
	for _, pick := range q["pick"] {
		if c, a, ok := strings.Cut(pick, "\x1f"); ok {
			d.Actions[pick] = true
			api.Add("action", a)
			if !slices.Contains(api["category"], c) {
				api.Add("category", c)
			}
		}
	}
	d.Bot, _ = strconv.ParseInt(q.Get("bot"), 10, 64)
	p := v.page(i18n.T(lang, "tracking.title"), "custom")
	eq, err := h.Tracking.ParseEventQuery(api)
	if err == nil {
		d.Rows, err = h.Tracking.EventReport(r.Context(), v.principal, eq)
	}
	if err != nil {
		p.Error = h.errorText(r, lang, err)
	} else {
		d.Ran = true
		d.From, d.To = eq.From.In(h.Location).Format("2006-01-02"), eq.To.Add(-time.Second).In(h.Location).Format("2006-01-02")
		d.Days = int(math.Ceil(eq.To.Sub(eq.From).Hours() / 24))
		d.Totals = actionTotals(d.Rows)
		d.Chart = eventChart(d.Rows, d.Totals, lang)
		d.Exports = map[string]string{"csv": withQuery("/reports/custom/export", with(q, "format", "csv")),
			"xlsx": withQuery("/reports/custom/export", with(q, "format", "xlsx"))}
	}
	d.Query = q.Encode()
	p.Data = d
	h.render(w, r, http.StatusOK, "custom_report", p)
}

// actionTotals sums the rows per action, most events first.
func actionTotals(rows []domain.EventCount) []domain.EventCount {
	byKey := map[string]*domain.EventCount{}
	var out []domain.EventCount
	for _, r := range rows {
		k := actionKey(r.Category, r.Action)
		if byKey[k] == nil {
			out = append(out, domain.EventCount{Category: r.Category, Action: r.Action})
			byKey[k] = &out[len(out)-1]
		}
	}
	for i := range out {
		byKey[actionKey(out[i].Category, out[i].Action)] = &out[i]
	}
	for _, r := range rows {
		byKey[actionKey(r.Category, r.Action)].Count += r.Count
	}
	slices.SortStableFunc(out, func(a, b domain.EventCount) int {
		switch {
		case a.Count > b.Count:
			return -1
		case a.Count < b.Count:
			return 1
		}
		return 0
	})
	return out
}

// chartColours are the series' colours, the most frequent action first.
var chartColours = []string{"#2e90fa", "#12b76a", "#f79009", "#7a5af8", "#f04438", "#0ba5ec", "#98a2b3"}

// eventChart draws the events per period as grouped bars, one colour per
// action (the six most frequent; the rest together in grey), drawn on the
// server: no chart library to load.
func eventChart(rows []domain.EventCount, totals []domain.EventCount, lang string) template.HTML {
	const w, h, pad = 900.0, 280.0, 34.0
	if len(rows) == 0 {
		return template.HTML(`<p class="muted" id="custom-empty">` + template.HTMLEscapeString(i18n.T(lang, "tracking.empty")) + `</p>`)
	}
	series := map[string]int{}
	for i, t := range totals {
		series[actionKey(t.Category, t.Action)] = min(i, len(chartColours)-1)
	}
	nSeries := min(len(totals), len(chartColours))
	var periods []string
	counts := map[string][]int64{}
	var max int64 = 1
	for _, r := range rows {
		c, ok := counts[r.Period]
		if !ok {
			periods = append(periods, r.Period)
			c = make([]int64, nSeries)
		}
		c[series[actionKey(r.Category, r.Action)]] += r.Count
		counts[r.Period] = c
	}
	slices.Sort(periods)
	for _, c := range counts {
		for _, n := range c {
			if n > max {
				max = n
			}
		}
	}
	slot := (w - 2*pad) / float64(len(periods))
	bar := slot * 0.8 / float64(nSeries)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="custom-chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h,
		template.HTMLEscapeString(i18n.T(lang, "tracking.title")))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#d0d5dd"/>`, pad, h-pad, w-pad, h-pad)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="#667085">%s</text>`, pad, pad-12, template.HTMLEscapeString(formatCount(lang, max)))
	for i, period := range periods {
		x := pad + float64(i)*slot + slot*0.1
		for j, n := range counts[period] {
			bh := (h - 2*pad) * float64(n) / float64(max)
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d</title></rect>`,
				x+float64(j)*bar, h-pad-bh, bar*0.92, bh, chartColours[j], template.HTMLEscapeString(period), n)
		}
		if len(periods) <= 31 || i%(len(periods)/15+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10" fill="#667085">%s</text>`, x, h-pad+14, template.HTMLEscapeString(shortPeriod(period)))
		}
	}
	b.WriteString(`</svg><p class="legend" id="custom-legend">`)
	for i, t := range totals {
		if i == nSeries {
			break
		}
		label := t.Category + " · " + t.Action
		if i == len(chartColours)-1 && len(totals) > len(chartColours) {
			label = i18n.T(lang, "tracking.others")
		}
		fmt.Fprintf(&b, `<svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="%s"/></svg> %s `, chartColours[i], template.HTMLEscapeString(label))
	}
	b.WriteString(`</p>`)
	return template.HTML(b.String())
}

// shortPeriod shortens a period's label under its bar.
func shortPeriod(p string) string {
	switch len(p) {
	case 10: // 2026-03-10
		return p[8:10] + "/" + p[5:7]
	case 7: // 2026-03
		return p[5:7] + "/" + p[2:4]
	}
	if len(p) >= 16 { // an RFC 3339 hour
		return p[11:13] + "h"
	}
	return p
}

func (h *Handler) exportCustomReport(w http.ResponseWriter, r *http.Request, v *visitor) {
	q := cleanQuery(r.URL.Query())
	format := r.URL.Query().Get("format")
	api := url.Values{}
	for k, vs := range q {
		if k != "pick" {
			api[k] = vs
		}
	}
	for _, pick := range q["pick"] {
		if c, a, ok := strings.Cut(pick, "\x1f"); ok {
			api.Add("action", a)
			if !slices.Contains(api["category"], c) {
				api.Add("category", c)
			}
		}
	}
	eq, err := h.Tracking.ParseEventQuery(api)
	var rows []domain.EventCount
	if err == nil && format != "csv" && format != "xlsx" {
		err = domain.Errorf(domain.EINVALID, "format must be csv or xlsx")
	}
	if err == nil {
		rows, err = h.Tracking.EventReport(r.Context(), v.principal, eq)
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	e := tracking.EventExport{Rows: rows, Query: eq, Format: format, Lang: v.lang(), Location: h.Location, BOM: true}
	respond.Attachment(w, e.Filename(), e.ContentType())
	if token := r.URL.Query().Get("download_token"); safeToken.MatchString(token) {
		http.SetCookie(w, &http.Cookie{Name: "ticks_download", Value: token, Path: "/", MaxAge: 60, SameSite: http.SameSiteLaxMode})
	}
	if err := e.Write(w); err != nil && r.Context().Err() == nil {
		respond.LogInternal(r, err)
	}
}

// saveCustomReport saves the report on the page: its actions, bot,
// granularity and length (run over the last as many days when opened).
func (h *Handler) saveCustomReport(w http.ResponseWriter, r *http.Request, v *visitor) {
	q, err := url.ParseQuery(r.PostFormValue("query"))
	if err != nil {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "query: %v", err))
		return
	}
	kind := r.PostFormValue("kind")
	def := tracking.Definition{Granularity: q.Get("granularity"), Within: q.Get("within")}
	def.Days, _ = strconv.Atoi(r.PostFormValue("days"))
	def.Bot, _ = strconv.ParseInt(q.Get("bot"), 10, 64)
	back := "/reports/custom"
	if kind == tracking.KindFunnel {
		back, def.Granularity = "/reports/funnel", ""
		def.Steps = funnelSteps(q)
	} else {
		for _, pick := range q["pick"] {
			if c, a, ok := strings.Cut(pick, "\x1f"); ok {
				def.Actions = append(def.Actions, a)
				if !slices.Contains(def.Categories, c) {
					def.Categories = append(def.Categories, c)
				}
			}
		}
	}
	saved, err := h.Tracking.SaveReport(r.Context(), v.principal, tracking.SavedInput{Name: r.PostFormValue("name"), Kind: kind,
		Shared: r.PostFormValue("shared") != "", SubaccountID: formID(r, "subaccount_id"), Definition: def})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, back+"?"+savedQuery(saved, h.Now(), h.Location).Encode()+"&saved=1", http.StatusSeeOther)
}

// savedQuery is the page query that runs a saved report now.
func savedQuery(s *tracking.SavedReport, now time.Time, loc *time.Location) url.Values {
	d := s.Definition
	q := url.Values{}
	today := now.In(loc)
	q.Set("from", today.AddDate(0, 0, 1-d.Days).Format("2006-01-02"))
	q.Set("to", today.Format("2006-01-02"))
	if d.Bot != 0 {
		q.Set("bot", strconv.FormatInt(d.Bot, 10))
	}
	if s.Kind == tracking.KindFunnel {
		if d.Within != "" {
			q.Set("within", d.Within)
		}
		for _, st := range d.Steps {
			q.Add("step", stepValue(st))
		}
		return q
	}
	q.Set("granularity", d.Granularity)
	// A saved report names categories and actions; the page picks every
	// pair of them that exists.
	for _, c := range d.Categories {
		for _, a := range d.Actions {
			q.Add("pick", actionKey(c, a))
		}
	}
	return q
}

// openCustomReport runs a saved report (an event report or a funnel).
func (h *Handler) openCustomReport(w http.ResponseWriter, r *http.Request, v *visitor) {
	list, err := h.Tracking.SavedReports(r.Context(), v.principal)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	for i := range list {
		if list[i].ID == pathID(r) {
			base := "/reports/custom"
			if list[i].Kind == tracking.KindFunnel {
				base = "/reports/funnel"
			}
			http.Redirect(w, r, base+"?"+savedQuery(&list[i], h.Now(), h.Location).Encode(), http.StatusSeeOther)
			return
		}
	}
	h.fail(w, r, v, domain.Errorf(domain.ENOTFOUND, "%s", i18n.T(v.lang(), "notfound.title")))
}

// stepValue is a funnel step as a form value: "a\x1fcategory\x1faction"
// or "c\x1fcampaign\x1fstage".
func stepValue(s tracking.FunnelStep) string {
	if s.Stage != "" {
		id := ""
		if s.Campaign != 0 {
			id = strconv.FormatInt(s.Campaign, 10)
		}
		return "c\x1f" + id + "\x1f" + s.Stage
	}
	return "a\x1f" + s.Category + "\x1f" + s.Action
}

// funnelSteps reads the steps of the funnel form. A campaign step takes
// the campaign from the form's campaign field when the step does not name
// one.
func funnelSteps(q url.Values) []tracking.FunnelStep {
	var out []tracking.FunnelStep
	campaign, _ := strconv.ParseInt(q.Get("campaign"), 10, 64)
	for _, v := range q["step"] {
		parts := strings.Split(v, "\x1f")
		switch {
		case len(parts) == 3 && parts[0] == "a":
			out = append(out, tracking.FunnelStep{Category: parts[1], Action: parts[2]})
		case len(parts) == 3 && parts[0] == "c":
			id, _ := strconv.ParseInt(parts[1], 10, 64)
			if id == 0 {
				id = campaign
			}
			out = append(out, tracking.FunnelStep{Campaign: id, Stage: parts[2]})
		}
	}
	return out
}

// funnelData is the funnel page.
type funnelData struct {
	trackingChoices
	From, To, Within, Campaign string
	Steps                      []funnelFormStep // the chosen steps, with empty rows to fill
	Stages                     []string
	Result                     *tracking.FunnelResult
	Rows                       []funnelRow
	Chart                      template.HTML
	Query                      string
	Days                       int
}

// funnelFormStep is a step's row of the form: its number and the value
// chosen.
type funnelFormStep struct {
	N     int
	Value string
}

// funnelRow is a step of the result's table.
type funnelRow struct {
	N          int
	Label      string
	Contacts   int64
	Conversion float64
	Median     string
}

func (h *Handler) funnelPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := v.principal.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleViewer); err != nil {
		h.forbidden(w, r, v)
		return
	}
	lang := v.lang()
	choices, err := h.trackingChoices(r, v, tracking.KindFunnel)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	q := cleanQuery(r.URL.Query())
	steps := funnelSteps(q)
	d := &funnelData{trackingChoices: *choices, From: q.Get("from"), To: q.Get("to"), Within: q.Get("within"), Campaign: q.Get("campaign"),
		Stages: []string{"delivered", "read", "replied", "clicked"}}
	if d.Within == "" {
		d.Within = "24h"
	}
	for _, st := range steps {
		if st.Campaign != 0 && d.Campaign == "" {
			d.Campaign = strconv.FormatInt(st.Campaign, 10)
		}
		// The form names a campaign once; its stages' options leave it out.
		st.Campaign = 0
		d.Steps = append(d.Steps, funnelFormStep{N: len(d.Steps) + 1, Value: stepValue(st)})
	}
	for len(d.Steps) < 4 {
		d.Steps = append(d.Steps, funnelFormStep{N: len(d.Steps) + 1})
	}
	p := v.page(i18n.T(lang, "funnel.title"), "funnel")
	if len(steps) > 0 {
		fq := tracking.FunnelQuery{Steps: steps, From: d.From, To: d.To, Within: d.Within}
		d.Result, err = h.Tracking.Funnel(r.Context(), v.principal, fq)
		if err != nil {
			p.Error = h.errorText(r, lang, err)
		} else {
			d.Chart = funnelChart(d.Result, lang)
			for i, st := range d.Result.Steps {
				row := funnelRow{N: i + 1, Label: st.Label, Contacts: st.Contacts, Conversion: st.Conversion, Median: "—"}
				if st.MedianSeconds != nil {
					row.Median = durationText(*st.MedianSeconds)
				}
				d.Rows = append(d.Rows, row)
			}
			d.Days = int(math.Ceil(d.Result.To.Sub(d.Result.From).Hours() / 24))
			d.From = d.Result.From.In(h.Location).Format("2006-01-02")
			d.To = d.Result.To.Add(-time.Second).In(h.Location).Format("2006-01-02")
		}
	}
	d.Query = q.Encode()
	p.Data = d
	h.render(w, r, http.StatusOK, "funnel", p)
}

// funnelChart draws a bar per step, as wide as its contacts, with the
// conversion from the previous step and the median time it took.
func funnelChart(res *tracking.FunnelResult, lang string) template.HTML {
	const w, rowH, labelW = 900.0, 46.0, 300.0
	h := rowH*float64(len(res.Steps)) + 10
	var max int64 = 1
	for _, s := range res.Steps {
		if s.Contacts > max {
			max = s.Contacts
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="funnel-chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h,
		template.HTMLEscapeString(i18n.T(lang, "funnel.title")))
	for i, s := range res.Steps {
		y := float64(i)*rowH + 5
		bw := (w - labelW - 20) * float64(s.Contacts) / float64(max)
		fmt.Fprintf(&b, `<text x="0" y="%.1f" font-size="13" fill="#344054">%d. %s</text>`, y+22, i+1, template.HTMLEscapeString(truncate(s.Label, 40)))
		fmt.Fprintf(&b, `<rect class="bar" x="%.0f" y="%.1f" width="%.1f" height="30" fill="%s"><title>%d</title></rect>`,
			labelW, y+4, math.Max(bw, 1), chartColours[0], s.Contacts)
		note := formatCount(lang, s.Contacts)
		if i > 0 {
			note += " · " + pctText(lang, s.Conversion)
			if s.MedianSeconds != nil {
				note += " · " + i18n.T(lang, "funnel.median") + " " + durationText(*s.MedianSeconds)
			}
		}
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" font-size="12" fill="#101828">%s</text>`, labelW+6, y+24, template.HTMLEscapeString(note))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func pctText(lang string, f float64) string {
	s := strconv.FormatFloat(f*100, 'f', 1, 64)
	if i18n.Normalize(lang) == "pt-BR" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + "%"
}

// durationText writes seconds as 45s, 12 min, 3 h 20 min, 2 d 4 h.
func durationText(sec float64) string {
	d := time.Duration(sec) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d d %d h", int(d.Hours())/24, int(d.Hours())%24)
}

// conversationsData is the conversation metrics page.
type conversationsData struct {
	From, To string
	Bot      int64
	Bots     []domain.Bot
	Report   *tracking.ConversationReport
	Users    []store.ContactActivity
	UsersOf  string
}

func (h *Handler) conversationsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	if err := v.principal.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleViewer); err != nil {
		h.forbidden(w, r, v)
		return
	}
	lang := v.lang()
	q := r.URL.Query()
	d := &conversationsData{From: q.Get("from"), To: q.Get("to")}
	d.Bot, _ = strconv.ParseInt(q.Get("bot"), 10, 64)
	var err error
	if d.Bots, err = h.Tracking.Bots(r.Context(), v.principal); err != nil {
		h.fail(w, r, v, err)
		return
	}
	p := v.page(i18n.T(lang, "nav.conversations"), "conversations")
	cq := tracking.ConversationQuery{From: d.From, To: d.To, BotID: d.Bot}
	if d.Report, err = h.Tracking.Conversations(r.Context(), v.principal, cq); err != nil {
		p.Error = h.errorText(r, lang, err)
	}
	if users := q.Get("users"); users != "" && err == nil {
		uq := tracking.ConversationQuery{From: users, To: users, BotID: d.Bot}
		if d.Users, err = h.Tracking.ConversationUsers(r.Context(), v.principal, uq, 200); err != nil {
			p.Error = h.errorText(r, lang, err)
		}
		d.UsersOf = users
	}
	p.Data = d
	h.render(w, r, http.StatusOK, "conversations", p)
}

// botsData is the bots admin page.
type botsData struct {
	*adminData
	Bots     []domain.Bot
	Names    map[int64]string
	Channels []domain.Channel
	NewToken string
}

// RouterName is the name of the router a bot answers to, "" for none.
func (d *botsData) RouterName(id *int64) string {
	if id == nil {
		return ""
	}
	return d.Names[*id]
}

func (h *Handler) botsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	h.renderBots(w, r, v, "")
}

func (h *Handler) renderBots(w http.ResponseWriter, r *http.Request, v *visitor, token string) {
	ad := h.adminPage(w, r, v, false)
	if ad == nil {
		return
	}
	d := &botsData{adminData: ad, NewToken: token, Names: map[int64]string{}}
	var err error
	if d.Bots, err = h.Tracking.Bots(r.Context(), v.principal); err == nil {
		d.Channels, err = h.Channels.List(r.Context(), v.principal)
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	for _, b := range d.Bots {
		d.Names[b.ID] = b.Name
	}
	p := v.page(i18n.T(v.lang(), "bots.title"), "bots")
	p.Data, p.Flash = d, flash(r, v)
	h.render(w, r, http.StatusOK, "bots", p)
}

// createBot shows the new bot's token once, on the page that answers the
// form.
func (h *Handler) createBot(w http.ResponseWriter, r *http.Request, v *visitor) {
	b, err := h.Tracking.CreateBot(r.Context(), v.principal, tracking.BotInput{Name: r.PostFormValue("name"),
		Kind: r.PostFormValue("kind"), SubaccountID: formID(r, "subaccount_id"), RouterID: formID(r, "router_id"),
		ChannelID: formID(r, "channel_id")})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderBots(w, r, v, b.Token)
}
