package campaigns

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ticksapp/ticks/internal/domain"
)

// TestSpillRoundTrip: the rows read back from the spill are the rows
// written, in order, whatever their fields hold (empty, separators, quotes,
// newlines, accents, long).
func TestSpillRoundTrip(t *testing.T) {
	rows := []domain.CampaignRow{
		{Seq: 1, Line: 2, Phone: "+5511987654321", Name: "Maria", CorrelationID: "CLI-1", Vars: []string{"Maria", "OUTONO20"}},
		{Seq: 2, Line: 4, Phone: "+5521987654321", Name: "", CorrelationID: "", Vars: []string{"a;b,c", "\"aspas\"\nlinha"}},
		{Seq: 3, Line: 1_000_001, Phone: "+14155550100", Name: "João Ção", CorrelationID: strings.Repeat("x", 70_000), Vars: []string{"=1+1", " "}},
	}
	sp, err := newSpill(2)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	for _, r := range rows {
		if err := sp.put(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.put(domain.CampaignRow{Seq: 4, Vars: []string{"one"}}); err == nil {
		t.Fatal("a row with the wrong number of variables was written")
	}
	if err := sp.rewind(); err != nil {
		t.Fatal(err)
	}
	var got []domain.CampaignRow
	for {
		r, ok, err := sp.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, r)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("read back %+v\nwant %+v", got, rows)
	}
}
