package export

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
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
	// csv.NewWriter keeps bw as is: it is already a large enough bufio.Writer.
	cw := csv.NewWriter(bw)
	if o.Comma != 0 {
		cw.Comma = o.Comma
	}

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
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("export csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("export csv: %w", err)
	}
	return n, nil
}
