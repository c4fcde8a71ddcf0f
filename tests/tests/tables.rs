//! Table operations, time to live, tags and consumed capacity, against the embedded engine.

use dynox::Model;
use dynox::capacity::Capacity;
use dynox::table::{Billing, Encryption, StreamView};
use dynox_testing::LocalDynamo;
use futures::TryStreamExt;
use std::time::Duration;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(
    table = "events-log",
    global_index(
        name = "by-kind",
        partition_key = "kind",
        sort_key = "at",
        projection = "keys_only"
    ),
    global_index(name = "by-user", partition_key = "user")
)]
struct Event {
    #[dynox(partition_key)]
    id: String,
    #[dynox(sort_key)]
    at: u64,
    kind: String,
    user: String,
    expires: Option<u64>,
}

#[derive(Model, Debug)]
#[dynox(table = "plain-table")]
struct Plain {
    #[dynox(partition_key)]
    id: Vec<u8>,
}

#[tokio::test]
async fn create_with_every_option_then_describe() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    assert!(!client.table_exists::<Event>().await.unwrap());
    client
        .create_table::<Event>()
        .billing(Billing::Provisioned { read: 5, write: 3 })
        .infrequent_access(true)
        .encryption(Encryption::AwsManaged)
        .stream(StreamView::NewAndOldImages)
        .deletion_protection(true)
        .tag("team", "payments")
        .tag("env", "test")
        .send()
        .await
        .unwrap();
    client
        .wait_until_active::<Event>(Duration::from_secs(30))
        .await
        .unwrap();
    assert!(client.table_exists::<Event>().await.unwrap());
    let t = client.describe_table::<Event>().await.unwrap();
    let keys: Vec<&str> = t.key_schema().iter().map(|k| k.attribute_name()).collect();
    assert_eq!(keys, ["id", "at"]);
    let mut gsis: Vec<&str> = t
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name())
        .collect();
    gsis.sort();
    assert_eq!(gsis, ["by-kind", "by-user"]);
    assert_eq!(
        t.provisioned_throughput()
            .and_then(|p| p.read_capacity_units()),
        Some(5)
    );
    assert!(t.stream_specification().is_some_and(|s| s.stream_enabled()));
    assert_eq!(t.deletion_protection_enabled(), Some(true));
    let tags = client.list_table_tags::<Event>().await.unwrap();
    assert_eq!(tags.get("team").map(String::as_str), Some("payments"));

    // Deletion protection refuses a delete until it is turned off.
    assert!(client.delete_table::<Event>().await.is_err());
    client
        .update_table::<Event>()
        .deletion_protection(false)
        .send()
        .await
        .unwrap();
    client.delete_table::<Event>().await.unwrap();
    client
        .wait_until_deleted::<Event>(Duration::from_secs(30))
        .await
        .unwrap();
    assert!(!client.table_exists::<Event>().await.unwrap());
}

#[tokio::test]
async fn update_indexes_billing_and_stream() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Event>(&client).await.unwrap();
    client
        .update_table::<Event>()
        .delete_index("by-user")
        .send()
        .await
        .unwrap();
    client
        .wait_until_active::<Event>(Duration::from_secs(30))
        .await
        .unwrap();
    let t = client.describe_table::<Event>().await.unwrap();
    assert_eq!(t.global_secondary_indexes().len(), 1);
    client
        .update_table::<Event>()
        .create_index("by-user")
        .send()
        .await
        .unwrap();
    client
        .wait_until_active::<Event>(Duration::from_secs(60))
        .await
        .unwrap();
    let t = client.describe_table::<Event>().await.unwrap();
    assert_eq!(t.global_secondary_indexes().len(), 2);
    client
        .update_table::<Event>()
        .billing(Billing::Provisioned { read: 2, write: 2 })
        .stream(Some(StreamView::KeysOnly))
        .send()
        .await
        .unwrap();
    let err = client
        .update_table::<Event>()
        .create_index("no-such-index")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_validation());
    let err = client
        .create_table::<Plain>()
        .billing(Billing::Provisioned { read: 0, write: 1 })
        .send()
        .await
        .unwrap_err();
    assert!(err.is_validation());
}

#[tokio::test]
async fn list_tables_pages_through_every_name() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Event>(&client).await.unwrap();
    local.create_table::<Plain>(&client).await.unwrap();
    let mut names: Vec<String> = client.list_tables().try_collect().await.unwrap();
    names.sort();
    assert_eq!(names, ["events-log", "plain-table"]);
}

#[tokio::test]
async fn time_to_live_and_tags() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Event>(&client).await.unwrap();
    client
        .enable_time_to_live::<Event>("expires")
        .await
        .unwrap();
    let ttl = client.describe_time_to_live::<Event>().await.unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires"));
    client.disable_time_to_live::<Event>().await.unwrap();
    client.disable_time_to_live::<Event>().await.unwrap();
    let ttl = client.describe_time_to_live::<Event>().await.unwrap();
    assert_ne!(
        ttl.time_to_live_status(),
        Some(&aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
    );

    client
        .tag_table::<Event>([("a", "1"), ("b", "2")])
        .await
        .unwrap();
    client.untag_table::<Event>(["a"]).await.unwrap();
    let tags = client.list_table_tags::<Event>().await.unwrap();
    assert_eq!(
        tags.into_iter().collect::<Vec<_>>(),
        [("b".to_string(), "2".to_string())]
    );
}

#[tokio::test]
async fn consumed_capacity_is_surfaced() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Event>(&client).await.unwrap();
    let e = Event {
        id: "e".into(),
        at: 1,
        kind: "k".into(),
        user: "u".into(),
        expires: None,
    };
    let put = client
        .put(&e)
        .return_consumed_capacity(Capacity::Indexes)
        .send_with_capacity()
        .await
        .unwrap();
    let cap = put.consumed_capacity.unwrap();
    assert_eq!(cap.table_name(), Some("events-log"));
    assert!(cap.capacity_units().unwrap() > 0.0);
    let got = client
        .get::<Event>(Event::key("e", 1))
        .return_consumed_capacity(Capacity::Total)
        .send_with_capacity()
        .await
        .unwrap();
    assert_eq!(got.value.unwrap(), e);
    assert!(got.consumed_capacity.is_some());
    let upd = client
        .update::<Event>(Event::key("e", 1))
        .action(Event::fields().kind.set("j"))
        .return_consumed_capacity(Capacity::Total)
        .send_with_capacity()
        .await
        .unwrap();
    assert!(upd.consumed_capacity.is_some());
    let del = client
        .delete::<Event>(Event::key("e", 1))
        .return_consumed_capacity(Capacity::Total)
        .send_with_capacity()
        .await
        .unwrap();
    assert!(del.consumed_capacity.is_some());
    // Without asking, none is reported.
    let got = client
        .get::<Event>(Event::key("e", 1))
        .send_with_capacity()
        .await
        .unwrap();
    assert!(got.consumed_capacity.is_none());
}

#[tokio::test]
async fn tables_by_hand() {
    use dynox::attr::Scalar;
    use dynox::table::TableSpec;
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    let t = client
        .create_table_by_spec(
            TableSpec::new("raw-table", "pk", Scalar::S).sort_key("sk", Scalar::N),
        )
        .await
        .unwrap();
    assert_eq!(t.table_name(), Some("raw-table"));
    assert_eq!(t.key_schema().len(), 2);
    let names: Vec<String> = client.list_tables().try_collect().await.unwrap();
    assert_eq!(names, ["raw-table"]);
}
