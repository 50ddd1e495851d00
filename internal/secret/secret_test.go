package secret

import (
	"encoding/base64"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

// defaultPasswordParams keeps the production parameters for the one test
// that checks them; every other test hashes with cheap ones.
var defaultPasswordParams = PasswordParams

func TestMain(m *testing.M) {
	PasswordParams = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
	os.Exit(m.Run())
}

const testKey = "test-secret-key-0123456789"

// knownSealed is "EAAG-channel-access-token" sealed under testKey by another
// implementation; see TestBoxOpensKnownValue.
const knownSealed = "v1:AAECAwQFBgcICQoLWQx3gvBTE2JkQXdkLHd6MVAGwN8N1TOdyTJ45Wez3zTmii1q3Vcj6vs"

func mustBox(t *testing.T, key string) *Box {
	t.Helper()
	b, err := NewBox(key)
	if err != nil {
		t.Fatalf("NewBox: %v", err)
	}
	return b
}

func TestNewBoxKeyLength(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		wantErr bool
	}{
		{"empty", "", true},
		{"15 characters", "123456789012345", true},
		{"16 characters", "1234567890123456", false},
		{"long", strings.Repeat("k", 200), false},
		{"16 multi-byte characters", strings.Repeat("ç", 16), false},
		{"15 multi-byte characters (30 bytes)", strings.Repeat("ç", 15), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBox(tt.key)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewBox error = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && tt.key != "" && strings.Contains(err.Error(), tt.key) {
				t.Fatalf("error %q reveals the key", err)
			}
		})
	}
}

func TestBoxRoundTrip(t *testing.T) {
	box := mustBox(t, testKey)
	for _, plain := range []string{"", "EAAG-token", "ação çãõé 🚀", strings.Repeat("x", 10000)} {
		sealed, err := box.Seal(plain)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if !regexp.MustCompile(`^v1:[A-Za-z0-9_-]+$`).MatchString(sealed) {
			t.Fatalf("Seal(%.20q) = %.40q, want v1:base64url", plain, sealed)
		}
		if plain != "" && strings.Contains(sealed, plain) {
			t.Fatalf("sealed value contains the plaintext")
		}
		got, err := box.Open(sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if got != plain {
			t.Fatalf("Open(Seal(%.20q)) = %.20q", plain, got)
		}
	}
}

func TestBoxSealUsesFreshNonce(t *testing.T) {
	box := mustBox(t, testKey)
	a, _ := box.Seal("same")
	b, _ := box.Seal("same")
	if a == b {
		t.Fatal("sealing the same plaintext twice gave the same value: nonce reused")
	}
}

// A value sealed by an independent implementation (Python's cryptography:
// HKDF-SHA256 with the same info string, AES-256-GCM, nonce 00..0b) must
// open: if the key derivation or format ever changes, stored channel tokens
// would become unreadable, and this test is what notices.
func TestBoxOpensKnownValue(t *testing.T) {
	got, err := mustBox(t, testKey).Open(knownSealed)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got != "EAAG-channel-access-token" {
		t.Fatalf("Open = %q", got)
	}
}

func TestBoxOpenErrors(t *testing.T) {
	box := mustBox(t, testKey)
	good, _ := box.Seal("EAAG-token")
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(good, "v1:"))
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	otherKey, _ := mustBox(t, "another-secret-key-456").Seal("EAAG-token")

	tests := []struct {
		name   string
		sealed string
		want   error
	}{
		{"wrong key", otherKey, ErrDecrypt},
		{"tampered ciphertext", "v1:" + base64.RawURLEncoding.EncodeToString(flipped), ErrDecrypt},
		{"empty", "", ErrMalformed},
		{"plaintext stored by mistake", "EAAG-token", ErrMalformed},
		{"unknown version", "v2:" + strings.TrimPrefix(good, "v1:"), ErrMalformed},
		{"not base64url", "v1:!!!not base64!!!", ErrMalformed},
		{"padded base64", good + "==", ErrMalformed},
		{"too short", "v1:AAECAwQ", ErrMalformed},
		{"prefix only", "v1:", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := box.Open(tt.sealed)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open error = %v, want %v", err, tt.want)
			}
			if got != "" {
				t.Fatalf("Open returned %q with an error", got)
			}
			if strings.Contains(err.Error(), "EAAG") {
				t.Fatalf("error %q reveals the secret", err)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	tok, err := NewToken("tk_")
	if err != nil {
		t.Fatalf("NewToken: %v", err)
	}
	if !regexp.MustCompile(`^tk_[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Fatalf("NewToken = %q, want tk_ + 43 base64url characters", tok)
	}
	other, _ := NewToken("tk_")
	if tok == other {
		t.Fatal("two tokens are equal")
	}
}

func TestHashToken(t *testing.T) {
	tests := []struct {
		token, want string
	}{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		if got := HashToken(tt.token); got != tt.want {
			t.Errorf("HashToken(%q) = %s, want %s", tt.token, got, tt.want)
		}
	}
}

func TestTokenPrefix(t *testing.T) {
	tests := []struct {
		token, want string
	}{
		{"tk_abcdefghijklmnop", "tk_abcdefg"},
		{"tk_abcdefg", "tk_abcdefg"},
		{"tk_ab", "tk_ab"},
		{"", ""},
		{"çççççççççççç", "çççççççççç"}, // characters, not bytes
	}
	for _, tt := range tests {
		if got := TokenPrefix(tt.token); got != tt.want {
			t.Errorf("TokenPrefix(%q) = %q, want %q", tt.token, got, tt.want)
		}
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"admin-token", "admin-token", true},
		{"admin-token", "admin-tokeN", false},
		{"admin-token", "admin-token-longer", false},
		{"admin-token", "", false},
		{"", "admin-token", false},
		{"", "", false}, // an unset token matches nothing
		{"ç", "ç", true},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestHashPasswordFormat(t *testing.T) {
	enc, err := HashPassword("correct horse")
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(enc) {
		t.Fatalf("HashPassword = %q, not PHC argon2id", enc)
	}
	again, _ := HashPassword("correct horse")
	if again == enc {
		t.Fatal("two hashes of one password are equal: salt reused")
	}
}

func TestHashPasswordTooShort(t *testing.T) {
	tests := []struct {
		pw      string
		wantErr bool
	}{
		{"", true},
		{"1234567", true},
		{"12345678", false},
		{"çççççççç", false}, // 8 characters, 16 bytes
		{"ççççççç", true},   // 7 characters, 14 bytes
	}
	for _, tt := range tests {
		_, err := HashPassword(tt.pw)
		if tt.wantErr != errors.Is(err, ErrPasswordTooShort) {
			t.Errorf("HashPassword(%q) error = %v, wantErr %v", tt.pw, err, tt.wantErr)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	enc, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		encoded string
		pw      string
		want    bool
		wantErr bool
	}{
		{"right password", enc, "correct horse", true, false},
		{"wrong password", enc, "correct horsE", false, false},
		{"empty password", enc, "", false, false},
		// Made with Python's cryptography (OpenSSL's argon2id), so the
		// format and algorithm agree with another implementation.
		{"foreign hash", "$argon2id$v=19$m=64,t=1,p=1$dGlja3MtZml4ZWQtc2FsdA$JnNOifK9cZ95ARYiV/As+7OZ8Ege4RVSxKvlT0PmoXo", "correct horse battery", true, false},
		{"foreign hash, other params", "$argon2id$v=19$m=1024,t=2,p=2$dGlja3MtZml4ZWQtc2FsdA$7cXfhLUHYeCUwoCd2Q5lV9sH1dr9mijD+1eAoUdUvTE", "senha-çã-segura", true, false},
		{"foreign hash, wrong password", "$argon2id$v=19$m=1024,t=2,p=2$dGlja3MtZml4ZWQtc2FsdA$7cXfhLUHYeCUwoCd2Q5lV9sH1dr9mijD+1eAoUdUvTE", "senha-ca-segura", false, false},
		{"empty hash", "", "x", false, true},
		{"bcrypt hash", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "x", false, true},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$dGlja3MtZml4ZWQtc2FsdA$JnNOifK9cZ95ARYiV/As+7OZ8Ege4RVSxKvlT0PmoXo", "x", false, true},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$dGlja3MtZml4ZWQtc2FsdA$JnNOifK9cZ95ARYiV/As+7OZ8Ege4RVSxKvlT0PmoXo", "x", false, true},
		{"zero time", "$argon2id$v=19$m=64,t=0,p=1$dGlja3MtZml4ZWQtc2FsdA$JnNOifK9cZ95ARYiV/As+7OZ8Ege4RVSxKvlT0PmoXo", "x", false, true},
		{"zero threads", "$argon2id$v=19$m=64,t=1,p=0$dGlja3MtZml4ZWQtc2FsdA$JnNOifK9cZ95ARYiV/As+7OZ8Ege4RVSxKvlT0PmoXo", "x", false, true},
		{"huge memory", "$argon2id$v=19$m=4194304,t=1,p=1$dGlja3MtZml4ZWQtc2FsdA$JnNOifK9cZ95ARYiV/As+7OZ8Ege4RVSxKvlT0PmoXo", "x", false, true},
		{"parameters out of order", "$argon2id$v=19$t=1,m=64,p=1$dGlja3MtZml4ZWQtc2FsdA$JnNOifK9cZ95ARYiV/As+7OZ8Ege4RVSxKvlT0PmoXo", "x", false, true},
		{"trailing junk in parameters", "$argon2id$v=19$m=64,t=1,p=1x$dGlja3MtZml4ZWQtc2FsdA$JnNOifK9cZ95ARYiV/As+7OZ8Ege4RVSxKvlT0PmoXo", "x", false, true},
		{"bad salt", "$argon2id$v=19$m=64,t=1,p=1$!!$JnNOifK9cZ95ARYiV/As+7OZ8Ege4RVSxKvlT0PmoXo", "x", false, true},
		{"short hash", "$argon2id$v=19$m=64,t=1,p=1$dGlja3MtZml4ZWQtc2FsdA$AAAA", "x", false, true},
		{"extra field", enc + "$x", "correct horse", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckPassword(tt.encoded, tt.pw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckPassword error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("CheckPassword = %v, want %v", got, tt.want)
			}
		})
	}
}

// Production parameters once, so a typo in them (which panics in argon2 or
// writes an unreadable hash) fails here and not at the first login.
func TestPasswordDefaultParams(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with production cost")
	}
	saved := PasswordParams
	PasswordParams = defaultPasswordParams
	defer func() { PasswordParams = saved }()

	enc, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Fatalf("HashPassword = %q", enc)
	}
	if ok, err := CheckPassword(enc, "correct horse"); !ok || err != nil {
		t.Fatalf("CheckPassword = %v, %v", ok, err)
	}
}

func FuzzBoxOpen(f *testing.F) {
	box, err := NewBox(testKey)
	if err != nil {
		f.Fatal(err)
	}
	// Fixed, not sealed here: each fuzz worker runs this setup again, and a
	// fresh seal would differ from the one in another worker.
	const good = knownSealed
	for _, s := range []string{good, "", "v1:", "v1:AAAA", "v2:x", "EAAG"} {
		f.Add(s)
	}
	// Only Seal's bytes authenticate; anything else is a forgery. Other
	// spellings of them open too: encoding/base64 skips '\r' and '\n' and
	// ignores the unused low bits of the last character.
	sealedBytes := func(sealed string) string {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, sealedPrefix))
		if err != nil {
			return ""
		}
		return string(raw)
	}
	want := sealedBytes(good)
	f.Fuzz(func(t *testing.T, sealed string) {
		got, err := box.Open(sealed)
		if err == nil && (!strings.HasPrefix(sealed, sealedPrefix) || sealedBytes(sealed) != want) {
			t.Fatalf("Open(%q) = %q, want an error", sealed, got)
		}
	})
}

func FuzzCheckPassword(f *testing.F) {
	// Fixed seeds only: fuzz workers rerun this setup, and a fresh hash
	// would have a different salt in each.
	const enc = "$argon2id$v=19$m=64,t=1,p=1$dGlja3MtZml4ZWQtc2FsdA$JnNOifK9cZ95ARYiV/As+7OZ8Ege4RVSxKvlT0PmoXo"
	for _, s := range []string{enc, "", "$argon2id$v=19$m=64,t=1,p=1$$", "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		// Must never panic, whatever a corrupt row holds; cost is bounded by
		// decodeHash, so keep the fuzzer from asking for big parameters.
		p, _, _, err := decodeHash(encoded)
		if err == nil && (p.MemoryKiB > 4096 || p.Time > 2) {
			return
		}
		_, _ = CheckPassword(encoded, "correct horse")
	})
}
