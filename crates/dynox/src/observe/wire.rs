//! What the wire said about an attempt, read by an SDK interceptor: the request and answer
//! sizes, the HTTP status and DynamoDB's request id (`x-amzn-RequestId`). It runs inside the
//! attempt's future, so it finds the request's tally (task-local) without any lookup.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::atomic::Ordering;

/// The interceptor every dynox SDK client carries.
#[derive(Debug, Default)]
pub(crate) struct Wire;

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "dynox::observe::wire"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body();
        let size = body
            .content_length()
            .or_else(|| body.bytes().map(|b| b.len() as u64))
            .unwrap_or(0);
        super::with_tally(|t| {
            t.bytes_sent.fetch_add(size, Ordering::Relaxed);
        });
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let headers = response.headers();
        let size = headers
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .or_else(|| response.body().bytes().map(|b| b.len() as u64))
            .unwrap_or(0);
        let id = headers
            .get("x-amzn-requestid")
            .or_else(|| headers.get("x-amz-request-id"))
            .map(str::to_owned);
        let status = response.status().as_u16();
        super::with_tally(|t| {
            t.bytes_received.fetch_add(size, Ordering::Relaxed);
            *t.answer.lock().expect("tally lock") = Some((id, status));
        });
        Ok(())
    }
}
