package reports_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/reports"
)

func TestFormatterRows(t *testing.T) {
	sp, _ := time.LoadLocation("America/Sao_Paulo")
	at := time.Date(2026, 3, 10, 15, 4, 5, 0, time.UTC)
	expires := at.Add(24 * time.Hour)
	user, bot, campaign := int64(7), int64(9), int64(42)
	names := &reports.Names{Users: map[int64]string{7: "Ana"}, Tokens: map[int64]string{9: "CRM"}}
	failed := &domain.Message{Direction: domain.DirectionMT, At: at, Status: domain.StatusUndelivered, ErrorCode: 131026,
		ErrorTitle: "Message undeliverable", Phone: "+5511987650000", WAID: "5511987650000", CampaignID: &campaign,
		SenderUserID: &user, ContentType: "template", Text: "Olá", WithSession: true, ConversationID: "conv_1",
		ConversationType: domain.ConversationBusinessInitiated, ConversationExpires: &expires}
	mo := &domain.Message{Direction: domain.DirectionMO, At: at, Phone: "+5511987650000", UserID: "BR.123", BotID: &bot,
		ContentType: "carousel", Text: "Sim", ButtonPayload: "YES"}
	cases := []struct {
		lang string
		m    *domain.Message
		want []string
	}{
		{"pt-BR", failed, []string{"10/03/2026 12:04:05", "Não entregue", "131026 Message undeliverable", "+5511987650000",
			"5511987650000", "#42", "Ana", "Template", "Olá", "Sim", "conv_1", "Business Initiated", "11/03/2026 12:04:05"}},
		{"en", failed, []string{"2026-03-10 12:04:05", "Undelivered", "131026 Message undeliverable", "+5511987650000",
			"5511987650000", "#42", "Ana", "Template", "Olá", "Yes", "conv_1", "Business initiated", "2026-03-11 12:04:05"}},
		// A content type without a label shows as it is; the WhatsApp user
		// id falls back to the business-scoped one; a bot shows as API.
		{"pt-BR", mo, []string{"10/03/2026 12:04:05", "+5511987650000", "BR.123", "", "API · CRM", "carousel", "Sim", "YES"}},
	}
	for _, c := range cases {
		got := reports.NewFormatter(c.lang, sp, names).Row(c.m)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %s:\n got %q\nwant %q", c.lang, c.m.Direction, got, c.want)
		}
	}
}

// TestReasonsInTheReadersLanguage: ticks's own reasons are said in the
// reader's language with their parameters; Meta's stay as Meta sent them,
// after the code.
func TestReasonsInTheReadersLanguage(t *testing.T) {
	refused := func(r domain.Refusal, args ...string) *domain.Message {
		m := &domain.Message{Direction: domain.DirectionMT}
		r.Apply(m, args...)
		return m
	}
	meta := &domain.Message{ErrorCode: 131049, ErrorTitle: "This message was not delivered to maintain healthy ecosystem engagement.",
		ErrorDetail: "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."}
	old := &domain.Message{ErrorTitle: "wrong parameter count", ErrorDetail: `template "x" takes 3 body parameters, 1 given`}
	cases := []struct {
		m    *domain.Message
		lang string
		want string
	}{
		{refused(domain.RefusedSession), "pt-BR", "sessão encerrada e sem template de fallback: mensagens de texto livre só podem ser enviadas até 24 horas depois da última mensagem do contato"},
		{refused(domain.RefusedSession), "en", "session closed and no fallback template: free-form messages can only be sent within 24 hours of the contact's last message"},
		{refused(domain.RefusedParamCount, "pedido_enviado", "3", "1"), "pt-BR", `número de parâmetros errado: o template "pedido_enviado" recebe 3 parâmetros no corpo; 1 foram enviados`},
		{refused(domain.RefusedParamCount, "pedido_enviado", "3", "1"), "en", `wrong parameter count: template "pedido_enviado" takes 3 body parameters, 1 given`},
		{refused(domain.RefusedTier, "TIER_250", "250"), "pt-BR", "limite de mensagens atingido: TIER_250 permite 250 contatos únicos fora de sessão em 24 horas"},
		{refused(domain.RefusedOptOut), "pt-BR", "contato fez opt-out: o contato pediu para não receber mais mensagens"},
		{refused(domain.RefusedNumber, "+55 11 12", "too short"), "pt-BR", "número de destino inválido: +55 11 12 não é um número de telefone válido"},
		{meta, "pt-BR", "131049 This message was not delivered to maintain healthy ecosystem engagement. In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
		{&domain.Message{ErrorCode: 131026, ErrorTitle: "Message undeliverable", ErrorDetail: "Message undeliverable"}, "pt-BR", "131026 Message undeliverable"},
		// Stored before reasons had parameters: the title translated, the
		// detail as it was.
		{old, "pt-BR", `número de parâmetros errado: template "x" takes 3 body parameters, 1 given`},
		{&domain.Message{ErrorTitle: "provider unreachable", ErrorDetail: "dial tcp: connection refused"}, "pt-BR", "WhatsApp inacessível: dial tcp: connection refused"},
	}
	for _, c := range cases {
		if got := reports.Reason(c.lang, c.m); got != c.want {
			t.Errorf("%s %q:\n got %q\nwant %q", c.lang, c.m.ErrorTitle, got, c.want)
		}
	}
	for _, r := range domain.Refusals() {
		args := []string{"a", "b", "c"}[:strings.Count(r.Detail, "%[")]
		for _, lang := range []string{"pt-BR", "en"} {
			if got := reports.Reason(lang, refused(r, args...)); strings.Contains(got, "reason.") || strings.Contains(got, "%!") {
				t.Errorf("%s %s: %q", r.Key, lang, got)
			}
		}
	}
}
