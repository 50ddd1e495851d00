package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/campaigns"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
)

// campaignRoutes registers the campaigns' endpoints.
func (h *Handler) campaignRoutes(handle func(string, func(http.ResponseWriter, *http.Request, *access.Principal))) {
	handle("POST /api/v1/campaigns", h.createCampaign)
	handle("GET /api/v1/campaigns", h.listCampaigns)
	handle("GET /api/v1/campaigns/compare", h.compareCampaigns)
	handle("GET /api/v1/campaigns/{id}", h.getCampaign)
	handle("POST /api/v1/campaigns/{id}/start", h.changeCampaign(h.campaignsStart))
	handle("POST /api/v1/campaigns/{id}/pause", h.changeCampaign(h.campaignsPause))
	handle("POST /api/v1/campaigns/{id}/resume", h.changeCampaign(h.campaignsResume))
	handle("POST /api/v1/campaigns/{id}/cancel", h.changeCampaign(h.campaignsCancel))
	handle("POST /api/v1/campaigns/{id}/schedule", h.rescheduleCampaign)
	handle("GET /api/v1/campaigns/{id}/audience/errors", h.campaignAudienceErrors)
	handle("GET /api/v1/campaigns/{id}/messages", h.campaignMessages)
	handle("GET /api/v1/campaigns/{id}/events", h.campaignEvents)
	handle("GET /api/v1/campaigns/{id}/clicks", h.campaignClicks)
}

// createCampaign takes a multipart form: the audience file and the
// campaign's fields.
func (h *Handler) createCampaign(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	in, cleanup, err := campaignForm(w, r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	defer cleanup()
	c, err := h.Campaigns.Create(r.Context(), p, in)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, map[string]any{"id": strconv.FormatInt(c.Campaign.ID, 10), "name": c.Campaign.Name,
		"status": c.Campaign.Status, "audience": c.Audience})
}

// campaignForm reads a campaign's multipart form, up to the audience's
// size limit (the file itself goes to a temporary file past 8 MiB).
func campaignForm(w http.ResponseWriter, r *http.Request) (campaigns.CreateInput, func(), error) {
	var in campaigns.CreateInput
	r.Body = http.MaxBytesReader(w, r.Body, campaigns.MaxAudienceBytes+1<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return in, nil, domain.Errorf(domain.ETOOLARGE, "the audience file is over %d MB", campaigns.MaxAudienceBytes>>20)
		}
		return in, nil, domain.Errorf(domain.EINVALID, "the request must be multipart/form-data with the audience file and the campaign's fields: %v", err)
	}
	cleanup := func() { r.MultipartForm.RemoveAll() }
	f := r.MultipartForm
	get := func(k string) string {
		if v := f.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	in.Name, in.Template, in.Language, in.FallbackTemplate = get("name"), get("template"), get("language"), get("fallback_template")
	in.LinkURLs = f.Value["link_url"]
	if v := get("channel_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			cleanup()
			return in, nil, domain.Errorf(domain.EINVALID, "channel_id must be a positive integer id")
		}
		in.ChannelID = n
	}
	if v := get("scheduled_at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			cleanup()
			return in, nil, domain.Errorf(domain.EINVALID, "scheduled_at must be an RFC 3339 time such as 2026-12-24T09:00:00-03:00")
		}
		in.ScheduledAt = &t
	}
	files := f.File["audience"]
	if len(files) == 0 {
		cleanup()
		return in, nil, domain.Errorf(domain.EINVALID, "audience is required: a CSV or XLSX file")
	}
	if files[0].Size > campaigns.MaxAudienceBytes {
		cleanup()
		return in, nil, domain.Errorf(domain.ETOOLARGE, "the audience file is over %d MB", campaigns.MaxAudienceBytes>>20)
	}
	file, err := files[0].Open()
	if err != nil {
		cleanup()
		return in, nil, err
	}
	in.Audience = file
	return in, func() { file.Close(); cleanup() }, nil
}

func (h *Handler) listCampaigns(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	q := r.URL.Query()
	f := campaigns.ListFilter{Name: q.Get("name"), Status: domain.CampaignStatus(q.Get("status")), Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "limit must be between 1 and 200"))
			return
		}
		f.Limit = n
	}
	rows, next, err := h.Campaigns.ListDetails(r.Context(), p, f)
	reply(w, r, http.StatusOK, map[string]any{"rows": rows, "next_cursor": next}, err)
}

func (h *Handler) getCampaign(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	d, err := h.Campaigns.Detail(r.Context(), p, id)
	reply(w, r, http.StatusOK, d, err)
}

type campaignChange func(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error)

func (h *Handler) campaignsStart(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error) {
	return h.Campaigns.Start(ctx, p, id)
}

func (h *Handler) campaignsPause(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error) {
	return h.Campaigns.Pause(ctx, p, id)
}

func (h *Handler) campaignsResume(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error) {
	return h.Campaigns.Resume(ctx, p, id)
}

func (h *Handler) campaignsCancel(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error) {
	return h.Campaigns.Cancel(ctx, p, id)
}

// changeCampaign answers start, pause, resume and cancel: 200 with the
// campaign, 409 when its status does not allow it.
func (h *Handler) changeCampaign(fn campaignChange) func(http.ResponseWriter, *http.Request, *access.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *access.Principal) {
		id, err := pathID(r)
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		c, err := fn(r.Context(), p, id)
		reply(w, r, http.StatusOK, c, err)
	}
}

func (h *Handler) rescheduleCampaign(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var body struct {
		ScheduledAt time.Time `json:"scheduled_at"`
	}
	if err := decode(w, r, &body); err != nil {
		respond.Error(w, r, err)
		return
	}
	if body.ScheduledAt.IsZero() {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "scheduled_at is required"))
		return
	}
	c, err := h.Campaigns.Reschedule(r.Context(), p, id, body.ScheduledAt)
	reply(w, r, http.StatusOK, c, err)
}

// campaignAudienceErrors downloads every rejected row of the audience as
// CSV: line, phone, reason.
func (h *Handler) campaignAudienceErrors(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	list, err := h.Campaigns.Errors(r.Context(), p, id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.Attachment(w, "campaign-"+strconv.FormatInt(id, 10)+"-audience-errors.csv", "text/csv; charset=utf-8")
	cols := []export.Column{{Header: "row"}, {Header: "phone"}, {Header: "error"}}
	rows := func(emit func([]string) error) error {
		for _, e := range list {
			if err := emit([]string{strconv.Itoa(e.Line), e.Phone, e.Error}); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := export.WriteCSV(w, cols, rows, export.CSVOptions{}); err != nil {
		respond.LogInternal(r, err)
	}
}

// campaignMessages downloads every audience row of the campaign with its
// message (CSV or XLSX): the row's fields and variables, sent at, status,
// reason, delivered and read at, the contact's first answer and button,
// and its link clicks.
func (h *Handler) campaignMessages(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "xlsx" {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "format must be csv or xlsx, not %q", format))
		return
	}
	c, err := h.Campaigns.Get(r.Context(), p, id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	lang := i18n.Normalize(r.Header.Get("Accept-Language"))
	cols, rows, err := h.Campaigns.MessagesExport(r.Context(), p, id, lang, time.UTC)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(c.Audience))
	if format == "csv" {
		respond.Attachment(w, "campaign-"+strconv.FormatInt(id, 10)+".csv", "text/csv; charset=utf-8")
		_, err = export.WriteCSV(w, cols, rows, export.CSVOptions{})
	} else {
		respond.Attachment(w, "campaign-"+strconv.FormatInt(id, 10)+".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		_, err = export.WriteXLSX(w, cols, export.Meta{Title: c.Name, Total: int64(c.Audience), Location: time.UTC}, rows)
	}
	if err != nil && r.Context().Err() == nil {
		respond.LogInternal(r, err)
	}
}

func (h *Handler) compareCampaigns(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var ids []int64
	for _, v := range r.URL.Query()["id"] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "id %q is not a positive integer", v))
			return
		}
		ids = append(ids, n)
	}
	c, err := h.Campaigns.Compare(r.Context(), p, ids)
	reply(w, r, http.StatusOK, c, err)
}

// campaignEvents streams the campaign's detail as server-sent events
// ("campaign") while it changes.
func (h *Handler) campaignEvents(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	topic, err := h.Campaigns.Topic(r.Context(), p, id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	h.Campaigns.Live.Stream(w, r, topic, "campaign", func(ctx context.Context) (any, error) {
		return h.Campaigns.Detail(ctx, p, id)
	})
}

// campaignClick is a contact who clicked one of a campaign's counted links.
type campaignClick struct {
	Button        int       `json:"button"`
	ButtonText    string    `json:"button_text"`
	Phone         string    `json:"phone"`
	Name          string    `json:"name"`
	CorrelationID string    `json:"correlation_id"`
	Clicks        int64     `json:"clicks"`
	FirstAt       time.Time `json:"first_at"`
	LastAt        time.Time `json:"last_at"`
}

// campaignClicks lists the contacts who clicked the campaign's counted
// links (button= one button's), a page at a time as JSON or all of them as
// CSV (format=csv).
func (h *Handler) campaignClicks(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	f := campaigns.ClicksFilter{Button: -1, Cursor: q.Get("cursor"), Limit: 100}
	if v := q.Get("button"); v != "" {
		if f.Button, err = strconv.Atoi(v); err != nil || f.Button < 0 {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "button must be a button's index (0, 1, …)"))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "limit must be between 1 and 1000"))
			return
		}
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "format must be json or csv, not %q", format))
		return
	}
	d, err := h.Campaigns.Detail(r.Context(), p, id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	text := map[int]string{}
	for _, l := range d.Links {
		text[l.Button] = l.Text
	}
	if _, ok := text[f.Button]; f.Button >= 0 && !ok {
		respond.Error(w, r, domain.Errorf(domain.EINVALID, "button %d is not one of the campaign's counted links", f.Button))
		return
	}
	if format == "csv" {
		if f.Cursor != "" {
			respond.Error(w, r, domain.Errorf(domain.EINVALID, "the CSV holds every click: it takes no cursor"))
			return
		}
		respond.Attachment(w, "campaign-"+strconv.FormatInt(id, 10)+"-clicks.csv", "text/csv; charset=utf-8")
		cols := []export.Column{{Header: "phone"}, {Header: "name"}, {Header: "correlation_id"}, {Header: "button"},
			{Header: "button_text"}, {Header: "clicks"}, {Header: "first_at"}, {Header: "last_at"}}
		rows := func(emit func([]string) error) error {
			_, err := h.Campaigns.Clicks(r.Context(), p, id, campaigns.ClicksFilter{Button: f.Button}, func(c campaigns.Click) error {
				return emit([]string{c.Phone, c.Name, c.CorrelationID, strconv.Itoa(c.Button), text[c.Button],
					strconv.FormatInt(c.Clicks, 10), c.FirstAt.Format(time.RFC3339), c.LastAt.Format(time.RFC3339)})
			})
			return err
		}
		if _, err := export.WriteCSV(w, cols, rows, export.CSVOptions{}); err != nil {
			respond.LogInternal(r, err)
		}
		return
	}
	out := []campaignClick{}
	next, err := h.Campaigns.Clicks(r.Context(), p, id, f, func(c campaigns.Click) error {
		out = append(out, campaignClick{Button: c.Button, ButtonText: text[c.Button], Phone: c.Phone, Name: c.Name,
			CorrelationID: c.CorrelationID, Clicks: c.Clicks, FirstAt: c.FirstAt, LastAt: c.LastAt})
		return nil
	})
	reply(w, r, http.StatusOK, map[string]any{"rows": out, "next_cursor": next}, err)
}
