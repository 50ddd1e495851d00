package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// Session is a logged-in web session.
type Session struct {
	UserID    int64
	CSRF      string
	ExpiresAt time.Time
}

// CreateSession stores a session under the hash of its cookie value.
func (s *Store) CreateSession(ctx context.Context, hash string, sess Session) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		hash, sess.UserID, sess.CSRF, ms(s.Now()), ms(sess.ExpiresAt))
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns the live session with that hash.
func (s *Store) SessionByHash(ctx context.Context, hash string) (*Session, error) {
	var sess Session
	var exp int64
	err := s.r.QueryRowContext(ctx, `SELECT user_id, csrf, expires_at FROM sessions WHERE hash = $1 AND expires_at > $2`,
		hash, ms(s.Now())).Scan(&sess.UserID, &sess.CSRF, &exp)
	if err != nil {
		return nil, notFound(err, "session", "")
	}
	sess.ExpiresAt = fromMS(exp)
	return &sess, nil
}

// DeleteSession ends a session; expired ones are removed with it.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE hash = $1 OR expires_at <= $2`, hash, ms(s.Now()))
	return err
}

// SetUserLang remembers a user's language.
func (s *Store) SetUserLang(ctx context.Context, userID int64, lang string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE users SET lang = $1 WHERE id = $2`, lang, userID)
	return err
}

// SavedSearch is a named report search, private to its user or shared with
// a subaccount.
type SavedSearch struct {
	ID           int64     `json:"id"`
	UserID       int64     `json:"user_id"`
	SubaccountID *int64    `json:"subaccount_id,omitempty"`
	Name         string    `json:"name"`
	Query        string    `json:"query"`
	CreatedAt    time.Time `json:"created_at"`
}

// SaveSearch stores a search; a user's names are unique.
func (s *Store) SaveSearch(ctx context.Context, ss *SavedSearch) error {
	ss.CreatedAt = s.Now().UTC().Truncate(time.Millisecond)
	err := s.w.QueryRowContext(ctx, `INSERT INTO saved_searches (user_id, subaccount_id, name, query, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, ss.UserID, ss.SubaccountID, ss.Name, ss.Query, ms(ss.CreatedAt)).Scan(&ss.ID)
	if isUniqueViolation(err) {
		return domain.Errorf(domain.ECONFLICT, "you already have a search named %q", ss.Name)
	}
	if err != nil {
		return fmt.Errorf("save search: %w", err)
	}
	return nil
}

// SavedSearches lists a user's searches and those shared with the given
// subaccounts (all shared ones when subaccounts is nil).
func (s *Store) SavedSearches(ctx context.Context, userID int64, subaccounts []int64) ([]SavedSearch, error) {
	var a sqlArgs
	query := `SELECT id, user_id, subaccount_id, name, query, created_at FROM saved_searches WHERE user_id = ` + a.arg(userID)
	switch {
	case subaccounts == nil:
		query += ` OR subaccount_id IS NOT NULL`
	case len(subaccounts) > 0:
		query += ` OR subaccount_id IN (` + a.list(len(subaccounts), func(i int) any { return subaccounts[i] }) + `)`
	}
	rows, err := s.r.QueryContext(ctx, query+` ORDER BY name`, a.args...)
	if err != nil {
		return nil, fmt.Errorf("list saved searches: %w", err)
	}
	defer rows.Close()
	out := []SavedSearch{}
	for rows.Next() {
		var ss SavedSearch
		var sa sql.NullInt64
		var at int64
		if err := rows.Scan(&ss.ID, &ss.UserID, &sa, &ss.Name, &ss.Query, &at); err != nil {
			return nil, err
		}
		if sa.Valid {
			ss.SubaccountID = &sa.Int64
		}
		ss.CreatedAt = fromMS(at)
		out = append(out, ss)
	}
	return out, rows.Err()
}

// SavedSearch returns one search the user may use (its own or shared with
// one of subaccounts, nil meaning any).
func (s *Store) SavedSearch(ctx context.Context, id, userID int64, subaccounts []int64) (*SavedSearch, error) {
	list, err := s.SavedSearches(ctx, userID, subaccounts)
	if err != nil {
		return nil, err
	}
	for _, ss := range list {
		if ss.ID == id {
			return &ss, nil
		}
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "saved search %d not found", id)
}

// RenameSearch renames one of the user's own searches.
func (s *Store) RenameSearch(ctx context.Context, id, userID int64, name string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE saved_searches SET name = $1 WHERE id = $2 AND user_id = $3`, name, id, userID)
	if isUniqueViolation(err) {
		return domain.Errorf(domain.ECONFLICT, "you already have a search named %q", name)
	}
	if err != nil {
		return fmt.Errorf("rename search: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "saved search %d is not yours", id)
	}
	return nil
}

// DeleteSearch deletes one of the user's own searches.
func (s *Store) DeleteSearch(ctx context.Context, id, userID int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM saved_searches WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("delete search: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "saved search %d is not yours", id)
	}
	return nil
}
