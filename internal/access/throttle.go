package access

import (
	"log/slog"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// Throttle slows down guessing: passwords tried against accounts, and
// API tokens tried at random. It counts failures per key (an address, an
// account, an account from one address) in a sliding window; past a key's
// allowance each further failure locks the key for twice as long as the
// last, up to a cap. A locked key is refused before its password is even
// checked. The cap and the higher allowance of an account tried from many
// addresses keep an attacker from locking a real user out for long, while
// one address guessing at one account is stopped after a handful of tries.
//
// It lives in the process: each server of a PostgreSQL deployment throttles
// what reaches it.
type Throttle struct {
	Window  time.Duration // failures older than this are forgotten
	MaxLock time.Duration // the longest lock
	// OnLock is told of each new lock: its kind (login or token), the keys
	// locked and for how long. NewThrottle logs it.
	OnLock func(kind string, keys []string, wait time.Duration)
	// Now is the clock, replaceable in tests.
	Now func() time.Time

	mu   sync.Mutex
	keys map[string]*attempts
}

// attempts is what a key did lately.
type attempts struct {
	failures []time.Time // within the window, oldest first
	until    time.Time   // locked until
	lock     time.Duration
}

// Allowances: failures tolerated in the window before a lock.
const (
	perAccountFromAddress = 5  // one address guessing one account
	perAddress            = 20 // one address guessing many accounts, or tokens
	perAccount            = 50 // one account guessed from many addresses
)

// NewThrottle returns a throttle with a 15-minute window and locks of at
// most 15 minutes.
func NewThrottle() *Throttle {
	return &Throttle{Window: 15 * time.Minute, MaxLock: 15 * time.Minute, OnLock: logLock, Now: time.Now, keys: map[string]*attempts{}}
}

// check returns a throttled error if any of keys is locked now.
func (t *Throttle) check(keys ...string) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	var wait time.Duration
	for _, k := range keys {
		if a := t.keys[k]; a != nil && now.Before(a.until) {
			wait = max(wait, a.until.Sub(now))
		}
	}
	if wait > 0 {
		return throttled(wait)
	}
	return nil
}

func throttled(wait time.Duration) error {
	return domain.RetryAfter(wait, "too many failed attempts: try again in %s", wait.Round(time.Second))
}

// fail records a failure under each key with its allowance, locking those
// past it, and returns the throttled error when one was locked.
func (t *Throttle) fail(kind string, keys []string, allowances []int) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	now := t.Now()
	var wait time.Duration
	var locked []string
	for i, k := range keys {
		a := t.keys[k]
		if a == nil {
			a = &attempts{}
			t.keys[k] = a
		}
		a.failures = append(dropBefore(a.failures, now.Add(-t.Window)), now)
		if len(a.failures) > allowances[i] {
			a.lock = min(max(2*a.lock, time.Second), t.MaxLock)
			a.until = now.Add(a.lock)
			wait = max(wait, a.lock)
			locked = append(locked, k)
		}
	}
	t.forgetOld(now)
	t.mu.Unlock()
	if wait == 0 {
		return nil
	}
	if t.OnLock != nil {
		t.OnLock(kind, locked, wait)
	}
	return throttled(wait)
}

// succeed forgets a key's failures: a user who got in is not throttled for
// the typos before.
func (t *Throttle) succeed(keys ...string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.keys, k)
	}
}

// forgetOld drops keys with nothing left to remember, so that addresses
// tried once do not pile up.
func (t *Throttle) forgetOld(now time.Time) {
	if len(t.keys) < 10_000 {
		return
	}
	for k, a := range t.keys {
		if now.After(a.until) && (len(a.failures) == 0 || now.Sub(a.failures[len(a.failures)-1]) > t.Window) {
			delete(t.keys, k)
		}
	}
}

func dropBefore(ts []time.Time, cut time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cut) {
		i++
	}
	return ts[i:]
}

// Login keys for an account and an address.
func loginKeys(email, addr string) []string {
	return []string{"ip:" + addr, "acct:" + email, "acct-ip:" + email + "|" + addr}
}

var loginAllowances = []int{perAddress, perAccount, perAccountFromAddress}

// logLock is the default OnLock: a line for the admin.
func logLock(kind string, keys []string, wait time.Duration) {
	slog.Warn("authentication throttled", slog.String("kind", kind), slog.Any("keys", keys), slog.Duration("lock", wait))
}
