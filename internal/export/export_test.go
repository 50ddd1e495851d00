package export

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// reportColumns are the detailed report's MT columns (seed 000), twelve of them.
var reportColumns = []Column{
	{Header: "Enviado", Kind: KindDateTime},
	{Header: "Status"},
	{Header: "Telefone"},
	{Header: "WhatsApp user ID"},
	{Header: "Campanha"},
	{Header: "Usuário"},
	{Header: "Tipo de conteúdo"},
	{Header: "Mensagem enviada"},
	{Header: "Enviado com sessão"},
	{Header: "ID da conversa"},
	{Header: "Tipo de conversa"},
	{Header: "Data de expiração da conversa", Kind: KindDateTime},
}

var (
	statuses = []string{"Entregue", "Lida", "Não entregue", "Rejeitada pela operadora", "Número de destino inválido",
		"Não entregue por opt-out", "Sessão inválida", "Tempo de vida expirada (TTL)"}
	users     = []string{"Conceição", "João Ávila", "maria.silva", "Zé"}
	campaigns = []string{"Black Friday ação", "Cobrança São Paulo", "Boas-vindas", "=HYPERLINK(\"http://x\")"}
	messages  = []string{
		"ação confirmada: seu pedido %d saiu para entrega em São Paulo.",
		"Olá! Conceição São Paulo ação — responda SIM para confirmar o agendamento nº %d.",
		"Seu código é %d. Não compartilhe.",
	}
	convTypes = []string{"Business Initiated", "User Initiated", "Free Entry Point"}
)

// ptBRDates is how the report writes dates for people, in CSV and PDF.
const ptBRDates = "02/01/2006 15:04:05"

// reportRow builds the i-th row of a plausible detailed report, into row (reused), with dates for people.
func reportRow(i int, row []string) []string { return reportRowDated(i, row, ptBRDates) }

// reportRowDated is reportRow with dates in layout: DateTimeLayout for XLSX.
func reportRowDated(i int, row []string, layout string) []string {
	sent := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Second)
	row = append(row[:0],
		sent.Format(layout),
		statuses[i%len(statuses)],
		"+55119"+strconv.Itoa(80000000+i%10000000),
		"55119"+strconv.Itoa(80000000+i%10000000),
		campaigns[i%len(campaigns)],
		users[i%len(users)],
		"Template",
		fmt.Sprintf(messages[i%len(messages)], i),
		[]string{"Sim", "Não"}[i%2],
		"c0a8"+strconv.FormatInt(int64(i)*2654435761%1_000_000_007, 16),
		convTypes[i%len(convTypes)],
		sent.Add(24*time.Hour).Format(layout),
	)
	return row
}

// generatedRows yields n report rows, reusing one slice as a database scanner would.
func generatedRows(n int) Rows { return generatedRowsDated(n, ptBRDates) }

// generatedRowsDated is generatedRows with dates in layout.
func generatedRowsDated(n int, layout string) Rows {
	return func(emit func([]string) error) error {
		row := make([]string, 0, len(reportColumns))
		for i := range n {
			row = reportRowDated(i, row, layout)
			if err := emit(row); err != nil {
				return err
			}
		}
		return nil
	}
}

// pooledRows yields n rows cycling through a precomputed pool, so benchmarks measure the writer, not the
// row generator.
func pooledRows(n int) Rows { return pooledRowsDated(n, ptBRDates) }

// pooledRowsDated is pooledRows with dates in layout.
func pooledRowsDated(n int, layout string) Rows {
	pool := make([][]string, 1024)
	for i := range pool {
		pool[i] = reportRowDated(i, nil, layout)
	}
	return func(emit func([]string) error) error {
		for i := range n {
			if err := emit(pool[i%len(pool)]); err != nil {
				return err
			}
		}
		return nil
	}
}

// sliceRows yields the given rows.
func sliceRows(rows [][]string) Rows {
	return func(emit func([]string) error) error {
		for _, r := range rows {
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// testMeta is the header of the test exports.
func testMeta(total int64) Meta {
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		sp = time.FixedZone("BRT", -3*3600)
	}
	return Meta{
		Title: "Relatório Detalhado — Enviadas (MT)",
		Filters: [][2]string{
			{"Período", "01/11/2026 – 07/11/2026"},
			{"Status", "Não entregue, Entregue"},
			{"Campanha", "Black Friday ação"},
		},
		Total:     total,
		Generated: time.Date(2026, 11, 8, 17, 30, 0, 0, time.UTC), // 14:30 in São Paulo
		Location:  sp,
		Note:      "Conceição São Paulo ação",
	}
}

// errWriter fails every write after the first limit bytes.
type errWriter struct {
	limit   int
	written int
}

var errDiskFull = errors.New("disk full")

func (w *errWriter) Write(p []byte) (int, error) {
	if w.written+len(p) > w.limit {
		return 0, errDiskFull
	}
	w.written += len(p)
	return len(p), nil
}

func TestFormatCountPtBR(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1.000", 5000: "5.000",
		123456: "123.456", 1234567: "1.234.567", -1234: "-1.234"} {
		if got := FormatCountPtBR(n); got != want {
			t.Errorf("FormatCountPtBR(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDefaultCapNote(t *testing.T) {
	m := Meta{}.withDefaults()
	got := m.CapNote(5000, 123456)
	want := "Exibindo as primeiras 5.000 de 123.456 linhas. Exporte em CSV ou XLSX para ver todas."
	if got != want {
		t.Errorf("CapNote = %q, want %q", got, want)
	}
	if got := m.CapNote(5000, 0); got != "Exibindo as primeiras 5.000 linhas. Exporte em CSV ou XLSX para ver todas." {
		t.Errorf("CapNote with unknown total = %q", got)
	}
}

func TestNoColumns(t *testing.T) {
	if _, err := WriteCSV(&errWriter{limit: 1 << 20}, nil, generatedRows(1), CSVOptions{}); err == nil {
		t.Error("WriteCSV without columns: no error")
	}
	if _, err := WriteXLSX(&errWriter{limit: 1 << 20}, nil, Meta{}, generatedRows(1)); err == nil {
		t.Error("WriteXLSX without columns: no error")
	}
	if _, err := WritePDF(&errWriter{limit: 1 << 20}, nil, Meta{}, generatedRows(1), 0); err == nil {
		t.Error("WritePDF without columns: no error")
	}
}
