-- +goose Up
-- A campaign's audience rows are written only with their campaign, in the
-- transaction that creates it, and neither is ever deleted: the foreign
-- key's check, a trigger per row, was more than half of what storing a
-- million-row audience cost PostgreSQL (17.8 s against 7.6 s without it).
ALTER TABLE campaign_rows DROP CONSTRAINT IF EXISTS campaign_rows_campaign_id_fkey;

-- +goose Down
ALTER TABLE campaign_rows ADD CONSTRAINT campaign_rows_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES campaigns(id);
