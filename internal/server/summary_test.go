package server_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestReportSummaryExports asks the consolidated view through the API, as
// JSON and as the CSV and XLSX of its tables, and downloads the same from
// the page: the counts agree with the messages seeded.
func TestReportSummaryExports(t *testing.T) {
	s := newServer(t)
	email, pw := seedReport(t, s) // 8 MT: 4 read, 2 delivered, 1 sent, 1 undelivered (131026)
	var sum struct {
		Total    int64
		ByStatus map[string]int64        `json:"by_status"`
		ByDay    []struct{ Total int64 } `json:"by_day"`
	}
	s.must(200, "GET", "/api/v1/reports/messages/summary", adminToken, nil, &sum)
	if sum.Total != 8 || sum.ByStatus["read"] != 4 || sum.ByStatus["delivered"] != 2 || sum.ByStatus["undelivered"] != 1 {
		t.Errorf("summary: %+v", sum)
	}
	r := s.do("GET", "/api/v1/reports/messages/summary?format=csv", adminToken, nil, "Accept-Language", "pt-BR")
	if r.code != 200 {
		t.Fatalf("csv: %d %s", r.code, r.body)
	}
	recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	find := func(recs [][]string, table, item string) []string {
		for _, rec := range recs {
			if len(rec) == 7 && rec[0] == table && rec[1] == item {
				return rec
			}
		}
		return nil
	}
	if got := find(recs, "Por status", "Lida"); got == nil || got[2] != "4" || got[6] != "50,0%" {
		t.Errorf("csv read row: %v in %v", got, recs)
	}
	if got := find(recs, "Por status", "Não entregue"); got == nil || got[2] != "1" {
		t.Errorf("csv undelivered row: %v", got)
	}
	days := 0
	for _, rec := range recs {
		if rec[0] == "Por dia" {
			days++
		}
	}
	if days != len(sum.ByDay) || days == 0 {
		t.Errorf("csv has %d day rows, the summary %d", days, len(sum.ByDay))
	}
	if r := s.do("GET", "/api/v1/reports/messages/summary?format=pdf", adminToken, nil); r.code != 400 {
		t.Errorf("pdf summary: %d, want 400", r.code)
	}
	if r := s.do("GET", "/api/v1/reports/messages/summary?to=banana", adminToken, nil); r.code != 400 || !strings.Contains(string(r.body), "to:") {
		t.Errorf("bad filter: %d %s", r.code, r.body)
	}

	// The page's XLSX download, read back.
	c := newWebClient(t, s)
	c.login(email, pw)
	resp, err := c.http.Get(s.url + "/reports/messages/consolidated/export?" + url.Values{"format": {"xlsx"}, "status": {"read"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page xlsx: %d", resp.StatusCode)
	}
	x, err := excelize.OpenReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows(x.GetSheetList()[0])
	if got := find(rows, "Por status", "Lida"); got == nil || got[2] != "4" || got[6] != "100,0%" {
		t.Errorf("xlsx read row %v in %v", got, rows)
	}
}
