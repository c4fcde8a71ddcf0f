//! The IAM gateway in front of moto's S3: object requests, presigned URLs and multipart uploads
//! authorized like S3 authorizes them, under a policy that grants only a prefix.

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use dynox_testing::LocalS3;
use dynox_testing::iam::{Denial, Enforcer};
use http_body_util::BodyExt as _;
use std::time::Duration;

const BUCKET: &str = "dynox-docs";

fn policy(actions: &[&str]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": actions,
            "Resource": format!("arn:aws:s3:::{BUCKET}/docs/*"),
        }]
    })
    .to_string()
}

/// moto's S3 with the bucket, behind a gateway enforcing a grant of `actions` on `docs/*`.
async fn s3_granting(actions: &[&str]) -> LocalS3 {
    let s3 = LocalS3::start()
        .await
        .expect("the local S3 (run `cargo xtask setup`)");
    s3.create_bucket(BUCKET).await.unwrap();
    s3.enforce(Enforcer::from_json(&policy(actions)).unwrap())
        .unwrap()
}

fn denials(s3: &LocalS3) -> Vec<Denial> {
    s3.enforcer().unwrap().denials()
}

fn denial(action: &str, key: &str) -> Denial {
    Denial {
        action: action.into(),
        resource: format!("arn:aws:s3:::{BUCKET}/{key}"),
    }
}

/// The status, error code and message of a failed S3 call.
fn failure<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> (u16, Option<String>, Option<String>) {
    (
        e.raw_response().map_or(0, |r| r.status().as_u16()),
        e.code().map(str::to_owned),
        e.message().map(str::to_owned),
    )
}

/// A plain HTTP GET (no SDK, no signing of its own), as a browser follows a presigned URL.
async fn http_get(uri: &str) -> (u16, Vec<u8>) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<hyper::body::Bytes>>();
    let resp = client.get(uri.parse().unwrap()).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

#[tokio::test]
async fn objects_under_the_granted_prefix_pass_and_others_are_denied() {
    let s3 = s3_granting(&["s3:PutObject", "s3:GetObject"]).await;
    let client = s3.s3_client();
    // A key with characters that are percent-encoded on the wire.
    let key = "docs/a b+c%€.txt";
    client
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from_static(b"hello"))
        .content_type("text/plain")
        .metadata("owner", "u1")
        .send()
        .await
        .unwrap();
    let got = client
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("text/plain"));
    assert_eq!(got.metadata().unwrap()["owner"], "u1");
    assert_eq!(got.body.collect().await.unwrap().into_bytes(), "hello");
    client
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    // The gateway decoded the key as the server did: the object is where the admin looks.
    s3.admin()
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(denials(&s3), []);

    // Outside docs/: denied with S3's AccessDenied, recorded with action and resource.
    s3.admin()
        .put_object()
        .bucket(BUCKET)
        .key("other/x")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let err = client
        .get_object()
        .bucket(BUCKET)
        .key("other/x")
        .send()
        .await
        .unwrap_err();
    let (status, code, message) = failure(&err);
    assert_eq!((status, code.as_deref()), (403, Some("AccessDenied")));
    let message = message.unwrap();
    assert!(
        message.contains(&format!(
            "is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::{BUCKET}/other/x\""
        )),
        "{message}"
    );
    assert_eq!(denials(&s3), [denial("s3:GetObject", "other/x")]);
    // A HEAD is denied with a bare 403.
    let err = client
        .head_object()
        .bucket(BUCKET)
        .key("other/x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&err).0, 403);
    // Writing outside the prefix is denied too.
    let err = client
        .put_object()
        .bucket(BUCKET)
        .key("other/y")
        .body(ByteStream::from_static(b"y"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&err).1.as_deref(), Some("AccessDenied"));

    // Deleting is not granted, even under docs/; the object stays.
    let err = client
        .delete_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&err).1.as_deref(), Some("AccessDenied"));
    assert_eq!(
        denials(&s3)[1..],
        [
            denial("s3:GetObject", "other/x"),
            denial("s3:PutObject", "other/y"),
            denial("s3:DeleteObject", key),
        ]
    );
    s3.admin()
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    // Listing the bucket is a bucket action the grant does not have.
    let err = client
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&err).1.as_deref(), Some("AccessDenied"));
    assert_eq!(
        denials(&s3).last().unwrap(),
        &Denial {
            action: "s3:ListBucket".into(),
            resource: format!("arn:aws:s3:::{BUCKET}"),
        }
    );
}

#[tokio::test]
async fn presigned_urls_are_authorized_as_their_signer() {
    let s3 = s3_granting(&["s3:GetObject"]).await;
    for key in ["docs/report.pdf", "other/secret"] {
        s3.admin()
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from_static(b"%PDF"))
            .send()
            .await
            .unwrap();
    }
    let presign = |client: aws_sdk_s3::Client, key: &'static str| async move {
        let req = client
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
            .await
            .unwrap();
        assert!(req.uri().contains("X-Amz-Signature="), "{}", req.uri());
        req.uri().to_owned()
    };
    let url = presign(s3.s3_client(), "docs/report.pdf").await;
    assert!(
        url.starts_with(s3.endpoint()),
        "{url} goes through the gateway"
    );
    assert_eq!(http_get(&url).await, (200, b"%PDF".to_vec()));
    // An expired URL is refused (moto would serve it: the gateway checks the expiry).
    let expired = s3
        .s3_client()
        .get_object()
        .bucket(BUCKET)
        .key("docs/report.pdf")
        .presigned(
            PresigningConfig::builder()
                .start_time(std::time::SystemTime::now() - Duration::from_secs(600))
                .expires_in(Duration::from_secs(60))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let (status, body) = http_get(expired.uri()).await;
    assert_eq!(status, 403);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("Request has expired"),
        "an expired URL"
    );
    assert_eq!(denials(&s3), []);
    // Outside the grant.
    let url = presign(s3.s3_client(), "other/secret").await;
    let (status, body) = http_get(&url).await;
    assert_eq!(status, 403);
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert_eq!(denials(&s3), [denial("s3:GetObject", "other/secret")]);

    // A signer whose policy lacks s3:GetObject: its URL is denied, even under docs/.
    let writer = s3_granting(&["s3:PutObject"]).await;
    writer
        .admin()
        .put_object()
        .bucket(BUCKET)
        .key("docs/report.pdf")
        .body(ByteStream::from_static(b"%PDF"))
        .send()
        .await
        .unwrap();
    let url = presign(writer.s3_client(), "docs/report.pdf").await;
    assert_eq!(http_get(&url).await.0, 403);
    assert_eq!(
        denials(&writer),
        [denial("s3:GetObject", "docs/report.pdf")]
    );
}

/// A multipart upload of a 5 MiB part and a short last one; returns the upload id, completed
/// unless `complete` is false.
async fn multipart(client: &aws_sdk_s3::Client, key: &str, complete: bool) -> String {
    let upload = client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .content_type("application/octet-stream")
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap().to_owned();
    let mut parts = Vec::new();
    for (n, body) in [(1, vec![7u8; 5 * 1024 * 1024]), (2, b"tail".to_vec())] {
        let part = client
            .upload_part()
            .bucket(BUCKET)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    if complete {
        client
            .complete_multipart_upload()
            .bucket(BUCKET)
            .key(key)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    id
}

#[tokio::test]
async fn multipart_uploads_need_put_object_and_abort_its_own_action() {
    let s3 = s3_granting(&["s3:PutObject", "s3:GetObject"]).await;
    let client = s3.s3_client();
    multipart(&client, "docs/big.bin", true).await;
    let got = s3
        .admin()
        .head_object()
        .bucket(BUCKET)
        .key("docs/big.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_length(), Some(5 * 1024 * 1024 + 4));
    // The body streamed back through the gateway whole.
    let body = client
        .get_object()
        .bucket(BUCKET)
        .key("docs/big.bin")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(body.len(), 5 * 1024 * 1024 + 4);
    assert!(body.ends_with(b"tail"));
    assert_eq!(denials(&s3), []);

    let id = multipart(&client, "docs/abandoned.bin", false).await;
    let err = client
        .abort_multipart_upload()
        .bucket(BUCKET)
        .key("docs/abandoned.bin")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&err).1.as_deref(), Some("AccessDenied"));
    assert_eq!(
        denials(&s3),
        [denial("s3:AbortMultipartUpload", "docs/abandoned.bin")]
    );

    let s3 = s3_granting(&["s3:PutObject", "s3:AbortMultipartUpload"]).await;
    let client = s3.s3_client();
    let id = multipart(&client, "docs/abandoned.bin", false).await;
    client
        .abort_multipart_upload()
        .bucket(BUCKET)
        .key("docs/abandoned.bin")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(denials(&s3), []);
}

/// What dynox's S3 field relies on from moto: `If-None-Match: *` on PutObject and on
/// CompleteMultipartUpload refuses to replace an object (412 PreconditionFailed), as S3 does.
#[tokio::test]
async fn moto_refuses_to_overwrite_under_if_none_match() {
    let s3 = s3_granting(&["s3:PutObject", "s3:GetObject"]).await;
    let client = s3.s3_client();
    let put = || {
        client
            .put_object()
            .bucket(BUCKET)
            .key("docs/once")
            .if_none_match("*")
            .body(ByteStream::from_static(b"first"))
            .send()
    };
    let first = put().await.unwrap();
    // moto's ETags are quoted, as S3's are.
    let etag = first.e_tag().unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let err = put().await.unwrap_err();
    let (status, code, _) = failure(&err);
    assert_eq!((status, code.as_deref()), (412, Some("PreconditionFailed")));

    multipart(&client, "docs/big-once", true).await;
    let upload = client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("docs/big-once")
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap();
    let part = client
        .upload_part()
        .bucket(BUCKET)
        .key("docs/big-once")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"again"))
        .send()
        .await
        .unwrap();
    let err = client
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key("docs/big-once")
        .upload_id(id)
        .if_none_match("*")
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    let (status, code, _) = failure(&err);
    assert_eq!((status, code.as_deref()), (412, Some("PreconditionFailed")));
    assert_eq!(denials(&s3), []);
}
