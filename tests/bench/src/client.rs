//! Client cost per request: dynox against the raw SDK (with hand-written conversion, so both do
//! the whole job) on a loopback server that answers at once. What is measured is the CPU time of
//! the client's thread, which runs the request, its layers, the HTTP exchange and the decoding.
//!
//! Then what observability costs: the same dynox operations through a client with
//! `Observability::off()` (nothing kept, exported or reported), with `Observability::default()`
//! and neither a tracing subscriber nor a metrics recorder installed (the spans are disabled,
//! the facade's recorder is the no-op one), and with the default plus a `metrics` recorder
//! (`metrics_util`'s `DebuggingRecorder`, set for the measuring thread only, which is the
//! runtime's one thread).

use crate::alloc::{thread_allocations, thread_cpu_time};
use crate::canned::{Answers, Canned, PAGED_ITEMS, PAGED_PK, PAGES};
use crate::harness::{Plan, Variant, alternate};
use crate::models::{Profile, profile_from_item, profile_to_item};
use crate::report::{Goal, Row, Unit};
use aws_sdk_dynamodb::types::AttributeValue;
use dynox::observe::Observability;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use std::future::Future;
use std::hint::black_box;

const GROUP: &str = "client";
/// Items in the canned query page.
pub const PAGE: usize = 25;

/// A variant that runs `op` on `rt` (with `recorder` as this thread's `metrics` recorder, if
/// given) and measures the thread's CPU time and allocations.
fn on_thread<'a, F, Fut>(
    name: &'static str,
    rt: &'a tokio::runtime::Runtime,
    recorder: Option<&'a DebuggingRecorder>,
    mut op: F,
) -> Variant<'a>
where
    F: FnMut() -> Fut + 'a,
    Fut: Future<Output = ()>,
{
    Variant::custom(name, move |iters| {
        let allocs = thread_allocations();
        let cpu = thread_cpu_time();
        let mut run = || {
            rt.block_on(async {
                for _ in 0..iters {
                    op().await;
                }
            })
        };
        match recorder {
            Some(r) => metrics::with_local_recorder(r, run),
            None => run(),
        }
        (thread_cpu_time() - cpu, thread_allocations() - allocs)
    })
}

/// The operations measured, by the name the report and `probe` use: dynox against the raw
/// SDK, then dynox's operations by observability (`obs VARIANT OPERATION`, see [`OBSERVED`]).
pub const OPS: [&str; 18] = [
    "dynox get",
    "sdk get",
    "dynox put",
    "sdk put",
    "dynox query page",
    "sdk query page",
    "obs off get",
    "obs default get",
    "obs recorder get",
    "obs off put",
    "obs default put",
    "obs recorder put",
    "obs off query page",
    "obs default query page",
    "obs recorder query page",
    "obs off query pages",
    "obs default query pages",
    "obs recorder query pages",
];

/// The observability variants: `off` (`Observability::off()`), `default`
/// (`Observability::default()`, no subscriber, no recorder) and `recorder` (the default, with a
/// `DebuggingRecorder` in force on the measuring thread).
pub const OBSERVED: [&str; 3] = ["off", "default", "recorder"];

/// The clients and the canned server they talk to, on one current-thread runtime: that thread's
/// CPU time is the client's cost plus the server's, which is the same for both clients.
struct Setup {
    rt: tokio::runtime::Runtime,
    /// Kept running while the clients are measured.
    _server: Canned,
    dynox: dynox::Client,
    sdk: aws_sdk_dynamodb::Client,
    profile: Profile,
    /// The observability variants' clients, in the order of [`OBSERVED`]: one SDK client
    /// (and connection) under three send paths, each with its own figures.
    observed: [dynox::Client; 3],
    /// What the `recorder` variant exports to.
    recorder: DebuggingRecorder,
}

impl Setup {
    /// The recorder a variant runs under.
    fn recorder_for(&self, variant: &str) -> Option<&DebuggingRecorder> {
        (variant == "recorder").then_some(&self.recorder)
    }

    /// `obs VARIANT OPERATION` as its client, variant and operation.
    fn observed<'n>(&self, name: &'n str) -> Option<(&dynox::Client, &'static str, &'n str)> {
        let (variant, op) = name.strip_prefix("obs ")?.split_once(' ')?;
        let i = OBSERVED.iter().position(|v| *v == variant)?;
        Some((&self.observed[i], OBSERVED[i], op))
    }
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
    let dynox = dynox::Client::new(&config);
    let base = dynox::Client::new(&config);
    Setup {
        observed: [
            base.with_observability(Observability::off()),
            base.with_observability(Observability::default()),
            base.with_observability(Observability::default()),
        ],
        recorder: DebuggingRecorder::new(),
        dynox,
        sdk: aws_sdk_dynamodb::Client::new(&config),
        rt,
        _server: server,
        profile,
    }
}

const TABLE: &str = "bench_profiles";

/// One of dynox's operations (`get`, `put`, `query page`, `query pages`) through `dynox`.
async fn dynox_op(dynox: &dynox::Client, p: &Profile, what: &str) {
    match what {
        "get" => {
            let key = Profile::key(p.pk.clone(), p.sk.clone());
            black_box(
                dynox
                    .get::<Profile>(key)
                    .await
                    .expect("get")
                    .expect("found"),
            );
        }
        "put" => dynox.put(p).await.map(drop).expect("put"),
        "query page" => {
            let page = dynox
                .query::<Profile>(p.pk.clone())
                .all()
                .await
                .expect("query");
            assert_eq!(black_box(page).len(), PAGE);
        }
        "query pages" => {
            let items = dynox
                .query::<Profile>(PAGED_PK.to_owned())
                .all()
                .await
                .expect("query");
            assert_eq!(black_box(items).len(), PAGES * PAGED_ITEMS);
        }
        other => panic!("no dynox operation {other:?}"),
    }
}

/// One operation of `OPS`, each client doing the whole job (request and decoding).
async fn op(s: &Setup, name: &str) {
    if let Some((client, _, what)) = s.observed(name) {
        return dynox_op(client, &s.profile, what).await;
    }
    let (dynox, sdk, p) = (&s.dynox, &s.sdk, &s.profile);
    match name {
        "dynox get" => dynox_op(dynox, p, "get").await,
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
        "dynox put" => dynox_op(dynox, p, "put").await,
        "sdk put" => {
            sdk.put_item()
                .table_name(TABLE)
                .set_item(Some(profile_to_item(p)))
                .send()
                .await
                .expect("put");
        }
        "dynox query page" => dynox_op(dynox, p, "query page").await,
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

/// Measures GetItem, PutItem and a query page against the raw SDK, then dynox's operations by
/// observability; returns the report's rows.
pub fn run(plan: Plan) -> Vec<Row> {
    let s = setup();
    let s = &s;
    let mut variants: Vec<Variant<'_>> = OPS
        .iter()
        .filter(|name| s.observed(name).is_none())
        .map(|&name| on_thread(name, &s.rt, None, move || op(s, name)))
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
    drop(variants);
    rows.extend(observability(plan, s));
    rows
}

/// The observability comparison: every operation through the three variants of [`OBSERVED`],
/// taking turns in one run.
fn observability(plan: Plan, s: &Setup) -> Vec<Row> {
    let mut variants: Vec<Variant<'_>> = OPS
        .iter()
        .filter_map(|&name| {
            let (_, variant, _) = s.observed(name)?;
            let recorder = s.recorder_for(variant);
            Some(on_thread(name, &s.rt, recorder, move || op(s, name)))
        })
        .collect();
    let m = alternate(plan, &mut variants);
    drop(variants);
    // The variants are what they say: nothing kept without observability, figures (with the
    // capacity the canned server reports when asked) with it, and the recorder's counters.
    let [off, default, recorded] = &s.observed;
    assert_eq!(off.metrics().totals().requests, 0);
    for c in [default, recorded] {
        let totals = c.metrics().totals();
        assert!(totals.requests > 0 && totals.read_units > 0.0, "{totals:?}");
    }
    let exported: u64 = s
        .recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(k, ..)| k.key().name() == "dynox_requests_total")
        .map(|(.., v)| match v {
            DebugValue::Counter(n) => n,
            _ => 0,
        })
        .sum();
    assert_eq!(exported, recorded.metrics().totals().requests);
    let allocs = |name: &str| m.of(name).iter().map(|s| s.allocs).collect::<Vec<_>>();
    let mut rows = Vec::new();
    for (op, what) in [
        ("get", "GetItem"),
        ("put", "PutItem"),
        ("query page", "Query page of 25"),
        ("query pages", "Query of 3 pages of 10"),
    ] {
        let name = |variant: &str| format!("obs {variant} {op}");
        rows.push(
            Row::new(
                GROUP,
                format!(
                    "{what}, client CPU: default observability (no subscriber, no recorder) / off"
                ),
                Unit::CostRatio,
                m.ratios(&name("default"), &name("off")),
            )
            .goal(Goal::at_most(1.05)),
        );
        rows.push(Row::new(
            GROUP,
            format!("{what}, client CPU: default observability + metrics recorder / off"),
            Unit::CostRatio,
            m.ratios(&name("recorder"), &name("off")),
        ));
        for (variant, text) in [
            ("off", "observability off"),
            ("default", "default observability"),
            ("recorder", "default observability + recorder"),
        ] {
            rows.push(Row::new(
                GROUP,
                format!("{what} allocations: {text}"),
                Unit::Allocations,
                allocs(&name(variant)),
            ));
        }
    }
    rows
}

/// Runs one of [`OPS`] `n` times against the canned server, for a profiler
/// (`dynox-bench probe "dynox get" 400`): what a request costs, function by function, without
/// the harness around it.
pub fn probe(name: &str, n: u64) {
    let s = setup();
    let run = || {
        s.rt.block_on(async {
            for _ in 0..n {
                op(&s, name).await;
            }
        })
    };
    match s
        .observed(name)
        .and_then(|(_, variant, _)| s.recorder_for(variant))
    {
        Some(r) => metrics::with_local_recorder(r, run),
        None => run(),
    }
}
