package access_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

// clock is a settable clock for the throttle.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

func throttledFor(t *testing.T, err error) time.Duration {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.ETOOMANY {
		t.Fatalf("got %v, want a throttled error", err)
	}
	return de.RetryAfter
}

// TestLoginThrottling guesses passwords as an attacker would: one address
// at one account is locked after five failures, even for the right
// password; the lock doubles and is capped; another address logs in to the
// same account meanwhile; getting in forgets the failures.
func TestLoginThrottling(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc := access.New(st)
	c := &clock{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	svc.Throttle.Now = c.Now
	var locks []string
	svc.Throttle.OnLock = func(kind string, keys []string, wait time.Duration) {
		locks = append(locks, fmt.Sprintf("%s %v %v", kind, keys, wait))
	}
	if _, err := svc.CreateUser(ctx, access.System(), access.UserInput{Email: "ana@x.io", Role: domain.RoleAdmin, Password: "a good password"}); err != nil {
		t.Fatal(err)
	}
	const attacker, office = "203.0.113.9", "198.51.100.7"
	for i := 0; i < 5; i++ {
		if _, err := svc.Login(ctx, "ana@x.io", "guess", attacker); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if d := throttledFor(t, second(svc.Login(ctx, "ana@x.io", "guess", attacker))); d != time.Second {
		t.Errorf("first lock %v, want 1s", d)
	}
	if len(locks) != 1 {
		t.Errorf("locks told: %v", locks)
	}
	// Locked: even the right password is refused, without being checked.
	throttledFor(t, second(svc.Login(ctx, "ANA@x.io", "a good password", attacker)))
	// The account is not locked for everyone.
	if _, err := svc.Login(ctx, "ana@x.io", "a good password", office); err != nil {
		t.Fatalf("from the office: %v", err)
	}
	// The attacker goes on as each lock ends: each lock doubles, up to the
	// cap, while the failures stay within the window.
	lock, total := time.Second, time.Duration(0)
	for i := 0; i < 12; i++ {
		c.advance(lock)
		total += lock
		want := min(2*lock, svc.Throttle.MaxLock)
		if lock = throttledFor(t, second(svc.Login(ctx, "ana@x.io", "guess", attacker))); lock != want {
			t.Fatalf("lock %d after %v: %v, want %v", i+2, total, lock, want)
		}
		if total+lock > svc.Throttle.Window {
			break
		}
	}
	if lock < 4*time.Minute {
		t.Errorf("the locks reached only %v", lock)
	}
	// Once the window has passed with no failure, the user gets in, which
	// forgets the account's failures from that address.
	c.advance(svc.Throttle.Window + svc.Throttle.MaxLock)
	if _, err := svc.Login(ctx, "ana@x.io", "a good password", attacker); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if _, err := svc.Login(ctx, "ana@x.io", "typo", attacker); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Errorf("a typo after getting in: %v", err)
	}

	// One address trying many accounts is stopped too.
	for i := 0; i < 20; i++ {
		svc.Login(ctx, fmt.Sprintf("user%d@x.io", i), "guess", "192.0.2.50")
	}
	throttledFor(t, second(svc.Login(ctx, "user99@x.io", "guess", "192.0.2.50")))
}

// TestTokenThrottling sends random tokens from one address: locked after
// twenty, even for a real token, while other addresses go on.
func TestTokenThrottling(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc := access.New(st)
	sa, _ := svc.CreateSubaccount(ctx, access.System(), access.SubaccountInput{Name: "A"})
	tok, err := svc.CreateToken(ctx, access.System(), access.TokenInput{Name: "crm", Role: domain.RoleViewer, SubaccountID: sa.ID})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := svc.Authenticate(ctx, fmt.Sprintf("tk_random%d", i), "203.0.113.9"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
			t.Fatalf("try %d: %v", i+1, err)
		}
	}
	throttledFor(t, second(svc.Authenticate(ctx, "tk_random21", "203.0.113.9")))
	throttledFor(t, second(svc.Authenticate(ctx, tok.Token, "203.0.113.9")))
	if _, err := svc.Authenticate(ctx, tok.Token, "198.51.100.7"); err != nil {
		t.Errorf("another address: %v", err)
	}
}
