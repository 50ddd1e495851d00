package reports_test

import (
	"slices"
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
