//! S3-backed fields against the embedded engine and moto's S3: the stored form (pydynox's map,
//! both ways), no half-writes whichever step fails, checked and resumed downloads, files saved
//! whole or not at all, presigned URLs, delete with the item, and items pointing elsewhere.

use aws_sdk_dynamodb::types::AttributeValue;
use dynox::attr::{S3File, S3Object};
use dynox::{Client, Model};
use dynox_testing::{LocalDynamo, LocalS3};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BUCKET: &str = "dynox-docs";

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "documents")]
struct Document {
    #[dynox(partition_key)]
    pk: String,
    #[dynox(sort_key)]
    sk: String,
    #[dynox(default)]
    title: Option<String>,
    #[dynox(s3(
        bucket = "dynox-docs",
        prefix = "docs/",
        content_type = "application/octet-stream",
        delete_with_item
    ))]
    content: S3Object,
    #[dynox(s3(bucket = "dynox-docs", prefix = "thumbs/"))]
    thumbnail: Option<S3Object>,
}

/// Two objects per item, the second in a bucket that does not exist.
#[derive(Model, Debug, Clone)]
#[dynox(table = "pairs")]
struct Pair {
    #[dynox(partition_key)]
    id: String,
    #[dynox(s3(bucket = "dynox-docs", prefix = "pairs/"))]
    first: S3Object,
    #[dynox(s3(bucket = "dynox-absent", prefix = "pairs/"))]
    second: S3Object,
}

#[derive(Model, Debug, Clone)]
#[dynox(table = "videos")]
struct Video {
    #[dynox(partition_key)]
    id: String,
    #[dynox(s3(
        bucket = "dynox-docs",
        prefix = "videos/",
        multipart_threshold = 5242880,
        part_size = 5242880
    ))]
    data: S3Object,
}

struct Setup {
    local: LocalDynamo,
    s3: LocalS3,
    client: Client,
}

async fn setup() -> Setup {
    let local = LocalDynamo::start().await.unwrap();
    let s3 = LocalS3::start().await.unwrap();
    s3.create_bucket(BUCKET).await.unwrap();
    let client = local.client().with_s3(s3.s3_client());
    local.create_table::<Document>(&client).await.unwrap();
    local.create_table::<Pair>(&client).await.unwrap();
    local.create_table::<Video>(&client).await.unwrap();
    Setup { local, s3, client }
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn doc(pk: &str, file: S3File) -> Document {
    Document {
        pk: pk.into(),
        sk: "v1".into(),
        title: Some("report".into()),
        content: file.into(),
        thumbnail: None,
    }
}

async fn raw_item(
    local: &LocalDynamo,
    table: &str,
    pk: &str,
    sk: Option<&str>,
) -> Option<HashMap<String, AttributeValue>> {
    let sdk = aws_sdk_dynamodb::Client::new(&local.unenforced_sdk_config());
    let mut key = HashMap::from([(
        if sk.is_some() { "pk" } else { "id" }.to_owned(),
        AttributeValue::S(pk.into()),
    )]);
    if let Some(sk) = sk {
        key.insert("sk".into(), AttributeValue::S(sk.into()));
    }
    sdk.get_item()
        .table_name(table)
        .set_key(Some(key))
        .send()
        .await
        .unwrap()
        .item
}

async fn object(s3: &LocalS3, key: &str) -> Option<Vec<u8>> {
    match s3.admin().get_object().bucket(BUCKET).key(key).send().await {
        Ok(out) => Some(out.body.collect().await.unwrap().into_bytes().to_vec()),
        Err(e) => {
            let e = aws_sdk_s3::error::DisplayErrorContext(e).to_string();
            assert!(e.contains("NoSuchKey"), "{e}");
            None
        }
    }
}

async fn keys_under(s3: &LocalS3, prefix: &str) -> Vec<String> {
    let out = s3
        .admin()
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// A plain HTTP/1.1 GET of `url` (no AWS client, as a browser would): status and body.
async fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("a local http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut body = answer[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[line_end + 2..line_end + 2 + size]);
        b = &b[line_end + 4 + size..];
    }
}

#[tokio::test]
async fn a_save_uploads_the_file_and_stores_pydynox_map_which_reads_back() {
    let t = setup().await;
    let bytes = data(300_000, 1);
    let file = S3File::new("report.pdf", bytes.clone())
        .content_type("application/pdf")
        .metadata("author", "ada");
    let mut d = doc("DOC#1", file);
    t.client.save(&mut d).await.unwrap();

    // The model now describes the stored object.
    let stored = d.content.stored().expect("uploaded").clone();
    assert_eq!(stored.bucket, BUCKET);
    assert_eq!(stored.key, "docs/DOC#1/v1/report.pdf");
    assert_eq!(stored.size, 300_000);
    assert!(!stored.etag.is_empty() && !stored.etag.contains('"'));

    // The item holds pydynox's map, and nothing of the bytes.
    let item = raw_item(&t.local, "documents", "DOC#1", Some("v1"))
        .await
        .unwrap();
    let AttributeValue::M(m) = &item["content"] else {
        panic!("{item:?}")
    };
    let mut names: Vec<&str> = m.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["bucket", "content_type", "etag", "key", "metadata", "size"]
    );
    assert_eq!(m["size"], AttributeValue::N("300000".into()));
    assert_eq!(
        m["content_type"],
        AttributeValue::S("application/pdf".into())
    );
    assert_eq!(
        m["metadata"],
        AttributeValue::M(HashMap::from([(
            "author".to_owned(),
            AttributeValue::S("ada".into())
        )]))
    );
    assert!(!item.contains_key("thumbnail"));
    assert!(
        dynox::size::item_size(&item) < 1000,
        "only metadata is stored"
    );

    // The object is in S3 with its type and metadata.
    let head =
        t.s3.admin()
            .head_object()
            .bucket(BUCKET)
            .key(&stored.key)
            .send()
            .await
            .unwrap();
    assert_eq!(head.content_type(), Some("application/pdf"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("author"))
            .map(String::as_str),
        Some("ada")
    );

    // Read back: metadata without an S3 call, the bytes on demand, three ways.
    let back = t
        .client
        .get::<Document>(Document::key("DOC#1", "v1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, d);
    assert_eq!(back.content_object().bytes(&t.client).await.unwrap(), bytes);
    let mut streamed = Vec::new();
    let n = back
        .content_object()
        .write_to(&t.client, &mut streamed)
        .await
        .unwrap();
    assert_eq!((n, streamed == bytes), (300_000, true));
    let dir = std::env::temp_dir().join(format!("dynox-s3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.pdf");
    back.content_object()
        .save_to(&t.client, &path)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "no partial file is left beside it");
    std::fs::remove_dir_all(&dir).unwrap();

    // The S3 requests are in the client's figures, under their operations and the model.
    let m = t.client.metrics();
    assert_eq!(m.operation("PutObject").requests, 1);
    assert_eq!(m.operation("GetObject").requests, 3);
    assert_eq!(m.operation("GetObject").errors, 0);
    assert!(
        m.model::<Document>().total.requests >= 6,
        "{:?}",
        m.model::<Document>()
    );

    // A presigned URL works without AWS credentials; an absent optional field has no object.
    let url = back
        .content_object()
        .presigned_url(&t.client, std::time::Duration::from_secs(600))
        .await
        .unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    // Signed over the host alone: whoever uses it sends no header of dynox's (If-Match, Range).
    assert!(
        url.contains("X-Amz-SignedHeaders=host&") || url.ends_with("X-Amz-SignedHeaders=host"),
        "{url}"
    );
    let (status, body) = http_get(&url).await;
    assert_eq!((status, body == bytes), (200, true));
    let e = back.thumbnail_object().bytes(&t.client).await.unwrap_err();
    assert!(e.is_validation(), "{e}");
    let e = back
        .content_object()
        .presigned_url(&t.client, std::time::Duration::from_secs(8 * 24 * 3600))
        .await
        .unwrap_err();
    assert!(e.is_validation(), "{e}");
}

#[tokio::test]
async fn an_item_pydynox_wrote_is_read_and_ours_has_its_shape() {
    let t = setup().await;
    // pydynox's S3Attribute: the object under prefix + pk/sk + "/" + name, the item a map with
    // bucket, key, size, etag and the optional content_type, last_modified, version_id, metadata.
    let bytes = b"written by pydynox".to_vec();
    let key = "docs/DOC#PY/v1/notes.txt";
    let put =
        t.s3.admin()
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(bytes.clone().into())
            .send()
            .await
            .unwrap();
    let etag = put.e_tag().unwrap().trim_matches('"').to_owned();
    let s = |v: &str| AttributeValue::S(v.into());
    let map = HashMap::from([
        ("bucket".to_owned(), s(BUCKET)),
        ("key".to_owned(), s(key)),
        (
            "size".to_owned(),
            AttributeValue::N(bytes.len().to_string()),
        ),
        ("etag".to_owned(), s(&etag)),
        ("content_type".to_owned(), s("text/plain")),
        ("last_modified".to_owned(), s("2026-11-30T08:15:00+00:00")),
        (
            "metadata".to_owned(),
            AttributeValue::M(HashMap::from([("source".to_owned(), s("pydynox"))])),
        ),
    ]);
    let sdk = aws_sdk_dynamodb::Client::new(&t.local.unenforced_sdk_config());
    sdk.put_item()
        .table_name("documents")
        .item("pk", s("DOC#PY"))
        .item("sk", s("v1"))
        .item("content", AttributeValue::M(map))
        .send()
        .await
        .unwrap();
    let back = t
        .client
        .get::<Document>(Document::key("DOC#PY", "v1"))
        .await
        .unwrap()
        .unwrap();
    let r = back.content.stored().unwrap();
    assert_eq!(r.key, key);
    assert_eq!(r.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        r.last_modified.as_deref(),
        Some("2026-11-30T08:15:00+00:00")
    );
    assert_eq!(r.metadata["source"], "pydynox");
    assert_eq!(back.content_object().bytes(&t.client).await.unwrap(), bytes);

    // Written back by dynox (another field changed), the map keeps every entry pydynox reads.
    let mut changed = back.clone();
    changed.title = Some("edited".into());
    t.client.put(&changed).await.unwrap();
    let item = raw_item(&t.local, "documents", "DOC#PY", Some("v1"))
        .await
        .unwrap();
    let AttributeValue::M(m) = &item["content"] else {
        panic!()
    };
    for (name, kind) in [
        ("bucket", "S"),
        ("key", "S"),
        ("size", "N"),
        ("etag", "S"),
        ("content_type", "S"),
        ("last_modified", "S"),
        ("metadata", "M"),
    ] {
        let got = match &m[name] {
            AttributeValue::S(_) => "S",
            AttributeValue::N(_) => "N",
            AttributeValue::M(_) => "M",
            _ => "other",
        };
        assert_eq!(got, kind, "{name}");
    }
    assert!(!m.contains_key("version_id"), "absent stays absent");
}

#[tokio::test]
async fn a_failed_upload_writes_no_item_and_removes_the_objects_before_it() {
    let t = setup().await;
    let pair = Pair {
        id: "P1".into(),
        first: S3Object::file("a.bin", data(1000, 2)),
        second: S3Object::file("b.bin", data(1000, 3)),
    };
    let e = t.client.put(&pair).await.unwrap_err();
    assert!(e.is_s3(), "{e}");
    assert!(e.to_string().contains("dynox-absent"), "{e}");
    assert!(raw_item(&t.local, "pairs", "P1", None).await.is_none());
    assert_eq!(keys_under(&t.s3, "pairs/").await, Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_item_write_removes_the_objects_it_created_and_never_an_older_one() {
    let t = setup().await;
    // A new item whose write is refused: its new object goes.
    let d = doc("DOC#2", S3File::new("a.txt", b"first".to_vec()));
    let f = Document::fields();
    let e = t
        .client
        .put(&d)
        .condition(f.title.exists())
        .await
        .unwrap_err();
    assert!(e.is_condition_failed(), "{e}");
    assert_eq!(keys_under(&t.s3, "docs/DOC#2/").await, Vec::<String>::new());

    // An item stored with its object; a refused write of the same key and file name must not
    // touch the object the stored item points at: its upload goes beside it, and is removed.
    let mut d = doc("DOC#3", S3File::new("a.txt", b"first".to_vec()));
    t.client.save(&mut d).await.unwrap();
    let again = doc("DOC#3", S3File::new("a.txt", b"second".to_vec()));
    let e = t.client.put(&again).if_not_exists().await.unwrap_err();
    assert!(e.is_condition_failed(), "{e}");
    assert_eq!(
        keys_under(&t.s3, "docs/DOC#3/").await,
        ["docs/DOC#3/v1/a.txt"]
    );
    let stored = t
        .client
        .get::<Document>(Document::key("DOC#3", "v1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.content_object().bytes(&t.client).await.unwrap(),
        b"first"
    );

    // Written for real, the same file name gets a key of its own, and the object the item no
    // longer holds goes (the field is delete_with_item).
    t.client.put(&again).await.unwrap();
    let keys = keys_under(&t.s3, "docs/DOC#3/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].starts_with("docs/DOC#3/v1/") && keys[0].ends_with("/a.txt"),
        "{keys:?}"
    );
    assert_ne!(keys[0], "docs/DOC#3/v1/a.txt");
    let stored = t
        .client
        .get::<Document>(Document::key("DOC#3", "v1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.content.stored().unwrap().key, keys[0]);
    assert_eq!(
        stored.content_object().bytes(&t.client).await.unwrap(),
        b"second"
    );

    // A loaded item saved with another file: the new one is uploaded, the old one removed.
    let mut tracked = t
        .client
        .load::<Document>(Document::key("DOC#3", "v1"))
        .await
        .unwrap()
        .unwrap();
    tracked.content = S3File::new("b.txt", b"third".to_vec()).into();
    t.client.save_tracked(&mut tracked).await.unwrap();
    assert_eq!(
        keys_under(&t.s3, "docs/DOC#3/").await,
        ["docs/DOC#3/v1/b.txt"]
    );
    assert_eq!(tracked.content.stored().unwrap().key, "docs/DOC#3/v1/b.txt");

    // File names are the last part of a key: no `/`, `.` or `..`.
    for bad in ["../x", "a/b", ".", ""] {
        let e = t
            .client
            .put(&doc("DOC#3b", S3File::new(bad, b"x".to_vec())))
            .await
            .unwrap_err();
        assert!(e.is_validation(), "{bad:?}: {e}");
    }
}

#[tokio::test]
async fn a_removal_that_fails_too_names_the_orphaned_objects() {
    let local = LocalDynamo::start().await.unwrap();
    // S3 grants the upload but not the removal.
    let policy = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::dynox-docs/docs/*"}]}"#;
    let s3 = LocalS3::start().await.unwrap();
    s3.create_bucket(BUCKET).await.unwrap();
    let s3 = s3
        .enforce(dynox_testing::iam::Enforcer::from_json(policy).unwrap())
        .unwrap();
    let client = local.client().with_s3(s3.s3_client());
    local.create_table::<Document>(&client).await.unwrap();
    let d = doc("DOC#4", S3File::new("a.txt", b"orphan".to_vec()));
    let e = client
        .put(&d)
        .condition(Document::fields().title.exists())
        .await
        .unwrap_err();
    let dynox::Error::OrphanedObjects {
        objects,
        cleanup,
        source,
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(
        objects,
        &[(BUCKET.to_owned(), "docs/DOC#4/v1/a.txt".to_owned())]
    );
    assert!(cleanup.is_access_denied(), "{cleanup}");
    let dynox::Error::AccessDenied {
        action, resource, ..
    } = &**cleanup
    else {
        panic!("{cleanup}")
    };
    assert_eq!(action.as_deref(), Some("s3:DeleteObject"));
    assert_eq!(
        resource.as_deref(),
        Some("arn:aws:s3:::dynox-docs/docs/DOC#4/v1/a.txt")
    );
    assert!(source.is_condition_failed(), "{source}");
    assert!(
        e.to_string()
            .contains("s3://dynox-docs/docs/DOC#4/v1/a.txt"),
        "{e}"
    );
    let denials = s3.enforcer().unwrap().denials();
    assert!(
        denials.iter().any(|d| d.action == "s3:DeleteObject"),
        "{denials:?}"
    );
}

#[tokio::test]
async fn a_lost_answer_keeps_the_objects_the_item_may_point_at() {
    use dynox_testing::faults::{FaultPlan, FaultProxy, Faults};
    let t = setup().await;
    // Every PutItem is applied and its answer lost.
    let plan = FaultPlan::new(9).operation(
        "PutItem",
        Faults {
            reset_after: 1.0,
            ..Faults::default()
        },
    );
    let proxy = FaultProxy::in_front_of(&t.local, plan).unwrap();
    let client = proxy.client().with_s3(t.s3.s3_client());
    let d = doc("DOC#5", S3File::new("a.txt", b"kept".to_vec()));
    let e = client.put(&d).if_not_exists().await.unwrap_err();
    assert!(
        !matches!(e, dynox::Error::OrphanedObjects { .. }) && !e.is_condition_failed(),
        "{e}"
    );
    // The item was written, and the object it points at is there.
    let item = raw_item(&t.local, "documents", "DOC#5", Some("v1")).await;
    assert!(item.is_some());
    assert_eq!(
        object(&t.s3, "docs/DOC#5/v1/a.txt").await.as_deref(),
        Some(&b"kept"[..])
    );
}

#[tokio::test]
async fn deleting_the_item_deletes_the_objects_declared_to_go_with_it() {
    let t = setup().await;
    let mut d = doc("DOC#6", S3File::new("a.txt", b"content".to_vec()));
    d.thumbnail = Some(S3Object::file("t.png", b"thumb".to_vec()));
    t.client.save(&mut d).await.unwrap();
    assert!(object(&t.s3, "thumbs/DOC#6/v1/t.png").await.is_some());
    let old = t
        .client
        .delete::<Document>(Document::key("DOC#6", "v1"))
        .await
        .unwrap();
    assert!(
        old.is_none(),
        "the old item is only returned when asked for"
    );
    assert!(object(&t.s3, "docs/DOC#6/v1/a.txt").await.is_none());
    // The thumbnail is not declared delete_with_item.
    assert!(object(&t.s3, "thumbs/DOC#6/v1/t.png").await.is_some());
}

#[tokio::test]
async fn an_item_that_no_longer_matches_its_object_is_noticed_or_refused() {
    let t = setup().await;
    let mut d = doc("DOC#7", S3File::new("a.txt", b"content".to_vec()));
    t.client.save(&mut d).await.unwrap();
    let sdk = aws_sdk_dynamodb::Client::new(&t.local.unenforced_sdk_config());
    let edit = |path: &'static str, value: AttributeValue| {
        let sdk = sdk.clone();
        async move {
            sdk.update_item()
                .table_name("documents")
                .key("pk", AttributeValue::S("DOC#7".into()))
                .key("sk", AttributeValue::S("v1".into()))
                .update_expression("SET content.#p = :v")
                .expression_attribute_names("#p", path)
                .expression_attribute_values(":v", value)
                .send()
                .await
                .unwrap();
        }
    };
    let read = || async {
        t.client
            .get::<Document>(Document::key("DOC#7", "v1"))
            .await
            .unwrap()
            .unwrap()
    };
    // Another size than the object's.
    edit("size", AttributeValue::N("3".into())).await;
    let e = read()
        .await
        .content_object()
        .bytes(&t.client)
        .await
        .unwrap_err();
    assert!(e.is_object_changed(), "{e}");
    edit("size", AttributeValue::N("7".into())).await;
    assert_eq!(
        read()
            .await
            .content_object()
            .bytes(&t.client)
            .await
            .unwrap(),
        b"content"
    );
    // Another ETag.
    edit(
        "etag",
        AttributeValue::S("0123456789abcdef0123456789abcdef".into()),
    )
    .await;
    let e = read()
        .await
        .content_object()
        .bytes(&t.client)
        .await
        .unwrap_err();
    assert!(e.is_object_changed(), "{e}");
    // Another field's objects, or another bucket: refused before any request.
    edit("key", AttributeValue::S("thumbs/DOC#7/v1/a.txt".into())).await;
    let before = t.s3.enforcer().map(|e| e.denials().len());
    let e = read()
        .await
        .content_object()
        .bytes(&t.client)
        .await
        .unwrap_err();
    assert!(
        e.is_validation() && e.to_string().contains("outside"),
        "{e}"
    );
    assert_eq!(t.s3.enforcer().map(|e| e.denials().len()), before);
    edit("key", AttributeValue::S("docs/DOC#7/v1/a.txt".into())).await;
    edit("bucket", AttributeValue::S("someone-elses".into())).await;
    let e = read()
        .await
        .content_object()
        .presigned_url(&t.client, std::time::Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(e.is_validation(), "{e}");
    // A deleted object is missing.
    edit("bucket", AttributeValue::S(BUCKET.into())).await;
    t.s3.admin()
        .delete_object()
        .bucket(BUCKET)
        .key("docs/DOC#7/v1/a.txt")
        .send()
        .await
        .unwrap();
    let e = read()
        .await
        .content_object()
        .bytes(&t.client)
        .await
        .unwrap_err();
    assert!(e.is_object_missing() || e.is_object_changed(), "{e}");
}

#[tokio::test]
async fn files_above_the_threshold_go_up_in_parts() {
    let t = setup().await;
    let bytes = data(11 * 1024 * 1024 + 17, 5);
    let mut v = Video {
        id: "V1".into(),
        data: S3Object::file("clip.mp4", bytes.clone()),
    };
    t.client.save(&mut v).await.unwrap();
    let r = v.data.stored().unwrap();
    assert_eq!(r.size, bytes.len() as u64);
    assert!(r.etag.ends_with("-3"), "three parts: {}", r.etag);
    let back = t
        .client
        .get::<Video>(Video::key("V1"))
        .await
        .unwrap()
        .unwrap();
    assert!(back.data_object().bytes(&t.client).await.unwrap() == bytes);
    // A small one is one PutObject.
    let mut small = Video {
        id: "V2".into(),
        data: S3Object::file("clip.mp4", data(1000, 6)),
    };
    t.client.save(&mut small).await.unwrap();
    assert!(!small.data.stored().unwrap().etag.contains('-'));
}

#[tokio::test]
async fn batch_writes_and_transactions_refuse_files_they_would_not_upload() {
    let t = setup().await;
    let d = doc("DOC#8", S3File::new("a.txt", b"x".to_vec()));
    let e = dynox::batch::Write::put(&d).unwrap_err();
    assert!(
        e.is_validation() && e.to_string().contains("content"),
        "{e}"
    );
    assert!(
        raw_item(&t.local, "documents", "DOC#8", Some("v1"))
            .await
            .is_none()
    );
}

/// A TCP proxy that cuts the first large answer after `cut_at` bytes (a connection lost
/// mid-body), then forwards everything whole.
struct Cutter {
    endpoint: String,
    cuts: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Cutter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn cutter(upstream: &str, cut_at: usize, times: usize) -> Cutter {
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let cuts = Arc::new(AtomicUsize::new(0));
    let connections = Arc::new(AtomicUsize::new(0));
    let (c, n) = (cuts.clone(), connections.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut down, _)) = listener.accept().await else {
                return;
            };
            n.fetch_add(1, Ordering::SeqCst);
            let upstream = upstream.clone();
            let cuts = c.clone();
            tokio::spawn(async move {
                let Ok(up) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut up_read, mut up_write) = up.into_split();
                let (mut down_read, mut down_write) = down.split();
                let to_up = tokio::io::copy(&mut down_read, &mut up_write);
                let cutting = AtomicBool::new(false);
                let to_down = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut sent = 0usize;
                    loop {
                        let n = match up_read.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if sent + n > cut_at
                            && !cutting.load(Ordering::SeqCst)
                            && cuts.fetch_add(1, Ordering::SeqCst) < times
                        {
                            cutting.store(true, Ordering::SeqCst);
                            let keep = cut_at.saturating_sub(sent);
                            let _ = down_write.write_all(&buf[..keep]).await;
                            return;
                        }
                        sent += n;
                        if down_write.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                tokio::select! {
                    _ = to_up => {}
                    _ = to_down => {}
                }
            });
        }
    });
    Cutter {
        endpoint,
        cuts,
        connections,
        task,
    }
}

#[tokio::test]
async fn a_body_cut_mid_download_is_resumed_and_a_file_is_never_half_written() {
    let t = setup().await;
    let bytes = data(2 * 1024 * 1024, 7);
    let mut d = doc("DOC#9", S3File::new("big.bin", bytes.clone()));
    t.client.save(&mut d).await.unwrap();

    // The first answer is cut after 300 KB: the download goes on from there.
    let proxy = cutter(t.s3.endpoint(), 300_000, 1).await;
    let through =
        t.s3.s3_client()
            .config()
            .to_builder()
            .endpoint_url(&proxy.endpoint)
            .build();
    let client = t
        .client
        .with_s3(aws_sdk_s3::Client::from_conf(through.clone()));
    let got = d.content_object().bytes(&client).await.unwrap();
    assert!(got == bytes, "resumed to the same bytes");
    assert!(proxy.cuts.load(Ordering::SeqCst) >= 1);
    assert!(
        proxy.connections.load(Ordering::SeqCst) >= 2,
        "a second request resumed it"
    );

    // Every answer cut: the download fails, and the file it was saving is not there, whole or
    // in part.
    let proxy = cutter(t.s3.endpoint(), 300_000, usize::MAX).await;
    let through =
        t.s3.s3_client()
            .config()
            .to_builder()
            .endpoint_url(&proxy.endpoint)
            .build();
    let client = t.client.with_s3(aws_sdk_s3::Client::from_conf(through));
    let dir = std::env::temp_dir().join(format!("dynox-s3-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.bin");
    let e = d
        .content_object()
        .save_to(&client, &path)
        .await
        .unwrap_err();
    assert!(e.is_s3(), "{e}");
    assert!(e.to_string().contains("cut short"), "{e}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing left");
    std::fs::remove_dir_all(&dir).unwrap();
}
