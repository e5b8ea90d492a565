-- The transparency log (crate verity-tlog): append-only entries, signed
-- checkpoints and their anchors. Times are Unix milliseconds.

CREATE TABLE log_entries (
    idx         INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    round       INTEGER NOT NULL,
    leaf        BLOB NOT NULL,
    leaf_hash   BLOB NOT NULL UNIQUE,
    payload     TEXT,
    appended_at INTEGER NOT NULL
);
CREATE INDEX log_entries_by_subject ON log_entries (subject, kind, round);

CREATE TABLE log_checkpoints (
    size       INTEGER PRIMARY KEY,
    root       BLOB NOT NULL,
    note       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE log_anchors (
    size        INTEGER PRIMARY KEY REFERENCES log_checkpoints (size),
    chain       TEXT NOT NULL,
    tx_digest   TEXT NOT NULL,
    anchored_at INTEGER NOT NULL
);
