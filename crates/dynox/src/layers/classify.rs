//! What a request is and what a failure means: the facts every layer decides by.
//!
//! A request is classified from its SDK builder (what it writes, its condition, its update
//! expression, its token), so no operation can forget to declare it. A failure is classified by
//! AWS's rules: which errors are throttling, which are transient, and whether the request may
//! have reached DynamoDB (only a failure to connect proves it did not).

use crate::error::Error;
use crate::send::Request;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::collections::HashMap;

/// What sending a request again could do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// A read: repeat freely.
    Read,
    /// A write whose repeat leaves the same state and gives the same answer: an unconditional
    /// put or delete, an update that only sets values or removes attributes, a batch write, a
    /// transaction with its client request token. Repeated after a lost answer.
    Idempotent,
    /// Like [`Idempotent`](Idempotency::Idempotent), but under a condition that the write's own
    /// first application may break (`attribute_not_exists`, a version check). Repeated after a
    /// lost answer; a condition failure on the repeat is reported as possibly applied.
    Conditional,
    /// A repeat could apply twice or answer differently: counter arithmetic, `ADD` of a number,
    /// `list_append`, old values returned, a table created. Repeated only when the failure
    /// proves the request never reached DynamoDB; otherwise its outcome is unknown.
    NotIdempotent,
}

impl Idempotency {
    /// Whether the request writes.
    pub fn writes(self) -> bool {
        self != Idempotency::Read
    }
}

/// How a request may be repeated, from what it is.
pub fn idempotency(request: &Request) -> Idempotency {
    use Idempotency::*;
    let returns_old = |rv: &Option<ReturnValue>| {
        matches!(rv, Some(ReturnValue::AllOld | ReturnValue::UpdatedOld))
    };
    let write = |conditional: bool, old: bool| match (conditional, old) {
        (_, true) => NotIdempotent,
        (true, false) => Conditional,
        (false, false) => Idempotent,
    };
    match request {
        Request::GetItem(_)
        | Request::Query(_)
        | Request::Scan(_)
        | Request::BatchGetItem(_)
        | Request::TransactGetItems(_)
        | Request::SearchVectors(_)
        | Request::DescribeTable(_)
        | Request::ListTables(_)
        | Request::DescribeTimeToLive(_)
        | Request::ListTagsOfResource(_) => Read,
        Request::PutItem(b) => write(
            b.get_condition_expression().is_some() || b.get_expected().is_some(),
            returns_old(b.get_return_values()),
        ),
        Request::DeleteItem(b) => write(
            b.get_condition_expression().is_some() || b.get_expected().is_some(),
            returns_old(b.get_return_values()),
        ),
        Request::UpdateItem(b) => {
            let repeatable = b.get_attribute_updates().is_none()
                && b.get_update_expression().as_deref().is_none_or(|e| {
                    update_repeats(e, b.get_expression_attribute_values().as_ref())
                });
            if repeatable {
                write(
                    b.get_condition_expression().is_some() || b.get_expected().is_some(),
                    returns_old(b.get_return_values()),
                )
            } else {
                NotIdempotent
            }
        }
        // Unconditional puts and deletes only.
        Request::BatchWriteItem(_) | Request::TagResource(_) | Request::UntagResource(_) => {
            Idempotent
        }
        // With a token DynamoDB applies a transaction at most once in 10 minutes.
        Request::TransactWriteItems(b) => token(b.get_client_request_token()),
        Request::ExecuteTransaction(b) => token(b.get_client_request_token()),
        Request::ExecuteStatement(b) => b
            .get_statement()
            .as_deref()
            .map_or(NotIdempotent, statement),
        Request::BatchExecuteStatement(b) => {
            let all_reads = b
                .get_statements()
                .as_ref()
                .is_some_and(|s| s.iter().all(|s| statement(s.statement()) == Read));
            if all_reads { Read } else { NotIdempotent }
        }
        // A repeat fails (the table exists, is gone, is unchanged): the caller must look.
        Request::CreateTable(_)
        | Request::DeleteTable(_)
        | Request::UpdateTable(_)
        | Request::UpdateTimeToLive(_) => NotIdempotent,
    }
}

fn token(token: &Option<String>) -> Idempotency {
    if token.is_some() {
        Idempotency::Idempotent
    } else {
        Idempotency::NotIdempotent
    }
}

/// A PartiQL statement by its verb: an INSERT fails if the item exists and a DELETE may carry
/// conditions (both conditional); an UPDATE may be arithmetic, which the text would have to be
/// evaluated to rule out.
fn statement(text: &str) -> Idempotency {
    use dynox_iam::statement::{Verb, read};
    // A repeat of a statement returning old values would return different ones.
    let returns = text
        .as_bytes()
        .windows(9)
        .any(|w| w.eq_ignore_ascii_case(b"RETURNING"));
    match read(text).map(|s| s.verb) {
        Ok(Verb::Select) => Idempotency::Read,
        Ok(Verb::Insert | Verb::Delete) if !returns => Idempotency::Conditional,
        Ok(_) | Err(_) => Idempotency::NotIdempotent,
    }
}

/// Whether an update expression leaves the same item when applied twice: only `SET` of values
/// (`if_not_exists` included), `REMOVE`, and `ADD`/`DELETE` of set elements, on attributes and
/// map entries. Arithmetic, `list_append`, `ADD` of a number and anything on a list element
/// (`[n]`) are not; an expression this cannot read is not either.
pub(crate) fn update_repeats(expr: &str, values: Option<&HashMap<String, AttributeValue>>) -> bool {
    let b = expr.as_bytes();
    let mut i = 0;
    let mut clause = "";
    while i < b.len() {
        let c = b[i];
        if c == b'#' || c == b':' {
            // A placeholder: `#name` or `:value`.
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            if c == b':' && clause == "ADD" {
                let number = !matches!(
                    values.and_then(|v| v.get(&expr[start..i])),
                    Some(AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_))
                );
                if number {
                    return false;
                }
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &expr[start..i];
            for kw in ["SET", "REMOVE", "ADD", "DELETE"] {
                if word.eq_ignore_ascii_case(kw) {
                    clause = kw;
                }
            }
            if word.eq_ignore_ascii_case("list_append") {
                return false;
            }
        } else if c == b'+' || c == b'-' || c == b'[' {
            // Arithmetic; or a list element: removing `[0]` twice removes two elements, and
            // setting an index past the end appends.
            return false;
        } else {
            i += 1;
        }
    }
    true
}

/// Error codes AWS's SDKs treat as throttling (aws-runtime's `THROTTLING_ERRORS`): retried
/// with the throttling backoff and at the throttling cost.
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error codes AWS's SDKs treat as transient (aws-runtime's `TRANSIENT_ERRORS`), besides any
/// answer with HTTP status 500, 502, 503 or 504.
pub const TRANSIENT_CODES: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

/// HTTP statuses that are transient whatever the code.
pub const TRANSIENT_STATUSES: &[u16] = &[500, 502, 503, 504];

/// Cancellation reasons of a transaction that make the whole transaction worth repeating:
/// nothing was applied, and nothing about the request was wrong.
pub const RETRYABLE_CANCELLATIONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

/// Whether a failed request is worth sending again, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Never: the request itself is wrong, or was refused for good.
    Never,
    /// Throttling: DynamoDB refused it for now and applied nothing.
    Throttle,
    /// Transient: a 5xx, a reset, a timeout.
    Transient,
}

/// Whether the failed request may have been applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reached {
    /// It never left (no connection could be made).
    No,
    /// DynamoDB answered and applied nothing (throttled, refused, cancelled).
    Refused,
    /// Its answer was lost: it may have been applied.
    Maybe,
}

/// What a failure means for the request that had it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Whether and how to retry.
    pub retry: Retry,
    /// Whether it may have been applied.
    pub reached: Reached,
}

/// Classifies a failure by AWS's rules.
pub fn failure(err: &Error) -> Failure {
    let f = |retry, reached| Failure { retry, reached };
    match err {
        Error::Throttled { .. } => f(Retry::Throttle, Reached::Refused),
        Error::Service { code, status, .. } => {
            // `from_sdk` makes the others `Error::Throttled`; TransactionInProgress stays a
            // service error: an earlier attempt with the same token is still running.
            if THROTTLING_CODES.contains(&code.as_str()) {
                let reached = if code == "TransactionInProgressException" {
                    Reached::Maybe
                } else {
                    Reached::Refused
                };
                f(Retry::Throttle, reached)
            } else if TRANSIENT_CODES.contains(&code.as_str())
                || status.is_some_and(|s| TRANSIENT_STATUSES.contains(&s))
                || matches!(code.as_str(), "InternalServerError" | "ServiceUnavailable")
            {
                // DynamoDB: "a status code 500 on a write operation, the operation may have
                // succeeded or failed".
                f(Retry::Transient, Reached::Maybe)
            } else {
                f(Retry::Never, Reached::Refused)
            }
        }
        Error::TransactionCancelled { reasons, .. } => {
            let codes: Vec<&str> = reasons.iter().filter_map(|r| r.code.as_deref()).collect();
            let retryable = !codes.is_empty()
                && codes
                    .iter()
                    .all(|c| *c == "None" || RETRYABLE_CANCELLATIONS.contains(c));
            if retryable {
                f(Retry::Transient, Reached::Refused)
            } else {
                f(Retry::Never, Reached::Refused)
            }
        }
        Error::Transport {
            may_have_reached, ..
        }
        | Error::Timeout {
            may_have_reached, ..
        } => f(
            Retry::Transient,
            if *may_have_reached {
                Reached::Maybe
            } else {
                Reached::No
            },
        ),
        Error::OutcomeUnknown { .. } => f(Retry::Never, Reached::Maybe),
        _ => f(Retry::Never, Reached::Refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.into())
    }

    #[test]
    fn updates_that_repeat_and_updates_that_do_not() {
        let values = HashMap::from([
            (":v0".to_owned(), n("1")),
            (":s".to_owned(), AttributeValue::Ss(vec!["a".into()])),
        ]);
        let v = Some(&values);
        for ok in [
            "SET #n0 = :v0",
            "SET #n0 = if_not_exists(#n0, :v0), #n1 = :v0 REMOVE #n2",
            "ADD #tags :s",
            "DELETE #tags :s",
            "set #a = :v0 remove #b",
        ] {
            assert!(update_repeats(ok, v), "{ok}");
        }
        for not in [
            "REMOVE #l[0]",
            "SET #l[7] = :v0",
            "SET #n0 = #n0 + :v0",
            "SET #n0 = #n0 - :v0",
            "ADD #n0 :v0",
            "SET #l = list_append(#l, :s)",
            "ADD #n0 :missing",
        ] {
            assert!(!update_repeats(not, v), "{not}");
        }
    }

    #[test]
    fn failures_by_aws_rules() {
        let service = |code: &str, status| Error::Service {
            code: code.into(),
            message: String::new(),
            status: Some(status),
            source: "x".into(),
            context: None,
        };
        assert_eq!(
            failure(&service("InternalServerError", 500)),
            Failure {
                retry: Retry::Transient,
                reached: Reached::Maybe
            }
        );
        assert_eq!(
            failure(&service("LimitExceededException", 400)).retry,
            Retry::Throttle
        );
        assert_eq!(failure(&service("HTTP 502", 502)).retry, Retry::Transient);
        assert_eq!(
            failure(&service("ResourceInUseException", 400)).retry,
            Retry::Never
        );
        let refused = Error::Transport {
            message: String::new(),
            may_have_reached: false,
            source: "x".into(),
            context: None,
        };
        assert_eq!(failure(&refused).reached, Reached::No);
        assert_eq!(failure(&Error::validation("x")).retry, Retry::Never);
    }
}
