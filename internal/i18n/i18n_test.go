package i18n

import (
	"sort"
	"testing"

	"github.com/ticksapp/ticks/internal/domain"
)

func TestEveryKeyInEveryLanguage(t *testing.T) {
	for _, lang := range Languages {
		for _, other := range Languages {
			keys := Keys(lang)
			sort.Strings(keys)
			for _, k := range keys {
				if _, ok := messages[other][k]; !ok {
					t.Errorf("%q has a %s label but no %s one", k, lang, other)
				}
			}
		}
	}
}

func TestEveryStatusHasALabel(t *testing.T) {
	for _, s := range domain.Statuses {
		if !Has("status." + string(s)) {
			t.Errorf("status %s has no label", s)
		}
	}
	if T("pt-BR", "status.opted_out") != "Não entregue por opt-out" {
		t.Error("the seed's label for opted_out changed")
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"": "pt-BR", "en-US,en;q=0.9": "en", "pt-BR": "pt-BR", "fr": "pt-BR", "EN": "en"} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
