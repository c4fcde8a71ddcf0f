//! Vector indexes and similarity search against the embedded engine.

use dynox::vector::Distance;
use dynox::{Client, Item, Model};
use dynox_testing::LocalDynamo;
use std::time::Duration;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(
    table = "docs",
    vector_index(
        name = "by-meaning",
        vector = "embedding",
        dimensions = 3,
        distance = "cosine",
        partition = "tenant",
        filters = ["lang"]
    )
)]
struct Doc {
    #[dynox(partition_key)]
    id: String,
    tenant: String,
    lang: String,
    // Search results do not carry the vector, so it decodes as empty there.
    #[dynox(default)]
    embedding: Vec<f32>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(
    table = "songs",
    vector_index(
        name = "by-sound",
        vector = "sound",
        dimensions = 2,
        distance = "euclidean"
    )
)]
struct Song {
    #[dynox(partition_key)]
    id: String,
    #[dynox(default)]
    sound: Vec<f32>,
}

fn doc(id: &str, tenant: &str, lang: &str, e: [f32; 3]) -> Doc {
    Doc {
        id: id.into(),
        tenant: tenant.into(),
        lang: lang.into(),
        embedding: e.to_vec(),
    }
}

async fn setup() -> (LocalDynamo, Client) {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Doc>(&client).await.unwrap();
    for d in [
        doc("a", "t1", "en", [1.0, 0.0, 0.0]),
        doc("b", "t1", "en", [0.9, 0.1, 0.0]),
        doc("c", "t1", "pt", [0.0, 1.0, 0.0]),
        doc("d", "t2", "en", [1.0, 0.0, 0.0]),
    ] {
        client.put(&d).await.unwrap();
    }
    (local, client)
}

#[tokio::test]
async fn search_is_scoped_ordered_and_filtered() {
    let (_local, client) = setup().await;
    let out = client
        .search::<DocByMeaning>([1.0, 0.0, 0.0])
        .partition("t1")
        .top_k(3)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = out.results.iter().map(|r| r.item.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"], "nearest first, within tenant t1 only");
    assert!(out.results[0].score <= out.results[1].score);

    let f = Doc::fields();
    let pt = client
        .search::<DocByMeaning>([1.0, 0.0, 0.0])
        .partition("t1")
        .filter(&f.lang, "pt")
        .send()
        .await
        .unwrap();
    assert_eq!(pt.results.len(), 1);
    assert_eq!(pt.results[0].item.id, "c");

    let projected = client
        .search::<DocByMeaning>([0.0, 1.0, 0.0])
        .partition("t1")
        .top_k(1)
        .project(&f.id)
        .send_as::<Item>()
        .await
        .unwrap();
    assert_eq!(projected.results[0].item.len(), 1);
}

#[tokio::test]
async fn bad_searches_are_refused_before_sending() {
    let (_local, client) = setup().await;
    let f = Doc::fields();
    let cases = [
        client
            .search::<DocByMeaning>([1.0, 0.0])
            .partition("t1")
            .send()
            .await,
        client
            .search::<DocByMeaning>([f32::NAN, 0.0, 0.0])
            .partition("t1")
            .send()
            .await,
        client.search::<DocByMeaning>([1.0, 0.0, 0.0]).send().await,
        client
            .search::<DocByMeaning>([1.0, 0.0, 0.0])
            .partition("t1")
            .top_k(0)
            .send()
            .await,
        client
            .search::<DocByMeaning>([1.0, 0.0, 0.0])
            .partition("t1")
            .filter(&f.id, "a")
            .send()
            .await,
    ];
    for r in cases {
        assert!(r.unwrap_err().is_validation());
    }
}

#[tokio::test]
async fn vector_indexes_are_created_described_and_deleted() {
    // An index added to a live table takes minutes to become searchable; this engine's clock
    // moves only when the test says so.
    let (local, clock) = LocalDynamo::embedded_with_clock().unwrap();
    let client = local.client();
    // Created with the table...
    local.create_table::<Song>(&client).await.unwrap();
    let d = client
        .describe_vector_index::<SongBySound>()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.dimensions, Some(2));
    client
        .put(&Song {
            id: "s1".into(),
            sound: vec![0.0, 1.0],
        })
        .await
        .unwrap();
    client
        .put(&Song {
            id: "s2".into(),
            sound: vec![3.0, 4.0],
        })
        .await
        .unwrap();
    let near = client
        .search::<SongBySound>([0.0, 0.0])
        .top_k(1)
        .send()
        .await
        .unwrap();
    assert_eq!(near.results[0].item.id, "s1");
    assert_eq!(SongBySound::distance(), Distance::Euclidean);

    // ... removed, and added back to the existing table.
    client.delete_vector_index::<SongBySound>().await.unwrap();
    wait_for(&client, false).await;
    client.create_vector_index::<SongBySound>().await.unwrap();
    let err = client
        .search::<SongBySound>([3.0, 4.0])
        .send()
        .await
        .unwrap_err();
    assert!(
        err.is_validation() || matches!(err, dynox::Error::Service { .. }),
        "{err:?}"
    );
    clock.advance(Duration::from_secs(60));
    wait_for(&client, true).await;
    let near = client
        .search::<SongBySound>([3.0, 4.0])
        .top_k(1)
        .send()
        .await
        .unwrap();
    assert_eq!(near.results[0].item.id, "s2");
}

async fn wait_for(client: &Client, present: bool) {
    for _ in 0..100 {
        let d = client.describe_vector_index::<SongBySound>().await.unwrap();
        let active = d.as_ref().and_then(|d| d.index_status.clone())
            == Some(aws_sdk_dynamodb::types::IndexStatus::Active);
        if (present && active) || (!present && d.is_none()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("vector index never reached the expected state");
}

trait DistanceOf {
    fn distance() -> Distance;
}

impl<V: dynox::vector::VectorIndex> DistanceOf for V {
    fn distance() -> Distance {
        V::DEF.distance
    }
}
