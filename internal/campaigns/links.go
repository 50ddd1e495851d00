package campaigns

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// Link clicks (seed 000: "os botões de ação não conseguimos rastrear
// cliques"). A campaign whose template has a URL button with a dynamic
// suffix, approved with an address ending in "/r/{{1}}" on ticks's own
// host, sends each message a code of its own as that suffix: the button
// opens ticks's short redirect /r/{code}, which counts the click by
// contact and button and answers 302 with the campaign's address for the
// button. A code is the campaign, the audience row and the button, signed
// with the campaign's own key (HMAC-SHA-256, 80 bits kept): it cannot be
// guessed or altered, and needs no table of codes written at each send
// (a row sent again after a crash gets the same code).

// RedirectPath is where a link button's address must point (followed by
// {{1}}), on the host ticks is reached at.
const RedirectPath = "/r/"

const (
	macBytes   = 10
	linkKeyLen = 32
	maxLinkURL = 2000
)

// linkCode is the code of campaign c's audience row seq on button.
func linkCode(key []byte, campaign int64, seq, button int) string {
	b := make([]byte, 0, 2*binary.MaxVarintLen64+1+macBytes)
	b = binary.AppendUvarint(b, uint64(campaign))
	b = binary.AppendUvarint(b, uint64(seq))
	b = append(b, byte(button))
	b = append(b, linkMAC(key, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func linkMAC(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ticks-link\x00"))
	m.Write(payload)
	return m.Sum(nil)[:macBytes]
}

// parsedCode is what a code says, before its signature is checked.
type parsedCode struct {
	campaign int64
	seq      int
	button   int
	payload  []byte
	mac      []byte
}

func parseCode(code string) (parsedCode, bool) {
	var p parsedCode
	if len(code) == 0 || len(code) > 64 {
		return p, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(code)
	if err != nil || len(b) < 3+macBytes {
		return p, false
	}
	id, n := binary.Uvarint(b)
	if n <= 0 || id == 0 || id > 1<<62 {
		return p, false
	}
	seq, m := binary.Uvarint(b[n:])
	if m <= 0 || seq == 0 || seq > MaxAudienceRows {
		return p, false
	}
	rest := b[n+m:]
	if len(rest) != 1+macBytes {
		return p, false
	}
	p.campaign, p.seq, p.button = int64(id), int(seq), int(rest[0])
	p.payload, p.mac = b[:n+m+1], rest[1:]
	return p, true
}

// planLinks checks the addresses a campaign's creator gave for its
// template's dynamic URL buttons, in the buttons' order, and returns the
// links to route and their key; none given, none routed.
func planLinks(tpl *domain.Template, urls []string) ([]domain.CampaignLink, []byte, error) {
	var given []string
	for _, u := range urls {
		if u = strings.TrimSpace(u); u != "" {
			given = append(given, u)
		}
	}
	if len(given) == 0 {
		return nil, nil, nil
	}
	var dynamic []domain.URLButton
	for _, b := range tpl.URLButtons() {
		if b.Dynamic() {
			dynamic = append(dynamic, b)
		}
	}
	if len(dynamic) == 0 {
		return nil, nil, domain.Errorf(domain.EUNPROCESSABLE,
			"link_url: template %q has no URL button with a dynamic suffix ({{1}}) to count clicks on", tpl.Name)
	}
	if len(given) > len(dynamic) {
		return nil, nil, domain.Errorf(domain.EUNPROCESSABLE, "link_url: %d given, but template %q has %d URL button(s) with a dynamic suffix",
			len(given), tpl.Name, len(dynamic))
	}
	var links []domain.CampaignLink
	for i, raw := range given {
		b := dynamic[i]
		if !strings.HasSuffix(strings.TrimSuffix(b.URL, "{{1}}"), RedirectPath) {
			return nil, nil, domain.Errorf(domain.EUNPROCESSABLE,
				"link_url: the button %q of template %q opens %s; to count its clicks its address must be ticks's redirect, https://<ticks's host>/r/{{1}}",
				b.Text, tpl.Name, b.URL)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(raw) > maxLinkURL {
			return nil, nil, domain.Errorf(domain.EINVALID, "link_url %q must be an http or https address of at most %d characters", raw, maxLinkURL)
		}
		links = append(links, domain.CampaignLink{Button: b.Index, Text: b.Text, URL: raw})
	}
	key := make([]byte, linkKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, err
	}
	return links, key, nil
}

// templateComponents is the template's components of one audience row:
// its body variables and, for each routed link button, the row's code as
// the button's suffix.
func templateComponents(c *domain.Campaign, r domain.CampaignRow) json.RawMessage {
	type param struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type component struct {
		Type       string  `json:"type"`
		SubType    string  `json:"sub_type,omitempty"`
		Index      string  `json:"index,omitempty"`
		Parameters []param `json:"parameters"`
	}
	comps := make([]component, 0, 1+len(c.Links))
	if len(r.Vars) > 0 {
		body := component{Type: "body", Parameters: make([]param, len(r.Vars))}
		for i, v := range r.Vars {
			body.Parameters[i] = param{Type: "text", Text: v}
		}
		comps = append(comps, body)
	}
	for _, l := range c.Links {
		comps = append(comps, component{Type: "button", SubType: "url", Index: strconv.Itoa(l.Button),
			Parameters: []param{{Type: "text", Text: linkCode(c.LinkKey, c.ID, r.Seq, l.Button)}}})
	}
	b, _ := json.Marshal(comps)
	return b
}

// Click counts the click of the code a link button opened and returns
// where it goes. Anyone may click (a contact on a phone, with no login):
// the code's signature is the right. A code that is not one of a campaign's
// is ENOTFOUND, and nothing is counted.
func (s *Service) Click(ctx context.Context, code string) (string, error) {
	notFound := domain.Errorf(domain.ENOTFOUND, "this link does not exist")
	p, ok := parseCode(code)
	if !ok {
		return "", notFound
	}
	c, err := s.Store.Campaign(ctx, p.campaign)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return "", notFound
	}
	if err != nil {
		return "", err
	}
	if len(c.LinkKey) == 0 || !hmac.Equal(p.mac, linkMAC(c.LinkKey, p.payload)) || p.seq > c.Audience {
		return "", notFound
	}
	for _, l := range c.Links {
		if l.Button == p.button {
			if _, err := s.Store.RecordCampaignClick(ctx, c.SubaccountID, c.ID, l.Button, p.seq, s.now()); err != nil {
				return "", err
			}
			s.publish(c)
			return l.URL, nil
		}
	}
	return "", notFound
}

// LinkCount is a routed link button of a campaign and its clicks.
type LinkCount struct {
	Button   int    `json:"button"`
	Text     string `json:"text"`
	URL      string `json:"url"`
	Contacts int64  `json:"contacts"` // contacts who clicked it
	Clicks   int64  `json:"clicks"`   // every click, a contact's second ones included
}

func (s *Service) linkCounts(ctx context.Context, c *domain.Campaign) ([]LinkCount, error) {
	out := []LinkCount{}
	if len(c.Links) == 0 {
		return out, nil
	}
	counts, err := s.Store.CampaignLinkCounts(ctx, c.SubaccountID, c.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range c.Links {
		n := counts[l.Button]
		out = append(out, LinkCount{Button: l.Button, Text: l.Text, URL: l.URL, Contacts: n.Contacts, Clicks: n.Clicks})
	}
	return out, nil
}

// Click is a contact who clicked a campaign's counted link: its audience
// row and its clicks.
type Click = store.CampaignClick

// ClicksFilter selects the contacts who clicked a campaign's links.
type ClicksFilter struct {
	Button int    // -1: every button
	Limit  int    // 1..1000 for a page; 0: all of them (a download)
	Cursor string // from the previous page
}

// Clicks calls fn with each contact who clicked a link of campaign id, by
// button and then audience row, and returns the next page's cursor ("" on
// the last, and for a download).
func (s *Service) Clicks(ctx context.Context, p *access.Principal, id int64, f ClicksFilter, fn func(Click) error) (string, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return "", err
	}
	if f.Limit < 0 || f.Limit > 1000 {
		return "", domain.Errorf(domain.EINVALID, "limit must be between 1 and 1000")
	}
	sf := store.CampaignClickFilter{Subaccount: c.SubaccountID, Campaign: c.ID, Button: f.Button}
	if f.Cursor != "" {
		b, q, ok := strings.Cut(f.Cursor, ".")
		var err1, err2 error
		sf.AfterButton, err1 = strconv.Atoi(b)
		sf.AfterSeq, err2 = strconv.Atoi(q)
		if !ok || err1 != nil || err2 != nil || sf.AfterButton < 0 || sf.AfterSeq < 0 {
			return "", domain.Errorf(domain.EINVALID, "cursor is not one this list gave")
		}
	}
	if f.Button >= 0 {
		known := false
		for _, l := range c.Links {
			known = known || l.Button == f.Button
		}
		if !known {
			return "", domain.Errorf(domain.EINVALID, "button %d is not one of the campaign's counted links", f.Button)
		}
	}
	if f.Limit > 0 {
		sf.Limit = f.Limit + 1
	}
	n, next := 0, ""
	var last store.CampaignClick
	err = s.Store.CampaignClicks(ctx, sf, func(k store.CampaignClick) error {
		n++
		if f.Limit > 0 && n > f.Limit {
			next = strconv.Itoa(last.Button) + "." + strconv.Itoa(last.Seq)
			return nil
		}
		last = k
		return fn(k)
	})
	return next, err
}

// RowLink is the address one audience row's message carries on one link
// button: its code, for /r/{code}.
type RowLink struct {
	Seq    int
	Phone  string
	Button int
	Code   string
}

// LinkCodes returns the codes the messages of campaign id's audience rows
// after seq carry (up to limit rows already sent): what a contact's tap
// opens, for checks and for the demo's simulated contacts. Admins and
// supervisors only, as the codes count clicks.
func (s *Service) LinkCodes(ctx context.Context, p *access.Principal, id int64, after, limit int) ([]RowLink, error) {
	if err := p.Need(writers...); err != nil {
		return nil, err
	}
	c, err := s.get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > 10_000 {
		return nil, domain.Errorf(domain.EINVALID, "limit must be between 1 and 10000")
	}
	if len(c.Links) == 0 || after >= c.Processed {
		return nil, nil
	}
	rows, err := s.Store.CampaignRows(ctx, c.ID, after, min(limit, c.Processed-after))
	if err != nil {
		return nil, err
	}
	out := make([]RowLink, 0, len(rows)*len(c.Links))
	for _, r := range rows {
		for _, l := range c.Links {
			out = append(out, RowLink{Seq: r.Seq, Phone: r.Phone, Button: l.Button, Code: linkCode(c.LinkKey, c.ID, r.Seq, l.Button)})
		}
	}
	return out, nil
}
