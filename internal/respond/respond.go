// Package respond writes HTTP responses for the API and the web pages:
// JSON bodies, downloads, the one mapping of domain error codes to HTTP
// status codes, and the request id every response carries and every logged
// error quotes.
package respond

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"time"

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

// Attachment sets the headers of a file download.
func Attachment(w http.ResponseWriter, filename, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Cache-Control", "no-store")
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
	case domain.ETOOMANY:
		return http.StatusTooManyRequests
	case domain.EUNPROCESSABLE:
		return http.StatusUnprocessableEntity
	case domain.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Error writes err as a JSON error. Internal errors reach the client as a
// generic message with the request's id, and are logged (see LogInternal).
func Error(w http.ResponseWriter, r *http.Request, err error) {
	code := domain.ErrorCode(err)
	LogInternal(r, err)
	SetRetryAfter(w, err)
	JSON(w, HTTPStatus(code), ErrorBody{Error: ErrorDetail{Code: code, Message: Message(r, err)}})
}

// SetRetryAfter sets the Retry-After header (in whole seconds, rounded up)
// of an error that says when to try again.
func SetRetryAfter(w http.ResponseWriter, err error) {
	var e *domain.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
}

// Message is what a client is told of err: the domain's message (for an
// error that is not the domain's, "internal error"), and for an internal
// error the request id to quote.
func Message(r *http.Request, err error) string {
	msg := domain.ErrorMessage(err)
	if domain.ErrorCode(err) == domain.EINTERNAL {
		msg += " (reference " + RequestID(r.Context()) + ")"
	}
	return msg
}

// LogInternal logs err with the request's method, path and id when it is
// an internal error, the one kind the client cannot fix. It is the only
// place requests' errors are logged.
func LogInternal(r *http.Request, err error) {
	if err == nil || domain.ErrorCode(err) != domain.EINTERNAL {
		return
	}
	slog.ErrorContext(r.Context(), "request failed", slog.String("request_id", RequestID(r.Context())),
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
}

// ClientAddr is the address a request came from, without its port: what
// authentication throttles by. A proxy's X-Forwarded-For is not trusted.
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type requestIDKey struct{}

// RequestID returns the id WithRequestID gave the request, or "-".
func RequestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return id
	}
	return "-"
}

// acceptedID is a request id a proxy in front may set: short and plain, so
// it is safe in logs and pages.
var acceptedID = regexp.MustCompile(`^[0-9A-Za-z._-]{8,64}$`)

// WithRequestID gives every request an id — the X-Request-Id a proxy set,
// or a new one — echoed in the response's X-Request-Id header.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !acceptedID.MatchString(id) {
			b := make([]byte, 8)
			rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}
