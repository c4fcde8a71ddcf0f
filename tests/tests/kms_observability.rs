//! What an encryptor reports about its KMS calls against moto's KMS: a known workload gives
//! exactly its known figures in the encryptor's metrics, in `measure` scopes (nested and
//! concurrent), in an observer and in the `metrics` facade; its `kms.request` spans and cache
//! miss events follow the conventions and carry no plaintext, item key or key id.

use dynox_encryption::envelope::V2;
use dynox_encryption::kms::{
    self, CacheLimits, EncryptedField, Encryptor, KmsFigures, KmsObserver, Mode,
};
use dynox_testing::LocalKms;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

struct Ssn;
impl EncryptedField for Ssn {
    const KEY: &'static str = "alias/dynox-kms-obs";
    const MODE: Mode = Mode::ReadWrite;
    const VERSION: u8 = V2;
    const TABLE: &'static str = "users";
    const ATTRIBUTE: &'static str = "ssn";
    const CONTEXT: &'static [(&'static str, &'static str)] = &[("tenant", "acme-tenant-ctx")];
    const BIND_ITEM_KEY: bool = true;
}

const SECRET: &str = "PLANTED-SECRET-5150";
const ITEM_KEY: &str = "PLANTED-ITEM-KEY-8086";

struct Kms {
    local: LocalKms,
    key_id: String,
}

async fn kms() -> Kms {
    let local = LocalKms::start()
        .await
        .expect("the local KMS (run `cargo xtask setup`)");
    let key_id = local.create_key(Some("dynox-kms-obs")).await.unwrap();
    Kms { local, key_id }
}

/// The three encryptors of the workload: cached, uncached, and a cached one for the failure.
fn encryptors(k: &Kms) -> [Encryptor; 3] {
    [
        Encryptor::new(k.local.client()),
        Encryptor::with_cache(k.local.client(), None),
        Encryptor::new(k.local.client()),
    ]
}

fn item(i: u32) -> String {
    format!("{ITEM_KEY}#{i}")
}

/// Ten encrypts, then ten decrypts, of one field of ten items: with caching, one KMS call,
/// one miss and nine hits each way; without, ten calls each way.
async fn ten_round_trips(e: &Encryptor) -> Vec<String> {
    let mut stored = Vec::new();
    for i in 0..10 {
        let plain = format!("{SECRET}-{i}");
        stored.push(
            e.encrypt::<Ssn>(plain.as_bytes(), Some(&item(i)))
                .await
                .unwrap(),
        );
    }
    for (i, s) in (0..).zip(&stored) {
        let plain = e.decrypt::<Ssn>(s, Some(&item(i))).await.unwrap();
        assert_eq!(plain, format!("{SECRET}-{i}").as_bytes());
    }
    stored
}

/// One Decrypt of a data key that names an unknown KMS key (a byte of its key id flipped):
/// one failed call. (moto ignores a Decrypt's `KeyId`: calling with another key succeeds there.)
async fn failing_decrypt(e: &Encryptor, stored: &str) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut raw = b64.decode(stored.strip_prefix("ENC:").unwrap()).unwrap();
    raw[3] ^= 0x01;
    let unknown_key = format!("ENC:{}", b64.encode(raw));
    let err = e
        .decrypt::<Ssn>(&unknown_key, Some(&item(0)))
        .await
        .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
}

const CACHED: KmsFigures = KmsFigures {
    generate_data_key_calls: 1,
    decrypt_calls: 1,
    errors: 0,
    encrypt_cache_hits: 9,
    encrypt_cache_misses: 1,
    decrypt_cache_hits: 9,
    decrypt_cache_misses: 1,
    kms_duration: Duration::ZERO,
    max_kms_duration: Duration::ZERO,
};
const UNCACHED: KmsFigures = KmsFigures {
    generate_data_key_calls: 10,
    decrypt_calls: 10,
    ..ZERO
};
const FAILING: KmsFigures = KmsFigures {
    decrypt_calls: 1,
    errors: 1,
    decrypt_cache_misses: 1,
    ..ZERO
};
const ZERO: KmsFigures = KmsFigures {
    generate_data_key_calls: 0,
    decrypt_calls: 0,
    errors: 0,
    encrypt_cache_hits: 0,
    encrypt_cache_misses: 0,
    decrypt_cache_hits: 0,
    decrypt_cache_misses: 0,
    kms_duration: Duration::ZERO,
    max_kms_duration: Duration::ZERO,
};

/// The counts, with the durations checked for sense and then left out.
fn counts(f: &KmsFigures) -> KmsFigures {
    if f.kms_calls() > 0 {
        assert!(f.max_kms_duration > Duration::ZERO, "{f:?}");
    }
    assert!(f.max_kms_duration <= f.kms_duration, "{f:?}");
    KmsFigures {
        kms_duration: Duration::ZERO,
        max_kms_duration: Duration::ZERO,
        ..f.clone()
    }
}

#[tokio::test]
async fn snapshots_give_the_known_figures() {
    let k = kms().await;
    let [cached, uncached, wrong] = encryptors(&k);
    let stored = ten_round_trips(&cached).await;
    assert_eq!(counts(&cached.metrics().snapshot()), CACHED);
    assert_eq!(cached.metrics().generate_data_key_calls(), 1);
    assert_eq!(cached.metrics().decrypt_calls(), 1);

    ten_round_trips(&uncached).await;
    assert_eq!(counts(&uncached.metrics().snapshot()), UNCACHED);

    failing_decrypt(&wrong, &stored[0]).await;
    assert_eq!(counts(&wrong.metrics().snapshot()), FAILING);
    assert_eq!(wrong.metrics().decrypt_errors(), 1);
    assert_eq!(wrong.metrics().generate_data_key_errors(), 0);

    cached.metrics().reset();
    assert_eq!(cached.metrics().snapshot(), KmsFigures::default());
    // After a reset the cache is still warm: only hits.
    cached
        .decrypt::<Ssn>(&stored[3], Some(&item(3)))
        .await
        .unwrap();
    assert_eq!(
        cached.metrics().snapshot(),
        KmsFigures {
            decrypt_cache_hits: 1,
            ..ZERO
        }
    );
}

#[tokio::test]
async fn measure_scopes_count_their_own_work_and_nest() {
    let k = kms().await;
    let [cached, uncached, wrong] = encryptors(&k);
    let ((first, second), outer) = kms::measure(async {
        let (stored, first) = kms::measure(ten_round_trips(&cached)).await;
        // Two scopes polled together on one task, through one shared encryptor each.
        let (((), a), ((), b)) = futures::join!(
            kms::measure(async {
                ten_round_trips(&uncached).await;
            }),
            kms::measure(failing_decrypt(&wrong, &stored[0])),
        );
        assert_eq!(counts(&a), UNCACHED);
        assert_eq!(counts(&b), FAILING);
        let mut second = a;
        second.add(&b);
        (first, second)
    })
    .await;
    assert!(!kms::measuring());
    assert_eq!(counts(&first), CACHED);
    // Each scope saw exactly what its encryptor counted, durations included.
    assert_eq!(first, cached.metrics().snapshot());
    let mut expected = first.clone();
    expected.add(&second);
    assert_eq!(outer, expected);
    let mut all = cached.metrics().snapshot();
    all.add(&uncached.metrics().snapshot());
    all.add(&wrong.metrics().snapshot());
    assert_eq!(outer, all);
    assert_eq!(outer.kms_calls(), 1 + 1 + 10 + 10 + 1);
}

/// Rebuilds the figures from what it is told.
#[derive(Default)]
struct Tally(Mutex<(KmsFigures, Vec<String>)>);

impl KmsObserver for Tally {
    fn kms_call(&self, operation: &'static str, duration: Duration, error: Option<&'static str>) {
        let (f, errors) = &mut *self.0.lock().unwrap();
        match operation {
            "GenerateDataKey" => f.generate_data_key_calls += 1,
            "Decrypt" => f.decrypt_calls += 1,
            other => panic!("unknown operation {other}"),
        }
        if let Some(kind) = error {
            f.errors += 1;
            errors.push(format!("{operation}:{kind}"));
        }
        f.kms_duration += duration;
        f.max_kms_duration = f.max_kms_duration.max(duration);
    }
    fn cache(&self, cache: &'static str, hit: bool) {
        let f = &mut self.0.lock().unwrap().0;
        *match (cache, hit) {
            ("encrypt", true) => &mut f.encrypt_cache_hits,
            ("encrypt", false) => &mut f.encrypt_cache_misses,
            ("decrypt", true) => &mut f.decrypt_cache_hits,
            ("decrypt", false) => &mut f.decrypt_cache_misses,
            other => panic!("unknown cache {other:?}"),
        } += 1;
    }
}

#[tokio::test]
async fn an_observer_is_told_every_call_and_lookup() {
    let k = kms().await;
    let tally = Arc::new(Tally::default());
    let [cached, uncached, wrong] = encryptors(&k).map(|e| e.with_observer(tally.clone()));
    assert!(format!("{cached:?}").contains("observer: true"));
    let stored = ten_round_trips(&cached).await;
    ten_round_trips(&uncached).await;
    failing_decrypt(&wrong, &stored[0]).await;
    let (told, errors) = tally.0.lock().unwrap().clone();
    let mut all = cached.metrics().snapshot();
    all.add(&uncached.metrics().snapshot());
    all.add(&wrong.metrics().snapshot());
    assert_eq!(told, all);
    let mut expected = CACHED;
    expected.add(&UNCACHED);
    expected.add(&FAILING);
    assert_eq!(counts(&told), expected);
    assert_eq!(errors, ["Decrypt:Integrity"]);
}

#[test]
fn the_metrics_facade_gets_the_same_figures() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        // The recorder is this thread's: everything runs on it.
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let k = kms().await;
                let [cached, uncached, wrong] = encryptors(&k);
                let stored = ten_round_trips(&cached).await;
                ten_round_trips(&uncached).await;
                failing_decrypt(&wrong, &stored[0]).await;
            });
    });
    let mut found: Vec<String> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let value = match value {
                DebugValue::Counter(n) => n.to_string(),
                DebugValue::Histogram(v) => {
                    assert!(v.iter().all(|s| s.into_inner() > 0.0));
                    format!("{} samples", v.len())
                }
                DebugValue::Gauge(g) => g.to_string(),
            };
            format!("{} {} {value}", key.key().name(), labels.join(","))
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "dynox_kms_cache_total cache=decrypt,result=hit 9",
            "dynox_kms_cache_total cache=decrypt,result=miss 2",
            "dynox_kms_cache_total cache=encrypt,result=hit 9",
            "dynox_kms_cache_total cache=encrypt,result=miss 1",
            "dynox_kms_request_duration_seconds operation=Decrypt 12 samples",
            "dynox_kms_request_duration_seconds operation=GenerateDataKey 11 samples",
            "dynox_kms_requests_total operation=Decrypt,outcome=Integrity 1",
            "dynox_kms_requests_total operation=Decrypt,outcome=ok 11",
            "dynox_kms_requests_total operation=GenerateDataKey,outcome=ok 11",
        ]
    );
}

/// Every span (name, target, fields) and event (target, fields) recorded.
#[derive(Default, Clone)]
struct Capture {
    spans: Arc<Mutex<Vec<Captured>>>,
    events: Arc<Mutex<Vec<Captured>>>,
}

#[derive(Clone, Debug)]
struct Captured {
    name: &'static str,
    target: String,
    fields: Vec<(String, String)>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Fields<'a>(&'a mut Vec<(String, String)>);
impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl Subscriber for Capture {
    /// Debug and above from every crate (the AWS SDK's included), and all of dynox's.
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        *m.level() <= tracing::Level::DEBUG || m.target().starts_with("dynox")
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Vec::new();
        span.record(&mut Fields(&mut fields));
        let mut spans = self.spans.lock().unwrap();
        spans.push(Captured {
            name: span.metadata().name(),
            target: span.metadata().target().to_owned(),
            fields,
        });
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.spans.lock().unwrap();
        values.record(&mut Fields(&mut spans[span.into_u64() as usize - 1].fields));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push(Captured {
            name: event.metadata().name(),
            target: event.metadata().target().to_owned(),
            fields,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn kms_spans_and_miss_events_follow_the_conventions_and_carry_no_secrets() {
    let k = kms().await;
    let [cached, uncached, wrong] = encryptors(&k);
    // Unwrapped keys that expire at once.
    let small = Encryptor::with_cache(
        k.local.client(),
        Some(CacheLimits {
            max_age: Duration::ZERO,
            ..CacheLimits::default()
        }),
    );
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    let stored = ten_round_trips(&cached).await;
    ten_round_trips(&uncached).await;
    failing_decrypt(&wrong, &stored[0]).await;
    let one = small
        .encrypt::<Ssn>(SECRET.as_bytes(), Some(ITEM_KEY))
        .await
        .unwrap();
    for _ in 0..2 {
        small.decrypt::<Ssn>(&one, Some(ITEM_KEY)).await.unwrap();
    }
    drop(guard);

    let spans = capture.spans.lock().unwrap().clone();
    let events = capture.events.lock().unwrap().clone();
    let requests: Vec<&Captured> = spans.iter().filter(|s| s.name == "kms.request").collect();
    // 23 from the workload; `small`: 1 GenerateDataKey (`empty`) and 2 Decrypts (`empty`,
    // then `expired`).
    assert_eq!(requests.len(), 23 + 3);
    for s in &requests {
        assert_eq!(s.target, "dynox");
        let method = s.field("rpc.method").unwrap();
        assert!(["GenerateDataKey", "Decrypt"].contains(&method), "{s:?}");
        assert_eq!(s.field("otel.name"), Some(format!("KMS.{method}").as_str()));
        assert_eq!(s.field("otel.kind"), Some("client"));
        assert_eq!(s.field("rpc.system"), Some("aws-api"));
        assert_eq!(s.field("rpc.system.name"), Some("aws-api"));
        assert_eq!(s.field("rpc.service"), Some("KMS"));
    }
    let failed: Vec<&&Captured> = requests
        .iter()
        .filter(|s| s.field("error.type").is_some())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].field("error.type"), Some("Integrity"));
    assert_eq!(failed[0].field("otel.status_code"), Some("ERROR"));
    assert_eq!(failed[0].field("rpc.method"), Some("Decrypt"));

    let misses: Vec<String> = events
        .iter()
        .filter(|e| e.field("message") == Some("dynox: kms cache miss"))
        .map(|e| {
            assert_eq!(e.target, "dynox");
            let names: Vec<&str> = e.fields.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["message", "operation", "cache", "reason"], "{e:?}");
            format!(
                "{} {} {}",
                e.field("operation").unwrap(),
                e.field("cache").unwrap(),
                e.field("reason").unwrap()
            )
        })
        .collect();
    assert_eq!(
        misses,
        [
            "GenerateDataKey encrypt empty",
            "Decrypt decrypt empty",
            "Decrypt decrypt empty",
            "GenerateDataKey encrypt empty",
            "Decrypt decrypt empty",
            "Decrypt decrypt expired",
        ]
    );

    // Nothing recorded carries a plaintext or an item key; dynox's own records name no key
    // and no encryption context either.
    let everything = format!("{spans:?}{events:?}");
    for planted in [SECRET, ITEM_KEY] {
        if let Some(at) = everything.find(planted) {
            panic!(
                "{planted} leaked: {}",
                &everything[at.saturating_sub(400)..at + 40]
            );
        }
    }
    let ours = format!(
        "{:?}{:?}",
        spans
            .iter()
            .filter(|s| s.target.starts_with("dynox"))
            .collect::<Vec<_>>(),
        events
            .iter()
            .filter(|e| e.target.starts_with("dynox"))
            .collect::<Vec<_>>()
    );
    for named in [k.key_id.as_str(), "dynox-kms-obs", "acme-tenant-ctx"] {
        assert!(!ours.contains(named), "{named} in {ours}");
    }
}

#[test]
fn exhausted_keys_are_a_miss_with_their_reason() {
    // Values per data key run out: the fourth value of a three-value key needs a new one.
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    let figures = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let k = kms().await;
            let e = Encryptor::with_cache(
                k.local.client(),
                Some(CacheLimits {
                    max_values: 3,
                    ..CacheLimits::default()
                }),
            );
            for i in 0..10 {
                e.encrypt::<Ssn>(SECRET.as_bytes(), Some(&item(i)))
                    .await
                    .unwrap();
            }
            e.metrics().snapshot()
        });
    drop(guard);
    assert_eq!(
        counts(&figures),
        KmsFigures {
            generate_data_key_calls: 4,
            encrypt_cache_hits: 6,
            encrypt_cache_misses: 4,
            ..ZERO
        }
    );
    let reasons: Vec<String> = capture
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.field("message") == Some("dynox: kms cache miss"))
        .map(|e| e.field("reason").unwrap().to_owned())
        .collect();
    assert_eq!(reasons, ["empty", "exhausted", "exhausted", "exhausted"]);
}
