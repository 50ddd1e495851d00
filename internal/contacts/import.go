package contacts

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
)

// RowError is one bad row of an import.
type RowError struct {
	Row   int    `json:"row"` // the line in the file; the header is line 1
	Phone string `json:"phone"`
	Error string `json:"error"`
}

// ImportResult is what an import did.
type ImportResult struct {
	Imported int        `json:"imported"`
	Rejected int        `json:"rejected"`
	Errors   []RowError `json:"errors"`
}

// Import reads a contacts CSV and upserts its good rows into a subaccount
// (p's only one when subaccountID is 0); bad rows are reported, not
// stored.
func (s *Service) Import(ctx context.Context, p *access.Principal, subaccountID int64, csvFile io.Reader) (*ImportResult, error) {
	if err := p.Need(domain.RoleAdmin, domain.RoleSupervisor); err != nil {
		return nil, err
	}
	sa, err := p.WriteTarget(subaccountID)
	if err != nil {
		return nil, err
	}
	good, bad, err := ParseCSV(csvFile)
	if err != nil {
		return nil, err
	}
	n, err := s.Store.ImportContacts(ctx, sa, good)
	if err != nil {
		return nil, err
	}
	return &ImportResult{Imported: n, Rejected: len(bad), Errors: bad}, nil
}

// ParseCSV reads a contacts CSV: a header row naming the columns (phone is
// required; name, correlation_id; every other column is a custom field),
// then one contact a row. Bad rows are returned with their line.
func ParseCSV(rd io.Reader) ([]Input, []RowError, error) {
	cr := csv.NewReader(rd)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, nil, domain.Errorf(domain.EINVALID, "the CSV has no header row (phone, name, correlation_id, …)")
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))] = i
	}
	if _, ok := col["phone"]; !ok {
		return nil, nil, domain.Errorf(domain.EINVALID, "the CSV header has no phone column")
	}
	var good []Input
	var bad []RowError
	seen := map[string]int{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad = append(bad, RowError{Row: line, Error: "unreadable CSV row: " + pe.Err.Error()})
				continue
			}
			return nil, nil, domain.Errorf(domain.EINVALID, "reading the CSV: %v", err)
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		in := Input{Phone: get("phone"), Name: get("name"), CorrelationID: get("correlation_id")}
		if len(rec) != len(header) {
			bad = append(bad, RowError{Row: line, Phone: in.Phone, Error: fmt.Sprintf("%d columns, the header has %d", len(rec), len(header))})
			continue
		}
		if err := Normalize(&in); err != nil {
			bad = append(bad, RowError{Row: line, Phone: get("phone"), Error: domain.ErrorMessage(err)})
			continue
		}
		if prev, dup := seen[in.Phone]; dup {
			bad = append(bad, RowError{Row: line, Phone: in.Phone, Error: fmt.Sprintf("same phone as row %d", prev)})
			continue
		}
		seen[in.Phone] = line
		for name, i := range col {
			if name != "phone" && name != "name" && name != "correlation_id" && i < len(rec) && rec[i] != "" {
				if in.Fields == nil {
					in.Fields = map[string]string{}
				}
				in.Fields[name] = rec[i]
			}
		}
		good = append(good, in)
	}
	return good, bad, nil
}
