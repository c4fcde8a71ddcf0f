//! The one error type of dynox.
//!
//! Service errors are mapped to typed variants where a caller would act on them (a failed
//! condition, throttling, a missing table, an item over the size limit, a denied permission); the
//! original SDK error stays reachable through [`std::error::Error::source`].

use crate::Item;
use crate::attr::ValueError;
use crate::model::FromItem;
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
    /// A condition expression evaluated to false; nothing was written.
    ConditionFailed {
        /// The item as it was, when the request asked for it
        /// (`return_old_on_condition_failure`).
        old_item: Option<Item>,
        /// The service's message.
        message: String,
        /// The SDK error.
        source: Option<BoxError>,
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
    },
    /// A transaction was cancelled; nothing of it was applied.
    TransactionCancelled {
        /// One reason per member, in member order (`code` is `None` for members that were fine).
        reasons: Vec<CancellationReason>,
        /// The service's message.
        message: String,
        /// The SDK error.
        source: Option<BoxError>,
    },
    /// An item collection (all items with one partition key, with a local secondary index)
    /// exceeds 10 GB.
    ItemCollectionTooLarge {
        /// The service's message.
        message: String,
        /// The SDK error.
        source: BoxError,
    },
    /// A batch write could not write everything: exactly the writes that were not applied.
    BatchWriteIncomplete {
        /// How many writes were applied.
        written: usize,
        /// The writes that were not (retries exhausted, or a request failed).
        unwritten: Vec<crate::batch::Write>,
        /// The error that stopped a request, if one did (otherwise retries ran out).
        cause: Option<Box<Error>>,
    },
    /// A batch read left keys unprocessed after all retries.
    BatchGetIncomplete {
        /// The keys not read, per table.
        unprocessed: std::collections::HashMap<String, Vec<Item>>,
        /// The items that were read, per table.
        found: std::collections::HashMap<String, Vec<Item>>,
    },
    /// The request was throttled (throughput exceeded, request limit, throttling).
    Throttled {
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
        /// The SDK error.
        source: BoxError,
    },
    /// The table or index does not exist (or is not active yet).
    NotFound {
        /// The service's message.
        message: String,
        /// The SDK error.
        source: BoxError,
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
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
        /// The SDK error.
        source: BoxError,
    },
    /// A wait (for a table to become active, say) gave up.
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it waited.
        after: std::time::Duration,
    },
    /// The request did not get an answer: connection, timeout, dispatch or response errors.
    Transport {
        /// What happened.
        message: String,
        /// The SDK error.
        source: BoxError,
    },
}

impl Error {
    /// A validation error raised by dynox before anything is sent.
    pub fn validation(message: impl Into<String>) -> Error {
        Error::Validation {
            message: message.into(),
            source: None,
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
    /// IAM denied the request.
    pub fn is_access_denied(&self) -> bool {
        matches!(self, Error::AccessDenied { .. })
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
    /// Encryption or decryption failed.
    pub fn is_encryption(&self) -> bool {
        matches!(self, Error::Encryption { .. })
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
            _ => false,
        }
    }
    /// The credentials were refused.
    pub fn is_authentication(&self) -> bool {
        matches!(self, Error::Authentication { .. })
    }
    /// A value did not convert.
    pub fn is_conversion(&self) -> bool {
        matches!(self, Error::Conversion { .. })
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

    /// A wait gave up.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ConditionFailed { message, .. } => write!(f, "condition failed: {message}"),
            Error::VersionConflict {
                model,
                expected,
                found,
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
                cause,
            } => {
                write!(
                    f,
                    "batch write incomplete: {written} written, {} not",
                    unwritten.len()
                )?;
                match cause {
                    Some(c) => write!(f, " ({c})"),
                    None => f.write_str(" (retries exhausted)"),
                }
            }
            Error::BatchGetIncomplete { unprocessed, .. } => write!(
                f,
                "batch read incomplete: {} key(s) unprocessed after all retries",
                unprocessed.values().map(Vec::len).sum::<usize>()
            ),
            Error::ItemCollectionTooLarge { message, .. } => {
                write!(f, "item collection too large: {message}")
            }
            Error::Throttled { code, message, .. } => write!(f, "throttled ({code}): {message}"),
            Error::NotFound { message, .. } => write!(f, "not found: {message}"),
            Error::ItemTooLarge { message, .. } => write!(f, "item too large: {message}"),
            Error::AccessDenied {
                action,
                resource,
                message,
                ..
            } => match (action, resource) {
                (Some(a), Some(r)) => write!(f, "access denied: {a} on {r}"),
                _ => write!(f, "access denied: {message}"),
            },
            Error::Validation { message, .. } => write!(f, "invalid request: {message}"),
            Error::InvalidCursor { message } => f.write_str(message),
            Error::Conversion {
                model,
                field,
                source,
            } => write!(f, "{model}.{field}: {source}"),
            Error::WrittenButUndecodable { source, .. } => {
                write!(
                    f,
                    "the write was applied, but its returned item did not decode: {source}"
                )
            }
            Error::Encryption { message, .. } => write!(f, "encryption: {message}"),
            Error::Authentication { code, message, .. } => {
                write!(f, "credentials refused ({code}): {message}")
            }
            Error::Service { code, message, .. } => write!(f, "{code}: {message}"),
            Error::Timeout { what, after } => {
                write!(f, "gave up waiting for {what} after {after:?}")
            }
            Error::Transport { message, .. } => write!(f, "request failed: {message}"),
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
            Error::Conversion { source, .. } => Some(source),
            Error::WrittenButUndecodable { source, .. } => Some(source.as_ref()),
            Error::Timeout { .. }
            | Error::InvalidCursor { .. }
            | Error::BatchGetIncomplete { .. }
            | Error::VersionConflict { .. } => None,
            Error::BatchWriteIncomplete { cause, .. } => cause.as_deref().map(|c| c as _),
        }
    }
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

/// Maps an SDK error to [`Error`].
pub(crate) fn from_sdk<E, R>(err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + ServiceDetail + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let (code, message) = match &err {
        SdkError::ServiceError(s) => (
            s.err().code().unwrap_or("Unknown").to_owned(),
            s.err().message().unwrap_or_default().to_owned(),
        ),
        other => {
            let message = match other {
                SdkError::TimeoutError(_) => "timed out".to_owned(),
                SdkError::DispatchFailure(d) if d.is_io() => "connection failed".to_owned(),
                SdkError::DispatchFailure(_) => "could not dispatch the request".to_owned(),
                SdkError::ConstructionFailure(_) => "could not build the request".to_owned(),
                _ => "invalid response".to_owned(),
            };
            return Error::Transport {
                message: format!("{message}: {}", display_chain(other)),
                source: Box::new(err),
            };
        }
    };
    match code.as_str() {
        "ConditionalCheckFailedException" => {
            let (old_item, source): (Option<Item>, BoxError) = match err {
                SdkError::ServiceError(ctx) => {
                    let mut e = ctx.into_err();
                    (e.take_condition_item(), Box::new(e))
                }
                other => (None, Box::new(other)),
            };
            Error::ConditionFailed {
                old_item,
                message,
                source: Some(source),
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
                message,
                source: Some(source),
            }
        }
        "ItemCollectionSizeLimitExceededException" => Error::ItemCollectionTooLarge {
            message,
            source: Box::new(err),
        },
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => Error::Throttled {
            code,
            message,
            source: Box::new(err),
        },
        "ResourceNotFoundException" => Error::NotFound {
            message,
            source: Box::new(err),
        },
        "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "ExpiredTokenException"
        | "MissingAuthenticationTokenException" => Error::Authentication {
            code,
            message,
            source: Box::new(err),
        },
        "AccessDeniedException" => {
            let (action, resource) = parse_denial(&message);
            Error::AccessDenied {
                action,
                resource,
                message,
                source: Box::new(err),
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
        },
        _ => Error::Service {
            code,
            message,
            source: Box::new(err),
        },
    }
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
fn parse_denial(message: &str) -> (Option<String>, Option<String>) {
    let word_after = |marker: &str| {
        message.split_once(marker).and_then(|(_, rest)| {
            rest.split_whitespace()
                .next()
                .map(|w| w.trim_end_matches([',', '.']).to_owned())
        })
    };
    (word_after("to perform: "), word_after("on resource: "))
}

#[cfg(test)]
mod tests {
    use super::*;

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
