package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
)

// ContactInput is a contact to create or update, by phone.
type ContactInput struct {
	Phone         string            `json:"phone"` // E.164
	Name          string            `json:"name,omitempty"`
	CorrelationID string            `json:"correlation_id,omitempty"`
	Fields        map[string]string `json:"fields,omitempty"`
}

// UpsertContact creates the contact with in.Phone in a subaccount, or
// updates the name, correlation ID and fields it is given (empty values
// leave what is stored). The phone is matched on its canonical form.
func (s *Store) UpsertContact(ctx context.Context, subaccountID int64, in ContactInput) (*domain.Contact, error) {
	var c *domain.Contact
	// Any writer will do (nothing is derived): the phone spreads them.
	err := s.grouped(ctx, spreadKey(in.Phone), lockOn{}, func(tx *sql.Tx) error {
		// The upsert returns the row as stored: no read after the commit.
		return s.upsertContactRow(ctx, tx, subaccountID, in, contactColumns, func(row *sql.Row) (err error) {
			c, err = scanContact(row)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// spreadKey is a group writer's key (grouped) that spreads work by a string.
func spreadKey(v string) int64 {
	h := fnv.New32a()
	h.Write([]byte(v))
	return int64(h.Sum32())
}

func (s *Store) upsertContactTx(ctx context.Context, tx *sql.Tx, subaccountID int64, in ContactInput) (int64, error) {
	var id int64
	err := s.upsertContactRow(ctx, tx, subaccountID, in, "id", func(row *sql.Row) error { return row.Scan(&id) })
	return id, err
}

// upsertContactRow upserts a contact and scans the returning columns of
// its row.
func (s *Store) upsertContactRow(ctx context.Context, tx *sql.Tx, subaccountID int64, in ContactInput, returning string,
	scan func(*sql.Row) error) error {
	key := phone.Canonical(in.Phone)
	fields := ""
	if len(in.Fields) > 0 {
		b, _ := json.Marshal(in.Fields)
		fields = string(b)
	}
	err := scan(s.stmtQueryRow(ctx, tx, `INSERT INTO contacts (subaccount_id, phone, phone_key, wa_id, name, correlation_id, fields, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (subaccount_id, phone_key) DO UPDATE SET
		  name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE contacts.name END,
		  correlation_id = CASE WHEN excluded.correlation_id <> '' THEN excluded.correlation_id ELSE contacts.correlation_id END,
		  fields = CASE WHEN excluded.fields <> '{}' THEN excluded.fields ELSE contacts.fields END,
		  phone = CASE WHEN contacts.phone = '' THEN excluded.phone ELSE contacts.phone END
		RETURNING `+returning,
		subaccountID, key, key, key[1:], in.Name, in.CorrelationID, orJSON(fields), ms(s.Now())))
	if isForeignKeyViolation(err) {
		return domain.Errorf(domain.EINVALID, "subaccount %d does not exist", subaccountID)
	}
	if err != nil {
		return fmt.Errorf("upsert contact: %w", err)
	}
	return nil
}

func orJSON(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

// ImportContacts upserts many contacts in one transaction.
func (s *Store) ImportContacts(ctx context.Context, subaccountID int64, list []ContactInput) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, in := range list {
			if _, err := s.upsertContactTx(ctx, tx, subaccountID, in); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// ContactByPhone returns a subaccount's contact with that phone, matched on
// the canonical form.
func (s *Store) ContactByPhone(ctx context.Context, subaccountID int64, e164 string) (*domain.Contact, error) {
	st, err := s.readStmt(ctx, `SELECT `+contactColumns+` FROM contacts WHERE subaccount_id = $1 AND phone_key = $2`)
	if err != nil {
		return nil, err
	}
	c, err := scanContact(st.QueryRowContext(ctx, subaccountID, phone.Canonical(e164)))
	if err != nil {
		return nil, notFound(err, "contact", e164)
	}
	return c, nil
}

// SetOptOut opts a contact out of (or back in to) marketing messages now.
func (s *Store) SetOptOut(ctx context.Context, id int64, subaccounts []int64, out bool) (*domain.Contact, error) {
	if _, err := s.Contact(ctx, id, subaccounts); err != nil {
		return nil, err
	}
	_, err := s.w.ExecContext(ctx, `UPDATE contacts SET opted_out = $1, preference_at = $2 WHERE id = $3`, out, ms(s.Now()), id)
	if err != nil {
		return nil, fmt.Errorf("set opt-out: %w", err)
	}
	return s.Contact(ctx, id, nil)
}
