//! KMS envelope encryption of field values, with data-key caching and call counts.
//!
//! A field's declaration is a type implementing [`EncryptedField`] (the derive makes one per
//! encrypted field), so its key is a constant and [`Encryptor::encrypt`] and
//! [`Encryptor::decrypt`] mark exactly `kms:GenerateDataKey` and `kms:Decrypt` on that key. A
//! write-only field's code never calls `decrypt`, so its binary has no `kms:Decrypt`.
//!
//! Every KMS call and cache lookup is reported five ways: the encryptor's [`KmsMetrics`], the
//! enclosing [`measure`] scopes, its [`KmsObserver`], the `metrics` facade
//! (`dynox_kms_requests_total`, `dynox_kms_request_duration_seconds`, `dynox_kms_cache_total`)
//! and a `kms.request` tracing span. None of them carries a key id, context, item key or value.

use crate::envelope::{self, Binding, Envelope, EnvelopeError, V2};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use dynox_iam::{ResourceRef, actions::kms, mark};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument as _;
use zeroize::Zeroizing;

/// What a field allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Encrypts on write, decrypts on read.
    ReadWrite,
    /// Encrypts on write and never decrypts (reads give the ciphertext or an error, by choice).
    WriteOnly,
    /// Decrypts on read and refuses to write the field.
    ReadOnly,
}

/// An encrypted field's declaration.
pub trait EncryptedField: Send + Sync + 'static {
    /// The KMS key: id, key ARN, alias name or alias ARN.
    const KEY: &'static str;
    /// What the field allows.
    const MODE: Mode;
    /// The stored format: [`V2`] (context-bound, the default) or
    /// [`V1`](crate::envelope::V1) (pydynox's).
    const VERSION: u8;
    /// The model's table.
    const TABLE: &'static str;
    /// The stored attribute name.
    const ATTRIBUTE: &'static str;
    /// User context pairs, added to the encryption context.
    const CONTEXT: &'static [(&'static str, &'static str)];
    /// Whether a version 2 value is bound to the item's primary key, so that a copy in another
    /// item does not decrypt. The derive sets it for every version 2 field unless the field says
    /// `allow_copy_between_items`; version 1 binds nothing, whatever this says.
    const BIND_ITEM_KEY: bool;
    /// Compress text values before encrypting them (compress, then encrypt).
    const COMPRESSION: Option<crate::compress::Compression> = None;
}

/// A boxed error, for the detail behind an [`EncryptionError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why encryption or decryption failed.
#[derive(Debug)]
pub enum EncryptionError {
    /// The stored value is not an authentic value of this field of this item: a byte of it was
    /// changed (version, lengths, data key, nonce, ciphertext or tag), it was copied from another
    /// item, attribute or table, or it was sealed under another context. One error for every
    /// part, so a reader never learns which check caught it; `source()` says, for debugging.
    Integrity {
        /// The field, as `table.attribute`.
        field: String,
        /// What detected it: the envelope's check or KMS's answer.
        source: BoxError,
    },
    /// The value could not be sealed (writing only).
    Envelope(EnvelopeError),
    /// KMS refused or failed for a reason that is not the value's: access, throttling, network,
    /// a disabled or missing key. The SDK's error is the `source()`.
    Kms {
        /// The KMS operation.
        operation: &'static str,
        /// The key called (id, ARN or alias, after the encryptor's mapping).
        key: String,
        /// The service's error code (`AccessDeniedException`, `DisabledException`, ...), when
        /// KMS answered with one.
        code: Option<String>,
        /// The service's code and message, or the failure's description, on one line (kept
        /// out of the `Display`, which names operation, key and code; the SDK error, the
        /// `source()`, says the rest).
        message: String,
        /// The SDK's error.
        source: BoxError,
    },
    /// The field's mode forbids this, or its declaration cannot be met.
    Refused(String),
}

impl EncryptionError {
    /// The variant's name (`Integrity`, `Envelope`, `Kms`, `Refused`): a bounded label for
    /// metrics and traces (`error.type`), where the message could carry names.
    pub fn kind(&self) -> &'static str {
        match self {
            EncryptionError::Integrity { .. } => "Integrity",
            EncryptionError::Envelope(_) => "Envelope",
            EncryptionError::Kms { .. } => "Kms",
            EncryptionError::Refused(_) => "Refused",
        }
    }

    /// Whether KMS refused the call for lack of permission (`AccessDeniedException`).
    pub fn is_access_denied(&self) -> bool {
        matches!(self, EncryptionError::Kms { code: Some(c), .. } if c == "AccessDeniedException")
    }

    /// Whether the stored value failed its integrity check (tampered, moved, wrong context).
    pub fn is_integrity(&self) -> bool {
        matches!(self, EncryptionError::Integrity { .. })
    }

    /// The integrity error of field `F` holding something that is not an encrypted value.
    pub fn not_encrypted<F: EncryptedField>() -> EncryptionError {
        EncryptionError::integrity::<F>(EnvelopeError::NotEncrypted)
    }

    fn integrity<F: EncryptedField>(source: impl Into<BoxError>) -> EncryptionError {
        EncryptionError::Integrity {
            field: format!("{}.{}", F::TABLE, F::ATTRIBUTE),
            source: source.into(),
        }
    }

    fn kms<E, R>(
        operation: &'static str,
        key: &str,
        e: aws_sdk_kms::error::SdkError<E, R>,
    ) -> EncryptionError
    where
        E: std::error::Error + aws_sdk_kms::error::ProvideErrorMetadata + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        EncryptionError::Kms {
            operation,
            key: key.to_owned(),
            code: e
                .as_service_error()
                .and_then(|s| s.code())
                .map(str::to_owned),
            message: one_line(&e),
            source: Box::new(e),
        }
    }

    /// A KMS answer without a part it must have.
    fn incomplete(operation: &'static str, key: &str, what: &str) -> EncryptionError {
        EncryptionError::Kms {
            operation,
            key: key.to_owned(),
            code: None,
            message: format!("the answer has no {what}"),
            source: format!("{operation} answered without {what}").into(),
        }
    }
}

/// The code and message of a KMS error (or what kind of failure it was) on one line: never the
/// SDK's debug dump, which stays in `source()`.
fn one_line<E, R>(e: &aws_sdk_kms::error::SdkError<E, R>) -> String
where
    E: aws_sdk_kms::error::ProvideErrorMetadata,
{
    use aws_sdk_kms::error::SdkError;
    let text = match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_owned(),
                _ => "the service returned an error without a code".to_owned(),
            }
        }
        SdkError::TimeoutError(_) => "the request timed out".to_owned(),
        SdkError::DispatchFailure(_) => "the request could not be sent".to_owned(),
        SdkError::ResponseError(_) => "the response could not be read".to_owned(),
        SdkError::ConstructionFailure(_) => "the request could not be built".to_owned(),
        _ => "the request failed".to_owned(),
    };
    text.lines().next().unwrap_or_default().to_owned()
}

impl fmt::Display for EncryptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncryptionError::Integrity { field, .. } => write!(
                f,
                "{field}: the stored value failed its integrity check (tampered with, or copied \
                 from another item, attribute or table)"
            ),
            EncryptionError::Envelope(e) => write!(f, "{e}"),
            EncryptionError::Kms {
                operation,
                key,
                code: Some(code),
                ..
            } => write!(f, "KMS {operation} with key {key} failed: {code}"),
            EncryptionError::Kms {
                operation,
                key,
                message,
                ..
            } => write!(f, "KMS {operation} with key {key} failed: {message}"),
            EncryptionError::Refused(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for EncryptionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EncryptionError::Integrity { source, .. } | EncryptionError::Kms { source, .. } => {
                Some(source.as_ref())
            }
            EncryptionError::Envelope(e) => Some(e),
            EncryptionError::Refused(_) => None,
        }
    }
}

impl From<EnvelopeError> for EncryptionError {
    fn from(e: EnvelopeError) -> Self {
        EncryptionError::Envelope(e)
    }
}

/// How long and how much one data key is reused, and how many unwrapped keys are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    /// Reuse a data key for at most this long (default 5 minutes).
    pub max_age: Duration,
    /// Encrypt at most this many values with one data key (default 4,096; random 96-bit nonces
    /// stay safe far below 2^32).
    pub max_values: u64,
    /// Encrypt at most this many bytes with one data key (default 64 MiB).
    pub max_bytes: u64,
    /// Keep at most this many unwrapped keys for decryption (default 1,024).
    pub max_decrypt_entries: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            max_age: Duration::from_secs(300),
            max_values: 4096,
            max_bytes: 64 << 20,
            max_decrypt_entries: 1024,
        }
    }
}

/// The KMS operations the encryptor calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    GenerateDataKey,
    Decrypt,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::GenerateDataKey => "GenerateDataKey",
            Operation::Decrypt => "Decrypt",
        }
    }
    fn span_name(self) -> &'static str {
        match self {
            Operation::GenerateDataKey => "KMS.GenerateDataKey",
            Operation::Decrypt => "KMS.Decrypt",
        }
    }
}

/// The two caches: data keys for encrypting, unwrapped data keys for decrypting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cache {
    Encrypt,
    Decrypt,
}

impl Cache {
    fn name(self) -> &'static str {
        match self {
            Cache::Encrypt => "encrypt",
            Cache::Decrypt => "decrypt",
        }
    }
    /// The KMS call a miss of this cache costs.
    fn operation(self) -> Operation {
        match self {
            Cache::Encrypt => Operation::GenerateDataKey,
            Cache::Decrypt => Operation::Decrypt,
        }
    }
}

/// A copy of the figures: of an encryptor ([`KmsMetrics::snapshot`]) or of one operation
/// ([`measure`]). A cache hit is a value sealed or opened with a cached data key and no KMS
/// call; a miss is a KMS call needed while caching is on (with caching off there are neither).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KmsFigures {
    /// `GenerateDataKey` calls, failed ones included.
    pub generate_data_key_calls: u64,
    /// `Decrypt` calls, failed ones included.
    pub decrypt_calls: u64,
    /// KMS calls that failed, of either operation.
    pub errors: u64,
    /// Values encrypted with a cached data key.
    pub encrypt_cache_hits: u64,
    /// Encryptions that needed a `GenerateDataKey` call while caching is on.
    pub encrypt_cache_misses: u64,
    /// Values decrypted with a cached unwrapped key.
    pub decrypt_cache_hits: u64,
    /// Decryptions that needed a `Decrypt` call while caching is on.
    pub decrypt_cache_misses: u64,
    /// Time spent in KMS calls, summed.
    pub kms_duration: Duration,
    /// The longest single KMS call.
    pub max_kms_duration: Duration,
}

impl KmsFigures {
    /// KMS calls of both operations.
    pub fn kms_calls(&self) -> u64 {
        self.generate_data_key_calls + self.decrypt_calls
    }

    /// Adds `other` in (the longest call is the longer of the two).
    pub fn add(&mut self, other: &KmsFigures) {
        self.generate_data_key_calls += other.generate_data_key_calls;
        self.decrypt_calls += other.decrypt_calls;
        self.errors += other.errors;
        self.encrypt_cache_hits += other.encrypt_cache_hits;
        self.encrypt_cache_misses += other.encrypt_cache_misses;
        self.decrypt_cache_hits += other.decrypt_cache_hits;
        self.decrypt_cache_misses += other.decrypt_cache_misses;
        self.kms_duration += other.kms_duration;
        self.max_kms_duration = self.max_kms_duration.max(other.max_kms_duration);
    }

    fn kms_call(&mut self, op: Operation, duration: Duration, failed: bool) {
        match op {
            Operation::GenerateDataKey => self.generate_data_key_calls += 1,
            Operation::Decrypt => self.decrypt_calls += 1,
        }
        self.errors += u64::from(failed);
        self.kms_duration += duration;
        self.max_kms_duration = self.max_kms_duration.max(duration);
    }

    fn cache(&mut self, cache: Cache, hit: bool) {
        *match (cache, hit) {
            (Cache::Encrypt, true) => &mut self.encrypt_cache_hits,
            (Cache::Encrypt, false) => &mut self.encrypt_cache_misses,
            (Cache::Decrypt, true) => &mut self.decrypt_cache_hits,
            (Cache::Decrypt, false) => &mut self.decrypt_cache_misses,
        } += 1;
    }
}

/// An encryptor's KMS calls, errors, cache hits and misses and KMS time, since it was made or
/// last [reset](KmsMetrics::reset).
#[derive(Debug, Default)]
pub struct KmsMetrics {
    generate_data_key: AtomicU64,
    decrypt: AtomicU64,
    generate_data_key_errors: AtomicU64,
    decrypt_errors: AtomicU64,
    encrypt_hits: AtomicU64,
    encrypt_misses: AtomicU64,
    decrypt_hits: AtomicU64,
    decrypt_misses: AtomicU64,
    /// Nanoseconds, so that the sum and maximum stay lock-free.
    kms_nanos: AtomicU64,
    max_kms_nanos: AtomicU64,
}

impl KmsMetrics {
    /// `GenerateDataKey` calls so far.
    pub fn generate_data_key_calls(&self) -> u64 {
        self.generate_data_key.load(Ordering::Relaxed)
    }
    /// `Decrypt` calls so far.
    pub fn decrypt_calls(&self) -> u64 {
        self.decrypt.load(Ordering::Relaxed)
    }
    /// `GenerateDataKey` calls that failed.
    pub fn generate_data_key_errors(&self) -> u64 {
        self.generate_data_key_errors.load(Ordering::Relaxed)
    }
    /// `Decrypt` calls that failed (including those blamed on the stored value).
    pub fn decrypt_errors(&self) -> u64 {
        self.decrypt_errors.load(Ordering::Relaxed)
    }

    /// All figures at once (each read on its own: a snapshot taken during calls may be a call
    /// apart between counters).
    pub fn snapshot(&self) -> KmsFigures {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        KmsFigures {
            generate_data_key_calls: get(&self.generate_data_key),
            decrypt_calls: get(&self.decrypt),
            errors: get(&self.generate_data_key_errors) + get(&self.decrypt_errors),
            encrypt_cache_hits: get(&self.encrypt_hits),
            encrypt_cache_misses: get(&self.encrypt_misses),
            decrypt_cache_hits: get(&self.decrypt_hits),
            decrypt_cache_misses: get(&self.decrypt_misses),
            kms_duration: Duration::from_nanos(get(&self.kms_nanos)),
            max_kms_duration: Duration::from_nanos(get(&self.max_kms_nanos)),
        }
    }

    /// Sets every figure back to zero.
    pub fn reset(&self) {
        for a in [
            &self.generate_data_key,
            &self.decrypt,
            &self.generate_data_key_errors,
            &self.decrypt_errors,
            &self.encrypt_hits,
            &self.encrypt_misses,
            &self.decrypt_hits,
            &self.decrypt_misses,
            &self.kms_nanos,
            &self.max_kms_nanos,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }

    fn kms_call(&self, op: Operation, duration: Duration, failed: bool) {
        let (calls, errors) = match op {
            Operation::GenerateDataKey => (&self.generate_data_key, &self.generate_data_key_errors),
            Operation::Decrypt => (&self.decrypt, &self.decrypt_errors),
        };
        calls.fetch_add(1, Ordering::Relaxed);
        if failed {
            errors.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.kms_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.max_kms_nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    fn cache(&self, cache: Cache, hit: bool) {
        match (cache, hit) {
            (Cache::Encrypt, true) => &self.encrypt_hits,
            (Cache::Encrypt, false) => &self.encrypt_misses,
            (Cache::Decrypt, true) => &self.decrypt_hits,
            (Cache::Decrypt, false) => &self.decrypt_misses,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
}

tokio::task_local! {
    /// The figures of the innermost [`measure`] scope of the current task.
    static SCOPE: RefCell<KmsFigures>;
}

/// Runs `fut` and returns, with its output, what every [`Encryptor`] spent on KMS while it was
/// polled: so a caller can tell what one request or batch cost, even with a shared encryptor.
/// The scope follows `fut`, not threads: work that `fut` spawns onto other tasks is not
/// counted. Scopes nest: an inner scope's figures are added to the outer one when it ends.
///
/// `fut` is boxed once, so that wrapping a large future does not make it larger still.
pub fn measure<F: Future>(fut: F) -> impl Future<Output = (F::Output, KmsFigures)> {
    let mut scoped = Box::pin(SCOPE.scope(RefCell::new(KmsFigures::default()), fut));
    async move {
        let out = scoped.as_mut().await;
        let figures = scoped
            .as_mut()
            .take_value()
            .map(RefCell::into_inner)
            .unwrap_or_default();
        in_scope(|outer| outer.add(&figures));
        (out, figures)
    }
}

/// Whether the current task is inside a [`measure`] scope.
pub fn measuring() -> bool {
    SCOPE.try_with(|_| ()).is_ok()
}

/// Applies `f` to the current scope's figures, if there is one (outside one, this is a failed
/// thread-local look-up and nothing more).
fn in_scope(f: impl FnOnce(&mut KmsFigures)) {
    let _ = SCOPE.try_with(|s| f(&mut s.borrow_mut()));
}

/// Receives every KMS call and cache lookup of an [`Encryptor`], to export them elsewhere
/// (dynox forwards them to OpenTelemetry meters). Called on the caller's task, after the call
/// and outside every lock: keep it quick and never block.
pub trait KmsObserver: Send + Sync + 'static {
    /// A KMS call ended: `operation` is `GenerateDataKey` or `Decrypt`, `error` the
    /// [kind](EncryptionError::kind) of its failure.
    fn kms_call(&self, operation: &'static str, duration: Duration, error: Option<&'static str>);
    /// A cache lookup: `cache` is `encrypt` or `decrypt`.
    fn cache(&self, cache: &'static str, hit: bool);
}

/// Describes the metrics to the installed `metrics` recorder. Optional; call it once, after
/// installing the recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "dynox_kms_requests_total",
        "KMS calls by operation and outcome (ok, or the error kind)"
    );
    metrics::describe_histogram!(
        "dynox_kms_request_duration_seconds",
        metrics::Unit::Seconds,
        "KMS call duration by operation"
    );
    metrics::describe_counter!(
        "dynox_kms_cache_total",
        "Data-key cache lookups by cache (encrypt, decrypt) and result (hit, miss)"
    );
}

struct DataKey {
    plaintext: Zeroizing<Vec<u8>>,
    encrypted: Vec<u8>,
    created: Instant,
    values: u64,
    bytes: u64,
}

type ContextKey = (String, Vec<(String, String)>);
/// Unwrapped data keys by their encrypted form and context, with when they were unwrapped.
type DecryptCache = HashMap<(Vec<u8>, ContextKey), (Zeroizing<Vec<u8>>, Instant)>;

/// Encrypts and decrypts field values with KMS data keys. Share one per process: its caches are
/// what make bulk writes cheap.
pub struct Encryptor {
    kms: aws_sdk_kms::Client,
    limits: Option<CacheLimits>,
    encrypt_keys: Mutex<HashMap<ContextKey, DataKey>>,
    decrypt_keys: Mutex<DecryptCache>,
    metrics: KmsMetrics,
    observer: Option<Arc<dyn KmsObserver>>,
    /// Declared key (usually an alias) to the key id actually called, from the mapping.
    keys: std::collections::BTreeMap<String, String>,
}

impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key material stays out of Debug output.
        f.debug_struct("Encryptor")
            .field("limits", &self.limits)
            .field("metrics", &self.metrics)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

fn context_key(kms_key: &str, ctx: &BTreeMap<String, String>) -> ContextKey {
    (
        kms_key.to_owned(),
        ctx.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    )
}

/// The context pairs a version 2 value adds to the field's own (see `Binding::kms_context`).
const fn bound_context<F: EncryptedField>() -> &'static [(&'static str, &'static str)] {
    if F::VERSION == V2 {
        &[("dynox:table", F::TABLE), ("dynox:attribute", F::ATTRIBUTE)]
    } else {
        &[]
    }
}

/// What a value of `F` is bound to. A field that binds the item's key needs it: sealing such a
/// value without one would silently make it portable between items.
fn binding<F: EncryptedField>(item_key: Option<&str>) -> Result<Binding, EncryptionError> {
    let bound = F::BIND_ITEM_KEY && F::VERSION == V2;
    if bound && item_key.is_none() {
        return Err(EncryptionError::Refused(format!(
            "{}.{} binds the item's key, and none was given",
            F::TABLE,
            F::ATTRIBUTE
        )));
    }
    Ok(Binding {
        table: F::TABLE.to_owned(),
        attribute: F::ATTRIBUTE.to_owned(),
        item_key: if bound {
            item_key.map(str::to_owned)
        } else {
            None
        },
        context: F::CONTEXT
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    })
}

/// Whether KMS refused a Decrypt because of the encrypted data key it was given. KMS
/// authenticates that key with its context, so a changed byte, another context or a key sealed
/// under another KMS key is `InvalidCiphertextException` or `IncorrectKeyException`; a blob that
/// names a KMS key which does not exist is an `AccessDeniedException` ("The ciphertext refers to
/// a customer master key that does not exist...", or no message at all from moto). A denial by
/// IAM or a key policy always names the caller ("User: ... is not authorized to perform"), and
/// stays a KMS error.
fn blames_the_value(e: &aws_sdk_kms::operation::decrypt::DecryptError) -> bool {
    use aws_sdk_kms::error::ProvideErrorMetadata as _;
    // dynox builds every other parameter of the request itself: a validation failure is about
    // the blob it read from the stored value.
    e.is_invalid_ciphertext_exception()
        || e.is_incorrect_key_exception()
        || e.code() == Some("ValidationException")
        || (e.code() == Some("AccessDeniedException")
            && !e
                .message()
                .is_some_and(|m| m.contains("is not authorized to perform")))
}

impl Encryptor {
    /// An encryptor with the default cache limits.
    pub fn new(kms: aws_sdk_kms::Client) -> Encryptor {
        Encryptor::with_cache(kms, Some(CacheLimits::default()))
    }

    /// An encryptor with these cache limits, or no caching at all (`None`: one KMS call per
    /// value).
    pub fn with_cache(kms: aws_sdk_kms::Client, limits: Option<CacheLimits>) -> Encryptor {
        Encryptor {
            kms,
            limits,
            encrypt_keys: Mutex::new(HashMap::new()),
            decrypt_keys: Mutex::new(HashMap::new()),
            metrics: KmsMetrics::default(),
            observer: None,
            keys: Default::default(),
        }
    }

    /// This encryptor, calling KMS with the keys `mapping` names for the declared ones (the
    /// same mapping the policy was exported with, so the policy names the keys that are used).
    pub fn with_mapping(mut self, mapping: &dynox_iam::Mapping) -> Encryptor {
        self.keys = mapping.kms_keys.clone();
        self
    }

    /// This encryptor, also reporting every KMS call and cache lookup to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn KmsObserver>) -> Encryptor {
        self.observer = Some(observer);
        self
    }

    /// Declared key to the key id called, as given by [`Encryptor::with_mapping`].
    pub fn key_mapping(&self) -> &std::collections::BTreeMap<String, String> {
        &self.keys
    }

    fn key_id<'a>(&'a self, declared: &'a str) -> &'a str {
        self.keys.get(declared).map_or(declared, String::as_str)
    }

    /// The KMS figures.
    pub fn metrics(&self) -> &KmsMetrics {
        &self.metrics
    }

    /// Runs one KMS call (`call` sends it and reads the answer) in its `kms.request` span, and
    /// reports it. The span is entered only while the call is polled.
    async fn kms_call<T>(
        &self,
        op: Operation,
        call: impl Future<Output = Result<T, EncryptionError>>,
    ) -> Result<T, EncryptionError> {
        let span = tracing::info_span!(
            target: "dynox",
            "kms.request",
            otel.name = op.span_name(),
            otel.kind = "client",
            rpc.system = "aws-api",
            rpc.system.name = "aws-api",
            rpc.service = "KMS",
            rpc.method = op.name(),
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let start = Instant::now();
        let result = call.instrument(span.clone()).await;
        let duration = start.elapsed();
        let error = result.as_ref().err().map(EncryptionError::kind);
        if let Some(kind) = error {
            span.record("error.type", kind);
            span.record("otel.status_code", "ERROR");
        }
        self.metrics.kms_call(op, duration, error.is_some());
        in_scope(|s| s.kms_call(op, duration, error.is_some()));
        if let Some(o) = &self.observer {
            o.kms_call(op.name(), duration, error);
        }
        // Literal labels make static keys: no allocation per call, recorder or not.
        let requests = match (op, error) {
            (Operation::GenerateDataKey, None) => metrics::counter!(
                "dynox_kms_requests_total", "operation" => "GenerateDataKey", "outcome" => "ok"
            ),
            (Operation::Decrypt, None) => metrics::counter!(
                "dynox_kms_requests_total", "operation" => "Decrypt", "outcome" => "ok"
            ),
            (op, Some(kind)) => metrics::counter!(
                "dynox_kms_requests_total", "operation" => op.name(), "outcome" => kind
            ),
        };
        requests.increment(1);
        match op {
            Operation::GenerateDataKey => metrics::histogram!(
                "dynox_kms_request_duration_seconds", "operation" => "GenerateDataKey"
            ),
            Operation::Decrypt => metrics::histogram!(
                "dynox_kms_request_duration_seconds", "operation" => "Decrypt"
            ),
        }
        .record(duration.as_secs_f64());
        result
    }

    /// Reports a cache lookup; a miss also says why (`empty`, `expired`, `exhausted`).
    fn cache_lookup(&self, cache: Cache, miss: Option<&'static str>) {
        let hit = miss.is_none();
        if let Some(reason) = miss {
            tracing::debug!(
                target: "dynox",
                operation = cache.operation().name(),
                cache = cache.name(),
                reason,
                "dynox: kms cache miss"
            );
        }
        self.metrics.cache(cache, hit);
        in_scope(|s| s.cache(cache, hit));
        if let Some(o) = &self.observer {
            o.cache(cache.name(), hit);
        }
        match (cache, hit) {
            (Cache::Encrypt, true) => {
                metrics::counter!("dynox_kms_cache_total", "cache" => "encrypt", "result" => "hit")
            }
            (Cache::Encrypt, false) => {
                metrics::counter!("dynox_kms_cache_total", "cache" => "encrypt", "result" => "miss")
            }
            (Cache::Decrypt, true) => {
                metrics::counter!("dynox_kms_cache_total", "cache" => "decrypt", "result" => "hit")
            }
            (Cache::Decrypt, false) => {
                metrics::counter!("dynox_kms_cache_total", "cache" => "decrypt", "result" => "miss")
            }
        }
        .increment(1);
    }

    /// Encrypts `plaintext` for field `F` of the item whose key text is `item_key`.
    pub async fn encrypt<F: EncryptedField>(
        &self,
        plaintext: &[u8],
        item_key: Option<&str>,
    ) -> Result<String, EncryptionError> {
        mark!(
            kms::GENERATE_DATA_KEY,
            ResourceRef::KmsKey(F::KEY),
            "encrypt",
            [F::TABLE, ".", F::ATTRIBUTE],
            context: [bound_context::<F>(), F::CONTEXT]
        );
        if F::MODE == Mode::ReadOnly {
            return Err(EncryptionError::Refused(format!(
                "{}.{} is read-only: it is never written",
                F::TABLE,
                F::ATTRIBUTE
            )));
        }
        let b = binding::<F>(item_key)?;
        let ctx = b.kms_context(F::VERSION);
        let cache_key = context_key(F::KEY, &ctx);
        let len = plaintext.len() as u64;
        if let Some(limits) = self.limits {
            let mut keys = self.encrypt_keys.lock().expect("cache lock");
            let miss = match keys.get_mut(&cache_key) {
                None => "empty",
                Some(k) if k.created.elapsed() >= limits.max_age => "expired",
                Some(k) if k.values >= limits.max_values || k.bytes + len > limits.max_bytes => {
                    "exhausted"
                }
                Some(k) => {
                    k.values += 1;
                    k.bytes += len;
                    let env = envelope::seal(F::VERSION, &k.plaintext, &k.encrypted, &b, plaintext);
                    drop(keys);
                    self.cache_lookup(Cache::Encrypt, None);
                    return Ok(env?.to_stored()?);
                }
            };
            keys.remove(&cache_key);
            drop(keys);
            self.cache_lookup(Cache::Encrypt, Some(miss));
        }
        let (plain, encrypted) = self
            .kms_call(Operation::GenerateDataKey, async {
                let out = self
                    .kms
                    .generate_data_key()
                    .key_id(self.key_id(F::KEY))
                    .key_spec(DataKeySpec::Aes256)
                    .set_encryption_context(Some(ctx.clone().into_iter().collect()))
                    .send()
                    .await
                    .map_err(|e| EncryptionError::kms("GenerateDataKey", self.key_id(F::KEY), e))?;
                let incomplete = |what: &str| {
                    EncryptionError::incomplete("GenerateDataKey", self.key_id(F::KEY), what)
                };
                let plain = Zeroizing::new(
                    out.plaintext
                        .ok_or_else(|| incomplete("Plaintext"))?
                        .into_inner(),
                );
                let encrypted = out
                    .ciphertext_blob
                    .ok_or_else(|| incomplete("CiphertextBlob"))?
                    .into_inner();
                Ok((plain, encrypted))
            })
            .await?;
        let env = envelope::seal(F::VERSION, &plain, &encrypted, &b, plaintext)?;
        if self.limits.is_some() {
            self.encrypt_keys.lock().expect("cache lock").insert(
                cache_key,
                DataKey {
                    plaintext: plain,
                    encrypted,
                    created: Instant::now(),
                    values: 1,
                    bytes: len,
                },
            );
        }
        Ok(env.to_stored()?)
    }

    /// Decrypts a stored value of field `F` of the item whose key text is `item_key`.
    pub async fn decrypt<F: EncryptedField>(
        &self,
        stored: &str,
        item_key: Option<&str>,
    ) -> Result<Vec<u8>, EncryptionError> {
        mark!(
            kms::DECRYPT,
            ResourceRef::KmsKey(F::KEY),
            "decrypt",
            [F::TABLE, ".", F::ATTRIBUTE],
            context: [bound_context::<F>(), F::CONTEXT]
        );
        let b = binding::<F>(item_key)?;
        // Every failure caused by the stored bytes is the one integrity error.
        let env = Envelope::parse(stored).map_err(EncryptionError::integrity::<F>)?;
        // A version 1 value binds nothing, so a field declared version 2 refuses it: otherwise
        // such a value could be moved into any field under the same key and context.
        if env.version != F::VERSION {
            return Err(EncryptionError::integrity::<F>(format!(
                "the value is in format version {}, the field declares {}",
                env.version,
                F::VERSION
            )));
        }
        let ctx = b.kms_context(env.version);
        // Cached by the encrypted key *and* its context, so a value moved elsewhere still goes
        // through the context check.
        let cache_key = (env.encrypted_key.clone(), context_key(F::KEY, &ctx));
        if let Some(limits) = self.limits {
            let keys = self.decrypt_keys.lock().expect("cache lock");
            let miss = match keys.get(&cache_key) {
                None => "empty",
                Some((_, at)) if at.elapsed() >= limits.max_age => "expired",
                Some((k, _)) => {
                    let plain = envelope::open(&env, k, &b);
                    drop(keys);
                    self.cache_lookup(Cache::Decrypt, None);
                    return plain.map_err(EncryptionError::integrity::<F>);
                }
            };
            drop(keys);
            self.cache_lookup(Cache::Decrypt, Some(miss));
        }
        let key = self
            .kms_call(Operation::Decrypt, async {
                let out = self
                    .kms
                    .decrypt()
                    .ciphertext_blob(Blob::new(env.encrypted_key.clone()))
                    .key_id(self.key_id(F::KEY))
                    .set_encryption_context(Some(ctx.into_iter().collect()))
                    .send()
                    .await
                    .map_err(|e| {
                        if e.as_service_error().is_some_and(blames_the_value) {
                            EncryptionError::integrity::<F>(e)
                        } else {
                            EncryptionError::kms("Decrypt", self.key_id(F::KEY), e)
                        }
                    })?;
                let key = out.plaintext.ok_or_else(|| {
                    EncryptionError::incomplete("Decrypt", self.key_id(F::KEY), "Plaintext")
                })?;
                Ok(Zeroizing::new(key.into_inner()))
            })
            .await?;
        let plain = envelope::open(&env, &key, &b).map_err(EncryptionError::integrity::<F>)?;
        if let Some(limits) = self.limits {
            let mut keys = self.decrypt_keys.lock().expect("cache lock");
            if keys.len() >= limits.max_decrypt_entries {
                let oldest = keys
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| k.clone());
                if let Some(o) = oldest {
                    keys.remove(&o);
                }
            }
            keys.insert(cache_key, (key, Instant::now()));
        }
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    struct Field;
    impl EncryptedField for Field {
        const KEY: &'static str = "alias/unit";
        const MODE: Mode = Mode::ReadWrite;
        const VERSION: u8 = V2;
        const TABLE: &'static str = "t";
        const ATTRIBUTE: &'static str = "a";
        const CONTEXT: &'static [(&'static str, &'static str)] = &[];
        const BIND_ITEM_KEY: bool = false;
    }

    /// A client whose every call fails at once: nothing listens on port 1, and it never retries.
    fn unreachable() -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url("http://127.0.0.1:1")
                .credentials_provider(Credentials::new("k", "s", None, None, "unit"))
                .retry_config(RetryConfig::disabled())
                .build(),
        )
    }

    #[derive(Default)]
    struct Seen(Mutex<Vec<String>>);
    impl KmsObserver for Seen {
        fn kms_call(&self, operation: &'static str, _: Duration, error: Option<&'static str>) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{operation}:{error:?}"));
        }
        fn cache(&self, cache: &'static str, hit: bool) {
            self.0.lock().unwrap().push(format!("{cache}:{hit}"));
        }
    }

    #[test]
    fn figures_add_up() {
        let mut a = KmsFigures::default();
        a.kms_call(Operation::GenerateDataKey, Duration::from_millis(5), false);
        a.cache(Cache::Encrypt, false);
        let mut b = KmsFigures::default();
        b.kms_call(Operation::Decrypt, Duration::from_millis(7), true);
        b.cache(Cache::Decrypt, true);
        a.add(&b);
        assert_eq!(
            a,
            KmsFigures {
                generate_data_key_calls: 1,
                decrypt_calls: 1,
                errors: 1,
                encrypt_cache_hits: 0,
                encrypt_cache_misses: 1,
                decrypt_cache_hits: 1,
                decrypt_cache_misses: 0,
                kms_duration: Duration::from_millis(12),
                max_kms_duration: Duration::from_millis(7),
            }
        );
        assert_eq!(a.kms_calls(), 2);
    }

    #[test]
    fn snapshot_and_reset() {
        let m = KmsMetrics::default();
        m.kms_call(Operation::Decrypt, Duration::from_millis(3), true);
        m.kms_call(Operation::Decrypt, Duration::from_millis(1), false);
        m.cache(Cache::Decrypt, false);
        let s = m.snapshot();
        assert_eq!(
            (s.decrypt_calls, s.errors, s.decrypt_cache_misses),
            (2, 1, 1)
        );
        assert_eq!(m.decrypt_errors(), 1);
        assert_eq!(m.generate_data_key_errors(), 0);
        assert_eq!(s.kms_duration, Duration::from_millis(4));
        assert_eq!(s.max_kms_duration, Duration::from_millis(3));
        m.reset();
        assert_eq!(m.snapshot(), KmsFigures::default());
    }

    #[tokio::test]
    async fn scopes_nest_and_count_only_their_own_work() {
        let e = Encryptor::new(unreachable());
        assert!(!measuring());
        e.cache_lookup(Cache::Encrypt, None); // outside every scope
        let ((), outer) = measure(async {
            assert!(measuring());
            e.cache_lookup(Cache::Encrypt, None);
            let ((), inner) =
                measure(async { e.cache_lookup(Cache::Decrypt, Some("empty")) }).await;
            assert_eq!(inner.decrypt_cache_misses, 1);
            assert_eq!(inner.encrypt_cache_hits, 0);
        })
        .await;
        assert_eq!(
            (outer.encrypt_cache_hits, outer.decrypt_cache_misses),
            (1, 1)
        );
        assert_eq!(e.metrics().snapshot().encrypt_cache_hits, 2);
        assert!(!measuring());
    }

    #[test]
    fn a_failed_call_is_reported_everywhere() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let seen = Arc::new(Seen::default());
        let e = Encryptor::new(unreachable()).with_observer(seen.clone());
        let (result, figures) = metrics::with_local_recorder(&recorder, || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(measure(e.encrypt::<Field>(b"secret", None)))
        });
        let err = result.unwrap_err();
        assert_eq!(err.kind(), "Kms", "{err}");
        let expected = KmsFigures {
            generate_data_key_calls: 1,
            errors: 1,
            encrypt_cache_misses: 1,
            kms_duration: figures.kms_duration,
            max_kms_duration: figures.kms_duration,
            ..KmsFigures::default()
        };
        assert_eq!(figures, expected);
        assert_eq!(e.metrics().snapshot(), expected);
        assert_eq!(e.metrics().generate_data_key_errors(), 1);
        assert_eq!(
            *seen.0.lock().unwrap(),
            ["encrypt:false", "GenerateDataKey:Some(\"Kms\")"]
        );
        let mut found = Vec::new();
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let value = match value {
                DebugValue::Counter(n) => n.to_string(),
                DebugValue::Histogram(v) => format!("{} samples", v.len()),
                DebugValue::Gauge(g) => g.to_string(),
            };
            found.push(format!("{} {labels:?} {value}", key.key().name()));
        }
        found.sort();
        assert_eq!(
            found,
            [
                r#"dynox_kms_cache_total ["cache=encrypt", "result=miss"] 1"#,
                r#"dynox_kms_request_duration_seconds ["operation=GenerateDataKey"] 1 samples"#,
                r#"dynox_kms_requests_total ["operation=GenerateDataKey", "outcome=Kms"] 1"#,
            ]
        );
    }

    #[test]
    fn debug_shows_no_key_material_and_futures_are_send() {
        let e = Encryptor::new(unreachable()).with_observer(Arc::new(Seen::default()));
        let text = format!("{e:?}");
        assert!(text.contains("observer: true"), "{text}");
        fn send<T: Send>(_: &T) {}
        send(&e.encrypt::<Field>(b"x", None));
        send(&e.decrypt::<Field>("ENC:x", None));
        send(&measure(async {}));
    }

    #[test]
    fn kinds_are_variant_names() {
        assert_eq!(EncryptionError::Refused("x".into()).kind(), "Refused");
        assert_eq!(
            EncryptionError::not_encrypted::<Field>().kind(),
            "Integrity"
        );
        assert_eq!(
            EncryptionError::from(EnvelopeError::NotEncrypted).kind(),
            "Envelope"
        );
    }
}
