//! Consumed capacity: which to ask for, and results that carry it.

use crate::send::{Request, Response};
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

/// The `ConsumedCapacity` entries of an answer (several for batches and transactions).
pub(crate) fn entries(response: &Response) -> Vec<&ConsumedCapacity> {
    match response {
        Response::GetItem(o) => o.consumed_capacity.iter().collect(),
        Response::PutItem(o) => o.consumed_capacity.iter().collect(),
        Response::UpdateItem(o) => o.consumed_capacity.iter().collect(),
        Response::DeleteItem(o) => o.consumed_capacity.iter().collect(),
        Response::Query(o) => o.consumed_capacity.iter().collect(),
        Response::Scan(o) => o.consumed_capacity.iter().collect(),
        Response::BatchWriteItem(o) => o.consumed_capacity.iter().flatten().collect(),
        Response::BatchGetItem(o) => o.consumed_capacity.iter().flatten().collect(),
        Response::TransactWriteItems(o) => o.consumed_capacity.iter().flatten().collect(),
        Response::TransactGetItems(o) => o.consumed_capacity.iter().flatten().collect(),
        Response::ExecuteStatement(o) => o.consumed_capacity.iter().collect(),
        Response::BatchExecuteStatement(o) => o.consumed_capacity.iter().flatten().collect(),
        Response::ExecuteTransaction(o) => o.consumed_capacity.iter().flatten().collect(),
        _ => Vec::new(),
    }
}

/// Asks for the total consumed capacity; `true` if the caller had not (so that [`hide`]
/// removes it from the answer again, and the caller sees what it asked for).
pub(crate) fn ask(request: Request) -> (Request, bool) {
    macro_rules! ask {
        ($b:expr, $v:ident) => {{
            let asked = $b.get_return_consumed_capacity().is_some();
            let b = if asked {
                $b
            } else {
                Box::new($b.return_consumed_capacity(ReturnConsumedCapacity::Total))
            };
            (Request::$v(b), !asked)
        }};
    }
    match request {
        Request::GetItem(b) => ask!(b, GetItem),
        Request::PutItem(b) => ask!(b, PutItem),
        Request::UpdateItem(b) => ask!(b, UpdateItem),
        Request::DeleteItem(b) => ask!(b, DeleteItem),
        Request::Query(b) => ask!(b, Query),
        Request::Scan(b) => ask!(b, Scan),
        Request::BatchWriteItem(b) => ask!(b, BatchWriteItem),
        Request::BatchGetItem(b) => ask!(b, BatchGetItem),
        Request::TransactWriteItems(b) => ask!(b, TransactWriteItems),
        Request::TransactGetItems(b) => ask!(b, TransactGetItems),
        Request::ExecuteStatement(b) => ask!(b, ExecuteStatement),
        Request::BatchExecuteStatement(b) => ask!(b, BatchExecuteStatement),
        Request::ExecuteTransaction(b) => ask!(b, ExecuteTransaction),
        other => (other, false),
    }
}

/// Removes the consumed capacity from an answer (see [`ask`]).
pub(crate) fn hide(response: &mut Response) {
    match response {
        Response::GetItem(o) => o.consumed_capacity = None,
        Response::PutItem(o) => o.consumed_capacity = None,
        Response::UpdateItem(o) => o.consumed_capacity = None,
        Response::DeleteItem(o) => o.consumed_capacity = None,
        Response::Query(o) => o.consumed_capacity = None,
        Response::Scan(o) => o.consumed_capacity = None,
        Response::BatchWriteItem(o) => o.consumed_capacity = None,
        Response::BatchGetItem(o) => o.consumed_capacity = None,
        Response::TransactWriteItems(o) => o.consumed_capacity = None,
        Response::TransactGetItems(o) => o.consumed_capacity = None,
        Response::ExecuteStatement(o) => o.consumed_capacity = None,
        Response::BatchExecuteStatement(o) => o.consumed_capacity = None,
        Response::ExecuteTransaction(o) => o.consumed_capacity = None,
        _ => {}
    }
}
