package store

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
