package export

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// writeXLSXFile writes an XLSX export to a temporary file and opens it with excelize.
func writeXLSXFile(t *testing.T, cols []Column, meta Meta, rows Rows) (*excelize.File, string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "relatorio.xlsx")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := WriteXLSX(file, cols, meta, rows)
	if err != nil {
		t.Fatalf("WriteXLSX: %v", err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open the XLSX back: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path, n
}

// cell reads one cell or fails.
func cell(t *testing.T, f *excelize.File, sheet, ref string) string {
	t.Helper()
	v, err := f.GetCellValue(sheet, ref)
	if err != nil {
		t.Fatalf("read %s!%s: %v", sheet, ref, err)
	}
	return v
}

// headerRow is the row of the column headers on the first sheet of an export made with testMeta:
// title, 3 filters, total, generated, note, blank.
const headerRow = 9

func TestWriteXLSX(t *testing.T) {
	const n = 500
	// Dates come in DateTimeLayout and read back in the pt-BR number format, as the report shows them.
	f, _, written := writeXLSXFile(t, reportColumns, testMeta(123456), generatedRowsDated(n, DateTimeLayout))
	if written != n {
		t.Errorf("WriteXLSX = %d rows, want %d", written, n)
	}
	if got := f.GetSheetList(); len(got) != 1 || got[0] != "Dados" {
		t.Fatalf("sheets = %q, want [Dados]", got)
	}
	// The header block.
	for ref, want := range map[string]string{
		"A1": "Relatório Detalhado — Enviadas (MT)",
		"A2": "Período", "B2": "01/11/2026 – 07/11/2026",
		"A3": "Status", "B3": "Não entregue, Entregue",
		"A4": "Campanha", "B4": "Black Friday ação",
		"A5": "Total",
		"A6": "Gerado em", "B6": "08/11/2026 14:30",
		"A7": "Conceição São Paulo ação",
		"A8": "",
		"A9": "Enviado", "H9": "Mensagem enviada", "L9": "Data de expiração da conversa",
	} {
		if got := cell(t, f, "Dados", ref); got != want {
			t.Errorf("%s = %q, want %q", ref, got, want)
		}
	}
	if typ, _ := f.GetCellType("Dados", "B5"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("total cell type = %v, want a number", typ)
	}
	if raw, _ := f.GetCellValue("Dados", "B5", excelize.Options{RawCellValue: true}); raw != "123456" {
		t.Errorf("total = %q, want 123456", raw)
	}
	style, _ := f.GetCellStyle("Dados", "A9")
	if s, err := f.GetStyle(style); err != nil || s.Font == nil || !s.Font.Bold {
		t.Errorf("column header style is not bold: %+v %v", s, err)
	}
	// The rows.
	rows, err := f.GetRows("Dados")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != headerRow+n {
		t.Fatalf("%d rows on the sheet, want %d", len(rows), headerRow+n)
	}
	row := make([]string, 0, 12)
	for i := range n {
		row = reportRow(i, row)
		for j, want := range row {
			if got := rows[headerRow+i][j]; got != NeutralizeFormula(want) {
				t.Fatalf("row %d cell %d = %q, want %q", i, j, got, NeutralizeFormula(want))
			}
		}
	}
	if got := rows[headerRow+3][4]; got != `'=HYPERLINK("http://x")` {
		t.Errorf("formula-like campaign = %q, want it quoted", got)
	}
	// Columns are sized, within bounds.
	for _, col := range []string{"A", "H", "L"} {
		w, err := f.GetColWidth("Dados", col)
		if err != nil || w < xlsxMinWidth || w > xlsxMaxWidth {
			t.Errorf("column %s width = %v, %v", col, w, err)
		}
	}
	if w, _ := f.GetColWidth("Dados", "H"); w <= 40 {
		t.Errorf("message column width = %v, want it sized to the messages", w)
	}
	// The panes are frozen under the column header.
	panes, err := f.GetPanes("Dados")
	if err != nil || !panes.Freeze || panes.YSplit != headerRow {
		t.Errorf("panes = %+v, %v; want frozen at row %d", panes, err, headerRow)
	}
}

func TestWriteXLSXSplitsSheets(t *testing.T) {
	defer func(old int) { MaxXLSXSheetRows = old }(MaxXLSXSheetRows)
	MaxXLSXSheetRows = 100
	// 91 data rows fit under the 9 header rows of the first sheet, 99 under the header row of each next.
	const n = 91 + 99 + 99 + 10
	f, _, written := writeXLSXFile(t, reportColumns, testMeta(n), generatedRowsDated(n, DateTimeLayout))
	if written != n {
		t.Errorf("WriteXLSX = %d rows, want %d", written, n)
	}
	want := []string{"Dados", "Dados 2", "Dados 3", "Dados 4"}
	if got := f.GetSheetList(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sheets = %q, want %q", got, want)
	}
	next := 0 // the next row index expected
	row := make([]string, 0, 12)
	for s, sheet := range want {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		first := 1
		if s == 0 {
			first = headerRow
		}
		if len(rows) > MaxXLSXSheetRows {
			t.Errorf("%s has %d rows, over the limit of %d", sheet, len(rows), MaxXLSXSheetRows)
		}
		if rows[first-1][0] != "Enviado" || rows[first-1][11] != "Data de expiração da conversa" {
			t.Errorf("%s row %d = %q, want the column header", sheet, first, rows[first-1])
		}
		for _, got := range rows[first:] {
			row = reportRow(next, row)
			if got[0] != row[0] || got[7] != row[7] {
				t.Fatalf("%s: row %d = %q, want %q", sheet, next, got, row)
			}
			next++
		}
	}
	if next != n {
		t.Errorf("read %d data rows back, want %d", next, n)
	}
	if rows, _ := f.GetRows("Dados 4"); len(rows) != 11 {
		t.Errorf("last sheet has %d rows, want header + 10", len(rows))
	}
}

func TestWriteXLSXSplitsLargeSheets(t *testing.T) {
	defer func(old int64) { maxSheetXMLBytes = old }(maxSheetXMLBytes)
	maxSheetXMLBytes = 64 << 10
	const n = 300
	f, _, _ := writeXLSXFile(t, reportColumns, testMeta(n), generatedRows(n))
	sheets := f.GetSheetList()
	if len(sheets) < 3 {
		t.Fatalf("sheets = %q, want the rows spread by size", sheets)
	}
	var total int
	for i, sheet := range sheets {
		rows, _ := f.GetRows(sheet)
		if i == 0 {
			total += len(rows) - headerRow
		} else {
			total += len(rows) - 1
		}
	}
	if total != n {
		t.Errorf("%d data rows over %d sheets, want %d", total, len(sheets), n)
	}
}

func TestWriteXLSXAccentsAndFewRows(t *testing.T) {
	cols := []Column{{Header: "Usuário"}, {Header: "Cidade"}, {Header: "Mensagem"}}
	rows := [][]string{
		{"Conceição", "São Paulo", "ação"},
		{"@cmd", "+5511987654321", "-2+3"},
		{"texto com <xml> & \"aspas\"", "", "emoji 👍 e controle \x01"},
	}
	m := Meta{Title: "Relatório", Generated: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), SheetName: "Messages",
		TotalLabel: "Total", GeneratedLabel: "Generated", Total: 3}
	f, _, n := writeXLSXFile(t, cols, m, sliceRows(rows))
	if n != 3 {
		t.Errorf("n = %d", n)
	}
	got, err := f.GetRows("Messages")
	if err != nil {
		t.Fatal(err)
	}
	// title, total, generated, blank, header.
	if len(got) != 5+3 {
		t.Fatalf("rows = %q", got)
	}
	if got[2][0] != "Generated" || got[2][1] != "02/01/2026 03:04" {
		t.Errorf("generated row = %q", got[2])
	}
	want := [][]string{
		{"Conceição", "São Paulo", "ação"},
		{"'@cmd", "+5511987654321", "'-2+3"},
		{"texto com <xml> & \"aspas\"", "", "emoji 👍 e controle \uFFFD"},
	}
	for i := range want {
		if strings.Join(got[5+i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, got[5+i], want[i])
		}
	}
}

func TestWriteXLSXEmpty(t *testing.T) {
	f, _, n := writeXLSXFile(t, reportColumns, testMeta(0), sliceRows(nil))
	if n != 0 {
		t.Errorf("n = %d", n)
	}
	rows, _ := f.GetRows("Dados")
	if len(rows) != headerRow || rows[headerRow-1][0] != "Enviado" {
		t.Errorf("rows = %q, want the header block and the column header", rows)
	}
}

func TestWriteXLSXErrors(t *testing.T) {
	t.Run("producer error writes nothing", func(t *testing.T) {
		boom := errors.New("database gone")
		rows := func(emit func([]string) error) error {
			for i := range 500 {
				if err := emit(reportRow(i, nil)); err != nil {
					return err
				}
			}
			return boom
		}
		var buf bytes.Buffer
		_, err := WriteXLSX(&buf, reportColumns, testMeta(1), rows)
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want %v", err, boom)
		}
		if buf.Len() != 0 {
			t.Errorf("%d bytes written despite the error", buf.Len())
		}
	})
	t.Run("writer error", func(t *testing.T) {
		_, err := WriteXLSX(&errWriter{limit: 4096}, reportColumns, testMeta(1), generatedRows(5000))
		if !errors.Is(err, errDiskFull) {
			t.Errorf("err = %v, want %v", err, errDiskFull)
		}
	})
	t.Run("row width", func(t *testing.T) {
		_, err := WriteXLSX(&bytes.Buffer{}, reportColumns, testMeta(1), sliceRows([][]string{{"a"}}))
		if err == nil || !strings.Contains(err.Error(), "has 1 cells, want 12") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no temporary files left", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("TMPDIR", dir)
		if _, err := WriteXLSX(&bytes.Buffer{}, reportColumns, testMeta(1), pooledRows(60_000)); err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("temporary files left behind: %v", left)
		}
	})
}

// TestXLSXLibreOffice converts the workbook to CSV with LibreOffice, an independent reader
// (about 5 s, most of it LibreOffice starting with a fresh profile).
func TestXLSXLibreOffice(t *testing.T) {
	office, err := exec.LookPath("soffice")
	if err != nil {
		office, err = exec.LookPath("libreoffice")
	}
	if err != nil {
		t.Fatal("neither soffice nor libreoffice is on PATH: scripts/test-deps.sh installs LibreOffice Calc")
	}
	_, path, _ := writeXLSXFile(t, reportColumns, testMeta(50), generatedRowsDated(50, DateTimeLayout))
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, office, "-env:UserInstallation=file://"+filepath.Join(out, "profile"),
		"--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", out, path)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", office, err, msg)
	}
	data, err := os.ReadFile(filepath.Join(out, "relatorio.csv"))
	if err != nil {
		t.Fatal(err)
	}
	records, err := csvRecords(data)
	if err != nil {
		t.Fatalf("parse LibreOffice's CSV: %v\n%s", err, data)
	}
	if records[0][0] != "Relatório Detalhado — Enviadas (MT)" {
		t.Errorf("A1 = %q", records[0][0])
	}
	if records[headerRow-1][7] != "Mensagem enviada" {
		t.Errorf("H%d = %q", headerRow, records[headerRow-1][7])
	}
	want := reportRow(1, nil) // the dates as the pt-BR number format shows them
	if got := records[headerRow+1]; got[0] != want[0] || got[5] != want[5] || got[7] != want[7] || got[11] != want[11] {
		t.Errorf("second data row = %q, want %q", got, want)
	}
	if total := records[4][1]; strings.ReplaceAll(strings.ReplaceAll(total, ".", ""), ",", "") != strconv.Itoa(50) {
		t.Errorf("total = %q", total)
	}
}

// csvRecords parses CSV that may have rows of different widths.
func csvRecords(data []byte) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(utf8BOM))))
	r.FieldsPerRecord = -1
	return r.ReadAll()
}

// Text XML cannot carry as is comes back as close as a spreadsheet allows: markup characters and white
// space intact, control characters and invalid UTF-8 replaced, over-long text cut at Excel's limit.
func TestWriteXLSXAwkwardText(t *testing.T) {
	long := strings.Repeat("é", xlsxMaxCellChars+10)
	cases := [][2]string{ // written, read back
		{"a & b < c > d \"e\" 'f'", "a & b < c > d \"e\" 'f'"},
		{"  padded\t", "  padded\t"},
		{"line\r\nbreak\nend", "line\r\nbreak\nend"},
		{"bell\x07 and nul\x00", "bell\uFFFD and nul\uFFFD"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{long, long[:2*xlsxMaxCellChars]},
	}
	cols := []Column{{Header: "texto"}}
	var rows [][]string
	for _, c := range cases {
		rows = append(rows, []string{c[0]})
	}
	f, _, _ := writeXLSXFile(t, cols, Meta{Title: "t", Generated: time.Date(2026, 11, 8, 14, 30, 0, 0, time.UTC)}, sliceRows(rows))
	got, err := f.GetRows("Dados")
	if err != nil {
		t.Fatal(err)
	}
	data := got[len(got)-len(cases):]
	for i, c := range cases {
		if len(data[i]) != 1 || data[i][0] != c[1] {
			t.Errorf("case %d: read back %q, want %q", i, truncate(data[i]), truncate([]string{c[1]}))
		}
	}
}

func truncate(row []string) []string {
	out := make([]string, len(row))
	for i, s := range row {
		if len(s) > 60 {
			s = s[:60] + "…"
		}
		out[i] = s
	}
	return out
}

// Every part of the package is well-formed XML, and the content types and the workbook's relationships
// name every sheet: what Excel checks before it shows anything.
func TestWriteXLSXPackage(t *testing.T) {
	defer func(old int) { MaxXLSXSheetRows = old }(MaxXLSXSheetRows)
	MaxXLSXSheetRows = 100
	var buf bytes.Buffer
	if _, err := WriteXLSX(&buf, reportColumns, testMeta(250), generatedRows(250)); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(bytes.NewReader(body))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s is not well-formed: %v", f.Name, err)
			}
		}
		parts[f.Name] = string(body)
	}
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
		"xl/styles.xml", "docProps/core.xml", "docProps/app.xml"} {
		if _, ok := parts[name]; !ok {
			t.Errorf("part %s is missing", name)
		}
	}
	for i := 1; i <= 3; i++ { // 9 header rows + 250 rows over sheets of 100 rows
		sheet := "xl/worksheets/sheet" + strconv.Itoa(i) + ".xml"
		if _, ok := parts[sheet]; !ok {
			t.Fatalf("%s is missing", sheet)
		}
		if !strings.Contains(parts["[Content_Types].xml"], `PartName="/`+sheet+`"`) {
			t.Errorf("%s has no content type", sheet)
		}
		if !strings.Contains(parts["xl/_rels/workbook.xml.rels"], `Target="worksheets/sheet`+strconv.Itoa(i)+`.xml"`) {
			t.Errorf("%s is not in the workbook's relationships", sheet)
		}
	}
}

// Date-time cells are dates: Excel's serial numbers of the wall-clock time, with a date-time number
// format, so that a spreadsheet sorts and filters them as dates. Cells not in DateTimeLayout stay text.
func TestWriteXLSXDates(t *testing.T) {
	cols := []Column{{Header: "Enviado", Kind: KindDateTime}, {Header: "Status"}, {Header: "Expira", Kind: KindDateTime}}
	rows := [][]string{
		{"2026-11-29 23:30:05", "Lida", ""},
		{"2024-02-29 00:00:00", "2026-11-29 23:30:05", "2026-03-10 12:04:05"}, // a text column keeps a date as text
		{"1900-03-01 00:00:01", "", "2099-12-31 23:59:59"},
		{"29/11/2026 23:30:05", "", "2026-02-30 10:00:00"}, // not DateTimeLayout, not a day: text
		{"1900-02-28 10:00:00", "", "2026-11-29T23:30:05"}, // before Excel's phantom 29 February 1900; not the layout
	}
	// Title, total, generated, blank and header rows come first: the data starts on row 6.
	type want struct {
		ref, shown string
		date       bool
	}
	cases := []struct {
		format string
		wants  []want
	}{
		{"", []want{
			{"A6", "29/11/2026 23:30:05", true}, {"C6", "", false},
			{"A7", "29/02/2024 00:00:00", true}, {"B7", "2026-11-29 23:30:05", false}, {"C7", "10/03/2026 12:04:05", true},
			{"A8", "01/03/1900 00:00:01", true}, {"C8", "31/12/2099 23:59:59", true},
			{"A9", "29/11/2026 23:30:05", false}, {"C9", "2026-02-30 10:00:00", false},
			{"A10", "1900-02-28 10:00:00", false}, {"C10", "2026-11-29T23:30:05", false},
		}},
		{"yyyy-mm-dd hh:mm:ss", []want{{"A6", "2026-11-29 23:30:05", true}, {"C7", "2026-03-10 12:04:05", true}}},
	}
	epoch := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	for _, c := range cases {
		m := Meta{Title: "t", Generated: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), DateTimeFormat: c.format}
		f, _, _ := writeXLSXFile(t, cols, m, sliceRows(rows))
		wantFormat := c.format
		if wantFormat == "" {
			wantFormat = "dd/mm/yyyy hh:mm:ss" // pt-BR, the default
		}
		for _, w := range c.wants {
			if got := cell(t, f, "Dados", w.ref); got != w.shown {
				t.Errorf("%q: %s shows %q, want %q", c.format, w.ref, got, w.shown)
			}
			typ, err := f.GetCellType("Dados", w.ref)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := f.GetCellValue("Dados", w.ref, excelize.Options{RawCellValue: true})
			styleID, _ := f.GetCellStyle("Dados", w.ref)
			style, err := f.GetStyle(styleID)
			if err != nil {
				t.Fatal(err)
			}
			if !w.date {
				if w.shown != "" && (typ != excelize.CellTypeInlineString || raw != w.shown) {
					t.Errorf("%s: type %v, raw %q; want text %q", w.ref, typ, raw, w.shown)
				}
				continue
			}
			if typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
				t.Errorf("%s: type %v, want a number", w.ref, typ)
			}
			serial, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				t.Errorf("%s: raw value %q is not a number", w.ref, raw)
				continue
			}
			at, err := time.Parse(DateTimeLayout, map[string]string{"A6": "2026-11-29 23:30:05", "A7": "2024-02-29 00:00:00",
				"C7": "2026-03-10 12:04:05", "A8": "1900-03-01 00:00:01", "C8": "2099-12-31 23:59:59"}[w.ref])
			if err != nil {
				t.Fatal(err)
			}
			if got := epoch.Add(time.Duration(serial * 86400 * float64(time.Second))).Round(time.Second); !got.Equal(at) {
				t.Errorf("%s: serial %s is %v, want %v", w.ref, raw, got, at)
			}
			if style.CustomNumFmt == nil || *style.CustomNumFmt != wantFormat {
				t.Errorf("%s: number format %v, want %q", w.ref, style.CustomNumFmt, wantFormat)
			}
		}
	}
}
