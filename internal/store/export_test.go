package store

import "database/sql"

// SetExportWindowRows sets how many rows an export window holds, for a
// test, and returns the function that restores it.
func SetExportWindowRows(n int64) (restore func()) {
	old := exportWindowRows
	exportWindowRows = n
	return func() { exportWindowRows = old }
}

// RangeReads is how many report pages have read hour ranges the rollup
// chose (report.go's hourRanges).
func RangeReads() int64 { return rangeReads.Load() }

// PageReads is how many statements of report pages have read rows through
// index.
func PageReads(index string) int64 {
	pageReads.mu.Lock()
	defer pageReads.mu.Unlock()
	return pageReads.n[index]
}

// SetTableOrderFactor sets how many rows a stretch of the table may hold for
// each row of a window for the window to be read in the table's order
// (tableOrderFactor), for a test, and returns the function that restores it.
func SetTableOrderFactor(f float64) (restore func()) {
	old := tableOrderFactor
	tableOrderFactor = f
	return func() { tableOrderFactor = old }
}

// TableOrderReads is how many export windows have been read in the
// table's order.
func TableOrderReads() int64 { return tableOrderReads.Load() }

// DB is the store's writer, for a test that writes behind the store's back.
func (s *Store) DB() *sql.DB { return s.w }
