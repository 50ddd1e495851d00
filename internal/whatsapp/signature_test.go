package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

var testSecret = []byte("0f1e2d3c4b5a69788796a5b4c3d2e1f0")

func TestVerifySignature(t *testing.T) {
	ascii := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	// "ação 😀" as Meta sends it on the wire (raw UTF-8) and as some
	// senders sign it (json_encode's \u escapes, a surrogate pair for the emoji).
	unicode := []byte(`{"text":"ação 😀"}`)
	escapedLower := []byte(`{"text":"a\u00e7\u00e3o \ud83d\ude00"}`)
	escapedUpper := []byte(`{"text":"a\u00E7\u00E3o \uD83D\uDE00"}`)

	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   bool
	}{
		{"valid raw", testSecret, ascii, Sign(testSecret, ascii), true},
		{"valid raw with non-ASCII", testSecret, unicode, Sign(testSecret, unicode), true},
		{"valid only on the escaped form", testSecret, unicode, Sign(testSecret, escapedLower), true},
		{"valid only on the upper-case escaped form", testSecret, unicode, Sign(testSecret, escapedUpper), true},
		{"upper-case hex in the header", testSecret, ascii, "sha256=" + strings.ToUpper(Sign(testSecret, ascii)[7:]), true},
		{"escaped signature over a body that needs no escaping", testSecret, escapedLower, Sign(testSecret, unicode), false},
		{"wrong secret", []byte("another secret"), ascii, Sign(testSecret, ascii), false},
		{"wrong secret on the escaped form", []byte("another secret"), unicode, Sign(testSecret, escapedLower), false},
		{"empty secret", nil, ascii, Sign(nil, ascii), false},
		{"missing prefix", testSecret, ascii, Sign(testSecret, ascii)[len("sha256="):], false},
		{"sha1 prefix", testSecret, ascii, "sha1=" + Sign(testSecret, ascii)[len("sha256="):], false},
		{"bad hex", testSecret, ascii, "sha256=" + strings.Repeat("zz", sha256.Size), false},
		{"short hex", testSecret, ascii, Sign(testSecret, ascii)[:len("sha256=")+62], false},
		{"long hex", testSecret, ascii, Sign(testSecret, ascii) + "00", false},
		{"empty header", testSecret, ascii, "", false},
		{"prefix only", testSecret, ascii, "sha256=", false},
		{"tampered body", testSecret, []byte(`{"object":"whatsapp_business_account","entry":[{}]}`), Sign(testSecret, ascii), false},
		{"tampered non-ASCII body", testSecret, []byte(`{"text":"acao 😀"}`), Sign(testSecret, escapedLower), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := VerifySignature(tc.secret, tc.body, tc.header); got != tc.want {
				t.Errorf("VerifySignature = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSignMatchesMetaFormat(t *testing.T) {
	// The header value Meta documents: "sha256=" and 64 lower-case hex digits.
	mac := hmac.New(sha256.New, testSecret)
	mac.Write([]byte("{}"))
	want := fmt.Sprintf("sha256=%x", mac.Sum(nil))
	if got := Sign(testSecret, []byte("{}")); got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestAppendUnicodeEscaped(t *testing.T) {
	tests := []struct{ in, lower, upper string }{
		{`plain ASCII`, `plain ASCII`, `plain ASCII`},
		{`ç`, `\u00e7`, `\u00E7`},
		{`São Paulo – ação`, `S\u00e3o Paulo \u2013 a\u00e7\u00e3o`, `S\u00E3o Paulo \u2013 a\u00E7\u00E3o`},
		{`👍`, `\ud83d\udc4d`, `\uD83D\uDC4D`},
		{"bad \xff byte", `bad \ufffd byte`, `bad \uFFFD byte`},
	}
	for _, tc := range tests {
		if got := string(appendUnicodeEscaped(nil, []byte(tc.in), lowerHex)); got != tc.lower {
			t.Errorf("lower(%q) = %q, want %q", tc.in, got, tc.lower)
		}
		if got := string(appendUnicodeEscaped(nil, []byte(tc.in), upperHex)); got != tc.upper {
			t.Errorf("upper(%q) = %q, want %q", tc.in, got, tc.upper)
		}
	}
}

// escapeReference is a slow, obviously correct version of
// appendUnicodeEscaped(lowerHex) for valid UTF-8, used by the fuzz target.
func escapeReference(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&b, `\u%04x`, u)
		}
	}
	return b.String()
}

// The hot path is a valid signature over the raw body: it must cost no more
// allocations than computing the HMAC itself.
func TestVerifySignatureAllocations(t *testing.T) {
	hmacOnly := testing.AllocsPerRun(100, func() {
		mac := hmac.New(sha256.New, testSecret)
		mac.Write(statusPayload)
		_ = mac.Sum(nil)
	})
	header := Sign(testSecret, statusPayload)
	verify := testing.AllocsPerRun(100, func() {
		if !VerifySignature(testSecret, statusPayload, header) {
			t.Fatal("signature does not verify")
		}
	})
	if verify > hmacOnly {
		t.Errorf("VerifySignature allocates %.0f times, the HMAC alone %.0f", verify, hmacOnly)
	}
}

func BenchmarkVerifySignature(b *testing.B) {
	header := Sign(testSecret, statusPayload)
	b.ReportAllocs()
	b.SetBytes(int64(len(statusPayload)))
	for b.Loop() {
		if !VerifySignature(testSecret, statusPayload, header) {
			b.Fatal("signature does not verify")
		}
	}
}

// BenchmarkVerifySignatureEscaped is the slow path: a body with non-ASCII
// text signed over its \u-escaped form.
func BenchmarkVerifySignatureEscaped(b *testing.B) {
	body := []byte(strings.Replace(string(statusPayload), "Sheena Nelson", "João Conceição 😀", 1))
	header := Sign(testSecret, appendUnicodeEscaped(nil, body, lowerHex))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !VerifySignature(testSecret, body, header) {
			b.Fatal("signature does not verify")
		}
	}
}
