package cloudapi

import (
	"context"
	"sync"
	"time"
)

// Throughput bounds of a phone number: Meta's default is 80 messages/s,
// raised up to 1,000 for numbers that qualify.
const (
	DefaultThroughput = 80
	MaxThroughput     = 1000
)

// throughputLimiter keeps one token bucket per phone_number_id, so the
// platform stays under Meta's per-number throughput instead of learning
// about it from 130429 errors. Numbers never share a bucket.
type throughputLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

// bucket is a token bucket: rate tokens per second, holding at most rate
// tokens (burst = one second of traffic). tokens goes negative while
// callers wait: each waiter has reserved its future token.
type bucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

// set changes the rate of phoneNumberID's bucket, creating it full.
func (l *throughputLimiter) set(phoneNumberID string, perSecond int, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(phoneNumberID, now)
	b.refill(now)
	b.rate = float64(perSecond)
	b.tokens = min(b.tokens, b.rate)
}

// wait blocks until phoneNumberID may send one more message, or ctx ends.
func (l *throughputLimiter) wait(ctx context.Context, phoneNumberID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	now := time.Now()
	b := l.bucketLocked(phoneNumberID, now)
	b.refill(now)
	b.tokens--
	var delay time.Duration
	if b.tokens < 0 {
		delay = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if delay <= 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		// Give the reserved token back so an abandoned wait does not
		// slow down the sends that remain.
		l.mu.Lock()
		now := time.Now()
		b.refill(now)
		b.tokens = min(b.tokens+1, b.rate)
		l.mu.Unlock()
		return ctx.Err()
	}
}

// bucketLocked returns phoneNumberID's bucket, creating a full one at the
// default rate. l.mu must be held.
func (l *throughputLimiter) bucketLocked(phoneNumberID string, now time.Time) *bucket {
	if l.buckets == nil {
		l.buckets = make(map[string]*bucket)
	}
	b, ok := l.buckets[phoneNumberID]
	if !ok {
		b = &bucket{rate: DefaultThroughput, tokens: DefaultThroughput, last: now}
		l.buckets[phoneNumberID] = b
	}
	return b
}

// refill adds the tokens earned since the last call, up to the burst.
func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.tokens+elapsed.Seconds()*b.rate, b.rate)
		b.last = now
	}
}
