-- The committee record of a job's current round (signed into its final
-- report, docs/DISPUTES.md "Committees"), and each oracle's count of reports
-- counted in decided rounds (GET /api/oracles `reportsCounted`).

ALTER TABLE jobs ADD COLUMN committee_selection TEXT;

ALTER TABLE oracles ADD COLUMN reports_counted INTEGER NOT NULL DEFAULT 0;

-- Counts from the rounds decided before this migration.
UPDATE oracles SET reports_counted = (
    SELECT COUNT(*) FROM rounds r, json_each(r.final_report, '$.consensusMetadata.votes') v
    WHERE r.final_report IS NOT NULL
      AND json_extract(v.value, '$.enclaveId') = oracles.enclave_id
);
