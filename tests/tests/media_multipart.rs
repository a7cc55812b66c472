//! Multipart media objects are never visible without their `sha256` metadata and are never overwritten: the
//! metadata is given when the upload is created (no CopyObject onto the object after completion), and the
//! completion is conditional (`If-None-Match: *`), so a second upload onto a taken key leaves the first object and
//! no open upload.

use sha2::{Digest, Sha256};
use wavault_aws::s3::S3MediaStore;
use wavault_core::media::{MediaStore, ObjectMeta, PutResult};
use wavault_tests::fake_graph::MediaBehaviour;
use wavault_tests::iam::Gateway;
use wavault_tests::media_stack::MediaStack;
use wavault_tests::moto::MotoServer;
use wavault_tests::webhook_stack::{s, ACCESS_TOKEN};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A 9 MiB file (a multipart upload of two streamed parts) is archived with its metadata, and the only calls
/// that wrote it were the multipart ones: no CopyObject.
#[tokio::test]
async fn a_multipart_object_carries_its_sha256_from_creation_without_a_copy() -> TestResult {
    let moto = MotoServer::shared()?.endpoint();
    let suffix = "mp-meta";
    let m = MediaStack::start(&moto, suffix).await?;
    m.graph.set_valid_tokens(&[ACCESS_TOKEN]);
    let body = bytes(9 * 1024 * 1024, 5);
    m.graph
        .add_media("m-mp", body.clone(), "video/mp4", MediaBehaviour::Ok);
    m.receive_media("wamid.MP1", "video", "m-mp", "video/mp4")
        .await?;
    let round = m.fetch_round().await?;
    assert!(round.retried.is_empty(), "{round:?} {:?}", m.fetcher.logs());

    let item = m.record("wamid.MP1").await?.ok_or("no record")?;
    assert_eq!(s(&item, "media_status"), Some("archived"));
    let key = s(&item, "media_key").ok_or("no media_key")?;
    let head = m
        .webhook
        .s3
        .head_object()
        .bucket(&m.webhook.stack.bucket)
        .key(key)
        .send()
        .await?;
    let metadata = head.metadata().cloned().unwrap_or_default();
    let sha = hex::encode(Sha256::digest(&body));
    assert_eq!(metadata.get("sha256"), Some(&sha), "{metadata:?}");
    assert_eq!(
        metadata.get("record"),
        Some(&m.webhook.stack.message_key("wamid.MP1")),
        "the record's key, set at creation like the digest"
    );
    assert!(!metadata.contains_key("media-id") && !metadata.contains_key("wamid"));
    assert_eq!(head.content_length(), Some(body.len() as i64));

    let operations: Vec<String> = Gateway::for_upstream(&moto)?
        .calls(suffix)
        .into_iter()
        .filter(|c| c.service == "s3")
        .map(|c| c.operation)
        .collect();
    assert!(
        operations.iter().any(|o| o == "CompleteMultipartUpload"),
        "{operations:?}"
    );
    assert!(
        !operations.iter().any(|o| o.contains("Copy")),
        "nothing is copied onto the object: {operations:?}"
    );
    Ok(())
}

/// Two uploads race for one key: the second completion finds the key taken, reports AlreadyExists, leaves the
/// first object (bytes and metadata) as it was, and aborts its own upload.
#[tokio::test]
async fn a_second_completion_onto_a_taken_key_leaves_the_first_object() -> TestResult {
    let moto = MotoServer::shared()?.endpoint();
    let client = wavault_tests::aws::s3_client(&wavault_tests::aws::sdk_config(&moto));
    let bucket = "wavault-mp-race";
    client.create_bucket().bucket(bucket).send().await?;
    let store = S3MediaStore::new(client.clone(), bucket.to_owned(), None);
    let key = "media/unknown/2026/12/01/race.mp4";
    let upload = |content: Vec<u8>| {
        let store = &store;
        async move {
            let meta = ObjectMeta {
                record: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".to_owned(),
                mime_type: Some("video/mp4".to_owned()),
                sha256_hex: hex::encode(Sha256::digest(&content)),
            };
            let id = store.begin_multipart(key, &meta).await?;
            let part = store.upload_part(key, &id, 1, content.into()).await?;
            store.complete_multipart(key, &id, vec![part]).await
        }
    };
    let first = bytes(5 * 1024 * 1024 + 7, 1);
    let second = bytes(5 * 1024 * 1024 + 7, 2);
    assert_eq!(upload(first.clone()).await?, PutResult::Created);
    assert_eq!(upload(second).await?, PutResult::AlreadyExists);

    let object = client.get_object().bucket(bucket).key(key).send().await?;
    let metadata = object.metadata().cloned().unwrap_or_default();
    assert_eq!(
        metadata.get("sha256"),
        Some(&hex::encode(Sha256::digest(&first)))
    );
    assert_eq!(
        metadata.get("record").map(String::as_str),
        Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    );
    let stored = object.body.collect().await?.into_bytes();
    assert!(
        stored.as_ref() == first.as_slice(),
        "the first object is kept"
    );
    let open = client
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await?;
    assert!(open.uploads().is_empty(), "{:?}", open.uploads());
    Ok(())
}
