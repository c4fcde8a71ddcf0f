//! KMS envelope encryption of field values, with data-key caching and call counts.
//!
//! A field's declaration is a type implementing [`EncryptedField`] (the derive makes one per
//! encrypted field), so its key is a constant and [`Encryptor::encrypt`] and
//! [`Encryptor::decrypt`] mark exactly `kms:GenerateDataKey` and `kms:Decrypt` on that key. A
//! write-only field's code never calls `decrypt`, so its binary has no `kms:Decrypt`.

use crate::envelope::{self, Binding, Envelope, EnvelopeError, V2};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use dynox_iam::{ResourceRef, actions::kms, mark};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
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
        /// The service's code and message, or the failure's description, on one line.
        message: String,
        /// The SDK's error.
        source: BoxError,
    },
    /// The field's mode forbids this, or its declaration cannot be met.
    Refused(String),
}

impl EncryptionError {
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

    fn kms<E, R>(operation: &'static str, e: aws_sdk_kms::error::SdkError<E, R>) -> EncryptionError
    where
        E: std::error::Error + aws_sdk_kms::error::ProvideErrorMetadata + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        EncryptionError::Kms {
            operation,
            message: one_line(&e),
            source: Box::new(e),
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
                operation, message, ..
            } => write!(f, "KMS {operation}: {message}"),
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

/// How many KMS calls were made.
#[derive(Debug, Default)]
pub struct KmsMetrics {
    generate_data_key: AtomicU64,
    decrypt: AtomicU64,
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
    /// Declared key (usually an alias) to the key id actually called, from the mapping.
    keys: std::collections::BTreeMap<String, String>,
}

impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key material stays out of Debug output.
        f.debug_struct("Encryptor")
            .field("limits", &self.limits)
            .field("metrics", &self.metrics)
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
            keys: Default::default(),
        }
    }

    /// This encryptor, calling KMS with the keys `mapping` names for the declared ones (the
    /// same mapping the policy was exported with, so the policy names the keys that are used).
    pub fn with_mapping(mut self, mapping: &dynox_iam::Mapping) -> Encryptor {
        self.keys = mapping.kms_keys.clone();
        self
    }

    /// Declared key to the key id called, as given by [`Encryptor::with_mapping`].
    pub fn key_mapping(&self) -> &std::collections::BTreeMap<String, String> {
        &self.keys
    }

    fn key_id<'a>(&'a self, declared: &'a str) -> &'a str {
        self.keys.get(declared).map_or(declared, String::as_str)
    }

    /// The KMS call counts.
    pub fn metrics(&self) -> &KmsMetrics {
        &self.metrics
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
        if let Some(limits) = self.limits {
            let mut keys = self.encrypt_keys.lock().expect("cache lock");
            if let Some(k) = keys.get_mut(&cache_key) {
                let fresh = k.created.elapsed() < limits.max_age
                    && k.values < limits.max_values
                    && k.bytes + plaintext.len() as u64 <= limits.max_bytes;
                if fresh {
                    k.values += 1;
                    k.bytes += plaintext.len() as u64;
                    let env =
                        envelope::seal(F::VERSION, &k.plaintext, &k.encrypted, &b, plaintext)?;
                    return Ok(env.to_stored()?);
                }
                keys.remove(&cache_key);
            }
        }
        self.metrics
            .generate_data_key
            .fetch_add(1, Ordering::Relaxed);
        let out = self
            .kms
            .generate_data_key()
            .key_id(self.key_id(F::KEY))
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(ctx.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| EncryptionError::kms("GenerateDataKey", e))?;
        let incomplete = |what: &str| EncryptionError::Kms {
            operation: "GenerateDataKey",
            message: format!("the answer has no {what}"),
            source: format!("GenerateDataKey answered without {what}").into(),
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
        let env = envelope::seal(F::VERSION, &plain, &encrypted, &b, plaintext)?;
        if self.limits.is_some() {
            self.encrypt_keys.lock().expect("cache lock").insert(
                cache_key,
                DataKey {
                    plaintext: plain,
                    encrypted,
                    created: Instant::now(),
                    values: 1,
                    bytes: plaintext.len() as u64,
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
            if let Some((k, at)) = keys.get(&cache_key)
                && at.elapsed() < limits.max_age
            {
                return envelope::open(&env, k, &b).map_err(EncryptionError::integrity::<F>);
            }
        }
        self.metrics.decrypt.fetch_add(1, Ordering::Relaxed);
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
                    EncryptionError::kms("Decrypt", e)
                }
            })?;
        let key = Zeroizing::new(
            out.plaintext
                .ok_or_else(|| EncryptionError::Kms {
                    operation: "Decrypt",
                    message: "the answer has no Plaintext".into(),
                    source: "Decrypt answered without Plaintext".into(),
                })?
                .into_inner(),
        );
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
