// Package secret holds ticks' small cryptographic tools: encryption of
// secrets stored in the database, API tokens, password hashes and
// constant-time comparison. Each is built on the standard library or
// golang.org/x/crypto; nothing here invents cryptography.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MinKeyLength is the shortest TICKS_SECRET_KEY NewBox accepts, in
// characters. HKDF does not slow down guessing, so the key must already be
// random: generate it with, for example, `openssl rand -base64 32`.
const MinKeyLength = 16

// sealedPrefix versions the sealed format, so a later change of algorithm or
// key can tell old values from new ones and re-encrypt them.
const sealedPrefix = "v1:"

// hkdfInfo separates the AES key from any other key ticks may one day derive
// from the same TICKS_SECRET_KEY.
const hkdfInfo = "ticks secret.Box v1 AES-256-GCM"

// Errors of Open; test with errors.Is. Neither repeats the sealed value.
var (
	// ErrMalformed means the value is not something Seal produced.
	ErrMalformed = errors.New("secret: malformed sealed value")
	// ErrDecrypt means authentication failed: the key differs from the one
	// that sealed the value, or the value was altered.
	ErrDecrypt = errors.New("secret: cannot decrypt: wrong TICKS_SECRET_KEY or tampered value")
)

// Box encrypts secrets kept at rest, such as channel access tokens, with
// AES-256-GCM under a key derived from TICKS_SECRET_KEY. It is safe for
// concurrent use.
type Box struct {
	aead cipher.AEAD
}

// NewBox derives the encryption key from key (TICKS_SECRET_KEY) with
// HKDF-SHA256 and returns a Box using it. The key must have at least
// MinKeyLength characters.
func NewBox(key string) (*Box, error) {
	if utf8.RuneCountInString(key) < MinKeyLength {
		// The error names the rule, never the key or its length.
		return nil, fmt.Errorf("secret: the secret key must be at least %d characters long (generate one with `openssl rand -base64 32`)", MinKeyLength)
	}
	aesKey, err := hkdf.Key(sha256.New, []byte(key), nil, hkdfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("secret: derive key: %w", err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext and returns "v1:" + base64url(nonce || ciphertext).
// Every call draws a fresh random nonce, so sealing the same value twice
// gives different results; random 96-bit nonces stay safe far beyond the
// number of secrets ticks will ever store under one key.
func (b *Box) Seal(plaintext string) (string, error) {
	nonceSize := b.aead.NonceSize()
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("secret: nonce: %w", err)
	}
	sealed := b.aead.Seal(buf, buf[:nonceSize], []byte(plaintext), nil)
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value made by Seal. It returns an error wrapping
// ErrMalformed when the value is not in Seal's format and ErrDecrypt when
// the key is wrong or the value was tampered with.
func (b *Box) Open(sealed string) (string, error) {
	encoded, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		if version, _, found := strings.Cut(sealed, ":"); found && len(version) <= 8 {
			return "", fmt.Errorf("%w: unknown version %q", ErrMalformed, version)
		}
		return "", fmt.Errorf("%w: missing %q prefix", ErrMalformed, sealedPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("%w: not base64url", ErrMalformed)
	}
	nonceSize := b.aead.NonceSize()
	if len(raw) < nonceSize+b.aead.Overhead() {
		return "", fmt.Errorf("%w: too short", ErrMalformed)
	}
	plaintext, err := b.aead.Open(nil, raw[:nonceSize], raw[nonceSize:], nil)
	if err != nil {
		return "", ErrDecrypt
	}
	return string(plaintext), nil
}
