package export

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// pdfPageObjects counts the page objects of a PDF (fpdf leaves them uncompressed).
var pdfPageObjects = regexp.MustCompile(`/Type\s*/Page[^s]`)

// writePDFBytes writes a PDF export, uncompressed so that its text can be searched.
func writePDFBytes(t *testing.T, cols []Column, meta Meta, rows Rows, maxRows int) ([]byte, int64, int) {
	t.Helper()
	defer func(old bool) { pdfCompress = old }(pdfCompress)
	pdfCompress = false
	var buf bytes.Buffer
	n, pages, err := writePDF(&buf, cols, meta, rows, maxRows)
	if err != nil {
		t.Fatalf("WritePDF: %v", err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) || !bytes.Contains(buf.Bytes()[buf.Len()-32:], []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q…", buf.Bytes()[:min(buf.Len(), 16)])
	}
	if got := len(pdfPageObjects.FindAll(buf.Bytes(), -1)); got != pages {
		t.Fatalf("%d page objects in the file, want %d", got, pages)
	}
	return buf.Bytes(), n, pages
}

// pdfShows reports whether an uncompressed PDF written with the UTF-8 fonts draws s as one text string:
// fpdf writes such strings as UTF-16BE between parentheses, with \, ( and ) escaped.
func pdfShows(pdf []byte, s string) bool {
	var enc []byte
	for _, u := range utf16.Encode([]rune(s)) {
		for _, b := range []byte{byte(u >> 8), byte(u)} {
			switch b {
			case '\\', '(', ')':
				enc = append(enc, '\\', b)
			case '\r':
				enc = append(enc, '\\', 'r')
			default:
				enc = append(enc, b)
			}
		}
	}
	return bytes.Contains(pdf, enc)
}

// pdfTextOp is one text-showing operator of fpdf's cells: BT x y Td (string)Tj ET.
var pdfTextOp = regexp.MustCompile(`BT [-0-9.]+ [-0-9.]+ Td \(((?:[^\\)]|\\.)*)\) ?Tj ET`)

// pdfStrings returns the strings an uncompressed PDF written with the UTF-8 fonts draws, in the order
// drawn: a cell's lines one after the other, a row's cells left to right.
func pdfStrings(pdf []byte) []string {
	var out []string
	for _, m := range pdfTextOp.FindAllSubmatch(pdf, -1) {
		var raw []byte
		for i := 0; i < len(m[1]); i++ {
			c := m[1][i]
			if c == '\\' && i+1 < len(m[1]) {
				i++
				c = m[1][i]
				if c == 'r' {
					c = '\r'
				}
			}
			raw = append(raw, c)
		}
		units := make([]uint16, len(raw)/2)
		for i := range units {
			units[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
		}
		out = append(out, string(utf16.Decode(units)))
	}
	return out
}

func TestWritePDF(t *testing.T) {
	const n = 120
	pdf, written, pages := writePDFBytes(t, reportColumns, testMeta(n), generatedRows(n), 0)
	if written != n {
		t.Errorf("WritePDF = %d rows, want %d", written, n)
	}
	// Rows of one line hold a date, a status, a phone; a message takes up to three lines.
	if pages < 4 || pages > 7 {
		t.Errorf("%d pages for %d rows, want 4 to 7 (about 20 rows a page)", pages, n)
	}
	for _, s := range []string{
		"Relatório Detalhado — Enviadas (MT)",
		"Período: ", "01/11/2026 – 07/11/2026", "Gerado em: ", "08/11/2026 14:30", "Total: ", "120",
		"Conceição São Paulo ação", // the note
		"Não entregue", "Conceição", "Sessão inválida",
		"Página 1 de " + strconv.Itoa(pages), "Página " + strconv.Itoa(pages) + " de " + strconv.Itoa(pages),
	} {
		if !pdfShows(pdf, s) {
			t.Errorf("the PDF does not show %q", s)
		}
	}
	// The column header row is on every page.
	if got := bytes.Count(pdf, utf16Bytes("Telefone")); got != pages {
		t.Errorf("column header drawn %d times, want once on each of %d pages", got, pages)
	}
	if pdfShows(pdf, "{nb}") || pdfShows(pdf, "Exibindo") || pdfShows(pdf, "Colunas vazias") {
		t.Error("page alias left in place, a cap note without a cap, or columns left out when none is empty")
	}
	// Nothing is cut: the short cells are whole on one line, and no cell ends with an ellipsis.
	shown := map[string]bool{}
	for _, s := range pdfStrings(pdf) {
		shown[s] = true
		if strings.Contains(s, pdfEllipsis) {
			t.Errorf("a cell is cut: %q", s)
		}
	}
	row := make([]string, 0, 12)
	for i := range n {
		row = reportRow(i, row)
		for _, j := range []int{0, 1, 2, 3, 9, 11} { // dates, status, phone, WhatsApp id, conversation id
			if !shown[row[j]] {
				t.Errorf("row %d: %q is not drawn whole", i, row[j])
			}
		}
	}
}

// Cells wrap: labels at spaces, words longer than their column inside the word; the row grows to its
// tallest cell, and nothing is lost.
func TestWritePDFWrapsCells(t *testing.T) {
	id := strings.Repeat("a1b2c3d4e5", 40) // 400 characters without a space: wider than any column
	reason := "131026 Message undeliverable: Unable to deliver message. Reasons can include: the recipient " +
		"phone number is not a WhatsApp phone number; the recipient has not accepted our new Terms of Service."
	cols := []Column{{Header: "ID da conversa"}, {Header: "Motivo"}, {Header: "Status"}}
	rows := [][]string{{id, reason, "Tempo de vida expirada (TTL)"}, {"c0a8", "", "Lida"}}
	pdf, _, pages := writePDFBytes(t, cols, Meta{Title: "t", Generated: time.Date(2026, 11, 8, 14, 30, 0, 0, time.UTC)},
		sliceRows(rows), 0)
	if pages != 1 {
		t.Errorf("%d pages, want 1", pages)
	}
	drawn := pdfStrings(pdf)
	// The title, the total and generated lines (label and value each), the three headers: then the cells.
	start := slices.Index(drawn, "Status") + 1
	if start == 0 {
		t.Fatalf("no header row in %q", drawn)
	}
	cells := drawn[start:]
	var idLines, reasonLines []string
	for len(cells) > 0 && strings.HasPrefix(id, strings.Join(idLines, "")+cells[0]) && len(strings.Join(idLines, "")) < len(id) {
		idLines, cells = append(idLines, cells[0]), cells[1:]
	}
	if strings.Join(idLines, "") != id || len(idLines) < 2 {
		t.Fatalf("the id is drawn as %q, want it broken over lines and whole", idLines)
	}
	for len(cells) > 0 && strings.HasPrefix(reason, strings.Join(append(reasonLines, cells[0]), " ")) {
		reasonLines, cells = append(reasonLines, cells[0]), cells[1:]
	}
	if strings.Join(reasonLines, " ") != reason || len(reasonLines) < 2 {
		t.Fatalf("the reason is drawn as %q, want it wrapped at spaces and whole", reasonLines)
	}
	for _, line := range reasonLines {
		if !strings.Contains(reason, " "+line+" ") && !strings.HasPrefix(reason, line+" ") && !strings.HasSuffix(reason, " "+line) {
			t.Errorf("reason line %q does not end at a space", line)
		}
	}
	if want := []string{"Tempo de vida expirada (TTL)", "c0a8", "Lida"}; !slices.Equal(cells[:min(3, len(cells))], want) {
		t.Errorf("then %q, want %q", cells, want)
	}
}

// Columns empty in every row are left out, named in the header; the others keep their order.
func TestWritePDFOmitsEmptyColumns(t *testing.T) {
	rows := make([][]string, 30)
	for i := range rows {
		rows[i] = reportRow(i, nil)
		rows[i][4], rows[i][5] = "", " " // Campanha, Usuário: nothing to show
	}
	rows[7][10] = "Business Initiated" // Tipo de conversa: one row has it
	for i := range rows {
		if i != 7 {
			rows[i][10] = ""
		}
	}
	pdf, _, _ := writePDFBytes(t, reportColumns, testMeta(30), sliceRows(rows), 0)
	drawn := pdfStrings(pdf)
	if !slices.Contains(drawn, "Colunas vazias omitidas: ") || !slices.Contains(drawn, "Campanha, Usuário") {
		t.Errorf("the header does not name the columns left out: %q", drawn[:12])
	}
	var headers []string
	for _, s := range drawn[slices.Index(drawn, "Enviado"):] {
		if s == reportRow(0, nil)[0] {
			break
		}
		headers = append(headers, s)
	}
	joined := strings.Join(headers, " ")
	if strings.Contains(joined, "Campanha") || strings.Contains(joined, "Usuário") {
		t.Errorf("an empty column's header is drawn: %q", headers)
	}
	want := []string{"Enviado", "Status", "Telefone", "WhatsApp", "Tipo", "Mensagem", "Enviado", "ID", "Tipo", "Data"}
	at := 0
	for _, w := range want {
		k := slices.IndexFunc(headers[at:], func(h string) bool { return strings.HasPrefix(h, w) })
		if k < 0 {
			t.Fatalf("headers %q: %q missing or out of the columns' order", headers, w)
		}
		at += k + 1
	}

	// Without rows every column is shown, and none is said to be left out.
	pdf, _, _ = writePDFBytes(t, reportColumns, testMeta(0), sliceRows(nil), 0)
	if pdfShows(pdf, "Colunas vazias") || !pdfShows(pdf, "Campanha") {
		t.Error("an export without rows leaves columns out")
	}
}

// utf16Bytes is s in UTF-16BE, as fpdf writes strings without parentheses or backslashes.
func utf16Bytes(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

func TestWritePDFCap(t *testing.T) {
	var emitted int
	rows := func(emit func([]string) error) error {
		row := make([]string, 0, 12)
		for i := range 123_456 {
			emitted++
			if err := emit(reportRow(i, row)); err != nil {
				return err
			}
		}
		return nil
	}
	pdf, written, pages := writePDFBytes(t, reportColumns, testMeta(123_456), rows, 50)
	if written != 50 {
		t.Errorf("WritePDF = %d rows, want the cap of 50", written)
	}
	if emitted != 51 {
		t.Errorf("the producer emitted %d rows, want it stopped after 51", emitted)
	}
	note := "Exibindo as primeiras 50 de 123.456 linhas. Exporte em CSV ou XLSX para ver todas."
	if got := bytes.Count(pdf, utf16Bytes(note)); got != 2 {
		t.Errorf("cap note shown %d times, want in the header and after the table", got)
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}

	// A caller's own note, and a producer that stops at the cap itself: the total tells.
	m := testMeta(5001)
	m.CapNote = func(shown, total int64) string {
		return "Exibindo as primeiras " + FormatCountPtBR(shown) + " de " + FormatCountPtBR(total) + " mensagens."
	}
	pdf, written, _ = writePDFBytes(t, reportColumns, m, pooledRows(MaxPDFRows), 0)
	if written != MaxPDFRows {
		t.Errorf("WritePDF = %d rows, want %d", written, MaxPDFRows)
	}
	if !pdfShows(pdf, "Exibindo as primeiras 5.000 de 5.001 mensagens.") {
		t.Error("the caller's cap note is missing")
	}

	// Under the cap: no note.
	pdf, _, _ = writePDFBytes(t, reportColumns, testMeta(10), generatedRows(10), 10)
	if pdfShows(pdf, "Exibindo") {
		t.Error("cap note without rows left out")
	}
}

func TestWritePDFLabelsAndGlyphs(t *testing.T) {
	m := Meta{
		Title: "Detailed report", Total: 2, Generated: time.Date(2026, 11, 8, 17, 30, 0, 0, time.UTC),
		PageLabel: "Page", OfLabel: "of", TotalLabel: "Total", GeneratedLabel: "Generated",
		FormatCount: func(n int64) string { return groupThousands(n, ',') },
	}
	cols := []Column{{Header: "Message"}, {Header: "Status"}}
	rows := [][]string{{"Obrigado 👍\nlinha 2", "Lida"}, {"", "Entregue"}}
	pdf, n, pages := writePDFBytes(t, cols, m, sliceRows(rows), 0)
	if n != 2 || pages != 1 {
		t.Errorf("n, pages = %d, %d; want 2, 1", n, pages)
	}
	for _, s := range []string{"Page 1 of 1", "Generated: ", "08/11/2026 17:30", "Obrigado □ linha 2"} {
		if !pdfShows(pdf, s) {
			t.Errorf("the PDF does not show %q", s)
		}
	}
	p := newPDFWriter(cols, m.withDefaults(), nil)
	for _, r := range "çãõéÉÇÁâêô…·□—–" {
		if !p.hasGlyph(r) {
			t.Errorf("the Go font lacks %q", r)
		}
	}
}

func TestWritePDFFit(t *testing.T) {
	p := newPDFWriter(reportColumns, Meta{}.withDefaults(), nil)
	p.pdf.SetFont(pdfFont, "", 7)
	for _, width := range []float64{3, 10, 25, 60} {
		s := p.fit("Mensagem muito longa que não cabe na coluna de jeito nenhum, ação e Conceição", width)
		if got := p.pdf.GetStringWidth(s); got > width-2*p.pdf.GetCellMargin()+1e-9 {
			t.Errorf("fit to %v mm gives %q, %v mm wide", width, s, got)
		}
		if s != "" && !strings.HasSuffix(s, "…") || s == "" && width > 5 {
			t.Errorf("fit to %v mm gives %q without an ellipsis", width, s)
		}
	}
	if got := p.fit("Lida", 30); got != "Lida" {
		t.Errorf("fit of a short text = %q", got)
	}
}

func TestWritePDFErrors(t *testing.T) {
	boom := errors.New("database gone")
	rows := func(emit func([]string) error) error { return boom }
	if _, err := WritePDF(&bytes.Buffer{}, reportColumns, testMeta(1), rows, 0); !errors.Is(err, boom) {
		t.Errorf("err = %v, want %v", err, boom)
	}
	if _, err := WritePDF(&errWriter{limit: 100}, reportColumns, testMeta(1), generatedRows(1), 0); !errors.Is(err, errDiskFull) {
		t.Errorf("err = %v, want %v", err, errDiskFull)
	}
}

// TestPDFText extracts the text with pdftotext (poppler-utils), an independent reader.
func TestPDFText(t *testing.T) {
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext is not on PATH: scripts/test-deps.sh installs it (Debian package poppler-utils)")
	}
	path := filepath.Join(t.TempDir(), "relatorio.pdf")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WritePDF(file, reportColumns, testMeta(123_456), generatedRows(123_456), 80); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, pdftotext, "-layout", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := string(out)
	for _, s := range []string{"Relatório Detalhado", "Não entregue", "ação", "Conceição", "São Paulo",
		"Exibindo as primeiras 80 de 123.456 linhas", "Página 1 de 4", "Página 4 de 4"} {
		if !strings.Contains(text, s) {
			t.Errorf("pdftotext output lacks %q", s)
		}
	}
	if pages := strings.Count(text, "\f"); pages != 4 {
		t.Errorf("pdftotext found %d pages, want 4", pages)
	}
}
