package store

// GroupReruns is how many group transactions ran again after a deadlock.
func (s *Store) GroupReruns() int64 { return s.groupRuns.Load() }
