package export

import (
	"fmt"
	"io"
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
	pdfRowHeight      = 4.6
	pdfHeadFontSize   = 7.5
	pdfHeadLineHeight = 3.2
	pdfHeadPadding    = 1.2
	pdfHeadMaxLines   = 3
	pdfLineHeight     = 4.2 // header block lines
	pdfFont           = "go"
	pdfEllipsis       = "…"
)

// WritePDF writes an A4 landscape PDF to w: a header (Meta.Title, the filters, the total, the generation
// time, Meta.Note), then a table of the rows whose column header row repeats on each page, each cell
// truncated with "…" to its column (widths relative to Column.Width), and "Página N de M" in the footer.
// After maxRows rows (MaxPDFRows when 0 or less) it stops reading rows and ends with Meta.CapNote, which
// also shows in the header when Meta.Total already says the cap will be hit. Text is set in the embedded
// Go fonts, so accents print; characters the font lacks (emoji) print as "□". The document is built in
// memory, bounded by the cap, and written to w at the end. It returns the number of rows written.
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
	p := newPDFWriter(cols, meta.withDefaults())
	p.titleBlock(int64(maxRows))
	p.tableHeader()
	p.inTable = true

	var n int64
	var more bool // the producer had rows beyond the cap
	var writeErr error
	emit := func(row []string) error {
		if err := checkRow(row, cols, n); err != nil {
			writeErr = err
			return err
		}
		if n >= int64(maxRows) {
			more = true
			return errStop
		}
		p.row(row)
		n++
		if err := p.pdf.Error(); err != nil {
			writeErr = fmt.Errorf("export pdf: row %d: %w", n, err)
			return writeErr
		}
		return nil
	}
	if err := produce(rows, emit, &writeErr); err != nil {
		return n, 0, err
	}
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
	cols      []Column
	meta      Meta
	widths    []float64  // column widths in mm
	inTable   bool       // new pages start with the column header row
	zebra     bool       // shade the next row
	headers   [][]string // the column headers, wrapped
	headLines int        // lines of the tallest header
	glyphs    *sfnt.Buffer
}

// newPDFWriter sets up the page, the fonts and the footer.
func newPDFWriter(cols []Column, m Meta) *pdfWriter {
	pdf := fpdf.New("L", "mm", "A4", "")
	p := &pdfWriter{pdf: pdf, cols: cols, meta: m, glyphs: &sfnt.Buffer{}}
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

	pageWidth, _ := pdf.GetPageSize()
	usable := pageWidth - 2*pdfMargin
	var sum float64
	for _, c := range cols {
		sum += relativeWidth(c)
	}
	p.widths = make([]float64, len(cols))
	for i, c := range cols {
		p.widths[i] = usable * relativeWidth(c) / sum
	}
	p.wrapHeaders()
	pdf.AddPage()
	return p
}

// relativeWidth is c.Width, with 1 for unset.
func relativeWidth(c Column) float64 {
	if c.Width <= 0 {
		return 1
	}
	return c.Width
}

// titleBlock draws the title, the filters, the total, the generation time, the note and, when the total
// already exceeds the cap, the cap note.
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

// labelled writes "label: value" on its own line, the label in bold.
func (p *pdfWriter) labelled(label, value string) {
	pdf := p.pdf
	pdf.SetFont(pdfFont, "B", 8.5)
	pdf.Write(pdfLineHeight, p.text(label)+": ")
	pdf.SetFont(pdfFont, "", 8.5)
	pdf.Write(pdfLineHeight, p.text(value))
	pdf.Ln(pdfLineHeight)
}

// tableHeader draws the column header row, each header wrapped on up to pdfHeadMaxLines lines.
func (p *pdfWriter) tableHeader() {
	pdf := p.pdf
	pdf.SetFont(pdfFont, "B", pdfHeadFontSize)
	pdf.SetFillColor(217, 225, 242)
	pdf.SetDrawColor(142, 169, 219)
	height := pdfHeadPadding*2 + float64(p.headLines)*pdfHeadLineHeight
	x, y := pdfMargin, pdf.GetY()
	for i, lines := range p.headers {
		pdf.Rect(x, y, p.widths[i], height, "F")
		for k, line := range lines {
			pdf.SetXY(x, y+pdfHeadPadding+float64(k)*pdfHeadLineHeight)
			pdf.CellFormat(p.widths[i], pdfHeadLineHeight, line, "", 0, "L", false, 0, "")
		}
		x += p.widths[i]
	}
	pdf.Line(pdfMargin, y+height, x, y+height)
	pdf.SetXY(pdfMargin, y+height)
	p.zebra = false
}

// wrapHeaders splits each column header into at most pdfHeadMaxLines lines that fit its column.
func (p *pdfWriter) wrapHeaders() {
	pdf := p.pdf
	pdf.SetFont(pdfFont, "B", pdfHeadFontSize)
	p.headers = make([][]string, len(p.cols))
	p.headLines = 1
	for i, c := range p.cols {
		text := p.text(c.Header)
		lines := pdf.SplitText(text, p.widths[i])
		switch {
		case text == "" || len(lines) == 0:
			lines = []string{""}
		case len(lines) > pdfHeadMaxLines:
			last := p.fit(strings.Join(lines[pdfHeadMaxLines-1:], " "), p.widths[i])
			lines = append(lines[:pdfHeadMaxLines-1], last)
		}
		p.headers[i] = lines
		p.headLines = max(p.headLines, len(lines))
	}
}

// row draws one row, on a new page when this one is full.
func (p *pdfWriter) row(cells []string) {
	pdf := p.pdf
	if pdf.GetY()+pdfRowHeight > pdfTableBottom {
		pdf.AddPage()
	}
	pdf.SetFont(pdfFont, "", 7)
	pdf.SetFillColor(244, 246, 250)
	pdf.SetX(pdfMargin)
	for i, cell := range cells {
		pdf.CellFormat(p.widths[i], pdfRowHeight, p.fit(p.text(cell), p.widths[i]), "", 0, "L", p.zebra, 0, "")
	}
	pdf.Ln(pdfRowHeight)
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
