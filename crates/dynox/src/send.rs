//! The one place where requests leave dynox.
//!
//! Every operation builds the SDK's fluent builder for its request, wraps it in a [`Request`] and
//! hands it to [`Client::send`](crate::Client). The request then passes the client's tower
//! service stack, whose innermost service ([`Dispatch`]) is the only code that calls the AWS SDK's
//! `send()`. Middleware (retries, rate limits, metrics, timeouts) wraps that stack, so nothing can
//! bypass it.

use crate::Item;
use crate::error::{ConditionItem, Error, Result, from_sdk};
use aws_sdk_dynamodb::operation::{
    create_table::{CreateTableError, CreateTableOutput, builders::CreateTableFluentBuilder},
    delete_item::{DeleteItemError, DeleteItemOutput, builders::DeleteItemFluentBuilder},
    delete_table::{DeleteTableError, DeleteTableOutput, builders::DeleteTableFluentBuilder},
    describe_table::{
        DescribeTableError, DescribeTableOutput, builders::DescribeTableFluentBuilder,
    },
    get_item::{GetItemError, GetItemOutput, builders::GetItemFluentBuilder},
    put_item::{PutItemError, PutItemOutput, builders::PutItemFluentBuilder},
    update_item::{UpdateItemError, UpdateItemOutput, builders::UpdateItemFluentBuilder},
};
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
    ($($variant:ident($builder:ty) -> $output:ty;)*) => {
        /// A request on its way out: the SDK builder of one DynamoDB operation.
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum Request {
            $(
                #[doc = concat!("`", stringify!($variant), "`")]
                $variant($builder),
            )*
        }

        /// The answer to a [`Request`].
        #[derive(Debug)]
        #[non_exhaustive]
        pub enum Response {
            $(
                #[doc = concat!("`", stringify!($variant), "`")]
                $variant($output),
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

        async fn dispatch(request: Request) -> Result<Response> {
            match request {
                $(Request::$variant(b) => b.send().await.map(Response::$variant).map_err(from_sdk),)*
            }
        }

        $(
            impl Operation for $builder {
                type Output = $output;
                fn into_request(self) -> Request {
                    Request::$variant(self)
                }
                fn from_response(response: Response) -> Result<$output> {
                    match response {
                        Response::$variant(o) => Ok(o),
                        #[allow(unreachable_patterns)]
                        other => Err(mismatch(stringify!($variant), other.operation_name())),
                    }
                }
            }
        )*
    };
}

operations! {
    GetItem(GetItemFluentBuilder) -> GetItemOutput;
    PutItem(PutItemFluentBuilder) -> PutItemOutput;
    UpdateItem(UpdateItemFluentBuilder) -> UpdateItemOutput;
    DeleteItem(DeleteItemFluentBuilder) -> DeleteItemOutput;
    CreateTable(CreateTableFluentBuilder) -> CreateTableOutput;
    DescribeTable(DescribeTableFluentBuilder) -> DescribeTableOutput;
    DeleteTable(DeleteTableFluentBuilder) -> DeleteTableOutput;
}

fn mismatch(expected: &str, got: &str) -> Error {
    Error::Transport {
        message: format!("a middleware answered a {expected} request with a {got} response"),
        source: "send path mismatch".into(),
    }
}

impl ConditionItem for GetItemError {}
impl ConditionItem for CreateTableError {}
impl ConditionItem for DescribeTableError {}
impl ConditionItem for DeleteTableError {}

macro_rules! condition_item {
    ($($error:ident),*) => {$(
        impl ConditionItem for $error {
            fn take_condition_item(&mut self) -> Option<Item> {
                match self {
                    $error::ConditionalCheckFailedException(e) => e.item.take(),
                    _ => None,
                }
            }
        }
    )*};
}
condition_item!(PutItemError, UpdateItemError, DeleteItemError);

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
        let span = tracing::debug_span!(
            "dynamodb",
            db.system = "dynamodb",
            db.operation = request.operation_name()
        );
        Box::pin(dispatch(request).instrument(span))
    }
}

/// The client's service stack, boxed so layers can be added without changing the client's type.
pub(crate) type Stack = tower::util::BoxCloneSyncService<Request, Response, Error>;
