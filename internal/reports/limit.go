package reports

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
)

// ExportLimiter bounds the exports written at once: each holds a few
// windows of rows in memory while it streams, so a burst of them must
// queue instead of taking the server's memory. A request waits its turn up
// to Wait, then is refused with ETOOMANY and a time to retry.
type ExportLimiter struct {
	PerServer int           // exports written at once by this server
	PerScope  int           // by one principal's subaccounts, so one of them cannot fill the server
	Wait      time.Duration // how long a request queues

	mu      sync.Mutex
	running int
	byScope map[string]int
	freed   chan struct{} // closed and replaced each time a slot frees
}

// NewExportLimiter returns a limiter of max(2, cores) exports at once, two
// per scope, waiting up to 30 seconds for a turn.
func NewExportLimiter() *ExportLimiter {
	return &ExportLimiter{PerServer: max(2, runtime.GOMAXPROCS(0)), PerScope: 2, Wait: 30 * time.Second}
}

// acquire waits for a slot for p's scope and returns the function that
// frees it.
func (l *ExportLimiter) acquire(ctx context.Context, p *access.Principal) (func(), error) {
	if l == nil {
		return func() {}, nil
	}
	key := scopeKey(p)
	timer := time.NewTimer(l.Wait)
	defer timer.Stop()
	for {
		l.mu.Lock()
		if l.byScope == nil {
			l.byScope = map[string]int{}
		}
		if l.freed == nil {
			l.freed = make(chan struct{})
		}
		if l.running < l.PerServer && l.byScope[key] < l.PerScope {
			l.running++
			l.byScope[key]++
			l.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { l.release(key) }) }, nil
		}
		freed := l.freed
		l.mu.Unlock()
		select {
		case <-freed:
		case <-timer.C:
			return nil, domain.RetryAfter(10*time.Second, "too many exports are being written: try again in a few seconds")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *ExportLimiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running--
	if l.byScope[key]--; l.byScope[key] <= 0 {
		delete(l.byScope, key)
	}
	close(l.freed)
	l.freed = make(chan struct{})
}

// scopeKey names the subaccounts a principal exports from.
func scopeKey(p *access.Principal) string {
	if p.Scope == nil {
		return "all"
	}
	ids := slices.Clone(p.Scope)
	slices.Sort(ids)
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "%d,", id)
	}
	return b.String()
}
