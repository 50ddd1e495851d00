-- +goose Up
-- On SQLite the apply of status webhooks counts its own changes in the
-- rollup and bumps rollup_gen so the row triggers skip those rows (see the
-- SQLite migration). PostgreSQL's statement triggers already sum a whole
-- statement's rows, so here every write is still counted by them and the
-- column only keeps the two dialects' statements the same. A constant
-- default rewrites no row.
ALTER TABLE messages ADD COLUMN rollup_gen BIGINT NOT NULL DEFAULT 0;

-- +goose Down
SELECT 1;
