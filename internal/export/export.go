// Package export writes report rows as CSV, XLSX and PDF files, streaming, with memory flat in the row count.
//
// The package knows nothing of messages or reports: the caller gives the columns, a header (Meta) and a
// Rows function that pushes rows of strings. CSV and XLSX write every row; PDF stops after a cap and says
// so, pointing to CSV/XLSX. Every zero-valued label in Meta falls back to Brazilian Portuguese, the UI's
// main language; English callers set the labels.
package export

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Column is one column of an export.
type Column struct {
	Header string // the column's title, written as the header row
	Kind   Kind   // what its cells hold; text when zero
}

// Kind is what the cells of a column hold.
type Kind int

const (
	// KindText cells are written as they are.
	KindText Kind = iota
	// KindDateTime cells are local wall-clock times. CSV and PDF write them as they are, so the caller
	// gives them in the reader's layout; XLSX writes a cell in DateTimeLayout as a date cell (Excel's
	// serial number, shown with Meta.DateTimeFormat) and any other as text.
	KindDateTime
)

// DateTimeLayout is the form of a date-time cell that WriteXLSX turns into a date: the local
// wall-clock time, to the second, in fixed positions so that it is read back without time.Parse.
const DateTimeLayout = "2006-01-02 15:04:05"

// Meta is the header block of an XLSX or PDF export. CSV ignores it: a CSV starts with the column row so
// that programs can read it.
type Meta struct {
	Title     string      // e.g. "Relatório Detalhado — Enviadas (MT)"
	Filters   [][2]string // label, value pairs shown in order, e.g. {"Período", "01/11/2026 – 07/11/2026"}
	Total     int64       // the total count the report found (may exceed the rows written to a PDF); XLSX leaves it out when negative
	Generated time.Time   // when the export was made; zero means now
	Location  *time.Location
	Note      string // optional extra line under the header

	// Labels, each defaulting to pt-BR when empty or nil.
	TotalLabel     string                          // "Total"
	GeneratedLabel string                          // "Gerado em"
	PageLabel      string                          // "Página", as in "Página 3 de 10"
	OfLabel        string                          // "de", as in "Página 3 de 10"
	SheetName      string                          // "Dados"; more sheets are "Dados 2", "Dados 3"…
	FormatCount    func(n int64) string            // 123456 → "123.456"
	CapNote        func(shown, total int64) string // the PDF's note when rows were left out; total ≤ shown means unknown
	OmittedLabel   string                          // "Colunas vazias omitidas", before the PDF's list of columns left out
	DateTimeFormat string                          // Excel's number format of date-time cells: "dd/mm/yyyy hh:mm:ss"
}

// Rows yields the rows in order; it stops early when emit returns an error (and returns that error).
// The row slice may be reused by the caller after emit returns.
type Rows func(emit func(row []string) error) error

// generatedLayout is how Meta.Generated is shown: dd/mm/yyyy HH:MM.
const generatedLayout = "02/01/2006 15:04"

// errStop is returned by an emit function to stop a Rows producer without it being an error (PDF cap).
var errStop = errors.New("export: enough rows")

// withDefaults fills every empty label with its pt-BR default and resolves the time and location.
func (m Meta) withDefaults() Meta {
	if m.Location == nil {
		if m.Generated.IsZero() {
			m.Location = time.Local
		} else {
			m.Location = m.Generated.Location()
		}
	}
	if m.Generated.IsZero() {
		m.Generated = time.Now()
	}
	if m.TotalLabel == "" {
		m.TotalLabel = "Total"
	}
	if m.GeneratedLabel == "" {
		m.GeneratedLabel = "Gerado em"
	}
	if m.PageLabel == "" {
		m.PageLabel = "Página"
	}
	if m.OfLabel == "" {
		m.OfLabel = "de"
	}
	if m.OmittedLabel == "" {
		m.OmittedLabel = "Colunas vazias omitidas"
	}
	if m.DateTimeFormat == "" {
		m.DateTimeFormat = "dd/mm/yyyy hh:mm:ss"
	}
	if m.SheetName == "" {
		m.SheetName = "Dados"
	}
	if m.FormatCount == nil {
		m.FormatCount = FormatCountPtBR
	}
	if m.CapNote == nil {
		format := m.FormatCount
		m.CapNote = func(shown, total int64) string {
			if total <= shown {
				return fmt.Sprintf("Exibindo as primeiras %s linhas. Exporte em CSV ou XLSX para ver todas.", format(shown))
			}
			return fmt.Sprintf("Exibindo as primeiras %s de %s linhas. Exporte em CSV ou XLSX para ver todas.",
				format(shown), format(total))
		}
	}
	return m
}

// generatedText is Generated shown in Location.
func (m Meta) generatedText() string {
	return m.Generated.In(m.Location).Format(generatedLayout)
}

// FormatCountPtBR writes n with '.' between thousands, as Brazilians write counts: 123456 → "123.456".
func FormatCountPtBR(n int64) string {
	return groupThousands(n, '.')
}

// groupThousands writes n in decimal with sep between groups of three digits.
func groupThousands(n int64, sep byte) string {
	digits := strconv.FormatInt(n, 10)
	sign := ""
	if digits[0] == '-' {
		sign, digits = "-", digits[1:]
	}
	if len(digits) <= 3 {
		return sign + digits
	}
	out := make([]byte, 0, len(digits)+len(digits)/3)
	head := len(digits) % 3
	if head > 0 {
		out = append(out, digits[:head]...)
	}
	for i := head; i < len(digits); i += 3 {
		if len(out) > 0 {
			out = append(out, sep)
		}
		out = append(out, digits[i:i+3]...)
	}
	return sign + string(out)
}

// checkColumns refuses an export without columns.
func checkColumns(cols []Column) error {
	if len(cols) == 0 {
		return errors.New("export: no columns")
	}
	return nil
}

// checkRow refuses a row whose width differs from the columns', which would shift every later cell.
func checkRow(row []string, cols []Column, n int64) error {
	if len(row) != len(cols) {
		return fmt.Errorf("export: row %d has %d cells, want %d", n+1, len(row), len(cols))
	}
	return nil
}

// produce runs rows with emit and sorts out whose error it returned: the writer's own error (kept in
// *writeErr by emit) wins, errStop is no error, anything else came from the producer.
func produce(rows Rows, emit func([]string) error, writeErr *error) error {
	err := rows(emit)
	if *writeErr != nil {
		return *writeErr
	}
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("export: rows: %w", err)
	}
	return nil
}
