-- Disputes, dispute evidence and the stake ledger (DESIGN.md §4). Times are Unix milliseconds.

-- Evidence uploaded with POST /api/evidence; the blob and its sealed keys
-- live in `blobs` and `sealed_keys` like media.
CREATE TABLE evidence (
    evidence_id TEXT PRIMARY KEY,
    blob_id     TEXT NOT NULL REFERENCES blobs (blob_id),
    mime        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- One dispute per job; resolved disputes are kept.
CREATE TABLE disputes (
    dispute_id        TEXT PRIMARY KEY,
    job_id            TEXT NOT NULL UNIQUE,
    disputed_round    INTEGER NOT NULL,
    disputed_verdict  TEXT NOT NULL,
    reverify_round    INTEGER NOT NULL,
    challenger        TEXT NOT NULL,
    evidence_id       TEXT NOT NULL,
    evidence_resolved INTEGER NOT NULL,
    reason            TEXT NOT NULL,
    bond              INTEGER NOT NULL,
    state             TEXT NOT NULL,
    new_verdict       TEXT,
    outcome           TEXT,
    created_at        INTEGER NOT NULL,
    resolved_at       INTEGER
);
CREATE INDEX disputes_by_state ON disputes (state);

-- Append-only: every stake, bond, slash, reward, refund, forfeit and withdrawal.
-- Deposits have no from_account, withdrawals no to_account.
CREATE TABLE stake_ledger (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    from_account TEXT,
    to_account   TEXT,
    amount       INTEGER NOT NULL CHECK (amount >= 0),
    reason       TEXT NOT NULL,
    dispute_id   TEXT,
    idem_key     TEXT,
    at           INTEGER NOT NULL
);
CREATE INDEX stake_ledger_from ON stake_ledger (from_account);
CREATE INDEX stake_ledger_to ON stake_ledger (to_account);
CREATE INDEX stake_ledger_dispute ON stake_ledger (dispute_id);
CREATE UNIQUE INDEX stake_ledger_idem ON stake_ledger (idem_key);

CREATE TRIGGER stake_ledger_append_only_u BEFORE UPDATE ON stake_ledger
BEGIN
    SELECT RAISE(ABORT, 'stake_ledger is append-only');
END;
CREATE TRIGGER stake_ledger_append_only_d BEFORE DELETE ON stake_ledger
BEGIN
    SELECT RAISE(ABORT, 'stake_ledger is append-only');
END;

-- A registering oracle's initial stake is a ledger deposit.
CREATE TRIGGER oracles_initial_stake AFTER INSERT ON oracles
BEGIN
    INSERT INTO stake_ledger (kind, from_account, to_account, amount, reason, at)
    VALUES ('stake', NULL, 'oracle:' || NEW.enclave_id, NEW.stake, 'initial stake at registration', NEW.registered_at);
END;

-- Oracles registered before this migration.
INSERT INTO stake_ledger (kind, from_account, to_account, amount, reason, at)
SELECT 'stake', NULL, 'oracle:' || enclave_id, stake, 'initial stake at registration', registered_at FROM oracles;
