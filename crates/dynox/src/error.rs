//! The one error type of dynox.
//!
//! Service errors are mapped to typed variants where a caller would act on them (a failed
//! condition, throttling, a missing table, an item over the size limit, a denied permission); the
//! original SDK error stays reachable through [`std::error::Error::source`].

use crate::attr::ValueError;
use crate::model::FromItem;
use crate::{AttributeValue, Item};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use std::fmt;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in dynox.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A condition expression evaluated to false; nothing was written by this attempt.
    ConditionFailed {
        /// The item as it was, when the request asked for it
        /// (`return_old_on_condition_failure`).
        old_item: Option<Item>,
        /// An earlier attempt of this same request may have been applied (its answer was lost)
        /// and the condition then failed on the retry, possibly because of that very write.
        /// Read the item to learn which. See [`Error::is_possibly_applied`].
        possibly_applied: bool,
        /// The service's message.
        message: String,
        /// The SDK error.
        source: Option<BoxError>,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// Optimistic locking: the stored item's version is not the one this item was loaded at
    /// (another writer saved first). Reload and retry.
    VersionConflict {
        /// The model.
        model: &'static str,
        /// The version this item expected to find.
        expected: u64,
        /// The version stored, if the item exists.
        found: Option<u64>,
        /// The check failed on a retry after an attempt whose answer was lost: the stored
        /// version may be this very save's.
        possibly_applied: bool,
    },
    /// A transaction was cancelled; nothing of it was applied.
    TransactionCancelled {
        /// One reason per member, in member order (`code` is `None` for members that were fine).
        reasons: Vec<CancellationReason>,
        /// The transaction's client request token.
        client_request_token: Option<String>,
        /// The service's message.
        message: String,
        /// The SDK error.
        source: Option<BoxError>,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// An item collection (all items with one partition key, with a local secondary index)
    /// exceeds 10 GB.
    ItemCollectionTooLarge {
        /// The service's message.
        message: String,
        /// The SDK error.
        source: BoxError,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// A batch write could not write everything: exactly the writes that were not applied,
    /// and apart from them those whose outcome is unknown.
    BatchWriteIncomplete {
        /// How many writes were applied (a success answer said so).
        written: usize,
        /// The writes that were not applied (left unprocessed when retries ran out, never sent,
        /// or refused by a request that failed without reaching DynamoDB's storage).
        unwritten: Vec<crate::batch::Write>,
        /// The writes whose last request failed after it may have reached DynamoDB (a lost
        /// answer): each was applied once or not at all. Puts and deletes may simply be sent
        /// again.
        outcome_unknown: Vec<crate::batch::Write>,
        /// The error that stopped a request, if one did (otherwise retries ran out).
        cause: Option<Box<Error>>,
    },
    /// A batch read could not read every key: everything read is here, and exactly the keys
    /// that were not.
    BatchGetIncomplete {
        /// The keys not read, per table.
        unprocessed: std::collections::HashMap<String, Vec<Item>>,
        /// The items that were read, per table.
        found: std::collections::HashMap<String, Vec<Item>>,
        /// The error that stopped a request, if one did (otherwise retries ran out).
        cause: Option<Box<Error>>,
    },
    /// An item read from a table did not decode as the type asked for, or did not decrypt: the
    /// table and key say which item, the source (a [`Conversion`](Error::Conversion) naming
    /// model and field, or an encryption error) what went wrong. A query or scan yields it for
    /// that item and goes on with the next.
    ItemUndecodable {
        /// The (logical) table.
        table: String,
        /// The item's key attributes.
        key: Item,
        /// Why it did not decode.
        source: Box<Error>,
    },
    /// A write's request may have reached DynamoDB, but its answer was lost (a reset
    /// connection, a timeout, a 500), and repeating it could apply it twice (a counter, a list
    /// append) or fail on its own first application: dynox did not repeat it. It was applied
    /// once or not at all; read the item to learn which.
    OutcomeUnknown {
        /// The DynamoDB operation, e.g. `UpdateItem`.
        operation: &'static str,
        /// The table, when the request names one.
        table: Option<String>,
        /// How many attempts were sent.
        attempts: u32,
        /// A transaction's client request token: sending the same transaction again with it
        /// within DynamoDB's 10-minute idempotency window applies it at most once.
        client_request_token: Option<String>,
        /// The failure of the last attempt.
        source: Box<Error>,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// The request was throttled (throughput exceeded, request limit, throttling).
    Throttled {
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
        /// The SDK error.
        source: BoxError,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// The table or index does not exist (or is not active yet).
    NotFound {
        /// The service's message.
        message: String,
        /// The SDK error.
        source: BoxError,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// The item exceeds DynamoDB's 400 KB item size limit.
    ItemTooLarge {
        /// The service's message.
        message: String,
        /// The SDK error, when the service reported it.
        source: Option<BoxError>,
    },
    /// IAM denied the request.
    AccessDenied {
        /// The denied action, when the message names it (`dynamodb:GetItem`).
        action: Option<String>,
        /// The denied resource ARN, when the message names it.
        resource: Option<String>,
        /// The service's message.
        message: String,
        /// The SDK error.
        source: BoxError,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// A cursor token was refused before sending: damaged, of another format, a signed token
    /// whose signature does not verify with the client's keys, or one made by another query or
    /// scan. Also [`is_validation`](Error::is_validation).
    InvalidCursor {
        /// Why.
        message: String,
    },
    /// The request is invalid: refused by dynox before sending, or by the service.
    Validation {
        /// What is wrong.
        message: String,
        /// The SDK error, when the service refused it.
        source: Option<BoxError>,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// The write was applied, but the item it returned did not decode (the stored item does not
    /// match the model). Do not retry the write: it happened.
    WrittenButUndecodable {
        /// The returned item, raw.
        item: Item,
        /// The decoding error.
        source: Box<Error>,
    },
    /// Encrypting or decrypting a field failed: no encryptor configured, KMS refused, a value
    /// that does not decrypt (tampered, moved, wrong context), or a mode that forbids it.
    Encryption {
        /// What happened.
        message: String,
        /// The encryption error.
        source: Option<BoxError>,
    },
    /// The credentials were refused (unknown key, bad signature, expired token).
    Authentication {
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
        /// The SDK error.
        source: BoxError,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// A value could not be converted between a Rust field and a DynamoDB attribute.
    Conversion {
        /// The model (Rust type name).
        model: &'static str,
        /// The field (Rust name).
        field: &'static str,
        /// What went wrong.
        source: ValueError,
    },
    /// Any other error the service returned.
    Service {
        /// The service's error code (`HTTP 500` when the answer had none).
        code: String,
        /// The service's message (or, for an answer that could not be read, what the SDK said).
        message: String,
        /// The HTTP status of the answer.
        status: Option<u16>,
        /// The SDK error.
        source: BoxError,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// A wait (for a table to become active, say) gave up.
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it waited (zero when the HTTP client's own timeout fired).
        after: std::time::Duration,
        /// Whether a request may have reached the service before the time ran out (`false`
        /// for a connect timeout, or a wait between requests).
        may_have_reached: bool,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// The request did not get an answer: connection, timeout, dispatch or response errors.
    Transport {
        /// What happened.
        message: String,
        /// Whether the request may have reached the service (`false` only when the connection
        /// was never made: refused, DNS, connect timeout, a request that could not be built).
        may_have_reached: bool,
        /// The SDK error.
        source: BoxError,
        /// What the request was: operation, table and key (see [`Error::context`]).
        context: Option<Box<ErrorContext>>,
    },
    /// A lease could not be acquired within its wait: another owner held it (and renewed it)
    /// the whole time.
    LeaseUnavailable {
        /// The (logical) lease table.
        table: &'static str,
        /// The lease's name.
        name: String,
        /// How long the acquisition waited.
        waited: std::time::Duration,
        /// The owner last seen holding it.
        holder: Option<String>,
    },
    /// A lease guard no longer holds its lease: its local deadline passed, or another owner
    /// took it over. Work done under it must stop; fenced writes of it are refused.
    LeaseLost {
        /// The (logical) lease table.
        table: &'static str,
        /// The lease's name.
        name: String,
        /// The fencing token the guard held.
        fencing_token: u64,
        /// Why it was lost.
        reason: String,
    },
    /// The table has no stream (none was enabled, or it was disabled and is gone), or the
    /// stream named was not found.
    NoStream {
        /// The (logical) table.
        table: String,
        /// What was found.
        message: String,
    },
    /// A stream record's image did not decode as the model (or did not decrypt). The raw
    /// record is here, for a dead-letter queue; see
    /// [`OnUndecodable`](crate::streams::OnUndecodable) for whether the reader goes on.
    RecordUndecodable {
        /// The (logical) table.
        table: String,
        /// The record's shard.
        shard_id: String,
        /// The record's sequence number.
        sequence_number: String,
        /// The record, with raw images.
        record: Box<crate::streams::RawRecord>,
        /// Why it did not decode.
        source: Box<Error>,
    },
    /// Stream records after the reader's position were trimmed (DynamoDB keeps them 24
    /// hours): they are lost. [`StreamBuilder::skip_trimmed`](crate::streams::StreamBuilder::skip_trimmed)
    /// goes on from the oldest record left instead.
    StreamTrimmed {
        /// The (logical) table.
        table: String,
        /// The shard.
        shard_id: String,
        /// The position whose successors are gone (`None`: the shard's start).
        sequence_number: Option<String>,
        /// The service's `TrimmedDataAccessException`.
        source: Box<Error>,
    },
    /// An S3 request of an S3-backed field (`attr::S3Object`) failed, or its answer does not
    /// match the item's metadata (the object is missing, was replaced, or has another size).
    /// A denied S3 request is [`Error::AccessDenied`] instead.
    S3(Box<S3Failure>),
    /// The item write failed after its S3 objects were uploaded, and removing them failed too:
    /// the objects named here are left in S3 with no item pointing at them.
    OrphanedObjects {
        /// `(bucket, key)` of each object left behind.
        objects: Vec<(String, String)>,
        /// Why the removal failed.
        cleanup: Box<Error>,
        /// Why the item write failed.
        source: Box<Error>,
    },
}

/// What a failed request was: the operation, its table (logical and, when a
/// [`Mapping`](crate::Mapping) renames it, deployed), the item's key, and for an encrypted
/// field's KMS call, the field. Attached once, on the send path, to every error a request
/// produces; [`Error::context`] reads it, and the error's message names it.
///
/// The key is described as dynox describes keys in messages (`{id="o1", sk=3}`, binary values
/// by their length only); no other attribute value of the item is ever kept here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorContext {
    /// The DynamoDB operation (`PutItem`, `Query`, ...) or KMS operation (`Decrypt`,
    /// `GenerateDataKey`).
    pub operation: &'static str,
    /// The logical table the request names (the first, for a batch; none for a transaction).
    pub table: Option<String>,
    /// The deployed table name, when the client's mapping gives the table another name.
    pub deployed_table: Option<String>,
    /// The item's key, described (`{id="o1"}`), for a request on one item.
    pub key: Option<String>,
    /// The model the request acted for, when known.
    pub model: Option<&'static str>,
    /// The encrypted field (stored attribute name) of a KMS call.
    pub field: Option<&'static str>,
}

impl ErrorContext {
    /// The context of operation `operation`, naming nothing else yet.
    pub fn new(operation: &'static str) -> ErrorContext {
        ErrorContext {
            operation,
            ..ErrorContext::default()
        }
    }

    /// With the logical table `table`.
    pub fn table(mut self, table: impl Into<String>) -> ErrorContext {
        self.table = Some(table.into());
        self
    }

    /// With the deployed table name `deployed` (kept only when it differs from the logical one).
    pub fn deployed_table(mut self, deployed: impl Into<String>) -> ErrorContext {
        let deployed = deployed.into();
        if self.table.as_deref() != Some(deployed.as_str()) {
            self.deployed_table = Some(deployed);
        }
        self
    }

    /// With the item key `key` (described, never raw).
    pub fn key(mut self, key: &Item) -> ErrorContext {
        self.key = Some(describe_key(key));
        self
    }

    /// With the model `model`.
    pub fn model(mut self, model: &'static str) -> ErrorContext {
        self.model = Some(model);
        self
    }

    /// With the encrypted field `field`.
    pub fn field(mut self, field: &'static str) -> ErrorContext {
        self.field = Some(field);
        self
    }
}

impl fmt::Display for ErrorContext {
    /// `PutItem on orders (deployed as prod-orders), key {id="o1"}`, or for a KMS call
    /// `Decrypt for orders.card (model Order)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.operation)?;
        match (self.table.as_deref(), self.field) {
            (Some(t), Some(field)) => write!(f, " for {t}.{field}")?,
            (Some(t), None) => write!(f, " on {t}")?,
            (None, Some(field)) => write!(f, " for field {field}")?,
            (None, None) => {}
        }
        if let Some(d) = &self.deployed_table {
            write!(f, " (deployed as {d})")?;
        }
        if let Some(k) = &self.key {
            write!(f, ", key {k}")?;
        }
        // A request's table and key say which item; a KMS call's field is the model's.
        if let (Some(m), Some(_)) = (self.model, self.field) {
            write!(f, " (model {m})")?;
        }
        Ok(())
    }
}

impl Error {
    /// An S3 request failed or its object does not match the item ([`Error::S3`]).
    pub fn is_s3(&self) -> bool {
        matches!(self, Error::S3(_))
    }

    /// The object an S3-backed field points at does not exist (`NoSuchKey`).
    pub fn is_object_missing(&self) -> bool {
        matches!(self, Error::S3(f) if f.code.as_deref() == Some("NoSuchKey"))
    }

    /// The object an S3-backed field points at is not the one the item describes: another
    /// ETag or size (replaced or tampered with).
    pub fn is_object_changed(&self) -> bool {
        matches!(self, Error::S3(f) if matches!(
            f.code.as_deref(),
            Some("PreconditionFailed" | "ETagMismatch" | "SizeMismatch")
        ))
    }

    /// The item write failed and its uploaded objects could not be removed
    /// ([`Error::OrphanedObjects`]).
    pub fn is_orphaned_objects(&self) -> bool {
        matches!(self, Error::OrphanedObjects { .. })
    }

    /// What the failed request was (operation, table, key), for the errors a request produces.
    /// An error about one item read back ([`Error::ItemUndecodable`]) or an outcome left
    /// unknown names its own; errors wrapping another give that one's.
    pub fn context(&self) -> Option<&ErrorContext> {
        match self {
            Error::ConditionFailed { context, .. }
            | Error::TransactionCancelled { context, .. }
            | Error::ItemCollectionTooLarge { context, .. }
            | Error::OutcomeUnknown { context, .. }
            | Error::Throttled { context, .. }
            | Error::NotFound { context, .. }
            | Error::AccessDenied { context, .. }
            | Error::Validation { context, .. }
            | Error::Authentication { context, .. }
            | Error::Service { context, .. }
            | Error::Timeout { context, .. }
            | Error::Transport { context, .. } => context.as_deref(),
            Error::WrittenButUndecodable { source, .. } => source.context(),
            _ => None,
        }
    }

    /// The operation that failed (`PutItem`, `Query`, `Decrypt`), when the error names one.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Error::OutcomeUnknown { operation, .. } => Some(operation),
            Error::S3(s3) => Some(s3.operation),
            _ => self.context().map(|c| c.operation),
        }
    }

    /// The (logical) table the error is about, when it names one.
    pub fn table(&self) -> Option<&str> {
        match self {
            Error::ItemUndecodable { table, .. }
            | Error::NoStream { table, .. }
            | Error::RecordUndecodable { table, .. }
            | Error::StreamTrimmed { table, .. } => Some(table),
            Error::LeaseUnavailable { table, .. } | Error::LeaseLost { table, .. } => Some(table),
            Error::OutcomeUnknown {
                table: Some(table), ..
            } => Some(table),
            _ => self.context().and_then(|c| c.table.as_deref()),
        }
    }

    /// The deployed name of the error's table, when the client's mapping renames it.
    pub fn deployed_table(&self) -> Option<&str> {
        self.context().and_then(|c| c.deployed_table.as_deref())
    }

    /// The error with its full [`source`](std::error::Error::source) chain on one line
    /// (`outer: inner: ...`), for logs that print no chain of their own.
    pub fn report(&self) -> String {
        display_chain(self)
    }

    /// Names the model in the error's context, if it has one that names none (an encrypted
    /// field's KMS failure, made where only the field is known).
    pub(crate) fn for_model(mut self, model: &'static str) -> Error {
        if let Error::AccessDenied {
            context: Some(c), ..
        } = &mut self
            && c.model.is_none()
        {
            c.model = Some(model);
        }
        self
    }

    /// Attaches what the request was, unless the error already names it (or cannot).
    pub(crate) fn in_context(mut self, ctx: impl FnOnce() -> ErrorContext) -> Error {
        let slot = match &mut self {
            Error::ConditionFailed { context, .. }
            | Error::TransactionCancelled { context, .. }
            | Error::ItemCollectionTooLarge { context, .. }
            | Error::OutcomeUnknown { context, .. }
            | Error::Throttled { context, .. }
            | Error::NotFound { context, .. }
            | Error::AccessDenied { context, .. }
            | Error::Validation { context, .. }
            | Error::Authentication { context, .. }
            | Error::Service { context, .. }
            | Error::Timeout { context, .. }
            | Error::Transport { context, .. } => context,
            _ => return self,
        };
        if slot.is_none() {
            *slot = Some(Box::new(ctx()));
        }
        self
    }

    /// A validation error raised by dynox before anything is sent.
    pub fn validation(message: impl Into<String>) -> Error {
        Error::Validation {
            message: message.into(),
            source: None,
            context: None,
        }
    }

    /// A conversion error for `model.field`.
    pub fn conversion(model: &'static str, field: &'static str, source: ValueError) -> Error {
        Error::Conversion {
            model,
            field,
            source,
        }
    }

    /// A condition expression failed.
    pub fn is_condition_failed(&self) -> bool {
        matches!(self, Error::ConditionFailed { .. })
    }
    /// The request was throttled; retrying later may succeed.
    pub fn is_throttled(&self) -> bool {
        matches!(self, Error::Throttled { .. })
    }
    /// The table or index was not found.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
    /// The item is over the size limit.
    pub fn is_item_too_large(&self) -> bool {
        matches!(self, Error::ItemTooLarge { .. })
    }
    /// IAM denied the request (a KMS call of an encrypted field included, also when it failed
    /// reading an item back).
    pub fn is_access_denied(&self) -> bool {
        match self {
            Error::AccessDenied { .. } => true,
            Error::ItemUndecodable { source, .. } => source.is_access_denied(),
            _ => false,
        }
    }
    /// The request was invalid (a refused cursor token included).
    pub fn is_validation(&self) -> bool {
        matches!(self, Error::Validation { .. } | Error::InvalidCursor { .. })
    }
    /// A cursor token was refused: damaged, forged, or made by another read.
    pub fn is_invalid_cursor(&self) -> bool {
        matches!(self, Error::InvalidCursor { .. })
    }
    /// The write happened but its returned item did not decode.
    pub fn is_written_but_undecodable(&self) -> bool {
        matches!(self, Error::WrittenButUndecodable { .. })
    }
    /// Encryption or decryption failed (a KMS denial, also [`is_access_denied`](Error::is_access_denied), included).
    pub fn is_encryption(&self) -> bool {
        match self {
            Error::Encryption { .. } => true,
            Error::AccessDenied { source, .. } => source
                .downcast_ref::<dynox_encryption::kms::EncryptionError>()
                .is_some(),
            Error::ItemUndecodable { source, .. } => source.is_encryption(),
            _ => false,
        }
    }
    /// An encrypted value failed its integrity check: tampered with, or copied from another
    /// item, attribute or table (an [`Error::Encryption`] whose source says so).
    pub fn is_integrity(&self) -> bool {
        match self {
            Error::Encryption {
                source: Some(source),
                ..
            } => source
                .downcast_ref::<dynox_encryption::kms::EncryptionError>()
                .is_some_and(|e| e.is_integrity()),
            Error::ItemUndecodable { source, .. } => source.is_integrity(),
            _ => false,
        }
    }
    /// The credentials were refused.
    pub fn is_authentication(&self) -> bool {
        matches!(self, Error::Authentication { .. })
    }
    /// A value did not convert.
    pub fn is_conversion(&self) -> bool {
        match self {
            Error::Conversion { .. } => true,
            Error::ItemUndecodable { source, .. } => source.is_conversion(),
            _ => false,
        }
    }

    /// An item that did not decode (or decrypt), with its table and key.
    pub fn is_item_undecodable(&self) -> bool {
        matches!(self, Error::ItemUndecodable { .. })
    }

    /// The key of the item an error is about, when it names one.
    pub fn item_key(&self) -> Option<&Item> {
        match self {
            Error::ItemUndecodable { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Another writer saved first.
    pub fn is_version_conflict(&self) -> bool {
        matches!(self, Error::VersionConflict { .. })
    }
    /// A transaction was cancelled.
    pub fn is_transaction_cancelled(&self) -> bool {
        matches!(self, Error::TransactionCancelled { .. })
    }
    /// An item collection is over its size limit.
    pub fn is_item_collection_too_large(&self) -> bool {
        matches!(self, Error::ItemCollectionTooLarge { .. })
    }
    /// A batch did not complete: some writes or keys are left over.
    pub fn is_batch_incomplete(&self) -> bool {
        matches!(
            self,
            Error::BatchWriteIncomplete { .. } | Error::BatchGetIncomplete { .. }
        )
    }
    /// The per-member reasons of a cancelled transaction.
    pub fn cancellation_reasons(&self) -> Option<&[CancellationReason]> {
        match self {
            Error::TransactionCancelled { reasons, .. } => Some(reasons),
            _ => None,
        }
    }

    /// The error's kind, as a bounded label for metrics and traces (`error.type`): the variant
    /// name, e.g. `Throttled`. Never carries values.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::ConditionFailed { .. } => "ConditionFailed",
            Error::VersionConflict { .. } => "VersionConflict",
            Error::TransactionCancelled { .. } => "TransactionCancelled",
            Error::ItemCollectionTooLarge { .. } => "ItemCollectionTooLarge",
            Error::BatchWriteIncomplete { .. } => "BatchWriteIncomplete",
            Error::BatchGetIncomplete { .. } => "BatchGetIncomplete",
            Error::ItemUndecodable { .. } => "ItemUndecodable",
            Error::OutcomeUnknown { .. } => "OutcomeUnknown",
            Error::Throttled { .. } => "Throttled",
            Error::NotFound { .. } => "NotFound",
            Error::ItemTooLarge { .. } => "ItemTooLarge",
            Error::AccessDenied { .. } => "AccessDenied",
            Error::InvalidCursor { .. } => "InvalidCursor",
            Error::Validation { .. } => "Validation",
            Error::WrittenButUndecodable { .. } => "WrittenButUndecodable",
            Error::Encryption { .. } => "Encryption",
            Error::Authentication { .. } => "Authentication",
            Error::Conversion { .. } => "Conversion",
            Error::Service { .. } => "Service",
            Error::Timeout { .. } => "Timeout",
            Error::Transport { .. } => "Transport",
            Error::LeaseUnavailable { .. } => "LeaseUnavailable",
            Error::LeaseLost { .. } => "LeaseLost",
            Error::NoStream { .. } => "NoStream",
            Error::RecordUndecodable { .. } => "RecordUndecodable",
            Error::StreamTrimmed { .. } => "StreamTrimmed",
            Error::S3(_) => "S3",
            Error::OrphanedObjects { .. } => "OrphanedObjects",
        }
    }

    /// The table has no stream, or the stream named was not found.
    pub fn is_no_stream(&self) -> bool {
        matches!(self, Error::NoStream { .. })
    }

    /// A stream record did not decode as the model.
    pub fn is_record_undecodable(&self) -> bool {
        matches!(self, Error::RecordUndecodable { .. })
    }

    /// Stream records were trimmed before they were read.
    pub fn is_stream_trimmed(&self) -> bool {
        matches!(self, Error::StreamTrimmed { .. })
    }

    /// The sequence number of the stream record an error is about, when it names one.
    pub fn sequence_number(&self) -> Option<&str> {
        match self {
            Error::RecordUndecodable {
                sequence_number, ..
            } => Some(sequence_number),
            Error::StreamTrimmed {
                sequence_number, ..
            } => sequence_number.as_deref(),
            _ => None,
        }
    }

    /// A wait, a request or an operation ran out of time (also when the outcome of a write
    /// that timed out is unknown).
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::OutcomeUnknown { source, .. } => source.is_timeout(),
            _ => false,
        }
    }

    /// A write whose answer was lost and that dynox did not repeat: applied once or not at all.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// This request may have been applied although it reports a failure: its outcome is
    /// unknown, or its condition failed on a retry after an attempt whose answer was lost.
    pub fn is_possibly_applied(&self) -> bool {
        match self {
            Error::OutcomeUnknown { .. } => true,
            Error::ConditionFailed {
                possibly_applied, ..
            }
            | Error::VersionConflict {
                possibly_applied, ..
            } => *possibly_applied,
            _ => false,
        }
    }

    /// The client request token of a failed transaction, to send it again idempotently.
    pub fn client_request_token(&self) -> Option<&str> {
        match self {
            Error::OutcomeUnknown {
                client_request_token,
                ..
            }
            | Error::TransactionCancelled {
                client_request_token,
                ..
            } => client_request_token.as_deref(),
            _ => None,
        }
    }

    /// The old item carried by a failed condition, if it was asked for.
    pub fn old_item(&self) -> Option<&Item> {
        match self {
            Error::ConditionFailed { old_item, .. } => old_item.as_ref(),
            _ => None,
        }
    }

    /// The old item of a failed condition, decoded as `T`.
    pub fn old_item_as<T: FromItem>(&self) -> Option<Result<T>> {
        self.old_item().map(|item| T::from_item(item.clone()))
    }

    /// A lease was not acquired within its wait ([`Error::LeaseUnavailable`]).
    pub fn is_lease_unavailable(&self) -> bool {
        matches!(self, Error::LeaseUnavailable { .. })
    }

    /// A lease guard lost its lease ([`Error::LeaseLost`]).
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, Error::LeaseLost { .. })
    }
}

impl fmt::Display for Error {
    /// One line: what the request was ([`ErrorContext`]), then what went wrong. The SDK's
    /// detail (and any wrapped error's message) is left to [`source`](std::error::Error::source).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = self.context() {
            write!(f, "{c}: ")?;
        }
        // What the service (or dynox) said, unless the source's own line already says it.
        let detail = |message: &str| -> Option<String> {
            let line = message.lines().next().unwrap_or_default().trim();
            let source = std::error::Error::source(self).map(ToString::to_string);
            (!line.is_empty() && !source.is_some_and(|s| s.contains(line))).then(|| line.to_owned())
        };
        let with_detail =
            |f: &mut fmt::Formatter<'_>, head: &str, message: &str| match detail(message) {
                Some(d) => write!(f, "{head}: {d}"),
                None => f.write_str(head),
            };
        match self {
            Error::ConditionFailed {
                possibly_applied, ..
            } => {
                f.write_str("condition failed")?;
                if *possibly_applied {
                    f.write_str(
                        " (on a retry after an attempt whose answer was lost: that attempt may \
                         have been applied)",
                    )?;
                }
                Ok(())
            }
            Error::VersionConflict {
                model,
                expected,
                found,
                possibly_applied: true,
            } => write!(
                f,
                "{model} expected version {expected}, found {found:?}, on a retry after an \
                 attempt whose answer was lost: that attempt may have saved it"
            ),
            Error::VersionConflict {
                model,
                expected,
                found,
                ..
            } => match found {
                Some(v) => write!(
                    f,
                    "{model} was saved by another writer: expected version {expected}, found {v}"
                ),
                None => write!(
                    f,
                    "{model} expected version {expected}, but the item does not exist"
                ),
            },
            Error::TransactionCancelled { reasons, .. } => {
                let failed: Vec<String> = reasons
                    .iter()
                    .filter_map(|r| r.code.as_ref().map(|c| format!("member {} {c}", r.index)))
                    .collect();
                write!(f, "transaction cancelled: {}", failed.join(", "))
            }
            Error::BatchWriteIncomplete {
                written,
                unwritten,
                outcome_unknown,
                cause,
            } => {
                write!(
                    f,
                    "batch write incomplete: {written} written, {} not, {} unknown",
                    unwritten.len(),
                    outcome_unknown.len()
                )?;
                match cause {
                    Some(c) => write!(f, " (stopped by a {} error)", c.kind()),
                    None => f.write_str(" (retries exhausted)"),
                }
            }
            Error::BatchGetIncomplete {
                unprocessed, cause, ..
            } => {
                write!(
                    f,
                    "batch read incomplete: {} key(s) not read",
                    unprocessed.values().map(Vec::len).sum::<usize>()
                )?;
                match cause {
                    Some(c) => write!(f, " (stopped by a {} error)", c.kind()),
                    None => f.write_str(" (retries exhausted)"),
                }
            }
            Error::ItemUndecodable { table, key, source } => {
                let what = if source.is_access_denied() {
                    "did not decrypt: access denied"
                } else if source.is_encryption() {
                    "did not decrypt"
                } else {
                    "did not decode"
                };
                write!(f, "{table} item {} {what}", describe_key(key))
            }
            Error::OutcomeUnknown {
                operation,
                table,
                attempts,
                context,
                ..
            } => {
                f.write_str("outcome unknown: ")?;
                if context.is_none() {
                    f.write_str(operation)?;
                    if let Some(t) = table {
                        write!(f, " on {t}")?;
                    }
                    f.write_str(" ")?;
                }
                write!(
                    f,
                    "may have been applied (attempt {attempts} failed after it may have \
                     reached DynamoDB, and a repeat could apply it twice)"
                )
            }
            Error::ItemCollectionTooLarge { .. } => {
                f.write_str("item collection too large (over 10 GB for one partition key)")
            }
            Error::Throttled { code, message, .. } => {
                with_detail(f, &format!("throttled ({code})"), message)
            }
            Error::NotFound { .. } => f.write_str("the table or index was not found"),
            Error::ItemTooLarge { message, .. } => with_detail(f, "item too large", message),
            Error::AccessDenied {
                action,
                resource,
                message,
                ..
            } => match (action, resource) {
                (Some(a), Some(r)) => write!(f, "access denied: {a} on {r}"),
                (Some(a), None) => write!(f, "access denied: {a}"),
                _ => with_detail(f, "access denied", message),
            },
            Error::Validation { message, .. } => with_detail(f, "invalid request", message),
            Error::InvalidCursor { message } => f.write_str(message),
            Error::Conversion {
                model,
                field,
                source,
            } => write!(f, "{model}.{field}: {source}"),
            Error::WrittenButUndecodable { .. } => {
                f.write_str("the write was applied, but its returned item did not decode")
            }
            Error::Encryption { message, .. } => with_detail(f, "encryption", message),
            Error::Authentication { code, message, .. } => {
                with_detail(f, &format!("credentials refused ({code})"), message)
            }
            Error::Service { code, message, .. } => with_detail(f, code, message),
            Error::Timeout { what, after, .. } if after.is_zero() => {
                write!(f, "gave up waiting for {what}")
            }
            Error::Timeout { what, after, .. } => {
                write!(f, "gave up waiting for {what} after {after:?}")
            }
            Error::Transport { message, .. } => with_detail(f, "request failed", message),
            Error::LeaseUnavailable {
                table,
                name,
                waited,
                holder,
            } => {
                write!(f, "lease {name} in {table} not acquired after {waited:?}")?;
                match holder {
                    Some(h) => write!(f, ": held by {h}"),
                    None => Ok(()),
                }
            }
            Error::LeaseLost {
                table,
                name,
                fencing_token,
                reason,
            } => write!(
                f,
                "lease {name} in {table} (fencing token {fencing_token}) lost: {reason}"
            ),
            Error::NoStream { table, message } => write!(f, "no stream for {table}: {message}"),
            Error::RecordUndecodable {
                table,
                shard_id,
                sequence_number,
                source,
                ..
            } => {
                let what = if source.is_access_denied() {
                    "did not decrypt: access denied"
                } else if source.is_encryption() {
                    "did not decrypt"
                } else {
                    "did not decode"
                };
                write!(
                    f,
                    "stream record {sequence_number} (table {table}, shard {shard_id}) {what}"
                )
            }
            Error::StreamTrimmed {
                table,
                shard_id,
                sequence_number,
                ..
            } => match sequence_number {
                Some(s) => write!(
                    f,
                    "stream records of {table} after {s} in shard {shard_id} were trimmed (older than 24 hours)"
                ),
                None => write!(
                    f,
                    "stream records of {table} in shard {shard_id} were trimmed (older than 24 hours)"
                ),
            },
            Error::S3(s3) => with_detail(
                f,
                &format!("S3 {} s3://{}/{}", s3.operation, s3.bucket, s3.key),
                &s3.message,
            ),
            Error::OrphanedObjects {
                objects, cleanup, ..
            } => {
                write!(
                    f,
                    "the item write failed and removing its uploaded objects failed too (a {} \
                     error); left in S3:",
                    cleanup.kind()
                )?;
                for (b, k) in objects {
                    write!(f, " s3://{b}/{k}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Throttled { source, .. }
            | Error::ItemCollectionTooLarge { source, .. }
            | Error::NotFound { source, .. }
            | Error::AccessDenied { source, .. }
            | Error::Service { source, .. }
            | Error::Authentication { source, .. }
            | Error::Transport { source, .. } => Some(source.as_ref()),
            Error::ConditionFailed { source, .. }
            | Error::TransactionCancelled { source, .. }
            | Error::Encryption { source, .. }
            | Error::ItemTooLarge { source, .. }
            | Error::Validation { source, .. } => source.as_deref().map(|s| s as _),
            // The value error is the message itself (and has no source of its own).
            Error::Conversion { .. } => None,
            Error::WrittenButUndecodable { source, .. } => Some(source.as_ref()),
            Error::Timeout { .. } | Error::InvalidCursor { .. } | Error::VersionConflict { .. } => {
                None
            }
            Error::LeaseUnavailable { .. } | Error::LeaseLost { .. } => None,
            Error::BatchWriteIncomplete { cause, .. } | Error::BatchGetIncomplete { cause, .. } => {
                cause.as_deref().map(|c| c as _)
            }
            Error::OutcomeUnknown { source, .. } | Error::ItemUndecodable { source, .. } => {
                Some(source.as_ref())
            }
            Error::NoStream { .. } => None,
            Error::RecordUndecodable { source, .. } | Error::StreamTrimmed { source, .. } => {
                Some(source.as_ref())
            }
            Error::S3(s3) => s3.source.as_deref().map(|s| s as _),
            Error::OrphanedObjects { source, .. } => Some(source.as_ref()),
        }
    }
}

/// What an [`Error::S3`] says (boxed: it names an object).
#[derive(Debug)]
#[non_exhaustive]
pub struct S3Failure {
    /// The S3 operation (`PutObject`, `GetObject`, ...).
    pub operation: &'static str,
    /// The bucket (as deployed).
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// S3's error code (`NoSuchKey`, `PreconditionFailed`, ...), or dynox's own check
    /// (`SizeMismatch`, `ETagMismatch`).
    pub code: Option<String>,
    /// What happened.
    pub message: String,
    /// The SDK or I/O error.
    pub source: Option<BoxError>,
}

/// One member's part in a cancelled transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct CancellationReason {
    /// The member's position in the request.
    pub index: usize,
    /// Why it failed (`ConditionalCheckFailed`, `TransactionConflict`, ...); `None` if it did not.
    pub code: Option<String>,
    /// The service's message for it.
    pub message: Option<String>,
    /// The member's item as it was, when the member asked for it.
    pub old_item: Option<Item>,
}

impl CancellationReason {
    /// Whether this member's condition failed.
    pub fn is_condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }

    pub(crate) fn from_sdk(index: usize, r: aws_sdk_dynamodb::types::CancellationReason) -> Self {
        let code = r.code.filter(|c| c != "None");
        CancellationReason {
            index,
            code,
            message: r.message,
            old_item: r.item.filter(|i| !i.is_empty()),
        }
    }
}

/// What an operation's error can carry beyond code and message.
pub(crate) trait ServiceDetail {
    /// Takes the item out of a `ConditionalCheckFailedException`, if this is one.
    fn take_condition_item(&mut self) -> Option<Item> {
        None
    }
    /// Takes the reasons out of a `TransactionCanceledException`, if this is one.
    fn take_cancellation_reasons(&mut self) -> Option<Vec<CancellationReason>> {
        None
    }
}

/// The HTTP answer an SDK error carries.
type HttpResponse = aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// Maps an SDK error to [`Error`].
pub(crate) fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + ServiceDetail + std::error::Error + Send + Sync + 'static,
{
    let (code, message, status) = match &err {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            match s.err().code() {
                Some(code) => (
                    code.to_owned(),
                    s.err().message().unwrap_or_default().to_owned(),
                    status,
                ),
                // An answer without an error code (an HTML page from a proxy, a cut body): keep
                // what the SDK could tell of it.
                None => (
                    format!("HTTP {status}"),
                    "an error answer without an error code".to_owned(),
                    status,
                ),
            }
        }
        SdkError::TimeoutError(_) => {
            return Error::Timeout {
                what: "the request (the SDK's timeout)".to_owned(),
                after: std::time::Duration::ZERO,
                may_have_reached: true,
                context: None,
            };
        }
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            let reached = may_have_reached(&err);
            return Error::Timeout {
                what: if reached {
                    "the answer".to_owned()
                } else {
                    "a connection".to_owned()
                },
                after: std::time::Duration::ZERO,
                may_have_reached: reached,
                context: None,
            };
        }
        other => {
            let message = match other {
                SdkError::DispatchFailure(d) if d.is_io() => "connection failed",
                SdkError::DispatchFailure(_) => "could not dispatch the request",
                SdkError::ConstructionFailure(_) => "could not build the request",
                _ => "the answer could not be read",
            };
            return Error::Transport {
                message: message.to_owned(),
                may_have_reached: may_have_reached(other),
                source: Box::new(err),
                context: None,
            };
        }
    };
    match code.as_str() {
        // A PartiQL INSERT of an item that exists: its implied condition failed.
        "ConditionalCheckFailedException" | "DuplicateItemException" => {
            let (old_item, source): (Option<Item>, BoxError) = match err {
                SdkError::ServiceError(ctx) => {
                    let mut e = ctx.into_err();
                    (e.take_condition_item(), Box::new(e))
                }
                other => (None, Box::new(other)),
            };
            Error::ConditionFailed {
                old_item,
                possibly_applied: false,
                message,
                source: Some(source),
                context: None,
            }
        }
        "TransactionCanceledException" => {
            let (reasons, source): (Vec<CancellationReason>, BoxError) = match err {
                SdkError::ServiceError(ctx) => {
                    let mut e = ctx.into_err();
                    (
                        e.take_cancellation_reasons().unwrap_or_default(),
                        Box::new(e),
                    )
                }
                other => (Vec::new(), Box::new(other)),
            };
            Error::TransactionCancelled {
                reasons,
                client_request_token: None,
                message,
                source: Some(source),
                context: None,
            }
        }
        "ItemCollectionSizeLimitExceededException" => Error::ItemCollectionTooLarge {
            message,
            source: Box::new(err),
            context: None,
        },
        // Every code AWS's SDKs count as throttling, but an earlier attempt still running.
        c if crate::layers::classify::THROTTLING_CODES.contains(&c)
            && c != "TransactionInProgressException" =>
        {
            Error::Throttled {
                code,
                message,
                source: Box::new(err),
                context: None,
            }
        }
        "ResourceNotFoundException" => Error::NotFound {
            message,
            source: Box::new(err),
            context: None,
        },
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "ExpiredTokenException"
        | "MissingAuthenticationTokenException" => Error::Authentication {
            code,
            message,
            source: Box::new(err),
            context: None,
        },
        "AccessDeniedException" => {
            let (action, resource) = parse_denial(&message);
            Error::AccessDenied {
                action,
                resource,
                message,
                source: Box::new(err),
                context: None,
            }
        }
        "ValidationException" if message.contains("Item size") && message.contains("exceeded") => {
            Error::ItemTooLarge {
                message,
                source: Some(Box::new(err)),
            }
        }
        "ValidationException" => Error::Validation {
            message,
            source: Some(Box::new(err)),
            context: None,
        },
        _ => Error::Service {
            code,
            message,
            status: Some(status),
            source: Box::new(err),
            context: None,
        },
    }
}

/// Whether a request that failed without an answer may have reached the service. Only a
/// failure to connect (refused, DNS, a connect timeout, TLS) or to build the request proves it
/// did not: bytes of a request on an open connection may have been read and applied.
fn may_have_reached<E, R>(err: &SdkError<E, R>) -> bool
where
    E: std::error::Error + 'static,
    R: fmt::Debug,
{
    if matches!(err, SdkError::ConstructionFailure(_)) {
        return false;
    }
    let SdkError::DispatchFailure(d) = err else {
        return true;
    };
    let mut cur: Option<&(dyn std::error::Error + 'static)> =
        d.as_connector_error().map(|c| c as _);
    while let Some(e) = cur {
        if let Some(h) = e.downcast_ref::<hyper_util::client::legacy::Error>()
            && h.is_connect()
        {
            return false;
        }
        if e.downcast_ref::<aws_smithy_runtime_api::client::dns::ResolveDnsError>()
            .is_some()
        {
            return false;
        }
        cur = e.source();
    }
    true
}

/// A key for messages: `name=value` pairs in name order.
pub(crate) fn describe_key(key: &Item) -> String {
    let mut names: Vec<&String> = key.keys().collect();
    names.sort();
    let parts: Vec<String> = names
        .into_iter()
        .map(|n| {
            let v = match &key[n] {
                crate::AttributeValue::S(s) => format!("{s:?}"),
                crate::AttributeValue::N(n) => n.clone(),
                crate::AttributeValue::B(b) => format!("<{} bytes>", b.as_ref().len()),
                other => format!("{other:?}"),
            };
            format!("{n}={v}")
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Decodes an item read from `table`, naming its key if it does not decode or decrypt: the
/// key asked for (`known`, made only then), or else the item's attributes named `key_names`
/// (taken before decoding consumes the item; a projection may have left some out).
pub(crate) async fn decode_read<T: crate::FromItem>(
    mut item: Item,
    client: &crate::Client,
    table: &str,
    key_names: &[&str],
    known: Option<&(dyn Fn() -> Item + Sync)>,
) -> Result<T> {
    let undecodable = |key: Item, e: Error| Error::ItemUndecodable {
        table: table.to_owned(),
        key,
        source: Box::new(e),
    };
    if T::SEALED
        && let Err(e) = T::unseal(&mut item, client).await
    {
        let key = known.map_or_else(|| key_item(key_names, |n| item.get(n).cloned()), |k| k());
        return Err(undecodable(key, e));
    }
    match known {
        Some(k) => T::from_item(item).map_err(|e| undecodable(k(), e)),
        None => {
            // Only the key's values are kept while decoding consumes the item; the key item
            // (names and map) is made only for an error.
            let mut saved: [Option<AttributeValue>; 4] = Default::default();
            for (slot, name) in saved.iter_mut().zip(key_names) {
                *slot = item.get(*name).cloned();
            }
            T::from_item(item).map_err(|e| {
                let mut values = saved.into_iter();
                let key = key_item(key_names, |_| values.next().flatten());
                undecodable(key, e)
            })
        }
    }
}

/// The key item of `names`, each value from `value` (absent ones left out).
fn key_item(names: &[&str], mut value: impl FnMut(&str) -> Option<AttributeValue>) -> Item {
    names
        .iter()
        .filter_map(|n| value(n).map(|v| ((*n).to_owned(), v)))
        .collect()
}

fn display_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

/// Pulls action and resource out of AWS's "... is not authorized to perform: A on resource: R ..."
pub(crate) fn parse_denial(message: &str) -> (Option<String>, Option<String>) {
    let word_after = |marker: &str| {
        message.split_once(marker).and_then(|(_, rest)| {
            rest.split_whitespace()
                .next()
                .map(|w| w.trim_end_matches([',', '.']).to_owned())
        })
    };
    (word_after("to perform: "), word_after("on resource: "))
}

/// A mapping that could not be read is a configuration error: `Mapping::from_env()?` works in a
/// function returning [`Result`].
impl From<dynox_iam::MappingError> for Error {
    fn from(e: dynox_iam::MappingError) -> Self {
        Error::validation(format!("the table mapping: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk_condition_failed()
    -> SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, HttpResponse> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
        let e = ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .meta(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ConditionalCheckFailedException")
                    .message("The conditional request failed")
                    .build(),
            )
            .build();
        let raw = HttpResponse::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        );
        SdkError::service_error(PutItemError::ConditionalCheckFailedException(e), raw)
    }

    fn sdk_unhandled(
        code: &str,
        message: &str,
    ) -> SdkError<aws_sdk_dynamodb::operation::get_item::GetItemError, HttpResponse> {
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        let meta = aws_smithy_types::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .build();
        let raw = HttpResponse::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::empty(),
        );
        SdkError::service_error(GetItemError::generic(meta), raw)
    }

    fn key() -> Item {
        [("id".to_owned(), AttributeValue::S("o1".into()))].into()
    }

    fn ctx() -> ErrorContext {
        ErrorContext::new("PutItem")
            .table("orders")
            .deployed_table("prod-orders")
            .key(&key())
    }

    /// One of every variant, as the send path and the operations make them.
    fn every_variant() -> Vec<Error> {
        let inner = || Box::new(Error::conversion("Order", "total", ValueError::Missing));
        let sdk = || -> BoxError { Box::new(sdk_unhandled("X", "the service said so")) };
        let s3 = S3Failure {
            operation: "GetObject",
            bucket: "b".into(),
            key: "k".into(),
            code: Some("NoSuchKey".into()),
            message: "The specified key does not exist.".into(),
            source: Some("NoSuchKey: The specified key does not exist.".into()),
        };
        let record = crate::streams::RawRecord {
            change: crate::streams::Change::Insert(None),
            keys: key(),
            sequence_number: "100".into(),
            shard_id: "shard-1".into(),
            event_id: "e".into(),
            approximate_creation_time: None,
            user_identity: None,
            size_bytes: None,
            view: None,
        };
        vec![
            from_sdk(sdk_condition_failed()).in_context(ctx),
            Error::VersionConflict {
                model: "Order",
                expected: 2,
                found: Some(3),
                possibly_applied: false,
            },
            Error::TransactionCancelled {
                reasons: vec![CancellationReason {
                    index: 0,
                    code: Some("ConditionalCheckFailed".into()),
                    message: Some("The conditional request failed".into()),
                    old_item: None,
                }],
                client_request_token: None,
                message: "Transaction cancelled, please refer cancellation reasons".into(),
                source: Some(sdk()),
                context: None,
            },
            Error::ItemCollectionTooLarge {
                message: "Item collection size limit exceeded".into(),
                source: sdk(),
                context: None,
            },
            Error::BatchWriteIncomplete {
                written: 1,
                unwritten: Vec::new(),
                outcome_unknown: Vec::new(),
                cause: Some(Box::new(Error::validation("two tables map to `shared`"))),
            },
            Error::BatchGetIncomplete {
                unprocessed: Default::default(),
                found: Default::default(),
                cause: Some(Box::new(Error::validation("bad"))),
            },
            Error::ItemUndecodable {
                table: "orders".into(),
                key: key(),
                source: inner(),
            },
            Error::OutcomeUnknown {
                operation: "UpdateItem",
                table: Some("orders".into()),
                attempts: 2,
                client_request_token: None,
                source: Box::new(Error::Timeout {
                    what: "an answer to UpdateItem".into(),
                    after: std::time::Duration::from_secs(1),
                    may_have_reached: true,
                    context: None,
                }),
                context: None,
            },
            from_sdk(sdk_unhandled(
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded",
            )),
            from_sdk(sdk_unhandled(
                "ResourceNotFoundException",
                "Requested resource not found",
            ))
            .in_context(|| ErrorContext::new("GetItem").table("orders")),
            Error::ItemTooLarge {
                message: "Order item id=\"o1\" is 500000 bytes, over its limit".into(),
                source: None,
            },
            from_sdk(sdk_unhandled(
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/app is not authorized to perform: \
                 dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/orders \
                 because no identity-based policy allows the dynamodb:GetItem action",
            )),
            Error::InvalidCursor {
                message: "the cursor token is damaged".into(),
            },
            from_sdk(sdk_unhandled(
                "ValidationException",
                "One or more parameter values were invalid",
            )),
            Error::WrittenButUndecodable {
                item: key(),
                source: inner(),
            },
            Error::Encryption {
                message: "KMS Decrypt for orders.card failed (DisabledException)".into(),
                source: Some("DisabledException: the key is disabled".into()),
            },
            from_sdk(sdk_unhandled(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )),
            *inner(),
            from_sdk(sdk_unhandled(
                "InternalServerError",
                "Internal server error",
            )),
            Error::Timeout {
                what: "an answer to GetItem".into(),
                after: std::time::Duration::from_secs(1),
                may_have_reached: true,
                context: None,
            },
            Error::Transport {
                message: "connection failed".into(),
                may_have_reached: false,
                source: "connection refused (os error 111)".into(),
                context: None,
            },
            Error::LeaseUnavailable {
                table: "leases",
                name: "job".into(),
                waited: std::time::Duration::from_secs(1),
                holder: Some("worker-2".into()),
            },
            Error::LeaseLost {
                table: "leases",
                name: "job".into(),
                fencing_token: 7,
                reason: "its local deadline passed".into(),
            },
            Error::NoStream {
                table: "orders".into(),
                message: "the table has no stream".into(),
            },
            Error::RecordUndecodable {
                table: "orders".into(),
                shard_id: "shard-1".into(),
                sequence_number: "100".into(),
                record: Box::new(record),
                source: inner(),
            },
            Error::StreamTrimmed {
                table: "orders".into(),
                shard_id: "shard-1".into(),
                sequence_number: Some("100".into()),
                source: Box::new(from_sdk(sdk_unhandled(
                    "TrimmedDataAccessException",
                    "trimmed",
                ))),
            },
            Error::S3(Box::new(s3)),
            Error::OrphanedObjects {
                objects: vec![("b".into(), "k".into())],
                cleanup: Box::new(Error::validation("cleanup failed")),
                source: inner(),
            },
        ]
    }

    #[test]
    fn every_variant_is_one_line_that_does_not_repeat_its_source() {
        let all = every_variant();
        let kinds: std::collections::BTreeSet<&str> = all.iter().map(Error::kind).collect();
        assert_eq!(kinds.len(), 28, "one of every variant: {kinds:?}");
        for e in &all {
            let text = e.to_string();
            assert!(
                !text.is_empty() && !text.contains('\n'),
                "{}: {text:?}",
                e.kind()
            );
            assert!(text.len() < 300, "{}: {text}", e.kind());
            assert!(
                !text.contains("{ ") && !text.contains("Error {"),
                "a debug dump: {text}"
            );
            if let Some(s) = std::error::Error::source(e) {
                let inner = s.to_string();
                assert!(
                    inner.is_empty() || !text.contains(&inner),
                    "{}: {text:?} repeats its source {inner:?}",
                    e.kind()
                );
            }
            let mut cur = std::error::Error::source(e);
            while let Some(s) = cur {
                assert_ne!(s.to_string(), text, "{}: a source says the same", e.kind());
                cur = s.source();
            }
        }
    }

    #[test]
    fn a_failed_condition_names_operation_tables_and_key() {
        let e = from_sdk(sdk_condition_failed()).in_context(ctx);
        assert!(e.is_condition_failed());
        assert_eq!(e.kind(), "ConditionFailed");
        assert_eq!(
            e.to_string(),
            "PutItem on orders (deployed as prod-orders), key {id=\"o1\"}: condition failed"
        );
        assert_eq!(e.operation(), Some("PutItem"));
        assert_eq!(e.table(), Some("orders"));
        assert_eq!(e.deployed_table(), Some("prod-orders"));
        assert_eq!(e.context().unwrap().key.as_deref(), Some("{id=\"o1\"}"));
        // The service's words are in the source, once.
        let source = std::error::Error::source(&e).unwrap().to_string();
        assert!(
            source.contains("The conditional request failed"),
            "{source}"
        );
        assert!(e.report().contains("The conditional request failed"));
        // A context already there is kept.
        let e = e.in_context(|| ErrorContext::new("Query"));
        assert_eq!(e.operation(), Some("PutItem"));
    }

    #[test]
    fn a_missing_table_names_operation_and_table() {
        let e = from_sdk(sdk_unhandled(
            "ResourceNotFoundException",
            "Requested resource not found",
        ))
        .in_context(|| {
            ErrorContext::new("GetItem")
                .table("orders")
                .deployed_table("orders")
        });
        assert!(e.is_not_found());
        assert_eq!(
            e.to_string(),
            "GetItem on orders: the table or index was not found"
        );
        assert_eq!(e.deployed_table(), None, "the same name is not repeated");
    }

    #[test]
    fn a_denial_names_action_and_resource_and_a_validation_keeps_the_services_words() {
        let e = from_sdk(sdk_unhandled(
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/app is not authorized to perform: \
             dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/orders",
        ));
        assert!(e.is_access_denied());
        assert_eq!(
            e.to_string(),
            "access denied: dynamodb:GetItem on arn:aws:dynamodb:us-east-1:123456789012:table/orders"
        );
        // An unmodelled error's SDK display has only its code: the message is dynox's to give.
        let e = from_sdk(sdk_unhandled(
            "ValidationException",
            "One or more parameter values were invalid",
        ));
        assert_eq!(
            e.to_string(),
            "invalid request: One or more parameter values were invalid"
        );
    }

    #[test]
    fn parses_aws_denial_messages() {
        let m = "User: arn:aws:iam::123456789012:user/app is not authorized to perform: \
                 dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/users \
                 because no identity-based policy allows the dynamodb:GetItem action";
        assert_eq!(
            parse_denial(m),
            (
                Some("dynamodb:GetItem".into()),
                Some("arn:aws:dynamodb:eu-west-1:123456789012:table/users".into())
            )
        );
        assert_eq!(parse_denial("nope"), (None, None));
    }
}
