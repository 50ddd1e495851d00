package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ticksapp/ticks/internal/api"
)

// contract is the API's OpenAPI document, held against every request the
// server tests make to the API and the webhook endpoint, and every answer.
// kin-openapi validates: since v0.149 it reads OpenAPI 3.1 and validates 3.1
// documents' schemas as JSON Schema 2020-12 (type arrays, const,
// unevaluatedProperties, if/then).
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

// loadContract parses the document the server serves, once for all tests.
var loadContract = sync.OnceValues(func() (*contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
})

// checkContract wraps h so that every exchange with the API is validated
// against the document, each mismatch failing t.
func checkContract(t *testing.T, h http.Handler) http.Handler {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return c.check(t.Errorf, h)
}

// inContract reports whether the document describes path's endpoint: the
// API under /api/v1 and the webhook endpoint. The pages, /api/docs and the
// operational endpoints are not part of it.
func inContract(path string) bool {
	return strings.HasPrefix(path, "/api/v1/") || strings.HasPrefix(path, "/webhooks/")
}

// check returns h, validating each exchange and calling report with every
// mismatch:
//   - a request the document refuses (unknown path, a missing or malformed
//     parameter, a body off its schema, no token) must be refused too, with a
//     4xx; the tests send such requests on purpose, and the server accepting
//     one means the two disagree;
//   - an unknown path or method must be answered 404 with the error shape;
//   - every answer's status must be documented for its operation, and its
//     body must match that status's schema; a file (CSV, XLSX, PDF) must
//     have a documented content type.
//
// The answer is held until it has been checked, so a mismatch is reported
// before the test reads it and goes on.
func (c *contract) check(report func(format string, args ...any), h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !inContract(r.URL.Path) || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "contract check: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		// The validator reads its own copy of the request.
		vr := r.Clone(r.Context())
		vr.Body = io.NopCloser(bytes.NewReader(body))
		route, params, routeErr := c.router.FindRoute(vr)
		h.ServeHTTP(rec, r)

		name := fmt.Sprintf("%s %s → %d", r.Method, r.URL.RequestURI(), rec.Code)
		if routeErr != nil {
			c.checkUnknown(report, name, routeErr, rec)
		} else {
			c.checkExchange(report, name, vr, body, route, params, rec)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// checkUnknown checks the answer to a request for an endpoint the document
// does not have: the server must not have one either.
func (c *contract) checkUnknown(report func(string, ...any), name string, routeErr error, rec *httptest.ResponseRecorder) {
	if rec.Code != http.StatusNotFound {
		report("API contract: %s: the document has no such endpoint (%v), yet the server answered %d, not 404", name, routeErr, rec.Code)
		return
	}
	if err := c.matches("ErrorNotFound", rec); err != nil {
		report("API contract: %s: %v", name, err)
	}
}

// matches checks a JSON answer against a schema of the document's components.
func (c *contract) matches(schema string, rec *httptest.ResponseRecorder) error {
	if ct, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); ct != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", rec.Header().Get("Content-Type"))
	}
	v, err := decodeJSON(rec.Body.Bytes())
	if err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	ref := c.doc.Components.Schemas[schema]
	if ref == nil {
		return fmt.Errorf("the document has no schema %s", schema)
	}
	if err := ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("body does not match %s: %w", schema, err)
	}
	return nil
}

func (c *contract) checkExchange(report func(string, ...any), name string, vr *http.Request, body []byte,
	route *routers.Route, params map[string]string, rec *httptest.ResponseRecorder) {
	// The API reads a body sent without a Content-Type as the one kind it
	// takes (JSON, or CSV for the contact import), as the document says.
	if rb := route.Operation.RequestBody; rb != nil && len(body) > 0 && vr.Header.Get("Content-Type") == "" && len(rb.Value.Content) == 1 {
		for mt := range rb.Value.Content {
			vr.Header.Set("Content-Type", mt)
		}
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    bearerPresent,
	}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(vr.Context(), in)
	if reqErr != nil && rec.Code < 400 {
		report("API contract: %s: the document refuses this request, yet the server took it: %v", name, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(), Options: opts}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(vr.Context(), out); err != nil {
		report("API contract: %s: the answer is not as documented: %v\n%.600s", name, err, rec.Body.Bytes())
	}
}

func decodeJSON(b []byte) (any, error) {
	var v any
	err := json.Unmarshal(b, &v)
	return v, err
}

// bearerPresent is the document's one security scheme as a validator sees
// it: a bearer token is there (whether the server knows it is the server's
// business, and the answer is then checked like any other).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "bearer" {
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	token, ok := strings.CutPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return errors.New("no Authorization: Bearer <token> header")
	}
	return nil
}

// TestContractCatchesMismatches shows the check failing: a stand-in server
// answers each request with what the case says, and the check must report
// exactly the answers and requests the document does not allow.
func TestContractCatchesMismatches(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	const subaccount = `{"id":2,"name":"Loja","time_zone":"","created_at":"2026-05-01T12:00:00Z"}`
	cases := []struct {
		name         string
		method, path string
		token        bool
		body         string
		status       int
		answer       string
		want         string // in the report; "" for none
	}{
		{"documented answer", "GET", "/api/v1/subaccounts/2", true, "", 200, subaccount, ""},
		{"documented error", "GET", "/api/v1/subaccounts/2", true, "", 404, `{"error":{"code":"not_found","message":"no"}}`, ""},
		{"undocumented status", "GET", "/api/v1/subaccounts/2", true, "", 418, `{"error":{"code":"invalid","message":"teapot"}}`, "status is not supported"},
		{"wrong field type", "GET", "/api/v1/subaccounts/2", true, "", 200, `{"id":"2","name":"Loja","time_zone":"","created_at":"2026-05-01T12:00:00Z"}`, "id"},
		{"undocumented field", "GET", "/api/v1/subaccounts/2", true, "", 200, strings.Replace(subaccount, `"id":2`, `"id":2,"colour":"red"`, 1), "colour"},
		{"missing field", "GET", "/api/v1/subaccounts/2", true, "", 200, `{"id":2,"name":"Loja","created_at":"2026-05-01T12:00:00Z"}`, "time_zone"},
		{"error code of another status", "GET", "/api/v1/subaccounts/2", true, "", 404, `{"error":{"code":"invalid","message":"no"}}`, "not_found"},
		{"message id as a number", "GET", "/api/v1/reports/messages", true, "", 200, `{"total":1,"rows":[{"id":1}],"next_cursor":""}`, "rows"},
		{"file of an undocumented type", "GET", "/api/v1/reports/messages?format=csv", true, "", 200, "a,b\n", "text/html"},
		{"unknown endpoint answered", "GET", "/api/v1/nothing", true, "", 200, `{}`, "no such endpoint"},
		{"unknown endpoint refused", "GET", "/api/v1/nothing", true, "", 404, `{"error":{"code":"not_found","message":"no API endpoint"}}`, ""},
		{"request off the document taken", "POST", "/api/v1/subaccounts", true, `{"name":"X","colour":"red"}`, 201, subaccount, "refuses this request"},
		{"request off the document refused", "POST", "/api/v1/subaccounts", true, `{"name":"X","colour":"red"}`, 400, `{"error":{"code":"invalid","message":"colour"}}`, ""},
		{"no token, taken", "GET", "/api/v1/subaccounts/2", false, "", 200, subaccount, "refuses this request"},
		{"bad query parameter taken", "GET", "/api/v1/reports/messages?limit=0", true, "", 200, `{"total":0,"rows":[],"next_cursor":""}`, "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stand := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.Contains(tc.name, "file"):
					w.Header().Set("Content-Type", "text/html")
				default:
					w.Header().Set("Content-Type", "application/json; charset=utf-8")
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.answer)
			})
			var reports []string
			h := c.check(func(format string, args ...any) { reports = append(reports, fmt.Sprintf(format, args...)) }, stand)
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			r := httptest.NewRequest(tc.method, tc.path, body)
			if tc.token {
				r.Header.Set("Authorization", "Bearer tk_test")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status || w.Body.String() != tc.answer {
				t.Errorf("the check changed the answer: %d %s", w.Code, w.Body)
			}
			switch {
			case tc.want == "" && len(reports) > 0:
				t.Errorf("reported a good exchange: %v", reports)
			case tc.want != "" && len(reports) == 0:
				t.Errorf("did not report it")
			case tc.want != "" && !strings.Contains(strings.Join(reports, "\n"), tc.want):
				t.Errorf("report does not name %q: %v", tc.want, reports)
			}
		})
	}
}
