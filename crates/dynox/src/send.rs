//! The one place where requests leave dynox.
//!
//! Every operation builds the SDK's fluent builder for its request, wraps it in a [`Request`] and
//! hands it to [`Client::send`](crate::Client). The request then passes the client's tower
//! service stack, whose innermost service ([`Dispatch`]) is the only code that calls the AWS SDK's
//! `send()`. Middleware (retries, rate limits, metrics, timeouts) wraps that stack, so nothing can
//! bypass it.

use crate::Item;
use crate::error::{CancellationReason, Error, Result, ServiceDetail, from_sdk};
use aws_sdk_dynamodb::operation as op;
use futures::future::BoxFuture;
use std::task::{Context, Poll};
use tracing::Instrument as _;

/// An SDK request builder that can travel the send path.
pub trait Operation: Sized {
    /// What the service answers.
    type Output;
    /// Wraps the builder.
    fn into_request(self) -> Request;
    /// Unwraps the answer.
    fn from_response(response: Response) -> Result<Self::Output>;
}

macro_rules! operations {
    ($($variant:ident($builder:ty) -> $output:ty, $error:ty;)*) => {
        /// A request on its way out: the SDK builder of one DynamoDB operation. Boxed, so that
        /// passing it from layer to layer moves a pointer, not a kilobyte.
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum Request {
            $(
                #[doc = concat!("`", stringify!($variant), "`")]
                $variant(Box<$builder>),
            )*
        }

        /// The answer to a [`Request`] (boxed, like the request).
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum Response {
            $(
                #[doc = concat!("`", stringify!($variant), "`")]
                $variant(Box<$output>),
            )*
        }

        impl Request {
            /// The DynamoDB operation name, e.g. `GetItem`.
            pub fn operation_name(&self) -> &'static str {
                match self {
                    $(Request::$variant(_) => stringify!($variant),)*
                }
            }
        }

        impl Response {
            fn operation_name(&self) -> &'static str {
                match self {
                    $(Response::$variant(_) => stringify!($variant),)*
                }
            }
        }

        /// Each operation's future is boxed as what it is: one `async fn` over all of them
        /// would be as large as the largest (kilobytes), allocated and moved for every request.
        fn dispatch(request: Request, span: tracing::Span) -> BoxFuture<'static, Result<Response>> {
            match request {
                $(Request::$variant(b) => Box::pin({
                    let this = span.clone();
                    async move {
                        let attempt = crate::observe::attempt_started();
                        this.record("dynox.attempt", i64::from(attempt));
                        let result = b.send().await.map(|o| Response::$variant(Box::new(o))).map_err(from_sdk);
                        crate::observe::attempt_ended(&this);
                        if let Err(e) = &result {
                            crate::observe::attempt_failed(stringify!($variant), attempt, e);
                            this.record("error.type", e.kind());
                            this.record("otel.status_code", "ERROR");
                        }
                        result
                    }
                    .instrument(span)
                }),)*
            }
        }

        $(
            impl Operation for $builder {
                type Output = $output;
                fn into_request(self) -> Request {
                    Request::$variant(Box::new(self))
                }
                fn from_response(response: Response) -> Result<$output> {
                    match response {
                        Response::$variant(o) => Ok(*o),
                        #[allow(unreachable_patterns)]
                        other => Err(mismatch(stringify!($variant), other.operation_name())),
                    }
                }
            }
        )*
    };
}

operations! {
    GetItem(op::get_item::builders::GetItemFluentBuilder) -> op::get_item::GetItemOutput, op::get_item::GetItemError;
    PutItem(op::put_item::builders::PutItemFluentBuilder) -> op::put_item::PutItemOutput, op::put_item::PutItemError;
    UpdateItem(op::update_item::builders::UpdateItemFluentBuilder) -> op::update_item::UpdateItemOutput, op::update_item::UpdateItemError;
    DeleteItem(op::delete_item::builders::DeleteItemFluentBuilder) -> op::delete_item::DeleteItemOutput, op::delete_item::DeleteItemError;
    Query(op::query::builders::QueryFluentBuilder) -> op::query::QueryOutput, op::query::QueryError;
    Scan(op::scan::builders::ScanFluentBuilder) -> op::scan::ScanOutput, op::scan::ScanError;
    BatchGetItem(op::batch_get_item::builders::BatchGetItemFluentBuilder) -> op::batch_get_item::BatchGetItemOutput, op::batch_get_item::BatchGetItemError;
    BatchWriteItem(op::batch_write_item::builders::BatchWriteItemFluentBuilder) -> op::batch_write_item::BatchWriteItemOutput, op::batch_write_item::BatchWriteItemError;
    TransactWriteItems(op::transact_write_items::builders::TransactWriteItemsFluentBuilder) -> op::transact_write_items::TransactWriteItemsOutput, op::transact_write_items::TransactWriteItemsError;
    TransactGetItems(op::transact_get_items::builders::TransactGetItemsFluentBuilder) -> op::transact_get_items::TransactGetItemsOutput, op::transact_get_items::TransactGetItemsError;
    ExecuteStatement(op::execute_statement::builders::ExecuteStatementFluentBuilder) -> op::execute_statement::ExecuteStatementOutput, op::execute_statement::ExecuteStatementError;
    BatchExecuteStatement(op::batch_execute_statement::builders::BatchExecuteStatementFluentBuilder) -> op::batch_execute_statement::BatchExecuteStatementOutput, op::batch_execute_statement::BatchExecuteStatementError;
    ExecuteTransaction(op::execute_transaction::builders::ExecuteTransactionFluentBuilder) -> op::execute_transaction::ExecuteTransactionOutput, op::execute_transaction::ExecuteTransactionError;
    SearchVectors(op::search_vectors::builders::SearchVectorsFluentBuilder) -> op::search_vectors::SearchVectorsOutput, op::search_vectors::SearchVectorsError;
    CreateTable(op::create_table::builders::CreateTableFluentBuilder) -> op::create_table::CreateTableOutput, op::create_table::CreateTableError;
    DescribeTable(op::describe_table::builders::DescribeTableFluentBuilder) -> op::describe_table::DescribeTableOutput, op::describe_table::DescribeTableError;
    UpdateTable(op::update_table::builders::UpdateTableFluentBuilder) -> op::update_table::UpdateTableOutput, op::update_table::UpdateTableError;
    DeleteTable(op::delete_table::builders::DeleteTableFluentBuilder) -> op::delete_table::DeleteTableOutput, op::delete_table::DeleteTableError;
    ListTables(op::list_tables::builders::ListTablesFluentBuilder) -> op::list_tables::ListTablesOutput, op::list_tables::ListTablesError;
    UpdateTimeToLive(op::update_time_to_live::builders::UpdateTimeToLiveFluentBuilder) -> op::update_time_to_live::UpdateTimeToLiveOutput, op::update_time_to_live::UpdateTimeToLiveError;
    DescribeTimeToLive(op::describe_time_to_live::builders::DescribeTimeToLiveFluentBuilder) -> op::describe_time_to_live::DescribeTimeToLiveOutput, op::describe_time_to_live::DescribeTimeToLiveError;
    TagResource(op::tag_resource::builders::TagResourceFluentBuilder) -> op::tag_resource::TagResourceOutput, op::tag_resource::TagResourceError;
    UntagResource(op::untag_resource::builders::UntagResourceFluentBuilder) -> op::untag_resource::UntagResourceOutput, op::untag_resource::UntagResourceError;
    ListTagsOfResource(op::list_tags_of_resource::builders::ListTagsOfResourceFluentBuilder) -> op::list_tags_of_resource::ListTagsOfResourceOutput, op::list_tags_of_resource::ListTagsOfResourceError;
}

impl Request {
    /// The table the request names (the first, for a batch; none for a transaction, whose
    /// members may name several).
    pub fn table_name(&self) -> Option<&str> {
        let name = match self {
            Request::GetItem(b) => b.get_table_name(),
            Request::PutItem(b) => b.get_table_name(),
            Request::UpdateItem(b) => b.get_table_name(),
            Request::DeleteItem(b) => b.get_table_name(),
            Request::Query(b) => b.get_table_name(),
            Request::Scan(b) => b.get_table_name(),
            Request::SearchVectors(b) => b.get_table_name(),
            Request::CreateTable(b) => b.get_table_name(),
            Request::DescribeTable(b) => b.get_table_name(),
            Request::UpdateTable(b) => b.get_table_name(),
            Request::DeleteTable(b) => b.get_table_name(),
            Request::UpdateTimeToLive(b) => b.get_table_name(),
            Request::DescribeTimeToLive(b) => b.get_table_name(),
            Request::BatchGetItem(b) => {
                return b
                    .get_request_items()
                    .as_ref()?
                    .keys()
                    .next()
                    .map(String::as_str);
            }
            Request::BatchWriteItem(b) => {
                return b
                    .get_request_items()
                    .as_ref()?
                    .keys()
                    .next()
                    .map(String::as_str);
            }
            _ => &None,
        };
        name.as_deref()
    }

    /// The key of the one item this request is about (`key_names` pick it out of a put's
    /// item), kept for an error's message; `None` for requests on many items.
    pub(crate) fn key_for_error(&self, key_names: &[&str]) -> Option<Item> {
        let key = match self {
            Request::GetItem(b) => b.get_key().clone(),
            Request::UpdateItem(b) => b.get_key().clone(),
            Request::DeleteItem(b) => b.get_key().clone(),
            Request::PutItem(b) if !key_names.is_empty() => b.get_item().as_ref().map(|item| {
                key_names
                    .iter()
                    .filter_map(|n| item.get(*n).map(|v| ((*n).to_owned(), v.clone())))
                    .collect()
            }),
            _ => None,
        };
        key.filter(|k| !k.is_empty())
    }

    /// What an error about this request names, kept for when the request itself is gone.
    pub(crate) fn info(&self) -> RequestInfo {
        RequestInfo {
            operation: self.operation_name(),
            table: self.table_name().map(str::to_owned),
            client_request_token: self.client_request_token().map(str::to_owned),
        }
    }

    /// A transaction's client request token.
    pub fn client_request_token(&self) -> Option<&str> {
        match self {
            Request::TransactWriteItems(b) => b.get_client_request_token().as_deref(),
            Request::ExecuteTransaction(b) => b.get_client_request_token().as_deref(),
            _ => None,
        }
    }
}

/// A request's operation, table and token, for errors raised after it was sent.
#[derive(Clone, Debug)]
pub(crate) struct RequestInfo {
    pub(crate) operation: &'static str,
    pub(crate) table: Option<String>,
    pub(crate) client_request_token: Option<String>,
}

impl RequestInfo {
    /// [`Error::OutcomeUnknown`] for this request after `attempts`, failing with `err`.
    pub(crate) fn outcome_unknown(self, attempts: u32, err: Error) -> Error {
        Error::OutcomeUnknown {
            operation: self.operation,
            table: self.table,
            attempts,
            client_request_token: self.client_request_token,
            source: Box::new(err),
            context: None,
        }
    }
}

fn mismatch(expected: &str, got: &str) -> Error {
    Error::Transport {
        message: format!("a middleware answered a {expected} request with a {got} response"),
        may_have_reached: true,
        source: "send path mismatch".into(),
        context: None,
    }
}

macro_rules! plain_errors {
    ($($error:ty),*) => {$(impl ServiceDetail for $error {})*};
}
plain_errors!(
    op::get_item::GetItemError,
    op::query::QueryError,
    op::scan::ScanError,
    op::batch_get_item::BatchGetItemError,
    op::batch_write_item::BatchWriteItemError,
    op::batch_execute_statement::BatchExecuteStatementError,
    op::search_vectors::SearchVectorsError,
    op::create_table::CreateTableError,
    op::describe_table::DescribeTableError,
    op::update_table::UpdateTableError,
    op::delete_table::DeleteTableError,
    op::list_tables::ListTablesError,
    op::update_time_to_live::UpdateTimeToLiveError,
    op::describe_time_to_live::DescribeTimeToLiveError,
    op::tag_resource::TagResourceError,
    op::untag_resource::UntagResourceError,
    op::list_tags_of_resource::ListTagsOfResourceError
);

macro_rules! condition_errors {
    ($($error:ident in $module:ident),*) => {$(
        impl ServiceDetail for op::$module::$error {
            fn take_condition_item(&mut self) -> Option<Item> {
                match self {
                    op::$module::$error::ConditionalCheckFailedException(e) => e.item.take(),
                    _ => None,
                }
            }
        }
    )*};
}
condition_errors!(
    PutItemError in put_item,
    UpdateItemError in update_item,
    DeleteItemError in delete_item,
    ExecuteStatementError in execute_statement
);

macro_rules! cancellation_errors {
    ($($error:ident in $module:ident),*) => {$(
        impl ServiceDetail for op::$module::$error {
            fn take_cancellation_reasons(&mut self) -> Option<Vec<CancellationReason>> {
                match self {
                    op::$module::$error::TransactionCanceledException(e) => Some(
                        e.cancellation_reasons
                            .take()
                            .unwrap_or_default()
                            .into_iter()
                            .enumerate()
                            .map(|(i, r)| CancellationReason::from_sdk(i, r))
                            .collect(),
                    ),
                    _ => None,
                }
            }
        }
    )*};
}
cancellation_errors!(
    TransactWriteItemsError in transact_write_items,
    TransactGetItemsError in transact_get_items,
    ExecuteTransactionError in execute_transaction
);

/// The innermost service: sends a request with the AWS SDK.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dispatch;

impl tower::Service<Request> for Dispatch {
    type Response = Response;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // One span per attempt, a child of the request's span (`observe`).
        let span = tracing::debug_span!(
            target: "dynox",
            "dynamodb.attempt",
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            rpc.method = request.operation_name(),
            dynox.attempt = tracing::field::Empty,
            aws.request_id = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        dispatch(request, span)
    }
}

/// The client's service stack, boxed so layers can be added without changing the client's type.
pub(crate) type Stack = tower::util::BoxCloneSyncService<Request, Response, Error>;
