package extracts

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/store"
)

// progressEvery is how many rows are written between two progress
// records (and checks that the extraction was not canceled).
var progressEvery int64 = 20000

// partSuffix marks a file being written; only a finished file is renamed
// to its name, so a crash never leaves a half file under a ready name.
const partSuffix = ".part"

// ErrBusy is Run's answer when the limits on extractions running at once
// hold this one back: it stays queued, and its job tries again later.
var ErrBusy = errors.New("extraction waits for others to finish")

// errStopped stops writing an extraction that was canceled or deleted.
var errStopped = errors.New("extraction stopped")

// StaleAfter is how long a running extraction's run may stay silent
// before another takes it over (its process was killed), unless
// Service.StaleAfter says otherwise; runs beat every beatEvery, or a
// quarter of that time when shorter.
var (
	StaleAfter = 2 * time.Minute
	beatEvery  = 15 * time.Second
)

// Run writes an extraction's file from its first row: the background
// work's body. A queued extraction, or a running one whose run stopped
// beating (a restart interrupted it), is run; any other is left alone. An
// error is returned for the caller to retry later (Fail gives up); an
// unknown type fails the extraction at once.
func (s *Service) Run(ctx context.Context, id int64) error {
	e, err := s.Store.Extraction(ctx, id)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil // deleted before it ran
	}
	if err != nil {
		return err
	}
	if e.Status.Done() {
		return nil
	}
	table, ok := Lookup(e.Type)
	if !ok {
		return s.fail(ctx, e, fmt.Sprintf("unknown type %q", e.Type))
	}
	// Not Period: a period valid when asked for may be past five years by now, and is run anyway.
	from, to := s.bounds(e)
	names, err := reports.LoadNames(ctx, s.Store, e.Scope)
	if err != nil {
		return err
	}
	q := &Query{Store: s.Store, Scope: e.Scope, From: from, To: to, Lang: e.Lang, Location: s.location(),
		TimeLayout: reports.TimeLayout(e.Lang), Names: names}
	if e.Format == "xlsx" {
		q.TimeLayout = export.DateTimeLayout
	}
	var total int64
	if table.Count != nil {
		if total, err = table.Count(ctx, q); err != nil {
			return err
		}
	}
	random := make([]byte, 8)
	rand.Read(random)
	run := hex.EncodeToString(random)
	if started, err := s.Store.StartExtraction(ctx, id, total, run, s.now().Add(-s.staleAfter()), s.Limits); err != nil || !started {
		if errors.Is(err, store.ErrExtractionBusy) {
			return ErrBusy
		}
		return err
	}
	name, rows, size, err := s.write(ctx, e, run, table, q)
	if errors.Is(err, errStopped) {
		return nil
	}
	if err != nil {
		// Queued again for the retry; the run's partial file is gone.
		if rerr := s.Store.ReleaseExtraction(context.WithoutCancel(ctx), id, run); rerr != nil {
			slog.Warn("release extraction", slog.Int64("id", id), slog.Any("err", rerr))
		}
		return err
	}
	ready, err := s.Store.FinishExtraction(ctx, id, run, name, rows, size, s.now().Add(s.keep()))
	if err != nil || !ready {
		s.storage().Remove(context.WithoutCancel(ctx), name)
		return err
	}
	if s.Notify != nil {
		if done, err := s.Store.Extraction(ctx, id); err == nil {
			s.Notify(ctx, done)
		}
	}
	return nil
}

// Fail gives up on an extraction after its last attempt failed with err:
// it is marked failed with a message for its requester.
func (s *Service) Fail(ctx context.Context, id int64, err error) error {
	e, gerr := s.Store.Extraction(ctx, id)
	if gerr != nil {
		return gerr
	}
	msg := "the extraction could not be written"
	if de := (*domain.Error)(nil); errors.As(err, &de) {
		msg = de.Message
	}
	return s.fail(ctx, e, msg)
}

func (s *Service) fail(ctx context.Context, e *domain.Extraction, msg string) error {
	if err := s.Store.FailExtraction(ctx, e.ID, msg); err != nil {
		return err
	}
	if s.Notify != nil {
		if done, err := s.Store.Extraction(ctx, e.ID); err == nil {
			s.Notify(ctx, done)
		}
	}
	return nil
}

// bounds are an extraction's instants [from, to), its days in the
// account's time zone.
func (s *Service) bounds(e *domain.Extraction) (time.Time, time.Time) {
	loc := s.location()
	from, _ := time.ParseInLocation(time.DateOnly, e.From, loc)
	last, _ := time.ParseInLocation(time.DateOnly, e.To, loc)
	return from, last.AddDate(0, 0, 1)
}

func (s *Service) staleAfter() time.Duration {
	if s.StaleAfter > 0 {
		return s.StaleAfter
	}
	return StaleAfter
}

func (s *Service) location() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

func (s *Service) keep() time.Duration {
	if s.Keep <= 0 {
		return DefaultKeep
	}
	return s.Keep
}

// write writes the table into a new file of the folder, under a temporary
// name until it is complete, and returns its name, rows and size. The run
// beats while it writes, and stops (errStopped) once the extraction is no
// longer its own: canceled, deleted or taken over.
func (s *Service) write(ctx context.Context, e *domain.Extraction, run string, table *Table, q *Query) (string, int64, int64, error) {
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return "", 0, 0, fmt.Errorf("extractions folder: %w", err)
	}
	random := make([]byte, 8)
	rand.Read(random)
	name := fmt.Sprintf("%d-%s.%s", e.ID, hex.EncodeToString(random), e.Format)
	part := filepath.Join(s.Dir, name+partSuffix)
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", 0, 0, fmt.Errorf("create extraction file: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(part) // gone once stored
	}()
	var written atomic.Int64
	var stopped atomic.Bool
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The beat: progress, and a sign of life, even while a table's query
	// has no row to give yet (an aggregate over months).
	beatDone := make(chan struct{})
	defer func() { cancel(); <-beatDone }()
	go func() {
		defer close(beatDone)
		t := time.NewTicker(min(beatEvery, s.staleAfter()/4))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if mine, err := s.Store.ExtractionProgress(ctx, e.ID, run, written.Load()); err == nil && !mine {
				stopped.Store(true)
				cancel()
				return
			}
		}
	}()
	buf := bufio.NewWriterSize(f, 256<<10)
	rows := func(emit func([]string) error) error {
		return table.Rows(ctx, q, func(row []string) error {
			if err := emit(row); err != nil {
				return err
			}
			if n := written.Add(1); n%progressEvery == 0 {
				mine, err := s.Store.ExtractionProgress(ctx, e.ID, run, n)
				if err != nil {
					return err
				}
				if !mine {
					return errStopped
				}
			}
			return ctx.Err()
		})
	}
	cols := table.exportColumns(e.Lang)
	var n int64
	switch e.Format {
	case "xlsx":
		meta := export.Meta{Title: Title(e.Lang, e.Type), Generated: s.now(), Location: q.Location,
			Filters:   [][2]string{{i18n.T(e.Lang, "export.period"), e.From + " – " + e.To}},
			SheetName: i18n.T(e.Lang, "export.sheet"), TotalLabel: i18n.T(e.Lang, "export.total"),
			GeneratedLabel: i18n.T(e.Lang, "export.generated"), DateTimeFormat: spreadsheetTimeFormat(e.Lang),
			FormatCount: func(n int64) string { return reports.FormatCount(e.Lang, n) }}
		meta.Total = -1 // the rows are counted as they are written, after the header
		n, err = export.WriteXLSX(buf, cols, meta, rows)
	default:
		n, err = export.WriteCSV(buf, cols, rows, export.CSVOptions{BOM: true})
	}
	if stopped.Load() {
		return "", 0, 0, errStopped
	}
	if err == nil {
		err = buf.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return "", 0, 0, err
	}
	info, err := f.Stat()
	if err != nil {
		return "", 0, 0, err
	}
	size, path := info.Size(), part
	if e.Format == "csv" && size > s.compressAbove() {
		// A large CSV is kept gzipped, and its name says so.
		gz := part + ".gz"
		if size, err = gzipFile(part, gz); err != nil {
			os.Remove(gz)
			return "", 0, 0, err
		}
		defer os.Remove(gz) // gone once stored
		name, path = name+".gz", gz
	}
	if err := s.storage().Put(ctx, name, path); err != nil {
		return "", 0, 0, err
	}
	return name, n, size, nil
}

// DefaultCompressAbove is the size past which a CSV file is gzipped,
// unless configured.
const DefaultCompressAbove = 32 << 20

func (s *Service) compressAbove() int64 {
	if s.CompressAbove <= 0 {
		return DefaultCompressAbove
	}
	return s.CompressAbove
}

// gzipFile writes src gzipped into dst (at gzip's fastest level: CSV
// still shrinks several times, and a large file is not held up long) and
// returns dst's size.
func gzipFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return 0, fmt.Errorf("create extraction file: %w", err)
	}
	defer out.Close()
	zw, _ := gzip.NewWriterLevel(out, gzip.BestSpeed)
	if _, err := io.Copy(zw, in); err != nil {
		return 0, fmt.Errorf("compress extraction: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, fmt.Errorf("compress extraction: %w", err)
	}
	if err := out.Sync(); err != nil {
		return 0, err
	}
	info, err := out.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// spreadsheetTimeFormat is Excel's number format for dates in lang.
func spreadsheetTimeFormat(lang string) string {
	if i18n.Normalize(lang) == "en" {
		return "yyyy-mm-dd hh:mm:ss"
	}
	return "dd/mm/yyyy hh:mm:ss"
}

// Expire marks the extractions whose time is up expired and deletes their
// files, and deletes the files no extraction holds that a crash left
// (partial files once a day old, finished ones once an hour old). It
// returns the number of files deleted.
func (s *Service) Expire(ctx context.Context) (int, error) {
	files, err := s.Store.ExpireExtractions(ctx, s.now())
	if err != nil {
		return 0, err
	}
	deleted := 0
	for _, f := range files {
		if f == "" {
			continue
		}
		if err := s.storage().Remove(ctx, f); err == nil {
			deleted++
		} else {
			slog.Warn("delete expired extraction", slog.String("file", f), slog.Any("err", err))
		}
	}
	held, err := s.Store.ExtractionFiles(ctx)
	if err != nil {
		return deleted, err
	}
	// A file finished a moment ago is stored before its row says so.
	stored, err := s.storage().List(ctx)
	if err != nil {
		return deleted, err
	}
	for _, f := range stored {
		if !held[f.Name] && s.now().Sub(f.ModTime) > time.Hour && s.storage().Remove(ctx, f.Name) == nil {
			deleted++
		}
	}
	// Partial files are on this server's disk; one may be written now.
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		if os.IsNotExist(err) {
			return deleted, nil
		}
		return deleted, err
	}
	for _, ent := range entries {
		name := ent.Name()
		info, err := ent.Info()
		if err != nil || ent.IsDir() || !isPartial(name) {
			continue
		}
		if s.now().Sub(info.ModTime()) > 24*time.Hour && os.Remove(filepath.Join(s.Dir, name)) == nil {
			deleted++
		}
	}
	return deleted, nil
}

// isPartial reports whether a file of the folder is one being written
// (or its gzipped copy).
func isPartial(name string) bool {
	return strings.HasSuffix(name, partSuffix) || strings.HasSuffix(name, partSuffix+".gz")
}
