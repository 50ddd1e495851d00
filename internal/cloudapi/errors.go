package cloudapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ticksapp/ticks/internal/domain"
)

// metaTitles are the titles of testdata/whatsapp/error_codes.json (a test
// keeps the two equal). They stand in for Meta's message when that message
// says nothing ("An unknown error occurred"), so reports group failures
// under a stable, meaningful name.
var metaTitles = map[int]string{
	0:      "AuthException",
	3:      "API Method",
	4:      "API Too Many Calls",
	10:     "Permission Denied",
	100:    "Invalid parameter",
	190:    "Access token has expired",
	368:    "Temporarily blocked for policies violations",
	80007:  "Rate limit issues",
	130429: "Rate limit hit",
	130472: "User's number is part of an experiment",
	130497: "Business account is restricted from messaging users in this country",
	131000: "Something went wrong",
	131005: "Access denied",
	131008: "Required parameter is missing",
	131009: "Parameter value is not valid",
	131016: "Service unavailable",
	131021: "Recipient cannot be sender",
	131026: "Message undeliverable",
	131030: "Recipient phone number not in allowed list",
	131031: "Account has been locked",
	131037: "Display name approval needed",
	131042: "Business eligibility payment issue",
	131045: "Incorrect certificate",
	131047: "Re-engagement message",
	131048: "Spam rate limit hit",
	131049: "This message was not delivered to maintain healthy ecosystem engagement",
	131050: "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
	131051: "Unsupported message type",
	131052: "Media download error",
	131053: "Media upload error",
	131056: "(Business Account, Consumer Account) pair rate limit hit",
	131057: "Account in maintenance mode",
	131062: "BSUID recipients not supported",
	131063: "Marketing templates disabled for Cloud API",
	131064: "Messaging limit reached (template classification violations)",
	132000: "Template Param Count Mismatch",
	132001: "Template does not exist",
	132005: "Template Hydrated Text Too Long",
	132007: "Template Format Character Policy Violated",
	132008: "Template parameter value invalid",
	132012: "Template Parameter Format Mismatch",
	132015: "Template is Paused",
	132016: "Template is Disabled",
	132068: "Flow is blocked",
	132069: "Flow is throttled",
	133010: "Phone number Not Registered",
	133016: "Account register deregister rate limit exceeded",
	135000: "Generic user error",
}

// retryableCodes are the Meta codes of failures that go away by waiting:
// throughput (130429), the per-recipient pair limit (131056), app and WABA
// rate limits (4, 80007, 133016), a throttled flow (132069) and Meta's own
// temporary faults (131000, 131016, 131057).
var retryableCodes = map[int]bool{
	4:      true,
	80007:  true,
	130429: true,
	131000: true,
	131016: true,
	131056: true,
	131057: true,
	132069: true,
	133016: true,
}

// genericMessages are Meta messages (lower-cased, without the "(#code)"
// prefix and final period) that name no cause; the catalog title replaces
// them.
var genericMessages = map[string]bool{
	"":                              true,
	"an error occurred":             true,
	"an unknown error occurred":     true,
	"an unknown error has occurred": true,
	"an unexpected error has occurred. please retry your request later": true,
	"unknown error":                     true,
	"internal error":                    true,
	"internal server error":             true,
	"service temporarily unavailable":   true,
	"something went wrong":              true,
	"application request limit reached": true,
	"please reduce the amount of data you're asking for, then retry your request": true,
}

// codePrefix is the "(#131030) " Graph puts before its messages.
var codePrefix = regexp.MustCompile(`^\(#\d+\)\s*`)

// maxErrorSnippet bounds how much of a non-JSON error body is kept.
const maxErrorSnippet = 200

// graphError is the error object of a Graph API error response. Fields are
// decoded leniently: Graph is not always consistent about types.
type graphError struct {
	Message        string          `json:"message"`
	Type           string          `json:"type"`
	Code           json.RawMessage `json:"code"`
	Title          string          `json:"title"` // the webhook-style errors[] carry one
	ErrorData      json.RawMessage `json:"error_data"`
	ErrorSubcode   json.RawMessage `json:"error_subcode"`
	ErrorUserTitle string          `json:"error_user_title"`
	ErrorUserMsg   string          `json:"error_user_msg"`
	FBTraceID      string          `json:"fbtrace_id"`
}

// ParseError turns a Cloud API error response (HTTP status and body) into a
// *domain.SendError; it never returns nil. Meta's {"error":{…}} object gives
// the code, message and error_data.details; a body that is not one (an HTML
// page from a proxy, an empty 502) still yields an error that names the
// HTTP status. RetryAfter is left for the caller, which has the headers.
func ParseError(httpStatus int, body []byte) *domain.SendError {
	ge, ok := decodeGraphError(body)
	if !ok {
		return &domain.SendError{
			HTTPStatus: httpStatus,
			Meta: domain.MetaError{
				Title:   httpTitle(httpStatus),
				Message: snippet(body),
			},
			Retryable: httpStatus >= 500 || httpStatus == http.StatusTooManyRequests,
		}
	}
	code, _ := jsonInt(ge.Code)
	catalogTitle, known := metaTitles[code]
	meta := domain.MetaError{
		Code:    code,
		Message: strings.TrimSpace(ge.Message),
		Details: errorDetails(ge.ErrorData),
	}
	if meta.Details == "" {
		meta.Details = strings.TrimSpace(ge.ErrorUserMsg)
	}
	own := strings.TrimSpace(codePrefix.ReplaceAllString(meta.Message, ""))
	if own == "" {
		own = strings.TrimSpace(ge.Title)
	}
	switch {
	case known && genericMessages[strings.TrimSuffix(strings.ToLower(own), ".")]:
		meta.Title = catalogTitle
	case own != "":
		meta.Title = own
	case known:
		meta.Title = catalogTitle
	default:
		meta.Title = fmt.Sprintf("Meta error %d", code)
	}
	return &domain.SendError{
		HTTPStatus: httpStatus,
		Meta:       meta,
		// A 5xx (or 429) with a code ticks does not know is Graph's
		// generic temporary failure (codes 1 and 2); a known code decides
		// alone, so 131045 "Incorrect certificate" at HTTP 500 is not
		// retried.
		Retryable: retryableCodes[code] || (!known && (httpStatus >= 500 || httpStatus == http.StatusTooManyRequests)),
	}
}

// decodeGraphError finds Meta's error object in body: {"error":{…}}, or the
// webhook-style {"errors":[{…}]} some proxies answer with.
func decodeGraphError(body []byte) (graphError, bool) {
	var env struct {
		Error  *graphError  `json:"error"`
		Errors []graphError `json:"errors"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return graphError{}, false
	}
	var ge *graphError
	switch {
	case env.Error != nil:
		ge = env.Error
	case len(env.Errors) > 0:
		ge = &env.Errors[0]
	default:
		return graphError{}, false
	}
	if _, ok := jsonInt(ge.Code); !ok && ge.Message == "" && ge.Title == "" {
		return graphError{}, false
	}
	return *ge, true
}

// jsonInt reads an integer written as a JSON number or string.
func jsonInt(raw json.RawMessage) (int, bool) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int(f)) {
			return 0, false
		}
		n = int(f)
	}
	return n, true
}

// errorDetails reads error_data.details; Graph sometimes sends error_data
// as a plain string instead.
func errorDetails(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var obj struct {
		Details string `json:"details"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		return strings.TrimSpace(obj.Details)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	return ""
}

// httpTitle names an error that came without Meta's error object.
func httpTitle(status int) string {
	if text := http.StatusText(status); text != "" {
		return fmt.Sprintf("HTTP %d %s", status, text)
	}
	return fmt.Sprintf("HTTP %d", status)
}

// snippet keeps the start of a non-JSON body, on one line and valid UTF-8,
// so the error says what came back without carrying a whole HTML page.
func snippet(body []byte) string {
	s := strings.ToValidUTF8(string(body), "")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorSnippet {
		cut := maxErrorSnippet
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// redactToken removes the access token from every text of e, in case Meta
// (or a proxy) echoes it back: a token must never reach a log or a report.
func redactToken(e *domain.SendError, token string) {
	e.Meta.Title = redactText(e.Meta.Title, token)
	e.Meta.Message = redactText(e.Meta.Message, token)
	e.Meta.Details = redactText(e.Meta.Details, token)
}
