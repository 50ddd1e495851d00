package extracts_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/ticksapp/ticks/internal/extracts"
)

// TestTables extracts each table of the fixture's 20 November and checks every cell.
func TestTables(t *testing.T) {
	fx := newFixture(t)
	p := fx.shopUser()
	bot := strconv.FormatInt(fx.bot, 10)
	cases := []struct {
		typ  string
		want [][]string
	}{
		{"event_tracks", [][]string{
			{"Data e hora", "Bot", "Categoria", "Ação", "Contato", "Extras"},
			{"20/11/2026 10:03:00", "Bot Loja", "Menu", "Comprar", "+5511987650001", `'=HYPERLINK("http://x.example")`},
			{"20/11/2026 10:04:00", "Bot Loja", "Menu", "Falar com atendente", "+5511987650001", ""},
		}},
		// The refused message has no conversation; the reply is in the first one.
		{"conversations_details", [][]string{
			{"Data", "Hora", "WABA", "Bot", "Contato", "ID da conversa", "Origem", "Enviadas", "Recebidas"},
			{"20/11/2026", "10:00:00", "W0", "Bot Loja", "+5511987650001", "*", "Business Initiated", "1", "1"},
			{"20/11/2026", "11:00:00", "W0", "Bot Loja", "+5511987650002", "*", "Business Initiated", "1", "0"},
			{"20/11/2026", "12:00:00", "W0", "", "+5511987650003", "*", "Business Initiated", "1", "0"},
		}},
		// Four contacts had a message, one wrote back; five messages.
		{"conversations_summary", [][]string{
			{"Mês/ano", "Roteador", "Canal", "MAU", "MEU", "MSGs"},
			{"11/2026", "Roteador Loja", "Loja", "4", "1", "5"},
		}},
		{"user_details", [][]string{
			{"Primeira mensagem", "Última mensagem", "ID do bot", "ID do usuário", "Contato", "Enviadas", "Recebidas"},
			{"20/11/2026 10:00:00", "20/11/2026 10:02:00", bot, "5511987650001", "+5511987650001", "1", "1"},
			{"20/11/2026 11:00:00", "20/11/2026 11:00:00", bot, "5511987650002", "+5511987650002", "1", "0"},
			{"20/11/2026 12:00:00", "20/11/2026 12:00:00", "", "5511987650003", "+5511987650003", "1", "0"},
			{"20/11/2026 13:00:00", "20/11/2026 13:00:00", "", "5511987650004", "+5511987650004", "1", "0"},
		}},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			e := fx.extract(t, p, extracts.Input{Type: c.typ, From: "2026-11-20", To: "2026-11-20", Lang: "pt-BR"})
			rows := readCSV(t, fx, p, e.ID)
			if !slices.EqualFunc(rows, c.want, cellsMatch) {
				t.Errorf("rows:\n%q\nwant\n%q", rows, c.want)
			}
		})
	}
}

// cellsMatch compares a row with the wanted one, where "*" wants any cell that is not empty.
func cellsMatch(got, want []string) bool {
	return slices.EqualFunc(got, want, func(g, w string) bool { return g == w || (w == "*" && g != "") })
}
