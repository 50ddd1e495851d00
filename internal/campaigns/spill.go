package campaigns

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/ticksapp/ticks/internal/domain"
)

// spill keeps an audience's valid rows in a temporary file while the file
// is read, instead of in memory, and reads them back in order for the
// store: a million rows cost a buffer, not hundreds of megabytes.
type spill struct {
	f     *os.File
	bw    *bufio.Writer
	w     *csv.Writer
	r     *csv.Reader
	nvars int
}

func newSpill(nvars int) (*spill, error) {
	f, err := os.CreateTemp("", "ticks-audience-*.csv")
	if err != nil {
		return nil, fmt.Errorf("audience spill: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	return &spill{f: f, bw: bw, w: csv.NewWriter(bw), nvars: nvars}, nil
}

// put writes one valid row.
func (s *spill) put(r domain.CampaignRow) error {
	rec := make([]string, 0, 5+len(r.Vars))
	rec = append(rec, strconv.Itoa(r.Seq), strconv.Itoa(r.Line), r.Phone, r.Name, r.CorrelationID)
	return s.w.Write(append(rec, r.Vars...))
}

// rewind ends the writing; next then reads the rows back from the first.
func (s *spill) rewind() error {
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return fmt.Errorf("audience spill: %w", err)
	}
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("audience spill: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("audience spill: %w", err)
	}
	s.r = csv.NewReader(bufio.NewReaderSize(s.f, 256<<10))
	s.r.FieldsPerRecord = 5 + s.nvars
	return nil
}

// next is the next row written, false after the last.
func (s *spill) next() (domain.CampaignRow, bool, error) {
	rec, err := s.r.Read()
	if err == io.EOF {
		return domain.CampaignRow{}, false, nil
	}
	if err != nil {
		return domain.CampaignRow{}, false, fmt.Errorf("audience spill: %w", err)
	}
	seq, err1 := strconv.Atoi(rec[0])
	line, err2 := strconv.Atoi(rec[1])
	if err1 != nil || err2 != nil {
		return domain.CampaignRow{}, false, fmt.Errorf("audience spill: bad row %q", rec[:2])
	}
	return domain.CampaignRow{Seq: seq, Line: line, Phone: rec[2], Name: rec[3], CorrelationID: rec[4],
		Vars: rec[5:]}, true, nil
}

// close removes the file.
func (s *spill) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}
