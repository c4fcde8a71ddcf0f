//! Client cost per request: dynox against the raw SDK (with hand-written conversion, so both do
//! the whole job) on a loopback server that answers at once. What is measured is the CPU time of
//! the client's thread, which runs the request, its layers, the HTTP exchange and the decoding.

use crate::alloc::{thread_allocations, thread_cpu_time};
use crate::canned::{Answers, Canned};
use crate::harness::{Plan, Variant, alternate};
use crate::models::{Profile, profile_from_item, profile_to_item};
use crate::report::{Goal, Row, Unit};
use aws_sdk_dynamodb::types::AttributeValue;
use std::future::Future;
use std::hint::black_box;
use std::time::Duration;

const GROUP: &str = "client";
/// Items in the canned query page.
pub const PAGE: usize = 25;

fn on_thread<'a, F, Fut>(
    name: &'static str,
    rt: &'a tokio::runtime::Runtime,
    mut op: F,
) -> Variant<'a>
where
    F: FnMut() -> Fut + 'a,
    Fut: Future<Output = ()>,
{
    Variant::custom(name, move |iters| {
        let allocs = thread_allocations();
        let cpu = thread_cpu_time();
        rt.block_on(async {
            for _ in 0..iters {
                op().await;
            }
        });
        (thread_cpu_time() - cpu, thread_allocations() - allocs)
    })
}

/// Measures GetItem, PutItem and a query page; returns the report's rows.
pub fn run(plan: Plan) -> Vec<Row> {
    let profile = Profile::sample(42);
    // One thread runs the client and the server: its CPU time is the client's cost plus the
    // server's, which is the same for both clients.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let server = Canned::start_on(&rt, Answers::for_item(&profile_to_item(&profile), PAGE))
        .expect("the canned server starts");
    let config = rt.block_on(async {
        dynox_testing::LocalDynamo::external(server.endpoint().to_owned())
            .await
            .sdk_config()
            .clone()
    });
    let dynox = dynox::Client::new(&config);
    let sdk = aws_sdk_dynamodb::Client::new(&config);
    let (pk, sk) = (profile.pk.clone(), profile.sk.clone());
    let table = "bench_profiles";
    let (dynox, sdk, profile, pk, sk) = (&dynox, &sdk, &profile, &pk, &sk);
    let mut variants = [
        on_thread("dynox get", &rt, || async move {
            let got = dynox
                .get::<Profile>(Profile::key(pk.clone(), sk.clone()))
                .await
                .expect("get");
            black_box(got.expect("found"));
        }),
        on_thread("sdk get", &rt, || async move {
            let out = sdk
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S(pk.clone()))
                .key("sk", AttributeValue::S(sk.clone()))
                .send()
                .await
                .expect("get");
            black_box(profile_from_item(out.item.expect("found")).expect("decodes"));
        }),
        on_thread("dynox put", &rt, || async move {
            dynox.put(profile).await.expect("put");
        }),
        on_thread("sdk put", &rt, || async move {
            sdk.put_item()
                .table_name(table)
                .set_item(Some(profile_to_item(profile)))
                .send()
                .await
                .expect("put");
        }),
        on_thread("dynox query page", &rt, || async move {
            let page = dynox
                .query::<Profile>(pk.clone())
                .all()
                .await
                .expect("query");
            assert_eq!(black_box(page).len(), PAGE);
        }),
        on_thread("sdk query page", &rt, || async move {
            let out = sdk
                .query()
                .table_name(table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                .send()
                .await
                .expect("query");
            let items: Vec<Profile> = out
                .items
                .unwrap_or_default()
                .into_iter()
                .map(|i| profile_from_item(i).expect("decodes"))
                .collect();
            assert_eq!(black_box(items).len(), PAGE);
        }),
    ];
    let m = alternate(plan, &mut variants);
    let allocs = |name: &str| m.of(name).iter().map(|s| s.allocs).collect::<Vec<_>>();
    let mut rows = Vec::new();
    for (op, what) in [
        ("get", "GetItem"),
        ("put", "PutItem"),
        ("query page", "Query page of 25"),
    ] {
        let (d, s) = (format!("dynox {op}"), format!("sdk {op}"));
        rows.push(
            Row::new(
                GROUP,
                format!("{what}, client CPU: dynox / raw SDK"),
                Unit::CostRatio,
                m.ratios(&d, &s),
            )
            .goal(Goal::at_most(1.05)),
        );
        rows.push(Row::new(
            GROUP,
            format!("{what} allocations: dynox"),
            Unit::Allocations,
            allocs(&d),
        ));
        rows.push(Row::new(
            GROUP,
            format!("{what} allocations: raw SDK"),
            Unit::Allocations,
            allocs(&s),
        ));
    }
    drop(variants);
    drop(server);
    // The runtime's idle connections close with it.
    rt.shutdown_timeout(Duration::from_millis(100));
    rows
}

/// Runs one client's operation `n` times against the canned server, for a profiler
/// (`dynox-bench probe dynox-query|sdk-query|dynox-get|sdk-get N`): what a request costs,
/// function by function, without the harness around it.
pub fn probe(what: &str, n: u64) {
    let profile = Profile::sample(42);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let server = Canned::start_on(&rt, Answers::for_item(&profile_to_item(&profile), PAGE))
        .expect("the canned server starts");
    let config = rt.block_on(async {
        dynox_testing::LocalDynamo::external(server.endpoint().to_owned())
            .await
            .sdk_config()
            .clone()
    });
    let dynox = dynox::Client::new(&config);
    let sdk = aws_sdk_dynamodb::Client::new(&config);
    let pk = profile.pk.clone();
    rt.block_on(async {
        for _ in 0..n {
            match what {
                "dynox-query" => {
                    let page = dynox
                        .query::<Profile>(pk.clone())
                        .all()
                        .await
                        .expect("query");
                    black_box(page);
                }
                "sdk-query" => {
                    let out = sdk
                        .query()
                        .table_name("bench_profiles")
                        .key_condition_expression("#pk = :pk")
                        .expression_attribute_names("#pk", "pk")
                        .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
                        .send()
                        .await
                        .expect("query");
                    let items: Vec<Profile> = out
                        .items
                        .unwrap_or_default()
                        .into_iter()
                        .map(|i| profile_from_item(i).expect("decodes"))
                        .collect();
                    black_box(items);
                }
                "dynox-get" => {
                    let got = dynox
                        .get::<Profile>(Profile::key(pk.clone(), profile.sk.clone()))
                        .await
                        .expect("get");
                    black_box(got);
                }
                "sdk-get" => {
                    let out = sdk
                        .get_item()
                        .table_name("bench_profiles")
                        .key("pk", AttributeValue::S(pk.clone()))
                        .key("sk", AttributeValue::S(profile.sk.clone()))
                        .send()
                        .await
                        .expect("get");
                    black_box(profile_from_item(out.item.expect("found")).expect("decodes"));
                }
                other => panic!("no probe {other}"),
            }
        }
    });
}
