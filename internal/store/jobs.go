package store

import "database/sql"

// JobsDB is the pool background jobs (internal/jobs, on River) keep their
// queue in: on SQLite the store's one writer connection, so River's writes
// queue behind the store's instead of meeting them as "database is locked";
// on PostgreSQL the store's pool. A job inserted in a store transaction is
// then committed, or not, with that transaction's rows.
func (s *Store) JobsDB() *sql.DB { return s.w }

// DSN returns the database the store was opened on, for a component that
// needs a connection of its own kind (River's pgx pool on PostgreSQL).
func (s *Store) DSN() string { return s.dsn }
