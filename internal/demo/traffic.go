package demo

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/server"
	"github.com/ticksapp/ticks/internal/simulator"
)

// Traffic sends the demo's traffic through the real pipeline: templates of
// every category, free-form replies inside and outside sessions, mistakes
// users make (bad numbers, wrong parameters, unknown templates), the
// warm-up number, and contacts writing first.
type Traffic struct {
	Services server.Services
	Sim      *simulator.Server
	Rate     float64 // messages a second; 0 sends nothing
	// Desk, when set, plays the help desk's agents every DeskEvery.
	Desk      *Desk
	DeskEvery time.Duration

	r        *mrand.Rand
	menuBots map[int64]int64 // subaccount → its menu bot, found at the first menu
}

// Run sends until ctx is done.
func (g *Traffic) Run(ctx context.Context) {
	if g.Rate <= 0 {
		return
	}
	g.r = mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	chans, err := g.Services.Channels.List(ctx, access.System())
	if err != nil {
		slog.Error("demo traffic", slog.Any("err", err))
		return
	}
	byPhone := map[string]*domain.Channel{}
	for i := range chans {
		byPhone[chans[i].PhoneNumberID] = &chans[i]
	}
	centro, online, warm := byPhone[Phones[0].PhoneNumberID], byPhone[Phones[1].PhoneNumberID], byPhone[Phones[2].PhoneNumberID]
	if centro == nil || online == nil || warm == nil {
		slog.Error("demo traffic: the demo's channels are missing; delete the data folder to start over")
		return
	}
	// A welcome campaign to every contact of Loja Online at start: its
	// 250-contact tier is reached, so the last ones are refused (tier_limit).
	go func() {
		for i := 0; i < Contacts && ctx.Err() == nil; i++ {
			g.send(ctx, online, &send.Request{To: Phone(i), Type: "template",
				Template: &send.TemplateRef{Name: "pedido_enviado", Language: "pt_BR", Params: []string{Name(i), fmt.Sprint(10000 + i), "3"}}})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	tick := time.NewTicker(time.Duration(float64(time.Second) / g.Rate))
	defer tick.Stop()
	var deskTick <-chan time.Time
	if g.Desk != nil {
		if err := g.Desk.Start(ctx); err != nil {
			slog.Error("demo desk", slog.Any("err", err))
		} else {
			t := time.NewTicker(cmp.Or(g.DeskEvery, 2*time.Second))
			defer t.Stop()
			deskTick = t.C
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			g.step(ctx, centro, online, warm)
		case <-deskTick:
			g.Desk.Step(ctx)
		}
	}
}

func (g *Traffic) step(ctx context.Context, centro, online, warm *domain.Channel) {
	r := g.r
	i := r.IntN(Contacts)
	ch := centro
	if r.IntN(3) == 0 {
		ch = online
	}
	to, name := Phone(i), Name(i)
	switch n := r.IntN(100); {
	case n < 30:
		g.send(ctx, ch, &send.Request{To: to, Type: "template", CorrelationID: fmt.Sprintf("PED-%06d", r.IntN(999999)),
			Template: &send.TemplateRef{Name: "promocao_outono", Language: "pt_BR", Params: []string{name, "OUTONO20"}}})
	case n < 45:
		g.send(ctx, ch, &send.Request{To: to, Type: "template",
			Template: &send.TemplateRef{Name: "pedido_enviado", Language: "pt_BR", Params: []string{name, fmt.Sprint(r.IntN(99999)), "5"}}})
	case n < 52:
		g.send(ctx, ch, &send.Request{To: to, Type: "template",
			Template: &send.TemplateRef{Name: "codigo_verificacao", Language: "pt_BR", Params: []string{fmt.Sprintf("%06d", r.IntN(1000000))}}})
	case n < 70: // a free-form answer: in a session, or falling back / refused outside one
		g.send(ctx, ch, &send.Request{To: to, Type: "text", Text: "Olá " + name + ", obrigado pelo contato! Como podemos ajudar?"})
	case n < 74: // a typo in the number
		g.send(ctx, ch, &send.Request{To: fmt.Sprintf("+55 11 %d", r.IntN(9999)), Type: "text", Text: "Oi!"})
	case n < 78: // wrong parameters, unknown template
		g.send(ctx, ch, &send.Request{To: to, Type: "template", Template: &send.TemplateRef{Name: "pedido_enviado", Language: "pt_BR", Params: []string{name}}})
	case n < 80:
		g.send(ctx, ch, &send.Request{To: to, Type: "template", Template: &send.TemplateRef{Name: "black_friday", Language: "pt_BR"}})
	case n < 86: // the warm-up number: the program's own sends go, others are blocked
		req := &send.Request{To: to, Type: "template", Template: &send.TemplateRef{Name: "hello_world", Language: "en_US"}}
		if r.IntN(2) == 0 {
			req.Origin = "warmup"
		}
		g.send(ctx, warm, req)
	default: // contacts writing first, some from ads
		if _, err := g.Sim.GenerateInbound(simulator.Inbound{PhoneNumberID: ch.PhoneNumberID, From: to[1:]}); err != nil {
			slog.Warn("demo traffic", slog.Any("err", err))
		}
		g.menu(ctx, ch.SubaccountID, to) // the menu bot answers and records the contact's choices
	}
}

// send sends req on ch as the system would; a refusal is part of the demo,
// only an error is logged.
func (g *Traffic) send(ctx context.Context, ch *domain.Channel, req *send.Request) {
	req.ChannelID = ch.ID
	if _, err := g.Services.Send.Send(ctx, access.System(), req); err != nil && ctx.Err() == nil {
		slog.Warn("demo traffic: send failed", slog.Any("err", err))
	}
}
