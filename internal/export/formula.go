package export

import (
	"unicode"
	"unicode/utf8"
)

// NeutralizeFormula makes a cell safe from CSV/spreadsheet formula injection by prefixing it with a single
// quote when a spreadsheet could take it for a formula (OWASP "CSV Injection"), and returns every other
// cell unchanged.
//
// The rule, looking at the first character after any leading whitespace other than tab and CR:
//   - '=', '@', tab (0x09) or carriage return (0x0D): always neutralised;
//   - '+' or '-': neutralised unless the whole cell is a plain number or phone number, that is
//     [+-]?[0-9][0-9 .,()-]* ("+5511987654321", "-12,50", "+55 (11) 98765-4321"), or only dashes ("-",
//     "--", a common placeholder for "none"). Those cells carry no letters, so a spreadsheet can at most
//     do arithmetic with them: it cannot call a function or reach another cell, and users keep their
//     E.164 phone numbers without a stray quote;
//   - anything else: unchanged.
//
// Leading spaces and newlines are skipped because some spreadsheets trim them before deciding; a
// neutralised cell keeps its content, spaces included, after the quote.
func NeutralizeFormula(s string) string {
	if formulaLike(s) {
		return "'" + s
	}
	return s
}

// formulaLike reports whether NeutralizeFormula must prefix s.
func formulaLike(s string) bool {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '\t' || c == '\r' {
			return true
		}
		if c < utf8.RuneSelf {
			if c != ' ' && c != '\n' && c != '\v' && c != '\f' {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	if i == len(s) {
		return false
	}
	switch s[i] {
	case '=', '@':
		return true
	case '+', '-':
		return !plainNumber(s[i:]) && !onlyDashes(s[i:])
	}
	return false
}

// plainNumber reports whether s matches [+-]?[0-9][0-9 .,()-]*.
func plainNumber(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == ' ', c == '.', c == ',', c == '(', c == ')', c == '-':
		default:
			return false
		}
	}
	return true
}

// onlyDashes reports whether s is made of '-' and trailing spaces only, the usual "no value" placeholder.
func onlyDashes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '-' && s[i] != ' ' {
			return false
		}
	}
	return s != "" && s[0] == '-'
}
