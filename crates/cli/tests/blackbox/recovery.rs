//! Nothing answered 202 is lost: kill -9 after the 202, restart, the job completes.

use crate::harness::{Options, Server, fixture};

#[tokio::test]
async fn kill_after_202_then_restart_completes_the_job() {
    // All enclaves "offline" first, so the job is certainly still pending when killed.
    let mut server = Server::start(
        Options::default().env("VERITY_OFFLINE_ENCLAVES", "enclave-1,enclave-2,enclave-3"),
    )
    .await;
    let jobs = [
        server
            .upload_ok(fixture("a1111_parameters.png"), "a.png")
            .await,
        server
            .upload_ok(fixture("xmp_dst_trainedAlgorithmicMedia.jpg"), "b.jpg")
            .await,
    ];
    for job in &jobs {
        assert_eq!(server.job(job).await["status"], "PENDING");
    }
    server.kill9();
    server
        .restart_with(&[("VERITY_OFFLINE_ENCLAVES", "")])
        .await;
    for job in &jobs {
        let body = server.wait_decided(job).await;
        assert_eq!(body["status"], "COMPLETED", "{body}");
        assert_eq!(body["report"]["verdict"], "AI_GENERATED");
        assert_eq!(
            body["report"]["consensusMetadata"]["participatingEnclaves"],
            3
        );
    }
}

#[tokio::test]
async fn kill_mid_flight_loses_nothing() {
    // Tasks leased by the killed workers come back only when their lease ends;
    // a lease shorter than the round timeout (20 s here) lets them be
    // reported before the round's deadline even on a loaded machine.
    let mut server = Server::start(Options::default().env("VERITY_LEASE", "5s")).await;
    let mut jobs = Vec::new();
    for i in 0..10u8 {
        let bytes = crate::harness::generated(image::ImageFormat::Png, 48, 32, i + 1);
        jobs.push(server.upload_ok(bytes, "p.png").await);
    }
    server.kill9();
    server.restart_with(&[]).await;
    for job in &jobs {
        assert_eq!(server.wait_decided(job).await["status"], "COMPLETED");
    }
}
