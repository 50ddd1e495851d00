package campaigns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/jobs"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/store"
)

// How a dispatch paces itself.
const (
	// leaseFor is how long a dispatch holds its campaign without renewing:
	// after a crash, another takes over within it.
	leaseFor = 15 * time.Second
	// batchFor is how often a dispatch records its progress and reads the
	// campaign's status again: a pause takes effect within it (and the
	// sends then in flight).
	batchFor = 500 * time.Millisecond
	// runFor is how long one job sends before handing over to the next run
	// of itself, so no job runs long enough to look stuck.
	runFor = 20 * time.Second
	// checkEvery is how often the periodic check looks for campaigns to
	// start or take over.
	checkEvery = 5 * time.Second
)

// DispatchArgs is the job that sends a campaign's audience.
type DispatchArgs struct {
	CampaignID int64 `json:"campaign_id,string"`
}

// Kind names the job in River's tables.
func (DispatchArgs) Kind() string { return "campaign_dispatch" }

// CheckArgs is the periodic job that enqueues a dispatch for every
// campaign that needs one: scheduled ones whose time has come, running
// ones no dispatch holds (after a crash, or a lost insert).
type CheckArgs struct{}

// Kind names the job in River's tables.
func (CheckArgs) Kind() string { return "campaign_check" }

// Register adds the campaigns' workers and periodic check to reg.
func (s *Service) Register(reg *jobs.Registry) {
	jobs.Register(reg, &dispatchWorker{s: s})
	jobs.Register(reg, &checkWorker{s: s})
	reg.Periodic(checkEvery, func() river.JobArgs { return CheckArgs{} })
}

func (s *Service) enqueue(ctx context.Context, id int64, at time.Time) error {
	if s.Jobs == nil {
		return nil // no dispatch on this process (a CLI); the periodic check of a server starts it
	}
	opts := &river.InsertOpts{}
	if !at.IsZero() {
		opts.ScheduledAt = at
	}
	_, err := s.Jobs.Insert(ctx, DispatchArgs{CampaignID: id}, opts)
	return err
}

type checkWorker struct {
	river.WorkerDefaults[CheckArgs]
	s *Service
}

func (w *checkWorker) Work(ctx context.Context, _ *river.Job[CheckArgs]) error {
	ids, err := w.s.Store.DueCampaigns(ctx, w.s.now())
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := w.s.enqueue(ctx, id, time.Time{}); err != nil {
			return err
		}
	}
	return nil
}

type dispatchWorker struct {
	river.WorkerDefaults[DispatchArgs]
	s *Service
}

// Timeout leaves a dispatch time to finish its last batch past runFor.
func (w *dispatchWorker) Timeout(*river.Job[DispatchArgs]) time.Duration { return runFor + time.Minute }

func (w *dispatchWorker) Work(ctx context.Context, job *river.Job[DispatchArgs]) error {
	done, err := w.s.dispatch(ctx, job.Args.CampaignID, runFor)
	if err != nil || done {
		return err
	}
	return river.JobSnooze(0) // more to send: run again at once, maybe on another server
}

// dispatch sends campaign id's audience rows for up to d and reports
// whether it has nothing more to do (finished, paused, canceled, not yet
// due, or held by another dispatch). Each row is sent once, whatever
// crashes: a row's message carries an idempotency key of the campaign and
// row, so a row sent again after a crash (its progress not yet recorded)
// finds its message instead of sending a second.
func (s *Service) dispatch(ctx context.Context, id int64, d time.Duration) (bool, error) {
	c, err := s.Store.Campaign(ctx, id)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return true, nil
		}
		return false, err
	}
	now := s.now()
	if c.Status == domain.CampaignScheduled {
		if c.ScheduledAt == nil || c.ScheduledAt.After(now) {
			return true, nil // rescheduled: a job for the new time exists
		}
		if _, err := s.Store.ChangeCampaign(ctx, id, storeStart(now)); err != nil {
			return false, err
		}
		if c, err = s.Store.Campaign(ctx, id); err != nil {
			return false, err
		}
		s.publish(c)
	}
	if c.Status != domain.CampaignRunning {
		return true, nil
	}
	if s.Pipeline == nil {
		return false, fmt.Errorf("campaign %d: sending is not configured on this server", id)
	}
	owner := newOwner()
	ok, err := s.Store.LeaseCampaign(ctx, id, owner, now, now.Add(leaseFor))
	if err != nil {
		return false, err // not claimed: the job is tried again
	}
	if !ok {
		return true, nil // another dispatch holds it; the periodic check comes back if it dies
	}
	defer s.Store.ReleaseCampaign(context.WithoutCancel(ctx), id, owner)
	ch, err := s.Store.Channel(ctx, c.ChannelID)
	if err != nil {
		return false, err
	}
	parallel := s.Parallel
	if parallel <= 0 {
		parallel = InFlight(ch.ThroughputMPS)
	}
	return s.sendRows(ctx, c, ch, owner, parallel, time.Now().Add(d))
}

// InFlight is how many sends of a campaign a dispatch keeps in flight on a
// number allowed throughputMPS messages a second: half a second of its
// sends, since Meta answers a send in a few hundred milliseconds, so a
// number is held back by its throughput (which the client paces), not by
// sends waiting for answers. At least 16, at most 256: the default 80
// messages/s gets 40, a number of 1,000 gets 256 (more gained nothing in
// ticks bench campaign dispatch). With 16, a number allowed 1,000
// messages/s sent some 60 a second against Meta's latency.
func InFlight(throughputMPS int) int {
	return min(max(throughputMPS/2, 16), 256)
}

// sendRows sends campaign c's rows after its progress, parallel at a time,
// until they are all sent (it then completes the campaign), the campaign
// is no longer running, its lease is lost, a send fails or end has
// passed. The sends do not wait for one another: a row is launched as
// soon as one in flight ends, and every batchFor the progress (the last
// row of the longest prefix sent) is recorded and the status read again.
// Waiting for a whole batch to end before the next would leave the
// database idle while the slowest sends of each batch finish.
func (s *Service) sendRows(ctx context.Context, c *domain.Campaign, ch *domain.Channel, owner string, parallel int, end time.Time) (bool, error) {
	f := newFlight(parallel)
	defer f.stop()
	fetched := c.Processed // the last row read from the store
	processed := c.Processed
	var rows []domain.CampaignRow
	exhausted := false
	check := time.Now().Add(batchFor)
	for {
		if len(rows) == 0 && !exhausted {
			var err error
			if rows, err = s.Store.CampaignRows(ctx, c.ID, fetched, 512); err != nil {
				f.wait()
				return false, err
			}
			exhausted = len(rows) == 0
			if !exhausted {
				fetched = rows[len(rows)-1].Seq
			}
		}
		if len(rows) > 0 && f.failed() == nil && ctx.Err() == nil {
			r := rows[0]
			rows = rows[1:]
			f.launch(r.Seq, func() error { return s.sendRow(ctx, c, ch, r) })
			if time.Now().Before(check) {
				continue
			}
		}
		// Time to record the progress: every batchFor, and when nothing
		// more can be launched (all rows launched, or a send failed).
		last := exhausted || f.failed() != nil || time.Now().After(end) || ctx.Err() != nil
		if last {
			f.wait()
		}
		if seq, ok := f.prefix(); ok {
			processed = seq
		}
		held, err := s.Store.AdvanceCampaign(ctx, c.ID, owner, processed, s.now().Add(leaseFor))
		if err != nil {
			f.wait()
			return false, err
		}
		s.publish(c)
		check = time.Now().Add(batchFor)
		switch {
		case !held:
			f.wait()
			return true, nil // another dispatch took over
		case f.failed() != nil:
			return false, f.failed()
		case exhausted:
			if _, err := s.Store.ChangeCampaign(ctx, c.ID, storeFinish(s.now())); err != nil {
				return false, err
			}
			s.publish(c)
			return true, nil
		case last:
			return false, ctx.Err() // the job's time is up: the next run goes on
		}
		cur, err := s.Store.Campaign(ctx, c.ID)
		if err != nil {
			f.wait()
			return false, err
		}
		if cur.Status != domain.CampaignRunning {
			// Paused or canceled: what is in flight ends, and is recorded.
			f.wait()
			if seq, ok := f.prefix(); ok {
				if _, err := s.Store.AdvanceCampaign(ctx, c.ID, owner, seq, s.now().Add(leaseFor)); err != nil {
					return false, err
				}
				s.publish(c)
			}
			return true, nil
		}
	}
}

// flight is the sends of a dispatch in flight: launched in the rows'
// order, ended in any order. What a dispatch may record as processed is
// the longest prefix of rows sent: a row after one still in flight (or
// failed) is sent again after a crash, and its idempotency key finds the
// message it has.
type flight struct {
	sem  chan struct{}
	jobs chan func() // to the idle workers
	n    int         // workers started
	wg   sync.WaitGroup
	mu   sync.Mutex
	seqs []int        // launched rows not yet in the recorded prefix, in order
	done map[int]bool // which of them were sent
	err  error        // the first send that failed
}

func newFlight(parallel int) *flight {
	return &flight{sem: make(chan struct{}, parallel), jobs: make(chan func()), done: map[int]bool{}}
}

// launch runs send for row seq once fewer than parallel are in flight. The
// sends run on up to parallel workers, started as needed and kept until
// stop: a goroutine a send grew a new stack for each (the SQLite driver's
// calls run deep), 4 % of a dispatch's CPU.
func (f *flight) launch(seq int, send func() error) {
	f.sem <- struct{}{}
	f.mu.Lock()
	f.seqs = append(f.seqs, seq)
	f.mu.Unlock()
	f.wg.Add(1)
	job := func() {
		defer func() { <-f.sem; f.wg.Done() }()
		err := send()
		f.mu.Lock()
		defer f.mu.Unlock()
		if err != nil {
			if f.err == nil {
				f.err = err
			}
			return
		}
		f.done[seq] = true
	}
	select {
	case f.jobs <- job: // an idle worker took it
	default:
		if f.n < cap(f.sem) {
			f.n++
			go f.work(job)
		} else {
			f.jobs <- job // a worker is about to be idle: the semaphore let this send in
		}
	}
}

// work runs first, then the jobs launch hands it, until stop.
func (f *flight) work(first func()) {
	first()
	for job := range f.jobs {
		job()
	}
}

// stop ends the idle workers once nothing more is launched.
func (f *flight) stop() { close(f.jobs) }

// wait waits for every send in flight.
func (f *flight) wait() { f.wg.Wait() }

// failed is the first send's error, if one failed.
func (f *flight) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// prefix takes the rows sent at the head of the launched ones and returns
// the last one's seq; false when the head is still in flight.
func (f *flight) prefix() (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	last, ok := 0, false
	for len(f.seqs) > 0 && f.done[f.seqs[0]] {
		last, ok = f.seqs[0], true
		delete(f.done, f.seqs[0])
		f.seqs = f.seqs[1:]
	}
	return last, ok
}

// sendRow sends one audience row through the whole pipeline (number,
// opt-out, session or fallback, tier, warm-up, template). A refusal is a
// message too: only errors of ticks itself (the database) stop the batch.
func (s *Service) sendRow(ctx context.Context, c *domain.Campaign, ch *domain.Channel, r domain.CampaignRow) error {
	req := &send.Request{ChannelID: ch.ID, To: r.Phone, Type: "template", CorrelationID: r.CorrelationID,
		ContactName: r.Name, Template: &send.TemplateRef{Name: c.Template, Language: c.Language, Params: r.Vars},
		IdempotencyKey: "campaign-" + strconv.FormatInt(c.ID, 10) + "-" + strconv.Itoa(r.Seq),
		CampaignID:     &c.ID, SenderUserID: c.CreatedBy, Origin: "campaign",
		Normalized: true} // the import stored phone.Normalize's E.164 of a valid number
	if len(c.Links) > 0 {
		req.Template.Components = templateComponents(c, r)
	}
	if c.FallbackTemplate != "" {
		req.Fallback = &send.TemplateRef{Name: c.FallbackTemplate, Language: c.FallbackLanguage}
	}
	// A send begun is finished even when the job is stopped (a shutdown):
	// cut off, it would leave a message WhatsApp may or may not have, which
	// its row could then neither send again nor count as received.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if _, err := s.Pipeline.Send(sendCtx, ch, req); err != nil {
		if ctx.Err() == nil {
			slog.Warn("campaign send", slog.Int64("campaign", c.ID), slog.Int("row", r.Line), slog.Any("err", err))
		}
		return fmt.Errorf("campaign %d row %d: %w", c.ID, r.Line, err)
	}
	return nil
}

func newOwner() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func storeStart(now time.Time) store.CampaignChange {
	return store.CampaignChange{From: []domain.CampaignStatus{domain.CampaignScheduled}, To: domain.CampaignRunning, Started: now}
}

func storeFinish(now time.Time) store.CampaignChange {
	return store.CampaignChange{From: []domain.CampaignStatus{domain.CampaignRunning}, To: domain.CampaignCompleted, Finished: now}
}

// DispatchFor runs one dispatch of campaign id for up to d, as its job
// does, and reports whether the campaign needs no more: for tests and
// benchmarks that drive a dispatch without River.
func (s *Service) DispatchFor(ctx context.Context, id int64, d time.Duration) (bool, error) {
	return s.dispatch(ctx, id, d)
}
