package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// An export's columns read by SQLite's direct reader and through
// database/sql's rows (what an in-memory SQLite database uses) with the
// scanner PostgreSQL's pgx reader shares are the same messages, NULLs
// included.
func TestExportReadersAgree(t *testing.T) {
	ctx := context.Background()
	s := migratedSQLite(t)
	sa := &domain.Subaccount{Name: "a"}
	if err := s.CreateSubaccount(ctx, sa); err != nil {
		t.Fatal(err)
	}
	ch := &domain.Channel{SubaccountID: sa.ID, Name: "c", WABAID: "W", PhoneNumberID: "1", DisplayPhone: "5511000000001"}
	if err := s.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	c, err := s.UpsertContact(ctx, sa.ID, ContactInput{Phone: "+5511987650001"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	campaign, user := int64(7), int64(9)
	for i, m := range []*domain.Message{
		{ContentType: "text", Text: "plain"},
		{ContentType: "template", TemplateName: "promo", CampaignID: &campaign, SenderUserID: &user, Text: "with ids"},
		{ContentType: "template", State: domain.StateFailed, Status: domain.StatusInvalidNumber, ErrorTitle: "invalid phone number",
			ErrorDetail: "+55 11 9876 is not a valid phone number"},
	} {
		m.SubaccountID, m.ChannelID, m.ContactID, m.Phone, m.At = sa.ID, ch.ID, c.ID, c.Phone, at.Add(time.Duration(i)*time.Minute)
		if m.State == "" {
			m.State, m.Status = domain.StateSending, domain.StatusSending
		}
		if err := s.InsertOutbound(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	for _, notifications := range []bool{false, true} {
		columns := exportColumns
		if notifications {
			columns = notificationColumns
		}
		query := `SELECT ` + columns + ` FROM messages m WHERE m.subaccount_id = $1 ORDER BY m.at DESC, m.id DESC`
		read := func(f func(string, []any, bool, func(*domain.Message, int64)) error) []domain.Message {
			var out []domain.Message
			if err := f(query, []any{sa.ID}, notifications, func(m *domain.Message, _ int64) {
				c := *m
				for _, p := range []**int64{&c.SenderUserID, &c.BotID, &c.CampaignID} {
					if *p != nil {
						v := **p
						*p = &v
					}
				}
				for _, p := range []**time.Time{&c.ConversationExpires, &c.DeliveredAt, &c.ReadAt, &c.RepliedAt} {
					if *p != nil {
						v := **p
						*p = &v
					}
				}
				out = append(out, c)
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		raw := read(func(q string, a []any, n bool, each func(*domain.Message, int64)) error {
			return s.raw.rawExport(ctx, q, a, n, each)
		})
		std := read(func(q string, a []any, n bool, each func(*domain.Message, int64)) error {
			return s.queryExport(ctx, q, a, n, each)
		})
		if len(raw) != 3 || !reflect.DeepEqual(raw, std) {
			t.Errorf("notifications %v: direct reader\n%+v\ndatabase/sql\n%+v", notifications, raw, std)
		}
		if raw[1].CampaignID == nil || *raw[1].CampaignID != campaign || raw[0].CampaignID != nil || raw[1].SenderUserID == nil {
			t.Errorf("ids: %+v", raw)
		}
	}
}
