package export

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
)

// MaxXLSXSheetRows is how many rows one sheet holds, header rows included, before the export continues on
// a new sheet ("Dados 2", "Dados 3"…) that repeats the column header row. It is Excel's limit; it is a
// variable so that tests can lower it to exercise the split.
var MaxXLSXSheetRows = 1 << 20

// maxSheetXMLBytes bounds the estimated size of one sheet's XML. The workbook's ZIP is streamed, so a
// member's size is not known when its header is written, and Excel refuses a member over 4 GiB that was
// not marked ZIP64 up front; starting a new sheet well before 4 GiB keeps every member small. Rows of a
// few hundred bytes never reach it.
var maxSheetXMLBytes int64 = 3 << 30

// xlsxSampleRows is how many leading rows are held back to size the columns before the sheet starts.
const xlsxSampleRows = 100

// Column widths in Excel character units.
const (
	xlsxMinWidth = 8
	xlsxMaxWidth = 60
)

// xlsxCellOverhead estimates the XML around one cell: <c r="AB1048576" t="inlineStr"><is><t>…</t></is></c>.
const xlsxCellOverhead = 60

// xlsxMaxCellChars is Excel's limit on the characters of a cell; longer text is cut.
const xlsxMaxCellChars = 32767

// The cell styles of styles.xml, by index.
const (
	styleTitle  = 1
	styleLabel  = 2
	styleCount  = 3
	styleHeader = 4
	styleDate   = 5
)

// WriteXLSX writes an Excel workbook to w: on the first sheet a header block (Meta.Title, the filters,
// the total, the generation time in Meta.Location as dd/mm/yyyy HH:MM, Meta.Note), a blank row, the bold
// column header row (frozen) and the rows; a sheet that reaches MaxXLSXSheetRows continues on a new sheet
// with the header row repeated. Cells are text, passed through NeutralizeFormula.
//
// The workbook is written as it goes, sheet XML straight into a deflated ZIP member, to a temporary file
// that is copied to w at the end: memory stays flat in the row count, and nothing is written to w unless
// every row was. It returns the number of data rows.
func WriteXLSX(w io.Writer, cols []Column, meta Meta, rows Rows) (n int64, err error) {
	if err := checkColumns(cols); err != nil {
		return 0, err
	}
	if len(cols) > 16384 {
		return 0, fmt.Errorf("export xlsx: %d columns, Excel allows 16384", len(cols))
	}
	tmp, err := os.CreateTemp("", "ticks-export-*.xlsx")
	if err != nil {
		return 0, fmt.Errorf("export xlsx: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	// The header block's rows are two cells wide, whatever the columns.
	x := &xlsxWriter{zw: newStreamingZip(tmp), cols: cols, meta: meta.withDefaults(), refs: make([]string, max(len(cols), 2)),
		dates: make([]bool, len(cols))}
	for i := range x.refs {
		x.refs[i] = columnName(i)
	}
	for i, c := range cols {
		x.dates[i] = c.Kind == KindDateTime
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
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return x.n, fmt.Errorf("export xlsx: %w", err)
	}
	if _, err := io.Copy(w, tmp); err != nil {
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
	zw    *zip.Writer
	cols  []Column
	meta  Meta
	refs  []string // column letters: A, B, …
	dates []bool   // the date-time columns

	sample [][]string // the first rows, copied, held back until the widths are known
	widths []float64
	sheets int           // sheets started
	sheet  *bufio.Writer // the current sheet's XML
	row    int           // last row written on the current sheet
	bytes  int64         // estimated XML bytes of the current sheet
	n      int64         // data rows written (or held in sample)
	buf    []byte        // reused row XML
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

// xcell is one cell of the header block: text, or a count (a number).
type xcell struct {
	text  string
	count int64
	isNum bool
	style int
}

// startSheet ends the current sheet and begins the next: the header block on the first one, then the
// column header row, frozen.
func (x *xlsxWriter) startSheet() error {
	if err := x.endSheet(); err != nil {
		return err
	}
	x.sheets++
	f, err := x.zw.Create("xl/worksheets/sheet" + strconv.Itoa(x.sheets) + ".xml")
	if err != nil {
		return err
	}
	x.sheet, x.row, x.bytes = bufio.NewWriterSize(f, 64<<10), 0, 0
	var block [][]xcell
	if x.sheets == 1 {
		block = x.headerBlock()
	}
	headerRow := len(block) + 1
	if headerRow+1 > MaxXLSXSheetRows {
		return fmt.Errorf("sheet row limit %d leaves no room for data after %d header rows", MaxXLSXSheetRows, headerRow)
	}
	b := x.sheet
	b.WriteString(xml.Header)
	b.WriteString(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
		`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetViews><sheetView`)
	if x.sheets == 1 {
		b.WriteString(` tabSelected="1"`)
	}
	fmt.Fprintf(b, ` workbookViewId="0"><pane ySplit="%d" topLeftCell="A%d" activePane="bottomLeft" state="frozen"/>`+
		`<selection pane="bottomLeft" activeCell="A%d" sqref="A%d"/></sheetView></sheetViews>`+
		`<sheetFormatPr defaultRowHeight="15"/><cols>`, headerRow, headerRow+1, headerRow+1, headerRow+1)
	for i, width := range x.widths {
		fmt.Fprintf(b, `<col min="%d" max="%d" width="%s" customWidth="1"/>`, i+1, i+1, strconv.FormatFloat(width, 'f', 2, 64))
	}
	b.WriteString(`</cols><sheetData>`)
	for _, cells := range block {
		x.writeRow(cells)
	}
	header := make([]xcell, len(x.cols))
	for i, c := range x.cols {
		header[i] = xcell{text: NeutralizeFormula(c.Header), style: styleHeader}
	}
	x.writeRow(header)
	return nil
}

// endSheet closes the current sheet's XML.
func (x *xlsxWriter) endSheet() error {
	if x.sheet == nil {
		return nil
	}
	x.sheet.WriteString(`</sheetData></worksheet>`)
	err := x.sheet.Flush()
	x.sheet = nil
	return err
}

// headerBlock is the first sheet's title, filters, total, generation time, note and blank row.
func (x *xlsxWriter) headerBlock() [][]xcell {
	m := x.meta
	label := func(s string) xcell { return xcell{text: NeutralizeFormula(s), style: styleLabel} }
	text := func(s string) xcell { return xcell{text: NeutralizeFormula(s)} }
	block := [][]xcell{{{text: NeutralizeFormula(m.Title), style: styleTitle}}}
	for _, kv := range m.Filters {
		block = append(block, []xcell{label(kv[0]), text(kv[1])})
	}
	if m.Total >= 0 {
		block = append(block, []xcell{label(m.TotalLabel), {count: m.Total, isNum: true, style: styleCount}})
	}
	block = append(block, []xcell{label(m.GeneratedLabel), text(m.generatedText())})
	if m.Note != "" {
		block = append(block, []xcell{text(m.Note)})
	}
	return append(block, nil) // the blank row
}

// startRow begins the next row's XML in the reused buffer and returns it with the row's number.
func (x *xlsxWriter) startRow() ([]byte, string) {
	x.row++
	r := strconv.Itoa(x.row)
	b := append(x.buf[:0], `<row r="`...)
	b = append(b, r...)
	return append(b, `">`...), r
}

// startCell appends the opening of the cell in column i of row r, up to its attributes.
func (x *xlsxWriter) startCell(b []byte, i int, r string) []byte {
	b = append(b, `<c r="`...)
	b = append(b, x.refs[i]...)
	b = append(b, r...)
	return append(b, '"')
}

// writeRow writes header-block cells as the next row.
func (x *xlsxWriter) writeRow(cells []xcell) {
	b, r := x.startRow()
	for i, c := range cells {
		b = x.startCell(b, i, r)
		b = append(b, ` s="`...)
		b = strconv.AppendInt(b, int64(c.style), 10)
		if c.isNum {
			b = append(b, `"><v>`...)
			b = strconv.AppendInt(b, c.count, 10)
			b = append(b, `</v></c>`...)
			continue
		}
		b = append(b, `" t="inlineStr">`...)
		b = appendInlineText(b, c.text)
		b = append(b, `</c>`...)
	}
	b = append(b, `</row>`...)
	x.sheet.Write(b)
	x.buf = b
}

// writeData writes one data row, starting a new sheet first when the current one is full. Empty cells
// are left out: readers show them empty all the same.
func (x *xlsxWriter) writeData(row []string) error {
	size := int64(len(row)) * xlsxCellOverhead
	for _, c := range row {
		size += xmlEscapedLen(c)
	}
	if x.row >= MaxXLSXSheetRows || (x.bytes > 0 && x.bytes+size > maxSheetXMLBytes) {
		if err := x.startSheet(); err != nil {
			return err
		}
	}
	x.bytes += size
	b, r := x.startRow()
	for i, c := range row {
		if c == "" {
			continue
		}
		b = x.startCell(b, i, r)
		if x.dates[i] {
			if serial, ok := appendExcelSerial(append(b, ` s="5"><v>`...), c); ok {
				b = append(serial, `</v></c>`...)
				continue
			}
		}
		b = append(b, ` t="inlineStr">`...)
		b = appendInlineText(b, NeutralizeFormula(c))
		b = append(b, `</c>`...)
	}
	b = append(b, `</row>`...)
	x.buf = b
	_, err := x.sheet.Write(b)
	return err
}

// finish starts the sheet if fewer rows than the sample came, ends it, and writes the workbook's other
// parts.
func (x *xlsxWriter) finish() error {
	if x.widths == nil {
		if err := x.flushSample(); err != nil {
			return err
		}
	}
	if err := x.endSheet(); err != nil {
		return err
	}
	var wb, rels, types strings.Builder
	wb.WriteString(xml.Header + `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ` +
		`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		`<bookViews><workbookView activeTab="0"/></bookViews><sheets>`)
	rels.WriteString(xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	types.WriteString(xml.Header + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
		`<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` +
		`<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>`)
	for i := 1; i <= x.sheets; i++ {
		n := strconv.Itoa(i)
		fmt.Fprintf(&wb, `<sheet name="%s" sheetId="%s" r:id="rId%s"/>`, escapeAttr(x.sheetName(i)), n, n)
		fmt.Fprintf(&rels, `<Relationship Id="rId%s" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%s.xml"/>`, n, n)
		fmt.Fprintf(&types, `<Override PartName="/xl/worksheets/sheet%s.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, n)
	}
	wb.WriteString(`</sheets></workbook>`)
	fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`, x.sheets+1)
	types.WriteString(`</Types>`)
	created := x.meta.Generated.UTC().Format(time.RFC3339)
	parts := []struct{ name, body string }{
		{"xl/workbook.xml", wb.String()},
		{"xl/_rels/workbook.xml.rels", rels.String()},
		{"xl/styles.xml", xlsxStyles(x.meta.DateTimeFormat)},
		{"[Content_Types].xml", types.String()},
		{"_rels/.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>` +
			`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>` +
			`</Relationships>`},
		{"docProps/core.xml", xml.Header + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ` +
			`xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ` +
			`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>` + escapeAttr(x.meta.Title) + `</dc:title>` +
			`<dc:creator>ticks</dc:creator><cp:lastModifiedBy>ticks</cp:lastModifiedBy>` +
			`<dcterms:created xsi:type="dcterms:W3CDTF">` + created + `</dcterms:created>` +
			`<dcterms:modified xsi:type="dcterms:W3CDTF">` + created + `</dcterms:modified></cp:coreProperties>`},
		{"docProps/app.xml", xml.Header + `<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">` +
			`<Application>ticks</Application></Properties>`},
	}
	for _, p := range parts {
		f, err := x.zw.Create(p.name)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(f, p.body); err != nil {
			return err
		}
	}
	return x.zw.Close()
}

// xlsxStyles are the workbook's cell formats: 0 default, 1 title (bold, 14 pt), 2 label (bold), 3 count
// (#,##0, left-aligned), 4 column header (bold, blue fill, bottom border), 5 date-time (dateFormat, an
// Excel number format such as "dd/mm/yyyy hh:mm:ss").
func xlsxStyles(dateFormat string) string {
	return xml.Header + `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
		`<numFmts count="1"><numFmt numFmtId="164" formatCode="` + escapeAttr(dateFormat) + `"/></numFmts>` +
		`<fonts count="3"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>` +
		`<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>` +
		`<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font></fonts>` +
		`<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>` +
		`<fill><patternFill patternType="solid"><fgColor rgb="FFD9E1F2"/><bgColor indexed="64"/></patternFill></fill></fills>` +
		`<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>` +
		`<border><left/><right/><top/><bottom style="thin"><color rgb="FF8EA9DB"/></bottom><diagonal/></border></borders>` +
		`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
		`<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
		`<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>` +
		`<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>` +
		`<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyAlignment="1"><alignment horizontal="left"/></xf>` +
		`<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"/>` +
		`<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>` +
		`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`
}

// columnName is the letters of the i-th column (from 0): A … Z, AA ….
func columnName(i int) string {
	name := ""
	for i++; i > 0; i = (i - 1) / 26 {
		name = string(rune('A'+(i-1)%26)) + name
	}
	return name
}

// appendInlineText appends s as an inline string, <is><t>…</t></is>, XML-escaped: characters XML cannot
// carry (control characters but tab, line feed and carriage return; invalid UTF-8) become U+FFFD, a
// carriage return is written as a character reference so that it survives, text longer than Excel's
// cell limit is cut, and leading or trailing white space is kept with xml:space.
func appendInlineText(b []byte, s string) []byte {
	if utf8.RuneCountInString(s) > xlsxMaxCellChars {
		s = string([]rune(s)[:xlsxMaxCellChars])
	}
	b = append(b, `<is><t`...)
	if s != "" && (isXMLSpace(s[0]) || isXMLSpace(s[len(s)-1])) {
		b = append(b, ` xml:space="preserve"`...)
	}
	b = append(b, '>')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				b = append(b, "&amp;"...)
			case c == '<':
				b = append(b, "&lt;"...)
			case c == '>':
				b = append(b, "&gt;"...)
			case c == '\r':
				b = append(b, "&#xD;"...)
			case c < 0x20 && c != '\t' && c != '\n':
				b = append(b, "\uFFFD"...)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, `</t></is>`...)
}

// appendExcelSerial appends the Excel serial number of s, a wall-clock time in DateTimeLayout: the days
// since 1899-12-30 and the fraction of the day. It reports false, appending nothing, when s is not such a
// time, or is before 1900-03-01, where Excel counts a 29 February 1900 that never was.
func appendExcelSerial(b []byte, s string) ([]byte, bool) {
	if len(s) != len(DateTimeLayout) || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return b, false
	}
	year, ok1 := atoiFixed(s[0:4])
	month, ok2 := atoiFixed(s[5:7])
	day, ok3 := atoiFixed(s[8:10])
	hour, ok4 := atoiFixed(s[11:13])
	minute, ok5 := atoiFixed(s[14:16])
	second, ok6 := atoiFixed(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || second > 59 || year < 1900 || year == 1900 && month < 3 {
		return b, false
	}
	days := daysFromCivil(year, month, day) - daysFromCivil(1899, 12, 30)
	seconds := hour*3600 + minute*60 + second
	if seconds == 0 {
		return strconv.AppendInt(b, int64(days), 10), true
	}
	return strconv.AppendFloat(b, float64(days)+float64(seconds)/86400, 'f', -1, 64), true
}

// atoiFixed reads s, ASCII digits only.
func atoiFixed(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, true
}

// daysIn is the number of days of a month of the Gregorian calendar.
func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to a date of the proleptic Gregorian calendar
// (Howard Hinnant's days_from_civil).
func daysFromCivil(year, month, day int) int {
	if month <= 2 {
		year--
	}
	era := year / 400 // years here are positive
	yoe := year - era*400
	mp := (month + 9) % 12
	doy := (153*mp+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// escapeAttr escapes s for an XML attribute or element.
func escapeAttr(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
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
