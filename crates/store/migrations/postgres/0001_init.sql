-- Verity's PostgreSQL schema, the same tables as the SQLite one (migrations/sqlite).
-- Times are Unix milliseconds.

CREATE TABLE oracles (
    enclave_id       TEXT PRIMARY KEY,
    signing_key      BYTEA NOT NULL,
    encryption_key   BYTEA NOT NULL,
    attestation_kind TEXT NOT NULL,
    attestation      TEXT NOT NULL,
    reputation       DOUBLE PRECISION NOT NULL,
    stake            BIGINT NOT NULL,
    slashes          BIGINT NOT NULL DEFAULT 0,
    banned           BOOLEAN NOT NULL DEFAULT FALSE,
    ban_reason       TEXT,
    registered_at    BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE blobs (
    blob_id      TEXT PRIMARY KEY,
    media_sha256 TEXT NOT NULL,
    storage      TEXT NOT NULL,
    size         BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX blobs_by_media ON blobs (media_sha256);

CREATE TABLE sealed_keys (
    blob_id    TEXT NOT NULL REFERENCES blobs (blob_id),
    enclave_id TEXT NOT NULL,
    enc        BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    PRIMARY KEY (blob_id, enclave_id)
);

CREATE TABLE jobs (
    job_id         TEXT PRIMARY KEY,
    media_sha256   TEXT NOT NULL,
    blob_id        TEXT NOT NULL REFERENCES blobs (blob_id),
    mime           TEXT NOT NULL,
    width          BIGINT NOT NULL,
    height         BIGINT NOT NULL,
    size           BIGINT NOT NULL,
    user_id        TEXT,
    status         TEXT NOT NULL,
    round          BIGINT NOT NULL DEFAULT 0,
    committee      TEXT NOT NULL,
    priority       BIGINT NOT NULL DEFAULT 0,
    deadline_at    BIGINT NOT NULL,
    failure_reason TEXT,
    final_report   TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX jobs_open_by_deadline ON jobs (status, deadline_at);

-- Every signed report of every round; rounds are never deleted.
CREATE TABLE reports (
    job_id        TEXT NOT NULL,
    round         BIGINT NOT NULL,
    enclave_id    TEXT NOT NULL,
    digest        TEXT NOT NULL,
    signed_report TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    PRIMARY KEY (job_id, round, enclave_id)
);

-- Decided rounds, kept when a job is re-verified.
CREATE TABLE rounds (
    job_id         TEXT NOT NULL,
    round          BIGINT NOT NULL,
    status         TEXT NOT NULL,
    committee      TEXT NOT NULL,
    final_report   TEXT,
    failure_reason TEXT,
    decided_at     BIGINT NOT NULL,
    PRIMARY KEY (job_id, round)
);

-- Two different signed reports from one enclave for one job round: proof.
CREATE TABLE equivocations (
    id            BIGSERIAL PRIMARY KEY,
    job_id        TEXT NOT NULL,
    round         BIGINT NOT NULL,
    enclave_id    TEXT NOT NULL,
    first_report  TEXT NOT NULL,
    second_report TEXT NOT NULL,
    detected_at   BIGINT NOT NULL
);

-- Ids grow per job in commit order: writers of one job's events take a
-- per-job advisory lock (see postgres/repo.rs), so a reader never skips one.
CREATE TABLE job_events (
    id     BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL,
    kind   TEXT NOT NULL,
    data   TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX job_events_by_job ON job_events (job_id, id);

-- The PostgreSQL queue: one row per (job, round, enclave) delivery.
CREATE TABLE queue_tasks (
    id           BIGSERIAL PRIMARY KEY,
    job_id       TEXT NOT NULL,
    round        BIGINT NOT NULL,
    enclave_id   TEXT NOT NULL,
    payload      BYTEA NOT NULL,
    priority     BIGINT NOT NULL,
    state        TEXT NOT NULL,          -- ready | leased | done | dead
    attempts     BIGINT NOT NULL DEFAULT 0,
    available_at BIGINT NOT NULL,
    lease_until  BIGINT,
    lease_owner  TEXT,
    lease_token  TEXT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (job_id, round, enclave_id)
);
CREATE INDEX queue_tasks_next ON queue_tasks (enclave_id, state, priority DESC, id);
