package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"go.yaml.in/yaml/v4"
)

// openAPIYAML is the API's reference, written by hand.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// docsFS holds the /api/docs page, its script and the vendored Swagger UI.
//
//go:embed docs
var docsFS embed.FS

// openAPIJSON is openapi.yaml as JSON, in the document's own key order.
// The file is part of the binary and a test loads it, so a broken one stops
// the program at start, like a bad regexp.MustCompile.
var openAPIJSON = must(yamlToJSON(openAPIYAML))

var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIJSON)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}()

// OpenAPI returns the API's OpenAPI 3.1 document as JSON, as GET
// /api/v1/openapi.json serves it.
func OpenAPI() []byte { return bytes.Clone(openAPIJSON) }

// docsCSP is the documentation page's Content-Security-Policy: scripts,
// styles and fonts only from this server, like the web app's. Swagger UI
// draws its icons as data: URIs, hence img-src data:; connect-src 'self'
// lets it load the document and send "Try it out" requests here.
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// serveDocs registers the OpenAPI document and its viewer. Neither needs a
// token: they describe the public contract, nothing of anyone's data.
func serveDocs(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", openAPIETag)
		// Other origins may read it (an editor, a client generator): it is
		// public, and no credentials go with such requests.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(openAPIJSON))
	})
	page, err := docsFS.ReadFile("docs/index.html")
	if err != nil {
		panic(err) // embedded above: absent only if the build is broken
	}
	mux.HandleFunc("GET /api/docs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", docsCSP)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Write(page)
	})
	// The page's relative links resolve from /api/docs, not /api/docs/.
	mux.Handle("GET /api/docs/{$}", http.RedirectHandler("/api/docs", http.StatusMovedPermanently))
	assets, _ := fs.Sub(docsFS, "docs")
	files := http.StripPrefix("/api/docs/assets/", http.FileServerFS(assets))
	mux.Handle("GET /api/docs/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
}

// yamlToJSON converts a YAML document to JSON, keeping the order of its
// keys. Mapping keys become strings whatever their YAML type, so a status
// code such as 200 may be written unquoted.
func yamlToJSON(in []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(in, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	var out bytes.Buffer
	if err := writeJSON(&out, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return out.Bytes(), nil
}

func writeJSON(out *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("line %d: want one document", n.Line)
		}
		return writeJSON(out, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(out, n.Alias)
	case yaml.MappingNode:
		out.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Value == "<<" {
				return fmt.Errorf("line %d: keys must be plain scalars", k.Line)
			}
			if i > 0 {
				out.WriteByte(',')
			}
			key, _ := json.Marshal(k.Value)
			out.Write(key)
			out.WriteByte(':')
			if err := writeJSON(out, n.Content[i+1]); err != nil {
				return err
			}
		}
		out.WriteByte('}')
	case yaml.SequenceNode:
		out.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := writeJSON(out, c); err != nil {
				return err
			}
		}
		out.WriteByte(']')
	case yaml.ScalarNode:
		var v any = n.Value
		switch n.ShortTag() {
		case "!!str", "!!timestamp": // a date stays the text it was written as
		case "!!int", "!!float", "!!bool", "!!null":
			if err := n.Decode(&v); err != nil {
				return fmt.Errorf("line %d: %w", n.Line, err)
			}
		default:
			return fmt.Errorf("line %d: unsupported YAML tag %s", n.Line, n.ShortTag())
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		out.Write(b)
	default:
		return fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	return nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
