package campaigns

import (
	"context"
	"strconv"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/store"
)

// MessagesExport is every audience row of a campaign with what became of
// it, as a download's columns and rows: the row (line, phone, name,
// correlation id, variables), its message (sent at, status, reason,
// delivered and read at), the contact's first answer and quick-reply
// button, and its clicks on counted links. Rows not sent yet have only
// their own columns.
func (s *Service) MessagesExport(ctx context.Context, p *access.Principal, id int64, lang string, loc *time.Location) ([]export.Column, export.Rows, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, nil, err
	}
	nvars := 0
	if rows, err := s.Store.CampaignRows(ctx, c.ID, 0, 1); err != nil {
		return nil, nil, err
	} else if len(rows) == 1 {
		nvars = len(rows[0].Vars)
	}
	h := func(key string) export.Column { return export.Column{Header: i18n.T(lang, "campaigns.export."+key)} }
	cols := []export.Column{h("line"), h("phone"), h("name"), h("correlation_id")}
	for i := range nvars {
		cols = append(cols, export.Column{Header: "var" + strconv.Itoa(i+1)})
	}
	cols = append(cols, h("sent_at"), h("status"), h("reason"), h("delivered_at"), h("read_at"), h("replied_at"), h("button"),
		h("link_clicks"))
	when := func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2006-01-02 15:04:05")
	}
	rows := func(emit func([]string) error) error {
		replies, err := s.Store.CampaignReplies(ctx, c.SubaccountID, c.ID)
		if err != nil {
			return err
		}
		clicks, err := s.Store.CampaignRowClicks(ctx, c.SubaccountID, c.ID)
		if err != nil {
			return err
		}
		rec := make([]string, 0, len(cols))
		return s.Store.CampaignRowMessages(ctx, c.SubaccountID, c.ID, func(x store.CampaignRowMessage) error {
			r := x.Row
			rec = append(rec[:0], strconv.Itoa(r.Line), r.Phone, r.Name, r.CorrelationID)
			for i := range nvars {
				v := ""
				if i < len(r.Vars) {
					v = r.Vars[i]
				}
				rec = append(rec, v)
			}
			if !x.Found {
				return emit(append(rec, "", "", "", "", "", "", "", ""))
			}
			reason := x.ErrorTitle
			if x.ErrorCode != 0 {
				reason = strconv.Itoa(x.ErrorCode) + " " + reason
			}
			reply := replies[x.ContactID]
			var replied *time.Time
			if !reply.At.IsZero() {
				replied = &reply.At
			}
			sent := x.SentAt
			n := ""
			if k := clicks[r.Seq]; k > 0 {
				n = strconv.FormatInt(k, 10)
			}
			return emit(append(rec, when(&sent), i18n.T(lang, "status."+string(x.Status)), reason, when(x.DeliveredAt),
				when(x.ReadAt), when(replied), reply.Button, n))
		})
	}
	return cols, rows, nil
}
