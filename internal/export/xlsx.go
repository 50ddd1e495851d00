package export

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// MaxXLSXSheetRows is how many rows one sheet holds, header rows included, before the export continues on
// a new sheet ("Dados 2", "Dados 3"…) that repeats the column header row. It is Excel's limit; it is a
// variable so that tests can lower it to exercise the split.
var MaxXLSXSheetRows = excelize.TotalRows

// maxSheetXMLBytes bounds the estimated size of one sheet's XML. The workbook's ZIP is streamed to w, so
// excelize cannot mark a member over 4 GiB as ZIP64 afterwards (Excel insists on that mark); starting a
// new sheet well before 4 GiB keeps every member small. Rows of a few hundred bytes never reach it.
var maxSheetXMLBytes int64 = 3 << 30

// xlsxSampleRows is how many leading rows are held back to size the columns before the sheet starts.
const xlsxSampleRows = 100

// Column widths in Excel character units.
const (
	xlsxMinWidth = 8
	xlsxMaxWidth = 60
)

// xlsxCellOverhead estimates the XML around one inline-string cell:
// <c r="AB1048576" s="12" t="inlineStr"><is><t xml:space="preserve">…</t></is></c>.
const xlsxCellOverhead = 80

// WriteXLSX writes an Excel workbook to w: on the first sheet a header block (Meta.Title, the filters,
// the total, the generation time in Meta.Location as dd/mm/yyyy HH:MM, Meta.Note), a blank row, the bold
// column header row (frozen) and the rows; a sheet that reaches MaxXLSXSheetRows continues on a new sheet
// with the header row repeated. Cells are text, passed through NeutralizeFormula. Rows are streamed to a
// temporary file by excelize's StreamWriter and the ZIP is streamed to w at the end, so memory stays flat
// in the row count; nothing is written to w unless every row was. It returns the number of data rows.
func WriteXLSX(w io.Writer, cols []Column, meta Meta, rows Rows) (n int64, err error) {
	if err := checkColumns(cols); err != nil {
		return 0, err
	}
	if len(cols) > excelize.MaxColumns {
		return 0, fmt.Errorf("export xlsx: %d columns, Excel allows %d", len(cols), excelize.MaxColumns)
	}
	m := meta.withDefaults()
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("export xlsx: close: %w", cerr)
		}
	}()
	x := &xlsxWriter{f: f, cols: cols, meta: m, vals: make([]any, len(cols))}
	if err := x.prepare(); err != nil {
		return 0, fmt.Errorf("export xlsx: %w", err)
	}

	var writeErr error
	emit := func(row []string) error {
		if err := checkRow(row, cols, x.n); err != nil {
			writeErr = err
			return err
		}
		if err := x.add(row); err != nil {
			writeErr = fmt.Errorf("export xlsx: row %d: %w", x.n+1, err)
			return writeErr
		}
		return nil
	}
	if err := produce(rows, emit, &writeErr); err != nil {
		return x.n, err
	}
	if err := x.finish(); err != nil {
		return x.n, fmt.Errorf("export xlsx: %w", err)
	}

	// excelize's File.Write builds the whole ZIP in a bytes.Buffer handed to its ZipWriter hook; handing it
	// a ZIP writer on w instead streams the workbook out and leaves that buffer empty.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return newStreamingZip(w) })
	if err := f.Write(w); err != nil {
		return x.n, fmt.Errorf("export xlsx: write: %w", err)
	}
	return x.n, nil
}

// newStreamingZip is a ZIP writer on w that deflates at the fastest level: spreadsheet XML is repetitive
// enough that it still shrinks about tenfold, at a fraction of the default level's time.
func newStreamingZip(w io.Writer) *zip.Writer {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	return zw
}

// xlsxWriter holds the state of one workbook being streamed.
type xlsxWriter struct {
	f    *excelize.File
	cols []Column
	meta Meta

	titleStyle, labelStyle, headerStyle, countStyle int

	sample [][]string // the first rows, copied, held back until the widths are known
	widths []float64
	sheets int                    // sheets started
	sw     *excelize.StreamWriter // the current sheet
	row    int                    // last row written on the current sheet
	bytes  int64                  // estimated XML bytes of the current sheet
	n      int64                  // data rows written (or held in sample)
	vals   []any                  // reused row of cell values
}

// prepare names the first sheet and registers the styles.
func (x *xlsxWriter) prepare() error {
	if err := x.f.SetSheetName(x.f.GetSheetName(0), x.sheetName(1)); err != nil {
		return err
	}
	var err error
	if x.titleStyle, err = x.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}); err != nil {
		return err
	}
	if x.labelStyle, err = x.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return err
	}
	if x.countStyle, err = x.f.NewStyle(&excelize.Style{NumFmt: 3, Alignment: &excelize.Alignment{Horizontal: "left"}}); err != nil {
		return err
	}
	x.headerStyle, err = x.f.NewStyle(&excelize.Style{
		Font:   &excelize.Font{Bold: true},
		Fill:   excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
		Border: []excelize.Border{{Type: "bottom", Color: "8EA9DB", Style: 1}},
	})
	if err != nil {
		return err
	}
	created := x.meta.Generated.UTC().Format("2006-01-02T15:04:05Z")
	return x.f.SetDocProps(&excelize.DocProperties{
		Title: x.meta.Title, Creator: "ticks", LastModifiedBy: "ticks", Created: created, Modified: created,
	})
}

// sheetName is the name of the i-th sheet (from 1): "Dados", "Dados 2"…, within Excel's 31 characters.
func (x *xlsxWriter) sheetName(i int) string {
	base := []rune(x.meta.SheetName)
	if len(base) > 24 {
		base = base[:24]
	}
	if i == 1 {
		return string(base)
	}
	return string(base) + " " + strconv.Itoa(i)
}

// add writes one data row, or holds it back while the column widths are being sampled.
func (x *xlsxWriter) add(row []string) error {
	if x.widths == nil {
		x.sample = append(x.sample, append([]string(nil), row...))
		x.n++
		if len(x.sample) < xlsxSampleRows {
			return nil
		}
		return x.flushSample()
	}
	if err := x.writeData(row); err != nil {
		return err
	}
	x.n++
	return nil
}

// flushSample sizes the columns from the header and the sampled rows, starts the first sheet and writes
// the held-back rows.
func (x *xlsxWriter) flushSample() error {
	x.widths = make([]float64, len(x.cols))
	for i, c := range x.cols {
		longest := utf8.RuneCountInString(c.Header)
		for _, row := range x.sample {
			longest = max(longest, utf8.RuneCountInString(row[i]))
		}
		x.widths[i] = min(max(float64(longest)*1.1+2, xlsxMinWidth), xlsxMaxWidth)
	}
	if err := x.startSheet(); err != nil {
		return err
	}
	for _, row := range x.sample {
		if err := x.writeData(row); err != nil {
			return err
		}
	}
	x.sample = nil
	return nil
}

// startSheet begins the next sheet: the header block on the first one, then the column header row.
func (x *xlsxWriter) startSheet() error {
	x.sheets++
	name := x.sheetName(x.sheets)
	if x.sheets > 1 {
		if err := x.sw.Flush(); err != nil {
			return err
		}
		if _, err := x.f.NewSheet(name); err != nil {
			return err
		}
	}
	sw, err := x.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	x.sw, x.row, x.bytes = sw, 0, 0
	for i, width := range x.widths {
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return err
		}
	}

	var block [][]any
	if x.sheets == 1 {
		block = x.headerBlock()
	}
	headerRow := len(block) + 1
	if headerRow+1 > MaxXLSXSheetRows {
		return fmt.Errorf("sheet row limit %d leaves no room for data after %d header rows", MaxXLSXSheetRows, headerRow)
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: headerRow, TopLeftCell: "A" + strconv.Itoa(headerRow+1), ActivePane: "bottomLeft",
	}); err != nil {
		return err
	}
	for _, cells := range block {
		if err := x.setRow(cells); err != nil {
			return err
		}
	}
	header := make([]any, len(x.cols))
	for i, c := range x.cols {
		header[i] = excelize.Cell{StyleID: x.headerStyle, Value: NeutralizeFormula(c.Header)}
	}
	return x.setRow(header)
}

// headerBlock is the first sheet's title, filters, total, generation time, note and blank row.
func (x *xlsxWriter) headerBlock() [][]any {
	m := x.meta
	label := func(s string) excelize.Cell { return excelize.Cell{StyleID: x.labelStyle, Value: NeutralizeFormula(s)} }
	block := [][]any{{excelize.Cell{StyleID: x.titleStyle, Value: NeutralizeFormula(m.Title)}}}
	for _, kv := range m.Filters {
		block = append(block, []any{label(kv[0]), NeutralizeFormula(kv[1])})
	}
	block = append(block,
		[]any{label(m.TotalLabel), excelize.Cell{StyleID: x.countStyle, Value: m.Total}},
		[]any{label(m.GeneratedLabel), m.generatedText()},
	)
	if m.Note != "" {
		block = append(block, []any{NeutralizeFormula(m.Note)})
	}
	return append(block, nil) // the blank row
}

// writeData writes one data row, starting a new sheet first when the current one is full.
func (x *xlsxWriter) writeData(row []string) error {
	size := int64(len(row)) * xlsxCellOverhead
	for i, cell := range row {
		x.vals[i] = NeutralizeFormula(cell)
		size += xmlEscapedLen(cell)
	}
	if x.row >= MaxXLSXSheetRows || (x.bytes > 0 && x.bytes+size > maxSheetXMLBytes) {
		if err := x.startSheet(); err != nil {
			return err
		}
	}
	x.bytes += size
	return x.setRow(x.vals)
}

// setRow writes cells as the next row of the current sheet; nil cells leave an empty row.
func (x *xlsxWriter) setRow(cells []any) error {
	x.row++
	return x.sw.SetRow("A"+strconv.Itoa(x.row), cells)
}

// finish starts the sheet if fewer rows than the sample came, and ends it.
func (x *xlsxWriter) finish() error {
	if x.widths == nil {
		if err := x.flushSample(); err != nil {
			return err
		}
	}
	if err := x.sw.Flush(); err != nil {
		return err
	}
	x.f.SetActiveSheet(0)
	return nil
}

// xmlEscapedLen is an upper bound of len(s) once escaped as XML text.
func xmlEscapedLen(s string) int64 {
	n := int64(len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&', '<', '>', '"', '\'', '\t', '\r', '\n':
			n += 5
		}
	}
	return n
}
