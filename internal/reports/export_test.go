package reports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/store"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// exportFixture is an account whose report holds one MT message in every status, as a new user's
// would: Meta's failures with their codes and long details, the platform's own refusals, conversations
// from Meta's webhooks, no campaign and no ticks user behind any message.
type exportFixture struct {
	st     *store.Store
	loc    *time.Location
	filter domain.MessageFilter // the whole period, open at its end
	now    time.Time            // when the exports are made
	msgs   []domain.Message     // as the report reads them, in its order
}

// metaFailures are the statuses this fixture gets from Meta's failed webhooks: code, title, details.
var metaFailures = map[domain.Status]domain.MetaError{
	domain.StatusUndelivered: {Code: 131026, Title: "Message undeliverable",
		Details: "Unable to deliver message. Reasons can include: The recipient phone number is not a WhatsApp phone number; " +
			"the recipient has not accepted our new Terms of Service and Privacy Policy; the recipient is using an old WhatsApp version."},
	domain.StatusOptedOut: {Code: 131050, Title: "Unable to deliver the message. This recipient has chosen to stop receiving " +
		"marketing messages on WhatsApp from your business."},
	domain.StatusRejected: {Code: 131049, Title: "This message was not delivered to maintain healthy ecosystem engagement.",
		Details: "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
	domain.StatusTierLimit: {Code: 131064, Title: "Messaging limit reached (template classification violations)"},
}

// platformRefusals are the statuses ticks gives messages it refused to send: title and detail.
var platformRefusals = map[domain.Status][2]string{
	domain.StatusInvalidSession: {"session closed and no fallback template",
		"free-form messages can only be sent within 24 hours of the contact's last message"},
	domain.StatusInvalidContent:   {"template not found", `template "boas_vindas_black_friday" (pt_BR) does not exist on this WhatsApp account`},
	domain.StatusInvalidNumber:    {"invalid phone number", "+55 11 9876 is not a valid phone number"},
	domain.StatusInvalidParameter: {"template parameters", "the template takes 3 body parameters, 2 were given"},
	domain.StatusWarmupBlocked:    {"blocked by warm-up", "the channel's warm-up allows 250 messages a day"},
	domain.StatusInternalError:    {"internal error", "the send could not be recorded"},
	domain.StatusTTLExpired:       {"time to live expired", "not sent within the 12 hours the message was given"},
}

func newExportFixture(t *testing.T) *exportFixture {
	t.Helper()
	ctx := context.Background()
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	sa := &domain.Subaccount{Name: "Loja"}
	if err := st.CreateSubaccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	ch := &domain.Channel{SubaccountID: sa.ID, Name: "Loja", WABAID: "W1", PhoneNumberID: "111", DisplayPhone: "5511000000001"}
	if err := st.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	recipient := domain.Recipient{WABAID: ch.WABAID, PhoneNumberID: ch.PhoneNumberID, DisplayPhone: ch.DisplayPhone}
	// Late on a Sunday in São Paulo: already Monday in UTC, so a date in UTC would show the wrong day.
	base := time.Date(2026, 11, 29, 23, 30, 0, 0, loc)
	var inbox int64
	apply := func(ev domain.StatusEvent) {
		inbox++
		items := []store.InboxBatch{{InboxID: inbox, ReceivedAt: ev.Timestamp, Batch: &domain.WebhookBatch{Statuses: []domain.StatusEvent{ev}}}}
		if _, err := st.ApplyWebhooks(ctx, items, inbox); err != nil {
			t.Fatalf("apply: %v", err)
		}
	}
	for i, status := range domain.Statuses {
		c, err := st.UpsertContact(ctx, sa.ID, store.ContactInput{Phone: fmt.Sprintf("+55119876%05d", 50099+i*1111)})
		if err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(i)*7*time.Minute + 13*time.Second)
		m := &domain.Message{SubaccountID: sa.ID, ChannelID: ch.ID, ContactID: c.ID, Phone: c.Phone, WAID: c.WAID,
			ContentType: "template", TemplateName: "boas_vindas", TemplateCategory: "marketing",
			Text: "Olá! Sua compra na Loja foi confirmada e sai para entrega amanhã.", At: at,
			State: domain.StateSending, Status: domain.StatusSending}
		refusal, refused := platformRefusals[status]
		if refused {
			m.State, m.Status, m.ErrorTitle, m.ErrorDetail = domain.StateFailed, status, refusal[0], refusal[1]
		}
		if err := st.InsertOutbound(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
		if refused || status == domain.StatusSending {
			continue
		}
		wamid := fmt.Sprintf("wamid.HBgNNTUxMTk4NzY1MDA5ORUCABEYEjQ%04dQjA1RkM4MzFGAA==", i)
		if err := st.MarkAccepted(ctx, m.ID, wamid, c.WAID); err != nil {
			t.Fatal(err)
		}
		ev := domain.StatusEvent{Recipient: recipient, WAMID: wamid, State: domain.StateSent, Timestamp: at.Add(2 * time.Second),
			RecipientWAID: c.WAID, Conversation: &domain.MetaConversation{ID: fmt.Sprintf("8f2c41d09be7a3c5e61d4b70a9%06x", i),
				Origin: "marketing", ExpiresAt: at.Add(24 * time.Hour).Truncate(time.Second)},
			Pricing: &domain.Pricing{Model: "PMP", Category: "marketing", Type: "regular"}}
		apply(ev)
		switch status {
		case domain.StatusDelivered, domain.StatusRead:
			ev.State, ev.Timestamp = domain.StateDelivered, at.Add(5*time.Second)
			apply(ev)
			if status == domain.StatusRead {
				ev.State, ev.Timestamp = domain.StateRead, at.Add(time.Minute)
				apply(ev)
			}
		case domain.StatusSent:
		default:
			failure, ok := metaFailures[status]
			if !ok {
				t.Fatalf("the fixture has no way to make a %s message", status)
			}
			ev.State, ev.Timestamp, ev.Errors = domain.StateFailed, at.Add(3*time.Second), []domain.MetaError{failure}
			ev.Conversation, ev.Pricing = nil, nil
			apply(ev)
		}
	}

	fx := &exportFixture{st: st, loc: loc, now: time.Date(2026, 11, 30, 9, 15, 0, 0, loc),
		filter: domain.MessageFilter{Subaccounts: []int64{sa.ID}, Direction: domain.DirectionMT, From: base.Add(-30 * time.Minute)}}
	f := fx.filter
	f.Limit = 100
	page, err := st.ReportMessages(ctx, &f)
	if err != nil {
		t.Fatal(err)
	}
	fx.msgs = page.Rows
	seen := map[domain.Status]bool{}
	for _, m := range fx.msgs {
		seen[m.Status] = true
	}
	for _, s := range domain.Statuses {
		if !seen[s] {
			t.Fatalf("the fixture holds no %s message: %d messages", s, len(fx.msgs))
		}
	}
	return fx
}

// export writes the fixture's report in format and lang to a file and returns its path.
func (fx *exportFixture) export(t *testing.T, format, lang string) string {
	t.Helper()
	f := fx.filter
	e, err := reports.NewExport(context.Background(), fx.st, &reports.ExportRequest{Filter: &f, Format: format, Lang: lang,
		Location: fx.loc, Names: &reports.Names{}, Now: fx.now})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "relatorio."+format)
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := e.Write(context.Background(), file)
	if err != nil {
		t.Fatalf("write %s: %v", format, err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	if n != int64(len(fx.msgs)) {
		t.Fatalf("%s: %d rows written, want %d", format, n, len(fx.msgs))
	}
	return path
}

// pdfWord is one word pdftotext found, where it found it (points from the page's top left).
type pdfWord struct {
	page      int
	left, top float64
	text      string
}

// pdfWords runs pdftotext -tsv on path and returns its words, in its order.
func pdfWords(t *testing.T, path string) []pdfWord {
	t.Helper()
	out := pdftotext(t, "-tsv", path)
	var words []pdfWord
	for line := range strings.SplitSeq(string(out), "\n") {
		rec := strings.SplitN(line, "\t", 12) // no quoting: a word's quotes are its own
		if len(rec) < 12 || rec[0] != "5" {   // level 5: a word
			continue
		}
		page, _ := strconv.Atoi(rec[1])
		left, _ := strconv.ParseFloat(rec[6], 64)
		top, _ := strconv.ParseFloat(rec[7], 64)
		words = append(words, pdfWord{page, left, top, rec[11]})
	}
	return words
}

// pdftotext runs Debian's pdftotext (poppler-utils), an independent reader, with args and - for output.
func pdftotext(t *testing.T, args ...string) []byte {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatal("pdftotext is not on PATH: install Debian's poppler-utils")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append(append([]string{"-enc", "UTF-8"}, args...), "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext %q: %v", args, err)
	}
	return out
}

// same reports whether two positions in points are on the same line or edge.
func same(a, b float64) bool { return math.Abs(a-b) < 0.5 }

// pdfCells reads the table of a PDF export back as cells: for each page, the column edges from the first
// line of the column header row (whose headers are given), then each row from the top of the word that
// identifies it (a cell drawn whole on the row's first line) to the next row, or to the footer.
func pdfCells(t *testing.T, words []pdfWord, headers []string, identify func(string) bool) [][]string {
	t.Helper()
	var rows [][]string
	pages := map[int][]pdfWord{}
	for _, w := range words {
		pages[w.page] = append(pages[w.page], w)
	}
	for page := 1; len(pages[page]) > 0; page++ {
		ws := pages[page]
		// The column header row's first line: the first word of the first header, followed on its line by
		// the first word of the second.
		headerTop := -1.0
		for _, w := range ws {
			if w.text == strings.Fields(headers[0])[0] && slices.ContainsFunc(ws, func(o pdfWord) bool {
				return same(o.top, w.top) && o.text == strings.Fields(headers[1])[0]
			}) {
				headerTop = w.top
				break
			}
		}
		if headerTop < 0 {
			t.Fatalf("page %d: no column header row", page)
		}
		var line []pdfWord
		for _, w := range ws {
			if same(w.top, headerTop) {
				line = append(line, w)
			}
		}
		sort.Slice(line, func(i, j int) bool { return line[i].left < line[j].left })
		// Each header's first line starts its column: match the headers' words in order.
		var edges []float64
		k := 0
		for _, h := range headers {
			hw := strings.Fields(h)
			for k < len(line) && line[k].text != hw[0] {
				k++
			}
			if k == len(line) {
				t.Fatalf("page %d: header %q not on the header row's first line %v", page, h, line)
			}
			edges = append(edges, line[k].left-1)
			k++
			for n := 1; n < len(hw) && k < len(line) && line[k].text == hw[n]; n++ {
				k++
			}
		}
		footer := math.Inf(1)
		var tops []float64
		for _, w := range ws {
			switch {
			case w.text == "Página":
				footer = min(footer, w.top)
			case w.top > headerTop && identify(w.text) && !slices.ContainsFunc(tops, func(top float64) bool { return same(top, w.top) }):
				tops = append(tops, w.top)
			}
		}
		sort.Float64s(tops)
		for r, top := range tops {
			bottom := footer
			if r+1 < len(tops) {
				bottom = tops[r+1]
			}
			var in []pdfWord
			for _, w := range ws {
				if w.top > top-0.5 && w.top < bottom-0.5 {
					in = append(in, w)
				}
			}
			sort.SliceStable(in, func(i, j int) bool {
				if !same(in[i].top, in[j].top) {
					return in[i].top < in[j].top
				}
				return in[i].left < in[j].left
			})
			cells := make([]string, len(headers))
			for _, w := range in {
				col := 0
				for col+1 < len(edges) && w.left >= edges[col+1] {
					col++
				}
				if cells[col] != "" {
					cells[col] += " "
				}
				cells[col] += w.text
			}
			rows = append(rows, cells)
		}
	}
	return rows
}

// TestPDFIdentifiesEveryMessage reads a PDF export back with pdftotext: every message's phone number and
// WhatsApp id are whole, on one line; its status and reason are whole, wrapped at spaces; its
// conversation id is whole, broken over lines at most; the columns without a value are left out, and the
// header says so; the period ends at the export's time in the account's time zone.
func TestPDFIdentifiesEveryMessage(t *testing.T) {
	fx := newExportFixture(t)
	path := fx.export(t, "pdf", "pt-BR")
	format := reports.NewFormatter("pt-BR", fx.loc, &reports.Names{})
	allHeaders := reports.Headers(domain.DirectionMT, "pt-BR")
	byPhone := map[string][]string{}
	empty := make([]bool, len(allHeaders))
	for i := range empty {
		empty[i] = true
	}
	for _, m := range fx.msgs {
		row := format.Row(&m)
		byPhone[m.Phone] = row
		for i, cell := range row {
			empty[i] = empty[i] && cell == ""
		}
	}
	var headers, omitted []string
	var shownIndex []int
	for i, h := range allHeaders {
		if empty[i] {
			omitted = append(omitted, h)
		} else {
			headers = append(headers, h)
			shownIndex = append(shownIndex, i)
		}
	}
	if !slices.Contains(omitted, "Campanha") || !slices.Contains(omitted, "Usuário") {
		t.Fatalf("the fixture should leave Campanha and Usuário empty; empty: %q", omitted)
	}

	text := string(pdftotext(t, "-layout", path))
	period := "Período: 29/11/2026 23:00 – 30/11/2026 09:15"
	if !strings.Contains(text, period) {
		t.Errorf("the header lacks %q:\n%s", period, text)
	}
	note := "Colunas vazias omitidas: " + strings.Join(omitted, ", ")
	if !strings.Contains(text, note) {
		t.Errorf("the header lacks %q:\n%s", note, text)
	}
	for _, h := range omitted {
		if strings.Contains(strings.ReplaceAll(text, note, ""), h) {
			t.Errorf("the empty column %q is drawn", h)
		}
	}

	rows := pdfCells(t, pdfWords(t, path), headers, func(w string) bool { return byPhone[w] != nil })
	if len(rows) != len(fx.msgs) {
		t.Fatalf("found %d rows in the PDF, want %d", len(rows), len(fx.msgs))
	}
	col := func(key string) int { return slices.Index(shownIndex, slices.Index(reports.MTColumns, key)) }
	status, reason, phone, waUser, conv := col("col.status"), col("col.reason"), col("col.phone"), col("col.wa_user"), col("col.conversation_id")
	found := map[string]bool{}
	for _, got := range rows {
		want := byPhone[got[phone]]
		if want == nil {
			t.Errorf("a row's phone is %q, not a whole phone of the report", got[phone])
			continue
		}
		found[got[phone]] = true
		wantRow := make([]string, len(shownIndex))
		for j, i := range shownIndex {
			wantRow[j] = want[i]
		}
		if got[waUser] != wantRow[waUser] {
			t.Errorf("%s: WhatsApp id %q, want %q whole", got[phone], got[waUser], wantRow[waUser])
		}
		if got[status] != wantRow[status] {
			t.Errorf("%s: status %q, want %q", got[phone], got[status], wantRow[status])
		}
		if got[reason] != wantRow[reason] {
			t.Errorf("%s: reason %q, want %q", got[phone], got[reason], wantRow[reason])
		}
		if strings.ReplaceAll(got[conv], " ", "") != wantRow[conv] {
			t.Errorf("%s: conversation id %q, want %q", got[phone], got[conv], wantRow[conv])
		}
		if strings.Contains(strings.Join(got, " "), "…") {
			t.Errorf("%s: a cell is cut: %q", got[phone], got)
		}
	}
	if len(found) != len(fx.msgs) {
		t.Errorf("found %d of the %d messages' phone numbers whole", len(found), len(fx.msgs))
	}
	labels := map[string]bool{}
	for _, got := range rows {
		labels[got[status]] = true
	}
	for _, s := range domain.Statuses {
		if !labels[reports.StatusLabel("pt-BR", s)] {
			t.Errorf("status label %q is not in the PDF whole", reports.StatusLabel("pt-BR", s))
		}
	}
}

// TestXLSXDates reads an XLSX export back with excelize: the dates are date cells, numbers with a
// date-time format in the language's order, equal to the wall-clock time in the account's time zone;
// an empty date stays empty, and the other cells are as the report shows them.
func TestXLSXDates(t *testing.T) {
	fx := newExportFixture(t)
	for _, c := range []struct{ lang, numFmt, header string }{
		{"pt-BR", "dd/mm/yyyy hh:mm:ss", "Enviado"},
		{"en", "yyyy-mm-dd hh:mm:ss", "Sent"},
	} {
		x, err := excelize.OpenFile(fx.export(t, "xlsx", c.lang))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		sheet := x.GetSheetList()[0]
		rows, err := x.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		head := slices.IndexFunc(rows, func(r []string) bool { return len(r) > 0 && r[0] == c.header })
		if head < 0 {
			t.Fatalf("%s: no column header row in %q", c.lang, rows)
		}
		format := reports.NewFormatter(c.lang, fx.loc, &reports.Names{})
		byPhone := map[string]*domain.Message{}
		for i := range fx.msgs {
			byPhone[fx.msgs[i].Phone] = &fx.msgs[i]
		}
		sent := slices.Index(reports.MTColumns, "col.sent_at")
		expires := slices.Index(reports.MTColumns, "col.conversation_expires")
		phone := slices.Index(reports.MTColumns, "col.phone")
		var dates, emptyDates int
		for r := head + 1; r < len(rows); r++ {
			m := byPhone[rows[r][phone]]
			if m == nil {
				t.Fatalf("%s: row %d = %q, not a message of the report", c.lang, r+1, rows[r])
			}
			want := format.Row(m)
			for i, cell := range want {
				if i != sent && i != expires && cellAt(rows[r], i) != cell {
					t.Errorf("%s: row %d column %d = %q, want %q", c.lang, r+1, i+1, cellAt(rows[r], i), cell)
				}
			}
			check := func(i int, at *time.Time) {
				ref, _ := excelize.CoordinatesToCellName(i+1, r+1)
				raw, _ := x.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
				if at == nil {
					emptyDates++
					if raw != "" {
						t.Errorf("%s: %s = %q, want it empty", c.lang, ref, raw)
					}
					return
				}
				dates++
				typ, _ := x.GetCellType(sheet, ref)
				if typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
					t.Errorf("%s: %s is of type %v, want a number", c.lang, ref, typ)
				}
				serial, err := strconv.ParseFloat(raw, 64)
				if err != nil {
					t.Errorf("%s: %s = %q, want a date serial", c.lang, ref, raw)
					return
				}
				local := at.In(fx.loc)
				wall := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), 0, time.UTC)
				got := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).Add(time.Duration(math.Round(serial*86400)) * time.Second)
				if !got.Equal(wall) {
					t.Errorf("%s: %s = %s, %v; want %v, the local time", c.lang, ref, raw, got, wall)
				}
				style, _ := x.GetCellStyle(sheet, ref)
				s, err := x.GetStyle(style)
				if err != nil || s.CustomNumFmt == nil || *s.CustomNumFmt != c.numFmt {
					t.Errorf("%s: %s has number format %v (%v), want %q", c.lang, ref, s.CustomNumFmt, err, c.numFmt)
				}
				if shown := cellAt(rows[r], i); shown != local.Format(reports.TimeLayout(c.lang)) {
					t.Errorf("%s: %s shows %q, want %q", c.lang, ref, shown, local.Format(reports.TimeLayout(c.lang)))
				}
			}
			check(sent, &m.At)
			check(expires, m.ConversationExpires)
		}
		if rows := len(rows) - head - 1; rows != len(fx.msgs) || dates < len(fx.msgs)+3 || emptyDates == 0 {
			t.Errorf("%s: %d rows, %d dates, %d empty dates; want %d rows, the sent dates and some expiry dates",
				c.lang, rows, dates, emptyDates, len(fx.msgs))
		}
	}
}

// TestCSVUnchanged checks that the CSV export keeps its text dates and cells: the report's own.
func TestCSVUnchanged(t *testing.T) {
	fx := newExportFixture(t)
	data, err := os.ReadFile(fx.export(t, "csv", "pt-BR"))
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(records[0], reports.Headers(domain.DirectionMT, "pt-BR")) {
		t.Errorf("header = %q", records[0])
	}
	format := reports.NewFormatter("pt-BR", fx.loc, &reports.Names{})
	for i, m := range fx.msgs {
		if want := format.Row(&m); !slices.Equal(records[i+1], want) {
			t.Errorf("row %d = %q, want %q", i+1, records[i+1], want)
		}
	}
}

func cellAt(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}
