package extracts

// SetProgressEvery sets how many rows are written between progress records, for the length of a test.
func SetProgressEvery(n int64) (restore func()) {
	old := progressEvery
	progressEvery = n
	return func() { progressEvery = old }
}

// RegisterForTest adds a table for the length of a test.
func RegisterForTest(t *Table) (remove func()) {
	register(t)
	return func() { delete(tables, t.Type) }
}
