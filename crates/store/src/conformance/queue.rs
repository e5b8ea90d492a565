//! The [`JobQueue`] contract: call [`queue_contract`] with a fresh, empty
//! queue built with [`contract_policy`].

use std::time::Duration;

use verity_core::{EnclaveId, JobId};

use crate::queue::{Delivery, FailOutcome, FanOut, JobQueue, QueuePolicy};

/// The policy [`queue_contract`] expects: short leases, tiny backoff, 3 attempts.
pub fn contract_policy() -> QueuePolicy {
    QueuePolicy {
        max_attempts: 3,
        lease: Duration::from_millis(300),
        base_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
    }
}

fn enclave(name: &str) -> EnclaveId {
    name.parse().expect("valid enclave id")
}

fn fanout(job: &JobId, priority: i32, enclaves: &[&EnclaveId]) -> FanOut {
    FanOut {
        job_id: job.clone(),
        round: 0,
        priority,
        deliveries: enclaves
            .iter()
            .map(|e| Delivery {
                enclave_id: (*e).clone(),
                payload: format!("{job}:{e}").into_bytes(),
            })
            .collect(),
    }
}

/// Runs every check against `queue` (built with [`contract_policy`], empty).
pub async fn queue_contract(queue: &dyn JobQueue) {
    let (a, b) = (enclave("contract-a"), enclave("contract-b"));
    let none = Duration::ZERO;
    let job = JobId::generate();

    // Fan-out: each enclave gets its own delivery, exactly once; publishing is idempotent.
    assert_eq!(queue.publish(&fanout(&job, 0, &[&a, &b])).await.unwrap(), 2);
    assert_eq!(
        queue.publish(&fanout(&job, 0, &[&a, &b])).await.unwrap(),
        0,
        "republish must be a no-op"
    );
    let ta = queue
        .lease(&a, "w1", none)
        .await
        .unwrap()
        .expect("a's delivery");
    assert_eq!(ta.payload, format!("{job}:{a}").into_bytes());
    assert_eq!(
        (ta.job_id.clone(), ta.round, ta.attempt),
        (job.clone(), 0, 1)
    );
    assert!(
        queue.lease(&a, "w2", none).await.unwrap().is_none(),
        "a leased task must not be leased twice"
    );
    let tb = queue
        .lease(&b, "w1", none)
        .await
        .unwrap()
        .expect("b's delivery");
    queue.ack(&ta).await.unwrap();
    queue.ack(&tb).await.unwrap();
    assert!(
        queue.lease(&a, "w1", none).await.unwrap().is_none(),
        "acked tasks are gone"
    );

    // Priority: the higher priority is served first.
    let (low, high) = (JobId::generate(), JobId::generate());
    queue.publish(&fanout(&low, 0, &[&a])).await.unwrap();
    queue.publish(&fanout(&high, 10, &[&a])).await.unwrap();
    let first = queue.lease(&a, "w1", none).await.unwrap().unwrap();
    assert_eq!(first.job_id, high, "priority 10 before priority 0");
    let second = queue.lease(&a, "w1", none).await.unwrap().unwrap();
    assert_eq!(second.job_id, low);
    queue.ack(&first).await.unwrap();
    queue.ack(&second).await.unwrap();

    // Waiting: a publish wakes a waiting lease.
    let late = JobId::generate();
    let (leased, ()) = tokio::join!(queue.lease(&b, "w1", Duration::from_secs(5)), async {
        queue.publish(&fanout(&late, 0, &[&b])).await.unwrap();
    });
    let leased = leased.unwrap().expect("woken by publish");
    assert_eq!(leased.job_id, late);
    queue.ack(&leased).await.unwrap();

    // Lease expiry: a crashed worker's task comes back, and its stale ack is refused.
    let crash = JobId::generate();
    queue.publish(&fanout(&crash, 0, &[&a])).await.unwrap();
    let lost = queue.lease(&a, "crashed", none).await.unwrap().unwrap();
    let again = queue
        .lease(&a, "rescuer", Duration::from_secs(5))
        .await
        .unwrap()
        .expect("an expired lease must be offered again");
    assert_eq!((again.job_id.clone(), again.attempt), (crash.clone(), 2));
    assert!(
        queue.ack(&lost).await.is_err(),
        "the old lease holder must not ack"
    );
    queue.ack(&again).await.unwrap();

    // Retries with backoff, then a dead letter keeping the last error.
    let flaky = JobId::generate();
    queue.publish(&fanout(&flaky, 0, &[&b])).await.unwrap();
    for attempt in 1..=3 {
        let t = queue
            .lease(&b, "w1", Duration::from_secs(5))
            .await
            .unwrap()
            .expect("a failed task is retried");
        assert_eq!(t.attempt, attempt);
        let outcome = queue.fail(&t, &format!("boom {attempt}")).await.unwrap();
        if attempt < 3 {
            assert!(
                matches!(outcome, FailOutcome::Retry { .. }),
                "attempt {attempt}: {outcome:?}"
            );
        } else {
            assert_eq!(outcome, FailOutcome::DeadLettered);
        }
    }
    assert!(
        queue
            .lease(&b, "w1", Duration::from_millis(100))
            .await
            .unwrap()
            .is_none()
    );
    let dead = queue.dead_letters(10).await.unwrap();
    let letter = dead
        .iter()
        .find(|d| d.job_id == flaky)
        .expect("dead letter kept");
    assert_eq!((letter.attempts, letter.last_error.as_str()), (3, "boom 3"));
    assert!(queue.stats().await.unwrap().dead >= 1);

    // Release gives a task back without spending an attempt.
    let polite = JobId::generate();
    queue.publish(&fanout(&polite, 0, &[&a])).await.unwrap();
    let t = queue.lease(&a, "w1", none).await.unwrap().unwrap();
    queue.release(&t).await.unwrap();
    let t = queue
        .lease(&a, "w2", none)
        .await
        .unwrap()
        .expect("released task is available");
    assert_eq!(t.attempt, 1, "release must not count an attempt");
    queue.extend(&t).await.unwrap();
    queue.ack(&t).await.unwrap();
    queue.ping().await.unwrap();
}
