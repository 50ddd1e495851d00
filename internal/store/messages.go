package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/phone"
)

const messageColumns = `m.id, m.subaccount_id, m.channel_id, m.direction, COALESCE(m.wamid, ''), m.contact_id, m.phone,
	m.wa_id, m.user_id, m.sender_user_id, m.bot_id, m.campaign_id, m.content_type, m.text, m.template_name,
	m.template_language, COALESCE(NULLIF(m.correlation_id, ''), c.correlation_id, ''), m.state, m.status, m.error_code, m.error_title,
	m.error_detail, m.with_session, COALESCE(m.conversation_id, ''), m.conversation_type, m.conversation_category,
	m.conversation_expires_at, m.meta_conversation_id, m.meta_conversation_type, m.pricing_model,
	m.pricing_category, m.pricing_type, m.billable, m.at, m.delivered_at, m.read_at, m.failed_at,
	m.context_wamid, m.button_payload, m.referral, m.created_at, m.template_category, m.content, m.origin, m.error_args`

const messageFrom = ` FROM messages m LEFT JOIN contacts c ON c.id = m.contact_id`

func scanMessage(row interface{ Scan(...any) error }) (*domain.Message, error) {
	var m domain.Message
	var dir, state, status, convType string
	var sender, bot, campaign, convExp, delivered, read, failed sql.NullInt64
	var billable sql.NullBool
	var referral, content sql.NullString
	var at, created int64
	var args string
	err := row.Scan(&m.ID, &m.SubaccountID, &m.ChannelID, &dir, &m.WAMID, &m.ContactID, &m.Phone, &m.WAID, &m.UserID,
		&sender, &bot, &campaign, &m.ContentType, &m.Text, &m.TemplateName, &m.TemplateLang, &m.CorrelationID,
		&state, &status, &m.ErrorCode, &m.ErrorTitle, &m.ErrorDetail, &m.WithSession, &m.ConversationID,
		&convType, &m.ConversationCategory, &convExp, &m.MetaConversationID, &m.MetaConversationType,
		&m.PricingModel, &m.PricingCategory, &m.PricingType, &billable, &at, &delivered, &read, &failed,
		&m.ContextWAMID, &m.ButtonPayload, &referral, &created, &m.TemplateCategory, &content, &m.Origin, &args)
	if err != nil {
		return nil, err
	}
	m.Direction, m.State, m.Status, m.ConversationType = domain.Direction(dir), domain.State(state), domain.Status(status), domain.ConversationType(convType)
	if sender.Valid {
		m.SenderUserID = &sender.Int64
	}
	if bot.Valid {
		m.BotID = &bot.Int64
	}
	if campaign.Valid {
		m.CampaignID = &campaign.Int64
	}
	if billable.Valid {
		m.Billable = &billable.Bool
	}
	m.ConversationExpires, m.DeliveredAt, m.ReadAt, m.FailedAt = ptrMS(convExp), ptrMS(delivered), ptrMS(read), ptrMS(failed)
	m.At, m.CreatedAt = fromMS(at), fromMS(created)
	m.ErrorArgs = decodeArgs(args)
	if content.Valid {
		m.Content = json.RawMessage(content.String)
	}
	if referral.Valid {
		m.Referral = &domain.Referral{}
		_ = json.Unmarshal([]byte(referral.String), m.Referral)
	}
	return &m, nil
}

// Message returns a message by ID, if it is in one of the subaccounts (nil
// means any).
func (s *Store) Message(ctx context.Context, id int64, subaccounts []int64) (*domain.Message, error) {
	return s.messageWhere(ctx, `m.id`, id, subaccounts)
}

// MessageByWAMID returns a message by its WhatsApp id, within subaccounts.
func (s *Store) MessageByWAMID(ctx context.Context, wamid string, subaccounts []int64) (*domain.Message, error) {
	return s.messageWhere(ctx, `m.wamid`, wamid, subaccounts)
}

// messageWhere returns the message whose column (unique) equals arg.
func (s *Store) messageWhere(ctx context.Context, column string, arg any, subaccounts []int64) (*domain.Message, error) {
	w := &whereBuilder{}
	w.add(column + ` = ` + w.arg(arg))
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return nil, domain.Errorf(domain.ENOTFOUND, "message %v not found", arg)
		}
		w.in(`m.subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	st, err := s.readStmt(ctx, `SELECT `+messageColumns+messageFrom+w.sql())
	if err != nil {
		return nil, err
	}
	m, err := scanMessage(st.QueryRowContext(ctx, w.args...))
	if err != nil {
		return nil, notFound(err, "message", arg)
	}
	return m, nil
}

const contactColumns = `id, subaccount_id, phone, COALESCE(phone_key, ''), wa_id, COALESCE(user_id, ''), name,
	correlation_id, fields, opted_out, preference_at, last_inbound_at, created_at`

func scanContact(row interface{ Scan(...any) error }) (*domain.Contact, error) {
	var c domain.Contact
	var fields string
	var prefAt, created int64
	var lastIn sql.NullInt64
	err := row.Scan(&c.ID, &c.SubaccountID, &c.Phone, &c.PhoneKey, &c.WAID, &c.UserID, &c.Name, &c.CorrelationID,
		&fields, &c.OptedOut, &prefAt, &lastIn, &created)
	if err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(fields), &c.Fields)
	if c.OptedOut && prefAt > 0 {
		t := fromMS(prefAt)
		c.OptedOutAt = &t
	}
	c.LastInboundAt, c.CreatedAt = ptrMS(lastIn), fromMS(created)
	return &c, nil
}

// Contact returns a contact by ID within subaccounts (nil means any).
func (s *Store) Contact(ctx context.Context, id int64, subaccounts []int64) (*domain.Contact, error) {
	w := &whereBuilder{}
	w.add(`id = ` + w.arg(id))
	if subaccounts != nil {
		if len(subaccounts) == 0 {
			return nil, domain.Errorf(domain.ENOTFOUND, "contact %d not found", id)
		}
		w.in(`subaccount_id`, len(subaccounts), func(i int) any { return subaccounts[i] })
	}
	st, err := s.readStmt(ctx, `SELECT `+contactColumns+` FROM contacts`+w.sql())
	if err != nil {
		return nil, err
	}
	c, err := scanContact(st.QueryRowContext(ctx, w.args...))
	if err != nil {
		return nil, notFound(err, "contact", id)
	}
	return c, nil
}

// ContactFilter selects contacts.
type ContactFilter struct {
	Subaccounts []int64 // scope; nil means all
	Phone       string  // E.164; matched on the canonical form
	AfterID     int64   // keyset pagination
	Limit       int
}

// Contacts lists contacts by ascending ID.
func (s *Store) Contacts(ctx context.Context, f ContactFilter) ([]domain.Contact, error) {
	w := &whereBuilder{}
	if f.Subaccounts != nil {
		if len(f.Subaccounts) == 0 {
			return []domain.Contact{}, nil
		}
		w.in(`subaccount_id`, len(f.Subaccounts), func(i int) any { return f.Subaccounts[i] })
	}
	if f.Phone != "" {
		w.add(`phone_key = ` + w.arg(phone.Canonical(f.Phone)))
	}
	if f.AfterID > 0 {
		w.add(`id > ` + w.arg(f.AfterID))
	}
	if f.Limit <= 0 || f.Limit > domain.MaxReportLimit {
		f.Limit = domain.MaxReportLimit
	}
	query := `SELECT ` + contactColumns + ` FROM contacts` + w.sql() + ` ORDER BY id LIMIT ` + w.arg(f.Limit)
	rows, err := s.r.QueryContext(ctx, query, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	defer rows.Close()
	out := []domain.Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}
