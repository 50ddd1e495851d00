package export

import (
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readCSV parses a CSV file written by WriteCSV, dropping the BOM if there is one.
func readCSV(t *testing.T, data []byte, comma rune) (records [][]string, hadBOM bool) {
	t.Helper()
	hadBOM = bytes.HasPrefix(data, []byte(utf8BOM))
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(utf8BOM))))
	r.Comma = comma
	records, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse CSV back: %v", err)
	}
	return records, hadBOM
}

func TestWriteCSVRoundTrip(t *testing.T) {
	for _, o := range []CSVOptions{{}, {BOM: true, Comma: ';'}} {
		const n = 1000
		path := filepath.Join(t.TempDir(), "relatorio.csv")
		file, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		written, err := WriteCSV(file, reportColumns, generatedRows(n), o)
		if err != nil {
			t.Fatalf("WriteCSV(%+v): %v", o, err)
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
		if written != n {
			t.Errorf("WriteCSV(%+v) = %d rows, want %d", o, written, n)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		comma := o.Comma
		if comma == 0 {
			comma = ','
		}
		records, hadBOM := readCSV(t, data, comma)
		if hadBOM != o.BOM {
			t.Errorf("BOM present = %v, want %v", hadBOM, o.BOM)
		}
		if len(records) != n+1 {
			t.Fatalf("%d records, want header + %d", len(records), n)
		}
		for i, c := range reportColumns {
			if records[0][i] != c.Header {
				t.Errorf("header %d = %q, want %q", i, records[0][i], c.Header)
			}
		}
		row := make([]string, 0, len(reportColumns))
		for i := range n {
			row = reportRow(i, row)
			for j, cell := range row {
				if want := NeutralizeFormula(cell); records[i+1][j] != want {
					t.Fatalf("row %d cell %d = %q, want %q", i, j, records[i+1][j], want)
				}
			}
		}
		if bytes.Contains(data, []byte("\r")) || bytes.Count(data, []byte("\n")) != n+1 {
			t.Errorf("lines are not ended by LF alone")
		}
	}
}

func TestWriteCSVContent(t *testing.T) {
	cols := []Column{{Header: "Status"}, {Header: "Telefone"}, {Header: "Mensagem"}}
	rows := [][]string{
		{"Não entregue", "+5511987654321", "Conceição São Paulo ação"},
		{"Entregue", "-12,50", `=HYPERLINK("http://evil.example","Clique")`},
		{"+SUM(A1)", "-2+3", "@cmd"},
		{"\t=1", "\r=1", " =1"},
		{"linha 1\nlinha 2", `aspas "duplas"`, "vírgula, e; ponto e vírgula"},
		{"", "-", "+55 (11) 98765-4321"},
	}
	want := [][]string{
		{"Status", "Telefone", "Mensagem"},
		{"Não entregue", "+5511987654321", "Conceição São Paulo ação"},
		{"Entregue", "-12,50", `'=HYPERLINK("http://evil.example","Clique")`},
		{"'+SUM(A1)", "'-2+3", "'@cmd"},
		{"'\t=1", "'\r=1", "' =1"},
		{"linha 1\nlinha 2", `aspas "duplas"`, "vírgula, e; ponto e vírgula"},
		{"", "-", "+55 (11) 98765-4321"},
	}
	for _, comma := range []rune{',', ';'} {
		var buf bytes.Buffer
		n, err := WriteCSV(&buf, cols, sliceRows(rows), CSVOptions{BOM: true, Comma: comma})
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(rows)) {
			t.Errorf("n = %d, want %d", n, len(rows))
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("\xEF\xBB\xBFStatus")) {
			t.Errorf("file does not start with the BOM and the header: %q", buf.Bytes()[:10])
		}
		got, _ := readCSV(t, buf.Bytes(), comma)
		if len(got) != len(want) {
			t.Fatalf("%d records, want %d", len(got), len(want))
		}
		for i := range want {
			if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
				t.Errorf("comma %q record %d = %q, want %q", comma, i, got[i], want[i])
			}
		}
		// The accents are UTF-8 bytes, not some other encoding.
		if !bytes.Contains(buf.Bytes(), []byte("Concei\xc3\xa7\xc3\xa3o")) {
			t.Error("ç and ã are not UTF-8 in the file")
		}
	}
}

func TestWriteCSVEmpty(t *testing.T) {
	var buf bytes.Buffer
	n, err := WriteCSV(&buf, reportColumns, sliceRows(nil), CSVOptions{})
	if err != nil || n != 0 {
		t.Fatalf("WriteCSV = %d, %v", n, err)
	}
	records, _ := readCSV(t, buf.Bytes(), ',')
	if len(records) != 1 || records[0][0] != "Enviado" {
		t.Errorf("records = %q, want the header only", records)
	}
}

func TestWriteCSVErrors(t *testing.T) {
	t.Run("producer error", func(t *testing.T) {
		boom := errors.New("database gone")
		rows := func(emit func([]string) error) error {
			if err := emit(reportRow(0, nil)); err != nil {
				return err
			}
			return boom
		}
		n, err := WriteCSV(&bytes.Buffer{}, reportColumns, rows, CSVOptions{})
		if !errors.Is(err, boom) || n != 1 {
			t.Errorf("WriteCSV = %d, %v; want 1, %v", n, err, boom)
		}
	})
	t.Run("row width", func(t *testing.T) {
		_, err := WriteCSV(&bytes.Buffer{}, reportColumns, sliceRows([][]string{{"a", "b"}}), CSVOptions{})
		if err == nil || !strings.Contains(err.Error(), "row 1 has 2 cells, want 12") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("writer error stops the producer", func(t *testing.T) {
		var emitted int
		rows := func(emit func([]string) error) error {
			row := make([]string, 0, 12)
			for i := range 1_000_000 {
				emitted++
				if err := emit(reportRow(i, row)); err != nil {
					return err
				}
			}
			return nil
		}
		_, err := WriteCSV(&errWriter{limit: 1 << 20}, reportColumns, rows, CSVOptions{})
		if !errors.Is(err, errDiskFull) {
			t.Errorf("err = %v, want %v", err, errDiskFull)
		}
		if emitted > 20_000 {
			t.Errorf("producer emitted %d rows after the writer failed at 1 MiB", emitted)
		}
	})
}

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestWriteCSVGolden pins the exact bytes of a small export: BOM, separator, quoting, line ends.
func TestWriteCSVGolden(t *testing.T) {
	var buf bytes.Buffer
	if _, err := WriteCSV(&buf, reportColumns, generatedRows(8), CSVOptions{BOM: true, Comma: ';'}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "detailed_mt.csv")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("CSV differs from %s (run with -update after checking the change):\n%s", golden, buf.Bytes())
	}
}

// WriteCSV writes, byte for byte, what encoding/csv writes (LF line ends)
// for the same neutralized cells: quotes, separators, CR and LF inside
// fields, leading spaces, the \. field, accents and emoji, with ',' ';' and
// a separator outside ASCII.
func TestWriteCSVIsEncodingCSV(t *testing.T) {
	fields := []string{"", "plain", "a,b", "a;b", `say "hi"`, "line\nbreak", "cr\rhere", "crlf\r\n", " lead", "\tlead",
		"trail ", `\.`, `\.x`, "ação · 😀", "=1+1", "-", "+55 11", "\u00a0nbsp", `"`, `""`, "x·y", "·"}
	var rows [][]string
	for i := range fields {
		row := make([]string, 4)
		for j := range row {
			row[j] = fields[(i+j*5)%len(fields)]
		}
		rows = append(rows, row)
	}
	cols := make([]Column, 4)
	for i := range cols {
		cols[i] = Column{Header: fields[i+1]}
	}
	for _, comma := range []rune{0, ';', '·', '\t'} {
		var got bytes.Buffer
		if _, err := WriteCSV(&got, cols, func(emit func([]string) error) error {
			for _, r := range rows {
				if err := emit(r); err != nil {
					return err
				}
			}
			return nil
		}, CSVOptions{Comma: comma}); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		cw := csv.NewWriter(&want)
		if comma != 0 {
			cw.Comma = comma
		}
		for _, r := range append([][]string{{fields[1], fields[2], fields[3], fields[4]}}, rows...) {
			out := make([]string, len(r))
			for i, c := range r {
				out[i] = NeutralizeFormula(c)
			}
			if err := cw.Write(out); err != nil {
				t.Fatal(err)
			}
		}
		cw.Flush()
		if got.String() != want.String() {
			t.Errorf("separator %q:\n got %q\nwant %q", comma, got.String(), want.String())
		}
	}
	if _, err := WriteCSV(io.Discard, cols, func(func([]string) error) error { return nil }, CSVOptions{Comma: '"'}); err == nil {
		t.Error(`separator '"': no error`)
	}
}
