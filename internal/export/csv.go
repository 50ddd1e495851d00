package export

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CSVOptions tunes WriteCSV.
type CSVOptions struct {
	BOM   bool // start with a UTF-8 byte order mark, so that Excel reads the accents as UTF-8
	Comma rune // field separator: ',' when zero; ';' for Excel in pt-BR, where ',' is the decimal mark
}

// csvBufferSize is the size of the buffer between the CSV encoder and w.
const csvBufferSize = 64 << 10

// utf8BOM is the UTF-8 byte order mark Excel looks for.
const utf8BOM = "\xEF\xBB\xBF"

// WriteCSV writes the header row, then every row, to w as CSV: RFC 4180 quoting, UTF-8, lines ended by
// LF. Excel, LibreOffice and CSV libraries all read LF; encoding/csv's CRLF mode would drop a bare CR
// inside a field, and LF keeps every cell byte for byte. Every cell, header included, goes through
// NeutralizeFormula. It returns the number of data rows written. Output is streamed through a buffer: on
// error, w has already received the rows before it.
func WriteCSV(w io.Writer, cols []Column, rows Rows, o CSVOptions) (int64, error) {
	if err := checkColumns(cols); err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, csvBufferSize)
	if o.BOM {
		if _, err := bw.WriteString(utf8BOM); err != nil {
			return 0, fmt.Errorf("export csv: %w", err)
		}
	}
	comma := ','
	if o.Comma != 0 {
		comma = o.Comma
	}
	if comma == '"' || comma == '\r' || comma == '\n' || !utf8.ValidRune(comma) || comma == utf8.RuneError {
		return 0, errors.New("export csv: invalid field separator")
	}
	cw := &csvWriter{w: bw, comma: comma}

	record := make([]string, len(cols))
	for i, c := range cols {
		record[i] = NeutralizeFormula(c.Header)
	}
	if err := cw.Write(record); err != nil {
		return 0, fmt.Errorf("export csv: header: %w", err)
	}

	var n int64
	var writeErr error
	emit := func(row []string) error {
		if err := checkRow(row, cols, n); err != nil {
			writeErr = err
			return err
		}
		for i, cell := range row {
			record[i] = NeutralizeFormula(cell)
		}
		if err := cw.Write(record); err != nil {
			writeErr = fmt.Errorf("export csv: row %d: %w", n+1, err)
			return writeErr
		}
		n++
		return nil
	}
	if err := produce(rows, emit, &writeErr); err != nil {
		return n, err
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export csv: %w", err)
	}
	return n, nil
}

// csvWriter writes records as encoding/csv's Writer does with UseCRLF
// false, byte for byte, straight into its buffer: an export writes
// millions of records.
type csvWriter struct {
	w     *bufio.Writer
	comma rune
}

// Write writes one record and its LF; an error of the buffer's writer
// (sticky in bufio.Writer) is returned by the record that meets it or any
// after.
func (c *csvWriter) Write(record []string) error {
	for n, field := range record {
		if n > 0 {
			c.w.WriteRune(c.comma)
		}
		if !c.needsQuotes(field) {
			c.w.WriteString(field)
			continue
		}
		c.w.WriteByte('"')
		for {
			i := strings.IndexByte(field, '"')
			if i < 0 {
				c.w.WriteString(field)
				break
			}
			c.w.WriteString(field[:i+1])
			c.w.WriteByte('"')
			field = field[i+1:]
		}
		c.w.WriteByte('"')
	}
	return c.w.WriteByte('\n')
}

// needsQuotes is encoding/csv's rule: a field is quoted when it holds the
// separator, a quote, CR or LF, starts with a space, or is \. alone.
func (c *csvWriter) needsQuotes(field string) bool {
	if field == "" {
		return false
	}
	if field == `\.` {
		return true
	}
	if c.comma < utf8.RuneSelf {
		sep := byte(c.comma)
		for i := 0; i < len(field); i++ {
			if b := field[i]; b == '\n' || b == '\r' || b == '"' || b == sep {
				return true
			}
		}
	} else if strings.ContainsRune(field, c.comma) || strings.ContainsAny(field, "\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(field)
	return unicode.IsSpace(r)
}
