package extracts

import (
	"context"
	"sort"
	"time"

	"github.com/ticksapp/ticks/internal/export"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/reports"
	"github.com/ticksapp/ticks/internal/store"
)

// Table is one report of the manager's list: its columns and how its rows
// are read for a period. Each capability adds its tables in a file of its
// own here (table_<capability>.go) with register, so that the manager, its
// API and its pages know them all without another change.
type Table struct {
	Type  string // the API's name: notifications_summary, …
	Group string // the seed's group, an i18n key: "extract.group.active", …
	Order int    // where it is listed, smaller first
	// Columns are the columns' i18n keys and kinds, in the file's order.
	Columns []Column
	// Count, when set, estimates the rows of a query quickly, for the
	// progress bar; it may be off.
	Count func(ctx context.Context, q *Query) (int64, error)
	// Rows reads the rows of a query, in the file's order, with cells in
	// q's language and time zone, and hands each to emit (which may reuse
	// nothing of it after returning) until emit returns an error.
	Rows func(ctx context.Context, q *Query, emit func([]string) error) error
}

// Column is one column of a table.
type Column struct {
	Label string      // i18n key
	Kind  export.Kind // KindDateTime cells are written with Query.TimeLayout
}

// Query is what a table reads: the subaccounts, the period and how cells
// are written.
type Query struct {
	Store    *store.Store
	Scope    []int64   // the subaccounts; nil for all of them
	From, To time.Time // [From, To), instants
	Lang     string
	Location *time.Location
	// TimeLayout is how date-time cells are written: the reader's layout
	// for CSV, export.DateTimeLayout for XLSX (which turns them into dates).
	TimeLayout string
	// Names are the users and API tokens of the scope, for the bot and
	// agent columns.
	Names *reports.Names
}

// Time writes an instant as a date-time cell, "" for nil.
func (q *Query) Time(t *time.Time) string {
	if t == nil {
		return ""
	}
	return reports.FormatTime(*t, q.Location, q.TimeLayout)
}

var tables = map[string]*Table{}

// register adds a table to the manager; a type given twice panics.
func register(t *Table) {
	if _, dup := tables[t.Type]; dup {
		panic("extracts: table " + t.Type + " registered twice")
	}
	tables[t.Type] = t
}

// Tables lists the tables the manager extracts, in their order.
func Tables() []*Table {
	out := make([]*Table, 0, len(tables))
	for _, t := range tables {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// Lookup returns the table of a type.
func Lookup(typ string) (*Table, bool) {
	t, ok := tables[typ]
	return t, ok
}

// TypeNames lists the types, in their order.
func TypeNames() []string {
	var out []string
	for _, t := range Tables() {
		out = append(out, t.Type)
	}
	return out
}

// Title is a table's name in lang.
func Title(lang, typ string) string { return i18n.T(lang, "extract.type."+typ) }

// exportColumns are a table's columns for the export writers.
func (t *Table) exportColumns(lang string) []export.Column {
	out := make([]export.Column, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = export.Column{Header: i18n.T(lang, c.Label), Kind: c.Kind}
	}
	return out
}
