package api

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/respond"
)

func (h *Handler) listChannels(w http.ResponseWriter, r *http.Request, p *Principal) {
	list, err := h.Store.Channels(r.Context(), p.Scope)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"channels": list})
}

func (h *Handler) getChannel(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.Store.Channel(r.Context(), id)
	if err == nil && !p.CanSee(c.SubaccountID) {
		err = domain.Errorf(domain.ENOTFOUND, "channel %d not found", id)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, c)
}

// ChannelInput is a channel to create.
type ChannelInput struct {
	SubaccountID  int64  `json:"subaccount_id"`
	Name          string `json:"name"`
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id"`
	DisplayPhone  string `json:"display_phone"`
	AccessToken   string `json:"access_token"`
	Tier          string `json:"tier"`
	ThroughputMPS int    `json:"throughput_mps"`
}

var metaID = regexp.MustCompile(`^[0-9]{5,20}$`)

// tiers are Meta's messaging-limit tiers.
var tiers = map[string]bool{"TIER_250": true, "TIER_2K": true, "TIER_10K": true, "TIER_100K": true, "TIER_UNLIMITED": true, "TIER_1K": true}

// NewChannel validates in and returns the channel to store, with its access
// token sealed.
func (h *Handler) NewChannel(p *Principal, in *ChannelInput) (*domain.Channel, error) {
	if !p.OrgAdmin() {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only an admin may create channels")
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.SubaccountID <= 0:
		return nil, domain.Errorf(domain.EINVALID, "subaccount_id is required")
	case in.SubaccountID == domain.UnassignedSubaccountID:
		return nil, domain.Errorf(domain.EINVALID, "channels cannot be created in the unassigned subaccount")
	case in.Name == "" || len(in.Name) > 100:
		return nil, domain.Errorf(domain.EINVALID, "name is required (1 to 100 characters)")
	case !metaID.MatchString(in.PhoneNumberID):
		return nil, domain.Errorf(domain.EINVALID, "phone_number_id must be Meta's numeric id of the phone number")
	case in.WABAID != "" && !metaID.MatchString(in.WABAID):
		return nil, domain.Errorf(domain.EINVALID, "waba_id must be Meta's numeric id of the WhatsApp Business Account")
	case in.Tier != "" && !tiers[in.Tier]:
		return nil, domain.Errorf(domain.EINVALID, "tier must be one of TIER_250, TIER_2K, TIER_10K, TIER_100K, TIER_UNLIMITED")
	case in.ThroughputMPS < 0 || in.ThroughputMPS > 1000:
		return nil, domain.Errorf(domain.EINVALID, "throughput_mps must be between 1 and 1000")
	}
	c := &domain.Channel{SubaccountID: in.SubaccountID, Name: in.Name, WABAID: in.WABAID, PhoneNumberID: in.PhoneNumberID,
		DisplayPhone: in.DisplayPhone, Tier: in.Tier, ThroughputMPS: in.ThroughputMPS}
	if in.AccessToken != "" {
		if h.Box == nil {
			return nil, domain.Errorf(domain.EINVALID, "access_token cannot be stored: TICKS_SECRET_KEY is not set")
		}
		sealed, err := h.Box.Seal(in.AccessToken)
		if err != nil {
			return nil, err
		}
		c.AccessTokenEnc = sealed
	}
	return c, nil
}

func (h *Handler) createChannel(w http.ResponseWriter, r *http.Request, p *Principal) {
	var in ChannelInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.NewChannel(p, &in)
	if err == nil {
		err = h.Store.CreateChannel(r.Context(), c)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, c)
}
