package send

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
)

// TemplateRef names a template to send and its parameters.
type TemplateRef struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Params   []string `json:"params,omitempty"` // body parameters {{1}}, {{2}}, …
	// Components, when given, are sent as they are (Cloud API format) and
	// Params is ignored: for headers with media, buttons with payloads, …
	Components json.RawMessage `json:"components,omitempty"`
}

type templateComponent struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	Format  string `json:"format"`
	Buttons []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"buttons"`
}

var placeholder = regexp.MustCompile(`\{\{\s*(\d+)\s*\}\}`)

// templateBody returns a template's body text and how many parameters it
// takes (the highest {{n}}).
func templateBody(t *domain.Template) (string, int) {
	var comps []templateComponent
	_ = json.Unmarshal(t.Components, &comps)
	for _, c := range comps {
		if strings.EqualFold(c.Type, "BODY") {
			n := 0
			for _, m := range placeholder.FindAllStringSubmatch(c.Text, -1) {
				if v, _ := strconv.Atoi(m[1]); v > n {
					n = v
				}
			}
			return c.Text, n
		}
	}
	return "", 0
}

// QuickReplies returns the texts of a template's quick-reply buttons.
func QuickReplies(t *domain.Template) []string {
	var comps []templateComponent
	_ = json.Unmarshal(t.Components, &comps)
	var out []string
	for _, c := range comps {
		for _, b := range c.Buttons {
			if strings.EqualFold(b.Type, "QUICK_REPLY") {
				out = append(out, b.Text)
			}
		}
	}
	return out
}

// render fills a body text's placeholders with params.
func render(body string, params []string) string {
	return placeholder.ReplaceAllStringFunc(body, func(m string) string {
		n, _ := strconv.Atoi(placeholder.FindStringSubmatch(m)[1])
		if n >= 1 && n <= len(params) {
			return params[n-1]
		}
		return m
	})
}

// templateContent is the Cloud API template object for ref.
func templateContent(ref *TemplateRef) json.RawMessage {
	type param struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type component struct {
		Type       string  `json:"type"`
		Parameters []param `json:"parameters"`
	}
	obj := struct {
		Name       string          `json:"name"`
		Language   map[string]any  `json:"language"`
		Components json.RawMessage `json:"components,omitempty"`
	}{Name: ref.Name, Language: map[string]any{"code": ref.Language}}
	switch {
	case len(ref.Components) > 0:
		obj.Components = ref.Components
	case len(ref.Params) > 0:
		c := component{Type: "body"}
		for _, p := range ref.Params {
			c.Parameters = append(c.Parameters, param{Type: "text", Text: p})
		}
		obj.Components, _ = json.Marshal([]component{c})
	}
	b, _ := json.Marshal(obj)
	return b
}
