package campaigns

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ticksapp/ticks/internal/domain"
)

// spill keeps an audience's valid rows in a temporary file while the file
// is read, instead of in memory, and reads them back in order for the
// store: a million rows cost a buffer, not hundreds of megabytes. A row is
// written as its seq and line, then each field (phone, name, correlation
// id, the variables) as a length and its bytes: reading it back is a copy,
// not a CSV parse (which took a sixth of a million-row import's CPU).
type spill struct {
	f     *os.File
	bw    *bufio.Writer
	br    *bufio.Reader
	nvars int
	buf   []byte
}

func newSpill(nvars int) (*spill, error) {
	f, err := os.CreateTemp("", "ticks-audience-*.bin")
	if err != nil {
		return nil, fmt.Errorf("audience spill: %w", err)
	}
	return &spill{f: f, bw: bufio.NewWriterSize(f, 256<<10), nvars: nvars}, nil
}

// put writes one valid row.
func (s *spill) put(r domain.CampaignRow) error {
	if len(r.Vars) != s.nvars {
		return fmt.Errorf("audience spill: row %d has %d variables, want %d", r.Line, len(r.Vars), s.nvars)
	}
	b := s.buf[:0]
	b = binary.AppendUvarint(b, uint64(r.Seq))
	b = binary.AppendUvarint(b, uint64(r.Line))
	for _, f := range [3]string{r.Phone, r.Name, r.CorrelationID} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	for _, v := range r.Vars {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	s.buf = b
	_, err := s.bw.Write(b)
	return err
}

// rewind ends the writing; next then reads the rows back from the first.
func (s *spill) rewind() error {
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("audience spill: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("audience spill: %w", err)
	}
	s.br = bufio.NewReaderSize(s.f, 256<<10)
	return nil
}

// next is the next row written, false after the last.
func (s *spill) next() (domain.CampaignRow, bool, error) {
	var r domain.CampaignRow
	seq, err := binary.ReadUvarint(s.br)
	if err == io.EOF {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("audience spill: %w", err)
	}
	line, err := binary.ReadUvarint(s.br)
	if err != nil {
		return r, false, fmt.Errorf("audience spill: %w", unexpected(err))
	}
	r.Seq, r.Line = int(seq), int(line)
	fields := make([]string, 3+s.nvars)
	for i := range fields {
		n, err := binary.ReadUvarint(s.br)
		if err != nil {
			return r, false, fmt.Errorf("audience spill: %w", unexpected(err))
		}
		if n > MaxAudienceBytes {
			return r, false, fmt.Errorf("audience spill: a field of %d bytes", n)
		}
		if uint64(cap(s.buf)) < n {
			s.buf = make([]byte, n)
		}
		b := s.buf[:n]
		if _, err := io.ReadFull(s.br, b); err != nil {
			return r, false, fmt.Errorf("audience spill: %w", unexpected(err))
		}
		fields[i] = string(b)
	}
	r.Phone, r.Name, r.CorrelationID, r.Vars = fields[0], fields[1], fields[2], fields[3:]
	return r, true, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// close removes the file.
func (s *spill) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}
