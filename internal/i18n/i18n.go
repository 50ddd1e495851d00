// Package i18n holds every label of the UI and the exports in Brazilian
// Portuguese (the default, and the seeds' words) and English: the shell's
// and the detailed report's in messages.go, each later capability's in a
// file of its own that adds them with labels.
package i18n

import (
	"fmt"
	"strings"
)

// Languages ticks speaks, the default first.
var Languages = []string{"pt-BR", "en"}

// Default is the language of users who chose none.
const Default = "pt-BR"

// labels adds a capability's labels, keyed by language, to the catalogue;
// each capability keeps its own in a file of its own (campaigns.go, …),
// called from an init. A key given twice is a mistake and panics.
func labels(byLang map[string]map[string]string) {
	for lang, m := range byLang {
		if messages[lang] == nil {
			panic("i18n: unknown language " + lang)
		}
		for k, v := range m {
			if _, dup := messages[lang][k]; dup {
				panic("i18n: label " + k + " given twice")
			}
			messages[lang][k] = v
		}
	}
}

// Normalize returns a supported language for lang (from a cookie, a form or
// an Accept-Language header), or Default.
func Normalize(lang string) string {
	l := strings.ToLower(strings.TrimSpace(lang))
	switch {
	case strings.HasPrefix(l, "en"):
		return "en"
	case strings.HasPrefix(l, "pt"):
		return "pt-BR"
	}
	return Default
}

// T returns the label key in lang, formatted with args when given. A
// missing key shows as itself, so a gap is visible, never blank.
func T(lang, key string, args ...any) string {
	m := messages[Normalize(lang)]
	s, ok := m[key]
	if !ok {
		s, ok = messages[Default][key]
	}
	if !ok {
		s = key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Has reports whether key has a label in every language.
func Has(key string) bool {
	for _, l := range Languages {
		if _, ok := messages[l][key]; !ok {
			return false
		}
	}
	return true
}

// Keys lists the keys of a language, for tests.
func Keys(lang string) []string {
	var out []string
	for k := range messages[lang] {
		out = append(out, k)
	}
	return out
}
