-- +goose Up
-- Link clicks: a campaign whose template has URL buttons with a dynamic
-- suffix may send each message a code of its own as that suffix, so that
-- the button opens ticks's short redirect /r/{code}, which counts the click
-- and sends the contact on. links is the campaign's buttons routed so, as
-- JSON ([{"button", "text", "url"}]); link_key signs their codes (hex).
ALTER TABLE campaigns ADD COLUMN links TEXT NOT NULL DEFAULT '[]';
ALTER TABLE campaigns ADD COLUMN link_key TEXT NOT NULL DEFAULT '';

-- Who clicked: one row per audience row (a contact) and button.
CREATE TABLE campaign_clicks (
    campaign_id   BIGINT NOT NULL,
    button        BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    subaccount_id BIGINT NOT NULL,
    clicks        BIGINT NOT NULL,
    first_at      BIGINT NOT NULL,
    last_at       BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, button, seq)
);

-- The same counted per button (contacts who clicked, and clicks), kept as
-- clicks arrive, so that a campaign's page reads counters.
CREATE TABLE campaign_link_counts (
    campaign_id   BIGINT NOT NULL,
    button        BIGINT NOT NULL,
    subaccount_id BIGINT NOT NULL,
    contacts      BIGINT NOT NULL,
    clicks        BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, button)
);

-- +goose Down
DROP TABLE campaign_link_counts;
DROP TABLE campaign_clicks;
ALTER TABLE campaigns DROP COLUMN link_key;
ALTER TABLE campaigns DROP COLUMN links;
