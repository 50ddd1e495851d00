package campaigns_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/campaigns"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/simulator"
)

// linkTemplates: an offer whose second button opens ticks's redirect with a
// dynamic suffix, and one whose dynamic URL is the shop's own.
var linkTemplates = []simulator.Template{
	{ID: "1000000000000201", Name: "oferta_link", Language: "pt_BR", Category: "MARKETING", Status: "APPROVED",
		Components: json.RawMessage(`[{"type":"BODY","text":"Olá {{1}}, sua oferta {{2}} chegou.","example":{"body_text":[["Maria","X"]]}},` +
			`{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Parar promoções"},` +
			`{"type":"URL","text":"Ver oferta","url":"https://ticks.example.com/r/{{1}}","example":["https://ticks.example.com/r/abc"]}]}]`)},
	{ID: "1000000000000202", Name: "oferta_loja", Language: "pt_BR", Category: "MARKETING", Status: "APPROVED",
		Components: json.RawMessage(`[{"type":"BODY","text":"Olá {{1}}, sua oferta {{2}} chegou."},` +
			`{"type":"BUTTONS","buttons":[{"type":"URL","text":"Ver oferta","url":"https://loja.example.com/p/{{1}}"}]}]`)},
}

func (e *env) createLinks(template string, urls []string, csv string) (*campaigns.Created, error) {
	return e.svc.Create(context.Background(), access.System(), campaigns.CreateInput{Name: "Links", ChannelID: e.ch.ID,
		Template: template, Language: "pt_BR", Audience: strings.NewReader(csv), LinkURLs: urls})
}

// sentCodes returns each row's code as its message carried it to WhatsApp
// (the URL button's suffix), by phone.
func (e *env) sentCodes(c *domain.Campaign) map[string]string {
	e.t.Helper()
	page, err := e.st.ReportMessages(context.Background(), &domain.MessageFilter{Campaign: c.ID, Direction: domain.DirectionMT,
		From: c.CreatedAt.Add(-time.Hour), To: time.Now().Add(time.Hour), Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, row := range page.Rows {
		m, err := e.st.Message(context.Background(), row.ID, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		var tpl struct {
			Components []struct {
				Type       string `json:"type"`
				SubType    string `json:"sub_type"`
				Index      string `json:"index"`
				Parameters []struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"parameters"`
			} `json:"components"`
		}
		if err := json.Unmarshal(m.Content, &tpl); err != nil {
			e.t.Fatalf("message %d content %s: %v", m.ID, m.Content, err)
		}
		var body int
		for _, c := range tpl.Components {
			switch {
			case c.Type == "body":
				body = len(c.Parameters)
			case c.Type == "button" && c.SubType == "url" && c.Index == "1" && len(c.Parameters) == 1:
				out[m.Phone] = c.Parameters[0].Text
			}
		}
		if body != 2 {
			e.t.Fatalf("message %d carries %d body parameters, want 2: %s", m.ID, body, m.Content)
		}
	}
	return out
}

func TestLinkClicks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// What cannot be counted is refused before anything is stored.
	for _, bad := range []struct {
		template, url string
		code          string
		says          string
	}{
		{"promocao_outono", "https://loja.example.com/natal", domain.EUNPROCESSABLE, "no URL button with a dynamic suffix"},
		{"lancamento_colecao", "https://loja.example.com/natal", domain.EUNPROCESSABLE, "no URL button with a dynamic suffix"},
		{"oferta_loja", "https://loja.example.com/natal", domain.EUNPROCESSABLE, "ticks's redirect"},
		{"oferta_link", "ftp://loja.example.com/natal", domain.EINVALID, "http or https"},
		{"oferta_link", "loja.example.com/natal", domain.EINVALID, "http or https"},
	} {
		csv := audience(2)
		if bad.template == "lancamento_colecao" {
			csv = "phone,var1\n+5511970000000,Ana\n"
		}
		_, err := e.createLinks(bad.template, []string{bad.url}, csv)
		if domain.ErrorCode(err) != bad.code || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%s with %s: %v, want %s saying %q", bad.template, bad.url, err, bad.code, bad.says)
		}
	}
	if _, err := e.createLinks("oferta_link", []string{"https://a.example.com", "https://b.example.com"}, audience(2)); domain.ErrorCode(err) != domain.EUNPROCESSABLE {
		t.Errorf("two links for one button: %v", err)
	}
	if list, _, _ := e.svc.List(ctx, access.System(), campaigns.ListFilter{}); len(list) != 0 {
		t.Fatalf("refused campaigns were stored: %d", len(list))
	}

	const target = "https://loja.example.com/natal?utm_source=whatsapp"
	created, err := e.createLinks("oferta_link", []string{target}, audience(20))
	if err != nil {
		t.Fatal(err)
	}
	c := created.Campaign
	if _, err := e.svc.Start(ctx, access.System(), c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(c.ID, domain.CampaignCompleted, 30*time.Second)
	codes := e.sentCodes(c)
	if len(codes) != 20 {
		t.Fatalf("%d messages carry a code, want 20", len(codes))
	}
	seen := map[string]bool{}
	for phone, code := range codes {
		if seen[code] || len(code) < 16 {
			t.Fatalf("code %q of %s is repeated or short", code, phone)
		}
		seen[code] = true
	}
	first, second := codes["+5511970000000"], codes["+5511970000001"]
	for _, code := range []string{first, first, second} {
		to, err := e.svc.Click(ctx, code)
		if err != nil || to != target {
			t.Fatalf("click %s: %q %v", code, to, err)
		}
	}
	// Codes that are not a campaign's count nothing: altered, cut, made up.
	other, err := e.createLinks("oferta_link", []string{"https://outra.example.com"}, audience(3))
	if err != nil {
		t.Fatal(err)
	}
	altered := []byte(first)
	altered[len(altered)-3] ^= 1
	if altered[len(altered)-3] == first[len(first)-3] {
		t.Fatal("the alteration changed nothing")
	}
	for _, code := range []string{string(altered), first[:len(first)-2], "", "abc", strings.Repeat("A", 30), "../../etc", first + "A"} {
		if to, err := e.svc.Click(ctx, code); domain.ErrorCode(err) != domain.ENOTFOUND || to != "" {
			t.Errorf("click %q: %q %v, want not found", code, to, err)
		}
	}
	d, err := e.svc.Detail(ctx, access.System(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Links) != 1 || d.Links[0].Button != 1 || d.Links[0].Text != "Ver oferta" || d.Links[0].URL != target ||
		d.Links[0].Contacts != 2 || d.Links[0].Clicks != 3 {
		t.Fatalf("links %+v, want button 1 clicked by 2 contacts 3 times", d.Links)
	}
	if d.Counters.LinkClicked != 2 || d.Counters.Clicked < 2 {
		t.Fatalf("counters clicked %d link_clicked %d", d.Counters.Clicked, d.Counters.LinkClicked)
	}
	var got []campaigns.Click
	next, err := e.svc.Clicks(ctx, access.System(), c.ID, campaigns.ClicksFilter{Button: -1, Limit: 1}, func(k campaigns.Click) error {
		got = append(got, k)
		return nil
	})
	if err != nil || next == "" || len(got) != 1 {
		t.Fatalf("first page: %v %q %d", err, next, len(got))
	}
	next, err = e.svc.Clicks(ctx, access.System(), c.ID, campaigns.ClicksFilter{Button: 1, Limit: 1, Cursor: next}, func(k campaigns.Click) error {
		got = append(got, k)
		return nil
	})
	if err != nil || next != "" || len(got) != 2 {
		t.Fatalf("second page: %v %q %d", err, next, len(got))
	}
	if got[0].Phone != "+5511970000000" || got[0].Clicks != 2 || got[0].Name != "Cliente 0" ||
		got[1].Phone != "+5511970000001" || got[1].Clicks != 1 || got[0].FirstAt.After(got[0].LastAt) {
		t.Fatalf("clicks %+v", got)
	}
	if _, err := e.svc.Clicks(ctx, access.System(), c.ID, campaigns.ClicksFilter{Button: 0}, func(campaigns.Click) error { return nil }); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("clicks of a button not counted: %v", err)
	}
	stop := errors.New("stop")
	if _, err := e.svc.Clicks(ctx, access.System(), other.Campaign.ID, campaigns.ClicksFilter{Button: -1}, func(campaigns.Click) error { return stop }); err != nil {
		t.Errorf("the other campaign has clicks or fails: %v", err)
	}
	// A comparison with a campaign that counts links puts its click rate
	// beside the others; one without has none.
	cmp, err := e.svc.Compare(ctx, access.System(), []int64{c.ID, other.Campaign.ID})
	if err != nil {
		t.Fatal(err)
	}
	if k := cmp.Campaigns[0]; k.Click == nil || k.Click.Den != k.Counters.Delivered || k.Click.Num > 2 || cmp.Campaigns[1].Click == nil {
		t.Fatalf("click rates %+v %+v", cmp.Campaigns[0].Click, cmp.Campaigns[1].Click)
	}
	rates := map[string]bool{}
	for _, d := range cmp.Differences {
		rates[d.Rate] = true
	}
	if !rates["click"] || len(rates) != 5 {
		t.Fatalf("differences by rate: %v", rates)
	}
	plain1, plain2 := e.create(audience(2), nil), e.create(audience(3), nil)
	if cmp, err := e.svc.Compare(ctx, access.System(), []int64{plain1.Campaign.ID, plain2.Campaign.ID}); err != nil ||
		cmp.Campaigns[0].Click != nil || len(cmp.Differences) != 4 {
		t.Fatalf("a comparison without links: %+v %v", cmp, err)
	}
	// Another subaccount's supervisor sees none of it.
	outsider := &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{e.sa + 1000}}
	if _, err := e.svc.Clicks(ctx, outsider, c.ID, campaigns.ClicksFilter{Button: -1}, func(campaigns.Click) error { return nil }); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("an outsider's clicks: %v", err)
	}
}
