package send

import (
	"context"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/channels"
	"github.com/ticksapp/ticks/internal/domain"
)

// Service sends messages on behalf of a principal: who may send, on which
// channel, and who is recorded as the sender; the pipeline does the rest.
type Service struct {
	Pipeline *Pipeline // nil on a server that does not send
	Channels *channels.Service
}

// Send validates req, picks its channel (the one named, or p's only one)
// and sends it. A message the platform refuses is stored and returned with
// Outcome.Refused; it is not an error.
func (s *Service) Send(ctx context.Context, p *access.Principal, req *Request) (*Outcome, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return nil, err
	}
	if s.Pipeline == nil {
		return nil, domain.Errorf(domain.EINVALID, "sending is not configured on this server")
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	ch, err := s.Channels.ForSending(ctx, p, req.ChannelID)
	if err != nil {
		return nil, err
	}
	if p.TokenID != 0 {
		req.BotID = &p.TokenID
	}
	if p.UserID != 0 {
		req.SenderUserID = &p.UserID
	}
	if req.Origin == "" {
		req.Origin = "api"
	}
	return s.Pipeline.Send(ctx, ch, req)
}

// RefusalMessage says in one line why the platform refused m.
func RefusalMessage(m *domain.Message) string {
	msg := string(m.Status)
	if m.ErrorTitle != "" {
		msg += ": " + m.ErrorTitle
	}
	if m.ErrorDetail != "" {
		msg += " (" + m.ErrorDetail + ")"
	}
	return msg
}
