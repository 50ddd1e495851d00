package tracking

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
	"github.com/ticksapp/ticks/internal/store"
)

// Limits of an event.
const (
	MaxBatch      = 1000
	MaxNameLength = 100  // category and action, in characters
	MaxExtras     = 4096 // bytes of the extras object
	MaxKeyLength  = 200
	MaxPast       = 7 * 24 * time.Hour
	MaxFuture     = 5 * time.Minute
)

// EventInput is one event as a bot sends it.
type EventInput struct {
	Category string `json:"category"`
	Action   string `json:"action"`
	// Contact is a phone ("+5511987654321", or as people write it, read as
	// Brazilian), a WhatsApp id (digits only) or a contact id (a JSON
	// number).
	Contact        json.RawMessage `json:"contact"`
	Bot            *int64          `json:"bot"`
	MessageID      string          `json:"message_id"`
	WAMID          string          `json:"wamid"`
	Extras         json.RawMessage `json:"extras"`
	At             *time.Time      `json:"at"`
	IdempotencyKey string          `json:"idempotency_key"`

	decodeErr error
}

// DecodeEvents reads a request body: one event, or {"events": [...]}. Each
// event of a batch is decoded on its own, so one of the wrong shape is an
// error at its index, not of the request. batch tells which shape came.
func DecodeEvents(body []byte) (events []EventInput, batch bool, err error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, false, domain.Errorf(domain.EINVALID, "request body is not a JSON object: %v", err)
	}
	raw, batch := probe["events"]
	if !batch {
		var e EventInput
		if err := decodeStrict(body, &e); err != nil {
			return nil, false, domain.Errorf(domain.EINVALID, "%v", err)
		}
		return []EventInput{e}, false, nil
	}
	if len(probe) != 1 {
		return nil, true, domain.Errorf(domain.EINVALID, "a batch is {\"events\": [...]} and nothing else")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || items == nil {
		return nil, true, domain.Errorf(domain.EINVALID, "events must be an array of events")
	}
	if len(items) == 0 {
		return nil, true, domain.Errorf(domain.EINVALID, "events is empty")
	}
	if len(items) > MaxBatch {
		return nil, true, domain.Errorf(domain.ETOOLARGE, "events: %d in one request, at most %d", len(items), MaxBatch)
	}
	events = make([]EventInput, len(items))
	for i, item := range items {
		if err := decodeStrict(item, &events[i]); err != nil {
			events[i] = EventInput{decodeErr: err}
		}
	}
	return events, true, nil
}

func decodeStrict(b []byte, v *EventInput) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "" {
			return errors.New("not a valid event: an event is a JSON object")
		}
		if errors.As(err, &typeErr) {
			return fmt.Errorf("%s must be a %s", typeErr.Field, wantType(typeErr.Field))
		}
		var timeErr *time.ParseError
		if errors.As(err, &timeErr) {
			return fmt.Errorf("at must be a %s, not %q", wantType("at"), timeErr.Value)
		}
		return fmt.Errorf("not a valid event: %v", err)
	}
	if dec.More() {
		return errors.New("data after the event")
	}
	return nil
}

func wantType(field string) string {
	switch field {
	case "bot":
		return "bot id (an integer)"
	case "at":
		return "date-time (RFC 3339)"
	case "extras":
		return "JSON object"
	}
	return "string"
}

// EventError is why one event of a batch was refused.
type EventError struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// RecordResult is the answer to a batch: the events kept (stored, or
// already stored under the same idempotency key), and the refused ones.
type RecordResult struct {
	Accepted   int          `json:"accepted"`
	Duplicates int          `json:"duplicates"`
	Errors     []EventError `json:"errors"`
	// Events are the accepted events, in the order sent (for a single
	// event's answer).
	Events []domain.TrackEvent `json:"-"`
}

// Record validates events for p and makes the good ones durable in the
// event intake of subaccount (0: p's only one) before answering; the
// folder (Folder, or Flush) then stores them and counts them into the
// reports, a moment later. Only a bot's token or a supervisor's or admin's
// may record. A refused event is an error at its index; the others are
// kept. The answer's events carry the contact's id only when it was named
// by id (a phone's contact may be created by the fold).
func (s *Service) Record(ctx context.Context, p *access.Principal, subaccount int64, in []EventInput) (*RecordResult, error) {
	return s.record(ctx, p, subaccount, in, false)
}

// RecordNow is Record writing the events and their counts before it
// returns, so that the answer carries each event's contact id: the API's
// single event, answered with the event stored.
func (s *Service) RecordNow(ctx context.Context, p *access.Principal, subaccount int64, in []EventInput) (*RecordResult, error) {
	return s.record(ctx, p, subaccount, in, true)
}

func (s *Service) record(ctx context.Context, p *access.Principal, subaccount int64, in []EventInput, now bool) (*RecordResult, error) {
	if p.BotID == 0 {
		if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
			return nil, err
		}
	}
	sub, err := p.WriteTarget(subaccount)
	if err != nil {
		return nil, err
	}
	if len(in) > MaxBatch {
		return nil, domain.Errorf(domain.ETOOLARGE, "events: %d in one request, at most %d", len(in), MaxBatch)
	}
	if err := s.subaccountExists(ctx, sub); err != nil {
		return nil, err
	}
	res := &RecordResult{Errors: []EventError{}}
	events, contacts, err := s.checkAll(ctx, p, sub, in, res)
	if err != nil || len(events) == 0 {
		return res, err
	}
	if now {
		stored, err := s.Store.RecordEvents(ctx, sub, events, contacts)
		if err != nil {
			return nil, err
		}
		res.Accepted, res.Duplicates, res.Events = len(events), len(events)-stored, events
		return res, nil
	}
	for i := range events {
		events[i].ID = s.Store.NewID()
		events[i].ContactID = contacts[i].ID
	}
	dups, err := s.Store.AppendEvents(ctx, sub, events, contacts)
	if err != nil {
		return nil, err
	}
	res.Accepted, res.Duplicates, res.Events = len(events), dups, events
	return res, nil
}

// subaccountExists checks, once per process and subaccount, that the
// subaccount events are recorded in exists: the intake stores them before
// any row refers to it. (A subaccount deleted after that has its waiting
// events dropped by the fold.)
func (s *Service) subaccountExists(ctx context.Context, sub int64) error {
	if s.known != nil {
		if _, ok := s.known.Load(sub); ok {
			return nil
		}
	}
	if _, err := s.Store.Subaccount(ctx, sub); err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return domain.Errorf(domain.EINVALID, "subaccount %d does not exist", sub)
		}
		return err
	}
	if s.known != nil {
		s.known.Store(sub, true)
	}
	return nil
}

// checkAll validates events for the subaccount sub, noting each refused
// one in res, and returns the good ones with their contacts. Only the bots,
// contacts and messages named by id are read from the database.
func (s *Service) checkAll(ctx context.Context, p *access.Principal, sub int64, in []EventInput, res *RecordResult) ([]domain.TrackEvent, []store.EventContact, error) {
	now := s.Now()
	var bots map[int64]string
	if p.BotID == 0 && slices.ContainsFunc(in, func(e EventInput) bool { return e.Bot != nil }) {
		var err error
		if bots, err = s.botNames(ctx, []int64{sub}); err != nil {
			return nil, nil, err
		}
	}
	// First pass: everything that needs no database.
	type pending struct {
		index   int
		event   domain.TrackEvent
		contact store.EventContact
		message *store.MessageRef
	}
	var good []pending
	var contactIDs []int64
	var refs []store.MessageRef
	for i := range in {
		e := &in[i]
		ev, contact, ref, err := s.check(p, e, bots, now)
		if err != nil {
			res.Errors = append(res.Errors, EventError{Index: i, Error: err.Error()})
			continue
		}
		ev.SubaccountID = sub
		if contact.ID != 0 {
			contactIDs = append(contactIDs, contact.ID)
		}
		if ref != nil {
			refs = append(refs, *ref)
		}
		good = append(good, pending{index: i, event: ev, contact: contact, message: ref})
	}
	// Second pass: the contacts and messages named by id must be the
	// subaccount's.
	known, err := s.Store.ContactIDs(ctx, sub, contactIDs)
	if err != nil {
		return nil, nil, err
	}
	messages, err := s.Store.MessageIDs(ctx, sub, refs)
	if err != nil {
		return nil, nil, err
	}
	events := make([]domain.TrackEvent, 0, len(good))
	contacts := make([]store.EventContact, 0, len(good))
	for _, g := range good {
		if g.contact.ID != 0 && !known[g.contact.ID] {
			res.Errors = append(res.Errors, EventError{Index: g.index, Error: fmt.Sprintf("contact %d is not a contact of this subaccount", g.contact.ID)})
			continue
		}
		if g.message != nil {
			id, ok := messages[*g.message]
			if !ok {
				res.Errors = append(res.Errors, EventError{Index: g.index, Error: "message_id/wamid: no such message in this subaccount"})
				continue
			}
			g.event.MessageID = id
		}
		events = append(events, g.event)
		contacts = append(contacts, g.contact)
	}
	sortErrors(res.Errors)
	return events, contacts, nil
}

// check validates one event and returns it ready to store, with the
// contact and message it names.
func (s *Service) check(p *access.Principal, e *EventInput, bots map[int64]string, now time.Time) (domain.TrackEvent, store.EventContact, *store.MessageRef, error) {
	var ev domain.TrackEvent
	var contact store.EventContact
	if e.decodeErr != nil {
		return ev, contact, nil, e.decodeErr
	}
	var err error
	if ev.Category, err = name("category", e.Category); err != nil {
		return ev, contact, nil, err
	}
	if ev.Action, err = name("action", e.Action); err != nil {
		return ev, contact, nil, err
	}
	if contact, err = parseContact(e.Contact); err != nil {
		return ev, contact, nil, err
	}
	switch {
	case p.BotID != 0 && e.Bot != nil && *e.Bot != p.BotID:
		return ev, contact, nil, fmt.Errorf("bot %d: a bot's token records its own events only", *e.Bot)
	case p.BotID != 0:
		ev.BotID = p.BotID
	case e.Bot != nil:
		if bots[*e.Bot] == "" {
			return ev, contact, nil, fmt.Errorf("bot %d is not a bot of this subaccount", *e.Bot)
		}
		ev.BotID = *e.Bot
	}
	var ref *store.MessageRef
	switch {
	case e.MessageID != "" && e.WAMID != "":
		return ev, contact, nil, errors.New("message_id and wamid: name the message once")
	case e.MessageID != "":
		id, err := strconv.ParseInt(e.MessageID, 10, 64)
		if err != nil || id <= 0 {
			return ev, contact, nil, fmt.Errorf("message_id %q is not a ticks message id", e.MessageID)
		}
		ref = &store.MessageRef{ID: id}
	case e.WAMID != "":
		if len(e.WAMID) > 200 {
			return ev, contact, nil, errors.New("wamid is over 200 characters")
		}
		ref = &store.MessageRef{WAMID: e.WAMID}
	}
	if len(e.Extras) > 0 && string(e.Extras) != "null" {
		if e.Extras[0] != '{' {
			return ev, contact, nil, errors.New("extras must be a JSON object")
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, e.Extras); err != nil {
			return ev, contact, nil, errors.New("extras must be a JSON object")
		}
		if compact.Len() > MaxExtras {
			return ev, contact, nil, fmt.Errorf("extras is %d bytes, at most %d", compact.Len(), MaxExtras)
		}
		ev.Extras = compact.String()
	}
	ev.At = now
	if e.At != nil {
		ev.At = *e.At
		if ev.At.Before(now.Add(-MaxPast)) {
			return ev, contact, nil, errors.New("at is more than 7 days in the past")
		}
		if ev.At.After(now.Add(MaxFuture)) {
			return ev, contact, nil, errors.New("at is more than 5 minutes in the future")
		}
	}
	ev.At = ev.At.UTC().Truncate(time.Millisecond)
	ev.Day = dayNumber(ev.At, s.Location)
	if len(e.IdempotencyKey) > MaxKeyLength {
		return ev, contact, nil, fmt.Errorf("idempotency_key is over %d characters", MaxKeyLength)
	}
	ev.IdempotencyKey = e.IdempotencyKey
	return ev, contact, ref, nil
}

// name trims and checks a category or action.
func name(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", fmt.Errorf("%s is required", field)
	case !utf8.ValidString(v):
		return "", fmt.Errorf("%s is not valid UTF-8", field)
	case utf8.RuneCountInString(v) > MaxNameLength:
		return "", fmt.Errorf("%s is over %d characters", field, MaxNameLength)
	}
	return v, nil
}

// parseContact reads the contact of an event: a contact id (a number), a
// WhatsApp id (a string of digits) or a phone number.
func parseContact(raw json.RawMessage) (store.EventContact, error) {
	var c store.EventContact
	if len(raw) == 0 || string(raw) == "null" {
		return c, errors.New("contact is required: a phone, a wa_id or a contact id")
	}
	if raw[0] != '"' {
		id, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || id <= 0 {
			return c, errors.New("contact must be a phone, a wa_id (strings) or a contact id (a positive integer)")
		}
		c.ID = id
		return c, nil
	}
	var s string
	if n := len(raw); n >= 2 && raw[n-1] == '"' && bytes.IndexByte(raw[1:n-1], '\\') < 0 {
		// A string without escapes, the usual phone or wa_id, is its
		// bytes: decoding it as JSON cost more than the rest of the
		// event's checks.
		s = string(raw[1 : n-1])
	} else if err := json.Unmarshal(raw, &s); err != nil {
		return c, errors.New("contact must be a phone, a wa_id or a contact id")
	}
	s = strings.TrimSpace(s)
	if key, ok := phones.get(s); ok {
		c.Key = key
		return c, nil
	}
	var e164 string
	var err error
	if s != "" && strings.Trim(s, "0123456789") == "" {
		e164, err = phone.FromWAID(s)
	} else {
		e164, err = phone.Normalize(s, "BR")
	}
	if err != nil {
		return c, fmt.Errorf("contact %q is not a valid phone number: %v", s, err)
	}
	c.Key = phone.Canonical(e164)
	phones.put(s, c.Key)
	return c, nil
}

// phones remembers the canonical keys of the phones events named lately:
// bots name the same contacts over and over, and reading a number costs
// about ten microseconds, more than storing its event.
var phones = phoneCache{max: 100_000}

// phoneCache maps a phone as written to its canonical key; it forgets
// everything when it reaches max entries.
type phoneCache struct {
	mu  sync.Mutex
	max int
	m   map[string]string
}

func (c *phoneCache) get(s string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key, ok := c.m[s]
	return key, ok
}

func (c *phoneCache) put(s, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]string)
	}
	c.m[s] = key
}

// dayNumber is the day of t in loc, as days since 1970-01-01.
func dayNumber(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// dayStart is the start of a day number in loc.
func dayStart(day int64, loc *time.Location) time.Time {
	t := time.Unix(day*86400, 0).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

func sortErrors(list []EventError) {
	slices.SortStableFunc(list, func(a, b EventError) int { return a.Index - b.Index })
}
