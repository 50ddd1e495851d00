package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// deskFloor is the help desk's share of the ingestion benchmark (issue
// 16): agents with their desk page open — one server-sent-event stream
// each, as the browser's EventSource keeps — while the webhooks pour in.
// Some of the benchmark's messages are the agents' active messages; the
// floor times each one's read status from the moment its webhook is
// posted to the moment its agent's stream shows it Lida.
type deskFloor struct {
	agents   int
	perAgent int // active messages of each agent among the benchmark's

	users    []*domain.User
	sessions []string

	mu     sync.Mutex
	byID   map[int64]int // message id → benchmark index
	index  map[int]int64 // benchmark index → message id
	seen   map[int64]time.Time
	events int
}

func newDeskFloor(agents int) *deskFloor {
	return &deskFloor{agents: agents, perAgent: 5, byID: map[int64]int{}, index: map[int]int64{}, seen: map[int64]time.Time{}}
}

// sender is the agent whose active message the benchmark's message i is,
// if it is one: every few hundredth message, perAgent for each agent.
func (f *deskFloor) sender(i, messages int) (*domain.User, bool) {
	n := f.agents * f.perAgent
	if n == 0 || messages < n {
		return nil, false
	}
	step := messages / n
	if i%step != 0 || i/step >= n {
		return nil, false
	}
	return f.users[(i/step)%f.agents], true
}

// addAgents creates the agents in subaccount sa and opens a session for
// each, as logging in does.
func (f *deskFloor) addAgents(ctx context.Context, st *store.Store, sa int64) error {
	acc := access.New(st, "", "")
	for i := range f.agents {
		u := &domain.User{Email: fmt.Sprintf("agent%03d@bench.local", i), Name: fmt.Sprintf("Agente %03d", i),
			Role: domain.RoleAgent, PasswordHash: "-", Subaccounts: []int64{sa}}
		if err := st.CreateUser(ctx, u); err != nil {
			return err
		}
		if _, err := st.SetAgentStatus(ctx, u.ID, domain.AgentOnline, "", time.Now()); err != nil {
			return err
		}
		value, _, err := acc.StartSession(ctx, u, time.Hour)
		if err != nil {
			return err
		}
		f.users, f.sessions = append(f.users, u), append(f.sessions, value)
	}
	return nil
}

func (f *deskFloor) record(i int, id int64) {
	f.mu.Lock()
	f.byID[id], f.index[i] = i, id
	f.mu.Unlock()
}

// connect opens every agent's desk stream at base and returns once each
// has had its first snapshot.
func (f *deskFloor) connect(ctx context.Context, base string) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: f.agents}}
	ready := make(chan error, f.agents)
	for _, s := range f.sessions {
		go f.follow(ctx, client, base, s, ready)
	}
	for range f.agents {
		select {
		case err := <-ready:
			if err != nil {
				return err
			}
		case <-time.After(60 * time.Second):
			return fmt.Errorf("desk streams: not all connected within 60 s")
		}
	}
	return nil
}

// follow reads one agent's stream, noting when each active message is
// first shown read.
func (f *deskFloor) follow(ctx context.Context, client *http.Client, base, session string, ready chan<- error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/desk/live", nil)
	req.AddCookie(&http.Cookie{Name: "ticks_session", Value: session})
	resp, err := client.Do(req)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("desk stream: status %d", resp.StatusCode)
	}
	if err != nil {
		ready <- err
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	first := true
	var snap struct {
		Active []struct{ Key, Status string } `json:"active"`
	}
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		now := time.Now()
		snap.Active = snap.Active[:0]
		if json.Unmarshal([]byte(line[len("data: "):]), &snap) != nil {
			continue
		}
		f.mu.Lock()
		f.events++
		for _, a := range snap.Active {
			if a.Status != string(domain.DeskRead) {
				continue
			}
			id, _ := strconv.ParseInt(a.Key, 10, 64)
			if _, done := f.seen[id]; !done {
				f.seen[id] = now
			}
		}
		f.mu.Unlock()
		if first {
			ready <- nil
			first = false
		}
	}
}

// wamidIndex reads the benchmark index of a status webhook's message.
var wamidIndex = regexp.MustCompile(`"id":"wamid\.BENCH(\d{10})","status":"read"`)

// latencies returns, for each active message whose read status was
// posted, the time from posting it to its agent's page showing it, and
// how many never showed (within wait).
func (f *deskFloor) latencies(payloads [][]byte, posted []time.Time, wait time.Duration) ([]time.Duration, int) {
	readAt := map[int]time.Time{}
	f.mu.Lock()
	for p, body := range payloads {
		for _, m := range wamidIndex.FindAllSubmatch(body, -1) {
			i, _ := strconv.Atoi(string(m[1]))
			if _, ok := f.index[i]; ok {
				readAt[i] = posted[p]
			}
		}
	}
	f.mu.Unlock()
	deadline := time.Now().Add(wait)
	for {
		f.mu.Lock()
		n := len(f.seen)
		f.mu.Unlock()
		if n >= len(readAt) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Duration
	missed := 0
	for i, at := range readAt {
		seen, ok := f.seen[f.index[i]]
		if !ok {
			missed++
			continue
		}
		out = append(out, max(0, seen.Sub(at)))
	}
	slices.Sort(out)
	return out, missed
}
