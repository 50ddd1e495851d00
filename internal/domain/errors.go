// Package domain holds the types and rules of ticks: messages and their
// statuses, conversations, contacts, tenants and the errors every layer
// speaks. It knows nothing of HTTP or SQL.
package domain

import (
	"errors"
	"fmt"
	"time"
)

// Error codes: the one vocabulary of failures, mapped to HTTP in one place
// (internal/respond) and to CLI messages in cmd/ticks.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ETOOLARGE     = "too_large"
	ETOOMANY      = "too_many_requests" // slow down: throttled, or a queue is full
	// EUNPROCESSABLE is a well-formed request that cannot be done as asked
	// (an idempotency key reused for another request).
	EUNPROCESSABLE = "unprocessable"
	// EUNAVAILABLE is a passing failure of the server's storage (a full
	// disk, a database that went away): the same request works later.
	EUNAVAILABLE = "unavailable"
	EINTERNAL    = "internal"
)

// Error is a failure a user can act on: a code from the vocabulary above and
// a message safe to show.
type Error struct {
	Code    string
	Message string
	// RetryAfter, on an ETOOMANY or EUNAVAILABLE error, says when trying
	// again can work.
	RetryAfter time.Duration
}

// RetryAfter returns an ETOOMANY error saying to try again after d.
func RetryAfter(d time.Duration, format string, args ...any) *Error {
	return &Error{Code: ETOOMANY, Message: fmt.Sprintf(format, args...), RetryAfter: d}
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EINTERNAL for an error that is not
// an *Error (and "" for nil).
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal errors get a
// generic text so no internals leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
