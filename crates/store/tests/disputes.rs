//! The dispute repository on SQLite and PostgreSQL against its contract.
//! The PostgreSQL run skips with a printed reason when no server is
//! reachable, and fails instead under `VERITY_REQUIRE_SERVICES=1`.

use std::time::Duration;

use verity_store::conformance::dispute_contract;
use verity_store::*;

#[tokio::test]
async fn sqlite_disputes_meet_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&dir.path().join("verity.db"), false)
        .await
        .unwrap();
    dispute_contract(
        &SqliteRepository::new(db.clone()),
        &SqliteDisputes::new(&db),
    )
    .await;
}

#[tokio::test]
async fn postgres_disputes_meet_the_contract() {
    let Some(test_db) = verity_testkit::PgTestDb::create().await else {
        return;
    };
    let db = PgDb::connect(&test_db.url, 8, Duration::from_secs(5))
        .await
        .unwrap();
    dispute_contract(&PgRepository::new(db.clone()), &PgDisputes::new(&db)).await;
}
