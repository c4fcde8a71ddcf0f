//! Consumed capacity: which to ask for, and results that carry it.

use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};

/// Which consumed capacity to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    /// The total for the request.
    Total,
    /// The total, and per table and index.
    Indexes,
}

impl Capacity {
    pub(crate) fn to_sdk(self) -> ReturnConsumedCapacity {
        match self {
            Capacity::Total => ReturnConsumedCapacity::Total,
            Capacity::Indexes => ReturnConsumedCapacity::Indexes,
        }
    }
}

/// A result with the capacity its request consumed (when asked for with
/// `return_consumed_capacity`).
#[derive(Clone, Debug, PartialEq)]
pub struct WithCapacity<T> {
    /// The result.
    pub value: T,
    /// What the request consumed; `None` unless asked for.
    pub consumed_capacity: Option<ConsumedCapacity>,
}
