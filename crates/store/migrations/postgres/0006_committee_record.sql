-- As migrations/sqlite/0006_committee_record.sql: the committee record of a
-- job's current round and each oracle's count of reports counted in decided rounds.

ALTER TABLE jobs ADD COLUMN committee_selection TEXT;

ALTER TABLE oracles ADD COLUMN reports_counted BIGINT NOT NULL DEFAULT 0;

-- Counts from the rounds decided before this migration.
UPDATE oracles o SET reports_counted = c.n
FROM (
    SELECT v ->> 'enclaveId' AS enclave_id, COUNT(*) AS n
    FROM rounds r,
         jsonb_array_elements(r.final_report::jsonb -> 'consensusMetadata' -> 'votes') v
    WHERE r.final_report IS NOT NULL
    GROUP BY 1
) c
WHERE c.enclave_id = o.enclave_id;
