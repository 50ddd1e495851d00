package campaigns

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
)

// Limits of an audience file.
const (
	MaxAudienceRows  = 1_000_000
	MaxAudienceBytes = 100 << 20
	// MaxReportedErrors is how many rejected rows the creation's answer
	// lists; all of them are kept for the errors CSV.
	MaxReportedErrors = 1000
)

// maxRows is MaxAudienceRows, smaller in tests.
var maxRows = MaxAudienceRows

// Audience is an audience file read: its valid rows and every rejected
// one, by line.
type Audience struct {
	Rows int // data rows in the file
	// Valid are the valid rows, in file order, when no sink takes them
	// (ReadAudienceTo); ValidRows counts them either way.
	Valid      []domain.CampaignRow
	ValidRows  int
	Rejected   []domain.CampaignRowError
	Invalid    int
	Duplicates int
	OptedOut   int
}

// columns is where each field is in the header.
type columns struct {
	phone, name, correlation int
	vars                     []int
}

// FoldName is a name as the list's filter compares it: lower case, without
// accents.
func FoldName(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.TrimSpace(s)) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// readColumns finds the columns of a header: phone (or telefone), name (or
// nome), correlation_id, and var1…varN for the template's n variables.
// Names are compared in lower case without accents or spaces.
func readColumns(header []string, nvars int) (columns, error) {
	c := columns{phone: -1, name: -1, correlation: -1, vars: make([]int, nvars)}
	for i := range c.vars {
		c.vars[i] = -1
	}
	for i, h := range header {
		key := strings.NewReplacer(" ", "", "-", "_").Replace(FoldName(strings.TrimPrefix(h, "\ufeff")))
		switch key {
		case "phone", "telefone", "celular", "whatsapp":
			if c.phone < 0 {
				c.phone = i
			}
		case "name", "nome":
			c.name = i
		case "correlation_id", "correlationid", "id_correlacao":
			c.correlation = i
		default:
			if n, err := strconv.Atoi(strings.TrimPrefix(key, "var")); err == nil && strings.HasPrefix(key, "var") && n >= 1 && n <= nvars {
				c.vars[n-1] = i
			}
		}
	}
	if c.phone < 0 {
		return c, domain.Errorf(domain.EUNPROCESSABLE, "the audience has no phone column (phone or telefone) in its first line")
	}
	for i, at := range c.vars {
		if at < 0 {
			return c, domain.Errorf(domain.EUNPROCESSABLE, "the template takes %d variables: the audience has no var%d column", nvars, i+1)
		}
	}
	return c, nil
}

// audienceReader sorts rows into valid and rejected ones as they are read.
type audienceReader struct {
	a        *Audience
	cols     columns
	seen     map[string]int // canonical phone → line of its first row, when not all digits
	seenNum  map[uint64]int // the same for the canonical phones that are digits, in less than half the memory
	optedOut map[string]bool
	sink     func(domain.CampaignRow) error // takes each valid row; nil keeps them in Valid
	// brValid remembers, by a Brazilian number's spelling and its first
	// national digits (see brForm), whether phone.Normalize takes every
	// number so spelled to "+55" and its national digits: in
	// libphonenumber's metadata that prefix alone decides it
	// (TestBrazilianPrefixDecides checks every prefix of every spelling,
	// FuzzNormalize any string), so a file of a million such numbers parses
	// each prefix once instead of every number (libphonenumber's regular
	// expressions took two thirds of an import's CPU).
	brValid map[brKey]bool
}

// brKey is a spelling of Brazilian numbers and a prefix of their national
// digits.
type brKey struct {
	form   byte // 'p': "+55…"; 'i': "55…" without the plus; 'n': national, area code first
	digits byte // how many digits the spelling has
	prefix [3]byte
}

// brForm reads raw as a Brazilian number written with digits and the
// usual separators (spaces, parentheses, hyphens, dots) only: "+55" and
// the national number, "55" and it, or the national number alone (10 or 11
// digits, the area code first, no trunk 0). It returns the E.164 form
// those digits mean ("+55" and the national digits) and the memo's key;
// ok is false for anything else, which phone.Normalize reads.
func brForm(raw string) (e164 string, key brKey, ok bool) {
	var buf [16]byte
	n := 0
	plus := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return "", key, false
			}
			buf[n] = c
			n++
		case c == '+' && i == 0:
			plus = true
		case c == ' ' || c == '(' || c == ')' || c == '-' || c == '.':
		default:
			return "", key, false
		}
	}
	d := buf[:n]
	var national []byte
	switch {
	case plus && (n == 12 || n == 13) && d[0] == '5' && d[1] == '5':
		key.form, national = 'p', d[2:]
	case !plus && (n == 12 || n == 13) && d[0] == '5' && d[1] == '5':
		key.form, national = 'i', d[2:]
	case !plus && (n == 10 || n == 11):
		key.form, national = 'n', d
	default:
		return "", key, false
	}
	if national[0] == '0' {
		return "", key, false
	}
	key.digits = byte(n)
	copy(key.prefix[:], national[:3])
	return "+55" + string(national), key, true
}

// normalize is phone.Normalize(raw, "BR"), remembering by spelling and
// prefix which Brazilian numbers it takes as their digits say.
func (ar *audienceReader) normalize(raw string) (string, error) {
	e164, key, ok := brForm(raw)
	if !ok {
		return phone.Normalize(raw, "BR")
	}
	valid, known := ar.brValid[key]
	if known && valid {
		return e164, nil
	}
	got, err := phone.Normalize(raw, "BR")
	if !known {
		if ar.brValid == nil {
			ar.brValid = map[brKey]bool{}
		}
		ar.brValid[key] = err == nil && got == e164
	}
	return got, err
}

func (ar *audienceReader) row(line int, rec []string) error {
	a := ar.a
	a.Rows++
	if a.Rows > maxRows {
		return domain.Errorf(domain.ETOOLARGE, "the audience has more than %d rows", maxRows)
	}
	cell := func(i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	raw := cell(ar.cols.phone)
	reject := func(msg string) {
		a.Rejected = append(a.Rejected, domain.CampaignRowError{Line: line, Phone: raw, Error: msg})
	}
	if raw == "" {
		a.Invalid++
		reject("no phone number")
		return nil
	}
	e164, err := ar.normalize(raw)
	if err != nil {
		a.Invalid++
		reject("invalid phone number " + strconv.Quote(raw) + ": " + strings.TrimPrefix(err.Error(), "phone: "))
		return nil
	}
	key := phone.Canonical(e164)
	num, numeric := digitsKey(key)
	first, dup := ar.seen[key]
	if numeric {
		first, dup = ar.seenNum[num]
	}
	if dup {
		a.Duplicates++
		reject(fmt.Sprintf("duplicate of line %d (%s)", first, e164))
		return nil
	}
	if numeric {
		ar.seenNum[num] = line
	} else {
		ar.seen[key] = line
	}
	vars := make([]string, len(ar.cols.vars))
	for i, at := range ar.cols.vars {
		if vars[i] = cell(at); vars[i] == "" {
			a.Invalid++
			reject(fmt.Sprintf("var%d is empty: the template needs it", i+1))
			return nil
		}
	}
	if ar.optedOut[key] {
		a.OptedOut++
		reject("the contact opted out of messages")
		return nil
	}
	a.ValidRows++
	r := domain.CampaignRow{Seq: a.ValidRows, Line: line, Phone: e164,
		Name: cell(ar.cols.name), CorrelationID: cell(ar.cols.correlation), Vars: vars}
	if ar.sink != nil {
		return ar.sink(r)
	}
	a.Valid = append(a.Valid, r)
	return nil
}

// digitsKey reads a canonical phone of up to 18 digits (a "+" before them
// allowed) as a number, for the duplicates' set.
func digitsKey(key string) (uint64, bool) {
	key = strings.TrimPrefix(key, "+")
	if key == "" || len(key) > 18 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(key); i++ {
		if key[i] < '0' || key[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(key[i]-'0')
	}
	return n, true
}

// ReadAudience reads an audience file, CSV or XLSX (told by its first
// bytes), for a template of nvars body variables; optedOut holds the
// canonical phones to leave out. A file that cannot be read as a whole (no
// phone column, too many rows) is an error; bad rows are not.
func ReadAudience(r io.Reader, nvars int, optedOut map[string]bool) (*Audience, error) {
	return ReadAudienceTo(r, nvars, optedOut, nil)
}

// ReadAudienceTo is ReadAudience handing each valid row, in order, to sink
// instead of keeping it (nil keeps them in Valid), so that a million rows
// need not be in memory at once.
func ReadAudienceTo(r io.Reader, nvars int, optedOut map[string]bool, sink func(domain.CampaignRow) error) (*Audience, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	ar := &audienceReader{a: &Audience{}, seen: map[string]int{}, seenNum: map[uint64]int{}, optedOut: optedOut, sink: sink}
	if bytes.Equal(head, []byte("PK\x03\x04")) {
		return ar.a, ar.readXLSX(br, nvars)
	}
	return ar.a, ar.readCSV(br, nvars)
}

func (ar *audienceReader) readCSV(br *bufio.Reader, nvars int) error {
	sample, _ := br.Peek(64 << 10)
	var src io.Reader = br
	if !utf8.Valid(trimPartialRune(sample)) {
		// Not UTF-8: Excel on Windows in Brazil saves Windows-1252.
		src = transform.NewReader(br, charmap.Windows1252.NewDecoder())
	}
	cr := csv.NewReader(src)
	cr.Comma = sniffDelimiter(sample)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err == io.EOF {
		return domain.Errorf(domain.EUNPROCESSABLE, "the audience file is empty")
	}
	if err != nil {
		return domain.Errorf(domain.EUNPROCESSABLE, "the audience's first line cannot be read: %v", err)
	}
	if ar.cols, err = readColumns(header, nvars); err != nil {
		return err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				ar.a.Rows++
				ar.a.Invalid++
				ar.a.Rejected = append(ar.a.Rejected, domain.CampaignRowError{Line: pe.StartLine, Error: "unreadable row: " + pe.Err.Error()})
				continue
			}
			return fmt.Errorf("read audience: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // an empty line
		}
		if err := ar.row(line, rec); err != nil {
			return err
		}
	}
}

// trimPartialRune cuts a UTF-8 sequence the sample's end split.
func trimPartialRune(b []byte) []byte {
	for i := 0; i < 3 && len(b) > 0; i++ {
		r, size := utf8.DecodeLastRune(b)
		if r != utf8.RuneError || size != 1 {
			break
		}
		b = b[:len(b)-1]
	}
	return b
}

// sniffDelimiter picks ';' or ',' by which the first line has more of
// (Excel in Brazil saves ';').
func sniffDelimiter(sample []byte) rune {
	first := sample
	if i := bytes.IndexByte(sample, '\n'); i >= 0 {
		first = sample[:i]
	}
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		return ';'
	}
	return ','
}

func (ar *audienceReader) readXLSX(r io.Reader, nvars int) error {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return domain.Errorf(domain.EUNPROCESSABLE, "the audience is not a readable XLSX workbook: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return domain.Errorf(domain.EUNPROCESSABLE, "the workbook has no sheet")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return domain.Errorf(domain.EUNPROCESSABLE, "the workbook's first sheet cannot be read: %v", err)
	}
	defer rows.Close()
	line := 0
	for rows.Next() {
		line++
		rec, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return domain.Errorf(domain.EUNPROCESSABLE, "row %d of the workbook cannot be read: %v", line, err)
		}
		if line == 1 {
			if ar.cols, err = readColumns(rec, nvars); err != nil {
				return err
			}
			continue
		}
		if len(strings.Join(rec, "")) == 0 {
			continue
		}
		if err := ar.row(line, rec); err != nil {
			return err
		}
	}
	if line == 0 {
		return domain.Errorf(domain.EUNPROCESSABLE, "the audience file is empty")
	}
	return rows.Error()
}
