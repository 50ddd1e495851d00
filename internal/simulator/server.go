package simulator

// The Cloud API simulator: an http.Handler serving the Graph API paths of
// Meta's WhatsApp Cloud API, and a background sender posting the webhooks
// those sends cause, signed like Meta's, to a configured URL.
//
// Running it:
//
//	sim := simulator.NewServer(simulator.Config{
//		Seed:       42,
//		WebhookURL: "http://localhost:8080/webhooks/whatsapp",
//		AppSecret:  []byte(os.Getenv("TICKS_WA_APP_SECRET")),
//		Phones:     []simulator.Phone{{PhoneNumberID: "106540352242922", DisplayPhone: "15550783881",
//			WABAID: "102290129340398", AccessToken: "sim-token"}},
//	})
//	defer sim.Close()
//	go sim.Run(ctx)                                    // webhook sender, until ctx ends
//	go http.ListenAndServe(":9090", sim.Handler())     // the Graph API
//	// point the Cloud API client at http://localhost:9090 (TICKS_WA_API_BASE),
//	// any version prefix: POST http://localhost:9090/v23.0/106540352242922/messages
//	sim.Tick(5)                                        // make 5 contacts write first
//
// Served paths (the version segment, /vNN.N/, is optional and any version is
// accepted):
//
//	POST   /{ver}/{phone-number-id}/messages          send, mark as read, typing indicator
//	GET    /{ver}/{phone-number-id}                   the number's details
//	GET    /{ver}/{waba-id}/phone_numbers             the WABA's numbers
//	GET    /{ver}/{waba-id}/message_templates         templates, limit/after/before paging, name/status/language/category filters
//	POST   /{ver}/{waba-id}/message_templates         create a template (APPROVED at once)
//	DELETE /{ver}/{waba-id}/message_templates?name=   delete a template (every language)
//	GET    /{ver}/{waba-id}?fields=pricing_analytics…  what was charged per message (analytics.go)
//	GET    /{ver}/{waba-id}?fields=conversation_analytics…  … per conversation

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Phone is a business phone number the simulator serves.
type Phone struct {
	PhoneNumberID string
	DisplayPhone  string // digits, as webhooks' metadata.display_phone_number
	WABAID        string
	// AccessToken is the token requests about this number (and its WABA)
	// must carry as "Authorization: Bearer <token>" (or ?access_token=).
	// Empty accepts any request.
	AccessToken  string
	VerifiedName string // the display name; "Ticks Simulador" when empty
}

// DefaultPhone is the number served when Config.Phones is empty: the ids
// of Meta's documentation examples.
var DefaultPhone = Phone{PhoneNumberID: "106540352242922", DisplayPhone: "15550783881",
	WABAID: "102290129340398", AccessToken: "ticks-simulator-token"}

// Config configures a Server. The zero value works: one DefaultPhone, the
// DefaultTemplates, DefaultOutcomes, default delays, 80 messages/s.
type Config struct {
	// Seed makes runs repeatable: the same seed and the same sequence of
	// requests give the same wamids, outcomes and webhook bodies (only
	// timestamps, and what depends on timing such as throughput refusals,
	// differ).
	Seed uint64
	// Run numbers the runs of one simulated account kept across restarts
	// (the demo counts them): the wamids of different runs never collide,
	// while the seed keeps the templates' ids and the contacts the same.
	Run uint64
	// WebhookURL receives the webhooks (POST, signed). Run needs it; when
	// it is empty, only the HTTP API works and no webhook is kept.
	WebhookURL string
	// AppSecret signs webhooks: X-Hub-Signature-256 = whatsapp.Sign(AppSecret, body).
	AppSecret []byte
	// Version is written in the paging links of list answers ("v23.0" when
	// empty). Requests may carry any /vNN.N/ prefix, or none.
	Version string
	Phones  []Phone
	// Mix is the outcome mix. The zero value means DefaultOutcomes(); a
	// non-zero Mix is used as given (zero fields are zero probabilities).
	Mix Outcomes
	// TemplateMix replaces Mix for the messages of a template, by its
	// name: two templates of an A/B test are read and answered at
	// different rates.
	TemplateMix map[string]Outcomes
	Delays      Delays
	// Throughput is the messages per second each number accepts (80, Meta's
	// default, when 0); sends over it get error 130429 synchronously.
	Throughput int
	// Templates are the templates every configured WABA has. nil means
	// DefaultTemplates(); an empty non-nil slice means none.
	Templates []Template
	// Contacts is the size of the pool of synthetic contacts (Brazilian
	// mobile numbers) that write first in Tick (500 when 0).
	Contacts int
	// Concurrency bounds the webhook posts in flight (8 when 0).
	Concurrency int
	// Client posts the webhooks (a client with a 10 s timeout when nil).
	Client *http.Client
	// Now is the clock of timestamps and windows (time.Now when nil).
	Now func() time.Time
	// Logger logs webhook delivery failures (discarded when nil).
	Logger *slog.Logger
}

// Server is the Cloud API simulator. It is safe for concurrent use.
type Server struct {
	cfg       Config
	mix       Outcomes
	delays    Delays
	phones    map[string]*phoneState // by phone_number_id
	phoneList []*phoneState          // in configuration order
	client    *http.Client
	log       *slog.Logger
	version   string

	mu        sync.Mutex
	templates map[string][]*templateShape // by WABA id, in creation order
	users     map[userKey]*user
	msgSeq    uint64 // outbound messages accepted
	inSeq     uint64 // inbound messages generated
	traceSeq  uint64
	tmplSeq   uint64
	queue     eventQueue
	ledger    map[chargeKey]*Charge // what was charged (analytics.go)
	evSeq     uint64
	inflight  int
	wake      chan struct{}

	accepted, rejected, inbound atomic.Uint64
	sent, failed                atomic.Uint64

	runMu   sync.Mutex
	closed  bool
	closeCh chan struct{}
	runs    sync.WaitGroup
	running bool
}

type phoneState struct {
	Phone
	biz        Business
	tokens     float64   // throughput bucket
	tokensAt   time.Time // last refill
	recipients []string  // wa_ids messaged, in order of first send
}

// NewServer returns a simulator for cfg. Call Run to deliver webhooks and
// Close when done.
func NewServer(cfg Config) *Server {
	if len(cfg.Phones) == 0 {
		cfg.Phones = []Phone{DefaultPhone}
	}
	if cfg.Throughput <= 0 {
		cfg.Throughput = 80
	}
	if cfg.Templates == nil {
		cfg.Templates = DefaultTemplates()
	}
	if cfg.Contacts <= 0 {
		cfg.Contacts = 500
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, mix: cfg.Mix, delays: cfg.Delays.withDefaults(),
		phones: map[string]*phoneState{}, client: cfg.Client, log: cfg.Logger, version: cfg.Version,
		templates: map[string][]*templateShape{}, users: map[userKey]*user{},
		wake: make(chan struct{}, 1), closeCh: make(chan struct{})}
	// Each run numbers its messages from a range of its own: a wamid's key
	// is a bijection of the number.
	s.msgSeq, s.inSeq = cfg.Run<<32, cfg.Run<<32
	if s.mix.isZero() {
		s.mix = DefaultOutcomes()
	}
	if len(s.mix.FailureCodes) == 0 {
		s.mix.FailureCodes = DefaultFailureCodes
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.version == "" {
		s.version = "v23.0"
	}
	now := cfg.Now()
	for _, p := range cfg.Phones {
		if p.VerifiedName == "" {
			p.VerifiedName = "Ticks Simulador"
		}
		ps := &phoneState{Phone: p, biz: Business{WABAID: p.WABAID, PhoneNumberID: p.PhoneNumberID, DisplayPhone: p.DisplayPhone},
			tokens: float64(cfg.Throughput), tokensAt: now}
		s.phones[p.PhoneNumberID] = ps
		s.phoneList = append(s.phoneList, ps)
		if _, ok := s.templates[p.WABAID]; ok {
			continue
		}
		s.templates[p.WABAID] = []*templateShape{}
		for i, t := range cfg.Templates {
			if t.ID == "" {
				t.ID = strconv.FormatUint(1_000_000_000_000_000+mix64(cfg.Seed, 0x7e, uint64(i))%1_000_000_000_000_000, 10)
			}
			if t.Status == "" {
				t.Status = "APPROVED"
			}
			t.Category = strings.ToUpper(t.Category)
			sh, err := parseTemplate(t)
			if err != nil {
				s.log.Warn("simulator: template ignored", "template", t.Name, "err", err)
				continue
			}
			s.templates[p.WABAID] = append(s.templates[p.WABAID], sh)
		}
	}
	return s
}

// Handler returns the simulator's HTTP API.
func (s *Server) Handler() http.Handler { return s }

var versionSegment = regexp.MustCompile(`^v\d+(\.\d+)?$`)

const maxBody = 4 << 20

// ServeHTTP serves the Cloud API paths the simulator knows.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) > 0 && versionSegment.MatchString(segs[0]) {
		segs = segs[1:]
	}
	if len(segs) == 0 || segs[0] == "" || len(segs) > 2 {
		s.writeError(w, http.StatusBadRequest, graphError{Code: 2500, Message: "Unknown path components: " + r.URL.Path})
		return
	}
	id, edge := segs[0], ""
	if len(segs) == 2 {
		edge = segs[1]
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	switch {
	case edge == "messages" && r.Method == http.MethodPost:
		s.handleMessages(w, r, id)
	case edge == "" && r.Method == http.MethodGet && isAnalytics(r.URL.Query().Get("fields")):
		s.handleAnalytics(w, r, id)
	case edge == "" && r.Method == http.MethodGet:
		s.handlePhone(w, r, id)
	case edge == "phone_numbers" && r.Method == http.MethodGet:
		s.handlePhoneNumbers(w, r, id)
	case edge == "message_templates" && r.Method == http.MethodGet:
		s.handleListTemplates(w, r, id)
	case edge == "message_templates" && r.Method == http.MethodPost:
		s.handleCreateTemplate(w, r, id)
	case edge == "message_templates" && r.Method == http.MethodDelete:
		s.handleDeleteTemplate(w, r, id)
	default:
		s.writeError(w, http.StatusBadRequest, unsupported(r.Method, id))
	}
}

// graphError is Meta's error object: {"error": {...}}.
type graphError struct {
	Message   string     `json:"message"`
	Type      string     `json:"type"`
	Code      int        `json:"code"`
	Subcode   int        `json:"error_subcode,omitempty"`
	ErrorData *errorData `json:"error_data,omitempty"`
	FBTraceID string     `json:"fbtrace_id"`
}

type errorData struct {
	MessagingProduct string `json:"messaging_product"`
	Details          string `json:"details"`
}

// httpStatus is the HTTP status of each synchronous error the simulator
// answers (testdata/whatsapp/error_codes.json).
var httpStatus = map[int]int{
	100: http.StatusBadRequest, 190: http.StatusUnauthorized, 2500: http.StatusBadRequest,
	130429: http.StatusBadRequest, 132000: http.StatusBadRequest, 132001: http.StatusNotFound,
	132015: http.StatusBadRequest, 132016: http.StatusBadRequest,
}

// sendError is a synchronous error of the messages endpoint, with the
// error_data Meta adds there.
func sendError(code int, message, details string) graphError {
	return graphError{Code: code, Message: fmt.Sprintf("(#%d) %s", code, message),
		ErrorData: &errorData{MessagingProduct: "whatsapp", Details: details}}
}

func invalidParam(details string) graphError {
	return sendError(100, "Invalid parameter", details)
}

func unsupported(method, id string) graphError {
	return graphError{Code: 100, Subcode: 33, Message: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, "+
		"cannot be loaded due to missing permissions, or does not support this operation. "+
		"Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", strings.ToLower(method), id)}
}

func (s *Server) writeError(w http.ResponseWriter, status int, e graphError) {
	e.Type = "OAuthException"
	s.mu.Lock()
	s.traceSeq++
	e.FBTraceID = traceID(s.cfg.Seed, s.traceSeq)
	s.mu.Unlock()
	if st, ok := httpStatus[e.Code]; ok && status == 0 {
		status = st
	}
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "`+e.Message+`"`)
	}
	writeJSON(w, status, struct {
		Error graphError `json:"error"`
	}{e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own types
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	w.Write(body)
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if h != "" {
		return strings.TrimSpace(h)
	}
	return r.URL.Query().Get("access_token")
}

// authorize checks the request's token against the numbers it may act on:
// a token no number has is 190 (401); a known token that is not this
// object's is Meta's "does not exist or missing permissions" (100/33).
// It writes the error and returns false when refused.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, id string, allowed []*phoneState) bool {
	tok := bearer(r)
	for _, p := range allowed {
		if p.AccessToken == "" || p.AccessToken == tok {
			return true
		}
	}
	known := false
	for _, p := range s.phoneList {
		if tok != "" && p.AccessToken == tok {
			known = true
		}
	}
	if !known {
		msg := "Invalid OAuth access token - Cannot parse access token"
		if tok == "" {
			msg = "An active access token must be used to query information about the current user."
		}
		s.writeError(w, http.StatusUnauthorized, graphError{Code: 190, Message: msg})
		return false
	}
	s.writeError(w, http.StatusBadRequest, unsupported(r.Method, id))
	return false
}

// wabaRequest authorizes a request to a WABA's edge and returns the WABA's
// numbers; it answers the request itself (and returns false) when the
// caller may not ask or the WABA is unknown.
func (s *Server) wabaRequest(w http.ResponseWriter, r *http.Request, waba string) ([]*phoneState, bool) {
	phones := s.wabaPhones(waba)
	if !s.authorize(w, r, waba, phones) {
		return nil, false
	}
	if len(phones) == 0 {
		s.writeError(w, http.StatusBadRequest, unsupported(r.Method, waba))
		return nil, false
	}
	return phones, true
}

func (s *Server) wabaPhones(waba string) []*phoneState {
	var out []*phoneState
	for _, p := range s.phoneList {
		if p.WABAID == waba {
			out = append(out, p)
		}
	}
	return out
}

// sendRequest is a POST /messages body.
type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Status           string `json:"status"`
	MessageID        string `json:"message_id"`
	TypingIndicator  *struct {
		Type string `json:"type"`
	} `json:"typing_indicator"`
	Context *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	BizOpaque string `json:"biz_opaque_callback_data"`
}

var messageTypes = []string{"text", "image", "audio", "video", "document", "sticker", "location",
	"contacts", "interactive", "template", "reaction"}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request, id string) {
	ph := s.phones[id]
	if ph == nil {
		// Unknown object: refused, 190 for a bad token (checked first, as
		// Meta does), else 100/33.
		s.authorize(w, r, id, nil)
		s.rejected.Add(1)
		return
	}
	if !s.authorize(w, r, id, []*phoneState{ph}) {
		s.rejected.Add(1)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.rejected.Add(1)
		s.writeError(w, http.StatusRequestEntityTooLarge, invalidParam("Request body too large"))
		return
	}
	req, objects, gerr := parseSend(body)
	if gerr == nil && req.Status == "" {
		gerr = validateSend(req, objects)
	}
	if gerr != nil {
		s.rejected.Add(1)
		s.writeError(w, 0, *gerr)
		return
	}
	if req.Status != "" {
		// Mark as read (and maybe show a typing indicator): nothing to schedule.
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
		return
	}
	res, gerr := s.accept(ph, req, objects[req.Type])
	if gerr != nil {
		s.rejected.Add(1)
		s.writeError(w, 0, *gerr)
		return
	}
	s.accepted.Add(1)
	type contact struct {
		Input string `json:"input"`
		WAID  string `json:"wa_id"`
	}
	type message struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status"`
	}
	writeJSON(w, http.StatusOK, struct {
		Product  string    `json:"messaging_product"`
		Contacts []contact `json:"contacts"`
		Messages []message `json:"messages"`
	}{"whatsapp", []contact{{req.To, res.waID}}, []message{{res.wamid, "accepted"}}})
}

func parseSend(body []byte) (*sendRequest, map[string]json.RawMessage, *graphError) {
	var objects map[string]json.RawMessage
	if err := json.Unmarshal(body, &objects); err != nil || objects == nil {
		e := invalidParam("Request body is not a valid JSON object")
		return nil, nil, &e
	}
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		details := "Request body is not valid"
		if errors.As(err, &te) {
			details = fmt.Sprintf("Param %s must be a %s", te.Field, te.Type)
		}
		e := invalidParam(details)
		return nil, nil, &e
	}
	switch {
	case req.MessagingProduct == "":
		e := sendError(100, "The parameter messaging_product is required.", "The parameter messaging_product is required.")
		return nil, nil, &e
	case req.MessagingProduct != "whatsapp":
		e := invalidParam(fmt.Sprintf("Param messaging_product must be one of {WHATSAPP} - got %q.", req.MessagingProduct))
		return nil, nil, &e
	case req.Status != "" && req.Status != "read":
		e := invalidParam(fmt.Sprintf("Param status must be one of {READ} - got %q.", req.Status))
		return nil, nil, &e
	case req.Status == "read" && req.MessageID == "":
		e := sendError(100, "The parameter message_id is required.", "The parameter message_id is required.")
		return nil, nil, &e
	case req.Status == "read" && req.TypingIndicator != nil && req.TypingIndicator.Type != "text":
		e := invalidParam("Param typing_indicator[type] must be one of {TEXT}")
		return nil, nil, &e
	}
	return &req, objects, nil
}

var toChars = strings.NewReplacer("+", "", " ", "", "-", "", "(", "", ")", "", ".", "")

// normalizeTo returns the wa_id of a "to": its digits.
func normalizeTo(to string) (string, bool) {
	d := toChars.Replace(to)
	if len(d) < 8 || len(d) > 15 {
		return "", false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return "", false
		}
	}
	return d, true
}

func required(param string) *graphError {
	e := sendError(100, fmt.Sprintf("The parameter %s is required.", param), fmt.Sprintf("The parameter %s is required.", param))
	return &e
}

func validateSend(req *sendRequest, objects map[string]json.RawMessage) *graphError {
	if req.RecipientType != "" && req.RecipientType != "individual" {
		e := invalidParam(fmt.Sprintf("Param recipient_type must be one of {INDIVIDUAL} - got %q.", req.RecipientType))
		return &e
	}
	if req.To == "" {
		return required("to")
	}
	if _, ok := normalizeTo(req.To); !ok {
		e := invalidParam("Parameter 'to' is invalid")
		return &e
	}
	if req.Type == "" {
		return required("type")
	}
	if !slices.Contains(messageTypes, req.Type) {
		e := invalidParam(fmt.Sprintf("Param type must be one of {%s} - got %q.",
			strings.ToUpper(strings.Join(messageTypes, ", ")), req.Type))
		return &e
	}
	raw, ok := objects[req.Type]
	if !ok || isNullJSON(raw) {
		return required(req.Type)
	}
	if details := validateObject(req.Type, raw); details != "" {
		e := invalidParam(details)
		return &e
	}
	return nil
}

func isNullJSON(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// validateObject checks the message type's object the way the Cloud API
// does; the answer is empty when it is valid, else the error details.
func validateObject(typ string, raw json.RawMessage) string {
	if typ == "contacts" {
		var cs []map[string]any
		if json.Unmarshal(raw, &cs) != nil || len(cs) == 0 {
			return "Param contacts must be a non-empty array"
		}
		return ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return fmt.Sprintf("Param %s must be a JSON object", typ)
	}
	str := func(k string) string {
		var v string
		json.Unmarshal(obj[k], &v)
		return v
	}
	has := func(k string) bool { v, ok := obj[k]; return ok && !isNullJSON(v) }
	switch typ {
	case "text":
		body := str("body")
		if body == "" {
			return "The parameter text['body'] is required."
		}
		if len([]rune(body)) > 4096 {
			return "Param text['body'] must be at most 4096 characters long."
		}
	case "image", "audio", "video", "document", "sticker":
		if str("id") == "" && str("link") == "" {
			return fmt.Sprintf("Param %s must contain either 'id' or 'link'", typ)
		}
	case "location":
		if !has("latitude") || !has("longitude") {
			return "The parameters location['latitude'] and location['longitude'] are required."
		}
	case "reaction":
		if str("message_id") == "" {
			return "The parameter reaction['message_id'] is required."
		}
		if _, ok := obj["emoji"]; !ok {
			return "The parameter reaction['emoji'] is required."
		}
	case "interactive":
		switch str("type") {
		case "":
			return "The parameter interactive['type'] is required."
		case "button", "list", "cta_url", "flow", "product", "product_list", "catalog_message",
			"location_request_message", "address_message", "call_permission_request", "voice_call":
		default:
			return fmt.Sprintf("Param interactive['type'] is not a valid interactive message type: %q", str("type"))
		}
		if !has("action") {
			return "The parameter interactive['action'] is required."
		}
	case "template":
		var t sendTemplate
		if json.Unmarshal(raw, &t) != nil {
			return "Param template is not valid"
		}
		if t.Name == "" {
			return "The parameter template['name'] is required."
		}
		if t.Language.Code == "" {
			return "The parameter template['language']['code'] is required."
		}
	}
	return ""
}

func (s *Server) handlePhone(w http.ResponseWriter, r *http.Request, id string) {
	ph := s.phones[id]
	if ph == nil {
		s.authorize(w, r, id, nil) // always refuses: 190, or 100/33 for a known token
		return
	}
	if !s.authorize(w, r, id, []*phoneState{ph}) {
		return
	}
	writeJSON(w, http.StatusOK, phoneInfo(ph))
}

func phoneInfo(p *phoneState) map[string]any {
	return map[string]any{"id": p.PhoneNumberID, "display_phone_number": p.DisplayPhone, "verified_name": p.VerifiedName,
		"code_verification_status": "VERIFIED", "quality_rating": "GREEN", "platform_type": "CLOUD_API",
		"throughput": map[string]string{"level": "STANDARD"}, "messaging_limit_tier": "TIER_1K"}
}

func (s *Server) handlePhoneNumbers(w http.ResponseWriter, r *http.Request, waba string) {
	phones, ok := s.wabaRequest(w, r, waba)
	if !ok {
		return
	}
	data := make([]map[string]any, len(phones))
	for i, p := range phones {
		data[i] = phoneInfo(p)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data,
		"paging": map[string]any{"cursors": map[string]string{"before": cursor(0), "after": cursor(len(data) - 1)}}})
}

// cursor encodes a list position the way Graph cursors look: opaque base64.
func cursor(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("sim:" + strconv.Itoa(i)))
}

func uncursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !bytes.HasPrefix(b, []byte("sim:")) {
		return 0, false
	}
	n, err := strconv.Atoi(string(b[4:]))
	return n, err == nil && n >= 0
}

func (s *Server) handleListTemplates(w http.ResponseWriter, r *http.Request, waba string) {
	_, ok := s.wabaRequest(w, r, waba)
	if !ok {
		return
	}
	q := r.URL.Query()
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			s.writeError(w, 0, graphError{Code: 100, Message: "(#100) Param limit must be a positive integer"})
			return
		}
		limit = min(n, 1000)
	}
	s.mu.Lock()
	var list []Template
	for _, t := range s.templates[waba] {
		if (q.Get("name") == "" || strings.Contains(t.Name, q.Get("name"))) &&
			(q.Get("status") == "" || strings.EqualFold(t.Status, q.Get("status"))) &&
			(q.Get("language") == "" || t.Language == q.Get("language")) &&
			(q.Get("category") == "" || strings.EqualFold(t.Category, q.Get("category"))) {
			list = append(list, t.Template)
		}
	}
	s.mu.Unlock()
	start, end := 0, len(list)
	if c := q.Get("after"); c != "" {
		n, ok := uncursor(c)
		if !ok {
			s.writeError(w, 0, graphError{Code: 100, Message: "(#100) Invalid cursor: after"})
			return
		}
		start = n + 1
	} else if c := q.Get("before"); c != "" {
		n, ok := uncursor(c)
		if !ok {
			s.writeError(w, 0, graphError{Code: 100, Message: "(#100) Invalid cursor: before"})
			return
		}
		end = min(n, len(list))
		start = max(end-limit, 0)
	}
	start = min(start, len(list))
	end = min(end, start+limit)
	page := list[start:end]
	if page == nil {
		page = []Template{}
	}
	out := map[string]any{"data": page}
	if len(page) > 0 {
		paging := map[string]any{"cursors": map[string]string{"before": cursor(start), "after": cursor(end - 1)}}
		link := func(key, c string) string {
			v := url.Values{}
			for k, vs := range q {
				if k != "after" && k != "before" && k != "access_token" {
					v[k] = vs
				}
			}
			v.Set("limit", strconv.Itoa(limit))
			v.Set(key, c)
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			return fmt.Sprintf("%s://%s/%s/%s/message_templates?%s", scheme, r.Host, s.version, waba, v.Encode())
		}
		if end < len(list) {
			paging["next"] = link("after", cursor(end-1))
		}
		if start > 0 {
			paging["previous"] = link("before", cursor(start))
		}
		out["paging"] = paging
	}
	writeJSON(w, http.StatusOK, out)
}

var templateName = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)

func (s *Server) handleCreateTemplate(w http.ResponseWriter, r *http.Request, waba string) {
	_, ok := s.wabaRequest(w, r, waba)
	if !ok {
		return
	}
	var t Template
	if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
		s.writeError(w, 0, graphError{Code: 100, Message: "(#100) Invalid parameter"})
		return
	}
	bad := func(msg string) { s.writeError(w, 0, graphError{Code: 100, Message: "(#100) " + msg}) }
	t.Category = strings.ToUpper(t.Category)
	var comps []json.RawMessage
	switch {
	case t.Name == "":
		bad("The parameter name is required.")
		return
	case !templateName.MatchString(t.Name):
		bad("Param name must contain only lowercase characters, numbers and underscores")
		return
	case t.Language == "":
		bad("The parameter language is required.")
		return
	case t.Category != "MARKETING" && t.Category != "UTILITY" && t.Category != "AUTHENTICATION":
		bad("Param category must be one of {AUTHENTICATION, MARKETING, UTILITY}")
		return
	case json.Unmarshal(t.Components, &comps) != nil || len(comps) == 0:
		bad("The parameter components is required.")
		return
	}
	s.mu.Lock()
	for _, x := range s.templates[waba] {
		if x.Name == t.Name && x.Language == t.Language {
			s.mu.Unlock()
			s.writeError(w, 0, graphError{Code: 100, Subcode: 2388024, Message: "Invalid parameter"})
			return
		}
	}
	s.tmplSeq++
	t.ID = strconv.FormatUint(2_000_000_000_000_000+mix64(s.cfg.Seed, 0x7f, s.tmplSeq)%1_000_000_000_000_000, 10)
	t.Status = "APPROVED"
	sh, err := parseTemplate(t)
	if err != nil {
		s.mu.Unlock()
		bad("Param components is not valid")
		return
	}
	s.templates[waba] = append(s.templates[waba], sh)
	// Meta announces the review outcome on message_template_status_update.
	now := s.cfg.Now()
	id, _ := strconv.ParseInt(t.ID, 10, 64)
	body, _ := json.Marshal(envelope{Object: "whatsapp_business_account", Entry: []entry{{ID: waba, Time: now.Unix(),
		Changes: []change{{Field: "message_template_status_update", Value: map[string]any{
			"event": "APPROVED", "message_template_id": id, "message_template_name": t.Name,
			"message_template_language": t.Language, "reason": "NONE"}}}}}})
	s.scheduleLocked(time.Now().Add(s.delays.scale(s.delays.Sent.Max)), body)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": t.ID, "status": t.Status, "category": t.Category})
}

func (s *Server) handleDeleteTemplate(w http.ResponseWriter, r *http.Request, waba string) {
	phones := s.wabaPhones(waba)
	if !s.authorize(w, r, waba, phones) {
		return
	}
	name := r.URL.Query().Get("name")
	if len(phones) == 0 || name == "" {
		s.writeError(w, 0, graphError{Code: 100, Message: "(#100) The parameter name is required."})
		return
	}
	s.mu.Lock()
	before := len(s.templates[waba])
	s.templates[waba] = slices.DeleteFunc(s.templates[waba], func(t *templateShape) bool { return t.Name == name })
	found := len(s.templates[waba]) < before
	s.mu.Unlock()
	if !found {
		s.writeError(w, http.StatusNotFound, graphError{Code: 100, Subcode: 2593002, Message: "(#100) Message template not found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// mix64 hashes (seed, stream, n) into 64 bits: splitmix64's finalizer,
// a bijection in n for a fixed seed and stream.
func mix64(seed, stream, n uint64) uint64 {
	z := seed ^ stream*0xD1B54A32D192ED03 + n*0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

func traceID(seed, n uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], mix64(seed, 0x7a, n))
	binary.BigEndian.PutUint64(b[8:], mix64(seed, 0x7b, n))
	return "A" + base64.RawURLEncoding.EncodeToString(b[:])[:22]
}

// wamid builds a message id shaped like Meta's: base64 of a small binary
// record holding the contact's number and a unique hex key.
func wamid(waID string, inbound bool, key uint64, extra byte) string {
	var b []byte
	b = append(b, 0x1c, 0x18, byte(len(waID)))
	b = append(b, waID...)
	if inbound {
		b = append(b, 0x15, 0x02, 0x00, 0x12, 0x18, 0x14)
		b = fmt.Appendf(b, "%04X%016X", uint16(extra), key)
	} else {
		b = append(b, 0x15, 0x02, 0x00, 0x11, 0x18, 0x12)
		b = fmt.Appendf(b, "%02X%016X", extra, key)
	}
	b = append(b, 0x00)
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

// Stats are the simulator's counters.
type Stats struct {
	Accepted uint64 // sends answered 200
	Rejected uint64 // sends answered with an error
	Inbound  uint64 // inbound messages generated (answers and unsolicited)
	Sent     uint64 // webhook posts answered 200
	Failed   uint64 // webhook posts that failed (each is retried)
	Pending  int    // webhooks scheduled and not yet delivered (due later, due now, or in flight)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	pending := len(s.queue) + s.inflight
	s.mu.Unlock()
	return Stats{Accepted: s.accepted.Load(), Rejected: s.rejected.Load(), Inbound: s.inbound.Load(),
		Sent: s.sent.Load(), Failed: s.failed.Load(), Pending: pending}
}
