package extracts

import (
	"context"
	"strconv"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/store"
)

// The active messages' tables (seed 004, "Mensagens ativas"): every
// outbound notification of the period, and the same grouped by template
// and bot.
func init() {
	register(&Table{Type: "notifications_summary", Group: "extract.group.active", Order: 10,
		Columns: []Column{{"extract.col.sent_at", export.KindDateTime}, {"extract.col.bot", 0}, {"extract.col.campaign", 0},
			{"extract.col.template", 0}, {"extract.col.contact", 0}, {"extract.col.status", 0}, {"extract.col.reason", 0},
			{"extract.col.delivered_at", export.KindDateTime}, {"extract.col.read_at", export.KindDateTime},
			{"extract.col.replied_at", export.KindDateTime}},
		Count: countOutbound, Rows: notificationsSummary})
	register(&Table{Type: "notifications_users", Group: "extract.group.active", Order: 11,
		Columns: []Column{{"extract.col.template", 0}, {"extract.col.bot", 0}, {"extract.col.sent", 0}, {"extract.col.failed", 0},
			{"extract.col.delivered", 0}, {"extract.col.read", 0}, {"extract.col.replied", 0}},
		Rows: notificationsUsers})
}

// outboundFilter is the detailed report's filter of every outbound
// message of q.
func outboundFilter(q *Query) *domain.MessageFilter {
	return &domain.MessageFilter{Subaccounts: q.Scope, From: q.From, To: q.To, Direction: domain.DirectionMT}
}

// countOutbound counts the outbound messages of q from the report's
// rollup, as the detailed report's total does.
func countOutbound(ctx context.Context, q *Query) (int64, error) {
	f := outboundFilter(q)
	f.Limit = 1
	page, err := q.Store.ReportMessages(ctx, f)
	if err != nil {
		return 0, err
	}
	return page.Total, nil
}

// botName is who sent a message in q's names: its API token (the bot) or
// its user.
func botName(q *Query, botID, userID *int64) string {
	switch {
	case q.Names == nil:
	case botID != nil && q.Names.Tokens[*botID] != "":
		return q.Names.Tokens[*botID]
	case userID != nil && q.Names.Users[*userID] != "":
		return q.Names.Users[*userID]
	}
	if botID != nil {
		return "#" + strconv.FormatInt(*botID, 10)
	}
	return ""
}

func notificationsSummary(ctx context.Context, q *Query, emit func([]string) error) error {
	statuses := map[domain.Status]string{}
	for _, s := range domain.Statuses {
		statuses[s] = reports.StatusLabel(q.Lang, s)
	}
	row := func(m *domain.Message) []string {
		campaign := ""
		if m.CampaignID != nil {
			campaign = "#" + strconv.FormatInt(*m.CampaignID, 10)
		}
		status, ok := statuses[m.Status]
		if !ok {
			status = string(m.Status)
		}
		return []string{q.Time(&m.At), botName(q, m.BotID, m.SenderUserID), campaign, m.TemplateName, m.Phone, status,
			reports.Reason(q.Lang, m), q.Time(m.DeliveredAt), q.Time(m.ReadAt), q.Time(m.RepliedAt)}
	}
	return store.ExportNotificationRows(ctx, q.Store, outboundFilter(q), row, emit)
}

func notificationsUsers(ctx context.Context, q *Query, emit func([]string) error) error {
	rows, err := q.Store.NotificationUsers(ctx, q.Scope, q.From, q.To)
	if err != nil {
		return err
	}
	for _, r := range rows {
		var bot *int64
		if r.BotID != 0 {
			bot = &r.BotID
		}
		template := r.Template
		if template == "" {
			template = i18n.T(q.Lang, "extract.free_form")
		}
		if err := emit([]string{template, botName(q, bot, nil), count(r.Sent), count(r.Failed), count(r.Delivered),
			count(r.Read), count(r.Replied)}); err != nil {
			return err
		}
	}
	return nil
}
