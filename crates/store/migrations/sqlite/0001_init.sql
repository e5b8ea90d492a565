-- Verity's embedded schema. Times are Unix milliseconds.

CREATE TABLE oracles (
    enclave_id       TEXT PRIMARY KEY,
    signing_key      BLOB NOT NULL,
    encryption_key   BLOB NOT NULL,
    attestation_kind TEXT NOT NULL,
    attestation      TEXT NOT NULL,
    reputation       REAL NOT NULL,
    stake            INTEGER NOT NULL,
    slashes          INTEGER NOT NULL DEFAULT 0,
    banned           INTEGER NOT NULL DEFAULT 0,
    ban_reason       TEXT,
    registered_at    INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE blobs (
    blob_id      TEXT PRIMARY KEY,
    media_sha256 TEXT NOT NULL,
    storage      TEXT NOT NULL,
    size         INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX blobs_by_media ON blobs (media_sha256);

CREATE TABLE sealed_keys (
    blob_id    TEXT NOT NULL REFERENCES blobs (blob_id),
    enclave_id TEXT NOT NULL,
    enc        BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    PRIMARY KEY (blob_id, enclave_id)
);

CREATE TABLE jobs (
    job_id         TEXT PRIMARY KEY,
    media_sha256   TEXT NOT NULL,
    blob_id        TEXT NOT NULL REFERENCES blobs (blob_id),
    mime           TEXT NOT NULL,
    width          INTEGER NOT NULL,
    height         INTEGER NOT NULL,
    size           INTEGER NOT NULL,
    user_id        TEXT,
    status         TEXT NOT NULL,
    round          INTEGER NOT NULL DEFAULT 0,
    committee      TEXT NOT NULL,
    priority       INTEGER NOT NULL DEFAULT 0,
    deadline_at    INTEGER NOT NULL,
    failure_reason TEXT,
    final_report   TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX jobs_open_by_deadline ON jobs (status, deadline_at);

-- Every signed report of every round; rounds are never deleted.
CREATE TABLE reports (
    job_id        TEXT NOT NULL,
    round         INTEGER NOT NULL,
    enclave_id    TEXT NOT NULL,
    digest        TEXT NOT NULL,
    signed_report TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (job_id, round, enclave_id)
);

-- Decided rounds, kept when a job is re-verified.
CREATE TABLE rounds (
    job_id         TEXT NOT NULL,
    round          INTEGER NOT NULL,
    status         TEXT NOT NULL,
    committee      TEXT NOT NULL,
    final_report   TEXT,
    failure_reason TEXT,
    decided_at     INTEGER NOT NULL,
    PRIMARY KEY (job_id, round)
);

-- Two different signed reports from one enclave for one job round: proof.
CREATE TABLE equivocations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id        TEXT NOT NULL,
    round         INTEGER NOT NULL,
    enclave_id    TEXT NOT NULL,
    first_report  TEXT NOT NULL,
    second_report TEXT NOT NULL,
    detected_at   INTEGER NOT NULL
);

CREATE TABLE job_events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    kind   TEXT NOT NULL,
    data   TEXT NOT NULL,
    at     INTEGER NOT NULL
);
CREATE INDEX job_events_by_job ON job_events (job_id, id);

-- The embedded queue: one row per (job, round, enclave) delivery.
CREATE TABLE queue_tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       TEXT NOT NULL,
    round        INTEGER NOT NULL,
    enclave_id   TEXT NOT NULL,
    payload      BLOB NOT NULL,
    priority     INTEGER NOT NULL,
    state        TEXT NOT NULL,          -- ready | leased | done | dead
    attempts     INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL,
    lease_until  INTEGER,
    lease_owner  TEXT,
    lease_token  TEXT,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (job_id, round, enclave_id)
);
CREATE INDEX queue_tasks_next ON queue_tasks (enclave_id, state, priority DESC, id);
