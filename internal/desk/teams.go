package desk

import (
	"context"
	"strings"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
)

// Teams lists the teams of the caller's subaccounts. An agent sees them
// too: they transfer tickets to them.
func (s *Service) Teams(ctx context.Context, p *access.Principal) ([]domain.Team, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return nil, err
	}
	return s.Store.Teams(ctx, p.Scope)
}

// TeamInput is a team to create, or a team's new members.
type TeamInput struct {
	SubaccountID        int64   `json:"subaccount_id"`
	ChannelID           *int64  `json:"channel_id"`
	Name                string  `json:"name"`
	AbandonAfterMinutes int     `json:"abandon_after_minutes"`
	Members             []int64 `json:"members"`
}

// CreateTeam creates a team (a queue) of a subaccount, fed by one of its
// channels or by all of them; supervisors and admins only.
func (s *Service) CreateTeam(ctx context.Context, p *access.Principal, in TeamInput) (*domain.Team, error) {
	if err := needSupervisor(p); err != nil {
		return nil, err
	}
	sa, err := p.WriteTarget(in.SubaccountID)
	if err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return nil, domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
	}
	if in.AbandonAfterMinutes == 0 {
		in.AbandonAfterMinutes = 60
	}
	if in.AbandonAfterMinutes < 1 || in.AbandonAfterMinutes > 7*24*60 {
		return nil, domain.Errorf(domain.EINVALID, "abandon_after_minutes must be from 1 to 10080 (a week)")
	}
	if in.ChannelID != nil {
		ch, err := s.Store.Channel(ctx, *in.ChannelID)
		if err != nil || ch.SubaccountID != sa {
			return nil, domain.Errorf(domain.EINVALID, "channel_id %d is not a channel of subaccount %d", *in.ChannelID, sa)
		}
	}
	if err := s.checkMembers(ctx, sa, in.Members); err != nil {
		return nil, err
	}
	t := &domain.Team{SubaccountID: sa, ChannelID: in.ChannelID, Name: in.Name, AbandonAfterMinutes: in.AbandonAfterMinutes,
		Members: append([]int64{}, in.Members...)}
	if err := s.Store.CreateTeam(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// SetMembers replaces a team's members; supervisors and admins only.
func (s *Service) SetMembers(ctx context.Context, p *access.Principal, teamID int64, members []int64) (*domain.Team, error) {
	if err := needSupervisor(p); err != nil {
		return nil, err
	}
	t, err := s.team(ctx, p, teamID)
	if err != nil {
		return nil, err
	}
	if err := s.checkMembers(ctx, t.SubaccountID, members); err != nil {
		return nil, err
	}
	if err := s.Store.SetTeamMembers(ctx, teamID, members); err != nil {
		return nil, err
	}
	return s.Store.Team(ctx, teamID)
}

func (s *Service) team(ctx context.Context, p *access.Principal, id int64) (*domain.Team, error) {
	t, err := s.Store.Team(ctx, id)
	if err == nil && !p.CanSee(t.SubaccountID) {
		err = domain.Errorf(domain.ENOTFOUND, "team %d not found", id)
	}
	return t, err
}

// checkMembers refuses users who do not work in subaccount sa.
func (s *Service) checkMembers(ctx context.Context, sa int64, members []int64) error {
	if len(members) > 1000 {
		return domain.Errorf(domain.EINVALID, "members: at most 1000")
	}
	for _, id := range members {
		u, err := s.Store.User(ctx, id)
		if err != nil || (u.Role != domain.RoleAdmin && !containsID(u.Subaccounts, sa)) {
			return domain.Errorf(domain.EINVALID, "members: user %d does not work in subaccount %d", id, sa)
		}
		if u.Role == domain.RoleViewer {
			return domain.Errorf(domain.EINVALID, "members: user %d is a viewer, who may not attend", id)
		}
	}
	return nil
}

func containsID(list []int64, id int64) bool {
	for _, v := range list {
		if v == id {
			return true
		}
	}
	return false
}

// SetAgentLimit sets how many tickets an agent of the caller's
// subaccounts attends at once; supervisors and admins only.
func (s *Service) SetAgentLimit(ctx context.Context, p *access.Principal, userID int64, max int) (*domain.Agent, error) {
	if err := needSupervisor(p); err != nil {
		return nil, err
	}
	if max < 1 || max > 100 {
		return nil, domain.Errorf(domain.EINVALID, "max_tickets must be from 1 to 100")
	}
	u, err := s.Store.User(ctx, userID)
	if err != nil || (!p.OrgAdmin() && !p.SeesAny(u.Subaccounts)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "agent %d not found", userID)
	}
	if err := s.Store.SetAgentLimit(ctx, userID, max); err != nil {
		return nil, err
	}
	return s.agent(ctx, userID, p.Scope)
}

// PauseReasons lists the pause reasons of the caller's subaccounts.
func (s *Service) PauseReasons(ctx context.Context, p *access.Principal) ([]domain.PauseReason, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor, domain.RoleAgent); err != nil {
		return nil, err
	}
	return s.Store.PauseReasons(ctx, p.Scope)
}

// PauseReasonInput is a pause reason to add.
type PauseReasonInput struct {
	SubaccountID int64  `json:"subaccount_id"`
	Name         string `json:"name"`
}

// CreatePauseReason adds a pause reason; supervisors and admins only.
func (s *Service) CreatePauseReason(ctx context.Context, p *access.Principal, in PauseReasonInput) (*domain.PauseReason, error) {
	if err := needSupervisor(p); err != nil {
		return nil, err
	}
	sa, err := p.WriteTarget(in.SubaccountID)
	if err != nil {
		return nil, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return nil, domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
	}
	r := &domain.PauseReason{SubaccountID: sa, Name: in.Name}
	return r, s.Store.CreatePauseReason(ctx, r)
}
