//! Distributed leases against the embedded engine: no two holders overlap, fencing tokens
//! strictly increase, a holder that stops renewing loses the lease, a stale holder is fenced.

use dynox::lease::{LeaseRecord, LeaseTable};
use dynox_testing::LocalDynamo;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Locks;
impl LeaseTable for Locks {
    const TABLE: &'static str = "locks";
}

async fn setup() -> (LocalDynamo, dynox::Client) {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local
        .create_table::<LeaseRecord<Locks>>(&client)
        .await
        .unwrap();
    (local, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contenders_never_overlap_and_tokens_increase() {
    let (_local, client) = setup().await;
    let inside = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (client, inside, overlaps, tokens) = (
            client.clone(),
            inside.clone(),
            overlaps.clone(),
            tokens.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for _ in 0..3 {
                let guard = client
                    .lease::<Locks>("job")
                    .owner(format!("task-{i}"))
                    .duration(Duration::from_secs(3))
                    .wait(Duration::from_secs(60))
                    .await
                    .unwrap();
                if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                tokens.lock().unwrap().push(guard.fencing_token());
                tokio::time::sleep(Duration::from_millis(15)).await;
                assert!(guard.is_held());
                inside.fetch_sub(1, Ordering::SeqCst);
                guard.release().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(overlaps.load(Ordering::SeqCst), 0);
    let tokens = tokens.lock().unwrap().clone();
    assert_eq!(tokens.len(), 18);
    assert!(
        tokens.windows(2).all(|w| w[0] < w[1]),
        "tokens not strictly increasing in acquisition order: {tokens:?}"
    );
}

#[tokio::test]
async fn a_holder_that_stops_renewing_loses_it_and_is_fenced() {
    let (_local, client) = setup().await;
    let old = client
        .lease::<Locks>("report")
        .duration(Duration::from_millis(400))
        .safety_margin(Duration::from_millis(50))
        .manual_renewal()
        .await
        .unwrap();
    assert!(old.is_held());
    // Held: another owner cannot take it at once.
    assert!(
        client
            .lease::<Locks>("report")
            .duration(Duration::from_millis(400))
            .try_acquire()
            .await
            .unwrap()
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !old.is_held(),
        "past its local deadline the guard must not believe it holds"
    );
    let new = client
        .lease::<Locks>("report")
        .duration(Duration::from_secs(5))
        .wait(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(new.fencing_token() > old.fencing_token());
    // The stale holder's fenced transaction is refused; the new holder's passes.
    let err = client
        .transact_write()
        .check(old.check())
        .await
        .unwrap_err();
    assert!(err.is_transaction_cancelled(), "{err}");
    client.transact_write().check(new.check()).await.unwrap();
    // The stale holder's release does not clear the new owner's lease.
    let err = old.release().await.unwrap_err();
    assert!(err.is_lease_lost(), "{err}");
    assert!(new.is_held());
    client.transact_write().check(new.check()).await.unwrap();
    new.release().await.unwrap();
}

#[tokio::test]
async fn bad_settings_are_refused_before_sending() {
    let (_local, client) = setup().await;
    client.metrics().reset();
    let e = client.lease::<Locks>("").await.unwrap_err();
    assert!(e.is_validation(), "{e}");
    let e = client
        .lease::<Locks>("x")
        .duration(Duration::ZERO)
        .await
        .unwrap_err();
    assert!(e.is_validation(), "{e}");
    assert_eq!(client.metrics().totals().requests, 0);
}
