package api

import (
	"net/http"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/respond"
)

// extractionRoutes registers the report manager's endpoints.
func (h *Handler) extractionRoutes(handle func(string, func(http.ResponseWriter, *http.Request, *access.Principal))) {
	handle("POST /api/v1/extractions", h.createExtraction)
	handle("GET /api/v1/extractions", h.listExtractions)
	handle("GET /api/v1/extractions/{id}", h.getExtraction)
	handle("GET /api/v1/extractions/{id}/file", h.extractionFile)
	handle("DELETE /api/v1/extractions/{id}", h.deleteExtraction)
}

// extraction is an extraction as the API shows it.
type extraction struct {
	ID         int64      `json:"id,string"`
	Type       string     `json:"type"`
	Format     string     `json:"format"`
	From       string     `json:"from"`
	To         string     `json:"to"`
	Subaccount *int64     `json:"subaccount,omitempty"`
	Status     string     `json:"status"`
	Progress   float64    `json:"progress"`
	Rows       int64      `json:"rows"`
	Bytes      int64      `json:"bytes"`
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

func extractionView(e *domain.Extraction) extraction {
	return extraction{ID: e.ID, Type: e.Type, Format: e.Format, From: e.From, To: e.To, Subaccount: e.SubaccountID,
		Status: string(e.Status), Progress: e.Progress(), Rows: e.RowsWritten, Bytes: e.Bytes, Error: e.Error,
		CreatedAt: e.CreatedAt, FinishedAt: e.FinishedAt, ExpiresAt: e.ExpiresAt}
}

// createExtraction queues an extraction of the report manager; its cells
// are in the Accept-Language's language.
func (h *Handler) createExtraction(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	var in extracts.Input
	if err := decode(w, r, &in); err != nil {
		respond.Error(w, r, err)
		return
	}
	in.Lang = i18n.Normalize(r.Header.Get("Accept-Language"))
	e, err := h.Extracts.Request(r.Context(), p, in)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusAccepted, extractionView(e))
}

// listExtractions lists the requester's extractions, newest first.
func (h *Handler) listExtractions(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	list, err := h.Extracts.List(r.Context(), p)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	rows := make([]extraction, len(list))
	for i, e := range list {
		rows[i] = extractionView(e)
	}
	respond.JSON(w, http.StatusOK, map[string]any{"rows": rows})
}

func (h *Handler) getExtraction(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	e, err := h.Extracts.Get(r.Context(), p, id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, extractionView(e))
}

// extractionFile downloads a ready extraction's file.
func (h *Handler) extractionFile(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	f, err := h.Extracts.Open(r.Context(), p, id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	defer f.Close()
	respond.Attachment(w, f.Name, f.ContentType)
	http.ServeContent(w, r, f.Name, f.ModTime, f)
}

// deleteExtraction cancels a queued or running extraction, or deletes a
// finished one with its file.
func (h *Handler) deleteExtraction(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	id, err := pathID(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if err := h.Extracts.Delete(r.Context(), p, id); err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
