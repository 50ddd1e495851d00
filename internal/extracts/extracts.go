// Package extracts is the report manager (seed 004, "Gerenciador de
// relatórios"): extractions of a report table over a period of at most 90
// days within the last five years, written in the background into a file
// that is kept for a while, with progress, cancel and expiry. The tables
// are registered by the capabilities that own their data (tables.go).
package extracts

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/store"
)

// Limits of a request.
const (
	MaxDays    = 90 // days in one extraction, both ends included
	MaxYears   = 5  // how far back an extraction may start
	MaxPending = 5  // extractions one requester has queued or running at once
	listLimit  = 100
)

// Formats are the file formats, with their content types.
var Formats = map[string]string{
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// Service is the report manager.
type Service struct {
	Store    *store.Store
	Dir      string         // where the files are written
	Location *time.Location // the account's time zone, which dates are in
	Keep     time.Duration  // how long a file is kept once ready
	// Storage keeps the finished files; nil keeps them in Dir.
	Storage Storage
	// WebhookURL, when set, is told of each extraction that is done (see
	// Webhook), with HTTPClient (http.DefaultClient when nil).
	WebhookURL string
	HTTPClient *http.Client
	// Mail, when set, e-mails the web user who asked for an extraction
	// once it is done (see Email).
	Mail *Mailer
	// StaleAfter is how long a run may stay silent before another server
	// takes its extraction over (the package's StaleAfter when 0).
	StaleAfter time.Duration
	// Limits bound the extractions running at once across the servers
	// (DefaultLimits unless changed).
	Limits store.ExtractionLimits
	// CompressAbove is the size past which a CSV file is gzipped
	// (DefaultCompressAbove when 0).
	CompressAbove int64
	// Enqueue hands a new extraction to the background work that runs it
	// (Run); the server sets it.
	Enqueue func(ctx context.Context, id int64) error
	// Notify, when set, is told of each extraction that is done (ready or
	// failed).
	Notify func(ctx context.Context, e *domain.Extraction)
	// Now is the clock, replaceable in tests.
	Now func() time.Time
}

// DefaultLimits let one extraction run at a time for one set of
// subaccounts, and eight in all: one tenant's large extractions wait for
// each other instead of taking every worker of every server.
var DefaultLimits = store.ExtractionLimits{PerScope: 1, Total: 8}

// DefaultKeep is how long files are kept unless configured.
const DefaultKeep = 7 * 24 * time.Hour

// New returns the manager over st, writing files into dir.
func New(st *store.Store, dir string, loc *time.Location) *Service {
	return &Service{Store: st, Dir: dir, Location: loc, Keep: DefaultKeep, Limits: DefaultLimits, Now: time.Now}
}

// readers are the roles that extract reports, as they read them.
var readers = []domain.Role{domain.RoleAdmin, domain.RoleSupervisor, domain.RoleViewer}

// Input is an extraction asked for.
type Input struct {
	Type       string `json:"type"`
	From       string `json:"from"` // YYYY-MM-DD in the account's time zone
	To         string `json:"to"`   // included
	Subaccount int64  `json:"subaccount"`
	Format     string `json:"format"`
	Lang       string `json:"-"` // the cells' language; pt-BR when empty
}

// Request checks an extraction for p and queues it. Nothing is queued
// when it is refused: an unknown type or format, or a period that is not
// one of at most 90 days within the last five years, is EUNPROCESSABLE.
func (s *Service) Request(ctx context.Context, p *access.Principal, in Input) (*domain.Extraction, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	if _, ok := Lookup(in.Type); !ok {
		return nil, domain.Errorf(domain.EUNPROCESSABLE, "type must be one of %s", strings.Join(TypeNames(), ", "))
	}
	if in.Format == "" {
		in.Format = "csv"
	}
	if _, ok := Formats[in.Format]; !ok {
		return nil, domain.Errorf(domain.EUNPROCESSABLE, "format must be csv or xlsx")
	}
	if _, _, err := s.Period(in.From, in.To); err != nil {
		return nil, err
	}
	scope, err := p.Narrow(in.Subaccount)
	if err != nil {
		return nil, err
	}
	if in.Subaccount != 0 { // an admin may name any: it must be one
		if _, err := s.Store.Subaccount(ctx, in.Subaccount); domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, domain.Errorf(domain.EUNPROCESSABLE, "subaccount %d does not exist", in.Subaccount)
		} else if err != nil {
			return nil, err
		}
	}
	n, err := s.Store.PendingExtractions(ctx, p.UserID, p.TokenID)
	if err != nil {
		return nil, err
	}
	if n >= MaxPending {
		return nil, domain.RetryAfter(time.Minute, "you have %d extractions queued or running: wait for one to finish", n)
	}
	e := &domain.Extraction{UserID: p.UserID, TokenID: p.TokenID, Scope: scope, Type: in.Type, Format: in.Format,
		Lang: i18n.Normalize(in.Lang), From: in.From, To: in.To}
	if in.Subaccount != 0 {
		e.SubaccountID = &in.Subaccount
	}
	if err := s.Store.CreateExtraction(ctx, e); err != nil {
		return nil, err
	}
	if s.Enqueue == nil {
		return nil, fmt.Errorf("extractions: no background work to run them")
	}
	if err := s.Enqueue(ctx, e.ID); err != nil {
		s.Store.DeleteExtraction(context.WithoutCancel(ctx), e.ID)
		return nil, fmt.Errorf("queue extraction: %w", err)
	}
	return e, nil
}

// Period parses an extraction's dates, both included, into the instants
// [from, to) in the account's time zone, and checks its limits.
func (s *Service) Period(fromDay, toDay string) (from, to time.Time, err error) {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	from, err1 := time.ParseInLocation(time.DateOnly, fromDay, loc)
	last, err2 := time.ParseInLocation(time.DateOnly, toDay, loc)
	switch {
	case err1 != nil:
		return from, to, domain.Errorf(domain.EUNPROCESSABLE, "from must be a date, YYYY-MM-DD: %q", fromDay)
	case err2 != nil:
		return from, to, domain.Errorf(domain.EUNPROCESSABLE, "to must be a date, YYYY-MM-DD: %q", toDay)
	case last.Before(from):
		return from, to, domain.Errorf(domain.EUNPROCESSABLE, "to (%s) is before from (%s)", toDay, fromDay)
	}
	now := s.now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	to = last.AddDate(0, 0, 1)
	days := 0
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		if days++; days > MaxDays {
			return from, to, domain.Errorf(domain.EUNPROCESSABLE, "the period has more than %d days: choose at most %d days, from and to included",
				MaxDays, MaxDays)
		}
	}
	switch {
	case from.Before(today.AddDate(-MaxYears, 0, 0)):
		return from, to, domain.Errorf(domain.EUNPROCESSABLE, "from is more than %d years ago: the history goes back to %s",
			MaxYears, today.AddDate(-MaxYears, 0, 0).Format(time.DateOnly))
	case last.After(today):
		return from, to, domain.Errorf(domain.EUNPROCESSABLE, "to (%s) is after today (%s)", toDay, today.Format(time.DateOnly))
	}
	return from, to, nil
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// List returns p's extractions, newest first.
func (s *Service) List(ctx context.Context, p *access.Principal) ([]*domain.Extraction, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	list, err := s.Store.Extractions(ctx, p.UserID, p.TokenID, listLimit)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(e *domain.Extraction) bool { return !visible(p, e) }), nil
}

// visible reports whether p may see e: p asked for it, and may still see
// every subaccount it reads.
func visible(p *access.Principal, e *domain.Extraction) bool {
	if e.UserID != p.UserID || e.TokenID != p.TokenID {
		return false
	}
	if e.Scope == nil {
		return p.Scope == nil
	}
	for _, id := range e.Scope {
		if !p.CanSee(id) {
			return false
		}
	}
	return true
}

// Get returns one of p's extractions; another's is ENOTFOUND.
func (s *Service) Get(ctx context.Context, p *access.Principal, id int64) (*domain.Extraction, error) {
	if err := p.Need(readers...); err != nil {
		return nil, err
	}
	e, err := s.Store.Extraction(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(p, e) {
		return nil, domain.Errorf(domain.ENOTFOUND, "extraction %d not found", id)
	}
	return e, nil
}

// File is a ready extraction's file, open for reading.
type File struct {
	io.ReadSeekCloser
	Name        string // the download's name
	ContentType string
	Size        int64
	ModTime     time.Time
}

// storage is where the finished files are kept.
func (s *Service) storage() Storage {
	if s.Storage == nil {
		return DiskStorage{Dir: s.Dir}
	}
	return s.Storage
}

// Open opens the file of one of p's ready extractions, checking p's rights
// now, not when it was asked for.
func (s *Service) Open(ctx context.Context, p *access.Principal, id int64) (*File, error) {
	e, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if e.Status != domain.ExtractionReady {
		return nil, domain.Errorf(domain.ECONFLICT, "extraction %d is %s, not ready", id, e.Status)
	}
	obj, err := s.storage().Open(ctx, e.File)
	if err != nil {
		return nil, fmt.Errorf("open extraction %d: %w", id, err)
	}
	if e.SeenAt == nil {
		// Downloading it dismisses its notice.
		if err := s.Store.SeeExtraction(ctx, id); err != nil {
			obj.Close()
			return nil, err
		}
	}
	ct := Formats[e.Format]
	if compressed(e) {
		ct = "application/gzip"
	}
	return &File{ReadSeekCloser: obj, Name: DownloadName(e), ContentType: ct, Size: obj.Size(), ModTime: obj.ModTime()}, nil
}

// compressed reports whether an extraction's file is gzipped.
func compressed(e *domain.Extraction) bool { return strings.HasSuffix(e.File, ".gz") }

// DownloadName is the name an extraction's file is downloaded as; a
// gzipped file's ends in .gz.
func DownloadName(e *domain.Extraction) string {
	name := fmt.Sprintf("ticks-%s-%s-%s.%s", strings.ReplaceAll(e.Type, "_", "-"), e.From, e.To, e.Format)
	if compressed(e) {
		name += ".gz"
	}
	return name
}

// Delete cancels one of p's extractions that is queued or running, or
// deletes one that is done, with its file.
func (s *Service) Delete(ctx context.Context, p *access.Principal, id int64) error {
	e, err := s.Get(ctx, p, id)
	if err != nil {
		return err
	}
	if !e.Status.Done() {
		canceled, err := s.Store.CancelExtraction(ctx, id)
		if err != nil || canceled {
			return err // the job sees it and removes its partial file
		}
		if e, err = s.Store.Extraction(ctx, id); err != nil {
			return err
		}
	}
	if e.File != "" {
		if err := s.storage().Remove(ctx, e.File); err != nil {
			return fmt.Errorf("delete extraction %d: %w", id, err)
		}
	}
	return s.Store.DeleteExtraction(ctx, id)
}
