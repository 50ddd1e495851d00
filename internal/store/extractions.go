package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

const extractionColumns = `id, user_id, token_id, subaccount_id, scope, type, format, lang, from_day, to_day, status,
	rows_written, rows_total, bytes, file, error, attempts, created_at, started_at, finished_at, expires_at, seen_at`

func scanExtraction(row interface{ Scan(...any) error }) (*domain.Extraction, error) {
	var e domain.Extraction
	var sa, started, finished, expires, seen sql.NullInt64
	var scope, status string
	var created int64
	err := row.Scan(&e.ID, &e.UserID, &e.TokenID, &sa, &scope, &e.Type, &e.Format, &e.Lang, &e.From, &e.To, &status,
		&e.RowsWritten, &e.RowsTotal, &e.Bytes, &e.File, &e.Error, &e.Attempts, &created, &started, &finished, &expires, &seen)
	if err != nil {
		return nil, err
	}
	if sa.Valid {
		e.SubaccountID = &sa.Int64
	}
	e.Scope = decodeScope(scope)
	e.Status = domain.ExtractionStatus(status)
	e.CreatedAt = fromMS(created)
	e.StartedAt, e.FinishedAt, e.ExpiresAt, e.SeenAt = ptrMS(started), ptrMS(finished), ptrMS(expires), ptrMS(seen)
	return &e, nil
}

// encodeScope writes subaccount ids as "1,4"; nil (all) as "".
func encodeScope(ids []int64) string {
	if ids == nil {
		return ""
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	// An empty but non-nil scope sees nothing: "-" keeps it apart from all.
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ",")
}

func decodeScope(s string) []int64 {
	if s == "" {
		return nil
	}
	out := []int64{}
	for _, p := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// CreateExtraction stores a queued extraction and sets its id and creation
// time.
func (s *Store) CreateExtraction(ctx context.Context, e *domain.Extraction) error {
	e.CreatedAt = s.Now().UTC().Truncate(time.Millisecond)
	e.Status = domain.ExtractionQueued
	err := s.w.QueryRowContext(ctx, `INSERT INTO extractions (user_id, token_id, subaccount_id, scope, type, format, lang,
		from_day, to_day, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		e.UserID, e.TokenID, e.SubaccountID, encodeScope(e.Scope), e.Type, e.Format, e.Lang, e.From, e.To,
		string(e.Status), ms(e.CreatedAt)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("create extraction: %w", err)
	}
	return nil
}

// Extraction returns one extraction, whoever asked for it; the service
// checks who may see it.
func (s *Store) Extraction(ctx context.Context, id int64) (*domain.Extraction, error) {
	e, err := scanExtraction(s.r.QueryRowContext(ctx, `SELECT `+extractionColumns+` FROM extractions WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, domain.Errorf(domain.ENOTFOUND, "extraction %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("extraction %d: %w", id, err)
	}
	return e, nil
}

// Extractions lists the extractions a user or API token asked for, newest
// first, at most limit.
func (s *Store) Extractions(ctx context.Context, userID, tokenID int64, limit int) ([]*domain.Extraction, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+extractionColumns+` FROM extractions
		WHERE user_id = $1 AND token_id = $2 ORDER BY id DESC LIMIT $3`, userID, tokenID, limit)
	if err != nil {
		return nil, fmt.Errorf("list extractions: %w", err)
	}
	defer rows.Close()
	out := []*domain.Extraction{}
	for rows.Next() {
		e, err := scanExtraction(rows)
		if err != nil {
			return nil, fmt.Errorf("list extractions: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// PendingExtractions counts the extractions a user or API token has queued
// or running.
func (s *Store) PendingExtractions(ctx context.Context, userID, tokenID int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM extractions WHERE user_id = $1 AND token_id = $2
		AND status IN ('queued', 'running')`, userID, tokenID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count extractions: %w", err)
	}
	return n, nil
}

// ExtractionLimits bound the extractions running at once, across every
// server sharing the database: per set of subaccounts read (a tenant's
// large extractions wait for each other rather than take every worker),
// and in all. Zero is no limit. Runs that stopped beating do not count.
type ExtractionLimits struct {
	PerScope int
	Total    int
}

// ErrExtractionBusy is StartExtraction's answer when the limits hold an
// extraction back: it stays queued, to be tried again later.
var ErrExtractionBusy = errors.New("extraction waits for others to finish")

// StartExtraction gives an extraction to a run, from its first row, with
// the number of rows expected: a queued one, or a running one whose run
// has not beaten since staleBefore (its process died). It returns false
// when the extraction is not to be run by this run (canceled, deleted,
// done, or alive in another run), and ErrExtractionBusy when lim holds it
// back (a queued one is then marked as waiting now, see
// StaleExtractions).
func (s *Store) StartExtraction(ctx context.Context, id, total int64, run string, staleBefore time.Time, lim ExtractionLimits) (bool, error) {
	now := ms(s.Now())
	started, busy := false, false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if lim.PerScope > 0 || lim.Total > 0 {
			if s.dialect == Postgres {
				// Two servers starting extractions at once count one after the other.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(1800018)`); err != nil {
					return err
				}
			}
			var scope string
			err := tx.QueryRowContext(ctx, `SELECT scope FROM extractions WHERE id = $1`, id).Scan(&scope)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			var all, same int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN scope = $1 THEN 1 ELSE 0 END), 0)
				FROM extractions WHERE status = 'running' AND id <> $2 AND COALESCE(beat_at, 0) >= $3`,
				scope, id, ms(staleBefore)).Scan(&all, &same); err != nil {
				return err
			}
			if (lim.PerScope > 0 && same >= lim.PerScope) || (lim.Total > 0 && all >= lim.Total) {
				busy = true
				_, err := tx.ExecContext(ctx, `UPDATE extractions SET beat_at = $1 WHERE id = $2 AND status = 'queued'`, now, id)
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE extractions SET status = 'running', run_id = $1, beat_at = $2, rows_written = 0,
			rows_total = $3, bytes = 0, error = '', attempts = attempts + 1, started_at = $2
			WHERE id = $4 AND (status = 'queued' OR (status = 'running' AND COALESCE(beat_at, 0) < $5))`,
			run, now, total, id, ms(staleBefore))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		started = n == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("start extraction %d: %w", id, err)
	}
	if busy {
		return false, ErrExtractionBusy
	}
	return started, nil
}

// ExtractionProgress records the rows a run has written so far, and that
// it is alive; it returns false when the extraction is no longer this
// run's (canceled, deleted, or taken over).
func (s *Store) ExtractionProgress(ctx context.Context, id int64, run string, rows int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE extractions SET rows_written = $1, beat_at = $2
		WHERE id = $3 AND status = 'running' AND run_id = $4`, rows, ms(s.Now()), id, run)
	if err != nil {
		return false, fmt.Errorf("extraction %d progress: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// FinishExtraction marks a run's extraction ready with its file; it
// returns false when the extraction is no longer this run's, and then the
// file is the caller's to delete.
func (s *Store) FinishExtraction(ctx context.Context, id int64, run, file string, rows, bytes int64, expires time.Time) (bool, error) {
	now := s.Now()
	res, err := s.w.ExecContext(ctx, `UPDATE extractions SET status = 'ready', file = $1, rows_written = $2, rows_total = $2,
		bytes = $3, finished_at = $4, expires_at = $5 WHERE id = $6 AND status = 'running' AND run_id = $7`,
		file, rows, bytes, ms(now), ms(expires), id, run)
	if err != nil {
		return false, fmt.Errorf("finish extraction %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseExtraction queues again an extraction whose run failed, so that
// a retry may start it at once.
func (s *Store) ReleaseExtraction(ctx context.Context, id int64, run string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE extractions SET status = 'queued', run_id = '', rows_written = 0
		WHERE id = $1 AND status = 'running' AND run_id = $2`, id, run)
	if err != nil {
		return fmt.Errorf("release extraction %d: %w", id, err)
	}
	return nil
}

// StaleExtractions lists the extractions to hand to a run again: running
// ones whose run has not beaten since before, and queued ones asked for
// before then (their job may have been lost between the two commits) that
// no job found waiting on the limits since.
func (s *Store) StaleExtractions(ctx context.Context, before time.Time) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM extractions WHERE (status = 'running' AND COALESCE(beat_at, 0) < $1)
		OR (status = 'queued' AND COALESCE(beat_at, created_at) < $1) ORDER BY id`, ms(before))
	if err != nil {
		return nil, fmt.Errorf("stale extractions: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// FailExtraction marks a queued or running extraction failed with a
// message for its requester.
func (s *Store) FailExtraction(ctx context.Context, id int64, msg string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE extractions SET status = 'failed', error = $1, finished_at = $2
		WHERE id = $3 AND status IN ('queued', 'running')`, msg, ms(s.Now()), id)
	if err != nil {
		return fmt.Errorf("fail extraction %d: %w", id, err)
	}
	return nil
}

// CancelExtraction marks a queued or running extraction canceled; it
// returns false when it was neither.
func (s *Store) CancelExtraction(ctx context.Context, id int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE extractions SET status = 'canceled', finished_at = $1
		WHERE id = $2 AND status IN ('queued', 'running')`, ms(s.Now()), id)
	if err != nil {
		return false, fmt.Errorf("cancel extraction %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeleteExtraction deletes an extraction's row.
func (s *Store) DeleteExtraction(ctx context.Context, id int64) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM extractions WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete extraction %d: %w", id, err)
	}
	return nil
}

// ExpireExtractions marks the ready extractions whose time is up at now
// expired and returns the files they held, for the caller to delete.
func (s *Store) ExpireExtractions(ctx context.Context, now time.Time) ([]string, error) {
	var files []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT file FROM extractions WHERE status = 'ready' AND expires_at <= $1`, ms(now))
		if err != nil {
			return err
		}
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				rows.Close()
				return err
			}
			files = append(files, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE extractions SET status = 'expired', file = '' WHERE status = 'ready' AND expires_at <= $1`, ms(now))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("expire extractions: %w", err)
	}
	return files, nil
}

// ExtractionFiles returns the names of every file an extraction holds, so
// that files no extraction holds (left by a crash) can be removed.
func (s *Store) ExtractionFiles(ctx context.Context) (map[string]bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT file FROM extractions WHERE file <> ''`)
	if err != nil {
		return nil, fmt.Errorf("extraction files: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, err
		}
		out[f] = true
	}
	return out, rows.Err()
}

// UnseenExtractions lists the extractions a user or API token asked for
// that are done (ready or failed) and that they have not seen since,
// newest first, at most limit: the app's notices.
func (s *Store) UnseenExtractions(ctx context.Context, userID, tokenID int64, limit int) ([]*domain.Extraction, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+extractionColumns+` FROM extractions
		WHERE user_id = $1 AND token_id = $2 AND seen_at IS NULL AND finished_at IS NOT NULL AND status IN ('ready', 'failed')
		ORDER BY finished_at DESC, id DESC LIMIT $3`, userID, tokenID, limit)
	if err != nil {
		return nil, fmt.Errorf("unseen extractions: %w", err)
	}
	defer rows.Close()
	out := []*domain.Extraction{}
	for rows.Next() {
		e, err := scanExtraction(rows)
		if err != nil {
			return nil, fmt.Errorf("unseen extractions: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// SeeExtraction records that an extraction's requester has seen that it is
// done.
func (s *Store) SeeExtraction(ctx context.Context, id int64) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE extractions SET seen_at = $1 WHERE id = $2 AND seen_at IS NULL`, ms(s.Now()), id); err != nil {
		return fmt.Errorf("see extraction %d: %w", id, err)
	}
	return nil
}
