package api

import (
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ticksapp/ticks/internal/extracts"
)

// TestExtractionTypesDocumented checks that the reference lists every table the report manager
// extracts, and nothing else.
func TestExtractionTypesDocumented(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, v := range doc.Components.Schemas["ExtractionType"].Value.Enum {
		documented = append(documented, v.(string))
	}
	if names := extracts.TypeNames(); !slices.Equal(documented, names) {
		t.Errorf("ExtractionType's enum is %v; the manager extracts %v", documented, names)
	}
}
