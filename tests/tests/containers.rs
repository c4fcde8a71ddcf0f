//! What a service sees when its database is a separate process that restarts, stalls or drops
//! off the network: the engine in a container of the project's image (`cargo xtask images`).
//!
//! Without a Docker Engine these tests fail with one line under `CI=true` and are skipped with
//! that line elsewhere.

use dynox::batch::{Retry, Write};
use dynox::layers::Resilience;
use dynox::{Client, Model};
use dynox_testing::containers::{self, DynamoDb};
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "docs")]
struct Doc {
    #[dynox(partition_key)]
    id: String,
    body: String,
}

fn doc(i: usize) -> Doc {
    Doc {
        id: format!("d{i:06}"),
        body: format!("body of {i}"),
    }
}

fn ids(writes: &[Write]) -> BTreeSet<String> {
    writes
        .iter()
        .map(|w| match &w.key()["id"] {
            dynox::AttributeValue::S(s) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

async fn engine_with_table() -> Option<(DynamoDb, Client)> {
    if !containers::engine_or_skip() {
        return None;
    }
    let db = DynamoDb::start().await.expect("the engine container");
    let client = db.client();
    client.create_table::<Doc>().send().await.unwrap();
    client
        .wait_until_active::<Doc>(Duration::from_secs(60))
        .await
        .unwrap();
    Some((db, client))
}

async fn stored(client: &Client) -> (usize, BTreeSet<String>) {
    let all = client.scan::<Doc>().all().await.unwrap();
    let n = all.len();
    (n, all.into_iter().map(|d| d.id).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_a_streaming_write_loses_and_duplicates_nothing() {
    let Some((db, client)) = engine_with_table().await else {
        return;
    };
    let n = 50_000;
    let pulled = Arc::new(AtomicUsize::new(0));
    let writes = {
        let pulled = pulled.clone();
        futures::stream::iter(0..n).map(move |i| {
            pulled.fetch_add(1, Ordering::Relaxed);
            Write::put(&doc(i)).unwrap()
        })
    };
    let writer = {
        let client = client.clone();
        // Patient retries: a restart takes seconds, and a request refused while the engine is
        // down never reached it, so it is safe to send again.
        let retry = Retry {
            max_attempts: 30,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
        };
        tokio::spawn(async move { client.write_stream(writes, 4, retry).await })
    };
    while pulled.load(Ordering::Relaxed) < n / 4 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let restart = Instant::now();
    db.restart().await.unwrap();
    let down = restart.elapsed();
    let result = writer.await.unwrap();

    let (count, stored) = stored(&db.client()).await;
    assert_eq!(count, stored.len(), "an item stored twice");
    let (unwritten, unknown) = match &result {
        Ok(written) => {
            assert_eq!(*written, n);
            (BTreeSet::new(), BTreeSet::new())
        }
        Err(dynox::Error::BatchWriteIncomplete {
            unwritten,
            outcome_unknown,
            ..
        }) => (ids(unwritten), ids(outcome_unknown)),
        Err(e) => panic!("the writer failed without saying what it did not write: {e}"),
    };
    let mut lost = 0;
    for i in 0..n {
        let id = doc(i).id;
        let present = stored.contains(&id);
        if unwritten.contains(&id) {
            assert!(!present, "{id} reported unwritten but stored");
        } else if !unknown.contains(&id) && !present {
            lost += 1;
        }
    }
    assert_eq!(lost, 0, "items neither stored nor reported");
    assert!(stored.iter().all(|id| id.starts_with('d')), "a stray item");
    println!(
        "restart after {} of {n} pulled (down {down:?}): {} stored, {} reported unwritten, {} \
         outcome unknown, 0 lost, 0 duplicated; the writer {}",
        n / 4,
        stored.len(),
        unwritten.len(),
        unknown.len(),
        if result.is_ok() {
            "finished"
        } else {
            "reported"
        }
    );
}

#[tokio::test]
async fn a_paused_engine_times_out_within_the_deadline_and_the_client_recovers() {
    let Some((db, client)) = engine_with_table().await else {
        return;
    };
    let mut resilience = Resilience::default();
    resilience.timeouts.attempt = Some(Duration::from_millis(800));
    resilience.timeouts.operation = Some(Duration::from_secs(2));
    let client = client.with_resilience(resilience);
    client.put(&doc(1)).await.unwrap();

    db.container().pause().await.unwrap();
    let paused = Instant::now();
    let deadline = Duration::from_secs(2);
    let mut latencies = Vec::new();
    for _ in 0..2 {
        let started = Instant::now();
        let (read, write) =
            tokio::join!(client.get::<Doc>(Doc::key("d000001")), client.put(&doc(2)));
        let took = started.elapsed();
        latencies.push(took);
        assert!(took <= deadline + Duration::from_secs(1), "{took:?}");
        let read = read.unwrap_err();
        assert!(read.is_timeout(), "{read}");
        let write = write.unwrap_err();
        assert!(write.is_timeout(), "{write}");
    }
    let rest = Duration::from_secs(10).saturating_sub(paused.elapsed());
    tokio::time::sleep(rest).await;
    db.container().unpause().await.unwrap();

    // The same client, once the engine runs again.
    let back = Instant::now();
    let found = loop {
        match client.get::<Doc>(Doc::key("d000001")).await {
            Ok(found) => break found,
            Err(e) if back.elapsed() < Duration::from_secs(10) => {
                eprintln!("not yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the client did not recover: {e}"),
        }
    };
    assert_eq!(found, Some(doc(1)));
    client.put(&doc(3)).await.unwrap();
    println!(
        "paused 10 s: calls timed out after {latencies:?} (deadline {deadline:?}); \
         answering again {:?} after the unpause",
        back.elapsed()
    );
}

#[tokio::test]
async fn a_cut_network_mid_query_is_a_typed_error_not_a_short_result() {
    let Some((db, client)) = engine_with_table().await else {
        return;
    };
    // The engine's port is bound on loopback only.
    let ports = std::process::Command::new("docker")
        .args(["port", db.container().id()])
        .output()
        .unwrap();
    let ports = String::from_utf8_lossy(&ports.stdout);
    assert!(
        ports.contains("127.0.0.1:") && !ports.contains("0.0.0.0"),
        "{ports}"
    );
    let docs: Vec<Doc> = (0..300).map(doc).collect();
    client.batch_write().put_all(&docs).send().await.unwrap();
    let mut resilience = Resilience::default();
    resilience.timeouts.attempt = Some(Duration::from_millis(800));
    resilience.timeouts.operation = Some(Duration::from_secs(3));
    let client = client.with_resilience(resilience);

    let mut pages = client.scan::<Doc>().page_size(50).pages();
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.items.len(), 50);
    db.container().disconnect().unwrap();
    let started = Instant::now();
    let mut read = first.items.len();
    let err = loop {
        match pages.next().await {
            Some(Ok(page)) => read += page.items.len(),
            Some(Err(e)) => break e,
            None => panic!("the scan ended as if complete after {read} of 300 items"),
        }
    };
    let took = started.elapsed();
    assert!(read < 300, "{read}");
    assert!(took <= Duration::from_secs(4), "{took:?}");
    assert!(
        err.is_timeout() || matches!(err.kind(), "Transport" | "OutcomeUnknown"),
        "{} ({err})",
        err.kind()
    );
    // The stream stops after its error: no page is passed off as the rest.
    assert!(pages.next().await.is_none());
    db.container().reconnect().unwrap();
    db.wait_ready().await.unwrap();
    assert_eq!(client.scan::<Doc>().count().await.unwrap().count, 300);
    println!(
        "network cut after a page: {} after {took:?}, {read} of 300 items read",
        err.kind()
    );
}
