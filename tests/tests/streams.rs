//! DynamoDB Streams against the embedded engine (it serves the streams API): every change of a
//! mixed workload exactly once, in order per item, with the images the view carries; a consumer
//! restarted from its checkpoint; poisoned records; a table without a stream; faults on the
//! streams requests through the fault proxy.

use dynox::streams::{
    Change, Checkpoint, OnUndecodable, Record, StartAt, StreamBuilder, StreamReader,
};
use dynox::table::StreamView;
use dynox::{AttributeValue, Client, Item, Model};
use dynox_testing::LocalDynamo;
use dynox_testing::faults::{FaultPlan, FaultProxy, Faults};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "accounts")]
struct Account {
    #[dynox(partition_key)]
    id: String,
    balance: i64,
}

/// The same table read as another model, whose `owner` field no account has.
#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "accounts")]
struct Strict {
    #[dynox(partition_key)]
    id: String,
    balance: i64,
    owner: String,
}

fn account(id: &str, balance: i64) -> Account {
    Account {
        id: id.into(),
        balance,
    }
}

async fn table_with_stream(view: StreamView) -> (LocalDynamo, Client) {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    client.create_table::<Account>().stream(view).await.unwrap();
    client
        .wait_until_active::<Account>(Duration::from_secs(30))
        .await
        .unwrap();
    (local, client)
}

/// A mixed workload: what each item goes through, in order.
async fn workload(client: &Client) -> Vec<(&'static str, &'static str, Option<i64>, Option<i64>)> {
    let f = Account::fields();
    client.put(&account("a", 10)).await.unwrap();
    client.put(&account("b", 20)).await.unwrap();
    client
        .update::<Account>(Account::key("a"))
        .action(f.balance.add(5))
        .await
        .unwrap();
    client.put(&account("c", 30)).await.unwrap();
    client.delete::<Account>(Account::key("b")).await.unwrap();
    client.put(&account("a", 1)).await.unwrap(); // a whole replace is a MODIFY
    client.delete::<Account>(Account::key("c")).await.unwrap();
    // (event, key, old balance, new balance)
    vec![
        ("INSERT", "a", None, Some(10)),
        ("INSERT", "b", None, Some(20)),
        ("MODIFY", "a", Some(10), Some(15)),
        ("INSERT", "c", None, Some(30)),
        ("REMOVE", "b", Some(20), None),
        ("MODIFY", "a", Some(15), Some(1)),
        ("REMOVE", "c", Some(30), None),
    ]
}

/// A read to the stream's current end, polling briskly.
fn caught_up<T: dynox::FromItem + Send + 'static>(
    builder: StreamBuilder<Account, T>,
) -> StreamBuilder<Account, T> {
    builder
        .poll_interval(Duration::from_millis(20))
        .until_caught_up()
}

/// Every record the reader yields. With `transient`, a failure that outlived its retries is
/// passed over (calling again goes on from where the reader was).
async fn drain<T: dynox::FromItem + Send + std::fmt::Debug + 'static>(
    mut reader: StreamReader<Account, T>,
    transient: bool,
) -> Vec<Record<T>> {
    let mut out = Vec::new();
    while let Some(r) = reader.next().await {
        match r {
            Ok(r) => out.push(r),
            Err(e)
                if transient && (e.is_throttled() || e.is_outcome_unknown() || e.is_timeout()) => {}
            Err(e) => panic!("{e}"),
        }
        assert!(out.len() < 1_000, "a runaway reader: {:?}", &out[..3]);
    }
    out
}

async fn read_all<T: dynox::FromItem + Send + std::fmt::Debug + 'static>(
    builder: StreamBuilder<Account, T>,
) -> Vec<Record<T>> {
    drain(caught_up(builder).open().await.unwrap(), false).await
}

async fn read_all_from(client: &Client, checkpoint: Checkpoint) -> Vec<Record<Account>> {
    let reader = caught_up(client.stream::<Account>())
        .resume(checkpoint)
        .await
        .unwrap();
    drain(reader, false).await
}

fn id_of(keys: &Item) -> String {
    keys["id"].as_s().unwrap().clone()
}

#[tokio::test]
async fn every_change_appears_once_in_order_with_the_images_its_view_carries() {
    for view in [
        StreamView::NewAndOldImages,
        StreamView::NewImage,
        StreamView::OldImage,
        StreamView::KeysOnly,
    ] {
        let (_local, client) = table_with_stream(view).await;
        let expected = workload(&client).await;
        let records = read_all(client.stream::<Account>()).await;
        assert_eq!(records.len(), expected.len(), "{view:?}: once each");
        let (has_old, has_new) = match view {
            StreamView::NewAndOldImages => (true, true),
            StreamView::NewImage => (false, true),
            StreamView::OldImage => (true, false),
            StreamView::KeysOnly => (false, false),
        };
        // In order per item (one shard here: in write order overall), with the right images.
        let mut seen_ids = BTreeMap::new();
        for (r, (event, id, old, new)) in records.iter().zip(&expected) {
            assert_eq!(
                (r.change.event_name(), id_of(&r.keys).as_str()),
                (*event, *id)
            );
            let old_balance = r.change.old_image().map(|a| a.balance);
            let new_balance = r.change.new_image().map(|a| a.balance);
            assert_eq!(
                old_balance,
                old.filter(|_| has_old),
                "{view:?} {event} {id}"
            );
            assert_eq!(
                new_balance,
                new.filter(|_| has_new),
                "{view:?} {event} {id}"
            );
            assert_eq!(r.view, Some(view));
            assert!(r.approximate_creation_time.is_some());
            assert!(!r.is_ttl_deletion());
            *seen_ids.entry(r.event_id.clone()).or_insert(0) += 1;
        }
        assert!(seen_ids.values().all(|n| *n == 1), "event ids are unique");
        // Sequence numbers increase within the shard.
        for w in records.windows(2) {
            if w[0].shard_id == w[1].shard_id {
                let (a, b) = (&w[0].sequence_number, &w[1].sequence_number);
                assert!((a.len(), a) < (b.len(), b), "{a} then {b}");
            }
        }
    }
}

#[tokio::test]
async fn raw_records_carry_the_items_as_stored() {
    let (_local, client) = table_with_stream(StreamView::NewAndOldImages).await;
    client.put(&account("a", 7)).await.unwrap();
    let records = read_all(client.stream::<Account>().raw()).await;
    let Change::Insert(Some(item)) = &records[0].change else {
        panic!("{:?}", records[0].change)
    };
    assert_eq!(item["balance"], AttributeValue::N("7".into()));
}

#[tokio::test]
async fn a_consumer_restarted_from_its_checkpoint_sees_each_record_once() {
    let (_local, client) = table_with_stream(StreamView::NewImage).await;
    for i in 0..30 {
        client.put(&account(&format!("k{i:02}"), i)).await.unwrap();
    }
    // The first run reads 12 records (7 per GetRecords call), saves its checkpoint and stops.
    let mut reader = client
        .stream::<Account>()
        .limit(7)
        .poll_interval(Duration::from_millis(20))
        .until_caught_up()
        .open()
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..12 {
        let r = reader.next().await.unwrap().unwrap();
        seen.push(id_of(&r.keys));
    }
    let token = reader.checkpoint().to_token();
    drop(reader);

    // The second run resumes from the stored token: the 18 others, none again.
    let resumed = Checkpoint::parse(&token).unwrap();
    let mut reader = client
        .stream::<Account>()
        .limit(7)
        .poll_interval(Duration::from_millis(20))
        .until_caught_up()
        .resume(resumed)
        .await
        .unwrap();
    while let Some(r) = reader.next().await {
        seen.push(id_of(&r.unwrap().keys));
    }
    let expected: Vec<String> = (0..30).map(|i| format!("k{i:02}")).collect();
    assert_eq!(
        seen, expected,
        "each record once, in order, across the restart"
    );

    // Writes after the second run are all a third run sees.
    let token = reader.checkpoint().to_token();
    for i in 30..35 {
        client.put(&account(&format!("k{i:02}"), i)).await.unwrap();
    }
    let records = read_all_from(&client, Checkpoint::parse(&token).unwrap()).await;
    let ids: Vec<String> = records.iter().map(|r| id_of(&r.keys)).collect();
    assert_eq!(ids, ["k30", "k31", "k32", "k33", "k34"]);

    // A damaged or foreign checkpoint is refused before anything is read.
    assert!(Checkpoint::parse("{not json").unwrap_err().is_validation());
    let foreign = token.replace("table/accounts/stream", "table/other/stream");
    let err = client
        .stream::<Account>()
        .resume(Checkpoint::parse(&foreign).unwrap())
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
}

#[tokio::test]
async fn starting_positions() {
    let (_local, client) = table_with_stream(StreamView::NewImage).await;
    for i in 0..5 {
        client.put(&account(&format!("k{i}"), i)).await.unwrap();
    }
    let all = read_all(client.stream::<Account>()).await;
    assert_eq!(all.len(), 5);
    let third = &all[2];
    let from = |start: StartAt| read_all(client.stream::<Account>().start_at(start));
    let (shard_id, sequence_number) = (third.shard_id.clone(), third.sequence_number.clone());
    let at = from(StartAt::AtSequenceNumber {
        shard_id: shard_id.clone(),
        sequence_number: sequence_number.clone(),
    })
    .await;
    let after = from(StartAt::AfterSequenceNumber {
        shard_id,
        sequence_number,
    })
    .await;
    let ids =
        |records: &[Record<Account>]| records.iter().map(|r| id_of(&r.keys)).collect::<Vec<_>>();
    assert_eq!(ids(&at), ["k2", "k3", "k4"]);
    assert_eq!(ids(&after), ["k3", "k4"]);
    // Latest: only what is written after the reader opened.
    let mut latest = client
        .stream::<Account>()
        .start_at(StartAt::Latest)
        .poll_interval(Duration::from_millis(20))
        .open()
        .await
        .unwrap();
    client.put(&account("new", 9)).await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), latest.next())
        .await
        .expect("the new record arrives while polling")
        .unwrap()
        .unwrap();
    assert_eq!(id_of(&r.keys), "new");
    // A malformed sequence number is refused before sending.
    let err = client
        .stream::<Account>()
        .start_at(StartAt::AfterSequenceNumber {
            shard_id: third.shard_id.clone(),
            sequence_number: "12x".into(),
        })
        .open()
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    let err = client
        .stream::<Account>()
        .limit(0)
        .open()
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
}

#[tokio::test]
async fn a_poisoned_record_is_reported_with_what_it_holds_and_skipped_or_stops_the_reader() {
    let (_local, client) = table_with_stream(StreamView::NewImage).await;
    client.put(&account("good-1", 1)).await.unwrap();
    client
        .put(&Strict {
            id: "has-owner".into(),
            balance: 2,
            owner: "ann".into(),
        })
        .await
        .unwrap();
    client.put(&account("good-2", 3)).await.unwrap();

    // Read as Strict, the two accounts without `owner` are poisoned; the default skips them.
    let mut reader = client
        .stream::<Strict>()
        .poll_interval(Duration::from_millis(20))
        .until_caught_up()
        .open()
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    while let Some(r) = reader.next().await {
        outcomes.push(match r {
            Ok(r) => format!("ok {}", id_of(&r.keys)),
            Err(dynox::Error::RecordUndecodable { record, .. }) => {
                let Change::Insert(Some(raw)) = &record.change else {
                    panic!("the raw record: {:?}", record.change)
                };
                assert!(raw.contains_key("balance"), "the raw image is kept");
                format!("poisoned {}", id_of(&record.keys))
            }
            Err(e) => panic!("{e}"),
        });
    }
    assert_eq!(
        outcomes,
        ["poisoned good-1", "ok has-owner", "poisoned good-2"]
    );
    let skipped_past = reader.checkpoint().clone();

    // With Stop, the reader ends at the first poisoned record, and its checkpoint stays
    // before it: a consumer fixed to read it resumes at it.
    let mut reader = client
        .stream::<Strict>()
        .on_undecodable(OnUndecodable::Stop)
        .poll_interval(Duration::from_millis(20))
        .until_caught_up()
        .open()
        .await
        .unwrap();
    let err = reader.next().await.unwrap().unwrap_err();
    assert!(err.is_record_undecodable(), "{err}");
    assert!(reader.next().await.is_none(), "the reader ended");
    let stopped_at = reader.checkpoint().clone();
    assert_ne!(stopped_at, skipped_past);
    let fixed = read_all_from(&client, stopped_at).await;
    assert_eq!(
        fixed.len(),
        3,
        "resumed at the poisoned record, read as Account"
    );
}

#[tokio::test]
async fn a_table_without_a_stream_has_none_to_open() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Account>(&client).await.unwrap();
    let err = client.stream::<Account>().open().await.unwrap_err();
    assert!(err.is_no_stream(), "{err}");
}

#[tokio::test]
async fn faults_on_the_streams_requests_are_retried_and_lose_or_repeat_nothing() {
    let (local, client) = table_with_stream(StreamView::NewImage).await;
    for i in 0..40 {
        client.put(&account(&format!("k{i:02}"), i)).await.unwrap();
    }
    let storm = Faults {
        reset_after: 0.15,
        error_after: 0.15,
        throttle: 0.15,
        ..Faults::default()
    };
    let plan = FaultPlan::new(11)
        .operation("GetRecords", storm.clone())
        .operation("GetShardIterator", storm.clone())
        .operation("DescribeStream", storm);
    let proxy = FaultProxy::in_front_of(&local, plan).unwrap();
    let through = proxy.client();
    let reader = caught_up(through.stream::<Account>().limit(3))
        .open()
        .await
        .unwrap();
    let records = drain(reader, true).await;
    let ids: Vec<String> = records.iter().map(|r| id_of(&r.keys)).collect();
    let expected: Vec<String> = (0..40).map(|i| format!("k{i:02}")).collect();
    assert_eq!(ids, expected);
    let stats = proxy.stats();
    assert!(
        stats.total_injected() >= 3,
        "faults were injected: {stats:?}"
    );
    assert!(
        stats.forwarded < stats.requests,
        "some never reached the engine: {stats:?}"
    );
}
