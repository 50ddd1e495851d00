package domain

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// templateComponent is the part of a Cloud API template component ticks
// reads.
type templateComponent struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	Format  string `json:"format"`
	Buttons []struct {
		Type string `json:"type"`
		Text string `json:"text"`
		URL  string `json:"url"`
	} `json:"buttons"`
}

func (t *Template) components() []templateComponent {
	var comps []templateComponent
	_ = json.Unmarshal(t.Components, &comps)
	return comps
}

var placeholder = regexp.MustCompile(`\{\{\s*(\d+)\s*\}\}`)

// Body returns a template's body text and how many parameters it takes
// (the highest {{n}}).
func (t *Template) Body() (text string, params int) {
	for _, c := range t.components() {
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
func (t *Template) QuickReplies() []string {
	var out []string
	for _, c := range t.components() {
		for _, b := range c.Buttons {
			if strings.EqualFold(b.Type, "QUICK_REPLY") {
				out = append(out, b.Text)
			}
		}
	}
	return out
}

// URLButton is a template's button that opens a web address.
type URLButton struct {
	Index int    // among the template's buttons, from 0: a send's button component names it
	Text  string // the button's label
	URL   string // the address, "{{1}}" in it when a send gives a suffix
}

// Dynamic reports whether the button's address takes a suffix from each
// send ("{{1}}" at its end).
func (b URLButton) Dynamic() bool { return strings.HasSuffix(b.URL, "{{1}}") }

// URLButtons returns a template's URL buttons.
func (t *Template) URLButtons() []URLButton {
	var out []URLButton
	for _, c := range t.components() {
		for i, b := range c.Buttons {
			if strings.EqualFold(b.Type, "URL") {
				out = append(out, URLButton{Index: i, Text: b.Text, URL: b.URL})
			}
		}
	}
	return out
}

// RenderBody fills a body text's placeholders {{n}} with params; one with
// no parameter stays as it is.
func RenderBody(body string, params []string) string {
	return placeholder.ReplaceAllStringFunc(body, func(m string) string {
		n, _ := strconv.Atoi(placeholder.FindStringSubmatch(m)[1])
		if n >= 1 && n <= len(params) {
			return params[n-1]
		}
		return m
	})
}
