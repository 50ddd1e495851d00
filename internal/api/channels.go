package api

import (
	"net/http"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/channels"
	"github.com/ticksapp/ticks/internal/respond"
)

func (h *Handler) listChannels(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Channels.List(r.Context(), p)
	reply(w, r, http.StatusOK, map[string]any{"channels": list}, err)
}

func (h *Handler) getChannel(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.Channels.Get(r.Context(), p, id)
	reply(w, r, http.StatusOK, c, err)
}

func (h *Handler) createChannel(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in channels.Input
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.Channels.Create(r.Context(), p, in)
	reply(w, r, http.StatusCreated, c, err)
}

func (h *Handler) updateChannel(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	var in channels.Settings
	if err == nil {
		err = decode(w, r, &in)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	c, err := h.Channels.Update(r.Context(), p, id, in)
	reply(w, r, http.StatusOK, c, err)
}

func (h *Handler) listTemplates(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Channels.Templates(r.Context(), p)
	reply(w, r, http.StatusOK, map[string]any{"templates": list}, err)
}

// syncTemplates fetches a channel's templates from WhatsApp.
func (h *Handler) syncTemplates(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in struct {
		ChannelID int64 `json:"channel_id"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			respond.Error(w, r, err)
			return
		}
	}
	n, err := h.Channels.SyncTemplates(r.Context(), p, in.ChannelID)
	reply(w, r, http.StatusOK, map[string]any{"synced": n}, err)
}

// createTemplate submits a template to WhatsApp for approval and stores it.
func (h *Handler) createTemplate(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in channels.TemplateInput
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	t, err := h.Channels.CreateTemplate(r.Context(), p, in)
	reply(w, r, http.StatusCreated, t, err)
}
