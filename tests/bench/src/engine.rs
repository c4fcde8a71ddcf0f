//! Writing and reading many items on the embedded engine, with peak memory. The engine serves
//! HTTP from this process; every case runs in a child process of its own (this binary again,
//! `child CASE ENDPOINT ITEMS`), so its peak RSS and CPU time are the client's alone.

use crate::alloc::{process_cpu_time, rss};
use crate::models::{Event, event_from_item, event_to_item};
use crate::report::{Goal, Row, Unit};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use dynox::Model as _;
use dynox::batch::{Retry, Write};
use futures::{TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const GROUP: &str = "engine";
/// The partition every case writes and reads.
pub const PARTITION: &str = "q";
const MB: f64 = 1024.0 * 1024.0;

/// The cases, by the name the child is given.
pub const CASES: [&str; 8] = [
    "write_raw",
    "write_batch",
    "write_batch_c1",
    "write_stream",
    "query_raw",
    "query_dynox",
    "scan_raw",
    "scan_dynox",
];

/// What one child measured.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// Items written or read.
    pub items: u64,
    /// Wall time of the job, nanoseconds.
    pub wall_ns: u64,
    /// CPU time of the whole child process during the job, nanoseconds.
    pub cpu_ns: u64,
    /// Resident set before the job (input built, client ready), bytes.
    pub rss_start: u64,
    /// Peak resident set of the child's life, bytes.
    pub rss_peak: u64,
}

/// Runs one case in this process (the child's side) and returns what it measured.
pub fn child(case: &str, endpoint: &str, items: u64) -> Outcome {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let local = dynox_testing::LocalDynamo::external(endpoint.to_owned()).await;
        let config = local.sdk_config().clone();
        let client = dynox::Client::new(&config);
        let sdk = aws_sdk_dynamodb::Client::new(&config);
        // The caller's input: what it holds whatever client it uses.
        let events: Vec<Event> = if case.starts_with("write") {
            (0..items).map(|i| Event::sample(PARTITION, i)).collect()
        } else {
            Vec::new()
        };
        let (rss_start, _) = rss();
        let cpu = process_cpu_time();
        let start = Instant::now();
        let done = match case {
            "write_raw" => write_raw(&sdk, &events).await,
            "write_batch" => write_batch(&client, &events, 4).await,
            "write_batch_c1" => write_batch(&client, &events, 1).await,
            "write_stream" => {
                let writes = stream::iter(events.iter().map(|e| Write::put(e).expect("encodes")));
                client
                    .write_stream(writes, 4, Retry::default())
                    .await
                    .expect("written") as u64
            }
            "query_raw" => {
                let pages = sdk
                    .query()
                    .table_name(Event::TABLE)
                    .key_condition_expression("#pk = :pk")
                    .expression_attribute_names("#pk", "pk")
                    .expression_attribute_values(":pk", AttributeValue::S(PARTITION.into()))
                    .into_paginator()
                    .items()
                    .send();
                count_raw(pages).await
            }
            "query_dynox" => count(client.query::<Event>(PARTITION).items()).await,
            "scan_raw" => {
                let pages = sdk
                    .scan()
                    .table_name(Event::TABLE)
                    .into_paginator()
                    .items()
                    .send();
                count_raw(pages).await
            }
            "scan_dynox" => count(client.scan::<Event>().items()).await,
            other => panic!("no case {other}"),
        };
        let wall = start.elapsed();
        let cpu = process_cpu_time() - cpu;
        drop(events);
        Outcome {
            items: done,
            wall_ns: wall.as_nanos() as u64,
            cpu_ns: cpu.as_nanos() as u64,
            rss_start,
            rss_peak: rss().1,
        }
    })
}

/// The raw SDK loop a careful service writes: 25 at a time, unprocessed items sent again.
async fn write_raw(sdk: &aws_sdk_dynamodb::Client, events: &[Event]) -> u64 {
    let mut written = 0;
    for chunk in events.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|e| {
                let put = PutRequest::builder()
                    .set_item(Some(event_to_item(e)))
                    .build()
                    .expect("a put");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let mut attempt = 0;
        while !requests.is_empty() {
            let out = sdk
                .batch_write_item()
                .request_items(Event::TABLE, requests)
                .send()
                .await
                .expect("batch write");
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(Event::TABLE))
                .unwrap_or_default();
            if !requests.is_empty() {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
            }
        }
        written += chunk.len() as u64;
    }
    written
}

async fn write_batch(client: &dynox::Client, events: &[Event], concurrency: usize) -> u64 {
    let out = client
        .batch_write()
        .concurrency(concurrency)
        .put_all(events)
        .send()
        .await
        .expect("batch write");
    out.written as u64
}

async fn count(items: impl futures::Stream<Item = dynox::Result<Event>>) -> u64 {
    items
        .try_fold(0u64, |n, e| {
            std::hint::black_box(e);
            async move { Ok(n + 1) }
        })
        .await
        .expect("read")
}

/// Counts what a raw paginator yields, decoding each item by hand.
async fn count_raw<E: std::fmt::Debug>(
    mut items: aws_smithy_async::future::pagination_stream::PaginationStream<
        Result<crate::models::SdkItem, E>,
    >,
) -> u64 {
    let mut n = 0;
    while let Some(item) = items.next().await {
        std::hint::black_box(event_from_item(item.expect("read")).expect("decodes"));
        n += 1;
    }
    n
}

/// The parent's side: starts the engine, fills the partition, and runs every case `rounds`
/// times as a child, interleaved (the order turns every round).
pub fn run(exe: &Path, rounds: usize, items: u64) -> Vec<Row> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let local = rt.block_on(async {
        let local = dynox_testing::LocalDynamo::start()
            .await
            .expect("the engine starts");
        let client = local.client();
        local.create_table::<Event>(&client).await.expect("a table");
        let writes = stream::iter(
            (0..items).map(|i| Write::put(&Event::sample(PARTITION, i)).expect("encodes")),
        );
        let n = client
            .write_stream(writes, 4, Retry::default())
            .await
            .expect("filled");
        assert_eq!(n as u64, items);
        local
    });
    let mut results: Vec<Vec<Outcome>> = vec![Vec::new(); CASES.len()];
    for round in 0..rounds {
        for step in 0..CASES.len() {
            let i = (round + step) % CASES.len();
            let out = Command::new(exe)
                .args(["child", CASES[i], local.endpoint(), &items.to_string()])
                .output()
                .expect("the child runs");
            assert!(
                out.status.success(),
                "case {} failed: {}",
                CASES[i],
                String::from_utf8_lossy(&out.stderr)
            );
            let line = String::from_utf8_lossy(&out.stdout);
            let outcome: Outcome = serde_json::from_str(line.trim())
                .unwrap_or_else(|e| panic!("case {} printed {line:?}: {e}", CASES[i]));
            assert_eq!(
                outcome.items, items,
                "case {} did not do every item",
                CASES[i]
            );
            results[i].push(outcome);
        }
    }
    drop(local);
    rows(&results)
}

/// Round by round, `a` over `b`.
fn ratio_of(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

fn rows(results: &[Vec<Outcome>]) -> Vec<Row> {
    let of = |case: &str| &results[CASES.iter().position(|c| *c == case).expect("a case")];
    let ratio = |a: &str, b: &str, f: fn(&Outcome) -> u64| -> Vec<f64> {
        of(a)
            .iter()
            .zip(of(b))
            .map(|(x, y)| f(x) as f64 / f(y) as f64)
            .collect()
    };
    let peak = |case: &str| {
        of(case)
            .iter()
            .map(|o| o.rss_peak as f64 / MB)
            .collect::<Vec<_>>()
    };
    let growth = |case: &str| {
        of(case)
            .iter()
            .map(|o| o.rss_peak.saturating_sub(o.rss_start) as f64 / MB)
            .collect::<Vec<_>>()
    };
    let wall = |o: &Outcome| o.wall_ns;
    let cpu = |o: &Outcome| o.cpu_ns;
    vec![
        Row::new(
            GROUP,
            "batch_write items/s: dynox / raw SDK loop",
            Unit::SpeedRatio,
            ratio("write_raw", "write_batch", wall),
        )
        .goal(Goal::at_least(1.0)),
        Row::new(
            GROUP,
            "batch_write peak RSS: dynox",
            Unit::Megabytes,
            peak("write_batch"),
        )
        .goal(Goal::below(64.0)),
        Row::new(
            GROUP,
            "batch_write peak RSS above the input: dynox",
            Unit::Megabytes,
            growth("write_batch"),
        ),
        Row::new(
            GROUP,
            "batch_write peak RSS: raw SDK loop",
            Unit::Megabytes,
            peak("write_raw"),
        ),
        Row::new(
            GROUP,
            "batch_write CPU: dynox / raw SDK loop",
            Unit::CostRatio,
            ratio("write_batch", "write_raw", cpu),
        ),
        Row::new(
            GROUP,
            "batch_write, one request at a time, items/s: dynox / raw SDK loop",
            Unit::SpeedRatio,
            ratio("write_raw", "write_batch_c1", wall),
        ),
        Row::new(
            GROUP,
            "batch_write, one request at a time, CPU: dynox / raw SDK loop",
            Unit::CostRatio,
            ratio("write_batch_c1", "write_raw", cpu),
        ),
        Row::new(
            GROUP,
            "write_stream items/s: dynox / raw SDK loop",
            Unit::SpeedRatio,
            ratio("write_raw", "write_stream", wall),
        ),
        Row::new(
            GROUP,
            "write_stream peak RSS: dynox",
            Unit::Megabytes,
            peak("write_stream"),
        ),
        Row::new(
            GROUP,
            "paginated query CPU: dynox / raw paginator",
            Unit::CostRatio,
            ratio("query_dynox", "query_raw", cpu),
        )
        .goal(Goal::at_most(1.05)),
        // Flat: a few pages at a time, as the raw paginator holds, whatever the item count.
        Row::new(
            GROUP,
            "paginated query peak RSS growth: dynox / raw paginator",
            Unit::CostRatio,
            ratio_of(&growth("query_dynox"), &growth("query_raw")),
        )
        .goal(Goal::at_most(1.25)),
        Row::new(
            GROUP,
            "paginated query peak RSS growth: dynox",
            Unit::Megabytes,
            growth("query_dynox"),
        ),
        Row::new(
            GROUP,
            "paginated query peak RSS growth: raw paginator",
            Unit::Megabytes,
            growth("query_raw"),
        ),
        Row::new(
            GROUP,
            "paginated scan CPU: dynox / raw paginator",
            Unit::CostRatio,
            ratio("scan_dynox", "scan_raw", cpu),
        )
        .goal(Goal::at_most(1.05)),
        // Flat: a few pages at a time, as the raw paginator holds, whatever the item count.
        Row::new(
            GROUP,
            "paginated scan peak RSS growth: dynox / raw paginator",
            Unit::CostRatio,
            ratio_of(&growth("scan_dynox"), &growth("scan_raw")),
        )
        .goal(Goal::at_most(1.25)),
        Row::new(
            GROUP,
            "paginated scan peak RSS growth: dynox",
            Unit::Megabytes,
            growth("scan_dynox"),
        ),
        Row::new(
            GROUP,
            "paginated scan peak RSS growth: raw paginator",
            Unit::Megabytes,
            growth("scan_raw"),
        ),
    ]
}
