package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"unicode/utf16"
	"unicode/utf8"
)

// SignatureHeader is the HTTP header Meta signs webhook bodies in.
const SignatureHeader = "X-Hub-Signature-256"

const signaturePrefix = "sha256="

// VerifySignature reports whether header (an X-Hub-Signature-256 value,
// "sha256=<hex>") is the HMAC-SHA256 of body under appSecret. Some senders
// sign the body as PHP's json_encode would write it, with every non-ASCII
// character escaped as \uXXXX, so when the raw bytes do not match and the body
// has non-ASCII bytes, that form is tried too (lower-case hex as Meta writes
// it, then upper-case). An empty secret never verifies: a misconfigured
// tenant must not accept everything.
func VerifySignature(appSecret, body []byte, header string) bool {
	if len(appSecret) == 0 || len(header) != len(signaturePrefix)+2*sha256.Size ||
		header[:len(signaturePrefix)] != signaturePrefix {
		return false
	}
	var want [sha256.Size]byte
	if !decodeHex(want[:], header[len(signaturePrefix):]) {
		return false
	}
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	if hmac.Equal(mac.Sum(nil), want[:]) {
		return true
	}
	if !hasNonASCII(body) {
		return false
	}
	escaped := make([]byte, 0, len(body)+len(body)/2)
	for _, digits := range [...]string{lowerHex, upperHex} {
		escaped = appendUnicodeEscaped(escaped[:0], body, digits)
		if macEqual(mac, escaped, want[:]) {
			return true
		}
	}
	return false
}

// Sign returns the X-Hub-Signature-256 value Meta would send for body; the
// simulator and tests use it to produce webhooks that verify.
func Sign(appSecret, body []byte) string {
	mac := hmac.New(sha256.New, appSecret)
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

func macEqual(mac hash.Hash, data, want []byte) bool {
	mac.Reset()
	mac.Write(data)
	return hmac.Equal(mac.Sum(nil), want)
}

const (
	lowerHex = "0123456789abcdef"
	upperHex = "0123456789ABCDEF"
)

// decodeHex decodes src into dst without converting the header to a byte
// slice, which would allocate on every request.
func decodeHex(dst []byte, src string) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := hexValue(src[2*i])
		lo, ok2 := hexValue(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func hasNonASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// appendUnicodeEscaped appends body to dst with every non-ASCII character
// written as \uXXXX, and characters beyond the Basic Multilingual Plane as a
// UTF-16 surrogate pair, the way json_encode does. Invalid UTF-8 becomes
// \ufffd, which is what a JSON decoder reads it as.
func appendUnicodeEscaped(dst, body []byte, digits string) []byte {
	for len(body) > 0 {
		i := 0
		for i < len(body) && body[i] < utf8.RuneSelf {
			i++
		}
		dst = append(dst, body[:i]...)
		body = body[i:]
		if len(body) == 0 {
			break
		}
		r, size := utf8.DecodeRune(body)
		body = body[size:]
		if r > 0xFFFF {
			hi, lo := utf16.EncodeRune(r)
			dst = appendUnicodeEscape(dst, hi, digits)
			dst = appendUnicodeEscape(dst, lo, digits)
			continue
		}
		dst = appendUnicodeEscape(dst, r, digits)
	}
	return dst
}

func appendUnicodeEscape(dst []byte, r rune, digits string) []byte {
	return append(dst, '\\', 'u',
		digits[r>>12&0xF], digits[r>>8&0xF], digits[r>>4&0xF], digits[r&0xF])
}
