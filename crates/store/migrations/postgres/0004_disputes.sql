-- Disputes, dispute evidence and the stake ledger (DESIGN.md §4), as in
-- migrations/sqlite/0004_disputes.sql. Times are Unix milliseconds.

CREATE TABLE evidence (
    evidence_id TEXT PRIMARY KEY,
    blob_id     TEXT NOT NULL REFERENCES blobs (blob_id),
    mime        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE disputes (
    dispute_id        TEXT PRIMARY KEY,
    job_id            TEXT NOT NULL UNIQUE,
    disputed_round    BIGINT NOT NULL,
    disputed_verdict  TEXT NOT NULL,
    reverify_round    BIGINT NOT NULL,
    challenger        TEXT NOT NULL,
    evidence_id       TEXT NOT NULL,
    evidence_resolved BIGINT NOT NULL,
    reason            TEXT NOT NULL,
    bond              BIGINT NOT NULL,
    state             TEXT NOT NULL,
    new_verdict       TEXT,
    outcome           TEXT,
    created_at        BIGINT NOT NULL,
    resolved_at       BIGINT
);
CREATE INDEX disputes_by_state ON disputes (state);

CREATE TABLE stake_ledger (
    id           BIGSERIAL PRIMARY KEY,
    kind         TEXT NOT NULL,
    from_account TEXT,
    to_account   TEXT,
    amount       BIGINT NOT NULL CHECK (amount >= 0),
    reason       TEXT NOT NULL,
    dispute_id   TEXT,
    idem_key     TEXT,
    at           BIGINT NOT NULL
);
CREATE INDEX stake_ledger_from ON stake_ledger (from_account);
CREATE INDEX stake_ledger_to ON stake_ledger (to_account);
CREATE INDEX stake_ledger_dispute ON stake_ledger (dispute_id);
CREATE UNIQUE INDEX stake_ledger_idem ON stake_ledger (idem_key);

CREATE FUNCTION verity_stake_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'stake_ledger is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER stake_ledger_append_only BEFORE UPDATE OR DELETE ON stake_ledger
    FOR EACH ROW EXECUTE FUNCTION verity_stake_ledger_append_only();

CREATE FUNCTION verity_oracle_initial_stake() RETURNS trigger AS $$
BEGIN
    INSERT INTO stake_ledger (kind, from_account, to_account, amount, reason, at)
    VALUES ('stake', NULL, 'oracle:' || NEW.enclave_id, NEW.stake, 'initial stake at registration', NEW.registered_at);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER oracles_initial_stake AFTER INSERT ON oracles
    FOR EACH ROW EXECUTE FUNCTION verity_oracle_initial_stake();

INSERT INTO stake_ledger (kind, from_account, to_account, amount, reason, at)
SELECT 'stake', NULL, 'oracle:' || enclave_id, stake, 'initial stake at registration', registered_at FROM oracles;
