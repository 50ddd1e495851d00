-- +goose Up
-- The consumption report (issue 15). consumption_rollup counts the
-- outbound messages that went to WhatsApp (not those ticks refused itself)
-- per subaccount, UTC hour of their send time (at / 3,600,000), channel,
-- Meta's pricing category and type (ticks's estimate until Meta's
-- arrives), whether they are charged, and the type of the conversation
-- each opens ('' when it opens none). Charged is Meta's billable flag, or
-- until one arrives, a regular price on a message that has not failed. A
-- message opens a conversation when it is the conversation's start: its
-- derived conversation expires exactly one window after it. UTC hours let
-- any whole-hour time zone sum its local days and months. Kept exact by
-- row triggers as messages are sent and webhooks arrive (late, duplicated,
-- out of order).
CREATE TABLE consumption_rollup (
    subaccount_id INTEGER NOT NULL,
    hour          INTEGER NOT NULL,
    channel_id    INTEGER NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      INTEGER NOT NULL,
    opens         TEXT NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (hour, subaccount_id, channel_id, category, pricing_type, billable, opens)
) WITHOUT ROWID;

-- A closed month as it stood when it closed (the 5th Brazilian business day
-- of the next month): the rollup's rows of the month's hours, with a margin
-- of 14 hours on each side so any time zone's month is inside. A closed
-- month's report reads this; what the rollup holds beyond it is shown as
-- adjustments.
CREATE TABLE consumption_snapshot (
    month         TEXT NOT NULL,
    subaccount_id INTEGER NOT NULL,
    hour          INTEGER NOT NULL,
    channel_id    INTEGER NOT NULL,
    category      TEXT NOT NULL,
    pricing_type  TEXT NOT NULL,
    billable      INTEGER NOT NULL,
    opens         TEXT NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (month, hour, subaccount_id, channel_id, category, pricing_type, billable, opens)
) WITHOUT ROWID;

CREATE TABLE consumption_closings (
    month     TEXT PRIMARY KEY,
    closed_at INTEGER NOT NULL
);

INSERT INTO consumption_rollup
SELECT subaccount_id, at / 3600000, channel_id, pricing_category, pricing_type,
       CASE WHEN billable IS NOT NULL THEN billable WHEN pricing_type = 'regular' AND state <> 'failed' THEN 1 ELSE 0 END,
       CASE WHEN conversation_expires_at - at = CASE conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
            THEN conversation_type ELSE '' END,
       COUNT(*)
FROM messages WHERE direction = 'mt' AND (state <> 'failed' OR error_code <> 0)
GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- +goose StatementBegin
CREATE TRIGGER messages_consumption_insert AFTER INSERT ON messages
WHEN NEW.direction = 'mt' AND (NEW.state <> 'failed' OR NEW.error_code <> 0)
BEGIN
    INSERT INTO consumption_rollup VALUES (NEW.subaccount_id, NEW.at / 3600000, NEW.channel_id, NEW.pricing_category,
        NEW.pricing_type,
        CASE WHEN NEW.billable IS NOT NULL THEN NEW.billable WHEN NEW.pricing_type = 'regular' AND NEW.state <> 'failed' THEN 1 ELSE 0 END,
        CASE WHEN NEW.conversation_expires_at - NEW.at = CASE NEW.conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
             THEN NEW.conversation_type ELSE '' END, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_consumption_delete AFTER DELETE ON messages
WHEN OLD.direction = 'mt' AND (OLD.state <> 'failed' OR OLD.error_code <> 0)
BEGIN
    UPDATE consumption_rollup SET n = n - 1
    WHERE subaccount_id = OLD.subaccount_id AND hour = OLD.at / 3600000 AND channel_id = OLD.channel_id
      AND category = OLD.pricing_category AND pricing_type = OLD.pricing_type
      AND billable = CASE WHEN OLD.billable IS NOT NULL THEN OLD.billable WHEN OLD.pricing_type = 'regular' AND OLD.state <> 'failed' THEN 1 ELSE 0 END
      AND opens = CASE WHEN OLD.conversation_expires_at - OLD.at = CASE OLD.conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
                       THEN OLD.conversation_type ELSE '' END;
END;
-- +goose StatementEnd

-- Status webhooks set the pricing columns of every message they touch; the
-- WHEN clause lets through only the rows whose counted key changed (the
-- first pricing block that differs from ticks's estimate, a failure, a
-- conversation derived again), so most status updates cost a comparison.
-- +goose StatementBegin
CREATE TRIGGER messages_consumption_update AFTER UPDATE OF subaccount_id, direction, channel_id, at, state, error_code,
    pricing_category, pricing_type, billable, conversation_type, conversation_expires_at ON messages
WHEN (OLD.direction = 'mt' AND (OLD.state <> 'failed' OR OLD.error_code <> 0), OLD.subaccount_id, OLD.at / 3600000,
      OLD.channel_id, OLD.pricing_category, OLD.pricing_type,
      CASE WHEN OLD.billable IS NOT NULL THEN OLD.billable WHEN OLD.pricing_type = 'regular' AND OLD.state <> 'failed' THEN 1 ELSE 0 END,
      CASE WHEN OLD.conversation_expires_at - OLD.at = CASE OLD.conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
           THEN OLD.conversation_type ELSE '' END)
  IS NOT (NEW.direction = 'mt' AND (NEW.state <> 'failed' OR NEW.error_code <> 0), NEW.subaccount_id, NEW.at / 3600000,
      NEW.channel_id, NEW.pricing_category, NEW.pricing_type,
      CASE WHEN NEW.billable IS NOT NULL THEN NEW.billable WHEN NEW.pricing_type = 'regular' AND NEW.state <> 'failed' THEN 1 ELSE 0 END,
      CASE WHEN NEW.conversation_expires_at - NEW.at = CASE NEW.conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
           THEN NEW.conversation_type ELSE '' END)
BEGIN
    UPDATE consumption_rollup SET n = n - 1
    WHERE OLD.direction = 'mt' AND (OLD.state <> 'failed' OR OLD.error_code <> 0)
      AND subaccount_id = OLD.subaccount_id AND hour = OLD.at / 3600000 AND channel_id = OLD.channel_id
      AND category = OLD.pricing_category AND pricing_type = OLD.pricing_type
      AND billable = CASE WHEN OLD.billable IS NOT NULL THEN OLD.billable WHEN OLD.pricing_type = 'regular' AND OLD.state <> 'failed' THEN 1 ELSE 0 END
      AND opens = CASE WHEN OLD.conversation_expires_at - OLD.at = CASE OLD.conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
                       THEN OLD.conversation_type ELSE '' END;
    INSERT INTO consumption_rollup SELECT NEW.subaccount_id, NEW.at / 3600000, NEW.channel_id, NEW.pricing_category,
        NEW.pricing_type,
        CASE WHEN NEW.billable IS NOT NULL THEN NEW.billable WHEN NEW.pricing_type = 'regular' AND NEW.state <> 'failed' THEN 1 ELSE 0 END,
        CASE WHEN NEW.conversation_expires_at - NEW.at = CASE NEW.conversation_type WHEN 'free_entry_point' THEN 259200000 ELSE 86400000 END
             THEN NEW.conversation_type ELSE '' END, 1
    WHERE NEW.direction = 'mt' AND (NEW.state <> 'failed' OR NEW.error_code <> 0)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose Down
SELECT 1;
