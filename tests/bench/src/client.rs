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

/// The operations measured, by the name the report and `probe` use.
pub const OPS: [&str; 6] = [
    "dynox get",
    "sdk get",
    "dynox put",
    "sdk put",
    "dynox query page",
    "sdk query page",
];

/// The clients and the canned server they talk to, on one current-thread runtime: that thread's
/// CPU time is the client's cost plus the server's, which is the same for both clients.
struct Setup {
    rt: tokio::runtime::Runtime,
    /// Kept running while the clients are measured.
    _server: Canned,
    dynox: dynox::Client,
    sdk: aws_sdk_dynamodb::Client,
    profile: Profile,
}

fn setup() -> Setup {
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
    Setup {
        dynox: dynox::Client::new(&config),
        sdk: aws_sdk_dynamodb::Client::new(&config),
        rt,
        _server: server,
        profile,
    }
}

const TABLE: &str = "bench_profiles";

/// One operation of `OPS`, each client doing the whole job (request and decoding).
async fn op(s: &Setup, name: &str) {
    let (dynox, sdk, p) = (&s.dynox, &s.sdk, &s.profile);
    match name {
        "dynox get" => {
            let key = Profile::key(p.pk.clone(), p.sk.clone());
            black_box(
                dynox
                    .get::<Profile>(key)
                    .await
                    .expect("get")
                    .expect("found"),
            );
        }
        "sdk get" => {
            let out = sdk
                .get_item()
                .table_name(TABLE)
                .key("pk", AttributeValue::S(p.pk.clone()))
                .key("sk", AttributeValue::S(p.sk.clone()))
                .send()
                .await
                .expect("get");
            black_box(profile_from_item(out.item.expect("found")).expect("decodes"));
        }
        "dynox put" => dynox.put(p).await.map(drop).expect("put"),
        "sdk put" => {
            sdk.put_item()
                .table_name(TABLE)
                .set_item(Some(profile_to_item(p)))
                .send()
                .await
                .expect("put");
        }
        "dynox query page" => {
            let page = dynox
                .query::<Profile>(p.pk.clone())
                .all()
                .await
                .expect("query");
            assert_eq!(black_box(page).len(), PAGE);
        }
        "sdk query page" => {
            let out = sdk
                .query()
                .table_name(TABLE)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "pk")
                .expression_attribute_values(":pk", AttributeValue::S(p.pk.clone()))
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
        }
        other => panic!("no operation {other:?}; one of {OPS:?}"),
    }
}

/// Measures GetItem, PutItem and a query page; returns the report's rows.
pub fn run(plan: Plan) -> Vec<Row> {
    let s = setup();
    let s = &s;
    let mut variants: Vec<Variant<'_>> = OPS
        .iter()
        .map(|&name| on_thread(name, &s.rt, move || op(s, name)))
        .collect();
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
    rows
}

/// Runs one of [`OPS`] `n` times against the canned server, for a profiler
/// (`dynox-bench probe "dynox get" 400`): what a request costs, function by function, without
/// the harness around it.
pub fn probe(name: &str, n: u64) {
    let s = setup();
    s.rt.block_on(async {
        for _ in 0..n {
            op(&s, name).await;
        }
    });
}
