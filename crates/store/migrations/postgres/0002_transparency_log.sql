-- The transparency log, as in migrations/sqlite/0002_transparency_log.sql.

CREATE TABLE log_entries (
    idx         BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    round       BIGINT NOT NULL,
    leaf        BYTEA NOT NULL,
    leaf_hash   BYTEA NOT NULL UNIQUE,
    payload     TEXT,
    appended_at BIGINT NOT NULL
);
CREATE INDEX log_entries_by_subject ON log_entries (subject, kind, round);

CREATE TABLE log_checkpoints (
    size       BIGINT PRIMARY KEY,
    root       BYTEA NOT NULL,
    note       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE log_anchors (
    size        BIGINT PRIMARY KEY REFERENCES log_checkpoints (size),
    chain       TEXT NOT NULL,
    tx_digest   TEXT NOT NULL,
    anchored_at BIGINT NOT NULL
);
