package secret

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// MinPasswordLength is the shortest password HashPassword accepts, in
// characters.
const MinPasswordLength = 8

// ErrPasswordTooShort is returned by HashPassword for passwords shorter than
// MinPasswordLength.
var ErrPasswordTooShort = fmt.Errorf("secret: password must be at least %d characters long", MinPasswordLength)

// errBadHash is wrapped by CheckPassword when the stored hash cannot be read.
var errBadHash = errors.New("secret: malformed password hash")

// Argon2Params are the argon2id cost parameters of a password hash.
type Argon2Params struct {
	Time      uint32 // passes over memory
	MemoryKiB uint32 // memory per hash, in KiB
	Threads   uint8  // lanes computed in parallel
	SaltLen   uint32 // bytes of random salt
	KeyLen    uint32 // bytes of derived hash
}

// PasswordParams are used by HashPassword for new hashes; CheckPassword
// reads the parameters stored in each hash, so raising these later does not
// lock anyone out. Memory is what makes argon2id costly to attack, so it
// stays at RFC 9106's 64 MiB; two passes and two lanes (ticks' reference
// machine has 2 cores) keep a login near 0.1 s there, above OWASP's
// minimum (19 MiB, t=2). Tests may lower them (set them once, in TestMain,
// before any goroutine hashes).
var PasswordParams = Argon2Params{
	Time:      2,
	MemoryKiB: 64 * 1024,
	Threads:   2,
	SaltLen:   16,
	KeyLen:    32,
}

// Bounds on parameters read from a stored hash, so a corrupt row can neither
// crash argon2 (which panics on zero time or threads) nor ask for gigabytes.
const (
	maxTime      = 16
	maxMemoryKiB = 1 << 20 // 1 GiB
	minSaltLen   = 8
	minKeyLen    = 16
	maxKeyLen    = 128
)

// hashSlots limits how many hashes run at once. Each one holds its memory
// cost (64 MiB) until done; a burst of logins beyond the CPU count would not
// finish sooner, only multiply that memory, so extra callers wait their turn.
var hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

func argon2idKey(pw string, salt []byte, p Argon2Params) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
}

// HashPassword hashes pw with argon2id and PasswordParams and returns it in
// the PHC string format: $argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>, salt
// and hash in unpadded standard base64.
func HashPassword(pw string) (string, error) {
	if utf8.RuneCountInString(pw) < MinPasswordLength {
		return "", ErrPasswordTooShort
	}
	p := PasswordParams
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("secret: salt: %w", err)
	}
	key := argon2idKey(pw, salt, p)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches encoded, a hash made by
// HashPassword (with any parameters). A wrong password is (false, nil); an
// error means encoded itself is unreadable.
func CheckPassword(encoded, pw string) (bool, error) {
	p, salt, want, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2idKey(pw, salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// decodeHash parses a PHC argon2id string strictly: the parameters must be
// in the order and form HashPassword writes them.
func decodeHash(encoded string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: want $argon2id$v=19$m=…,t=…,p=…$salt$hash", errBadHash)
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q, want argon2id", errBadHash, parts[1])
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q, want v=%d", errBadHash, parts[2], argon2.Version)
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Time, threads) {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", errBadHash, parts[3])
	}
	if p.Time < 1 || p.Time > maxTime || threads < 1 || threads > 255 ||
		p.MemoryKiB < 8*threads || p.MemoryKiB > maxMemoryKiB {
		return p, nil, nil, fmt.Errorf("%w: parameters %q out of range", errBadHash, parts[3])
	}
	p.Threads = uint8(threads)
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < minSaltLen {
		return p, nil, nil, fmt.Errorf("%w: salt", errBadHash)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("%w: hash", errBadHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}
