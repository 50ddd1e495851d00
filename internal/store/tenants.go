package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

func notFound(err error, what string, id any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Errorf(domain.ENOTFOUND, "%s %v not found", what, id)
	}
	return err
}

// CreateSubaccount creates a subaccount with a unique name.
func (s *Store) CreateSubaccount(ctx context.Context, sa *domain.Subaccount) error {
	if sa.TimeZone == "" {
		sa.TimeZone = "America/Sao_Paulo"
	}
	sa.CreatedAt = s.Now().UTC().Truncate(time.Millisecond)
	err := s.w.QueryRowContext(ctx, `INSERT INTO subaccounts (name, time_zone, created_at) VALUES ($1, $2, $3) RETURNING id`,
		sa.Name, sa.TimeZone, ms(sa.CreatedAt)).Scan(&sa.ID)
	if isUniqueViolation(err) {
		return domain.Errorf(domain.ECONFLICT, "a subaccount named %q already exists", sa.Name)
	}
	if err != nil {
		return fmt.Errorf("create subaccount: %w", err)
	}
	return nil
}

// Subaccounts lists subaccounts; ids limits the list unless nil.
func (s *Store) Subaccounts(ctx context.Context, ids []int64) ([]domain.Subaccount, error) {
	w := &whereBuilder{}
	if ids != nil {
		if len(ids) == 0 {
			return []domain.Subaccount{}, nil
		}
		w.in(`id`, len(ids), func(i int) any { return ids[i] })
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, time_zone, created_at FROM subaccounts`+w.sql()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list subaccounts: %w", err)
	}
	defer rows.Close()
	out := []domain.Subaccount{}
	for rows.Next() {
		var sa domain.Subaccount
		var at int64
		if err := rows.Scan(&sa.ID, &sa.Name, &sa.TimeZone, &at); err != nil {
			return nil, err
		}
		sa.CreatedAt = fromMS(at)
		out = append(out, sa)
	}
	return out, rows.Err()
}

// Subaccount returns one subaccount.
func (s *Store) Subaccount(ctx context.Context, id int64) (*domain.Subaccount, error) {
	var sa domain.Subaccount
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, time_zone, created_at FROM subaccounts WHERE id = $1`, id).
		Scan(&sa.ID, &sa.Name, &sa.TimeZone, &at)
	if err != nil {
		return nil, notFound(err, "subaccount", id)
	}
	sa.CreatedAt = fromMS(at)
	return &sa, nil
}

// CreateUser creates a user and grants it its subaccounts.
func (s *Store) CreateUser(ctx context.Context, u *domain.User) error {
	u.CreatedAt = s.Now().UTC().Truncate(time.Millisecond)
	if u.Lang == "" {
		u.Lang = "pt-BR"
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (email, name, role, lang, password_hash, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			strings.ToLower(u.Email), u.Name, string(u.Role), u.Lang, u.PasswordHash, ms(u.CreatedAt)).Scan(&u.ID)
		if isUniqueViolation(err) {
			return domain.Errorf(domain.ECONFLICT, "a user with email %q already exists", u.Email)
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return s.grantTx(ctx, tx, u.ID, u.Subaccounts)
	})
}

func (s *Store) grantTx(ctx context.Context, tx *sql.Tx, userID int64, subaccounts []int64) error {
	for _, sa := range subaccounts {
		_, err := tx.ExecContext(ctx, `INSERT INTO user_subaccounts (user_id, subaccount_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, userID, sa)
		if err != nil {
			if isForeignKeyViolation(err) {
				return domain.Errorf(domain.EINVALID, "subaccount %d does not exist", sa)
			}
			return fmt.Errorf("grant subaccount %d: %w", sa, err)
		}
	}
	return nil
}

const userColumns = `id, email, name, role, lang, password_hash, disabled, created_at`

func scanUser(row interface{ Scan(...any) error }) (*domain.User, error) {
	var u domain.User
	var role string
	var at int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &role, &u.Lang, &u.PasswordHash, &u.Disabled, &at); err != nil {
		return nil, err
	}
	u.Role, u.CreatedAt = domain.Role(role), fromMS(at)
	return &u, nil
}

func (s *Store) loadGrants(ctx context.Context, u *domain.User) error {
	rows, err := s.r.QueryContext(ctx, `SELECT subaccount_id FROM user_subaccounts WHERE user_id = $1 ORDER BY subaccount_id`, u.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	u.Subaccounts = []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		u.Subaccounts = append(u.Subaccounts, id)
	}
	return rows.Err()
}

// User returns one user with its grants.
func (s *Store) User(ctx context.Context, id int64) (*domain.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "user", id)
	}
	return u, s.loadGrants(ctx, u)
}

// UserByEmail returns the user with that email (case-insensitive).
func (s *Store) UserByEmail(ctx context.Context, email string) (*domain.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, strings.ToLower(email)))
	if err != nil {
		return nil, notFound(err, "user", email)
	}
	return u, s.loadGrants(ctx, u)
}

// Users lists the users who have access to any of the given subaccounts, or
// every user when subaccounts is nil.
func (s *Store) Users(ctx context.Context, subaccounts []int64) ([]domain.User, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return []domain.User{}, nil
		}
		w.add(`id IN (SELECT user_id FROM user_subaccounts WHERE subaccount_id IN (` +
			w.list(len(subaccounts), func(i int) any { return subaccounts[i] }) + `))`)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users`+w.sql()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	var out []domain.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, *u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.loadGrants(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = []domain.User{}
	}
	return out, nil
}

// CreateAPIToken stores a token's hash. The caller made the token and shows
// it once.
func (s *Store) CreateAPIToken(ctx context.Context, t *domain.APIToken) error {
	t.CreatedAt = s.Now().UTC().Truncate(time.Millisecond)
	err := s.w.QueryRowContext(ctx, `INSERT INTO api_tokens (subaccount_id, name, role, prefix, hash, created_at, user_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		t.SubaccountID, t.Name, string(t.Role), t.Prefix, t.Hash, ms(t.CreatedAt), nullIntPtr(t.UserID)).Scan(&t.ID)
	if err != nil {
		if isForeignKeyViolation(err) {
			return domain.Errorf(domain.EINVALID, "subaccount %d does not exist", t.SubaccountID)
		}
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

const tokenColumns = `id, subaccount_id, name, role, prefix, hash, created_at, last_used_at, revoked_at, user_id`

func scanToken(row interface{ Scan(...any) error }) (*domain.APIToken, error) {
	var t domain.APIToken
	var role string
	var at int64
	var used, revoked, user sql.NullInt64
	if err := row.Scan(&t.ID, &t.SubaccountID, &t.Name, &role, &t.Prefix, &t.Hash, &at, &used, &revoked, &user); err != nil {
		return nil, err
	}
	if user.Valid {
		t.UserID = &user.Int64
	}
	t.Role, t.CreatedAt, t.LastUsedAt, t.RevokedAt = domain.Role(role), fromMS(at), ptrMS(used), ptrMS(revoked)
	return &t, nil
}

// APITokenByHash returns the live (not revoked) token with that hash.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (*domain.APIToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens
		WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if err != nil {
		return nil, notFound(err, "token", "")
	}
	return t, nil
}

// APITokens lists the tokens of the given subaccounts (all when nil).
func (s *Store) APITokens(ctx context.Context, subaccounts []int64) ([]domain.APIToken, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return []domain.APIToken{}, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens`+w.sql()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []domain.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// APIToken returns one token.
func (s *Store) APIToken(ctx context.Context, id int64) (*domain.APIToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "token", id)
	}
	return t, nil
}

// RevokeAPIToken revokes a token; it stops working at once.
func (s *Store) RevokeAPIToken(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, ms(s.Now()), id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "token %d not found or already revoked", id)
	}
	return nil
}

// TouchAPIToken records that a token was used.
func (s *Store) TouchAPIToken(ctx context.Context, id int64) error {
	_, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, ms(s.Now()), id)
	return err
}

const channelColumns = `id, subaccount_id, name, waba_id, phone_number_id, display_phone, access_token_enc, tier,
	throughput_mps, quality, created_at, fallback_template, fallback_language, warmup_until, warmup_daily_limit`

func scanChannel(row interface{ Scan(...any) error }) (*domain.Channel, error) {
	var c domain.Channel
	var at, warmup int64
	if err := row.Scan(&c.ID, &c.SubaccountID, &c.Name, &c.WABAID, &c.PhoneNumberID, &c.DisplayPhone,
		&c.AccessTokenEnc, &c.Tier, &c.ThroughputMPS, &c.Quality, &at, &c.FallbackTemplate, &c.FallbackLanguage,
		&warmup, &c.WarmupDailyLimit); err != nil {
		return nil, err
	}
	c.CreatedAt = fromMS(at)
	if warmup > 0 {
		t := fromMS(warmup)
		c.WarmupUntil = &t
	}
	return &c, nil
}

// CreateChannel creates a channel. A phone number whose traffic arrived
// before any channel owned it sits in the unassigned subaccount; creating
// its channel claims it, moving that history to the new owner.
func (s *Store) CreateChannel(ctx context.Context, c *domain.Channel) error {
	if c.Tier == "" {
		c.Tier = "TIER_250"
	}
	if c.ThroughputMPS == 0 {
		c.ThroughputMPS = 80
	}
	c.CreatedAt = s.Now().UTC().Truncate(time.Millisecond)
	return s.tx(ctx, func(tx *sql.Tx) error {
		var existing, owner int64
		err := tx.QueryRowContext(ctx, `SELECT id, subaccount_id FROM channels WHERE phone_number_id = $1`, c.PhoneNumberID).
			Scan(&existing, &owner)
		switch {
		case err == nil && owner != domain.UnassignedSubaccountID:
			return domain.Errorf(domain.ECONFLICT, "phone number id %s already belongs to a channel", c.PhoneNumberID)
		case err == nil:
			c.ID = existing
			if _, err := tx.ExecContext(ctx, `UPDATE channels SET subaccount_id = $1, name = $2, waba_id = $3,
				display_phone = $4, access_token_enc = $5, tier = $6, throughput_mps = $7, created_at = $8 WHERE id = $9`,
				c.SubaccountID, c.Name, c.WABAID, c.DisplayPhone, c.AccessTokenEnc, c.Tier, c.ThroughputMPS,
				ms(c.CreatedAt), c.ID); err != nil {
				return fmt.Errorf("claim channel: %w", err)
			}
			return s.claimHistoryTx(ctx, tx, c.ID, c.SubaccountID)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("find channel: %w", err)
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO channels
			(subaccount_id, name, waba_id, phone_number_id, display_phone, access_token_enc, tier, throughput_mps, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			c.SubaccountID, c.Name, c.WABAID, c.PhoneNumberID, c.DisplayPhone, c.AccessTokenEnc, c.Tier,
			c.ThroughputMPS, ms(c.CreatedAt)).Scan(&c.ID)
		if err != nil {
			if isForeignKeyViolation(err) {
				return domain.Errorf(domain.EINVALID, "subaccount %d does not exist", c.SubaccountID)
			}
			return fmt.Errorf("create channel: %w", err)
		}
		return nil
	})
}

// claimHistoryTx moves the messages of a channel, and the contacts they
// reference, from the unassigned subaccount to subaccountID. A contact that
// already exists in the target (same phone or user id) absorbs the moved one.
func (s *Store) claimHistoryTx(ctx context.Context, tx *sql.Tx, channelID, subaccountID int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT c.id, COALESCE(c.phone_key, ''), COALESCE(c.user_id, '')
		FROM contacts c JOIN messages m ON m.contact_id = c.id
		WHERE m.channel_id = $1 AND c.subaccount_id = $2`, channelID, domain.UnassignedSubaccountID)
	if err != nil {
		return fmt.Errorf("claim contacts: %w", err)
	}
	type moved struct {
		id          int64
		key, userID string
	}
	var list []moved
	for rows.Next() {
		var m moved
		if err := rows.Scan(&m.id, &m.key, &m.userID); err != nil {
			rows.Close()
			return err
		}
		list = append(list, m)
	}
	rows.Close()
	for _, m := range list {
		var target int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE subaccount_id = $1 AND (phone_key = $2 OR user_id = $3)
			ORDER BY id LIMIT 1`, subaccountID, nullStr(m.key), nullStr(m.userID)).Scan(&target)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `UPDATE contacts SET subaccount_id = $1 WHERE id = $2`, subaccountID, m.id)
		case err == nil:
			_, err = tx.ExecContext(ctx, `UPDATE messages SET contact_id = $1 WHERE contact_id = $2 AND channel_id = $3`,
				target, m.id, channelID)
		}
		if err != nil {
			return fmt.Errorf("claim contact %d: %w", m.id, err)
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE messages SET subaccount_id = $1 WHERE channel_id = $2`, subaccountID, channelID)
	if err != nil {
		return fmt.Errorf("claim messages: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE webhook_events SET subaccount_id = $1 WHERE channel_id = $2`, subaccountID, channelID)
	return err
}

// Channels lists the channels of the given subaccounts (all when nil).
func (s *Store) Channels(ctx context.Context, subaccounts []int64) ([]domain.Channel, error) {
	w := &whereBuilder{}
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return []domain.Channel{}, nil
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+channelColumns+` FROM channels`+w.sql()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	defer rows.Close()
	out := []domain.Channel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// Channel returns one channel.
func (s *Store) Channel(ctx context.Context, id int64) (*domain.Channel, error) {
	c, err := scanChannel(s.r.QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "channel", id)
	}
	return c, nil
}

// UpdateChannelSettings stores a channel's sending settings: fallback
// template, warm-up program, tier and throughput.
func (s *Store) UpdateChannelSettings(ctx context.Context, c *domain.Channel) error {
	var warmup int64
	if c.WarmupUntil != nil {
		warmup = ms(*c.WarmupUntil)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE channels SET fallback_template = $1, fallback_language = $2,
		warmup_until = $3, warmup_daily_limit = $4, tier = $5, throughput_mps = $6 WHERE id = $7`,
		c.FallbackTemplate, c.FallbackLanguage, warmup, c.WarmupDailyLimit, c.Tier, c.ThroughputMPS, c.ID)
	if err != nil {
		return fmt.Errorf("update channel %d: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "channel %d not found", c.ID)
	}
	return nil
}
