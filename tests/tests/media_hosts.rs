//! Media is downloaded from Meta's media hosts only (`MEDIA_DOWNLOAD_HOSTS`; the local stack allows the fake
//! Graph API's 127.0.0.1): a media info whose URL points at another host ends `failed` with the reason on the
//! record, at once (not retried). The allowed host working is every other media test.

use wavault_tests::fake_graph::MediaBehaviour;
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{s, spawn_function, ACCESS_TOKEN};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

#[tokio::test]
async fn a_download_url_on_another_host_fails_with_its_reason() -> TestResult {
    let moto = MotoServer::shared()?.endpoint();
    let m = MediaStack::start(&moto, "md-hosts").await?;
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    m.graph
        .add_media("m-host", vec![9u8; 2048], "image/jpeg", MediaBehaviour::Ok);
    m.receive_media("wamid.HOST1", "image", "m-host", "image/jpeg")
        .await?;
    // Graph's URLs point at 127.0.0.1; this fetcher may download from `localhost` only.
    let fetcher = spawn_function(
        "media-fetcher",
        &m.webhook.stack,
        &moto,
        &m.graph.base_url(),
        &[("MEDIA_DOWNLOAD_HOSTS", "localhost")],
    )?;
    let round = m.fetch_round_with(&fetcher).await?;
    assert!(
        round.retried.is_empty(),
        "permanent, not retried: {round:?}"
    );
    let item = m.record("wamid.HOST1").await?.ok_or("no record")?;
    assert_eq!(s(&item, "media_status"), Some("failed"), "{item:?}");
    assert_eq!(
        s(&item, "media_error"),
        Some("download URL is not on a Meta media host")
    );
    assert_eq!(m.graph.download_calls("m-host"), 0, "no request went there");
    assert!(m.webhook.keys("media/").await?.is_empty());
    let logs = fetcher.logs().join("\n");
    assert!(logs.contains("media_host_refused"), "{logs}");
    assert!(!logs.contains("token="), "no URL in the logs: {logs}");
    Ok(())
}
