//! Logical table names to deployed ones, on the send path.
//!
//! Models and the policy export speak logical names (`users`); a deployment may call the table
//! `prod-users`. With a [`Mapping`] set ([`Client::with_mapping`](crate::Client::with_mapping)),
//! this layer renames the table in every request (PartiQL statements included) and maps names in
//! answers (batch results, unprocessed work, consumed capacity, table descriptions, table lists)
//! back, so the rest of dynox, and the caller, never see the difference. The exported policy
//! applies the same mapping, so the tables that are called are the tables the policy names.

use crate::error::{Error, Result};
use crate::send::{Request, Response};
use aws_sdk_dynamodb::types::{ConsumedCapacity, TableDescription};
use dynox_iam::Mapping;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The tower service that renames tables around the service it wraps.
#[derive(Clone, Debug)]
pub(crate) struct Rename<S> {
    mapping: Arc<Mapping>,
    /// Why the mapping cannot be used, if it is invalid: every request then fails with it.
    invalid: Option<Arc<str>>,
    inner: S,
}

impl<S> Rename<S> {
    pub(crate) fn new(mapping: Arc<Mapping>, inner: S) -> Self {
        let invalid = mapping.validate().err().map(|e| e.to_string().into());
        Rename {
            mapping,
            invalid,
            inner,
        }
    }
}

impl<S> tower::Service<Request> for Rename<S>
where
    S: tower::Service<Request, Response = Response, Error = Error>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if let Some(why) = &self.invalid {
            return Box::pin(std::future::ready(Err(Error::validation(why.to_string()))));
        }
        let mapping = self.mapping.clone();
        let request = match outgoing(request, &mapping) {
            Ok(r) => r,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let sent = self.inner.call(request);
        Box::pin(async move {
            let response = sent.await?;
            Ok(incoming(response, &mapping))
        })
    }
}

fn rekey<V>(
    map: Option<HashMap<String, V>>,
    f: impl Fn(&str) -> String,
) -> Option<HashMap<String, V>> {
    map.map(|m| m.into_iter().map(|(k, v)| (f(&k), v)).collect())
}

/// Renames the tables of a batch request; two tables that would become one are refused, since
/// one of their work lists would be lost.
fn rekey_request<V>(
    map: Option<HashMap<String, V>>,
    m: &Mapping,
) -> Result<Option<HashMap<String, V>>> {
    let Some(map) = map else { return Ok(None) };
    let mut out = HashMap::with_capacity(map.len());
    for (logical, work) in map {
        let physical = m.table(&logical).into_owned();
        if out.insert(physical.clone(), work).is_some() {
            return Err(Error::validation(format!(
                "two tables of this batch map to `{physical}`: fix the table mapping"
            )));
        }
    }
    Ok(Some(out))
}

/// A statement with its table renamed. A statement whose table cannot be found is refused: sent
/// as it is, it would reach the logical table's name in the deployed account.
fn statement(text: &str, m: &Mapping) -> Result<String> {
    dynox_iam::statement::locate(text)
        .and_then(|found| dynox_iam::statement::with_table(text, &m.table(&found.table)))
        .ok_or_else(|| {
            Error::validation(format!(
                "cannot find the table of this statement to apply the table mapping: {text}"
            ))
        })
}

/// The request with logical names replaced by deployed ones.
fn outgoing(request: Request, m: &Mapping) -> Result<Request> {
    let to = |name: &Option<String>| name.as_deref().map(|n| m.table(n).into_owned());
    let to_str = |name: &str| m.table(name).into_owned();
    macro_rules! table_name {
        ($($variant:ident),*) => {
            Ok(match request {
                $(Request::$variant(b) => {
                    let name = to(b.get_table_name());
                    Request::$variant(Box::new(b.set_table_name(name)))
                })*
                Request::BatchGetItem(b) => {
                    let items = rekey_request(b.get_request_items().clone(), m)?;
                    Request::BatchGetItem(Box::new(b.set_request_items(items)))
                }
                Request::BatchWriteItem(b) => {
                    let items = rekey_request(b.get_request_items().clone(), m)?;
                    Request::BatchWriteItem(Box::new(b.set_request_items(items)))
                }
                Request::TransactWriteItems(b) => {
                    let mut items = b.get_transact_items().clone();
                    for item in items.iter_mut().flatten() {
                        if let Some(p) = &mut item.put {
                            p.table_name = to_str(&p.table_name);
                        }
                        if let Some(u) = &mut item.update {
                            u.table_name = to_str(&u.table_name);
                        }
                        if let Some(d) = &mut item.delete {
                            d.table_name = to_str(&d.table_name);
                        }
                        if let Some(c) = &mut item.condition_check {
                            c.table_name = to_str(&c.table_name);
                        }
                    }
                    Request::TransactWriteItems(Box::new(b.set_transact_items(items)))
                }
                Request::TransactGetItems(b) => {
                    let mut items = b.get_transact_items().clone();
                    for g in items.iter_mut().flatten().filter_map(|i| i.get.as_mut()) {
                        g.table_name = to_str(&g.table_name);
                    }
                    Request::TransactGetItems(Box::new(b.set_transact_items(items)))
                }
                Request::ExecuteStatement(b) => {
                    let text = b.get_statement().as_deref().map(|s| statement(s, m)).transpose()?;
                    Request::ExecuteStatement(Box::new(b.set_statement(text)))
                }
                Request::BatchExecuteStatement(b) => {
                    let mut all = b.get_statements().clone();
                    for s in all.iter_mut().flatten() {
                        s.statement = statement(&s.statement, m)?;
                    }
                    Request::BatchExecuteStatement(Box::new(b.set_statements(all)))
                }
                Request::ExecuteTransaction(b) => {
                    let mut all = b.get_transact_statements().clone();
                    for s in all.iter_mut().flatten() {
                        s.statement = statement(&s.statement, m)?;
                    }
                    Request::ExecuteTransaction(Box::new(b.set_transact_statements(all)))
                }
                // The page cursor of ListTables stays a deployed name in both directions.
                // Tags are addressed by the table's ARN, which already names the deployed table.
                other @ (Request::ListTables(_)
                | Request::TagResource(_)
                | Request::UntagResource(_)
                | Request::ListTagsOfResource(_)) => other,
            })
        };
    }
    table_name!(
        GetItem,
        PutItem,
        UpdateItem,
        DeleteItem,
        Query,
        Scan,
        SearchVectors,
        CreateTable,
        DescribeTable,
        UpdateTable,
        DeleteTable,
        UpdateTimeToLive,
        DescribeTimeToLive
    )
}

fn back_capacity(c: &mut ConsumedCapacity, m: &Mapping) {
    if let Some(t) = &mut c.table_name {
        *t = m.logical_table(t).into_owned();
    }
}

fn back_description(d: Option<&mut TableDescription>, m: &Mapping) {
    if let Some(t) = d.and_then(|d| d.table_name.as_mut()) {
        *t = m.logical_table(t).into_owned();
    }
}

/// The answer with deployed names replaced by logical ones.
fn incoming(response: Response, m: &Mapping) -> Response {
    let back = |name: &str| m.logical_table(name).into_owned();
    let one = |c: &mut Option<ConsumedCapacity>| {
        if let Some(c) = c {
            back_capacity(c, m);
        }
    };
    let many = |c: &mut Option<Vec<ConsumedCapacity>>| {
        for c in c.iter_mut().flatten() {
            back_capacity(c, m);
        }
    };
    match response {
        Response::GetItem(mut o) => {
            one(&mut o.consumed_capacity);
            Response::GetItem(o)
        }
        Response::PutItem(mut o) => {
            one(&mut o.consumed_capacity);
            Response::PutItem(o)
        }
        Response::UpdateItem(mut o) => {
            one(&mut o.consumed_capacity);
            Response::UpdateItem(o)
        }
        Response::DeleteItem(mut o) => {
            one(&mut o.consumed_capacity);
            Response::DeleteItem(o)
        }
        Response::Query(mut o) => {
            one(&mut o.consumed_capacity);
            Response::Query(o)
        }
        Response::Scan(mut o) => {
            one(&mut o.consumed_capacity);
            Response::Scan(o)
        }
        Response::ExecuteStatement(mut o) => {
            one(&mut o.consumed_capacity);
            Response::ExecuteStatement(o)
        }
        Response::BatchGetItem(mut o) => {
            o.responses = rekey(o.responses, back);
            o.unprocessed_keys = rekey(o.unprocessed_keys, back);
            many(&mut o.consumed_capacity);
            Response::BatchGetItem(o)
        }
        Response::BatchWriteItem(mut o) => {
            o.unprocessed_items = rekey(o.unprocessed_items, back);
            o.item_collection_metrics = rekey(o.item_collection_metrics, back);
            many(&mut o.consumed_capacity);
            Response::BatchWriteItem(o)
        }
        Response::TransactWriteItems(mut o) => {
            o.item_collection_metrics = rekey(o.item_collection_metrics, back);
            many(&mut o.consumed_capacity);
            Response::TransactWriteItems(o)
        }
        Response::TransactGetItems(mut o) => {
            many(&mut o.consumed_capacity);
            Response::TransactGetItems(o)
        }
        Response::BatchExecuteStatement(mut o) => {
            for r in o.responses.iter_mut().flatten() {
                if let Some(t) = &mut r.table_name {
                    *t = back(t);
                }
            }
            many(&mut o.consumed_capacity);
            Response::BatchExecuteStatement(o)
        }
        Response::ExecuteTransaction(mut o) => {
            many(&mut o.consumed_capacity);
            Response::ExecuteTransaction(o)
        }
        Response::CreateTable(mut o) => {
            back_description(o.table_description.as_mut(), m);
            Response::CreateTable(o)
        }
        Response::DescribeTable(mut o) => {
            back_description(o.table.as_mut(), m);
            Response::DescribeTable(o)
        }
        Response::UpdateTable(mut o) => {
            back_description(o.table_description.as_mut(), m);
            Response::UpdateTable(o)
        }
        Response::DeleteTable(mut o) => {
            back_description(o.table_description.as_mut(), m);
            Response::DeleteTable(o)
        }
        Response::ListTables(mut o) => {
            // Only the mapping's own tables are listed, under their logical names: any other
            // name would be renamed again when used, and reach a different table.
            if let Some(names) = &mut o.table_names {
                names.retain(|n| m.table(&m.logical_table(n)) == n.as_str());
                for n in names.iter_mut() {
                    *n = back(n);
                }
            }
            Response::ListTables(o)
        }
        other => other,
    }
}
