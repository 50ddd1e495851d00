package cloudapi

import (
	"os"
	"testing"
	"unicode/utf8"
)

func FuzzParseError(f *testing.F) {
	for _, s := range []string{
		``,
		`null`,
		`[]`,
		`{}`,
		`{"error":null}`,
		`{"error":"x"}`,
		`{"error":{}}`,
		`{"error":{"code":"131000"}}`,
		`{"error":{"code":1e400}}`,
		`{"error":{"code":-1,"message":"(#-1)"}}`,
		`{"error":{"code":131026,"error_data":[1,2]}}`,
		`{"errors":[{"code":131047,"title":"Re-engagement message"}]}`,
		`<html><body>502</body></html>`,
	} {
		f.Add(500, []byte(s))
	}
	for _, path := range syncErrorFixtures(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(400, b)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		se := ParseError(status, body)
		if se == nil {
			t.Fatal("nil error")
		}
		if se.HTTPStatus != status {
			t.Errorf("HTTPStatus %d, want %d", se.HTTPStatus, status)
		}
		if se.Meta.Title == "" {
			t.Error("empty title")
		}
		if se.Error() == "" {
			t.Error("empty message")
		}
		if len(body) > 0 && utf8.Valid(body) && !utf8.ValidString(se.Meta.Title+se.Meta.Message+se.Meta.Details) {
			t.Error("invalid UTF-8 out of valid UTF-8 in")
		}
	})
}
