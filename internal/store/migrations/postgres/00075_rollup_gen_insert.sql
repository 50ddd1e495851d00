-- +goose Up
-- On SQLite the apply of webhooks now counts the rows it creates in the
-- rollup itself, and the insert triggers skip rows inserted with
-- rollup_gen = 1 (see the SQLite migration). PostgreSQL's statement
-- triggers already sum a whole statement's rows, and its apply inserts with
-- rollup_gen = 0: nothing changes here; the number keeps both folders the
-- same.
SELECT 1;

-- +goose Down
SELECT 1;
