package reports

import (
	"context"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
)

func TestExportLimiter(t *testing.T) {
	l := &ExportLimiter{PerServer: 2, PerScope: 1, Wait: 200 * time.Millisecond}
	a := &access.Principal{Role: domain.RoleViewer, Scope: []int64{2}}
	a2 := &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{2}} // the same subaccounts
	b := &access.Principal{Role: domain.RoleViewer, Scope: []int64{3}}
	c := access.System()
	ctx := context.Background()

	freeA, err := l.acquire(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	// The same scope waits, then is told to retry.
	start := time.Now()
	_, err = l.acquire(ctx, a2)
	var de *domain.Error
	if domain.ErrorCode(err) != domain.ETOOMANY || time.Since(start) < l.Wait {
		t.Fatalf("a second export of one scope: %v after %v", err, time.Since(start))
	}
	if de, _ = err.(*domain.Error); de == nil || de.RetryAfter <= 0 {
		t.Errorf("no time to retry: %v", err)
	}
	freeB, err := l.acquire(ctx, b)
	if err != nil {
		t.Fatalf("another scope: %v", err)
	}
	// The server is full: a third scope waits until one is freed.
	got := make(chan error, 1)
	go func() {
		free, err := l.acquire(ctx, c)
		if err == nil {
			defer free()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a third export went ahead while the server was full: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	freeA()
	freeA() // freeing twice frees once
	if err := <-got; err != nil {
		t.Fatalf("after a slot freed: %v", err)
	}
	// A request gone away stops waiting.
	freeC, _ := l.acquire(ctx, c)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.acquire(cctx, a); err != context.Canceled {
		t.Errorf("canceled wait: %v", err)
	}
	freeB()
	freeC()
	if l.running != 0 || len(l.byScope) != 0 {
		t.Errorf("left running %d, scopes %v", l.running, l.byScope)
	}
}
