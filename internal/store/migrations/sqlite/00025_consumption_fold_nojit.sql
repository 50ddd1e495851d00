-- +goose Up
-- PostgreSQL's consumption fold runs without JIT (see the PostgreSQL
-- migration); SQLite has no fold and no JIT.
SELECT 1;

-- +goose Down
SELECT 1;
