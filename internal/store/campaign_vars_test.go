package store

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestDecodeVars: an audience row's variables read back are what was
// stored, whether the fast split or the JSON decoder reads them.
func TestDecodeVars(t *testing.T) {
	for _, vars := range [][]string{{}, {""}, {"", ""}, {"Cliente 1", "CUPOM1"}, {`a","b`}, {`"`}, {"\n=1", "a;b"},
		{"ç", "\u2028", "<&>"}, {`\`, `x\"y`}, {"[", "]", `"]`}, {",", `","`}} {
		assertVars(t, vars)
	}
	if got, err := decodeVars("null"); err != nil || got != nil {
		t.Errorf("null: %q %v", got, err)
	}
	if _, err := decodeVars(`["a"`); err == nil {
		t.Error("a cut array decoded")
	}
}

func assertVars(t *testing.T, vars []string) {
	t.Helper()
	b, _ := json.Marshal(vars)
	got, err := decodeVars(string(b))
	if err != nil || !slices.Equal(got, vars) {
		t.Fatalf("%s: %q %v, want %q", b, got, err, vars)
	}
}

// FuzzDecodeVars: any variables, as json.Marshal stores them, read back
// the same.
func FuzzDecodeVars(f *testing.F) {
	f.Add("Cliente 1", "CUPOM1")
	f.Add(`","`, "")
	f.Add(`"]`, `\`)
	f.Fuzz(func(t *testing.T, a, b string) {
		var want []string
		// json.Marshal makes invalid UTF-8 valid: compare with what it keeps.
		b1, _ := json.Marshal([]string{a, b})
		if err := json.Unmarshal(b1, &want); err != nil {
			t.Fatal(err)
		}
		assertVars(t, want)
		assertVars(t, want[:1])
	})
}
