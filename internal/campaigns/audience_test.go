package campaigns

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
)

// TestAudienceFiles is the catalogue of audience files a user may upload,
// good and bad, each with its exact row-by-row report.
func TestAudienceFiles(t *testing.T) {
	win1252, _ := charmap.Windows1252.NewEncoder().String("telefone;nome;var1;var2\n11987650001;João Conceição;João;X\n")
	type want struct {
		rows, valid, invalid, dups, optedOut int
		rejected                             []domain.CampaignRowError
		err                                  string // a refusal of the whole file
	}
	rej := func(line int, phone, msg string) domain.CampaignRowError {
		return domain.CampaignRowError{Line: line, Phone: phone, Error: msg}
	}
	for _, tc := range []struct {
		name  string
		file  []byte
		check func(t *testing.T, a *Audience)
		want  want
	}{
		{name: "empty", file: nil, want: want{err: "empty"}},
		{name: "header only", file: []byte("phone,var1,var2\n"), want: want{}},
		{name: "no phone column", file: []byte("nome,var1,var2\nAna,a,b\n"), want: want{err: "no phone column"}},
		{name: "no column for a variable", file: []byte("phone,var1\n+5511987650001,a\n"), want: want{err: "no var2 column"}},
		{name: "bad numbers", file: []byte("phone,var1,var2\nabc,a,b\n123,a,b\n,a,b\n+5511987650001,a,b\n"), want: want{rows: 4, valid: 1, invalid: 3,
			rejected: []domain.CampaignRowError{
				rej(2, "abc", `invalid phone number "abc": not a phone number: contains letters`),
				rej(3, "123", `invalid phone number "123": number too short`),
				rej(4, "", "no phone number")}}},
		{name: "duplicates written three ways and without the ninth digit", file: []byte("phone,var1,var2\n+55 11 98765-0001,a,b\n5511987650001,a,b\n(11) 98765 0001,a,b\n+55 11 8765-0001,a,b\n"),
			want: want{rows: 4, valid: 1, dups: 3, rejected: []domain.CampaignRowError{
				rej(3, "5511987650001", "duplicate of line 2 (+5511987650001)"),
				rej(4, "(11) 98765 0001", "duplicate of line 2 (+5511987650001)"),
				rej(5, "+55 11 8765-0001", "duplicate of line 2 (+5511987650001)")}}},
		{name: "semicolons, as Excel in Brazil saves", file: []byte("telefone;nome;var1;var2\n11987650001;Ana;Ana;CUPOM\n"), want: want{rows: 1, valid: 1},
			check: func(t *testing.T, a *Audience) {
				if r := a.Valid[0]; r.Name != "Ana" || !reflect.DeepEqual(r.Vars, []string{"Ana", "CUPOM"}) || r.Phone != "+5511987650001" {
					t.Errorf("row %+v", r)
				}
			}},
		{name: "Windows-1252", file: []byte(win1252), want: want{rows: 1, valid: 1}, check: func(t *testing.T, a *Audience) {
			if a.Valid[0].Name != "João Conceição" {
				t.Errorf("name %q", a.Valid[0].Name)
			}
		}},
		{name: "UTF-8 with BOM and headers in capitals with accents", file: []byte("\ufeffTelefone,Nome,VAR1,Var2,Correlation ID\n11987650001,Zé,Zé,X,PED-1\n"),
			want: want{rows: 1, valid: 1}, check: func(t *testing.T, a *Audience) {
				if r := a.Valid[0]; r.Name != "Zé" || r.CorrelationID != "PED-1" {
					t.Errorf("row %+v", r)
				}
			}},
		{name: "quoted newlines keep line numbers", file: []byte("phone,name,var1,var2\n11987650001,\"Ana\nMaria\",a,b\nxyz,Bia,a,b\n"),
			want: want{rows: 2, valid: 1, invalid: 1, rejected: []domain.CampaignRowError{
				rej(4, "xyz", `invalid phone number "xyz": not a phone number: contains letters`)}}},
		{name: "missing variables", file: []byte("phone,var1,var2\n11987650001,a,\n11987650002,a\n11987650003, ,b\n"),
			want: want{rows: 3, invalid: 3, rejected: []domain.CampaignRowError{
				rej(2, "11987650001", "var2 is empty: the template needs it"),
				rej(3, "11987650002", "var2 is empty: the template needs it"),
				rej(4, "11987650003", "var1 is empty: the template needs it")}}},
		{name: "formula-looking cells kept as text", file: []byte("phone,name,var1,var2\n11987650001,=HYPERLINK(\"x\"),=1+1,@SUM(A1)\n"),
			want: want{rows: 1, valid: 1}, check: func(t *testing.T, a *Audience) {
				if r := a.Valid[0]; r.Name != `=HYPERLINK("x")` || r.Vars[0] != "=1+1" || r.Vars[1] != "@SUM(A1)" {
					t.Errorf("row %+v", r)
				}
			}},
		{name: "opted out", file: []byte("phone,var1,var2\n11987650099,a,b\n11987650001,a,b\n"),
			want: want{rows: 2, valid: 1, optedOut: 1, rejected: []domain.CampaignRowError{
				rej(2, "11987650099", "the contact opted out of messages")}}},
		{name: "blank lines skipped, line numbers kept", file: []byte("phone,var1,var2\n\n11987650001,a,b\n\nbad,a,b\n"),
			want: want{rows: 2, valid: 1, invalid: 1, rejected: []domain.CampaignRowError{
				rej(5, "bad", `invalid phone number "bad": not a phone number: contains letters`)}}},
		{name: "unbalanced quote", file: []byte("phone,var1,var2\n11987650001,a,b\n11987650002,\"a,b\n"),
			want: want{rows: 2, valid: 1, invalid: 1, rejected: []domain.CampaignRowError{
				rej(3, "11987650002", "var2 is empty: the template needs it")}}},
		{name: "XLSX", file: xlsx(t, [][]any{{"Telefone", "Nome", "var1", "var2"}, {5511987650001, "Ana", "Ana", 10}, {"abc", "Bia", "x", "y"},
			{"+5511987650001", "Ana de novo", "a", "b"}}),
			want: want{rows: 3, valid: 1, invalid: 1, dups: 1, rejected: []domain.CampaignRowError{
				rej(3, "abc", `invalid phone number "abc": not a phone number: contains letters`),
				rej(4, "+5511987650001", "duplicate of line 2 (+5511987650001)")}},
			check: func(t *testing.T, a *Audience) {
				if r := a.Valid[0]; r.Phone != "+5511987650001" || r.Vars[1] != "10" {
					t.Errorf("row %+v", r)
				}
			}},
		{name: "not a workbook", file: []byte("PK\x03\x04garbage"), want: want{err: "not a readable XLSX"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ReadAudience(bytes.NewReader(tc.file), 2, map[string]bool{"+5511987650099": true})
			if tc.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want.err) || domain.ErrorCode(err) != domain.EUNPROCESSABLE {
					t.Fatalf("err %v, want one saying %q", err, tc.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{rows: a.Rows, valid: len(a.Valid), invalid: a.Invalid, dups: a.Duplicates, optedOut: a.OptedOut, rejected: a.Rejected}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("report\n got %+v\nwant %+v", got, tc.want)
			}
			if got.rows != got.valid+got.invalid+got.dups+got.optedOut {
				t.Errorf("rows %d is not the sum of its parts", got.rows)
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

func TestAudienceTooManyRows(t *testing.T) {
	defer func(n int) { maxRows = n }(maxRows)
	maxRows = 1000
	var b bytes.Buffer
	b.WriteString("phone,var1,var2\n")
	for i := range maxRows + 1 {
		fmt.Fprintf(&b, "1198%07d,a,b\n", i)
	}
	_, err := ReadAudience(&b, 2, nil)
	if domain.ErrorCode(err) != domain.ETOOLARGE || !strings.Contains(err.Error(), "more than 1000 rows") {
		t.Fatalf("%d rows: %v, want too large", maxRows+1, err)
	}
	b.Reset()
	b.WriteString("phone,var1,var2\n")
	for i := range maxRows {
		fmt.Fprintf(&b, "1198%07d,a,b\n", i)
	}
	if a, err := ReadAudience(&b, 2, nil); err != nil || len(a.Valid) != maxRows {
		t.Fatalf("%d rows, the limit: %v", maxRows, err)
	}
}

func xlsx(t *testing.T, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestFoldName(t *testing.T) {
	for in, want := range map[string]string{"Promoção de Natal": "promocao de natal", " ÉVORA ": "evora", "Black Friday": "black friday"} {
		if got := FoldName(in); got != want {
			t.Errorf("FoldName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBrazilianPrefixDecides checks the assumption of
// audienceReader.normalize: for each spelling brForm reads ("+55…", "55…",
// the national number; 10 or 11 national digits; with or without
// separators), the first three national digits decide whether
// phone.Normalize takes the number to "+55" and its national digits. Every
// prefix of every spelling is tried with random rest digits, a fresh
// reader for each number and one reader throughout (whose memo a prefix's
// first number fills): both answer as phone.Normalize does.
func TestBrazilianPrefixDecides(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	shared := &audienceReader{}
	spell := []func(national string) string{
		func(n string) string { return "+55" + n },
		func(n string) string { return "55" + n },
		func(n string) string { return n },
		func(n string) string { return "+55 (" + n[:2] + ") " + n[2:len(n)-4] + "-" + n[len(n)-4:] },
		func(n string) string { return "(" + n[:2] + ") " + n[2:len(n)-4] + "-" + n[len(n)-4:] },
		func(n string) string { return "55 " + n[:2] + " " + n[2:len(n)-4] + "." + n[len(n)-4:] },
	}
	checked := 0
	for dd := 10; dd <= 99; dd++ {
		for lead := 0; lead <= 9; lead++ {
			for _, rest := range []int{7, 8} { // 10 and 11 national digits
				for range 4 {
					national := fmt.Sprintf("%d%d%0*d", dd, lead, rest, r.IntN(100_000_000))
					for _, f := range spell {
						s := f(national)
						want, wantErr := phone.Normalize(s, "BR")
						for _, ar := range []*audienceReader{{}, shared} {
							got, err := ar.normalize(s)
							if got != want || (err == nil) != (wantErr == nil) {
								t.Fatalf("%s: the reader says %q, %v; phone.Normalize %q, %v", s, got, err, want, wantErr)
							}
						}
						checked++
					}
				}
			}
		}
	}
	if len(shared.brValid) < 1000 {
		t.Fatalf("the memo holds %d prefixes after %d numbers: brForm reads too little", len(shared.brValid), checked)
	}
}

// FuzzNormalize: whatever a phone cell holds, the audience reader's
// normalisation (its memo filled by the numbers before) answers as
// phone.Normalize does.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+5511987654321", "11987654321", "(11) 98765-4321", "5511987654321", "1133334444",
		"+55 21 3333-4444", "011987654321", "55987654321", "+14155550100", "119876543", "abc", "", "+55 (11) 9.8765-4321"} {
		f.Add(s)
	}
	ar := &audienceReader{}
	f.Fuzz(func(t *testing.T, s string) {
		want, wantErr := phone.Normalize(s, "BR")
		got, err := ar.normalize(s)
		if got != want || (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: the reader says %q, %v; phone.Normalize %q, %v", s, got, err, want, wantErr)
		}
	})
}
