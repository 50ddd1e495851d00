// Package cloudapi is the client of Meta's WhatsApp Cloud API.
package cloudapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// Defaults of New.
const (
	DefaultMaxRetries = 3
	defaultTimeout    = 30 * time.Second
	backoffBase       = 200 * time.Millisecond
	backoffCap        = 5 * time.Second
	// maxRetryWait is the longest wait Send sits through before a retry.
	// A longer Retry-After is returned to the caller (SendError.RetryAfter)
	// so that a queue, not a blocked goroutine, waits it out.
	maxRetryWait = 30 * time.Second
	// maxBody bounds what is read of any response.
	maxBody = 4 << 20
)

// Client talks to the Cloud API (or the simulator, which serves the same
// HTTP API). Set its fields before first use; the zero value works with
// http.DefaultClient, no retries and the default throughput.
type Client struct {
	// BaseURL is the Graph API root with its version, without a trailing
	// slash: "https://graph.facebook.com/v23.0" (TICKS_WA_API_BASE).
	BaseURL string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// MaxRetries is how many times a transient failure is retried after
	// the first attempt.
	MaxRetries int
	// Backoff is the wait before retry number attempt (1, 2, …) when Meta
	// sent no Retry-After; nil means DefaultBackoff.
	Backoff func(attempt int) time.Duration

	limiter throughputLimiter
}

// New returns a client of the Cloud API at baseURL with the defaults: 3
// retries, exponential backoff with jitter, a 30 s request timeout and 80
// messages/s per phone number.
func New(baseURL string) *Client {
	return &Client{
		BaseURL:    strings.TrimRight(baseURL, "/"),
		HTTP:       &http.Client{Timeout: defaultTimeout, Transport: sharedTransport},
		MaxRetries: DefaultMaxRetries,
		Backoff:    DefaultBackoff,
	}
}

// maxIdlePerHost is how many connections to one host (graph.facebook.com)
// the clients of New keep open between calls. Go's default transport keeps
// 2: with a campaign's sends in flight (16 to 256 at once) every other call
// dialled a new connection — a TCP (and on Meta a TLS) handshake — and
// closed it after one request; on the dispatch benchmark's loopback that
// churn alone was 8-10 % of the process's CPU.
const maxIdlePerHost = 256

// sharedTransport is the connection pool of the clients of New: Go's
// default transport (proxy from the environment, HTTP/2, its timeouts)
// keeping up to maxIdlePerHost idle connections a host.
var sharedTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = maxIdlePerHost * 4
	t.MaxIdleConnsPerHost = maxIdlePerHost
	return t
}()

// DefaultBackoff waits 200 ms × 2^(attempt-1), capped at 5 s, with "equal
// jitter" (half fixed, half random) so that senders throttled together do
// not retry together.
func DefaultBackoff(attempt int) time.Duration {
	d := backoffCap
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 16 {
		d = min(backoffBase<<(attempt-1), backoffCap)
	}
	half := d / 2
	return half + rand.N(half+1)
}

// SetThroughput sets the messages per second phoneNumberID may send
// (1..1000; Meta's default is 80). The burst is one second of traffic.
func (c *Client) SetThroughput(phoneNumberID string, perSecond int) error {
	if perSecond < 1 || perSecond > MaxThroughput {
		return domain.Errorf(domain.EINVALID, "throughput %d of phone number %s is outside 1..%d messages/s", perSecond, phoneNumberID, MaxThroughput)
	}
	c.limiter.set(phoneNumberID, perSecond, time.Now())
	return nil
}

var _ domain.Provider = (*Client)(nil)

// sendResponse is the Cloud API's 200 answer to a send.
type sendResponse struct {
	Contacts []struct {
		Input string `json:"input"`
		WAID  string `json:"wa_id"`
	} `json:"contacts"`
	Messages []struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status"`
	} `json:"messages"`
}

// reservedKeys are the top-level keys of a send request that a message
// type must not take over.
var reservedKeys = map[string]bool{
	"messaging_product": true, "recipient_type": true, "to": true, "type": true,
	"context": true, "biz_opaque_callback_data": true, "recipient": true,
}

// Send sends one message: POST {BaseURL}/{phone_number_id}/messages. It
// waits for the number's throughput before each attempt and retries
// transient failures. It returns a *domain.SendError when Meta refuses the
// message, a *domain.Error (EINVALID) for an Outbound that cannot be sent,
// and a plain error when no answer came back (network) or ctx ended.
//
// A retried send whose first attempt reached Meta but lost its answer can
// deliver twice; Meta has no idempotency key for messages.
func (c *Client) Send(ctx context.Context, m *domain.Outbound) (*domain.SendResult, error) {
	body, err := sendBody(m)
	if err != nil {
		return nil, err
	}
	var resp sendResponse
	rq := request{
		op:            "send via phone number " + m.PhoneNumberID,
		method:        http.MethodPost,
		url:           c.base() + "/" + url.PathEscape(m.PhoneNumberID) + "/messages",
		body:          body,
		token:         m.AccessToken,
		phoneNumberID: m.PhoneNumberID,
	}
	if err := c.do(ctx, rq, &resp); err != nil {
		return nil, err
	}
	if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		return nil, fmt.Errorf("cloud api: %s: accepted without a message id", rq.op)
	}
	res := &domain.SendResult{
		WAMID:         resp.Messages[0].ID,
		MessageStatus: resp.Messages[0].MessageStatus,
	}
	if len(resp.Contacts) > 0 {
		// Meta's own examples carry stray spaces ("48XXXXXXXXX ").
		res.WAID = strings.TrimSpace(resp.Contacts[0].WAID)
	}
	return res, nil
}

// sendBody builds the JSON of a send request the way Meta documents it:
// the fixed keys, then the type's object under the type's name.
func sendBody(m *domain.Outbound) ([]byte, error) {
	if m == nil {
		return nil, domain.Errorf(domain.EINVALID, "no message to send")
	}
	switch {
	case m.PhoneNumberID == "":
		return nil, domain.Errorf(domain.EINVALID, "message has no sending phone number id")
	case m.To == "":
		return nil, domain.Errorf(domain.EINVALID, "message has no recipient")
	case !validType(m.Type):
		return nil, domain.Errorf(domain.EINVALID, "message type %q is not a Cloud API type", m.Type)
	}
	content := bytes.TrimSpace(m.Content)
	if len(content) == 0 || bytes.Equal(content, []byte("null")) || !json.Valid(content) ||
		(content[0] != '{' && content[0] != '[') {
		return nil, domain.Errorf(domain.EINVALID, "content of the %s message is not a JSON object", m.Type)
	}
	recipientType := m.RecipientType
	if recipientType == "" {
		recipientType = "individual"
	}
	body := map[string]any{
		"messaging_product": "whatsapp",
		"recipient_type":    recipientType,
		"to":                m.To,
		"type":              m.Type,
		m.Type:              json.RawMessage(content),
	}
	if m.ContextWAMID != "" {
		body["context"] = map[string]string{"message_id": m.ContextWAMID}
	}
	if m.BizOpaque != "" {
		body["biz_opaque_callback_data"] = m.BizOpaque
	}
	return marshalJSON(body)
}

// marshalJSON encodes v without escaping <, > and & ("\u003c"): Meta reads
// both, and the request then carries the text as it was written.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// validType accepts a lower-case identifier that does not collide with the
// request's own keys; Meta, not ticks, decides which types exist.
func validType(t string) bool {
	if t == "" || len(t) > 64 || reservedKeys[t] {
		return false
	}
	for _, r := range t {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}

// request is one Graph API call.
type request struct {
	op            string // what the call does, for error messages
	method        string
	url           string
	body          []byte // nil for GET
	token         string
	phoneNumberID string // throughput bucket; "" for management calls
}

// networkError is a call that got no HTTP answer. It is retried like a 5xx.
type networkError struct {
	op  string
	err error
}

func (e *networkError) Error() string { return "cloud api: " + e.op + ": " + e.err.Error() }
func (e *networkError) Unwrap() error { return e.err }

// do runs rq, retrying transient failures, and decodes a 2xx answer into
// out. Permanent Meta errors return at once.
func (c *Client) do(ctx context.Context, rq request, out any) error {
	for attempt := 0; ; attempt++ {
		if rq.phoneNumberID != "" {
			if err := c.limiter.wait(ctx, rq.phoneNumberID); err != nil {
				return fmt.Errorf("cloud api: %s: waiting for throughput: %w", rq.op, err)
			}
		}
		err := c.once(ctx, rq, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("cloud api: %s: %w", rq.op, ctx.Err())
		}
		wait, retry := c.retryWait(err, attempt+1)
		if !retry {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("cloud api: %s: %w (while backing off from: %v)", rq.op, ctx.Err(), err)
		}
	}
}

// retryWait tells whether err is worth retry number attempt, and after how
// long: Meta's Retry-After when it sent one, else the backoff.
func (c *Client) retryWait(err error, attempt int) (time.Duration, bool) {
	if attempt > c.MaxRetries {
		return 0, false
	}
	var se *domain.SendError
	var ne *networkError
	switch {
	case errors.As(err, &se):
		if !se.Retryable {
			return 0, false
		}
		if se.RetryAfter > 0 {
			return se.RetryAfter, se.RetryAfter <= maxRetryWait
		}
	case errors.As(err, &ne):
	default:
		return 0, false
	}
	backoff := c.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	return max(backoff(attempt), 0), true
}

// once makes one HTTP call of rq.
func (c *Client) once(ctx context.Context, rq request, out any) error {
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, rq.url, body)
	if err != nil {
		return fmt.Errorf("cloud api: %s: %w", rq.op, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ticks")
	if rq.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &networkError{op: rq.op, err: redactErr(err, rq.token)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return &networkError{op: rq.op, err: redactErr(err, rq.token)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := ParseError(resp.StatusCode, data)
		se.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		redactToken(se, rq.token)
		return se
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("cloud api: %s: HTTP %d with an unreadable body (%s): %w",
			rq.op, resp.StatusCode, redactText(snippet(data), rq.token), err)
	}
	return nil
}

// redactErr returns err, or a copy of its text without token if it has one.
func redactErr(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(redactText(err.Error(), token))
}

// redactText replaces token in s.
func redactText(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[redacted]")
}

// base is BaseURL without a trailing slash.
func (c *Client) base() string { return strings.TrimRight(c.BaseURL, "/") }
