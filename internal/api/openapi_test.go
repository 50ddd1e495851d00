package api

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIDocumentIsValid loads the served document as a validator does
// and checks it against the OpenAPI 3.1 rules.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableSchemaPatternValidation()); err != nil {
		t.Fatal(err)
	}
	// The JSON keeps the YAML's order: the viewer shows paths as written.
	if !bytes.HasPrefix(OpenAPI(), []byte(`{"openapi":"3.1.0","info":{"title":`)) {
		t.Errorf("the JSON does not keep the YAML's key order: %.60s…", OpenAPI())
	}
}

// TestOpenAPIOperationsAreRoutes checks that every operation of the document
// is a route the handler registers, with the same method and path pattern,
// so the reference cannot describe an endpoint that does not exist.
func TestOpenAPIOperationsAreRoutes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&Handler{}).Routes(mux)
	// The webhook endpoints are registered by the server, beside the API.
	mux.HandleFunc("GET /webhooks/whatsapp", http.NotFound)
	mux.HandleFunc("POST /webhooks/whatsapp", http.NotFound)
	n := 0
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			n++
			r := httptest.NewRequest(method, strings.ReplaceAll(path, "{id}", "7"), nil)
			if _, pattern := mux.Handler(r); pattern != method+" "+path {
				t.Errorf("%s %s is documented, but the server routes it to %q", method, path, pattern)
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d operations documented", n)
	}
}

func TestYAMLToJSON(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"b: 1\na: [x, 2.5, true, null]\n", `{"b":1,"a":["x",2.5,true,null]}`},
		{"200: ok\n'201': '2026-05-01'\nd: 2026-05-01\n", `{"200":"ok","201":"2026-05-01","d":"2026-05-01"}`},
		{"a: &x {k: v}\nb: *x\n", `{"a":{"k":"v"},"b":{"k":"v"}}`},
		{"s: |\n  two\n  lines\n", `{"s":"two\nlines\n"}`},
	} {
		got, err := yamlToJSON([]byte(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("yamlToJSON(%q) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"a: [", "a: !!binary aGk=\n", "<<: {a: 1}\n", "? [a]\n: 1\n"} {
		if got, err := yamlToJSON([]byte(bad)); err == nil {
			t.Errorf("yamlToJSON(%q) = %s, want an error", bad, got)
		}
	}
}
