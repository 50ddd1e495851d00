package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/store"
)

// SeedOptions configure a generated data set for the report benchmarks.
type SeedOptions struct {
	DatabaseURL string    // a SQLite file path or a postgres:// URL; created and migrated
	Messages    int       // about as many in the main subaccount; the small one gets 1% more
	Days        int       // spread over this many days before End
	End         time.Time // the newest instant (default: now, to the hour)
	Seed        uint64    // of the random generator: same seed, same data
	Progress    io.Writer // a line per million rows when not nil
}

// SeedResult is what a seed wrote and how fast.
type SeedResult struct {
	Dialect           store.Dialect
	Subaccount, Small int64 // the main subaccount and the small one
	Messages          int   // rows written, both subaccounts
	Contacts          int
	Campaigns, Users  int
	From, To          time.Time
	Load              time.Duration // rows in, without secondary indexes or triggers
	Index             time.Duration // secondary indexes built
	Rollup            time.Duration // the rollup rebuilt
	Analyze           time.Duration // planner statistics (and PostgreSQL's visibility map)
	Total             time.Duration
}

// Print writes a result as a table.
func (r *SeedResult) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "database\t%s\n", r.Dialect)
	fmt.Fprintf(tw, "data\t%d messages (about 1%% of them in subaccount %d, the rest in %d), %d contacts, %d campaigns, %d users, %s to %s\n",
		r.Messages, r.Small, r.Subaccount, r.Contacts, r.Campaigns, r.Users,
		r.From.Format(time.DateOnly), r.To.Format(time.DateOnly))
	fmt.Fprintf(tw, "load\t%v\t%.0f rows/s\n", r.Load.Round(time.Millisecond), float64(r.Messages)/r.Load.Seconds())
	fmt.Fprintf(tw, "indexes\t%v\n", r.Index.Round(time.Millisecond))
	fmt.Fprintf(tw, "rollup\t%v\n", r.Rollup.Round(time.Millisecond))
	fmt.Fprintf(tw, "analyze\t%v\n", r.Analyze.Round(time.Millisecond))
	fmt.Fprintf(tw, "total\t%v\t%.0f rows/s overall\n", r.Total.Round(time.Millisecond), float64(r.Messages)/r.Total.Seconds())
	tw.Flush()
}

// Seed writes a realistic data set into a fresh database: the bench's own
// world (a big subaccount and a small one, four numbers, 26 users,
// contacts by the hundred thousand) and its history from the same
// generator as the demo's (see World). It loads without secondary indexes
// and triggers, then builds the indexes, rebuilds the rollup exactly and
// collects planner statistics.
func Seed(ctx context.Context, o SeedOptions) (*SeedResult, error) {
	if o.Messages < 1 || o.Days < 1 {
		return nil, errors.New("seed: messages and days must be positive")
	}
	if o.End.IsZero() {
		o.End = time.Now().UTC().Truncate(time.Hour)
	}
	start := time.Now()
	st, err := store.Open(ctx, o.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	l, err := openLoader(ctx, o.DatabaseURL, false)
	if err != nil {
		return nil, err
	}
	defer l.close()
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&n); err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, fmt.Errorf("seed: the database already has %d messages; seed an empty one", n)
	}
	res := &SeedResult{Dialect: st.Dialect(), From: o.End.AddDate(0, 0, -o.Days), To: o.End}
	w, err := benchWorld(ctx, st, o, res)
	if err != nil {
		return nil, err
	}
	// The contacts are new: their ids follow the ones there are.
	var maxID int64
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM contacts`).Scan(&maxID); err != nil {
		return nil, err
	}
	ids := make([][]int64, len(w.Subaccounts))
	for i, sa := range w.Subaccounts {
		ids[i] = make([]int64, len(sa.Contacts))
		for j := range ids[i] {
			maxID++
			ids[i][j] = maxID
		}
	}
	g := newGenerator(w, ids)

	t0 := time.Now()
	saved, err := l.dropIndexes(ctx)
	if err != nil {
		return nil, err
	}
	src := produce(ctx, g, func(*msg) bool { return true })
	res.Messages, err = l.messages(ctx, src, 100_000, func(written int) {
		if o.Progress != nil && written/1_000_000 != (written-100_000)/1_000_000 {
			fmt.Fprintf(o.Progress, "%d rows, %.0f rows/s\n", written, float64(written)/time.Since(t0).Seconds())
		}
	})
	src.close()
	if err != nil {
		return nil, err
	}
	// The contacts as the history leaves them: their last messages and
	// opt-outs.
	if err := l.contacts(ctx, finalContacts(g, ms(w.start())-day)); err != nil {
		return nil, err
	}
	res.Campaigns = len(g.campaigns)
	for _, sa := range w.Subaccounts {
		res.Contacts += len(sa.Contacts)
	}
	res.Load = time.Since(t0)

	t0 = time.Now()
	if err := l.restore(ctx, saved, false); err != nil {
		return nil, err
	}
	res.Index = time.Since(t0)
	t0 = time.Now()
	if err := st.RebuildRollup(ctx); err != nil {
		return nil, err
	}
	if err := st.RebuildConsumption(ctx); err != nil {
		return nil, err
	}
	if err := l.restore(ctx, saved, true); err != nil {
		return nil, err
	}
	res.Rollup = time.Since(t0)
	t0 = time.Now()
	if err := l.analyze(ctx, false); err != nil {
		return nil, err
	}
	res.Analyze = time.Since(t0)
	res.Total = time.Since(start)
	return res, nil
}

// finalContacts is the generator's contacts as rows, as the history left
// them.
func finalContacts(g *generator, before int64) []contactRow {
	var out []contactRow
	for _, s := range g.subs {
		for i := range s.contacts {
			c := &s.contacts[i]
			cr := contactRow{id: c.id, subaccount: s.ID, e164: c.phone, key: c.key, waID: c.waID, name: c.name,
				correlation: c.correlation, optedOut: c.optedOut, lastInbound: c.lastInbound, createdAt: before}
			if c.optedOut {
				cr.preferenceAt = max(c.optAt, before)
			}
			out = append(out, cr)
		}
	}
	return out
}

// The bench world's vocabulary.
var (
	firstNames = []string{"Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Heitor", "Isabela", "João",
		"Larissa", "Marcos", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Thiago", "Vitória", "Wagner"}
	benchTemplates = []WorldTemplate{
		{Name: "promo_black_friday", Language: "pt_BR", Category: "marketing", Body: "Olá {{1}}! A Black Friday começou: até 50% de desconto em toda a loja.",
			Examples: []string{"Maria"}, QuickReplies: []string{"Quero", "Não tenho interesse"}},
		{Name: "carrinho_abandonado", Language: "pt_BR", Category: "marketing", Body: "Você esqueceu itens no carrinho! Finalize com frete grátis.",
			QuickReplies: []string{"Ver ofertas", "Falar com atendente"}},
		{Name: "pesquisa_satisfacao", Language: "pt_BR", Category: "marketing", Body: "Como foi seu atendimento? Responda de 1 a 5."},
		{Name: "pedido_enviado", Language: "pt_BR", Category: "utility", Body: "Seu pedido #{{1}} saiu para entrega e chega amanhã.",
			Examples: []string{"48213"}, QuickReplies: []string{"Rastrear pedido", "Falar com atendente"}},
		{Name: "pedido_confirmado", Language: "pt_BR", Category: "utility", Body: "Recebemos seu pedido #{{1}}. Obrigado pela compra!",
			Examples: []string{"48213"}},
		{Name: "boleto_vencendo", Language: "pt_BR", Category: "utility", Body: "Seu boleto de R$ {{1}},90 vence amanhã. Evite juros.",
			Examples: []string{"129"}},
		{Name: "lembrete_consulta", Language: "pt_BR", Category: "utility", Body: "Lembrete: sua consulta é amanhã às {{1}}:00.",
			Examples: []string{"9"}},
		{Name: "codigo_acesso", Language: "pt_BR", Category: "authentication", Body: "Seu código de acesso é {{1}}. Não compartilhe."},
	}
)

// benchWorld creates the bench's organization in st: a big subaccount
// (bench) with two numbers and a third warming up for the last two weeks,
// a small one (bench-small, 1% of the traffic) with one; 4 marketing
// users and 20 agents in the big one, 2 agents in the small one; one
// contact per 20 messages, São Paulo mobiles.
func benchWorld(ctx context.Context, st *store.Store, o SeedOptions, res *SeedResult) (*World, error) {
	main := &domain.Subaccount{Name: "bench"}
	small := &domain.Subaccount{Name: "bench-small"}
	for _, sa := range []*domain.Subaccount{main, small} {
		if err := st.CreateSubaccount(ctx, sa); err != nil {
			return nil, err
		}
	}
	res.Subaccount, res.Small = main.ID, small.ID
	w := &World{PerDay: max(1, int(float64(o.Messages)*1.01/float64(o.Days)+0.5)), Days: o.Days, End: o.End, Seed: o.Seed,
		TTL: 30 * 24 * time.Hour, InFlight: 2 * time.Minute, Templates: benchTemplates}
	big := WorldSubaccount{ID: main.ID, Share: 100, Bots: []int64{1, 2, 3}, Campaigns: 3, CampaignAudience: [2]float64{0.005, 0.047}}
	little := WorldSubaccount{ID: small.ID, Share: 1, Bots: []int64{4}}
	numbers := []struct {
		sa    *WorldSubaccount
		share float64
		tier  string
		warm  bool
	}{{&big, 0.72, "TIER_100K", false}, {&big, 0.25, benchTier(o.Messages / 20), false}, {&big, 0.03, "TIER_1K", true}, {&little, 1, "TIER_1K", false}}
	for i, n := range numbers {
		ch := &domain.Channel{SubaccountID: n.sa.ID, Name: fmt.Sprintf("Número %d", i+1), WABAID: fmt.Sprintf("10229012934%04d", i),
			PhoneNumberID: fmt.Sprintf("10654035224%04d", i), DisplayPhone: fmt.Sprintf("551140040%03d", i), Tier: n.tier}
		wc := WorldChannel{PhoneNumberID: ch.PhoneNumberID, Share: n.share, Tier: n.tier}
		if n.warm {
			ch.Name += " (aquecimento)"
			wc.Since, wc.WarmupUntil, wc.WarmupTemplate = o.End.AddDate(0, 0, -14), o.End.AddDate(0, 0, 16), "pedido_confirmado"
			until := wc.WarmupUntil
			ch.WarmupUntil, ch.WarmupDailyLimit = &until, 500
		}
		if err := st.CreateChannel(ctx, ch); err != nil {
			return nil, err
		}
		wc.ID = ch.ID
		n.sa.Channels = append(n.sa.Channels, wc)
	}
	for i := 0; i < 26; i++ {
		u := &domain.User{Email: fmt.Sprintf("agente%02d@bench.example", i), Name: firstNames[i%len(firstNames)],
			Role: domain.RoleAgent, Subaccounts: []int64{main.ID}}
		switch {
		case i < 4:
			u.Email, u.Role = fmt.Sprintf("marketing%02d@bench.example", i), domain.RoleSupervisor
		case i >= 24:
			u.Subaccounts = []int64{small.ID}
		}
		if err := st.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		switch {
		case i < 4:
			big.Marketers = append(big.Marketers, u.ID)
		case i < 24:
			big.Agents = append(big.Agents, u.ID)
		default:
			little.Agents = append(little.Agents, u.ID)
		}
	}
	res.Users = 26
	nc := max(o.Messages/20, 100)
	big.Contacts = seedContacts(1, nc, o.Seed)
	little.Contacts = seedContacts(nc+1, max(nc/100, 20), o.Seed)
	w.Subaccounts = []WorldSubaccount{big, little}
	return w, w.check()
}

// benchTier is the tier of the bench's second number: the biggest one
// smaller than its bigger campaigns, whatever the scale, so that some
// messages meet it (tier_limit).
func benchTier(contacts int) string {
	tier := "TIER_250"
	for _, t := range []string{"TIER_1K", "TIER_2K", "TIER_10K", "TIER_100K"} {
		if tierLimit(t) <= contacts*3/100 {
			tier = t
		}
	}
	return tier
}

// seedContacts makes n contacts numbered from first: São Paulo mobiles,
// 60% with a correlation id, 1.5% opted out.
func seedContacts(first, n int, seed uint64) []WorldContact {
	r := rand.New(rand.NewPCG(seed, uint64(first)))
	out := make([]WorldContact, n)
	for i := range out {
		id := first + i
		c := WorldContact{Phone: fmt.Sprintf("+55119%08d", 10000000+id), Name: firstNames[i%len(firstNames)] + " " + strconv.Itoa(i)}
		if r.Float64() < 0.6 {
			c.CorrelationID = fmt.Sprintf("CLI-%07d", id)
		}
		c.OptedOut = r.Float64() < 0.015
		out[i] = c
	}
	return out
}

func ms(t time.Time) int64 { return t.UnixMilli() }
