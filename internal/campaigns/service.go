// Package campaigns is the campaigns capability (seed 004, "Mensagens
// Ativas"): a template sent to an uploaded audience, at a time or on
// demand, by durable River jobs through the send pipeline, followed live
// and compared.
package campaigns

import (
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/jobs"
	"github.com/ticksapp/ticks/internal/live"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/store"
)

// Service creates, runs and reports campaigns.
type Service struct {
	Store    *store.Store
	Pipeline *send.Pipeline // nil on a server that does not send
	Jobs     *jobs.Client   // set after the jobs client is built
	Live     *live.Hub
	Now      func() time.Time
	// Parallel is how many sends of one campaign are in flight at once
	// (0: InFlight of the channel's throughput); the provider paces them
	// to the channel's throughput.
	Parallel int
}

var (
	writers = []domain.Role{domain.RoleAdmin, domain.RoleSupervisor}
	readers = []domain.Role{domain.RoleAdmin, domain.RoleSupervisor, domain.RoleViewer}
)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// CreateInput is a new campaign and its audience file.
type CreateInput struct {
	Name             string
	ChannelID        int64
	Template         string
	Language         string
	FallbackTemplate string
	ScheduledAt      *time.Time // nil: a draft, sent when started
	Audience         io.Reader  // CSV or XLSX
	// LinkURLs are where the template's URL buttons with a dynamic suffix
	// go, in the buttons' order, when ticks counts their clicks (links.go);
	// none: the buttons are not routed.
	LinkURLs []string
}

// ImportReport is what the audience file held, row by row.
type ImportReport struct {
	Rows       int                       `json:"rows"`
	Valid      int                       `json:"valid"`
	Invalid    int                       `json:"invalid"`
	Duplicates int                       `json:"duplicates"`
	OptedOut   int                       `json:"opted_out"`
	Errors     []domain.CampaignRowError `json:"errors"`
}

// Created is a campaign just created and its import's report.
type Created struct {
	Campaign *domain.Campaign
	Audience ImportReport
}

// Create validates in, reads its audience and stores the campaign: a draft,
// or scheduled (its dispatch enqueued for its time). Nothing is stored
// when the file has no valid row.
func (s *Service) Create(ctx context.Context, p *access.Principal, in CreateInput) (*Created, error) {
	if err := p.Need(writers...); err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		return nil, domain.Errorf(domain.EINVALID, "name is required")
	case len(in.Name) > 200:
		return nil, domain.Errorf(domain.EINVALID, "name is at most 200 characters")
	case in.Template == "" || in.Language == "":
		return nil, domain.Errorf(domain.EINVALID, "template and language are required")
	case in.Audience == nil:
		return nil, domain.Errorf(domain.EINVALID, "audience is required: a CSV or XLSX file")
	case in.ChannelID == 0:
		return nil, domain.Errorf(domain.EINVALID, "channel_id is required")
	}
	now := s.now()
	if in.ScheduledAt != nil && in.ScheduledAt.Before(now) {
		return nil, domain.Errorf(domain.EUNPROCESSABLE, "scheduled_at %s is in the past", in.ScheduledAt.Format(time.RFC3339))
	}
	ch, err := s.Store.Channel(ctx, in.ChannelID)
	if err != nil || !p.CanSee(ch.SubaccountID) || ch.SubaccountID == domain.UnassignedSubaccountID {
		return nil, domain.Errorf(domain.EUNPROCESSABLE, "channel %d not found", in.ChannelID)
	}
	tpl, err := s.Store.Template(ctx, ch.WABAID, in.Template, in.Language)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, domain.Errorf(domain.EUNPROCESSABLE, "template %q (%s) is not one of the channel's", in.Template, in.Language)
	}
	if err != nil {
		return nil, err
	}
	if tpl.Status != "APPROVED" {
		return nil, domain.Errorf(domain.EUNPROCESSABLE, "template %q (%s) is %s, not approved", in.Template, in.Language, tpl.Status)
	}
	links, linkKey, err := planLinks(tpl, in.LinkURLs)
	if err != nil {
		return nil, err
	}
	fallbackLang := ""
	if in.FallbackTemplate != "" {
		fallbackLang = in.Language
		if _, err := s.Store.Template(ctx, ch.WABAID, in.FallbackTemplate, fallbackLang); err != nil {
			return nil, domain.Errorf(domain.EUNPROCESSABLE, "fallback template %q (%s) is not one of the channel's", in.FallbackTemplate, fallbackLang)
		}
	}
	_, nvars := tpl.Body()
	optedOut, err := s.Store.OptedOutPhones(ctx, ch.SubaccountID)
	if err != nil {
		return nil, err
	}
	c := &domain.Campaign{SubaccountID: ch.SubaccountID, Name: in.Name, ChannelID: ch.ID, Template: in.Template,
		Language: in.Language, FallbackTemplate: in.FallbackTemplate, FallbackLanguage: fallbackLang,
		Status: domain.CampaignDraft, CreatedAt: now, ScheduledAt: in.ScheduledAt, Links: links, LinkKey: linkKey}
	if p.UserID != 0 {
		c.CreatedBy = &p.UserID
	}
	if in.ScheduledAt != nil {
		c.Status = domain.CampaignScheduled
	}
	write := s.storeSpilled
	if s.Store.Dialect() == store.Postgres {
		write = s.storeStreamed
	}
	aud, err := write(ctx, c, in.Audience, nvars, optedOut)
	if err != nil {
		return nil, err
	}
	report := aud.report()
	if c.ScheduledAt != nil {
		// If this insert is lost, the periodic check starts it anyway.
		if err := s.enqueue(ctx, c.ID, *c.ScheduledAt); err != nil {
			return nil, err
		}
	}
	return &Created{Campaign: c, Audience: report}, nil
}

// report is what the creation answers about the file read.
func (a *Audience) report() ImportReport {
	return ImportReport{Rows: a.Rows, Valid: a.ValidRows, Invalid: a.Invalid, Duplicates: a.Duplicates,
		OptedOut: a.OptedOut, Errors: append([]domain.CampaignRowError{}, a.Rejected[:min(len(a.Rejected), MaxReportedErrors)]...)}
}

// counted sets c's counts from the file read, or is NoValidRows.
func (a *Audience) counted(c *domain.Campaign) ([]domain.CampaignRowError, error) {
	if a.ValidRows == 0 {
		return nil, &NoValidRows{Report: a.report()}
	}
	c.Rows, c.Audience, c.Invalid, c.Duplicates, c.OptedOut = a.Rows, a.ValidRows, a.Invalid, a.Duplicates, a.OptedOut
	return a.Rejected, nil
}

// storeSpilled reads the whole audience first, its valid rows into a
// temporary file (not memory), then stores c with them. SQLite has one
// writer: its transaction does not wait on the file's reading.
func (s *Service) storeSpilled(ctx context.Context, c *domain.Campaign, file io.Reader, nvars int, optedOut map[string]bool) (*Audience, error) {
	sp, err := newSpill(nvars)
	if err != nil {
		return nil, err
	}
	defer sp.close()
	aud, err := readAudience(file, nvars, optedOut, sp.put)
	if err != nil {
		return nil, err
	}
	if _, err := aud.counted(c); err != nil {
		return nil, err
	}
	if err := sp.rewind(); err != nil {
		return nil, err
	}
	return aud, s.Store.CreateCampaignFrom(ctx, c, FoldName(c.Name), sp.next, aud.counted)
}

// readAudience is ReadAudienceTo, a panic while reading the file (a
// malformed workbook can make a parser panic) turned into a 422: in
// storeStreamed the reading has a goroutine of its own, where no handler's
// recovery would catch it and the server would stop.
func readAudience(file io.Reader, nvars int, optedOut map[string]bool, sink func(domain.CampaignRow) error) (aud *Audience, err error) {
	defer func() {
		if p := recover(); p != nil {
			aud, err = nil, domain.Errorf(domain.EUNPROCESSABLE, "the audience file cannot be read: %v", p)
		}
	}()
	return ReadAudienceTo(file, nvars, optedOut, sink)
}

// streamBatch is how many valid rows the reader hands the store at once.
const streamBatch = 1000

// errStreamStopped ends the reading when the store has given up.
var errStreamStopped = errors.New("audience: the store stopped")

// storeStreamed reads the audience in one goroutine while the store
// writes its valid rows (PostgreSQL's COPY) in the caller's: the file's
// parsing and checks overlap the database's work instead of coming before
// it. The counts are the transaction's last step; a read that fails
// half-way, or a file without a valid row, rolls it all back.
func (s *Service) storeStreamed(ctx context.Context, c *domain.Campaign, file io.Reader, nvars int, optedOut map[string]bool) (*Audience, error) {
	batches := make(chan []domain.CampaignRow, 4)
	stop := make(chan struct{})
	var aud *Audience
	var readErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(batches)
		batch := make([]domain.CampaignRow, 0, streamBatch)
		send := func() error {
			select {
			case batches <- batch:
				batch = make([]domain.CampaignRow, 0, streamBatch)
				return nil
			case <-stop:
				return errStreamStopped
			}
		}
		aud, readErr = readAudience(file, nvars, optedOut, func(r domain.CampaignRow) error {
			if batch = append(batch, r); len(batch) == streamBatch {
				return send()
			}
			return nil
		})
		if readErr == nil && len(batch) > 0 {
			readErr = send()
		}
	}()
	var cur []domain.CampaignRow
	next := func() (domain.CampaignRow, bool, error) {
		for len(cur) == 0 {
			b, ok := <-batches
			if !ok {
				// The reader is done: readErr is set (close comes after).
				return domain.CampaignRow{}, false, readErr
			}
			cur = b
		}
		r := cur[0]
		cur = cur[1:]
		return r, true, nil
	}
	finish := func(c *domain.Campaign) ([]domain.CampaignRowError, error) { return aud.counted(c) }
	err := s.Store.CreateCampaignFrom(ctx, c, FoldName(c.Name), next, finish)
	// The reader must be gone before the file is: the caller closes it.
	close(stop)
	<-done
	if readErr != nil && !errors.Is(readErr, errStreamStopped) {
		return nil, readErr // the file's own error, not the store's wrapping of it
	}
	if err != nil {
		return nil, err
	}
	return aud, nil
}

// NoValidRows is the error of an audience without a row to send (422):
// its report says why each row was rejected.
type NoValidRows struct{ Report ImportReport }

func (e *NoValidRows) Error() string { return e.Unwrap().Error() }

// Unwrap makes NoValidRows a domain error, its message naming the first
// rejected rows.
func (e *NoValidRows) Unwrap() error {
	msg := "the audience has no valid row (" + strconv.Itoa(e.Report.Rows) + " rows read)"
	for i, r := range e.Report.Errors {
		if i == 3 {
			msg += "; …"
			break
		}
		msg += "; line " + strconv.Itoa(r.Line) + ": " + r.Error
	}
	return domain.Errorf(domain.EUNPROCESSABLE, "%s", msg)
}

// Get returns a campaign p may see.
func (s *Service) Get(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	return s.get(ctx, p, id)
}

func (s *Service) get(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error) {
	c, err := s.Store.Campaign(ctx, id)
	if err != nil || !p.CanSee(c.SubaccountID) {
		return nil, domain.Errorf(domain.ENOTFOUND, "campaign %d not found", id)
	}
	return c, nil
}

// ListFilter selects campaigns for the list.
type ListFilter struct {
	Name   string // any part of the name, ignoring case and accents
	Status domain.CampaignStatus
	Limit  int    // 1..200, default 50
	Cursor string // from the previous page
}

// List returns the campaigns p may see, newest first, and the cursor of the
// next page ("" on the last).
func (s *Service) List(ctx context.Context, p *access.Principal, f ListFilter) ([]domain.Campaign, string, error) {
	if err := p.Need(readers...); err != nil {
		return nil, "", err
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > 200 {
		return nil, "", domain.Errorf(domain.EINVALID, "limit must be between 1 and 200")
	}
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", domain.Errorf(domain.EINVALID, "status must be draft, scheduled, running, paused, completed or canceled")
	}
	var before int64
	if f.Cursor != "" {
		var err error
		if before, err = strconv.ParseInt(f.Cursor, 10, 64); err != nil || before <= 0 {
			return nil, "", domain.Errorf(domain.EINVALID, "cursor is not one this list gave")
		}
	}
	list, err := s.Store.Campaigns(ctx, store.CampaignFilter{Subaccounts: p.Scope, NameKey: FoldName(f.Name),
		Status: f.Status, Before: before, Limit: f.Limit + 1})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > f.Limit {
		list = list[:f.Limit]
		next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	return list, next, nil
}

// Start sends a draft (or a scheduled campaign) now.
func (s *Service) Start(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error) {
	return s.change(ctx, p, id, "start", store.CampaignChange{
		From: []domain.CampaignStatus{domain.CampaignDraft, domain.CampaignScheduled}, To: domain.CampaignRunning,
		Started: s.now()}, true)
}

// Pause stops a running campaign's sends within a second; Resume goes on
// where it stopped.
func (s *Service) Pause(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error) {
	return s.change(ctx, p, id, "pause", store.CampaignChange{
		From: []domain.CampaignStatus{domain.CampaignRunning}, To: domain.CampaignPaused}, false)
}

// Resume sends the rest of a paused campaign.
func (s *Service) Resume(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error) {
	return s.change(ctx, p, id, "resume", store.CampaignChange{
		From: []domain.CampaignStatus{domain.CampaignPaused}, To: domain.CampaignRunning}, true)
}

// Cancel ends a campaign that has not finished: the rows not yet sent never
// are.
func (s *Service) Cancel(ctx context.Context, p *access.Principal, id int64) (*domain.Campaign, error) {
	return s.change(ctx, p, id, "cancel", store.CampaignChange{
		From: []domain.CampaignStatus{domain.CampaignDraft, domain.CampaignScheduled, domain.CampaignRunning,
			domain.CampaignPaused}, To: domain.CampaignCanceled, Finished: s.now()}, false)
}

// Reschedule moves the time of a campaign that has not started.
func (s *Service) Reschedule(ctx context.Context, p *access.Principal, id int64, at time.Time) (*domain.Campaign, error) {
	if at.Before(s.now()) {
		return nil, domain.Errorf(domain.EUNPROCESSABLE, "scheduled_at %s is in the past", at.Format(time.RFC3339))
	}
	c, err := s.change(ctx, p, id, "reschedule", store.CampaignChange{
		From: []domain.CampaignStatus{domain.CampaignDraft, domain.CampaignScheduled}, To: domain.CampaignScheduled,
		ScheduledAt: &at}, false)
	if err != nil {
		return nil, err
	}
	return c, s.enqueue(ctx, id, at)
}

func (s *Service) change(ctx context.Context, p *access.Principal, id int64, verb string, ch store.CampaignChange, dispatch bool) (*domain.Campaign, error) {
	if err := p.Need(writers...); err != nil {
		return nil, err
	}
	c, err := s.get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	ok, err := s.Store.ChangeCampaign(ctx, id, ch)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, domain.Errorf(domain.ECONFLICT, "a %s campaign cannot %s", c.Status, verb)
	}
	if dispatch {
		if err := s.enqueue(ctx, id, time.Time{}); err != nil {
			return nil, err
		}
	}
	s.publish(c)
	return s.Store.Campaign(ctx, id)
}

// Topic is what a page of campaign id follows live, for p who may see it.
func (s *Service) Topic(ctx context.Context, p *access.Principal, id int64) (live.Topic, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return live.Topic{}, err
	}
	return campaignTopic(c), nil
}

func campaignTopic(c *domain.Campaign) live.Topic {
	return live.Topic{Subaccount: c.SubaccountID, Name: "campaign:" + strconv.FormatInt(c.ID, 10)}
}

func (s *Service) publish(c *domain.Campaign) {
	if s.Live != nil {
		s.Live.Publish(campaignTopic(c))
		s.Live.Publish(ListTopic(c.SubaccountID))
	}
}

// ListTopic is what the campaigns' list of one subaccount follows live (0:
// of several, which then follows by the stream's periodic refresh alone).
func ListTopic(subaccount int64) live.Topic {
	return live.Topic{Subaccount: subaccount, Name: "campaigns"}
}

// Counters are a campaign's figures (seed 004: Audiência, Falharam,
// Recebidas, Lidas), read from the report's rollup: when webhooks stop,
// each equals the detailed report's count for the campaign.
type Counters struct {
	Audience    int   `json:"audience"`
	Processed   int   `json:"processed"`
	Sent        int64 `json:"sent"`      // handed to WhatsApp
	Failed      int64 `json:"failed"`    // every failure status, the platform's refusals included
	Delivered   int64 `json:"delivered"` // Recebidas: delivered or read
	Read        int64 `json:"read"`
	Replied     int64 `json:"replied"`      // inbound messages answering the campaign
	Clicked     int64 `json:"clicked"`      // quick-reply button answers, and contacts who clicked a counted link (per button)
	LinkClicked int64 `json:"link_clicked"` // of clicked, the contacts who clicked a counted link (per button)
	OptedOut    int64 `json:"opted_out"`    // contacts who opted out after the start (the detail only)
	Pending     int64 `json:"pending"`      // rows not yet sent
	Canceled    int   `json:"canceled"`
}

// Detail is a campaign with its counters, its failures by reason and its
// quick-reply answers by button.
type Detail struct {
	*domain.Campaign
	Counters Counters                `json:"counters"`
	ByStatus map[domain.Status]int64 `json:"by_status"`
	Failures []store.CampaignFailure `json:"failures"`
	Buttons  []store.CampaignButton  `json:"buttons"`
	Links    []LinkCount             `json:"links"` // the counted link buttons and their clicks
}

// Detail returns a campaign and its counters.
func (s *Service) Detail(ctx context.Context, p *access.Principal, id int64) (*Detail, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.counters(ctx, c, true)
}

// counters reads c's counters; full adds the replies, failures and buttons.
func (s *Service) counters(ctx context.Context, c *domain.Campaign, full bool) (*Detail, error) {
	mt, err := s.Store.ReportSummary(ctx, s.filter(c, domain.DirectionMT), time.UTC)
	if err != nil {
		return nil, err
	}
	d := &Detail{Campaign: c, ByStatus: mt.ByStatus, Failures: []store.CampaignFailure{}, Buttons: []store.CampaignButton{},
		Links: []LinkCount{}}
	k := &d.Counters
	if full {
		mo, err := s.Store.ReportSummary(ctx, s.filter(c, domain.DirectionMO), time.UTC)
		if err != nil {
			return nil, err
		}
		k.Replied = mo.Total
		if d.Failures, err = s.Store.CampaignFailures(ctx, c.SubaccountID, c.ID); err != nil {
			return nil, err
		}
		if d.Buttons, err = s.Store.CampaignButtons(ctx, c.SubaccountID, c.ID); err != nil {
			return nil, err
		}
		for _, b := range d.Buttons {
			k.Clicked += b.Count
		}
		if d.Links, err = s.linkCounts(ctx, c); err != nil {
			return nil, err
		}
		for _, l := range d.Links {
			k.LinkClicked += l.Contacts
		}
		k.Clicked += k.LinkClicked
		if c.StartedAt != nil {
			if k.OptedOut, err = s.Store.CampaignOptedOut(ctx, c.SubaccountID, c.ID, *c.StartedAt); err != nil {
				return nil, err
			}
		}
	}
	k.Audience, k.Processed, k.Sent = c.Audience, c.Processed, mt.Accepted
	if c.Status == domain.CampaignRunning || c.Status == domain.CampaignPaused {
		// The dispatch saves its progress after each batch of sends, so
		// mid-batch the messages already stored are ahead of it; every
		// message of the campaign is a row processed.
		k.Processed = min(c.Audience, max(k.Processed, int(mt.Total)))
	}
	for st, n := range mt.ByStatus {
		switch {
		case st == domain.StatusDelivered:
			k.Delivered += n
		case st == domain.StatusRead:
			k.Delivered += n
			k.Read += n
		case st.IsFailure():
			k.Failed += n
		}
	}
	if c.Status == domain.CampaignCanceled {
		k.Canceled = c.Audience - c.Processed
	} else {
		k.Pending = int64(c.Audience - k.Processed)
	}
	return d, nil
}

// ListDetails is List with each campaign's counters (from the rollup; no
// failures or buttons).
func (s *Service) ListDetails(ctx context.Context, p *access.Principal, f ListFilter) ([]Detail, string, error) {
	list, next, err := s.List(ctx, p, f)
	if err != nil {
		return nil, "", err
	}
	out := make([]Detail, 0, len(list))
	for i := range list {
		d, err := s.counters(ctx, &list[i], false)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *d)
	}
	return out, next, nil
}

// MessagesFilter is the detailed report's filter of every message of
// campaign id, for its downloads.
func (s *Service) MessagesFilter(ctx context.Context, p *access.Principal, id int64) (*domain.MessageFilter, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.filter(c, domain.DirectionMT), nil
}

func (s *Service) filter(c *domain.Campaign, dir domain.Direction) *domain.MessageFilter {
	// Whole hours, so the rollup answers; a campaign's messages are all
	// after its creation.
	return &domain.MessageFilter{Subaccounts: []int64{c.SubaccountID}, From: c.CreatedAt.Truncate(time.Hour),
		To: s.now().Add(2 * time.Hour).Truncate(time.Hour), Direction: dir, Campaign: c.ID}
}

// Hours counts a campaign's messages per hour they were sent, from the
// report's rollup, for the page's chart.
func (s *Service) Hours(ctx context.Context, p *access.Principal, c *domain.Campaign) ([]store.HourCount, error) {
	if _, err := s.Get(ctx, p, c.ID); err != nil {
		return nil, err
	}
	return s.Store.CampaignHours(ctx, s.filter(c, domain.DirectionMT))
}

// Errors returns the rejected rows of a campaign's audience, all of them.
func (s *Service) Errors(ctx context.Context, p *access.Principal, id int64) ([]domain.CampaignRowError, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	return s.Store.CampaignRowErrors(ctx, id)
}

// Rate is a share with its 95 % confidence interval (Wilson's).
type Rate struct {
	Num   int64   `json:"num"`
	Den   int64   `json:"den"`
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

func wilson(num, den int64) Rate {
	r := Rate{Num: num, Den: den}
	if den == 0 {
		return r
	}
	const z = 1.959964
	n, p := float64(den), float64(num)/float64(den)
	center := (p + z*z/(2*n)) / (1 + z*z/n)
	half := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n)) / (1 + z*z/n)
	r.Value, r.Low, r.High = p, max(0, center-half), min(1, center+half)
	return r
}

// Compared is one campaign in a comparison.
type Compared struct {
	ID       int64    `json:"id,string"`
	Name     string   `json:"name"`
	Template string   `json:"template"`
	Counters Counters `json:"counters"`
	// Delivery = Recebidas / sent, Read = Lidas / Recebidas, Reply =
	// replied / Recebidas, Failure = Falharam / processed.
	Delivery Rate `json:"delivery"`
	Read     Rate `json:"read"`
	Reply    Rate `json:"reply"`
	Failure  Rate `json:"failure"`
	// Click = contacts who clicked the first counted link / Recebidas;
	// only when a campaign of the comparison counts links.
	Click *Rate `json:"click,omitempty"`
}

// Difference says whether two campaigns' rates differ beyond chance: a
// two-proportion z-test at 5 %.
type Difference struct {
	A           int64   `json:"a,string"`
	B           int64   `json:"b,string"`
	Rate        string  `json:"rate"`
	Diff        float64 `json:"diff"` // a's rate minus b's
	PValue      float64 `json:"p_value"`
	Significant bool    `json:"significant"`
}

// Comparison is two to four campaigns side by side.
type Comparison struct {
	Campaigns   []Compared   `json:"campaigns"`
	Differences []Difference `json:"differences"`
}

// Compare puts two to four campaigns side by side.
func (s *Service) Compare(ctx context.Context, p *access.Principal, ids []int64) (*Comparison, error) {
	if len(ids) < 2 || len(ids) > 4 {
		return nil, domain.Errorf(domain.EINVALID, "compare takes 2 to 4 campaigns (id=…&id=…)")
	}
	for i, id := range ids {
		for _, prev := range ids[:i] {
			if prev == id {
				return nil, domain.Errorf(domain.EINVALID, "campaign %d is given twice", id)
			}
		}
	}
	out := &Comparison{Campaigns: []Compared{}, Differences: []Difference{}}
	links := false
	for _, id := range ids {
		d, err := s.Detail(ctx, p, id)
		if err != nil {
			return nil, err
		}
		k := d.Counters
		cmp := Compared{ID: d.ID, Name: d.Name, Template: d.Template, Counters: k,
			Delivery: wilson(k.Delivered, k.Sent), Read: wilson(k.Read, k.Delivered),
			Reply: wilson(k.Replied, k.Delivered), Failure: wilson(k.Failed, int64(k.Processed))}
		var clicked int64
		if len(d.Links) > 0 {
			links, clicked = true, d.Links[0].Contacts
		}
		click := wilson(min(clicked, k.Delivered), k.Delivered)
		cmp.Click = &click
		out.Campaigns = append(out.Campaigns, cmp)
	}
	if !links {
		for i := range out.Campaigns {
			out.Campaigns[i].Click = nil
		}
	}
	for i := range out.Campaigns {
		for j := i + 1; j < len(out.Campaigns); j++ {
			a, b := out.Campaigns[i], out.Campaigns[j]
			rates := []struct {
				name string
				x, y Rate
			}{{"delivery", a.Delivery, b.Delivery}, {"read", a.Read, b.Read}, {"reply", a.Reply, b.Reply}, {"failure", a.Failure, b.Failure}}
			if links {
				rates = append(rates, struct {
					name string
					x, y Rate
				}{"click", *a.Click, *b.Click})
			}
			for _, r := range rates {
				pv := twoProportionP(r.x, r.y)
				out.Differences = append(out.Differences, Difference{A: a.ID, B: b.ID, Rate: r.name,
					Diff: r.x.Value - r.y.Value, PValue: pv, Significant: pv < 0.05})
			}
		}
	}
	return out, nil
}

// twoProportionP is the two-sided p-value of the difference of two shares
// (pooled z-test); 1 when either has no denominator.
func twoProportionP(a, b Rate) float64 {
	if a.Den == 0 || b.Den == 0 {
		return 1
	}
	pool := float64(a.Num+b.Num) / float64(a.Den+b.Den)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(a.Den) + 1/float64(b.Den)))
	if se == 0 {
		return 1
	}
	z := math.Abs(a.Value-b.Value) / se
	return math.Erfc(z / math.Sqrt2)
}
