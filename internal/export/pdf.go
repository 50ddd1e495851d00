package export

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// MaxPDFRows is the default cap on the rows of a PDF: a PDF is built in memory and is read by people, so
// beyond this the export points to CSV and XLSX, which hold every row.
const MaxPDFRows = 5000

// pdfCompress compresses the page streams; tests turn it off to read the text back without a PDF tool.
var pdfCompress = true

// Page layout, in millimetres, of an A4 landscape page (297 × 210).
const (
	pdfMargin         = 10.0
	pdfTableBottom    = 196.0 // rows stop here, leaving room for the footer
	pdfFooterY        = -9.0  // the footer line, from the bottom edge
	pdfFontSize       = 7.0   // the rows' text, in points
	pdfCellLineHeight = 3.0   // one line of a cell
	pdfCellPadding    = 0.7   // above and below a row's lines
	pdfHeadFontSize   = 7.5
	pdfHeadLineHeight = 3.2
	pdfHeadPadding    = 1.2
	pdfLineHeight     = 4.2 // header block lines
	pdfFont           = "go"
	pdfEllipsis       = "…"
)

// Column sizing, in millimetres. A column asks for at least its widest word (ids longer than pdfWordCap
// may break inside, rather than take a third of the page), and at most its longest cell on one line up to
// pdfWantCap, past which text wraps.
const (
	pdfWordCap = 30.0
	pdfWantCap = 80.0
)

// WritePDF writes an A4 landscape PDF to w: a header (Meta.Title, the filters, the columns left out, the
// total, the generation time, Meta.Note), then a table of the rows whose column header row repeats on
// each page, and "Página N de M" in the footer. Cells wrap, at spaces and inside words longer than their
// column, and a row is as tall as its tallest cell: no cell is cut, unless a single row would not fit on
// a page. Columns are sized from their content, in the columns' order; columns without a value in any
// row are left out and named in the header.
//
// Sizing and leaving out need every row first, so the rows are held in memory: up to maxRows of them
// (MaxPDFRows when 0 or less), after which it stops reading and ends with Meta.CapNote, which also shows in
// the header when Meta.Total already says the cap will be hit. The document itself is built in memory
// too, and is written to w at the end; both are bounded by the cap. Text is set in the embedded Go fonts,
// so accents print; characters the font lacks (emoji) print as "□". It returns the number of rows
// written.
func WritePDF(w io.Writer, cols []Column, meta Meta, rows Rows, maxRows int) (int64, error) {
	n, _, err := writePDF(w, cols, meta, rows, maxRows)
	return n, err
}

// writePDF is WritePDF that also returns the page count, for tests.
func writePDF(w io.Writer, cols []Column, meta Meta, rows Rows, maxRows int) (int64, int, error) {
	if err := checkColumns(cols); err != nil {
		return 0, 0, err
	}
	if maxRows <= 0 {
		maxRows = MaxPDFRows
	}
	var held [][]string
	var more bool // the producer had rows beyond the cap
	var writeErr error
	emit := func(row []string) error {
		if err := checkRow(row, cols, int64(len(held))); err != nil {
			writeErr = err
			return err
		}
		if len(held) >= maxRows {
			more = true
			return errStop
		}
		held = append(held, slices.Clone(row))
		return nil
	}
	if err := produce(rows, emit, &writeErr); err != nil {
		return int64(len(held)), 0, err
	}

	p := newPDFWriter(cols, meta.withDefaults(), held)
	p.titleBlock(int64(maxRows))
	p.tableHeader()
	p.inTable = true
	for i, row := range held {
		p.row(row)
		if err := p.pdf.Error(); err != nil {
			return int64(i), 0, fmt.Errorf("export pdf: row %d: %w", i+1, err)
		}
		held[i] = nil // drawn: its text now lives in the page
	}
	n := int64(len(held))
	if more || (n >= int64(maxRows) && p.meta.Total > n) {
		p.capNote(n)
	}
	pages := p.pdf.PageCount()
	if err := p.pdf.Output(w); err != nil {
		return n, pages, fmt.Errorf("export pdf: %w", err)
	}
	return n, pages, nil
}

// pdfWriter draws one document.
type pdfWriter struct {
	pdf       *fpdf.Fpdf
	meta      Meta
	shown     []int      // the indexes of the columns drawn, in order
	omitted   []string   // the headers of the columns left out
	widths    []float64  // the drawn columns' widths in mm
	inTable   bool       // new pages start with the column header row
	zebra     bool       // shade the next row
	headers   [][]string // the drawn columns' headers, wrapped
	headLines int        // lines of the tallest header
	maxLines  int        // the most lines a row may have: what fits on a page under the header row
	lines     [][]string // the current row's cells, wrapped (reused)
	glyphs    *sfnt.Buffer
}

// newPDFWriter sets up the page, the fonts and the footer, makes the cells of rows printable (in place),
// picks the columns to show and sizes them.
func newPDFWriter(cols []Column, m Meta, rows [][]string) *pdfWriter {
	pdf := fpdf.New("L", "mm", "A4", "")
	p := &pdfWriter{pdf: pdf, meta: m, glyphs: &sfnt.Buffer{}}
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetAutoPageBreak(false, 0) // rows break pages themselves, never in the middle of a row
	pdf.SetCompression(pdfCompress)
	pdf.AddUTF8FontFromBytes(pdfFont, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(pdfFont, "B", gobold.TTF)
	pdf.AliasNbPages("{nb}")
	pdf.SetTitle(m.Title, true)
	pdf.SetCreator("ticks", true)
	pdf.SetCreationDate(m.Generated)
	pdf.SetModificationDate(m.Generated)
	pdf.SetCatalogSort(true)
	pdf.SetHeaderFunc(func() {
		if p.inTable {
			p.tableHeader()
		}
	})
	pdf.SetFooterFunc(p.footer)

	filled := make([]bool, len(cols))
	for _, row := range rows {
		for i, cell := range row {
			row[i] = p.text(cell)
			filled[i] = filled[i] || strings.TrimSpace(row[i]) != ""
		}
	}
	for i, c := range cols {
		if filled[i] || len(rows) == 0 { // without rows, the header row shows what the columns would be
			p.shown = append(p.shown, i)
		} else {
			p.omitted = append(p.omitted, c.Header)
		}
	}
	headers := make([]string, len(p.shown))
	for j, i := range p.shown {
		headers[j] = p.text(cols[i].Header)
	}
	p.sizeColumns(headers, rows)
	p.wrapHeaders(headers)
	p.lines = make([][]string, len(p.shown))
	headHeight := pdfHeadPadding*2 + float64(p.headLines)*pdfHeadLineHeight
	p.maxLines = max(1, int((pdfTableBottom-pdfMargin-headHeight-2*pdfCellPadding)/pdfCellLineHeight))
	pdf.AddPage()
	return p
}

// sizeColumns sets the widths of the shown columns from their headers and cells. Each column needs its
// widest word (header or cell, cells' capped at pdfWordCap) and wants its longest cell on one line (capped
// at pdfWantCap). When the wants fit the page, every column gets what it wants and the columns that still
// wrap share the rest; otherwise every column gets what it needs and the rest is poured evenly into the
// columns that want more, so that short columns (a status, a phone) fill up to one line before long text
// gets wider. When even the needs do not fit, they shrink in proportion and long words break.
func (p *pdfWriter) sizeColumns(headers []string, rows [][]string) {
	pdf := p.pdf
	pageWidth, _ := pdf.GetPageSize()
	usable := pageWidth - 2*pdfMargin
	padding := 2*pdf.GetCellMargin() + 0.05 // the cell's margins, and a little for rounding in SplitText
	n := len(p.shown)
	need, want, longest := make([]float64, n), make([]float64, n), make([]float64, n)
	pdf.SetFont(pdfFont, "B", pdfHeadFontSize)
	for j, h := range headers {
		need[j] = p.widestWord(h)
	}
	pdf.SetFont(pdfFont, "", pdfFontSize)
	for j, i := range p.shown {
		var word float64
		for _, row := range rows {
			longest[j] = max(longest[j], pdf.GetStringWidth(row[i]))
			word = max(word, p.widestWord(row[i]))
		}
		need[j] = max(need[j], min(word, pdfWordCap)) + padding
		longest[j] += padding
		want[j] = max(need[j], min(longest[j], pdfWantCap))
	}
	var sumNeed, sumWant float64
	for j := range n {
		sumNeed += need[j]
		sumWant += want[j]
	}
	p.widths = make([]float64, n)
	switch {
	case sumNeed >= usable:
		for j := range n {
			p.widths[j] = need[j] * usable / sumNeed
		}
	case sumWant <= usable:
		// Spare room goes to the columns that still wrap, by how much more they would take; or to every
		// column, by its width, when none does.
		var wrapping, total float64
		for j := range n {
			wrapping += max(0, longest[j]-want[j])
			total += want[j]
		}
		for j := range n {
			share := want[j] / total
			if wrapping > 0 {
				share = max(0, longest[j]-want[j]) / wrapping
			}
			p.widths[j] = want[j] + (usable-sumWant)*share
		}
	default:
		level := waterLevel(need, want, usable-sumNeed)
		for j := range n {
			p.widths[j] = need[j] + min(want[j]-need[j], level)
		}
	}
}

// waterLevel is the most that every column may grow past its need, at most up to its want, for the growth
// to add up to room.
func waterLevel(need, want []float64, room float64) float64 {
	gaps := make([]float64, 0, len(need))
	for j := range need {
		if gap := want[j] - need[j]; gap > 0 {
			gaps = append(gaps, gap)
		}
	}
	slices.Sort(gaps)
	for k, gap := range gaps {
		left := float64(len(gaps) - k)
		if gap*left > room {
			return room / left
		}
		room -= gap
	}
	return room // every column got what it wants (cannot happen: the wants do not fit)
}

// widestWord is the width of the widest space-separated word of s in the current font.
func (p *pdfWriter) widestWord(s string) float64 {
	var widest float64
	for s != "" {
		word, rest, _ := strings.Cut(s, " ")
		if word != "" {
			widest = max(widest, p.pdf.GetStringWidth(word))
		}
		s = rest
	}
	return widest
}

// titleBlock draws the title, the filters, the columns left out, the total, the generation time, the
// note and, when the total already exceeds the cap, the cap note.
func (p *pdfWriter) titleBlock(maxRows int64) {
	pdf, m := p.pdf, p.meta
	if m.Title != "" {
		pdf.SetFont(pdfFont, "B", 13)
		pdf.MultiCell(0, 6, p.text(m.Title), "", "L", false)
		pdf.Ln(1.5)
	}
	pdf.SetFont(pdfFont, "", 8.5)
	for _, kv := range m.Filters {
		p.labelled(kv[0], kv[1])
	}
	if len(p.omitted) > 0 {
		p.labelled(m.OmittedLabel, strings.Join(p.omitted, ", "))
	}
	p.labelled(m.TotalLabel, m.FormatCount(m.Total))
	p.labelled(m.GeneratedLabel, m.generatedText())
	if m.Note != "" {
		pdf.SetTextColor(90, 90, 90)
		pdf.MultiCell(0, pdfLineHeight, p.text(m.Note), "", "L", false)
		pdf.SetTextColor(0, 0, 0)
	}
	if m.Total > maxRows {
		pdf.SetFont(pdfFont, "B", 8.5)
		pdf.SetTextColor(156, 87, 0)
		pdf.MultiCell(0, pdfLineHeight, p.text(m.CapNote(maxRows, m.Total)), "", "L", false)
		pdf.SetTextColor(0, 0, 0)
	}
	pdf.Ln(3)
}

// labelled writes "label: value", the label in bold, wrapping at the right margin.
func (p *pdfWriter) labelled(label, value string) {
	pdf := p.pdf
	pdf.SetFont(pdfFont, "B", 8.5)
	pdf.Write(pdfLineHeight, p.text(label)+": ")
	pdf.SetFont(pdfFont, "", 8.5)
	pdf.Write(pdfLineHeight, p.text(value))
	pdf.Ln(pdfLineHeight)
}

// tableHeader draws the column header row.
func (p *pdfWriter) tableHeader() {
	pdf := p.pdf
	pdf.SetFont(pdfFont, "B", pdfHeadFontSize)
	pdf.SetFillColor(217, 225, 242)
	pdf.SetDrawColor(142, 169, 219)
	height := pdfHeadPadding*2 + float64(p.headLines)*pdfHeadLineHeight
	x, y := pdfMargin, pdf.GetY()
	for j, lines := range p.headers {
		pdf.Rect(x, y, p.widths[j], height, "F")
		for k, line := range lines {
			pdf.SetXY(x, y+pdfHeadPadding+float64(k)*pdfHeadLineHeight)
			pdf.CellFormat(p.widths[j], pdfHeadLineHeight, line, "", 0, "L", false, 0, "")
		}
		x += p.widths[j]
	}
	pdf.Line(pdfMargin, y+height, x, y+height)
	pdf.SetXY(pdfMargin, y+height)
	p.zebra = false
}

// wrapHeaders splits each shown column's header into the lines that fit its column, at spaces.
func (p *pdfWriter) wrapHeaders(headers []string) {
	p.pdf.SetFont(pdfFont, "B", pdfHeadFontSize)
	p.headers = make([][]string, len(headers))
	p.headLines = 1
	for j, h := range headers {
		lines := p.pdf.SplitText(h, p.widths[j])
		if len(lines) == 0 {
			lines = []string{""}
		}
		p.headers[j] = lines
		p.headLines = max(p.headLines, len(lines))
	}
}

// row draws one row, as tall as its tallest cell, on a new page when it does not fit on this one.
func (p *pdfWriter) row(cells []string) {
	pdf := p.pdf
	pdf.SetFont(pdfFont, "", pdfFontSize)
	height := 1
	room := pdf.GetCellMargin() * 2
	for j, i := range p.shown {
		switch cell := cells[i]; {
		case cell == "":
			p.lines[j] = p.lines[j][:0]
		case pdf.GetStringWidth(cell) <= p.widths[j]-room: // most cells: no need to split
			p.lines[j] = append(p.lines[j][:0], cell)
		default:
			p.lines[j] = pdf.SplitText(cell, p.widths[j])
		}
		if len(p.lines[j]) > p.maxLines {
			// Taller than a page: the only cut, marked.
			p.lines[j] = p.lines[j][:p.maxLines]
			p.lines[j][p.maxLines-1] = p.fit(p.lines[j][p.maxLines-1]+" "+pdfEllipsis, p.widths[j])
		}
		height = max(height, len(p.lines[j]))
	}
	h := float64(height)*pdfCellLineHeight + 2*pdfCellPadding
	if pdf.GetY()+h > pdfTableBottom {
		pdf.AddPage()
	}
	x, y := pdfMargin, pdf.GetY()
	if p.zebra {
		pdf.SetFillColor(244, 246, 250)
		var width float64
		for _, w := range p.widths {
			width += w
		}
		pdf.Rect(x, y, width, h, "F")
	}
	for j, lines := range p.lines {
		for k, line := range lines {
			pdf.SetXY(x, y+pdfCellPadding+float64(k)*pdfCellLineHeight)
			pdf.CellFormat(p.widths[j], pdfCellLineHeight, line, "", 0, "L", false, 0, "")
		}
		x += p.widths[j]
	}
	pdf.SetXY(pdfMargin, y+h)
	p.zebra = !p.zebra
}

// capNote ends the table with the note saying rows were left out.
func (p *pdfWriter) capNote(shown int64) {
	pdf := p.pdf
	if pdf.GetY()+12 > pdfTableBottom {
		p.inTable = false // a page holding only the note needs no column header
		pdf.AddPage()
	}
	pdf.Ln(3)
	pdf.SetFont(pdfFont, "B", 9)
	pdf.SetFillColor(255, 243, 205)
	pdf.MultiCell(0, 6, p.text(p.meta.CapNote(shown, p.meta.Total)), "1", "L", true)
}

// footer draws the title, the generation time and "Página N de {nb}" at the bottom of each page.
func (p *pdfWriter) footer() {
	pdf, m := p.pdf, p.meta
	pageWidth, _ := pdf.GetPageSize()
	usable := pageWidth - 2*pdfMargin
	pdf.SetY(pdfFooterY)
	pdf.SetX(pdfMargin)
	pdf.SetFont(pdfFont, "", 7)
	pdf.SetTextColor(110, 110, 110)
	left := m.generatedText()
	if m.Title != "" {
		left = m.Title + " · " + left
	}
	pdf.CellFormat(usable*0.75, 4, p.fit(p.text(left), usable*0.75), "", 0, "L", false, 0, "")
	page := fmt.Sprintf("%s %d %s {nb}", m.PageLabel, pdf.PageNo(), m.OfLabel)
	pdf.CellFormat(usable*0.25, 4, p.text(page), "", 0, "R", false, 0, "")
	pdf.SetTextColor(0, 0, 0)
}

// fit truncates s with "…" so that it fits a cell of the given width in the current font.
func (p *pdfWriter) fit(s string, width float64) string {
	pdf := p.pdf
	room := width - 2*pdf.GetCellMargin()
	if pdf.GetStringWidth(s) <= room {
		return s
	}
	room -= pdf.GetStringWidth(pdfEllipsis)
	if room < 0 {
		return ""
	}
	var used float64
	for i, r := range s {
		used += pdf.GetStringWidth(string(r))
		if used > room {
			return strings.TrimRight(s[:i], " ") + pdfEllipsis
		}
	}
	return s
}

// goFont is the parsed regular Go font, to know which characters it can draw.
var goFont = sync.OnceValue(func() *sfnt.Font {
	f, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		panic("export: parse Go font: " + err.Error()) // the font is compiled in: cannot happen
	}
	return f
})

// pdfMissingGlyph stands for a character the font cannot draw.
const pdfMissingGlyph = '□'

// text makes s printable on one line: control characters become spaces and characters the font lacks
// (emoji, most scripts beyond Latin, Greek and Cyrillic) become "□".
func (p *pdfWriter) text(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			b.WriteByte(' ')
		case r < 0x7f:
			b.WriteRune(r)
		case r == utf8.RuneError || r > 0xffff || !p.hasGlyph(r):
			b.WriteRune(pdfMissingGlyph)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hasGlyph reports whether the Go font draws r.
func (p *pdfWriter) hasGlyph(r rune) bool {
	g, err := goFont().GlyphIndex(p.glyphs, r)
	return err == nil && g != 0
}
