//! Batch reads and writes across tables, against the embedded engine.

use dynox::batch::{Retry, Write};
use dynox::{Client, Model};
use dynox_testing::LocalDynamo;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeSet;
use std::time::Duration;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "readings")]
struct Reading {
    #[dynox(partition_key)]
    sensor: String,
    #[dynox(sort_key)]
    at: u64,
    value: f64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "sensors")]
struct Sensor {
    #[dynox(partition_key)]
    id: String,
    place: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "missing-table")]
struct Ghost {
    #[dynox(partition_key)]
    id: String,
}

fn reading(i: u64) -> Reading {
    Reading {
        sensor: format!("s{}", i % 37),
        at: i,
        value: i as f64 / 4.0,
    }
}

async fn setup() -> (LocalDynamo, Client) {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Reading>(&client).await.unwrap();
    local.create_table::<Sensor>(&client).await.unwrap();
    (local, client)
}

#[tokio::test]
async fn ten_thousand_items_written_read_back_and_scanned_in_parallel() {
    let (_local, client) = setup().await;
    let readings: Vec<Reading> = (0..10_000).map(reading).collect();
    let sensors: Vec<Sensor> = (0..37)
        .map(|i| Sensor {
            id: format!("s{i}"),
            place: format!("room {i}"),
        })
        .collect();
    let out = client
        .batch_write()
        .put_all(&readings)
        .put_all(&sensors)
        .concurrency(8)
        .return_consumed_capacity(dynox::capacity::Capacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(out.written, 10_037);
    assert!(!out.consumed_capacity.is_empty());

    // Read every key back, across both tables, in chunks of 100.
    let mut got = client
        .batch_get()
        .get::<Reading>(readings.iter().map(|r| r.primary_key()))
        .get::<Sensor>(sensors.iter().map(|s| s.primary_key()))
        .send()
        .await
        .unwrap();
    let mut back = got.take::<Reading>().unwrap();
    back.sort_by_key(|r| r.at);
    assert_eq!(back, readings);
    assert_eq!(got.take::<Sensor>().unwrap().len(), 37);

    // A parallel scan over 8 segments returns each item exactly once.
    let scanned: Vec<Reading> = client.scan::<Reading>().parallel(8).all().await.unwrap();
    let unique: BTreeSet<u64> = scanned.iter().map(|r| r.at).collect();
    assert_eq!(scanned.len(), 10_000);
    assert_eq!(unique.len(), 10_000);
}

#[tokio::test]
async fn batch_get_dedups_and_skips_missing_keys() {
    let (_local, client) = setup().await;
    client.put(&reading(1)).await.unwrap();
    let mut got = client
        .batch_get()
        .get::<Reading>([
            Reading::key("s1", 1),
            Reading::key("s1", 1),
            Reading::key("s9", 999),
        ])
        .consistent::<Reading>()
        .send()
        .await
        .unwrap();
    assert_eq!(got.take::<Reading>().unwrap(), [reading(1)]);
    assert!(got.take::<Sensor>().unwrap().is_empty());
}

#[tokio::test]
async fn bad_batches_are_refused_before_anything_is_sent() {
    let (_local, client) = setup().await;
    let err = client
        .batch_write()
        .put(&reading(1))
        .put(&reading(2))
        .delete::<Reading>(Reading::key("s1", 1))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    let mut nan = reading(3);
    nan.value = f64::NAN;
    let err = client
        .batch_write()
        .put(&reading(4))
        .put(&nan)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_conversion(), "{err}");
    assert_eq!(client.scan::<Reading>().count().await.unwrap().count, 0);
}

/// `put_all` borrows its items and encodes them when their requests are built, but still checks
/// every item when it is added: one bad item, or one item named twice, refuses the whole batch
/// before a single request is sent, however many chunks come before it.
#[tokio::test]
async fn put_all_checks_every_item_before_anything_is_sent() {
    let (_local, client) = setup().await;
    let mut items: Vec<Reading> = (0..90).map(reading).collect();
    items[80].value = f64::NAN;
    let err = client
        .batch_write()
        .put_all(&items)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_conversion(), "{err}");
    items[80].value = 1.0;
    // The same item through `put_all` and a delete, or twice in `put_all`.
    let err = client
        .batch_write()
        .put_all(&items)
        .delete::<Reading>(Reading::key("s1", 1))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    let twice = [reading(5), reading(6), reading(5)];
    let err = client
        .batch_write()
        .put_all(&twice)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    assert_eq!(client.scan::<Reading>().count().await.unwrap().count, 0);
    // Borrowed and built writes together, with capacity only when asked for.
    let out = client
        .batch_write()
        .put_all(&items)
        .put(&Sensor {
            id: "s1".into(),
            place: "hall".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(out.written, 91);
    assert!(out.consumed_capacity.is_empty());
    let got: BTreeSet<u64> = client
        .scan::<Reading>()
        .items()
        .map_ok(|r| r.at)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got, (0..90).collect());
}

#[tokio::test]
async fn deletes_and_mixed_writes() {
    let (_local, client) = setup().await;
    let items: Vec<Reading> = (0..60).map(reading).collect();
    client.batch_write().put_all(&items).send().await.unwrap();
    let mut b = client.batch_write();
    for r in &items[..40] {
        b = b.delete::<Reading>(r.primary_key());
    }
    let out = b
        .put(&Sensor {
            id: "x".into(),
            place: "y".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(out.written, 41);
    assert_eq!(client.scan::<Reading>().count().await.unwrap().count, 20);
}

#[tokio::test]
async fn a_failed_request_reports_exactly_what_was_not_written() {
    let (_local, client) = setup().await;
    // 30 readings, then 30 writes to a table that does not exist: the chunks that touch the
    // missing table fail whole, including the readings that share them.
    let readings: Vec<Reading> = (0..30).map(reading).collect();
    let ghosts: Vec<Ghost> = (0..30)
        .map(|i| Ghost {
            id: format!("g{i}"),
        })
        .collect();
    let err = client
        .batch_write()
        .put_all(&readings)
        .put_all(&ghosts)
        .concurrency(1)
        .send()
        .await
        .unwrap_err();
    let dynox::Error::BatchWriteIncomplete {
        written,
        unwritten,
        outcome_unknown,
        cause,
    } = &err
    else {
        panic!("expected an incomplete batch, got {err:?}");
    };
    assert!(cause.as_ref().unwrap().is_not_found());
    assert!(
        outcome_unknown.is_empty(),
        "a missing table is a definite refusal"
    );
    assert_eq!(written + unwritten.len(), 60);
    assert_eq!(
        unwritten
            .iter()
            .filter(|w| w.table() == "missing-table")
            .count(),
        30
    );
    let stored: BTreeSet<u64> = client
        .scan::<Reading>()
        .items()
        .map_ok(|r| r.at)
        .try_collect()
        .await
        .unwrap();
    let reported: BTreeSet<u64> = unwritten
        .iter()
        .filter(|w| w.table() == "readings")
        .map(|w| match &w.key()["at"] {
            dynox::AttributeValue::N(n) => n.parse().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    // Every reading is either stored or reported unwritten, never both, never neither.
    assert_eq!(stored.len() + reported.len(), 30);
    assert!(stored.is_disjoint(&reported));
}

#[tokio::test]
async fn streaming_writer_keeps_bounded_requests_in_flight() {
    let (_local, client) = setup().await;
    let writes = futures::stream::iter(0..2_000u64).map(|i| Write::put(&reading(i)).unwrap());
    let retry = Retry {
        max_attempts: 5,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
    };
    let n = client.write_stream(writes, 3, retry).await.unwrap();
    assert_eq!(n, 2_000);
    assert_eq!(client.scan::<Reading>().count().await.unwrap().count, 2_000);

    // The same key twice in a stream: never in one request, and with one request in flight the
    // later write wins.
    let again = futures::stream::iter([
        Write::put(&Reading {
            value: 1.0,
            ..reading(5)
        })
        .unwrap(),
        Write::put(&Reading {
            value: 2.0,
            ..reading(5)
        })
        .unwrap(),
        Write::delete::<Reading>(&Reading::key("s6", 6)).unwrap(),
    ]);
    assert_eq!(client.write_stream(again, 1, retry).await.unwrap(), 3);
    let r = client
        .get::<Reading>(Reading::key("s5", 5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.value, 2.0);
    assert!(
        client
            .get::<Reading>(Reading::key("s6", 6))
            .await
            .unwrap()
            .is_none()
    );
}

#[test]
fn backoff_is_capped_with_full_jitter() {
    let r = Retry {
        max_attempts: 10,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    };
    for attempt in 1..30 {
        let d = r.delay(attempt);
        assert!(d <= Duration::from_millis(100), "{attempt}: {d:?}");
    }
    let spread: BTreeSet<Duration> = (0..50).map(|_| r.delay(3)).collect();
    assert!(spread.len() > 10, "jittered");
}

#[tokio::test]
async fn a_streaming_writer_stops_pulling_after_a_failed_request() {
    let (_local, client) = setup().await;
    let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = pulled.clone();
    let writes = futures::stream::iter(0..10_000u64).map(move |i| {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Write::put(&Ghost {
            id: format!("g{i}"),
        })
        .unwrap()
    });
    let err = client
        .write_stream(writes, 2, Retry::default())
        .await
        .unwrap_err();
    let dynox::Error::BatchWriteIncomplete {
        written,
        unwritten,
        outcome_unknown,
        cause,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*written, 0);
    assert!(outcome_unknown.is_empty());
    assert!(cause.as_ref().unwrap().is_not_found());
    let pulled = pulled.load(std::sync::atomic::Ordering::Relaxed);
    assert!(pulled < 10_000, "the stream was drained: {pulled}");
    assert_eq!(unwritten.len(), pulled, "every pulled write is reported");
}
