package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/billing"
	"github.com/ticksapp/ticks/internal/campaigns"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
	"github.com/ticksapp/ticks/internal/store"
)

// campaignRoutes registers Growth → Mensagens Ativas: the list, a new
// campaign and its import's review, a campaign's live page, its actions,
// and the comparison.
func (h *Handler) campaignRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /campaigns", h.auth(h.campaignsPage))
	mux.HandleFunc("GET /campaigns/new", h.auth(h.newCampaignPage))
	mux.HandleFunc("POST /campaigns", h.limitAudience(h.auth(h.createCampaign)))
	mux.HandleFunc("GET /campaigns/compare", h.auth(h.compareCampaignsPage))
	mux.HandleFunc("GET /campaigns/live", h.auth(h.campaignsEvents))
	mux.HandleFunc("GET /campaigns/{id}", h.auth(h.campaignPage))
	mux.HandleFunc("GET /campaigns/{id}/review", h.auth(h.reviewCampaignPage))
	mux.HandleFunc("GET /campaigns/{id}/errors", h.auth(h.campaignErrors))
	mux.HandleFunc("GET /campaigns/{id}/events", h.auth(h.campaignEvents))
	mux.HandleFunc("POST /campaigns/{id}/confirm", h.auth(h.confirmCampaign))
	mux.HandleFunc("POST /campaigns/{id}/schedule", h.auth(h.scheduleCampaign))
	mux.HandleFunc("POST /campaigns/{id}/{action}", h.auth(h.campaignAction))
	mux.HandleFunc("GET /campaigns/{id}/clicks", h.auth(h.campaignClicksPage))
	mux.HandleFunc("GET /campaigns/{id}/contacts", h.auth(h.campaignContactsPage))
	mux.HandleFunc("GET /campaigns/{id}/messages.csv", h.auth(h.campaignMessagesCSV))
	// A campaign's counted link: opened from a phone, with no login.
	mux.HandleFunc("GET /r/{code}", h.followLink)
}

// campaignListRow is a campaign as the list shows it.
type campaignListRow struct {
	campaigns.Detail
	StatusLabel string
}

type campaignsData struct {
	LiveURL   string // the list's figures as server-sent events
	Name      string
	Scheduled bool
	Rows      []campaignListRow
	NextURL   string
	FirstURL  string
	CanCreate bool
}

func (h *Handler) campaignsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	lang, q := v.lang(), r.URL.Query()
	f := campaigns.ListFilter{Name: q.Get("name"), Cursor: q.Get("cursor"), Limit: 25}
	d := &campaignsData{Name: f.Name, Scheduled: q.Get("scheduled") != "", CanCreate: canWrite(v)}
	if d.Scheduled {
		f.Status = domain.CampaignScheduled
	}
	list, next, err := h.Campaigns.ListDetails(r.Context(), v.principal, f)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	for _, c := range list {
		d.Rows = append(d.Rows, campaignListRow{Detail: c, StatusLabel: i18n.T(lang, "campaigns.status."+string(c.Status))})
	}
	keep := url.Values{}
	if d.Name != "" {
		keep.Set("name", d.Name)
	}
	if d.Scheduled {
		keep.Set("scheduled", "1")
	}
	if next != "" {
		nq := url.Values{}
		for k, vs := range keep {
			nq[k] = vs
		}
		nq.Set("cursor", next)
		d.NextURL = withQuery("/campaigns", nq)
	}
	if f.Cursor != "" {
		d.FirstURL = withQuery("/campaigns", keep)
	}
	live := url.Values{}
	for k, vs := range keep {
		live[k] = vs
	}
	if f.Cursor != "" {
		live.Set("cursor", f.Cursor)
	}
	d.LiveURL = withQuery("/campaigns/live", live)
	p := v.page(i18n.T(lang, "campaigns.title"), "campaigns")
	p.Data = d
	h.render(w, r, http.StatusOK, "campaigns", p)
}

// campaignsEvents streams the list's figures ("campaigns") for the same
// filter and page: each campaign's status and counters, by id.
func (h *Handler) campaignsEvents(w http.ResponseWriter, r *http.Request, v *visitor) {
	q := r.URL.Query()
	f := campaigns.ListFilter{Name: q.Get("name"), Cursor: q.Get("cursor"), Limit: 25}
	if q.Get("scheduled") != "" {
		f.Status = domain.CampaignScheduled
	}
	if _, _, err := h.Campaigns.List(r.Context(), v.principal, f); err != nil {
		respond.Error(w, r, err)
		return
	}
	var sub int64
	if len(v.principal.Scope) == 1 {
		sub = v.principal.Scope[0]
	}
	lang := v.lang()
	h.Campaigns.Live.Stream(w, r, campaigns.ListTopic(sub), "campaigns", func(ctx context.Context) (any, error) {
		list, _, err := h.Campaigns.ListDetails(ctx, v.principal, f)
		if err != nil {
			return nil, err
		}
		rows := map[string]any{}
		for _, c := range list {
			rows[strconv.FormatInt(c.ID, 10)] = map[string]any{"status_label": i18n.T(lang, "campaigns.status."+string(c.Status)),
				"failed": c.Counters.Failed, "delivered": c.Counters.Delivered, "read": c.Counters.Read}
		}
		return map[string]any{"rows": rows}, nil
	})
}

func canWrite(v *visitor) bool {
	return v.principal.Role == domain.RoleAdmin || v.principal.Role == domain.RoleSupervisor
}

// templateGroup is the approved templates of one WhatsApp account, named
// by its channels.
type templateGroup struct {
	Label     string
	Templates []option
}

type newCampaignData struct {
	Channels  []option
	Groups    []templateGroup
	Fallbacks []templateGroup
	Now       string // the datetime-local input's minimum, in the account's zone
}

func (h *Handler) newCampaignPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	lang := v.lang()
	if !canWrite(v) {
		h.forbidden(w, r, v)
		return
	}
	chans, err := h.Channels.List(r.Context(), v.principal)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	tpls, err := h.Channels.Templates(r.Context(), v.principal)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &newCampaignData{Now: h.Now().In(h.Location).Format("2006-01-02T15:04")}
	names := map[string][]string{}
	for _, c := range chans {
		if c.SubaccountID == domain.UnassignedSubaccountID {
			continue
		}
		label := c.Name
		if c.DisplayPhone != "" {
			label += " · " + c.DisplayPhone
		}
		d.Channels = append(d.Channels, option{Value: strconv.FormatInt(c.ID, 10), Label: label})
		names[c.WABAID] = append(names[c.WABAID], c.Name)
	}
	byWABA := map[string]int{}
	for _, t := range tpls {
		if _, ok := names[t.WABAID]; !ok {
			continue
		}
		i, ok := byWABA[t.WABAID]
		if !ok {
			i = len(d.Groups)
			byWABA[t.WABAID] = i
			label := i18n.T(lang, "campaigns.new.account", strings.Join(names[t.WABAID], ", "))
			d.Groups = append(d.Groups, templateGroup{Label: label})
			d.Fallbacks = append(d.Fallbacks, templateGroup{Label: label})
		}
		o := option{Value: t.Name + "|" + t.Language, Label: t.Name + " (" + t.Language + ")"}
		d.Fallbacks[i].Templates = append(d.Fallbacks[i].Templates, o)
		if t.Status == "APPROVED" {
			d.Groups[i].Templates = append(d.Groups[i].Templates, o)
		}
	}
	p := v.page(i18n.T(lang, "campaigns.new.title"), "campaigns")
	p.Data = d
	h.render(w, r, http.StatusOK, "campaign_new", p)
}

// limitAudience caps a new campaign's request body before anything reads
// it (the CSRF check parses the multipart form).
func (h *Handler) limitAudience(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, campaigns.MaxAudienceBytes+1<<20)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			v := h.visitor(r)
			if v == nil {
				http.Error(w, "not logged in", http.StatusUnauthorized)
				return
			}
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				h.fail(w, r, v, domain.Errorf(domain.ETOOLARGE, "%s", i18n.T(v.lang(), "campaigns.new.too_large", campaigns.MaxAudienceBytes>>20)))
				return
			}
			h.fail(w, r, v, domain.Errorf(domain.EINVALID, "%s", i18n.T(v.lang(), "campaigns.new.no_file")))
			return
		}
		defer r.MultipartForm.RemoveAll()
		next(w, r)
	}
}

// createCampaign stores the draft and shows its import's review: the
// campaign starts only once the visitor confirms.
func (h *Handler) createCampaign(w http.ResponseWriter, r *http.Request, v *visitor) {
	lang := v.lang()
	in := campaigns.CreateInput{Name: r.PostFormValue("name"), ChannelID: formID(r, "channel_id"),
		LinkURLs: r.PostForm["link_url"]}
	in.Template, in.Language, _ = strings.Cut(r.PostFormValue("template"), "|")
	if fb := r.PostFormValue("fallback_template"); fb != "" {
		in.FallbackTemplate, _, _ = strings.Cut(fb, "|")
	}
	when, err := h.sendTime(lang, r.PostFormValue("when"), r.PostFormValue("at"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	files := r.MultipartForm.File["audience"]
	if len(files) == 0 || files[0].Size == 0 && files[0].Filename == "" {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "%s", i18n.T(lang, "campaigns.new.no_file")))
		return
	}
	file, err := files[0].Open()
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	defer file.Close()
	in.Audience = file
	c, err := h.Campaigns.Create(r.Context(), v.principal, in)
	var none *campaigns.NoValidRows
	if errors.As(err, &none) {
		p := v.page(i18n.T(lang, "campaigns.review.title"), "campaigns")
		p.Error = i18n.T(lang, "campaigns.review.none_valid")
		p.Data = &reviewData{Report: none.Report, Rejected: none.Report.Errors, Name: in.Name}
		h.render(w, r, http.StatusUnprocessableEntity, "campaign_review", p)
		return
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	q := url.Values{}
	if !when.IsZero() {
		q.Set("at", when.In(h.Location).Format("2006-01-02T15:04"))
	}
	http.Redirect(w, r, withQuery("/campaigns/"+strconv.FormatInt(c.Campaign.ID, 10)+"/review", q), http.StatusSeeOther)
}

// sendTime reads the form's choice: "now" (the zero time) or a date and
// time in the account's time zone, which must be ahead.
func (h *Handler) sendTime(lang, when, at string) (time.Time, error) {
	if when != "at" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", at, h.Location)
	if err != nil {
		return t, domain.Errorf(domain.EINVALID, "%s", i18n.T(lang, "campaigns.new.bad_time"))
	}
	if !t.After(h.Now()) {
		return t, domain.Errorf(domain.EUNPROCESSABLE, "%s", i18n.T(lang, "campaigns.new.past_time"))
	}
	return t, nil
}

type reviewData struct {
	Campaign *domain.Campaign
	Name     string
	Report   campaigns.ImportReport
	Rejected []domain.CampaignRowError
	More     int // rejected rows beyond those shown
	At       string
	// Estimate is what sending the valid rows costs at the rate card's
	// list rate (nil when it cannot be told: no billing, a viewer).
	Estimate *billing.Estimate
}

// reviewCampaignPage shows a draft's import: valid rows, every rejected
// row with its line and reason, and the choice to send (now or at a time)
// or discard.
func (h *Handler) reviewCampaignPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	lang := v.lang()
	c, err := h.Campaigns.Get(r.Context(), v.principal, pathID(r))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if c.Status != domain.CampaignDraft {
		http.Redirect(w, r, "/campaigns/"+strconv.FormatInt(c.ID, 10), http.StatusSeeOther)
		return
	}
	rejected, err := h.Campaigns.Errors(r.Context(), v.principal, c.ID)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &reviewData{Campaign: c, Name: c.Name, At: r.URL.Query().Get("at"),
		Report: campaigns.ImportReport{Rows: c.Rows, Valid: c.Audience, Invalid: c.Invalid, Duplicates: c.Duplicates, OptedOut: c.OptedOut}}
	d.Rejected = rejected[:min(len(rejected), campaigns.MaxReportedErrors)]
	d.More = len(rejected) - len(d.Rejected)
	if h.Billing != nil && canWrite(v) {
		// The estimate helps the decision; the review stands without it.
		if d.Estimate, err = h.Billing.Estimate(r.Context(), v.principal, c); err != nil {
			respond.LogInternal(r, err)
			d.Estimate = nil
		}
	}
	p := v.page(i18n.T(lang, "campaigns.review.title"), "campaigns")
	p.Data = d
	h.render(w, r, http.StatusOK, "campaign_review", p)
}

// confirmCampaign starts a reviewed draft now or schedules it.
func (h *Handler) confirmCampaign(w http.ResponseWriter, r *http.Request, v *visitor) {
	id := pathID(r)
	when, err := h.sendTime(v.lang(), r.PostFormValue("when"), r.PostFormValue("at"))
	if err == nil {
		if when.IsZero() {
			_, err = h.Campaigns.Start(r.Context(), v.principal, id)
		} else {
			_, err = h.Campaigns.Reschedule(r.Context(), v.principal, id, when)
		}
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/campaigns/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// scheduleCampaign moves the time of a campaign that has not started.
func (h *Handler) scheduleCampaign(w http.ResponseWriter, r *http.Request, v *visitor) {
	id := pathID(r)
	when, err := h.sendTime(v.lang(), "at", r.PostFormValue("at"))
	if err == nil {
		_, err = h.Campaigns.Reschedule(r.Context(), v.principal, id, when)
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/campaigns/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// campaignAction starts, pauses, resumes, cancels or discards a campaign.
func (h *Handler) campaignAction(w http.ResponseWriter, r *http.Request, v *visitor) {
	id := pathID(r)
	var err error
	back := "/campaigns/" + strconv.FormatInt(id, 10)
	switch r.PathValue("action") {
	case "start":
		_, err = h.Campaigns.Start(r.Context(), v.principal, id)
	case "pause":
		_, err = h.Campaigns.Pause(r.Context(), v.principal, id)
	case "resume":
		_, err = h.Campaigns.Resume(r.Context(), v.principal, id)
	case "cancel":
		_, err = h.Campaigns.Cancel(r.Context(), v.principal, id)
	case "discard": // a reviewed draft the visitor does not send
		_, err = h.Campaigns.Cancel(r.Context(), v.principal, id)
		back = "/campaigns"
	default:
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// campaignErrors downloads every rejected row of a campaign's audience.
func (h *Handler) campaignErrors(w http.ResponseWriter, r *http.Request, v *visitor) {
	id := pathID(r)
	list, err := h.Campaigns.Errors(r.Context(), v.principal, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	lang := v.lang()
	respond.Attachment(w, "campaign-"+strconv.FormatInt(id, 10)+"-audience-errors.csv", "text/csv; charset=utf-8")
	cols := []export.Column{{Header: i18n.T(lang, "campaigns.review.line")}, {Header: i18n.T(lang, "campaigns.review.phone")},
		{Header: i18n.T(lang, "campaigns.review.reason")}}
	rows := func(emit func([]string) error) error {
		for _, e := range list {
			if err := emit([]string{strconv.Itoa(e.Line), e.Phone, e.Error}); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := export.WriteCSV(w, cols, rows, export.CSVOptions{BOM: true}); err != nil {
		respond.LogInternal(r, err)
	}
}

// campaignView is a campaign's page, and the snapshot its live stream
// sends: the figures as numbers, the parts drawn by the server as HTML.
type campaignView struct {
	ID           string             `json:"id"`
	Status       string             `json:"status"`
	StatusLabel  string             `json:"status_label"`
	Counters     campaigns.Counters `json:"counters"`
	Progress     float64            `json:"progress"` // processed / audience, in percent
	ProgressText string             `json:"-"`        // the same as the page first shows it
	Can          map[string]bool    `json:"can"`
	HTML         map[string]string  `json:"html"`

	Campaign *domain.Campaign         `json:"-"`
	Links    map[string]string        `json:"-"` // each counter's contacts in the detailed report
	Exports  map[string]string        `json:"-"`
	Buttons  []store.CampaignButton   `json:"-"`
	LinkRows []campaigns.LinkCount    `json:"-"`
	Failures []store.CampaignFailure  `json:"-"`
	Parts    map[string]template.HTML `json:"-"`
	At       string                   `json:"-"` // the schedule form's value
	MinAt    string                   `json:"-"`
	Write    bool                     `json:"-"`
}

func (h *Handler) campaignView(ctx context.Context, v *visitor, id int64) (*campaignView, error) {
	lang := v.lang()
	d, err := h.Campaigns.Detail(ctx, v.principal, id)
	if err != nil {
		return nil, err
	}
	hours, err := h.Campaigns.Hours(ctx, v.principal, d.Campaign)
	if err != nil {
		return nil, err
	}
	c, k := d.Campaign, d.Counters
	cv := &campaignView{ID: strconv.FormatInt(c.ID, 10), Status: string(c.Status),
		StatusLabel: i18n.T(lang, "campaigns.status."+string(c.Status)), Counters: k, Campaign: c,
		Buttons: d.Buttons, LinkRows: d.Links, Failures: d.Failures, Write: canWrite(v),
		MinAt: h.Now().In(h.Location).Format("2006-01-02T15:04")}
	if k.Audience > 0 {
		cv.Progress = math.Round(1000*float64(k.Processed)/float64(k.Audience)) / 10
	}
	cv.ProgressText = strconv.FormatFloat(cv.Progress, 'f', -1, 64)
	if i18n.Normalize(lang) == "pt-BR" {
		cv.ProgressText = strings.Replace(cv.ProgressText, ".", ",", 1)
	}
	if c.ScheduledAt != nil {
		cv.At = c.ScheduledAt.In(h.Location).Format("2006-01-02T15:04")
	}
	w := cv.Write
	cv.Can = map[string]bool{
		"start":    w && (c.Status == domain.CampaignDraft || c.Status == domain.CampaignScheduled),
		"pause":    w && c.Status == domain.CampaignRunning,
		"resume":   w && c.Status == domain.CampaignPaused,
		"cancel":   w && (c.Status == domain.CampaignDraft || c.Status == domain.CampaignScheduled || c.Status == domain.CampaignRunning || c.Status == domain.CampaignPaused),
		"schedule": w && (c.Status == domain.CampaignDraft || c.Status == domain.CampaignScheduled),
	}
	// Drill-downs and downloads are the detailed report's, filtered to the
	// campaign from the day it was created.
	base := url.Values{"campaign": {cv.ID}, "from": {c.CreatedAt.In(h.Location).Format(time.DateOnly)}}
	link := func(extra ...string) string {
		q := url.Values{}
		for k, vs := range base {
			q[k] = vs
		}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Add(extra[i], extra[i+1])
		}
		return withQuery("/reports/messages", q)
	}
	var failed []string
	for _, s := range domain.Statuses {
		if s.IsFailure() {
			failed = append(failed, string(s))
		}
	}
	cv.Links = map[string]string{
		"sent": link(), "failed": link("status", strings.Join(failed, ",")),
		"delivered": link("status", "delivered,read"), "read": link("status", "read"),
		"replied": link("direction", "mo"), "clicked": link("direction", "mo", "content_type", "button"),
		"audience":     "/campaigns/" + cv.ID + "/contacts?of=" + campaigns.OfAudience,
		"opted_out":    "/campaigns/" + cv.ID + "/contacts?of=" + campaigns.OfOptedOut,
		"link_clicked": "/campaigns/" + cv.ID + "/clicks",
	}
	exp := func(format string) string {
		q, _ := url.ParseQuery(strings.TrimPrefix(link("format", format), "/reports/messages?"))
		return withQuery("/reports/messages/export", q)
	}
	cv.Exports = map[string]string{"csv": exp("csv"), "xlsx": exp("xlsx")}
	cv.Parts = map[string]template.HTML{
		"funnel":   campaignFunnel(lang, k, cv.Links, len(cv.LinkRows) > 0),
		"chart":    campaignChart(lang, hours, h.Location),
		"failures": h.campaignPart("campaign-failures", lang, cv),
		"buttons":  h.campaignPart("campaign-buttons", lang, cv),
	}
	cv.HTML = map[string]string{}
	for k, v := range cv.Parts {
		cv.HTML[k] = string(v)
	}
	return cv, nil
}

// campaignPart renders one of the campaign page's tables on its own, for
// the page and its live stream alike.
func (h *Handler) campaignPart(name, lang string, cv *campaignView) template.HTML {
	var b bytes.Buffer
	if err := h.pages["campaign"].ExecuteTemplate(&b, name, map[string]any{"Lang": lang, "V": cv}); err != nil {
		return template.HTML("<!-- " + template.HTMLEscapeString(err.Error()) + " -->")
	}
	return template.HTML(b.String())
}

func (h *Handler) campaignPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	cv, err := h.campaignView(r.Context(), v, pathID(r))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	p := v.page(cv.Campaign.Name, "campaigns")
	p.Data = cv
	h.render(w, r, http.StatusOK, "campaign", p)
}

// campaignEvents streams the campaign's page as server-sent events
// ("campaign") while it changes.
func (h *Handler) campaignEvents(w http.ResponseWriter, r *http.Request, v *visitor) {
	id := pathID(r)
	topic, err := h.Campaigns.Topic(r.Context(), v.principal, id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	h.Campaigns.Live.Stream(w, r, topic, "campaign", func(ctx context.Context) (any, error) {
		return h.campaignView(ctx, v, id)
	})
}

// campaignFunnel draws sent → received → read → replied → clicked as
// horizontal bars (SVG: the page's policy allows no inline style); a
// campaign whose links ticks counts has one more, the contacts of clicked
// who clicked a link.
func campaignFunnel(lang string, k campaigns.Counters, links map[string]string, counted bool) template.HTML {
	type step struct {
		key string
		n   int64
	}
	steps := []step{{"sent", k.Sent}, {"delivered", k.Delivered}, {"read", k.Read}, {"replied", k.Replied}, {"clicked", k.Clicked}}
	if counted {
		steps = append(steps, step{"link_clicked", k.LinkClicked})
	}
	const w, row, label = 720.0, 34.0, 170.0
	top := max(k.Sent, 1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="campaign-funnel" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, row*float64(len(steps)),
		template.HTMLEscapeString(i18n.T(lang, "campaigns.funnel")))
	for i, s := range steps {
		y := float64(i) * row
		bw := (w - label - 120) * float64(s.n) / float64(top)
		share := ""
		if k.Sent > 0 {
			share = " · " + strconv.FormatFloat(100*float64(s.n)/float64(k.Sent), 'f', 1, 64) + "%"
			if i18n.Normalize(lang) == "pt-BR" {
				share = strings.Replace(share, ".", ",", 1)
			}
		}
		fmt.Fprintf(&b, `<a href="%s"><text x="0" y="%.0f" font-size="13" fill="#344054">%s</text>`, template.HTMLEscapeString(links[s.key]), y+21,
			template.HTMLEscapeString(i18n.T(lang, "campaigns.counter."+s.key)))
		fmt.Fprintf(&b, `<rect class="bar %s" data-step="%s" x="%.0f" y="%.0f" width="%.1f" height="%.0f"></rect>`, funnelClass(s.key), s.key, label, y+6, max(bw, 1), row-12)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="12" fill="#475467">%s%s</text></a>`, label+max(bw, 1)+8, y+21,
			template.HTMLEscapeString(formatCount(lang, s.n)), share)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func funnelClass(step string) string {
	switch step {
	case "sent":
		return "total"
	case "replied", "clicked", "link_clicked":
		return "fep"
	}
	return step
}

// campaignChart draws the campaign's messages per hour they were sent (the
// last 72 hours that have any): sent, received, read and failed.
func campaignChart(lang string, hours []store.HourCount, loc *time.Location) template.HTML {
	const w, h, pad = 900.0, 240.0, 30.0
	if len(hours) == 0 {
		return template.HTML(`<p class="muted" id="campaign-chart-empty">` + template.HTMLEscapeString(i18n.T(lang, "campaigns.chart.empty")) + `</p>`)
	}
	first := hours[0].Hour
	if last := hours[len(hours)-1].Hour; last.Sub(first) > 71*time.Hour {
		first = last.Add(-71 * time.Hour)
	}
	byHour := map[int64]store.HourCount{}
	var top int64 = 1
	for _, x := range hours {
		byHour[x.Hour.Unix()] = x
		top = max(top, x.Total)
	}
	n := int(hours[len(hours)-1].Hour.Sub(first)/time.Hour) + 1
	slot := (w - 2*pad) / float64(n)
	bar := slot / 5
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="campaign-chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h,
		template.HTMLEscapeString(i18n.T(lang, "campaigns.chart")))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#d0d5dd"/>`, pad, h-pad, w-pad, h-pad)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="#667085">%s</text>`, pad, pad-10, template.HTMLEscapeString(formatCount(lang, top)))
	for i := 0; i < n; i++ {
		at := first.Add(time.Duration(i) * time.Hour)
		x0 := byHour[at.Unix()]
		x := pad + float64(i)*slot + bar/2
		label := at.In(loc).Format("02/01 15h")
		for j, s := range []struct {
			class string
			n     int64
		}{{"total", x0.Total}, {"delivered", x0.Delivered}, {"read", x0.Read}, {"failed", x0.Failed}} {
			bh := (h - 2*pad) * float64(s.n) / float64(top)
			fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s · %s: %s</title></rect>`,
				s.class, x+float64(j)*bar, h-pad-bh, bar*0.9, bh, label, template.HTMLEscapeString(i18n.T(lang, "campaigns.chart."+s.class)),
				formatCount(lang, s.n))
		}
		if n <= 12 || i%(n/12+1) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10" fill="#667085">%s</text>`, x, h-pad+14, label)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// compareRow is one campaign of a comparison.
type compareRow struct {
	campaigns.Compared
	Rates []compareRate
}

type compareRate struct {
	Key   string
	Rate  campaigns.Rate
	Label string
}

type compareData struct {
	Choices  []option
	Rows     []compareRow
	Verdicts []string
}

// compareCampaignsPage puts two to four campaigns side by side: each
// rate with its 95 % interval, and whether each pair's difference is
// beyond chance, in words.
func (h *Handler) compareCampaignsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	lang := v.lang()
	chosen := map[string]bool{}
	var ids []int64
	for _, s := range r.URL.Query()["id"] {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 && !chosen[s] {
			ids = append(ids, id)
			chosen[s] = true
		}
	}
	list, _, err := h.Campaigns.List(r.Context(), v.principal, campaigns.ListFilter{Limit: 200})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d := &compareData{}
	for _, c := range list {
		id := strconv.FormatInt(c.ID, 10)
		d.Choices = append(d.Choices, option{Value: id, Label: c.Name + " · " + c.Template, Selected: chosen[id]})
	}
	p := v.page(i18n.T(lang, "campaigns.compare.title"), "campaigns")
	p.Data = d
	if len(ids) > 0 {
		cmp, err := h.Campaigns.Compare(r.Context(), v.principal, ids)
		if err != nil {
			p.Error = h.errorText(r, lang, err)
		} else {
			names := map[int64]string{}
			for _, c := range cmp.Campaigns {
				names[c.ID] = c.Name
				row := compareRow{Compared: c, Rates: []compareRate{
					{"delivery", c.Delivery, i18n.T(lang, "campaigns.rate.delivery")},
					{"read", c.Read, i18n.T(lang, "campaigns.rate.read")},
					{"reply", c.Reply, i18n.T(lang, "campaigns.rate.reply")},
					{"failure", c.Failure, i18n.T(lang, "campaigns.rate.failure")}}}
				if c.Click != nil {
					row.Rates = append(row.Rates, compareRate{"click", *c.Click, i18n.T(lang, "campaigns.rate.click")})
				}
				d.Rows = append(d.Rows, row)
			}
			for _, x := range cmp.Differences {
				d.Verdicts = append(d.Verdicts, verdict(lang, x, names))
			}
		}
	}
	h.render(w, r, http.StatusOK, "campaign_compare", p)
}

// verdict says a pair's difference of one rate in words.
func verdict(lang string, x campaigns.Difference, names map[int64]string) string {
	rate := i18n.T(lang, "campaigns.rate."+x.Rate)
	points := strconv.FormatFloat(math.Abs(x.Diff)*100, 'f', 1, 64)
	pv := "p = " + strconv.FormatFloat(x.PValue, 'f', 3, 64)
	if x.PValue < 0.001 {
		pv = "p < 0.001"
	}
	if i18n.Normalize(lang) == "pt-BR" {
		points, pv = strings.Replace(points, ".", ",", 1), strings.Replace(pv, ".", ",", 1)
	}
	a, b := names[x.A], names[x.B]
	if x.Diff < 0 {
		a, b = b, a
	}
	switch {
	case !x.Significant:
		return i18n.T(lang, "campaigns.compare.same", rate, names[x.A], names[x.B], points, pv)
	default:
		return i18n.T(lang, "campaigns.compare.differs", rate, a, b, points, pv)
	}
}

// campaignOptions lists the campaigns of the report's subaccount (or of
// every subaccount the visitor sees) by name for the detailed report's
// filter; the query keeps taking the campaign's id.
func (h *Handler) campaignOptions(r *http.Request, v *visitor, q url.Values) []option {
	lang, chosen := v.lang(), q.Get("campaign")
	out := []option{{Value: "", Label: i18n.T(lang, "common.all")}}
	if h.Campaigns == nil {
		return out
	}
	sub, _ := strconv.ParseInt(q.Get("subaccount"), 10, 64)
	list, _, err := h.Campaigns.List(r.Context(), v.principal, campaigns.ListFilter{Limit: 200})
	if err != nil {
		return out
	}
	found := chosen == ""
	for _, c := range list {
		if sub != 0 && c.SubaccountID != sub {
			continue
		}
		id := strconv.FormatInt(c.ID, 10)
		found = found || id == chosen
		out = append(out, option{Value: id, Label: c.Name + " (#" + id + ")", Selected: id == chosen})
	}
	if !found { // an older campaign, or one by id only: keep it chosen
		out = append(out, option{Value: chosen, Label: "#" + chosen, Selected: true})
	}
	return out
}

// followLink is a counted link button's redirect: the click is counted and
// the contact sent on (302); a code that is no campaign's is the 404 page.
func (h *Handler) followLink(w http.ResponseWriter, r *http.Request) {
	if h.Campaigns == nil {
		h.notFound(w, r)
		return
	}
	to, err := h.Campaigns.Click(r.Context(), r.PathValue("code"))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		h.notFound(w, r)
		return
	}
	if err != nil {
		respond.LogInternal(r, err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Robots-Tag", "noindex")
	http.Redirect(w, r, to, http.StatusFound)
}

type clicksData struct {
	Campaign *domain.Campaign
	Links    []campaigns.LinkCount
	Button   int // -1: every button
	Rows     []clickRow
	NextURL  string
	FirstURL string
	CSVURL   string
}

type clickRow struct {
	store.CampaignClick
	Text string
}

// campaignClicksPage is the drill-down of a campaign's link clicks: the
// contacts who clicked (one button's, or every one's), a page at a time,
// and all of them as CSV.
func (h *Handler) campaignClicksPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	lang, q := v.lang(), r.URL.Query()
	d, err := h.Campaigns.Detail(r.Context(), v.principal, pathID(r))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	f := campaigns.ClicksFilter{Button: -1, Cursor: q.Get("cursor"), Limit: 100}
	if b := q.Get("button"); b != "" {
		if f.Button, err = strconv.Atoi(b); err != nil || f.Button < 0 {
			h.fail(w, r, v, domain.Errorf(domain.EINVALID, "button must be a button's number"))
			return
		}
	}
	text := map[int]string{}
	for _, l := range d.Links {
		text[l.Button] = l.Text
	}
	if _, ok := text[f.Button]; f.Button >= 0 && !ok {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "button %d is not one of the campaign's counted links", f.Button))
		return
	}
	id := strconv.FormatInt(d.ID, 10)
	keep := url.Values{}
	if f.Button >= 0 {
		keep.Set("button", strconv.Itoa(f.Button))
	}
	if q.Get("format") == "csv" {
		h.campaignClicksCSV(w, r, v, d.ID, f.Button, text)
		return
	}
	cd := &clicksData{Campaign: d.Campaign, Links: d.Links, Button: f.Button}
	next, err := h.Campaigns.Clicks(r.Context(), v.principal, d.ID, f, func(c campaigns.Click) error {
		cd.Rows = append(cd.Rows, clickRow{CampaignClick: c, Text: text[c.Button]})
		return nil
	})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	base := "/campaigns/" + id + "/clicks"
	if next != "" {
		nq := url.Values{"cursor": {next}}
		for k, vs := range keep {
			nq[k] = vs
		}
		cd.NextURL = withQuery(base, nq)
	}
	if f.Cursor != "" {
		cd.FirstURL = withQuery(base, keep)
	}
	cq := url.Values{"format": {"csv"}}
	for k, vs := range keep {
		cq[k] = vs
	}
	cd.CSVURL = withQuery(base, cq)
	p := v.page(i18n.T(lang, "campaigns.clicks.title", d.Name), "campaigns")
	p.Data = cd
	h.render(w, r, http.StatusOK, "campaign_clicks", p)
}

// campaignClicksCSV downloads every contact who clicked the campaign's
// links (or one button's).
func (h *Handler) campaignClicksCSV(w http.ResponseWriter, r *http.Request, v *visitor, id int64, button int, text map[int]string) {
	lang := v.lang()
	cols := []export.Column{{Header: i18n.T(lang, "campaigns.review.phone")}, {Header: i18n.T(lang, "campaigns.clicks.name")},
		{Header: i18n.T(lang, "campaigns.clicks.correlation")}, {Header: i18n.T(lang, "campaigns.buttons.text")},
		{Header: i18n.T(lang, "campaigns.clicks.clicks")}, {Header: i18n.T(lang, "campaigns.clicks.first")},
		{Header: i18n.T(lang, "campaigns.clicks.last")}}
	rows := func(emit func([]string) error) error {
		_, err := h.Campaigns.Clicks(r.Context(), v.principal, id, campaigns.ClicksFilter{Button: button},
			func(c campaigns.Click) error {
				return emit([]string{c.Phone, c.Name, c.CorrelationID, text[c.Button], strconv.FormatInt(c.Clicks, 10),
					c.FirstAt.In(h.Location).Format("2006-01-02 15:04:05"), c.LastAt.In(h.Location).Format("2006-01-02 15:04:05")})
			})
		return err
	}
	respond.Attachment(w, "campaign-"+strconv.FormatInt(id, 10)+"-clicks.csv", "text/csv; charset=utf-8")
	if _, err := export.WriteCSV(w, cols, rows, export.CSVOptions{BOM: true}); err != nil {
		respond.LogInternal(r, err)
	}
}

type contactsData struct {
	Campaign *domain.Campaign
	Of       string
	Rows     []campaigns.CounterContact
	NextURL  string
	FirstURL string
	CSVURL   string
}

// campaignContactsPage is the drill-down of the counters whose contacts the
// detailed report does not list: the audience's rows and the contacts who
// opted out after the start, a page at a time, and all of them as CSV.
func (h *Handler) campaignContactsPage(w http.ResponseWriter, r *http.Request, v *visitor) {
	lang, q := v.lang(), r.URL.Query()
	id := pathID(r)
	of := q.Get("of")
	if of != campaigns.OfAudience && of != campaigns.OfOptedOut {
		h.fail(w, r, v, domain.Errorf(domain.EINVALID, "of must be audience or opted_out"))
		return
	}
	c, err := h.Campaigns.Get(r.Context(), v.principal, id)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	base := "/campaigns/" + strconv.FormatInt(c.ID, 10) + "/contacts"
	if q.Get("format") == "csv" {
		cols := []export.Column{{Header: i18n.T(lang, "campaigns.review.phone")}, {Header: i18n.T(lang, "campaigns.clicks.name")},
			{Header: i18n.T(lang, "campaigns.clicks.correlation")}}
		if of == campaigns.OfAudience {
			cols = append(cols, export.Column{Header: i18n.T(lang, "campaigns.review.line")})
		} else {
			cols = append(cols, export.Column{Header: i18n.T(lang, "campaigns.contacts.opted_out_at")})
		}
		rows := func(emit func([]string) error) error {
			_, err := h.Campaigns.CounterContacts(r.Context(), v.principal, c.ID, of, "", 0, func(k campaigns.CounterContact) error {
				last := strconv.Itoa(k.Line)
				if k.At != nil {
					last = k.At.In(h.Location).Format("2006-01-02 15:04:05")
				}
				return emit([]string{k.Phone, k.Name, k.CorrelationID, last})
			})
			return err
		}
		respond.Attachment(w, "campaign-"+strconv.FormatInt(c.ID, 10)+"-"+of+".csv", "text/csv; charset=utf-8")
		if _, err := export.WriteCSV(w, cols, rows, export.CSVOptions{BOM: true}); err != nil {
			respond.LogInternal(r, err)
		}
		return
	}
	d := &contactsData{Campaign: c, Of: of}
	next, err := h.Campaigns.CounterContacts(r.Context(), v.principal, c.ID, of, q.Get("cursor"), 100, func(k campaigns.CounterContact) error {
		d.Rows = append(d.Rows, k)
		return nil
	})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if next != "" {
		d.NextURL = withQuery(base, url.Values{"of": {of}, "cursor": {next}})
	}
	if q.Get("cursor") != "" {
		d.FirstURL = withQuery(base, url.Values{"of": {of}})
	}
	d.CSVURL = withQuery(base, url.Values{"of": {of}, "format": {"csv"}})
	p := v.page(i18n.T(lang, "campaigns.contacts.title."+of, c.Name), "campaigns")
	p.Data = d
	h.render(w, r, http.StatusOK, "campaign_contacts", p)
}

// campaignMessagesCSV downloads every audience row of the campaign with
// what became of it (campaigns.Service.MessagesExport), in the visitor's
// language and the account's time zone.
func (h *Handler) campaignMessagesCSV(w http.ResponseWriter, r *http.Request, v *visitor) {
	id := pathID(r)
	cols, rows, err := h.Campaigns.MessagesExport(r.Context(), v.principal, id, v.lang(), h.Location)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	respond.Attachment(w, "campaign-"+strconv.FormatInt(id, 10)+"-messages.csv", "text/csv; charset=utf-8")
	if _, err := export.WriteCSV(w, cols, rows, export.CSVOptions{BOM: true}); err != nil && r.Context().Err() == nil {
		respond.LogInternal(r, err)
	}
}
