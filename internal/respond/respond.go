// Package respond writes HTTP responses: JSON bodies and the one mapping of
// domain error codes to HTTP status codes.
package respond

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/ticksapp/ticks/internal/domain"
)

// JSON writes v as a JSON body with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// ErrorBody is the JSON shape of every API error (SPEC section 5).
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// HTTPStatus maps a domain error code to its HTTP status.
func HTTPStatus(code string) int {
	switch code {
	case domain.EINVALID:
		return http.StatusBadRequest
	case domain.ENOTFOUND:
		return http.StatusNotFound
	case domain.ECONFLICT:
		return http.StatusConflict
	case domain.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case domain.EFORBIDDEN:
		return http.StatusForbidden
	case domain.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// Error writes err as a JSON error. Internal errors are logged here, and only
// here, and reach the client as a generic message.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	code := domain.ErrorCode(err)
	if code == domain.EINTERNAL {
		slog.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	JSON(w, HTTPStatus(code), ErrorBody{Error: ErrorDetail{Code: code, Message: domain.ErrorMessage(err)}})
}
