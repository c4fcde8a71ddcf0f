//! Resilience against a fault-injecting proxy in front of the embedded engine: resets and 500s
//! before and after the engine applied a request, throttles, unprocessed batch entries, stalls,
//! garbage answers. Small versions of the `cargo xtask bench` runs: every figure is checked
//! exactly against what the table holds.

use dynox::layers::{
    AdaptiveRate, FixedRate, HotPartitions, RateLimit, RateLimits, Resilience, RetryPolicy,
    Shedding, Thresholds,
};
use dynox::{Client, Model};
use dynox_testing::LocalDynamo;
use dynox_testing::faults::{FaultPlan, FaultProxy, Faults};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "counters")]
struct Counter {
    #[dynox(partition_key)]
    id: String,
    #[dynox(default)]
    n: u64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "docs")]
struct Doc {
    #[dynox(partition_key)]
    id: String,
    body: String,
    score: u32,
}

fn doc(i: usize) -> Doc {
    Doc {
        id: format!("d{i:06}"),
        body: format!("body of {i}"),
        score: (i % 100) as u32,
    }
}

/// Faults after the engine applied the request: the client cannot know it was applied.
fn after_apply(rate: f64) -> Faults {
    Faults {
        reset_after: rate / 2.0,
        error_after: rate / 2.0,
        ..Faults::default()
    }
}

/// 15 % of requests fail, before and after apply, throttled, or (batches) partly unprocessed.
fn mixed_15() -> Faults {
    Faults {
        reset_before: 0.03,
        reset_after: 0.03,
        error_before: 0.02,
        error_after: 0.03,
        throttle: 0.02,
        unprocess: 0.02,
        ..Faults::default()
    }
}

/// `small` in the suite; `full` under `cargo xtask bench` (`DYNOX_FULL_RUNS=1`), the sizes the
/// figures in the docs come from.
fn size(small: usize, full: usize) -> usize {
    if std::env::var_os("DYNOX_FULL_RUNS").is_some() {
        full
    } else {
        small
    }
}

async fn setup<M: Model>() -> (LocalDynamo, Client) {
    let local = LocalDynamo::start().await.unwrap();
    let direct = local.client();
    local.create_table::<M>(&direct).await.unwrap();
    (local, direct)
}

/// Throttles back off for 20 ms, not AWS's 1 s, so the suite stays quick.
fn quick(client: Client) -> Client {
    client.with_resilience(Resilience {
        retry: RetryPolicy {
            throttle_base_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        ..Resilience::default()
    })
}

#[tokio::test]
async fn counter_increments_never_apply_twice() {
    let (local, direct) = setup::<Counter>().await;
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(7).all(after_apply(0.10))).unwrap();
    let client = quick(proxy.client());
    let calls = size(1000, 5000);
    let f = Counter::fields();
    let results: Vec<(usize, dynox::Result<()>)> = futures::stream::iter(0..calls)
        .map(|i| {
            let client = client.clone();
            let f = f.clone();
            async move {
                let r = client
                    .update::<Counter>(Counter::key(format!("c{i}")))
                    .action(f.n.increment(1))
                    .await
                    .map(|_| ());
                (i, r)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let stored: HashMap<String, u64> = direct
        .scan::<Counter>()
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.n))
        .collect();
    let (mut ok, mut unknown) = (0, 0);
    for (i, r) in results {
        let n = stored.get(&format!("c{i}")).copied().unwrap_or(0);
        assert!(n <= 1, "call {i} was applied {n} times");
        match r {
            Ok(()) => {
                ok += 1;
                assert_eq!(n, 1, "call {i} reported Ok but was not applied");
            }
            Err(e) => {
                assert!(e.is_outcome_unknown(), "call {i}: {e}");
                assert!(e.is_possibly_applied());
                unknown += 1;
            }
        }
    }
    println!(
        "{calls} increments at 10% after-apply faults: {ok} Ok, {unknown} outcome unknown, 0 applied twice ({} faults injected)",
        proxy.stats().total_injected()
    );
    assert!(unknown > 0, "the faults reached the client");
    assert_eq!(ok + unknown, calls);
}

#[tokio::test]
async fn conditional_puts_say_when_their_own_attempt_may_have_applied() {
    let (local, direct) = setup::<Doc>().await;
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(11).all(after_apply(0.10))).unwrap();
    let client = quick(proxy.client());
    let calls = size(500, 5000);
    let results: Vec<(usize, dynox::Result<()>)> = futures::stream::iter(0..calls)
        .map(|i| {
            let client = client.clone();
            async move { (i, client.put(&doc(i)).if_not_exists().await.map(|_| ())) }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut flagged = 0;
    for (i, r) in results {
        let stored = direct.get::<Doc>(Doc::key(doc(i).id)).await.unwrap();
        match r {
            Ok(()) => assert_eq!(stored, Some(doc(i))),
            // Each id is put once: a failed condition can only be this call's own earlier
            // attempt, and must say so.
            Err(e) if e.is_condition_failed() => {
                assert!(e.is_possibly_applied(), "call {i}: plain {e}");
                assert_eq!(stored, Some(doc(i)));
                flagged += 1;
            }
            Err(e) => assert!(e.is_outcome_unknown(), "call {i}: {e}"),
        }
    }
    println!("{calls} if_not_exists puts: {flagged} condition failures flagged possibly applied");
    assert!(flagged > 0);
}

#[tokio::test]
async fn transactions_apply_exactly_once() {
    let (local, direct) = setup::<Counter>().await;
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(5).all(after_apply(0.10))).unwrap();
    let client = quick(proxy.client());
    let f = Counter::fields();
    let mut ok = 0;
    let mut unknown = Vec::new();
    let transactions = size(200, 2000);
    for i in 0..transactions {
        let r = client
            .transact_write()
            .update(
                dynox::transaction::TxUpdate::<Counter>::new(Counter::key("total"))
                    .action(f.n.increment(1)),
            )
            .put(dynox::transaction::TxPut::new(&Counter {
                id: format!("t{i}"),
                n: 1,
            }))
            .send()
            .await;
        match r {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(e.is_outcome_unknown(), "{e}");
                // The token is kept, so the caller can send it again idempotently.
                assert_eq!(e.client_request_token().map(str::len), Some(36));
                unknown.push(e);
            }
        }
    }
    let total = direct
        .get::<Counter>(Counter::key("total"))
        .await
        .unwrap()
        .map_or(0, |c| c.n);
    let marked = direct.scan::<Counter>().count().await.unwrap().count - 1;
    assert_eq!(total, marked, "the counter moved exactly with the puts");
    assert!(
        total >= ok && total <= ok + unknown.len() as u64,
        "{total} {ok}"
    );
    println!(
        "{transactions} transactions at 10% after-apply faults: {ok} Ok, {} unknown, counter {total}",
        unknown.len()
    );
}

#[tokio::test]
async fn batch_writes_lose_nothing_and_report_exactly() {
    let (local, direct) = setup::<Doc>().await;
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(3).all(mixed_15())).unwrap();
    let client = quick(proxy.client());
    let n = size(5000, 100_000);
    let docs: Vec<Doc> = (0..n).map(doc).collect();
    let batch = client.batch_write().put_all(&docs).send().await;
    let (reported_unwritten, reported_unknown) = match batch {
        Ok(out) => {
            assert_eq!(out.written, n);
            (BTreeSet::new(), BTreeSet::new())
        }
        Err(dynox::Error::BatchWriteIncomplete {
            unwritten,
            outcome_unknown,
            ..
        }) => (ids(&unwritten), ids(&outcome_unknown)),
        Err(e) => panic!("{e}"),
    };
    let stored: BTreeSet<String> = direct
        .scan::<Doc>()
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    for d in &docs {
        let present = stored.contains(&d.id);
        if reported_unwritten.contains(&d.id) {
            assert!(!present, "{} reported unwritten but stored", d.id);
        } else if !reported_unknown.contains(&d.id) {
            assert!(present, "{} lost", d.id);
        }
    }
    // The streaming writer, on the same faults.
    let more = (n..2 * n).map(|i| dynox::batch::Write::put(&doc(i)).unwrap());
    let written = client
        .write_stream(
            futures::stream::iter(more),
            4,
            dynox::batch::Retry::default(),
        )
        .await
        .unwrap();
    assert_eq!(written, n);
    assert_eq!(
        direct.scan::<Doc>().count().await.unwrap().count as usize,
        stored.len() + n
    );
    println!(
        "2 x {n} items at 15% faults: {} unwritten, {} unknown, {} faults injected",
        reported_unwritten.len(),
        reported_unknown.len(),
        proxy.stats().total_injected()
    );
}

fn ids(writes: &[dynox::batch::Write]) -> BTreeSet<String> {
    writes
        .iter()
        .map(|w| match &w.key()["id"] {
            dynox::AttributeValue::S(s) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn a_batch_get_returns_every_key_once_or_reports_it() {
    let (local, direct) = setup::<Doc>().await;
    let n = size(2000, 10_000);
    let docs: Vec<Doc> = (0..n).map(doc).collect();
    direct.batch_write().put_all(&docs).send().await.unwrap();
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(9).all(mixed_15())).unwrap();
    let client = quick(proxy.client());
    // A tenth of the keys do not exist.
    let keys = (0..n + n / 10).map(|i| Doc::key(doc(i).id));
    let (found, unprocessed) = match client.batch_get().get::<Doc>(keys).send().await {
        Ok(mut out) => (out.take::<Doc>().unwrap(), Vec::new()),
        Err(dynox::Error::BatchGetIncomplete {
            mut found,
            unprocessed,
            ..
        }) => (
            found
                .remove("docs")
                .unwrap_or_default()
                .into_iter()
                .map(|i| <Doc as dynox::FromItem>::from_item(i).unwrap())
                .collect(),
            unprocessed.get("docs").cloned().unwrap_or_default(),
        ),
        Err(e) => panic!("{e}"),
    };
    let found_ids: Vec<String> = found.iter().map(|d| d.id.clone()).collect();
    let unique: BTreeSet<&String> = found_ids.iter().collect();
    assert_eq!(unique.len(), found_ids.len(), "no key returned twice");
    let left: BTreeSet<String> = unprocessed
        .iter()
        .map(|k| match &k["id"] {
            dynox::AttributeValue::S(s) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    for d in &docs {
        assert!(
            unique.contains(&d.id) || left.contains(&d.id),
            "{} lost",
            d.id
        );
    }
    assert!(found.iter().all(|d| *d == doc(d.id[1..].parse().unwrap())));
    println!(
        "{} keys at 15% faults: {} found, {} reported",
        n + n / 10,
        found.len(),
        left.len()
    );
}

#[tokio::test]
async fn a_stalled_answer_times_out_within_the_deadline() {
    let (local, _direct) = setup::<Doc>().await;
    let stall = Faults {
        stall: 1.0,
        stall_for: Duration::from_secs(60),
        ..Faults::default()
    };
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(1).all(stall)).unwrap();
    let client = proxy.client();
    let deadline = client.resilience().timeouts.operation.unwrap();
    let started = Instant::now();
    let (read, write) = tokio::join!(client.get::<Doc>(Doc::key("d000001")), client.put(&doc(1)));
    let took = started.elapsed();
    assert!(took <= deadline + Duration::from_secs(1), "{took:?}");
    let read = read.unwrap_err();
    assert!(read.is_timeout(), "{read}");
    // A write whose answer never came: applied or not, and said so.
    let write = write.unwrap_err();
    assert!(write.is_timeout() && write.is_possibly_applied(), "{write}");
    println!("stalled get and put: timed out after {took:?} (deadline {deadline:?})");
}

#[tokio::test]
async fn a_write_that_never_connected_is_retried_safely() {
    // A port nobody listens on: every attempt is refused before anything is sent.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let local = LocalDynamo::start().await.unwrap();
    let config = local
        .sdk_config()
        .to_builder()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .build();
    let client = Client::new(&config);
    let f = Counter::fields();
    let err = client
        .update::<Counter>(Counter::key("c"))
        .action(f.n.increment(1))
        .await
        .unwrap_err();
    assert!(!err.is_outcome_unknown(), "{err}");
    assert!(
        matches!(
            err,
            dynox::Error::Transport {
                may_have_reached: false,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn one_bad_item_does_not_end_a_scan() {
    let (local, direct) = setup::<Doc>().await;
    let docs: Vec<Doc> = (0..1000).map(doc).collect();
    direct.batch_write().put_all(&docs).send().await.unwrap();
    // A poisoned item: its score is text.
    let raw = local.unenforced_sdk_config();
    aws_sdk_dynamodb::Client::new(&raw)
        .put_item()
        .table_name("docs")
        .item("id", dynox::AttributeValue::S("poisoned".into()))
        .item("body", dynox::AttributeValue::S("x".into()))
        .item("score", dynox::AttributeValue::S("not a number".into()))
        .send()
        .await
        .unwrap();
    let results: Vec<dynox::Result<Doc>> =
        direct.scan::<Doc>().page_size(100).items().collect().await;
    let (ok, bad): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    assert_eq!(ok.len(), 1000);
    assert_eq!(bad.len(), 1);
    let e = bad.into_iter().next().unwrap().unwrap_err();
    assert!(e.is_item_undecodable() && e.is_conversion(), "{e}");
    // The message names the table and item; the field that did not decode is its source.
    let text = e.report();
    assert!(
        text.contains("docs") && text.contains("poisoned") && text.contains("Doc.score"),
        "{text}"
    );
    // The page with the bad item keeps its other items and its cursor.
    let pages: Vec<_> = direct
        .scan::<Doc>()
        .page_size(100)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.iter().map(|p| p.undecodable.len()).sum::<usize>(), 1);
    assert_eq!(pages.iter().map(|p| p.items.len()).sum::<usize>(), 1000);
}

#[tokio::test]
async fn an_unreadable_answer_keeps_the_sdks_description() {
    let (local, _direct) = setup::<Doc>().await;
    let garbage = Faults {
        garbage: 1.0,
        ..Faults::default()
    };
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(1).all(garbage)).unwrap();
    let err = proxy.client().get::<Doc>(Doc::key("x")).await.unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("Unknown") && text.len() > 30, "{text}");
}

#[tokio::test]
async fn the_fixed_limiter_never_exceeds_rate_plus_burst() {
    let (local, _direct) = setup::<Doc>().await;
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(1)).unwrap();
    let (rate, burst) = (200.0, 20.0);
    let client = proxy.client().with_resilience(Resilience {
        rate_limits: Some(RateLimits::default().table(
            "docs",
            RateLimit::Fixed(FixedRate {
                rcu: None,
                wcu: Some(rate),
                burst: Some(burst),
            }),
        )),
        ..Resilience::default()
    });
    let started = Instant::now();
    let n = 1000;
    futures::stream::iter(0..n)
        .for_each_concurrent(16, |i| {
            let client = client.clone();
            async move {
                client.put(&doc(i)).await.unwrap();
            }
        })
        .await;
    let took = started.elapsed().as_secs_f64();
    let seconds = proxy.per_second();
    for s in &seconds {
        assert!(s.admitted_wcu as f64 <= rate + burst, "{s:?}");
    }
    // It does not crawl either: the whole run at the fixed rate.
    assert!(took < (n as f64 - burst) / rate + 1.5, "{took}");
    let state = client.rate_limits();
    assert_eq!(state[0].consumed.round() as usize, n);
    println!("fixed 200 WCU/s: {n} puts in {took:.1} s, seconds {seconds:?}");
}

#[tokio::test]
async fn the_adaptive_limiter_finds_the_granted_rate() {
    let (local, _direct) = setup::<Doc>().await;
    let granted = 150.0;
    let proxy = FaultProxy::in_front_of(
        &local,
        FaultPlan::new(1).write_capacity(granted, granted / 10.0),
    )
    .unwrap();
    let client = quick(proxy.client()).with_resilience(Resilience {
        retry: RetryPolicy {
            throttle_base_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        rate_limits: Some(RateLimits::client(RateLimit::Adaptive(
            AdaptiveRate::writes(4.0 * granted),
        ))),
        ..Resilience::default()
    });
    let run = Duration::from_secs(14);
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers = (0..24).map(|_| {
        let client = client.clone();
        let next = next.clone();
        async move {
            while started.elapsed() < run {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = client.put(&doc(i)).await;
            }
        }
    });
    futures::future::join_all(workers).await;
    let seconds = proxy.per_second();
    // After a warm-up of 6 s: the full seconds of the run.
    let steady: Vec<_> = seconds
        .iter()
        .filter(|s| s.second >= 6 && s.second < run.as_secs())
        .collect();
    let admitted: u64 = steady.iter().map(|s| s.admitted_wcu).sum();
    let throttled: u64 = steady.iter().map(|s| s.throttled_requests).sum();
    let share = admitted as f64 / (granted * steady.len() as f64);
    let throttled_share = throttled as f64 / (admitted + throttled) as f64;
    println!(
        "adaptive vs {granted} WCU/s granted: {:.0}% of it used, {:.1}% of requests throttled after warm-up; rate now {:.0}",
        share * 100.0,
        throttled_share * 100.0,
        client.rate_limits()[0].rate
    );
    // What the limiter found, whatever the machine could offer: the suite shares two cores
    // with release builds, which can starve the writers; the full run (`cargo xtask bench`, a
    // quiet machine) also holds the admitted share to 85%.
    // It did not collapse below the grant; that it did not overshoot is the throttled share.
    // The rate at one instant is a point on the limiter's sawtooth (it may have just backed
    // off), the admitted share is what it let through (low when the writers were starved):
    // a collapsed limiter has both low.
    let found = (client.rate_limits()[0].rate / granted).max(share);
    assert!(found >= 0.85, "{found} {seconds:?}");
    if std::env::var_os("DYNOX_FULL_RUNS").is_some() {
        assert!(share >= 0.85, "{share} {seconds:?}");
    }
    assert!(throttled_share < 0.05, "{throttled_share} {seconds:?}");
}

#[tokio::test]
async fn shedding_fails_fast_while_everything_is_throttled() {
    let (local, _direct) = setup::<Doc>().await;
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(1)).unwrap();
    let client = proxy.client().with_resilience(Resilience {
        retry: RetryPolicy::none(),
        shedding: Shedding {
            max_concurrency: Some(4),
            fail_fast_when_throttled: true,
        },
        ..Resilience::default()
    });
    proxy.throttle_all(true);
    let mut shed = 0;
    for i in 0..30 {
        let e = client.put(&doc(i)).await.unwrap_err();
        assert!(e.is_throttled(), "{e}");
        if e.to_string().contains(dynox::layers::shed::SHED_CODE) {
            shed += 1;
        }
    }
    assert_eq!(
        shed,
        30 - Shedding::OPEN_AFTER as usize,
        "after 8 throttles, nothing is sent"
    );
    assert!(client.shedding().0);
    let before = proxy.stats().requests;
    proxy.throttle_all(false);
    tokio::time::sleep(Shedding::PROBE_EVERY).await;
    client.put(&doc(99)).await.unwrap();
    assert!(!client.shedding().0);
    client.put(&doc(100)).await.unwrap();
    assert_eq!(proxy.stats().requests, before + 2);
}

#[tokio::test]
async fn hot_partitions_are_reported_once_with_a_hash() {
    let (_local, direct) = setup::<Counter>().await;
    let seen: Arc<Mutex<Vec<dynox::layers::HotPartition>>> = Arc::default();
    let sink = seen.clone();
    let client = direct.with_resilience(Resilience {
        hot_partitions: Some(
            HotPartitions::default()
                .model::<Counter>(Some(Thresholds {
                    reads: 1000,
                    writes: 50,
                }))
                .on_hot(move |h| sink.lock().unwrap().push(h.clone())),
        ),
        ..Resilience::default()
    });
    let f = Counter::fields();
    for _ in 0..120 {
        client
            .update::<Counter>(Counter::key("hot"))
            .action(f.n.increment(1))
            .await
            .unwrap();
    }
    for i in 0..100 {
        client
            .put(&Counter {
                id: format!("cold{i}"),
                n: 0,
            })
            .await
            .unwrap();
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].table, "counters");
    assert!(seen[0].count >= 50);
    assert_eq!(seen[0].key, None, "keys are logged only on opt-in");
}

#[tokio::test]
async fn waiting_for_capacity_is_not_a_lost_answer() {
    let (_local, direct) = setup::<Counter>().await;
    let limited = |attempt: u64, operation: u64| {
        direct.with_resilience(Resilience {
            timeouts: dynox::layers::Timeouts {
                attempt: Some(Duration::from_millis(attempt)),
                operation: Some(Duration::from_millis(operation)),
                ..Default::default()
            },
            rate_limits: Some(RateLimits::client(RateLimit::Fixed(FixedRate {
                rcu: None,
                wcu: Some(1.0),
                burst: Some(1.0),
            }))),
            ..Resilience::default()
        })
    };
    let f = Counter::fields();
    // One unit a second; the second increment waits about a second for it, longer than an
    // attempt may take: the wait is not the attempt's, and it is applied once.
    let client = limited(300, 5000);
    for _ in 0..2 {
        client
            .update::<Counter>(Counter::key("c"))
            .action(f.n.increment(1))
            .await
            .unwrap();
    }
    // A deadline that passes while waiting: nothing was sent, so the outcome is known.
    let client = limited(300, 400);
    client
        .update::<Counter>(Counter::key("d"))
        .action(f.n.increment(1))
        .await
        .unwrap();
    let err = client
        .update::<Counter>(Counter::key("d"))
        .action(f.n.increment(1))
        .await
        .unwrap_err();
    assert!(err.is_timeout() && !err.is_possibly_applied(), "{err}");
    let stored = |id: &'static str| {
        let direct = direct.clone();
        async move {
            direct
                .get::<Counter>(Counter::key(id))
                .await
                .unwrap()
                .unwrap()
                .n
        }
    };
    assert_eq!(stored("c").await, 2);
    assert_eq!(stored("d").await, 1);
}

#[tokio::test]
async fn a_throttle_storm_is_waited_out() {
    let (local, direct) = setup::<Doc>().await;
    // Everything is throttled for 3 s, starting 100 ms in (full size: 10 s).
    let storm = Duration::from_secs(size(3, 10) as u64);
    let proxy = FaultProxy::in_front_of(
        &local,
        FaultPlan::new(1).storm(Duration::from_millis(100), storm),
    )
    .unwrap();
    // The default policy: AWS's 1 s throttling backoff.
    let client = proxy.client();
    let n = 2500;
    let docs: Vec<Doc> = (0..n).map(doc).collect();
    let started = Instant::now();
    let (batch, stream) = tokio::join!(
        client.batch_write().put_all(&docs[..n / 2]).send(),
        client.write_stream(
            futures::stream::iter(
                docs[n / 2..]
                    .iter()
                    .map(|d| dynox::batch::Write::put(d).unwrap())
            ),
            4,
            dynox::batch::Retry::default(),
        )
    );
    assert_eq!(batch.unwrap().written, n / 2);
    assert_eq!(stream.unwrap(), n - n / 2);
    assert_eq!(
        direct.scan::<Doc>().count().await.unwrap().count as usize,
        n
    );
    println!(
        "{n} items through a {storm:?} throttle storm: all written in {:?} ({} throttled requests)",
        started.elapsed(),
        proxy
            .stats()
            .injected(dynox_testing::faults::FaultKind::Storm)
    );
}

#[tokio::test]
async fn paginated_reads_through_faults_return_every_item_once() {
    let (local, direct) = setup::<Doc>().await;
    let n = size(1000, 20_000);
    let docs: Vec<Doc> = (0..n).map(doc).collect();
    direct.batch_write().put_all(&docs).send().await.unwrap();
    let proxy = FaultProxy::in_front_of(&local, FaultPlan::new(13).all(mixed_15())).unwrap();
    let client = quick(proxy.client());
    let scanned: Vec<Doc> = client
        .scan::<Doc>()
        .page_size(50)
        .items()
        .try_collect()
        .await
        .unwrap();
    let ids: BTreeSet<&str> = scanned.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(scanned.len(), n, "every item once");
    assert_eq!(ids.len(), n);
    let one = client.query::<Doc>(doc(7).id).all().await.unwrap();
    assert_eq!(one, vec![doc(7)]);
    println!(
        "{n} items scanned 50 a page at 15% faults: each once ({} faults injected)",
        proxy.stats().total_injected()
    );
}
