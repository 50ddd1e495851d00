// Package apply holds the rules that turn a batch of parsed webhooks into
// changes of the message model, as pure code: given the rows the store
// preloaded for a batch, Rules.Plan says what to write — message states,
// messages and contacts to create, opt-outs, events for admins, the
// timelines whose sessions and conversations to derive again, the rollup's
// moves — and the store writes it, in the transaction it read the rows in.
//
// It sits below internal/ingest rather than in it because the store calls
// it between its preload and its writes, and internal/ingest imports the
// store; it imports only the domain, phone numbers and the standard library,
// so the rules are tested without a database.
//
// A store applies a batch in this order: read the rows of MessageIDs, then
// the channels ChannelsNamed lists, then the contacts ContactsNamed lists;
// Plan; create the plan's NewChannels and NewContacts, setting their IDs;
// Resolve; write the rest; derive the plan's Timelines with DeriveTimelines.
// A store may derive a timeline before writing the rows the plan creates in
// it, from the stored rows and the new ones together, and write the new rows
// with their Conversation: the same outcome, without updating them again.
package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// Webhook is one inbox row, parsed.
type Webhook struct {
	InboxID    int64
	ReceivedAt time.Time
	Batch      *domain.WebhookBatch
}

// Stats counts what a plan does.
type Stats struct {
	Statuses        int // status events applied
	StatusesChanged int // of which changed a message
	StubsCreated    int // messages created from a status ticks had not sent
	Inbound         int // new inbound messages
	Other           int // preference, template, account, error and unknown events
	SetAside        int // events not applied, kept for admins with their reason
}

// Add adds o's counts to st.
func (st *Stats) Add(o Stats) {
	st.Statuses += o.Statuses
	st.StatusesChanged += o.StatusesChanged
	st.StubsCreated += o.StubsCreated
	st.Inbound += o.Inbound
	st.Other += o.Other
	st.SetAside += o.SetAside
}

// Preload is what the store read for a batch before planning it.
type Preload struct {
	// Messages are the rows of MessageIDs' wamids, by wamid; a wamid
	// missing here has no row. Plan changes these rows in place and adds
	// the ones it creates.
	Messages map[string]*Message
	// Channels are the channels of ChannelsNamed's phone number ids, by
	// phone number id; an id missing here has no channel.
	Channels map[string]Channel
	// WABAs maps ChannelsNamed's WABA ids to the subaccount of the WABA's
	// first channel, preferring any subaccount to the unassigned one; a WABA
	// missing here has no channel.
	WABAs map[string]int64
	// Contacts are the contacts found for ContactsNamed's keys and user ids.
	Contacts []Contact
}

// Channel is a channel a change was addressed to, as the rules use it.
type Channel struct {
	ID           int64 // 0 for a change addressed to a WABA; negative until the plan's new channel is created
	SubaccountID int64
}

// Contact is a contact row the store found.
type Contact struct {
	ID, SubaccountID int64
	PhoneKey         string // "" when NULL
	UserID           string // "" when NULL
	WAID             string
}

// Message is the part of a message row the rules read and change: a row
// the store preloaded, or one the plan creates.
type Message struct {
	ID                              int64 // 0 for a row the plan creates, until the store writes it
	WAMID                           string
	SubaccountID, ChannelID         int64 // ChannelID and ContactID are negative in a new row until Resolve
	ContactID                       int64
	Direction                       string // mt or mo
	Origin                          string // webhook for a row seen only through webhooks
	At                              time.Time
	TemplateCategory                string
	Phone, WAID, UserID             string
	CampaignID, SenderUserID, BotID int64 // 0 for none
	// The columns the rollup counts a message by, as stored (with the
	// above): see RollupKey.
	Status           string
	ContentType      string
	WithSession      bool
	ConversationType string

	Progress domain.Progress

	New   bool // created by the plan from a status of a message ticks did not send
	Moved bool // At or TemplateCategory changed: the store writes them too

	// Conversation is the session and conversation of a row the plan
	// creates (New, or inbound), when the store derived them before
	// writing the row; zero (no session, no conversation) otherwise.
	Conversation Assignment

	// inbound marks a row the plan inserts from an inbound message. Meta
	// sends statuses only of the business's messages; one naming such a row
	// changes its state but neither moves it nor counts it in the rollup.
	inbound bool
	changed bool // listed in Plan.Messages
	visited bool // seen by a status event: the fields below are set
	// As preloaded: where the row is counted, its time and category.
	before         RollupKey
	storedAt       time.Time
	storedCategory string
}

// Counted reports whether Plan.Rollup counts the changes of m: those of the
// rows the store preloaded. The rollup's triggers are to count the others.
func (m *Message) Counted() bool { return !m.New && !m.inbound }

// RollupKey is where a message is counted in the rollup: the key of
// message_rollup_attributed, the finest of its tables (migration 00003).
type RollupKey struct {
	SubaccountID             int64
	Direction                string
	Hour                     int64 // at in unix milliseconds / 3,600,000
	Status                   string
	Accepted                 bool // state <> 'failed' OR error_code <> 0
	ContentType              string
	WithSession              bool
	ConversationType         string
	Attributed               bool  // has a campaign or a sending user
	CampaignID, SenderUserID int64 // 0 for none
}

// rollupKey is where m is counted: as preloaded while stored is true, and
// with its planned state otherwise.
func (m *Message) rollupKey(stored bool) RollupKey {
	status, accepted := m.Status, m.Progress.State != domain.StateFailed || m.Progress.ErrorCode != 0
	if !stored {
		status = string(m.Progress.Status())
	}
	return RollupKey{SubaccountID: m.SubaccountID, Direction: m.Direction, Hour: m.At.UnixMilli() / 3600000,
		Status: status, Accepted: accepted, ContentType: m.ContentType, WithSession: m.WithSession,
		ConversationType: m.ConversationType, Attributed: m.CampaignID != 0 || m.SenderUserID != 0,
		CampaignID: m.CampaignID, SenderUserID: m.SenderUserID}
}

// CreatedRollup is where the rows the plan creates — messages of statuses
// ticks had not sent, and inbound messages — are counted in the rollup
// once written with their Conversation, summed per key: for a store that
// counts its inserts itself rather than by a trigger per row.
func (p *Plan) CreatedRollup() map[RollupKey]int64 {
	out := map[RollupKey]int64{}
	count := func(m *Message) {
		k := m.rollupKey(false)
		if m.inbound {
			k.Status, k.Accepted = "received", true // as inserted: state received
		}
		k.WithSession, k.ConversationType = m.Conversation.WithSession, m.Conversation.ConversationType
		out[k]++
	}
	for _, m := range p.Messages {
		if m.New {
			count(m)
		}
	}
	for i := range p.Inbound {
		count(p.Inbound[i].Message)
	}
	return out
}

// Plan is what applying a batch writes.
type Plan struct {
	Stats Stats
	// NewChannels are channels to create, in the unassigned subaccount, for
	// phone numbers no channel owns. NewChannels[i] is referred to as
	// channel -(i+1) until Resolve.
	NewChannels []NewChannel
	// NewContacts are contacts to create. NewContacts[i] is referred to as
	// contact -(i+1) until Resolve.
	NewContacts []NewContact
	// ContactIDs are ids known contacts were missing, in the order learnt.
	ContactIDs []ContactIDs
	// Inbound are the messages contacts sent, to insert.
	Inbound []Inbound
	// OptOuts are the marketing preferences, one per contact: the latest,
	// and a stop at the same instant as a resume.
	OptOuts []OptOut
	// Messages are the rows status events changed or created, in the order
	// of their first change.
	Messages []*Message
	// Rollup are the moves of the Counted rows of Messages between rollup
	// keys, summed per key.
	Rollup map[RollupKey]int64
	// Templates are template status, quality and category updates.
	Templates []TemplateUpdate
	// ChannelUpdates are tier and quality changes of channels.
	ChannelUpdates []ChannelUpdate
	// Events are webhook changes to record for admins.
	Events []Event
	// Timelines are the timelines to derive again, each from the earliest
	// instant the batch touched: earlier messages cannot be affected, since
	// derivation only looks back in time.
	Timelines map[TimelineKey]time.Time

	optOuts map[int64]int // contact → index in OptOuts
}

// NewChannel is a channel to create for a phone number no channel owns, so
// its traffic is kept and an admin can see it.
type NewChannel struct {
	ID                                        int64 // set by the store once created
	SubaccountID                              int64
	Name, WABAID, PhoneNumberID, DisplayPhone string
}

// NewContact is a contact to create.
type NewContact struct {
	ID           int64 // set by the store once created
	SubaccountID int64
	Phone        string // E.164, "" when the wa_id is not a phone number
	PhoneKey     string // "" for NULL
	WAID         string
	UserID       string // "" for NULL
	Name         string
}

// ContactIDs are ids to set on a contact that lacks them; a known id is
// never overwritten.
type ContactIDs struct {
	ContactID int64
	UserID    string // "" for none
	WAID      string
	Phone     string
	PhoneKey  string // "" for none; replaces only a missing or non-phone key
}

// Inbound is a message a contact sent.
type Inbound struct {
	Message       *Message // its row: ids, time, contact, and the campaign, user and bot of the message it answers
	Text          string
	ContextWAMID  string
	ButtonPayload string
	Referral      string // JSON, "" for none
	Content       string // the type's object as Meta sent it, "" for none
	ErrorCode     int
	ErrorTitle    string
	ErrorDetail   string
	// FromContact is false for a system notice (a number change), which is
	// not the contact writing: the contact's last inbound time and name stay.
	FromContact bool
	ProfileName string
}

// OptOut is a contact's marketing preference as of At.
type OptOut struct {
	ContactID int64
	Stop      bool
	At        time.Time
}

// TemplateUpdate is a template's status, quality or category as of At.
// Empty fields leave the stored ones alone.
type TemplateUpdate struct {
	SubaccountID                                                      int64
	WABAID, MetaID, Name, Language, Category, Status, Quality, Reason string
	At                                                                time.Time
}

// ChannelUpdate is a tier or quality change as of At, of the channel
// ChannelID when set, else of the channels showing DisplayPhone when set,
// else of WABAID's channels. Empty values leave the stored ones alone.
type ChannelUpdate struct {
	ChannelID            int64
	DisplayPhone, WABAID string
	Tier, Quality        string
	At                   time.Time
}

// Event is a webhook change recorded for admins. Hash identifies it, so a
// repeated delivery of the same change is recorded once.
type Event struct {
	SubaccountID, ChannelID int64 // ChannelID 0 for none
	Field, Event, Detail    string
	Payload                 string // JSON
	Hash                    string
	At                      time.Time
}

// Rules is what applying webhooks depends on besides the webhooks and the
// rows.
type Rules struct {
	// OptOutKeywords are the texts (compared upper-cased and trimmed) that
	// opt a contact out when it sends one of them.
	OptOutKeywords []string
}

// isOptOutKeyword reports whether an inbound text is one of the opt-out
// keywords.
func (r *Rules) isOptOutKeyword(text string) bool {
	t := strings.ToUpper(strings.TrimSpace(text))
	if t == "" || len(t) > 20 {
		return false
	}
	for _, k := range r.OptOutKeywords {
		if t == strings.ToUpper(k) {
			return true
		}
	}
	return false
}

// planner is the state of one Plan call.
type planner struct {
	rules    *Rules
	plan     *Plan
	msgs     map[string]*Message
	channels map[string]Channel
	wabas    map[string]int64
	contacts contacts
}

func newPlanner(r *Rules, pre *Preload) *planner {
	plan := &Plan{Rollup: map[RollupKey]int64{}, Timelines: map[TimelineKey]time.Time{}, optOuts: map[int64]int{}}
	if pre.Messages == nil {
		pre.Messages = map[string]*Message{}
	}
	channels := make(map[string]Channel, len(pre.Channels))
	for k, v := range pre.Channels {
		channels[k] = v
	}
	return &planner{rules: r, plan: plan, msgs: pre.Messages, channels: channels, wabas: pre.WABAs,
		contacts: newContacts(pre.Contacts, plan)}
}

// Plan applies items, in order, to the rows of pre and returns what to
// write. The outcome depends only on the set of events seen, not on their
// order or repetition: see Progress, OptOut and the tests. pre must hold the
// rows MessageIDs, ChannelsNamed and ContactsNamed ask for; Plan takes its
// rows over.
func (r Rules) Plan(items []Webhook, pre *Preload) (*Plan, error) {
	p := newPlanner(&r, pre)
	// The contacts the batch names are created in the order it names them,
	// before any event is applied, as ContactsNamed lists them.
	p.eachContact(items, func(sa int64, key, userID, waID, name string) {
		p.contacts.findOrCreate(sa, key, userID, waID, name)
	})
	for _, it := range items {
		if err := p.apply(it); err != nil {
			return nil, fmt.Errorf("apply inbox %d: %w", it.InboxID, err)
		}
	}
	for _, m := range p.plan.Messages {
		// Compared with the row as preloaded (zero for a new row), not
		// after each event, so that a category that changed and changed
		// back is no move.
		if m.Origin == "webhook" && !m.inbound && (!m.At.Equal(m.storedAt) || m.TemplateCategory != m.storedCategory) {
			m.Moved = true
			p.touch(TimelineKey{m.ChannelID, m.ContactID}, m.At)
		}
		if m.Counted() {
			if after := m.rollupKey(false); after != m.before {
				p.plan.Rollup[m.before]--
				p.plan.Rollup[after]++
			}
		}
	}
	return p.plan, nil
}

// eachContact calls fn with each contact the batch names that may have to
// be created: those of statuses and inbound messages whose wamid has no
// preloaded row, and those of preferences.
func (p *planner) eachContact(items []Webhook, fn func(subaccountID int64, key, userID, waID, name string)) {
	want := func(r domain.Recipient, waID, userID, name string) {
		key := contactKey(waID, userID)
		if key != "" || userID != "" {
			fn(p.channel(r).SubaccountID, key, userID, waID, name)
		}
	}
	for _, it := range items {
		b := it.Batch
		for i := range b.Statuses {
			if e := &b.Statuses[i]; p.msgs[e.WAMID] == nil && statusFault(e, it.ReceivedAt) == "" {
				want(e.Recipient, e.RecipientWAID, e.RecipientUserID, e.ProfileName)
			}
		}
		for i := range b.Messages {
			if e := &b.Messages[i]; p.msgs[e.WAMID] == nil && inboundFault(e, it.ReceivedAt) == "" {
				want(e.Recipient, e.FromWAID, e.FromUserID, e.ProfileName)
			}
		}
		for i := range b.Preferences {
			if e := &b.Preferences[i]; preferenceFault(e, it.ReceivedAt) == "" {
				want(e.Recipient, e.WAID, e.UserID, "")
			}
		}
	}
}

func (p *planner) apply(it Webhook) error {
	b, st := it.Batch, &p.plan.Stats
	for i := range b.Statuses {
		e := &b.Statuses[i]
		fault := statusFault(e, it.ReceivedAt)
		if fault == "" {
			fault = p.channelFault(e)
		}
		if fault != "" {
			if err := p.setAside(e.Recipient, "messages", fault, e, it.ReceivedAt); err != nil {
				return err
			}
			continue
		}
		changed, err := p.status(e)
		if err != nil {
			return err
		}
		st.Statuses++
		if changed {
			st.StatusesChanged++
		}
	}
	for i := range b.Messages {
		e := &b.Messages[i]
		if fault := inboundFault(e, it.ReceivedAt); fault != "" {
			if err := p.setAside(e.Recipient, "messages", fault, e, it.ReceivedAt); err != nil {
				return err
			}
			continue
		}
		if err := p.inbound(e); err != nil {
			return err
		}
	}
	for i := range b.Preferences {
		e := &b.Preferences[i]
		if fault := preferenceFault(e, it.ReceivedAt); fault != "" {
			if err := p.setAside(e.Recipient, "user_preferences", fault, e, it.ReceivedAt); err != nil {
				return err
			}
			continue
		}
		if err := p.preference(e, it.ReceivedAt); err != nil {
			return err
		}
		st.Other++
	}
	for i := range b.Templates {
		if err := p.template(&b.Templates[i], it.ReceivedAt); err != nil {
			return err
		}
	}
	for i := range b.Accounts {
		if err := p.account(&b.Accounts[i], it.ReceivedAt); err != nil {
			return err
		}
	}
	for i := range b.Errors {
		e := &b.Errors[i]
		detail := ""
		if len(e.Errors) > 0 {
			detail = fmt.Sprintf("%d %s", e.Errors[0].Code, e.Errors[0].Title)
		}
		// Without a timestamp of its own, a repeated error is told apart
		// from a replay of the same delivery by its inbox row.
		salt := ""
		if e.Timestamp.IsZero() {
			salt = strconv.FormatInt(it.InboxID, 10)
		}
		if err := p.event(p.channel(e.Recipient), "errors", "error", detail, e, orReceived(e.Timestamp, it.ReceivedAt), salt); err != nil {
			return err
		}
	}
	for i := range b.Unreadable {
		u := &b.Unreadable[i]
		if err := p.setAside(u.Recipient, u.Field, u.Reason, u, it.ReceivedAt); err != nil {
			return err
		}
	}
	for i := range b.Unknown {
		u := &b.Unknown[i]
		if err := p.event(p.channel(u.Recipient), u.Field, "", "", u, it.ReceivedAt, ""); err != nil {
			return err
		}
	}
	st.Other += len(b.Templates) + len(b.Accounts) + len(b.Errors) + len(b.Unknown)
	return nil
}

func orReceived(t, received time.Time) time.Time {
	if t.IsZero() {
		return received
	}
	return t
}

// channel resolves the channel a change was addressed to. A phone number no
// channel owns gets a channel in the unassigned subaccount, so its traffic is
// kept and an admin can see it.
func (p *planner) channel(r domain.Recipient) Channel {
	if r.PhoneNumberID == "" {
		return p.wabaChannel(r.WABAID)
	}
	if c, ok := p.channels[r.PhoneNumberID]; ok {
		return c
	}
	name := "Unassigned " + r.DisplayPhone
	if r.DisplayPhone == "" {
		name = "Unassigned " + r.PhoneNumberID
	}
	p.plan.NewChannels = append(p.plan.NewChannels, NewChannel{SubaccountID: domain.UnassignedSubaccountID, Name: name,
		WABAID: r.WABAID, PhoneNumberID: r.PhoneNumberID, DisplayPhone: r.DisplayPhone})
	c := Channel{ID: -int64(len(p.plan.NewChannels)), SubaccountID: domain.UnassignedSubaccountID}
	p.channels[r.PhoneNumberID] = c
	return c
}

// wabaChannel resolves a WABA-level change to the subaccount owning the
// WABA's first channel (channel id 0), or to the unassigned subaccount.
func (p *planner) wabaChannel(wabaID string) Channel {
	if sa, ok := p.wabas[wabaID]; ok {
		return Channel{SubaccountID: sa}
	}
	return Channel{SubaccountID: domain.UnassignedSubaccountID}
}

// contact finds or creates the contact with this WhatsApp id and/or
// business-scoped user id in a subaccount, and returns it with its E.164
// phone. The wa_id is matched through its canonical phone form, so
// Brazilian ids without the ninth digit find the contact stored with it.
func (p *planner) contact(subaccountID int64, waID, userID, name string) (int64, string, error) {
	key := contactKey(waID, userID)
	if key == "" && userID == "" {
		return 0, "", domain.Errorf(domain.EINVALID, "message without a recipient id")
	}
	ref, created := p.contacts.findOrCreate(subaccountID, key, userID, waID, name)
	if !created && ((userID != "" && !ref.hasUser) || (waID != "" && !ref.hasWA)) {
		// Learn the ids the contact was missing; never overwrite a known one.
		p.plan.ContactIDs = append(p.plan.ContactIDs, ContactIDs{ContactID: ref.id, UserID: userID, WAID: waID,
			Phone: phoneOf(key), PhoneKey: key})
		ref.hasUser, ref.hasWA = ref.hasUser || userID != "", ref.hasWA || waID != ""
	}
	p.contacts.remember(subaccountID, key, userID, ref)
	return ref.id, phoneOf(key), nil
}

// status applies one status event and reports whether it changed its
// message. A status for a message ticks did not send (another tool on the
// same number) creates the message from what it says.
func (p *planner) status(e *domain.StatusEvent) (bool, error) {
	m := p.msgs[e.WAMID]
	switch {
	case m == nil:
		ch := p.channel(e.Recipient)
		contactID, e164, err := p.contact(ch.SubaccountID, e.RecipientWAID, e.RecipientUserID, e.ProfileName)
		if err != nil {
			return false, fmt.Errorf("status %s: %w", e.WAMID, err)
		}
		m = &Message{WAMID: e.WAMID, SubaccountID: ch.SubaccountID, ChannelID: ch.ID, ContactID: contactID,
			Direction: "mt", Origin: "webhook", Phone: e164, WAID: e.RecipientWAID, UserID: e.RecipientUserID, New: true}
		m.Progress.PricingRank = -1
		p.msgs[e.WAMID] = m
		p.plan.Messages = append(p.plan.Messages, m)
		p.plan.Stats.StubsCreated++
	case !m.visited && m.Counted():
		m.visited = true
		m.before, m.storedAt, m.storedCategory = m.rollupKey(true), m.At, m.TemplateCategory
		if m.Origin == "webhook" {
			m.Progress.FirstAt = m.At
		}
	}
	if e.State == domain.StateFailed && len(e.Errors) > 0 &&
		domain.StatusFromMetaError(e.Errors[0].Code) == domain.StatusOptedOut {
		// Meta refused a marketing message because the contact stopped
		// them: the contact is opted out from then on (whether or not this
		// failure changes the message, so the order of events is moot).
		p.optOut(m.ContactID, true, e.Timestamp)
	}
	if !m.Progress.Apply(e) {
		return false, nil
	}
	if !m.changed && !m.New {
		p.plan.Messages = append(p.plan.Messages, m)
	}
	m.changed = true
	if m.Origin == "webhook" && !m.inbound {
		// A message seen only through webhooks happened when its first
		// status says, and its category is the one Meta priced it in. Plan
		// marks it Moved, and its timeline to derive again, at the end.
		if m.At.IsZero() || m.Progress.FirstAt.Before(m.At) {
			m.At = m.Progress.FirstAt
		}
		m.TemplateCategory = domain.TemplateCategoryOf(m.Progress.Pricing.Category)
	}
	return true, nil
}

func (p *planner) touch(k TimelineKey, at time.Time) {
	if t, ok := p.plan.Timelines[k]; !ok || at.Before(t) {
		p.plan.Timelines[k] = at
	}
}

// inbound applies a message a contact sent. Duplicates are ignored. A reply
// to one of our messages inherits its campaign, user and bot, so the MO
// report can filter by them.
func (p *planner) inbound(e *domain.InboundMessage) error {
	if p.msgs[e.WAMID] != nil {
		return nil // already stored
	}
	ch := p.channel(e.Recipient)
	contactID, e164, err := p.contact(ch.SubaccountID, e.FromWAID, e.FromUserID, e.ProfileName)
	if err != nil {
		return fmt.Errorf("inbound %s: %w", e.WAMID, err)
	}
	m := &Message{WAMID: e.WAMID, SubaccountID: ch.SubaccountID, ChannelID: ch.ID, ContactID: contactID,
		Direction: "mo", Origin: "webhook", At: e.Timestamp, Phone: e164, WAID: e.FromWAID, UserID: e.FromUserID,
		ContentType: e.Type, inbound: true}
	if e.ContextWAMID != "" {
		if c := p.msgs[e.ContextWAMID]; c != nil {
			m.CampaignID, m.SenderUserID, m.BotID = c.CampaignID, c.SenderUserID, c.BotID
		}
	}
	in := Inbound{Message: m, Text: e.Text, ContextWAMID: e.ContextWAMID, ButtonPayload: e.ButtonPayload,
		Content: string(e.Content), FromContact: e.Type != "system", ProfileName: e.ProfileName}
	if e.Referral != nil {
		b, _ := json.Marshal(e.Referral)
		in.Referral = string(b)
	}
	if len(e.Errors) > 0 {
		in.ErrorCode, in.ErrorTitle, in.ErrorDetail = e.Errors[0].Code, e.Errors[0].Title, e.Errors[0].Details
		if in.ErrorDetail == "" {
			in.ErrorDetail = e.Errors[0].Message
		}
	}
	p.msgs[e.WAMID] = m
	p.plan.Inbound = append(p.plan.Inbound, in)
	p.plan.Stats.Inbound++
	if !in.FromContact {
		// A system notice opens no session either.
		return nil
	}
	p.touch(TimelineKey{ch.ID, contactID}, e.Timestamp)
	if p.rules.isOptOutKeyword(e.Text) {
		p.optOut(contactID, true, e.Timestamp)
	}
	return nil
}

// preference applies a marketing opt-out or opt-in.
func (p *planner) preference(e *domain.PreferenceEvent, received time.Time) error {
	ch := p.channel(e.Recipient)
	contactID, _, err := p.contact(ch.SubaccountID, e.WAID, e.UserID, "")
	if err != nil {
		return fmt.Errorf("user_preferences: %w", err)
	}
	at := orReceived(e.Timestamp, received)
	p.optOut(contactID, e.Value == "stop", at)
	return p.event(ch, "user_preferences", e.Value, e.Detail, e, at, "")
}

// optOut records a contact's marketing preference as of at. The latest
// event wins; at the same instant (to the millisecond, as stored) a stop
// wins, so the order of arrival does not matter. The store applies the
// plan's one preference per contact the same way against the stored one.
func (p *planner) optOut(contactID int64, stop bool, at time.Time) {
	i, ok := p.plan.optOuts[contactID]
	if !ok {
		p.plan.optOuts[contactID] = len(p.plan.OptOuts)
		p.plan.OptOuts = append(p.plan.OptOuts, OptOut{ContactID: contactID, Stop: stop, At: at})
		return
	}
	o := &p.plan.OptOuts[i]
	if t, ot := at.UnixMilli(), o.At.UnixMilli(); t > ot || (t == ot && stop && !o.Stop) {
		o.Stop, o.At = stop, at
	}
}

// template applies a template status, quality or category update.
func (p *planner) template(e *domain.TemplateEvent, received time.Time) error {
	ch := p.wabaChannel(e.WABAID)
	at := orReceived(e.Timestamp, received)
	if e.Name != "" {
		p.plan.Templates = append(p.plan.Templates, TemplateUpdate{SubaccountID: ch.SubaccountID, WABAID: e.WABAID,
			MetaID: e.TemplateID, Name: e.Name, Language: e.Language, Category: e.Category, Status: e.Status,
			Quality: e.Quality, Reason: e.Reason, At: at})
	}
	event := e.Status
	if event == "" {
		event = e.Quality
	}
	if event == "" {
		event = e.Category
	}
	return p.event(ch, e.Field, event, e.Name+" "+e.Language+" "+e.Reason, e, at, "")
}

// account applies an account-level change: tier and quality of channels.
func (p *planner) account(e *domain.AccountEvent, received time.Time) error {
	at := orReceived(e.Timestamp, received)
	var ch Channel
	if e.PhoneNumberID != "" {
		ch = p.channel(e.Recipient)
	} else {
		ch = p.wabaChannel(e.WABAID)
	}
	quality := ""
	if e.Field == "phone_number_quality_update" {
		quality = e.Event
	}
	if e.Tier != "" || quality != "" {
		u := ChannelUpdate{Tier: e.Tier, Quality: quality, At: at}
		switch {
		case ch.ID != 0:
			u.ChannelID = ch.ID
		case e.Field == "phone_number_quality_update" && e.DisplayPhone != "":
			u.DisplayPhone = e.DisplayPhone
		default:
			u.WABAID = e.WABAID
		}
		p.plan.ChannelUpdates = append(p.plan.ChannelUpdates, u)
	}
	return p.event(ch, e.Field, e.Event, e.Detail, e, at, "")
}

// event records a webhook change for admins, identified by the hash of its
// field, salt and payload.
func (p *planner) event(ch Channel, field, event, detail string, payload any, at time.Time, salt string) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("record %s event: %w", field, err)
	}
	h := sha256.Sum256(append([]byte(field+"\x00"+salt+"\x00"), b...))
	p.plan.Events = append(p.plan.Events, Event{SubaccountID: ch.SubaccountID, ChannelID: ch.ID, Field: plainText(field),
		Event: plainText(event), Detail: plainText(detail), Payload: string(b), Hash: hex.EncodeToString(h[:]), At: at})
	return nil
}

// Resolve replaces the plan's references to the channels and contacts it
// creates by their IDs, once the store has created them and set the IDs in
// NewChannels and NewContacts.
func (p *Plan) Resolve() error {
	if len(p.NewChannels) == 0 && len(p.NewContacts) == 0 {
		return nil
	}
	for i, c := range p.NewChannels {
		if c.ID <= 0 {
			return fmt.Errorf("new channel %d (%s) has no id", i, c.PhoneNumberID)
		}
	}
	for i, c := range p.NewContacts {
		if c.ID <= 0 {
			return fmt.Errorf("new contact %d has no id", i)
		}
	}
	channel := func(id *int64) {
		if *id < 0 {
			*id = p.NewChannels[-*id-1].ID
		}
	}
	contact := func(id *int64) {
		if *id < 0 {
			*id = p.NewContacts[-*id-1].ID
		}
	}
	for _, m := range p.Messages {
		channel(&m.ChannelID)
		contact(&m.ContactID)
	}
	for i := range p.Inbound {
		channel(&p.Inbound[i].Message.ChannelID)
		contact(&p.Inbound[i].Message.ContactID)
	}
	for i := range p.ContactIDs {
		contact(&p.ContactIDs[i].ContactID)
	}
	clear(p.optOuts)
	for i := range p.OptOuts {
		contact(&p.OptOuts[i].ContactID)
		p.optOuts[p.OptOuts[i].ContactID] = i
	}
	for i := range p.ChannelUpdates {
		channel(&p.ChannelUpdates[i].ChannelID)
	}
	for i := range p.Events {
		channel(&p.Events[i].ChannelID)
	}
	timelines := make(map[TimelineKey]time.Time, len(p.Timelines))
	for k, t := range p.Timelines {
		channel(&k.ChannelID)
		contact(&k.ContactID)
		if u, ok := timelines[k]; !ok || t.Before(u) {
			timelines[k] = t
		}
	}
	p.Timelines = timelines
	return nil
}

// MessageIDs lists the wamids whose rows a batch needs, sorted, each once:
// those of its statuses and inbound messages, and of the messages its
// inbound messages answer.
func MessageIDs(items []Webhook) []string {
	var wamids []string
	for _, it := range items {
		for i := range it.Batch.Statuses {
			wamids = append(wamids, it.Batch.Statuses[i].WAMID)
		}
		for i := range it.Batch.Messages {
			e := &it.Batch.Messages[i]
			wamids = append(wamids, e.WAMID)
			if e.ContextWAMID != "" {
				wamids = append(wamids, e.ContextWAMID)
			}
		}
	}
	// A batch often holds several statuses of one message.
	slices.Sort(wamids)
	return slices.Compact(wamids)
}

// ChannelsNamed lists, sorted, the phone number ids and WABA ids whose
// channels a batch needs: those of every event, statuses of known messages
// included, whose channel is checked against the message's.
func ChannelsNamed(items []Webhook) (phoneNumberIDs, wabaIDs []string) {
	pnids, wabas := map[string]bool{}, map[string]bool{}
	channel := func(r domain.Recipient) {
		if r.PhoneNumberID != "" {
			pnids[r.PhoneNumberID] = true
		} else if r.WABAID != "" {
			wabas[r.WABAID] = true
		}
	}
	for _, it := range items {
		b := it.Batch
		for i := range b.Statuses {
			channel(b.Statuses[i].Recipient)
		}
		for i := range b.Messages {
			channel(b.Messages[i].Recipient)
		}
		for i := range b.Preferences {
			channel(b.Preferences[i].Recipient)
		}
		for i := range b.Templates {
			if w := b.Templates[i].WABAID; w != "" {
				wabas[w] = true
			}
		}
		for i := range b.Accounts {
			if e := &b.Accounts[i]; e.PhoneNumberID != "" {
				channel(e.Recipient)
			} else if e.WABAID != "" {
				wabas[e.WABAID] = true
			}
		}
		for i := range b.Errors {
			channel(b.Errors[i].Recipient)
		}
		for i := range b.Unknown {
			channel(b.Unknown[i].Recipient)
		}
		for i := range b.Unreadable {
			channel(b.Unreadable[i].Recipient)
		}
	}
	return sortedKeys(pnids), sortedKeys(wabas)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ContactLookup names the contacts of one subaccount a batch needs, by
// phone key and by business-scoped user id.
type ContactLookup struct {
	SubaccountID int64
	PhoneKeys    []string
	UserIDs      []string
}

// ContactsNamed lists the contacts a batch needs, each once, given pre's
// messages and channels.
func ContactsNamed(items []Webhook, pre *Preload) []ContactLookup {
	p := newPlanner(&Rules{}, pre)
	var out []ContactLookup
	seen := map[contactIndex]bool{}
	at := map[int64]int{}
	p.eachContact(items, func(sa int64, key, userID, _, _ string) {
		i, ok := at[sa]
		if !ok {
			i = len(out)
			at[sa] = i
			out = append(out, ContactLookup{SubaccountID: sa})
		}
		if k := (contactIndex{sa, false, key}); key != "" && !seen[k] {
			seen[k] = true
			out[i].PhoneKeys = append(out[i].PhoneKeys, key)
		}
		if k := (contactIndex{sa, true, userID}); userID != "" && !seen[k] {
			seen[k] = true
			out[i].UserIDs = append(out[i].UserIDs, userID)
		}
	})
	return out
}
