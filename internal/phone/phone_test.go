package phone

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		region  string
		want    string
		wantErr error
	}{
		{"international with punctuation", "+55 11 98765-4321", "BR", "+5511987654321", nil},
		{"wa_id style, default region", "5511987654321", "BR", "+5511987654321", nil},
		{"national with area code in parentheses", "(11) 98765-4321", "BR", "+5511987654321", nil},
		{"lower-case region", "(11) 98765-4321", "br", "+5511987654321", nil},
		{"surrounding spaces", "  +5511987654321 ", "BR", "+5511987654321", nil},
		{"already E.164", "+5511987654321", "", "+5511987654321", nil},
		{"wa_id without ninth digit gets it back", "551187654321", "BR", "+5511987654321", nil},
		{"national mobile without ninth digit", "(11) 8765-4321", "BR", "+5511987654321", nil},
		{"legacy 7-prefixed mobile gets the nine", "+551176543210", "", "+5511976543210", nil},
		{"landline not altered", "551133334444", "BR", "+551133334444", nil},
		{"landline national", "(11) 3333-4444", "BR", "+551133334444", nil},
		{"wa_id of another country, BR default", "16505551234", "BR", "+16505551234", nil},
		{"wa_id with country code, other default", "5511987654321", "US", "+5511987654321", nil},
		{"wa_id with country code, no default", "5511987654321", "", "+5511987654321", nil},
		{"UK mobile", "+44 7911 123456", "BR", "+447911123456", nil},
		{"US with dots", "+1.650.555.1234", "", "+16505551234", nil},
		{"Meta test number is not a valid contact", "+15550783881", "", "", ErrInvalid},
		{"6-prefixed mobile gets the nine", "+551166543210", "BR", "+5511966543210", nil},
		{"empty", "", "BR", "", ErrEmpty},
		{"blank", "   ", "BR", "", ErrEmpty},
		{"letters", "abc", "BR", "", ErrNotANumber},
		{"vanity letters refused", "1-800-FLOWERS", "US", "", ErrNotANumber},
		{"extension refused", "+55 11 3333-4444 ext 12", "BR", "", ErrNotANumber},
		{"garbage punctuation", "++--()", "BR", "", ErrNotANumber},
		{"too short", "123", "BR", "", ErrTooShort},
		{"too short international", "+5511", "", "", ErrTooShort},
		{"too long", "12345678901234567890", "BR", "", ErrTooLong},
		{"too long international", "+5511987654321987", "", "", ErrTooLong},
		{"unknown country code", "+999123456789", "", "", ErrUnknownCountry},
		{"no region: read as international", "11987654321", "", "", ErrInvalid},
		{"valid length, not a BR number", "16505551234", "", "+16505551234", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.raw, tt.region)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Normalize(%q, %q) error = %v, want %v", tt.raw, tt.region, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%q, %q) error = %v", tt.raw, tt.region, err)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%q, %q) = %q, want %q", tt.raw, tt.region, got, tt.want)
			}
		})
	}
}

func TestNormalizeErrorsSayWhy(t *testing.T) {
	tests := []struct {
		raw, region, want string
	}{
		{"abc", "BR", "contains letters"},
		{"+15550783881", "", "not a valid number for US"},
		{"123", "BR", "too short"},
		{"+5511987654321987", "", "too long"},
		{"+999123456789", "", "unknown country code"},
		{"11987654321", "XX", `unknown default region "XX"`},
	}
	for _, tt := range tests {
		_, err := Normalize(tt.raw, tt.region)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Normalize(%q, %q) error = %v, want it to say %q", tt.raw, tt.region, err, tt.want)
		}
	}
}

func TestFromWAID(t *testing.T) {
	tests := []struct {
		name    string
		waID    string
		want    string
		wantErr error
	}{
		{"BR mobile", "5511987654321", "+5511987654321", nil},
		{"BR mobile without ninth digit kept as sent", "551187654321", "+551187654321", nil},
		{"BR landline", "551133334444", "+551133334444", nil},
		{"Meta test number 650", "16505551234", "+16505551234", nil},
		{"Meta test number 555", "15550783881", "+15550783881", nil},
		{"UK mobile", "447911123456", "+447911123456", nil},
		{"leading plus tolerated", "+5511987654321", "+5511987654321", nil},
		{"empty", "", "", ErrEmpty},
		{"letters", "55119876abcd", "", ErrNotANumber},
		{"punctuation", "55 11 98765-4321", "", ErrNotANumber},
		{"too short", "5511987", "", ErrTooShort},
		{"too long for E.164", "5511987654321987", "", ErrTooLong},
		{"too long for the country", "551198765432198", "", ErrTooLong},
		{"too short for the country", "55119876", "", ErrTooShort},
		{"unknown country code", "999123456789", "", ErrUnknownCountry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromWAID(tt.waID)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("FromWAID(%q) error = %v, want %v", tt.waID, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromWAID(%q) error = %v", tt.waID, err)
			}
			if got != tt.want {
				t.Fatalf("FromWAID(%q) = %q, want %q", tt.waID, got, tt.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"+551187654321", "+5511987654321"}, // mobile without its nine
		{"551187654321", "+5511987654321"},  // same, as a wa_id
		{"+5511987654321", "+5511987654321"},
		{"+552176543210", "+5521976543210"},
		{"+551166543210", "+5511966543210"},
		{"+551196543210", "+5511996543210"},
		{"+551133334444", "+551133334444"}, // landline
		{"+551123334444", "+551123334444"},
		{"+551153334444", "+551153334444"},
		{"+550187654321", "+550187654321"}, // no area code has a zero
		{"+551087654321", "+551087654321"},
		{"+16505551234", "+16505551234"},
		{"+447911123456", "+447911123456"},
		{"+4412345678901", "+4412345678901"},
		{"", ""},
		{"not a number", "not a number"},
		{"+55 11 8765-4321", "+55 11 8765-4321"}, // not E.164: left alone
	}
	for _, tt := range tests {
		if got := Canonical(tt.in); got != tt.want {
			t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSameContact(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"ninth-digit pair, wa_id and E.164", "551187654321", "+5511987654321", true},
		{"ninth-digit pair, both E.164", "+551187654321", "+5511987654321", true},
		{"same number, with and without plus", "5511987654321", "+5511987654321", true},
		{"Rio ninth-digit pair", "+552176543210", "+5521976543210", true},
		{"landline is not a mobile", "+551133334444", "+5511933334444", false},
		{"landline equals itself", "551133334444", "+551133334444", true},
		{"different numbers", "+5511987654321", "+5511987654322", false},
		{"different area code", "+551187654321", "+5521987654321", false},
		{"US test numbers", "16505551234", "+16505551234", true},
		{"US numbers differ", "+16505551234", "+15550783881", false},
		{"empty matches nothing", "", "", false},
		{"garbage matches nothing", "abc", "abc", false},
		{"garbage and a number", "abc", "+5511987654321", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameContact(tt.a, tt.b); got != tt.want {
				t.Fatalf("SameContact(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := SameContact(tt.b, tt.a); got != tt.want {
				t.Fatalf("SameContact(%q, %q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

// A wa_id and the number a customer typed must meet at the same key: that is
// how an inbound message finds the contact of a campaign row.
func TestFromWAIDAndNormalizeMeet(t *testing.T) {
	pairs := []struct{ waID, typed string }{
		{"551187654321", "(11) 98765-4321"},
		{"5511987654321", "+55 11 98765-4321"},
		{"551133334444", "(11) 3333-4444"},
		{"16505551234", "+1 650 555 1234"},
	}
	for _, p := range pairs {
		fromWA, err := FromWAID(p.waID)
		if err != nil {
			t.Fatalf("FromWAID(%q): %v", p.waID, err)
		}
		typed, err := Normalize(p.typed, "BR")
		if err != nil {
			t.Fatalf("Normalize(%q): %v", p.typed, err)
		}
		if Canonical(fromWA) != Canonical(typed) || !SameContact(fromWA, typed) {
			t.Errorf("wa_id %q (%s) and %q (%s) should be the same contact", p.waID, fromWA, p.typed, typed)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+55 11 98765-4321", "551187654321", "(11) 3333-4444", "abc", "", "+", "16505551234", "١٢٣٤٥٦٧٨٩٠"} {
		f.Add(s, "BR")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := Normalize(raw, region)
		if err != nil {
			return
		}
		if !strings.HasPrefix(got, "+") || !isDigits(got[1:]) {
			t.Fatalf("Normalize(%q, %q) = %q, not E.164", raw, region, got)
		}
		if Canonical(got) != got {
			t.Fatalf("Normalize(%q, %q) = %q, not canonical", raw, region, got)
		}
		again, err := Normalize(got, "")
		if err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; want it unchanged", got, again, err)
		}
	})
}

func FuzzFromWAID(f *testing.F) {
	for _, s := range []string{"5511987654321", "551187654321", "15550783881", "", "+", "0000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, waID string) {
		got, err := FromWAID(waID)
		if err != nil {
			return
		}
		if !strings.HasPrefix(got, "+") || !isDigits(got[1:]) || len(got) > 16 {
			t.Fatalf("FromWAID(%q) = %q, not E.164", waID, got)
		}
		if c := Canonical(got); Canonical(c) != c {
			t.Fatalf("Canonical not idempotent on %q", got)
		}
	})
}

// Audience uploads normalize every row; webhooks canonicalize every event.
func BenchmarkNormalize(b *testing.B) {
	for b.Loop() {
		if _, err := Normalize("(11) 98765-4321", "BR"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCanonical(b *testing.B) {
	for b.Loop() {
		_ = Canonical("551187654321")
	}
}
