-- Attestation challenges (POST /api/enclaves/nonce): each nonce is issued
-- once, expires, and is spent by the one registration that answers it.
-- Kept in the database so every API process sharing it honours them.
CREATE TABLE attestation_nonces (
    nonce      TEXT PRIMARY KEY,          -- hex
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,                    -- set once, by the registration that spent it
    used_by    TEXT                       -- that registration's enclave id
);
CREATE INDEX attestation_nonces_expires_at ON attestation_nonces (expires_at);
