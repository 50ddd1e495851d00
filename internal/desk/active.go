package desk

import (
	"context"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/send"
	"github.com/ticksapp/ticks/internal/store"
)

// ActiveInput is an active message: a template an agent sends a contact
// from the desk.
type ActiveInput struct {
	ChannelID int64    `json:"channel_id"`
	To        string   `json:"to"`
	Template  string   `json:"template"`
	Language  string   `json:"language"`
	Params    []string `json:"params"`
}

// SendActive sends an active message through the send pipeline, recorded
// as sent from the desk by the caller. A message the platform refuses is
// returned with Outcome.Refused and shows on the tab as failed.
func (s *Service) SendActive(ctx context.Context, p *access.Principal, in ActiveInput) (*send.Outcome, error) {
	if err := needUser(p); err != nil {
		return nil, err
	}
	if in.Template == "" || in.Language == "" {
		return nil, domain.Errorf(domain.EINVALID, "template and language are required: an active message is a template")
	}
	req := &send.Request{ChannelID: in.ChannelID, To: in.To, Type: "template", Origin: "desk",
		Template: &send.TemplateRef{Name: in.Template, Language: in.Language, Params: in.Params}}
	out, err := s.Send.Send(ctx, p, req)
	if err != nil {
		return nil, err
	}
	if out.Message != nil {
		s.publish(Event{Kind: "active", SubaccountID: out.Message.SubaccountID, UserID: p.UserID,
			Data: activeOf(out.Message)})
	}
	return out, nil
}

// ActiveItem is one line of the Mensagens Ativas tab.
type ActiveItem struct {
	MessageID    int64             `json:"message_id,string"`
	ChannelID    int64             `json:"channel_id"`
	ContactID    int64             `json:"contact_id"`
	To           string            `json:"to"`
	Template     string            `json:"template"`
	Status       domain.DeskStatus `json:"status"`
	Reason       string            `json:"reason"`
	ErrorCode    int               `json:"error_code,omitempty"`
	SentAt       time.Time         `json:"sent_at"`
	WindowEndsAt time.Time         `json:"window_ends_at"`
	VisibleUntil time.Time         `json:"visible_until"`
}

// ActiveMessages returns the caller's Mensagens Ativas tab: the messages
// they sent from the desk that no reply has turned into a ticket yet, each
// until 48 h after its 24 h window ended, reasons in lang.
func (s *Service) ActiveMessages(ctx context.Context, p *access.Principal, lang string) ([]ActiveItem, error) {
	if err := needUser(p); err != nil {
		return nil, err
	}
	now := s.Now()
	list, err := s.Store.ActiveMessages(ctx, p.UserID, now.Add(-domain.ActiveWindow-domain.ActiveVisible))
	if err != nil {
		return nil, err
	}
	out := []ActiveItem{}
	for i := range list {
		if !p.CanSee(list[i].SubaccountID) {
			continue
		}
		out = append(out, s.activeItem(&list[i], lang, now))
	}
	return out, nil
}

// ActiveItem is a message's line of its sender's tab as it is now, with
// its reason in lang: the live updates send it when its status moves.
func (s *Service) ActiveItem(a *store.ActiveMessage, lang string) ActiveItem {
	return s.activeItem(a, lang, s.Now())
}

func activeOf(m *domain.Message) *store.ActiveMessage {
	var sender int64
	if m.SenderUserID != nil {
		sender = *m.SenderUserID
	}
	return &store.ActiveMessage{ID: m.ID, SenderUserID: sender, SubaccountID: m.SubaccountID, ChannelID: m.ChannelID, ContactID: m.ContactID, To: m.Phone,
		Template: m.TemplateName, State: m.State, ErrorCode: m.ErrorCode, ErrorTitle: m.ErrorTitle, ErrorDetail: m.ErrorDetail,
		ErrorArgs: m.ErrorArgs, Status: m.Status, At: m.At}
}

func (s *Service) activeItem(a *store.ActiveMessage, lang string, now time.Time) ActiveItem {
	it := ActiveItem{MessageID: a.ID, ChannelID: a.ChannelID, ContactID: a.ContactID, To: a.To, Template: a.Template,
		Status: domain.DeskStatusOf(a.State, a.At, now), ErrorCode: a.ErrorCode, SentAt: a.At,
		WindowEndsAt: a.At.Add(domain.ActiveWindow)}
	it.VisibleUntil = it.WindowEndsAt.Add(domain.ActiveVisible)
	if it.Status == domain.DeskFailed {
		it.Reason = reports.Reason(lang, &domain.Message{Status: a.Status, ErrorCode: a.ErrorCode, ErrorTitle: a.ErrorTitle,
			ErrorDetail: a.ErrorDetail, ErrorArgs: a.ErrorArgs})
	}
	return it
}
