package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/ingest/apply"
)

// MessageByIdempotencyKey returns the message a subaccount created with
// key, and the fingerprint of the request that created it.
func (s *Store) MessageByIdempotencyKey(ctx context.Context, subaccountID int64, key string) (*domain.Message, string, error) {
	id, fingerprint := int64(0), ""
	err := s.r.QueryRowContext(ctx, `SELECT id, idempotency_fingerprint FROM messages WHERE subaccount_id = $1 AND idempotency_key = $2`,
		subaccountID, key).Scan(&id, &fingerprint)
	if err != nil {
		return nil, "", notFound(err, "message with idempotency key", key)
	}
	m, err := s.Message(ctx, id, nil)
	return m, fingerprint, err
}

// InsertOutbound stores an outbound message before it is sent (state
// sending) or after the platform refused it (state failed with its status),
// and derives its session and conversation. On return m carries its ID and
// the derived fields. A repeated idempotency key returns ECONFLICT.
func (s *Store) InsertOutbound(ctx context.Context, m *domain.Message, idempotencyKey string) error {
	return s.InsertOutboundOnce(ctx, m, idempotencyKey, "")
}

// InsertOutboundOnce is InsertOutbound keeping the fingerprint of the
// request the idempotency key came with.
func (s *Store) InsertOutboundOnce(ctx context.Context, m *domain.Message, idempotencyKey, fingerprint string) error {
	m.ID = s.NewID()
	origin := m.Origin
	if origin == "" {
		origin = "api"
	}
	m.CreatedAt = s.Now().UTC().Truncate(time.Millisecond)
	if m.At.IsZero() {
		m.At = m.CreatedAt
	}
	m.At = m.At.UTC().Truncate(time.Millisecond) // as stored, so derivation compares equal instants
	var billable any
	if m.Billable != nil {
		billable = *m.Billable
	}
	return s.grouped(ctx, m.ContactID, lockOn{contact: m.ContactID}, func(tx *sql.Tx) error {
		var others []apply.Assignment
		if m.State != domain.StateFailed { // refused before sending: no conversation
			var err error
			if others, err = s.deriveNew(ctx, tx, m); err != nil {
				return fmt.Errorf("derive conversations: %w", err)
			}
		}
		_, err := s.stmtExec(ctx, tx, `INSERT INTO messages
			(id, subaccount_id, channel_id, direction, wamid, origin, contact_id, phone, wa_id, user_id, sender_user_id,
			 bot_id, campaign_id, content_type, text, template_name, template_language, template_category,
			 correlation_id, state, state_rank, status, error_code, error_title, error_detail, with_session,
			 pricing_model, pricing_category, pricing_type, billable, at, content, idempotency_key, created_at, error_args,
			 idempotency_fingerprint, conversation_id, conversation_type, conversation_category, conversation_expires_at)
			VALUES ($1, $2, $3, 'mt', NULL, $4, $5, $6, $7, '', $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33,
			 $34, $35, $36, $37)`,
			m.ID, m.SubaccountID, m.ChannelID, origin, m.ContactID, m.Phone, m.WAID, m.SenderUserID, m.BotID, m.CampaignID,
			m.ContentType, m.Text, m.TemplateName, m.TemplateLang, m.TemplateCategory, m.CorrelationID,
			string(m.State), m.State.Rank(), string(m.Status), m.ErrorCode, m.ErrorTitle, m.ErrorDetail, m.WithSession,
			m.PricingModel, m.PricingCategory, m.PricingType, billable, ms(m.At), nullStr(string(m.Content)),
			nullStr(idempotencyKey), ms(m.CreatedAt), encodeArgs(m.ErrorArgs), fingerprint,
			nullStr(m.ConversationID), string(m.ConversationType), m.ConversationCategory, nullMS(m.ConversationExpires))
		if isUniqueViolation(err) {
			return domain.Errorf(domain.ECONFLICT, "idempotency key %q was already used", idempotencyKey)
		}
		if err != nil {
			return fmt.Errorf("insert outbound: %w", err)
		}
		return s.writeTimelines(ctx, tx, others)
	})
}

// deriveNew derives the session and conversation of m, an outbound
// message about to be inserted, by placing it in its contact's timeline on
// its channel, and sets them on m; it returns the changes the new message
// makes to later messages of that timeline (none unless m is back-dated).
// Deriving before the insert writes the row once, with its conversation:
// an UPDATE after it would fire the rollups' update triggers for nothing.
// It is the derivation rederiveTx would make after the insert.
func (s *Store) deriveNew(ctx context.Context, tx *sql.Tx, m *domain.Message) ([]apply.Assignment, error) {
	k := apply.TimelineKey{ChannelID: m.ChannelID, ContactID: m.ContactID}
	// One statement: the channel's and the contact's outside identities
	// (which name the conversations), and the timeline's messages if any.
	rows, err := s.stmtQuery(ctx, tx, `SELECT ch.phone_number_id, COALESCE(c.phone_key, c.user_id, ''),
			COALESCE(m.id, 0), COALESCE(m.direction, ''), COALESCE(m.at, 0), COALESCE(m.template_category, ''),
			m.referral IS NOT NULL, COALESCE(m.with_session, FALSE), COALESCE(m.conversation_id, ''),
			COALESCE(m.conversation_type, ''), COALESCE(m.conversation_category, ''),
			COALESCE(m.conversation_expires_at, 0), COALESCE(m.wamid, '')
		FROM channels ch JOIN contacts c ON c.id = $1
		LEFT JOIN messages m ON m.contact_id = c.id AND m.channel_id = ch.id AND m.at >= $2
			AND (m.wamid IS NOT NULL OR m.state <> 'failed') AND NOT (m.direction = 'mo' AND m.content_type = 'system')
		WHERE ch.id = $3
		ORDER BY m.at, m.direction, COALESCE(m.wamid, ''), m.id`,
		m.ContactID, ms(m.At.Add(-domain.FreeEntryPointWindow)), m.ChannelID)
	if err != nil {
		return nil, err
	}
	mine := apply.TimelineRow{Key: k, Message: domain.TimelineMessage{Direction: domain.DirectionMT, At: m.At,
		TemplateCategory: m.TemplateCategory}, Stored: apply.Assignment{ID: m.ID}}
	var all []apply.TimelineRow
	pos, found := -1, false
	for rows.Next() {
		r := apply.TimelineRow{Key: k}
		var dir, wamid string
		var at int64
		u := &r.Stored
		if err := rows.Scan(&r.PhoneNumberID, &r.ContactKey, &u.ID, &dir, &at, &r.Message.TemplateCategory,
			&r.Message.Referral, &u.WithSession, &u.ConversationID, &u.ConversationType, &u.ConversationCategory,
			&u.ConversationExpires, &wamid); err != nil {
			rows.Close()
			return nil, err
		}
		found = true
		mine.PhoneNumberID, mine.ContactKey = r.PhoneNumberID, r.ContactKey
		if u.ID == 0 {
			continue // no message yet: the LEFT JOIN's empty row
		}
		r.Message.Direction, r.Message.At = domain.Direction(dir), fromMS(at)
		// The timeline's order (at, direction, wamid, id); m has no wamid yet.
		if pos < 0 && (at > ms(m.At) || (at == ms(m.At) && (dir > string(domain.DirectionMT) ||
			(dir == string(domain.DirectionMT) && (wamid > "" || u.ID > m.ID))))) {
			pos = len(all)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, nil // no such channel or contact: the insert says so
	}
	if pos < 0 {
		pos = len(all)
	}
	all = slices.Insert(all, pos, mine)
	var others []apply.Assignment
	m.WithSession, m.ConversationID, m.ConversationType, m.ConversationCategory, m.ConversationExpires = false, "", "", "", nil
	for _, a := range apply.DeriveTimelines(all, map[apply.TimelineKey]time.Time{k: m.At}) {
		if a.ID != m.ID {
			others = append(others, a)
			continue
		}
		m.WithSession, m.ConversationID = a.WithSession, a.ConversationID
		m.ConversationType, m.ConversationCategory = domain.ConversationType(a.ConversationType), a.ConversationCategory
		if a.ConversationExpires != 0 {
			t := fromMS(a.ConversationExpires)
			m.ConversationExpires = &t
		}
	}
	return others, nil
}

// rederiveTx re-derives one contact's timeline on one channel from at and
// copies the result for m (when not nil) onto it.
func (s *Store) rederiveTx(ctx context.Context, tx *sql.Tx, channelID, contactID int64, at time.Time, m *domain.Message) error {
	k := apply.TimelineKey{ChannelID: channelID, ContactID: contactID}
	u, err := s.deriveTimelines(ctx, tx, []apply.TimelineKey{k}, map[apply.TimelineKey]time.Time{k: at})
	if err != nil {
		return fmt.Errorf("derive conversations: %w", err)
	}
	for _, a := range u {
		if m != nil && a.ID == m.ID {
			m.WithSession, m.ConversationID = a.WithSession, a.ConversationID
			m.ConversationType, m.ConversationCategory = domain.ConversationType(a.ConversationType), a.ConversationCategory
			m.ConversationExpires = nil
			if a.ConversationExpires != 0 {
				t := fromMS(a.ConversationExpires)
				m.ConversationExpires = &t
			}
		}
	}
	return s.writeTimelines(ctx, tx, u)
}

// MarkAccepted records the wamid Meta gave a sent message. If a status
// webhook for that wamid was applied first (it created a row of its own),
// that row's progress is moved onto the message and the row removed.
func (s *Store) MarkAccepted(ctx context.Context, id int64, wamid, waID string) error {
	// On PostgreSQL the webhook's row can be committed by the processor
	// between our look and our update; the update then fails on the unique
	// wamid, and the next try finds the row and merges it.
	var err error
	for try := 0; try < 3; try++ {
		if err = s.markAccepted(ctx, id, wamid, waID); !isUniqueViolation(err) {
			return err
		}
	}
	return err
}

func (s *Store) markAccepted(ctx context.Context, id int64, wamid, waID string) error {
	return s.grouped(ctx, id, lockOn{message: id}, func(tx *sql.Tx) error {
		// Look first rather than catch the unique violation: on PostgreSQL
		// a failed statement aborts the whole transaction.
		var stub int64
		err := s.stmtQueryRow(ctx, tx, `SELECT id FROM messages WHERE wamid = $1 AND origin = 'webhook'`, wamid).Scan(&stub)
		switch {
		case err == nil:
			if _, err := s.stmtExec(ctx, tx, `UPDATE messages SET (state, state_rank, status, error_code, error_title,
					error_detail, pricing_model, pricing_category, pricing_type, billable, pricing_rank,
					meta_conversation_id, meta_conversation_type, meta_conversation_expires_at, sent_at, delivered_at,
					read_at, failed_at) = (SELECT state, state_rank, status, error_code, error_title, error_detail,
					pricing_model, pricing_category, pricing_type, billable, pricing_rank, meta_conversation_id,
					meta_conversation_type, meta_conversation_expires_at, sent_at, delivered_at, read_at, failed_at
					FROM messages WHERE id = $1) WHERE id = $2`, stub, id); err != nil {
				return fmt.Errorf("merge early status: %w", err)
			}
			if _, err := s.stmtExec(ctx, tx, `DELETE FROM messages WHERE id = $1`, stub); err != nil {
				return fmt.Errorf("merge early status: %w", err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = s.stmtExec(ctx, tx, `UPDATE messages SET wamid = $1, wa_id = CASE WHEN $2 <> '' THEN $3 ELSE wa_id END
			WHERE id = $4`, wamid, waID, waID, id)
		if err != nil {
			return fmt.Errorf("mark accepted: %w", err)
		}
		return nil
	})
}

// MarkFailed records that the provider refused a message; a message that
// never went out opens no conversation, so its timeline is derived again.
func (s *Store) MarkFailed(ctx context.Context, m *domain.Message, status domain.Status, e domain.MetaError) error {
	return s.grouped(ctx, m.ContactID, lockOn{contact: m.ContactID}, func(tx *sql.Tx) error {
		_, err := s.stmtExec(ctx, tx, `UPDATE messages SET state = 'failed', state_rank = $1, status = $2,
			error_code = $3, error_title = $4, error_detail = $5, failed_at = $6, with_session = $7,
			conversation_id = NULL, conversation_type = '', conversation_category = '', conversation_expires_at = NULL
			WHERE id = $8`, domain.StateFailed.Rank(), string(status), e.Code, e.Title, e.Details, ms(s.Now()), false, m.ID)
		if err != nil {
			return fmt.Errorf("mark failed: %w", err)
		}
		return s.rederiveTx(ctx, tx, m.ChannelID, m.ContactID, m.At, nil)
	})
}

// BusinessInitiatedSince returns, per contact, the last time the channel
// sent it a message outside a session since from: the input of the tier
// limit (unique contacts reached outside a window in a moving 24 h).
func (s *Store) BusinessInitiatedSince(ctx context.Context, channelID int64, from time.Time) (map[int64]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT contact_id, MAX(at) FROM messages
		WHERE channel_id = $1 AND direction = 'mt' AND at >= $2 AND with_session = $3 AND wamid IS NOT NULL
		GROUP BY contact_id`, channelID, ms(from), false)
	if err != nil {
		return nil, fmt.Errorf("tier usage: %w", err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		out[id] = fromMS(at)
	}
	return out, rows.Err()
}

// WarmupSentSince counts the warm-up program's sends on a channel since from.
func (s *Store) WarmupSentSince(ctx context.Context, channelID int64, from time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE channel_id = $1 AND direction = 'mt'
		AND at >= $2 AND origin = 'warmup'`, channelID, ms(from)).Scan(&n)
	return n, err
}

// ExpireUndelivered moves outbound messages still sending or sent (never
// delivered) that are older than before to the expired state, whose report
// status is ttl_expired, and returns how many it moved.
func (s *Store) ExpireUndelivered(ctx context.Context, before time.Time) (int64, error) {
	subs, err := s.Subaccounts(ctx, nil)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, sa := range subs {
		var n int64
		err := s.tx(ctx, func(tx *sql.Tx) error {
			res, err := s.stmtExec(ctx, tx, `UPDATE messages SET state = 'expired', state_rank = $1, status = 'ttl_expired'
				WHERE subaccount_id = $2 AND direction = 'mt' AND status IN ('sending', 'sent') AND at < $3
				AND wamid IS NOT NULL`, domain.StateExpired.Rank(), sa.ID, ms(before))
			if err != nil {
				return fmt.Errorf("expire messages: %w", err)
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// encodeArgs stores a refusal reason's parameters as a JSON array ("" for
// none).
func encodeArgs(args []string) string {
	if len(args) == 0 {
		return ""
	}
	b, _ := json.Marshal(args)
	return string(b)
}

// decodeArgs reads what encodeArgs stored.
func decodeArgs(s string) []string {
	if s == "" {
		return nil
	}
	var args []string
	_ = json.Unmarshal([]byte(s), &args)
	return args
}
