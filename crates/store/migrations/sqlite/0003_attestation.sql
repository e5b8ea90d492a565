-- Verified enclave attestations (issue 8): the latest registration per enclave.
CREATE TABLE enclave_attestations (
    enclave_id    TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,          -- dev-insecure | nitro
    signing_key   BLOB NOT NULL,          -- the Ed25519 key the attestation binds
    document      TEXT NOT NULL,          -- the attestation as registered (JSON)
    measurements  TEXT NOT NULL,          -- JSON: PCRs, module id, debug flag
    pcr0          TEXT,
    document_at   INTEGER NOT NULL,       -- the document's own timestamp
    verified_at   INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoke_reason TEXT
);
