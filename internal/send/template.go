package send

import (
	"encoding/json"
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
