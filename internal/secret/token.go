package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// tokenBytes is the randomness of an API token: 256 bits, beyond any
// guessing, which is what lets HashToken be a plain fast hash.
const tokenBytes = 32

// tokenDisplayLength is how much of a token TokenPrefix shows: enough for a
// person to tell their keys apart, far too little to help guess one.
const tokenDisplayLength = 10

// NewToken returns a new API token: prefix followed by 32 random bytes in
// base64url, for example "tk_" + 43 characters. The prefix lets people and
// secret scanners recognise a ticks token.
func NewToken(prefix string) (token string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("secret: token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken returns the hex SHA-256 of token, the form stored in the
// database. A fast hash is right here, unlike for passwords: a token carries
// 256 random bits, so no amount of hashing speed makes guessing it
// feasible, and every API request can afford to hash its token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenPrefix returns the first 10 characters of token, stored in clear
// beside the hash so lists of API keys can show which key is which.
func TokenPrefix(token string) string {
	n := 0
	for i := range token {
		if n == tokenDisplayLength {
			return token[:i]
		}
		n++
	}
	return token
}

// Equal reports whether a and b are equal, in time that depends on neither
// their contents nor their lengths, for comparing presented tokens (admin
// token, webhook verify token) with configured ones. An empty string equals
// nothing, not even another empty string, so an unset token can never be
// matched by an empty one.
func Equal(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	// Hashing first gives both sides the same length, so the comparison
	// does not reveal the configured token's length either.
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
