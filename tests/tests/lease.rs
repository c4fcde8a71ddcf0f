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

/// What `contenders` tasks taking the lease `rounds` times each saw.
#[derive(Debug, Default)]
struct Contention {
    /// Times a holder entered while another was inside.
    overlaps: usize,
    /// The fencing tokens, in acquisition order.
    tokens: Vec<u64>,
    /// Acquisitions that came back not held (their deadline already past).
    not_held: usize,
    /// Conditional writes sent to acquire.
    acquire_attempts: u64,
}

/// Tasks contending for one lease: each works (a shared counter says whether two are inside)
/// only while its guard says it holds the lease, as a careful holder does, then releases it.
/// A release whose every attempt failed says it does not know (the lease then lapses).
async fn contend(client: &dynox::Client, contenders: usize, rounds: usize) -> Contention {
    let inside = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(Contention::default()));
    let mut tasks = Vec::new();
    for i in 0..contenders {
        let (client, inside, seen) = (client.clone(), inside.clone(), seen.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..rounds {
                let guard = client
                    .lease::<Locks>("job")
                    .owner(format!("task-{i}"))
                    .duration(Duration::from_secs(3))
                    .wait(Duration::from_secs(60))
                    .await
                    .unwrap();
                seen.lock().unwrap().tokens.push(guard.fencing_token());
                if guard.is_held() {
                    if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                        seen.lock().unwrap().overlaps += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                } else {
                    seen.lock().unwrap().not_held += 1;
                }
                seen.lock().unwrap().acquire_attempts += guard.metrics().acquire_attempts;
                match guard.release().await {
                    Ok(()) => {}
                    Err(e) if e.is_outcome_unknown() || e.is_throttled() => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    std::mem::take(&mut *seen.lock().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contenders_never_overlap_and_tokens_increase() {
    let (_local, client) = setup().await;
    let seen = contend(&client, 6, 3).await;
    assert_eq!((seen.overlaps, seen.not_held), (0, 0));
    assert_eq!(seen.tokens.len(), 18);
    assert!(
        seen.tokens.windows(2).all(|w| w[0] < w[1]),
        "tokens not strictly increasing in acquisition order: {:?}",
        seen.tokens
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_answers_and_throttles_never_make_two_owners() {
    use dynox_testing::faults::{FaultPlan, FaultProxy, Faults};
    let (local, _direct) = setup().await;
    // Acquire, renew and release answers lost after the engine applied them, 500s, throttles.
    let plan = FaultPlan::new(5).operation(
        "UpdateItem",
        Faults {
            reset_after: 0.2,
            error_after: 0.1,
            throttle: 0.1,
            ..Faults::default()
        },
    );
    let proxy = FaultProxy::in_front_of(&local, plan).unwrap();
    let client = proxy.client();
    let seen = contend(&client, 4, 3).await;
    assert_eq!(seen.overlaps, 0);
    assert!(
        seen.not_held <= 2,
        "most acquisitions come back held: {seen:?}"
    );
    assert_eq!(seen.tokens.len(), 12);
    let mut unique = seen.tokens.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 12, "no fencing token was handed out twice");
    assert!(seen.acquire_attempts >= 12);
    let stats = proxy.stats();
    assert!(
        stats.total_injected() >= 5,
        "faults were injected: {stats:?}"
    );
}

#[tokio::test]
async fn a_throttled_holder_stops_believing_at_its_deadline_and_counts_its_renewals() {
    use dynox_testing::faults::{FaultPlan, FaultProxy};
    let (local, direct) = setup().await;
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(3)).unwrap();
    let through = proxy.client();
    let guard = through
        .lease::<Locks>("report")
        .duration(Duration::from_millis(900))
        .heartbeat(Duration::from_millis(150))
        .safety_margin(Duration::from_millis(100))
        .await
        .unwrap();
    // Renewals go through while the proxy lets them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = guard.metrics();
    assert!(before.renewals >= 2, "{before:?}");
    assert!(guard.is_held());
    assert!(before.capacity_units > 0.0, "{before:?}");

    // Then every request is throttled: no renewal gets through.
    proxy.throttle_all(true);
    let storm = tokio::time::Instant::now();
    let at_storm = guard.metrics();
    let deadline = guard.held_until().expect("held");
    assert!(
        deadline <= storm + Duration::from_millis(800),
        "{deadline:?}"
    );
    while guard.is_held() {
        assert!(
            tokio::time::Instant::now() <= deadline + Duration::from_millis(20),
            "held past its local deadline"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The renewal throttled through the deadline fails once its retries run out.
    let mut after = guard.metrics();
    for _ in 0..500 {
        if after.failed_renewals >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = guard.metrics();
    }
    assert!(after.failed_renewals >= 1, "{after:?}");
    assert!(
        after.renewals <= at_storm.renewals + 1,
        "at most the one in flight got through: {at_storm:?} then {after:?}"
    );

    // Another owner, not throttled, takes it once the record stood still for a duration, and
    // the former holder's fenced transaction is refused even after the storm ends.
    let new = direct
        .lease::<Locks>("report")
        .duration(Duration::from_secs(5))
        .wait(Duration::from_secs(10))
        .await
        .unwrap();
    assert!(new.fencing_token() > guard.fencing_token());
    proxy.throttle_all(false);
    let err = through
        .transact_write()
        .check(guard.check())
        .await
        .unwrap_err();
    assert!(err.is_transaction_cancelled(), "{err}");
    assert!(!guard.is_held());
    new.release().await.unwrap();
}
