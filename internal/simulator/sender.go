package simulator

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/whatsapp"
)

// event is a webhook due at a time.
type event struct {
	fire     time.Time
	seq      uint64 // scheduling order: ties on fire keep it
	body     []byte
	attempts int
}

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].fire.Equal(q[j].fire) {
		return q[i].fire.Before(q[j].fire)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return e
}

// scheduleLocked queues body to be posted at fire. s.mu must be held.
// Without a webhook URL nothing is kept: there is nowhere to post.
func (s *Server) scheduleLocked(fire time.Time, body []byte) {
	if s.cfg.WebhookURL == "" {
		return
	}
	s.evSeq++
	heap.Push(&s.queue, &event{fire: fire, seq: s.evSeq, body: body})
	s.signal()
}

func (s *Server) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run posts the webhooks as they fall due, in time order, to
// Config.WebhookURL, signed with Config.AppSecret, at most
// Config.Concurrency at a time. A post that does not get a 200 is retried
// with exponential backoff, forever: no webhook is dropped. Run returns nil
// when ctx ends or Close is called, after the posts in flight have finished
// (an interrupted post stays pending, and a later Run sends it).
func (s *Server) Run(ctx context.Context) error {
	if s.cfg.WebhookURL == "" {
		return errors.New("simulator: no webhook URL to post to")
	}
	s.runMu.Lock()
	switch {
	case s.closed:
		s.runMu.Unlock()
		return nil
	case s.running:
		s.runMu.Unlock()
		return errors.New("simulator: already running")
	}
	s.running = true
	s.runs.Add(1)
	s.runMu.Unlock()
	defer func() {
		s.runMu.Lock()
		s.running = false
		s.runMu.Unlock()
		s.runs.Done()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.closeCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, s.cfg.Concurrency)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		ev := s.next(ctx, timer)
		if ev == nil {
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			s.deliver(ctx, ev)
		}()
	}
}

// next waits for the earliest webhook to fall due and takes it; nil when
// ctx ends first.
func (s *Server) next(ctx context.Context, timer *time.Timer) *event {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			wait := time.Until(s.queue[0].fire)
			if wait <= 0 {
				ev := heap.Pop(&s.queue).(*event)
				s.inflight++
				s.mu.Unlock()
				return ev
			}
			timer.Reset(wait)
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// deliver posts one webhook and requeues it when it was not accepted.
func (s *Server) deliver(ctx context.Context, ev *event) {
	ok, status, err := s.post(ctx, ev.body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if ok {
		s.sent.Add(1)
		return
	}
	if ctx.Err() != nil {
		// Shutting down: keep it, unsent and uncounted, for the next Run.
		heap.Push(&s.queue, ev)
		return
	}
	s.failed.Add(1)
	ev.attempts++
	backoff := s.delays.Retry.Min << min(ev.attempts-1, 30)
	if backoff > s.delays.Retry.Max || backoff <= 0 {
		backoff = s.delays.Retry.Max
	}
	ev.fire = time.Now().Add(s.delays.scale(backoff))
	level := slog.LevelDebug
	if ev.attempts == 1 || ev.attempts%10 == 0 {
		level = slog.LevelWarn // not once per retry: a receiver down would flood the log
	}
	s.log.Log(ctx, level, "simulator: webhook not accepted, will retry", "status", status, "err", err,
		"attempt", ev.attempts, "retry_in", s.delays.scale(backoff))
	heap.Push(&s.queue, ev)
	s.signal()
}

func (s *Server) post(ctx context.Context, body []byte) (bool, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return false, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign(s.cfg.AppSecret, body))
	resp, err := s.client.Do(req)
	if err != nil {
		return false, 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	// Meta wants exactly 200; anything else is redelivered.
	return resp.StatusCode == http.StatusOK, resp.StatusCode, nil
}

// Close stops Run (waiting for the posts in flight) and releases idle
// connections. The HTTP API keeps answering; webhooks stay queued.
func (s *Server) Close() error {
	s.runMu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closeCh)
	}
	s.runMu.Unlock()
	s.runs.Wait()
	s.client.CloseIdleConnections()
	return nil
}
