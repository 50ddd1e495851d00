package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

const templateColumns = `id, subaccount_id, waba_id, meta_id, name, language, category, status, quality, components, updated_at`

func scanTemplate(row interface{ Scan(...any) error }) (*domain.Template, error) {
	var t domain.Template
	var components string
	var at int64
	if err := row.Scan(&t.ID, &t.SubaccountID, &t.WABAID, &t.MetaID, &t.Name, &t.Language, &t.Category, &t.Status,
		&t.Quality, &components, &at); err != nil {
		return nil, err
	}
	t.Components, t.UpdatedAt = []byte(components), fromMS(at)
	return &t, nil
}

// Templates lists the templates of the given subaccounts (all when nil).
func (s *Store) Templates(ctx context.Context, subaccounts []int64) ([]domain.Template, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return []domain.Template{}, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+templateColumns+` FROM templates`+w.sql()+` ORDER BY name, language`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	defer rows.Close()
	out := []domain.Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// templateFresh is how long Template answers from what it read before, as
// long as this process wrote no template since (templateGen): a campaign's
// sends each read their template (5 % of a dispatch's CPU). A change made
// by this process — a sync, a status webhook applied — is seen by the next
// read; one made by another process sharing the database (a second server
// on PostgreSQL) within templateFresh, as a campaign's pause is.
const templateFresh = time.Second

// cachedTemplate is a template as read, with the templateGen before the
// read and when it was read.
type cachedTemplate struct {
	t   domain.Template
	gen int64
	at  time.Time
}

// templatesChanged tells Template that this process's writes to templates
// are committed: what it remembers is read again.
func (s *Store) templatesChanged() { s.templateGen.Add(1) }

// Template returns a WABA's template by name and language.
func (s *Store) Template(ctx context.Context, wabaID, name, language string) (*domain.Template, error) {
	key := wabaID + "\x00" + name + "\x00" + language
	gen := s.templateGen.Load() // before the read: a write committed after it makes the entry old
	if v, ok := s.templateCache.Load(key); ok {
		if c := v.(*cachedTemplate); c.gen == gen && time.Since(c.at) < templateFresh {
			t := c.t
			return &t, nil
		}
	}
	at := time.Now()
	st, err := s.readStmt(ctx, `SELECT `+templateColumns+` FROM templates WHERE waba_id = $1 AND name = $2 AND language = $3`)
	if err != nil {
		return nil, err
	}
	t, err := scanTemplate(st.QueryRowContext(ctx, wabaID, name, language))
	if err != nil {
		return nil, notFound(err, "template", name+" ("+language+")")
	}
	s.templateCache.Store(key, &cachedTemplate{t: *t, gen: gen, at: at})
	return t, nil
}

// UpsertTemplates stores templates as Meta lists them (a sync), keyed by
// WABA, name and language, in subaccountID.
func (s *Store) UpsertTemplates(ctx context.Context, subaccountID int64, list []domain.Template) error {
	now := ms(s.Now())
	defer s.templatesChanged() // after the commit (or the rollback)
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, t := range list {
			components := string(t.Components)
			if components == "" {
				components = "[]"
			}
			_, err := s.stmtExec(ctx, tx, `INSERT INTO templates
				(subaccount_id, waba_id, meta_id, name, language, category, status, quality, components, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (waba_id, name, language) DO UPDATE SET subaccount_id = excluded.subaccount_id,
				  meta_id = excluded.meta_id, category = excluded.category, status = excluded.status,
				  quality = excluded.quality, components = excluded.components, updated_at = excluded.updated_at`,
				subaccountID, t.WABAID, t.MetaID, t.Name, t.Language, strings.ToLower(t.Category),
				strings.ToUpper(t.Status), t.Quality, components, now)
			if err != nil {
				return fmt.Errorf("upsert template %s: %w", t.Name, err)
			}
		}
		return nil
	})
}
