//! PartiQL: statements, batches of statements, and statement transactions.
//!
//! IAM authorizes PartiQL by verb (`PartiQLSelect`, `PartiQLInsert`, `PartiQLUpdate`,
//! `PartiQLDelete`) on the table, or the index for a SELECT on one. [`partiql!`](crate::partiql!)
//! reads a literal statement at compile time, so the verb and table are in the binary and the
//! marker is exact. A statement known only at run time ([`Client::execute_dynamic`]) marks all
//! four verbs on a table named at run time, which the policy exporter reports.

use crate::attr::IntoAttributeValue;
use crate::capacity::Capacity;
use crate::error::{Error, Result};
use crate::model::FromItem;
use crate::{AttributeValue, Client, Item};
use aws_sdk_dynamodb::types::{
    BatchStatementRequest, ConsumedCapacity, ParameterizedStatement,
    ReturnValuesOnConditionCheckFailure,
};
use dynox_iam::{ResourceRef, actions::dynamodb, mark};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use std::marker::PhantomData;

/// The verb of a statement, which decides its IAM action (`SELECT` is `dynamodb:PartiQLSelect`,
/// ...).
pub use dynox_iam::statement::Verb;

/// A statement whose verb and table are known at compile time. Made by
/// [`partiql!`](crate::partiql!). A hand-written one is trusted for its table and index (the
/// policy follows them) and checked at run time only for its verb and parameter count.
pub trait Statement: Copy + Send + Sync + 'static {
    /// The verb.
    const VERB: Verb;
    /// The table.
    const TABLE: &'static str;
    /// The index, for a SELECT on one.
    const INDEX: Option<&'static str>;
    /// The statement text.
    const TEXT: &'static str;
    /// A short form of the text, for permission explanations.
    const LABEL: &'static str;
    /// How many `?` parameters the text has.
    const PARAMETERS: usize;
}

/// The resource a statement is authorized on.
pub const fn statement_resource<S: Statement>() -> ResourceRef<'static> {
    match S::INDEX {
        Some(index) => ResourceRef::Index {
            table: S::TABLE,
            index,
        },
        None => ResourceRef::Table(S::TABLE),
    }
}

/// How a statement's permission is declared: from its constants, or (for run-time text) all
/// four verbs on an unknown table.
pub trait Marked: Send + Sync + 'static {
    /// Places the permission markers; called where the request is built.
    fn mark();
    /// Checks `text` against what the markers declared.
    fn check(text: &str, params: usize) -> Result<()>;
}

impl<S: Statement> Marked for S {
    fn mark() {
        mark!(
            S::VERB.action(),
            statement_resource::<S>(),
            "execute_statement",
            S::LABEL
        );
    }

    fn check(text: &str, params: usize) -> Result<()> {
        // The reader `partiql!` used at compile time: the text must still say what the
        // markers declared, or the exported policy would grant the wrong thing.
        let found = dynox_iam::statement::read(text)
            .map_err(|e| Error::validation(format!("the statement cannot be read: {e}")))?;
        if found.verb != S::VERB || found.table != S::TABLE || found.index.as_deref() != S::INDEX {
            return Err(Error::validation(format!(
                "the statement declares {:?} on {}{} but its text is {:?} on {}{}",
                S::VERB,
                S::TABLE,
                S::INDEX.map(|i| format!(".{i}")).unwrap_or_default(),
                found.verb,
                found.table,
                found.index.map(|i| format!(".{i}")).unwrap_or_default(),
            )));
        }
        if params != S::PARAMETERS {
            return Err(Error::validation(format!(
                "the statement takes {} parameter(s), {params} given",
                S::PARAMETERS
            )));
        }
        Ok(())
    }
}

/// A statement known only at run time.
#[derive(Clone, Copy, Debug)]
pub struct Dynamic;

impl Marked for Dynamic {
    fn mark() {
        mark!(
            dynamodb::PARTIQL_SELECT,
            ResourceRef::RuntimeTable,
            "execute_dynamic",
            ""
        );
        mark!(
            dynamodb::PARTIQL_INSERT,
            ResourceRef::RuntimeTable,
            "execute_dynamic",
            ""
        );
        mark!(
            dynamodb::PARTIQL_UPDATE,
            ResourceRef::RuntimeTable,
            "execute_dynamic",
            ""
        );
        mark!(
            dynamodb::PARTIQL_DELETE,
            ResourceRef::RuntimeTable,
            "execute_dynamic",
            ""
        );
    }

    fn check(text: &str, _params: usize) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::validation("an empty statement"));
        }
        Ok(())
    }
}

type Param = Result<AttributeValue>;

fn param(v: impl IntoAttributeValue) -> Param {
    v.into_attribute_value()
        .map_err(|e| Error::validation(format!("statement parameter: {e}")))
}

fn params(list: Vec<Param>) -> Result<Option<Vec<AttributeValue>>> {
    let list: Vec<AttributeValue> = list.into_iter().collect::<Result<_>>()?;
    Ok((!list.is_empty()).then_some(list))
}

impl Client {
    /// Runs a statement made by [`partiql!`](crate::partiql!).
    ///
    /// ```no_run
    /// # async fn f(client: dynox::Client) -> dynox::Result<()> {
    /// use futures::TryStreamExt;
    /// let rows: Vec<dynox::Item> = client
    ///     .execute(dynox::partiql!(r#"SELECT * FROM "users" WHERE id = ?"#))
    ///     .param("u1")
    ///     .items()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn execute<S: Statement>(&self, _statement: S) -> Execute<S> {
        Execute::new(self, S::TEXT.to_owned())
    }

    /// Runs a statement known only at run time. Its permissions cannot be exact: all four
    /// PartiQL actions on a table named at run time, which the policy exporter reports.
    pub fn execute_dynamic(&self, text: impl Into<String>) -> Execute<Dynamic> {
        Execute::new(self, text.into())
    }

    /// Up to 25 statements in one request, each succeeding or failing on its own.
    pub fn batch_execute(&self) -> BatchExecute<'_> {
        BatchExecute {
            client: self,
            statements: Vec::new(),
            error: None,
        }
    }

    /// Up to 100 statements applied all or nothing.
    pub fn execute_transaction(&self) -> ExecuteTransaction<'_> {
        ExecuteTransaction {
            client: self,
            statements: Vec::new(),
            error: None,
            token: None,
        }
    }
}

/// A pending statement: see [`Client::execute`].
#[must_use = "a statement does nothing until it is run"]
pub struct Execute<S: Marked> {
    client: Client,
    text: String,
    params: Vec<Param>,
    consistent: bool,
    page_size: Option<i32>,
    old_on_failure: bool,
    capacity: Option<Capacity>,
    _s: PhantomData<fn() -> S>,
}

impl<S: Marked> std::fmt::Debug for Execute<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execute")
            .field("statement", &self.text)
            .field("parameters", &self.params.len())
            .finish_non_exhaustive()
    }
}

/// One page of a statement's results.
#[derive(Debug)]
pub struct StatementPage<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The capacity it consumed, when asked for.
    pub consumed_capacity: Option<ConsumedCapacity>,
}

impl<S: Marked> Execute<S> {
    fn new(client: &Client, text: String) -> Self {
        Execute {
            client: client.clone(),
            text,
            params: Vec::new(),
            consistent: false,
            page_size: None,
            old_on_failure: false,
            capacity: None,
            _s: PhantomData,
        }
    }

    /// Binds the next `?`.
    pub fn param(mut self, value: impl IntoAttributeValue) -> Self {
        self.params.push(param(value));
        self
    }

    /// Strongly consistent reads (SELECT).
    pub fn consistent_read(mut self, consistent: bool) -> Self {
        self.consistent = consistent;
        self
    }

    /// Items evaluated per request (SELECT).
    pub fn page_size(mut self, n: i32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// On a failed condition (UPDATE, DELETE), the error carries the old item.
    pub fn return_old_on_condition_failure(mut self) -> Self {
        self.old_on_failure = true;
        self
    }

    /// Reports consumed capacity.
    pub fn return_consumed_capacity(mut self, which: Capacity) -> Self {
        self.capacity = Some(which);
        self
    }

    /// The result pages, items decoded as `T`.
    pub fn pages_as<T: FromItem + Send + 'static>(
        self,
    ) -> BoxStream<'static, Result<StatementPage<T>>> {
        S::mark();
        if let Err(e) = S::check(&self.text, self.params.len()) {
            return stream::once(async { Err(e) }).boxed();
        }
        let parameters = match params(self.params) {
            Ok(p) => p,
            Err(e) => return stream::once(async { Err(e) }).boxed(),
        };
        let base = self
            .client
            .sdk()
            .execute_statement()
            .statement(self.text)
            .set_parameters(parameters)
            .consistent_read(self.consistent)
            .set_limit(self.page_size)
            .set_return_consumed_capacity(self.capacity.map(Capacity::to_sdk))
            .set_return_values_on_condition_check_failure(
                self.old_on_failure
                    .then_some(ReturnValuesOnConditionCheckFailure::AllOld),
            );
        let client = self.client;
        stream::try_unfold(Some(None), move |next: Option<Option<String>>| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let Some(token) = next else { return Ok(None) };
                let out = client.send(base.set_next_token(token)).await?;
                let items = out
                    .items
                    .unwrap_or_default()
                    .into_iter()
                    .map(T::from_item)
                    .collect::<Result<Vec<T>>>()?;
                let following = out.next_token.map(Some);
                Ok(Some((
                    StatementPage {
                        items,
                        consumed_capacity: out.consumed_capacity,
                    },
                    following,
                )))
            }
        })
        .boxed()
    }

    /// The result items, raw.
    pub fn items(self) -> BoxStream<'static, Result<Item>> {
        self.items_as::<Item>()
    }

    /// The result items decoded as `T`.
    pub fn items_as<T: FromItem + Send + 'static>(self) -> BoxStream<'static, Result<T>> {
        self.pages_as::<T>()
            .map_ok(|p| stream::iter(p.items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// The result pages, raw.
    pub fn pages(self) -> BoxStream<'static, Result<StatementPage<Item>>> {
        self.pages_as::<Item>()
    }

    /// Collects every result item, raw. Prefer [`items`](Self::items) for large results.
    pub async fn all(self) -> Result<Vec<Item>> {
        self.all_as::<Item>().await
    }

    /// Collects every result item decoded as `T`.
    pub async fn all_as<T: FromItem + Send + 'static>(self) -> Result<Vec<T>> {
        self.items_as::<T>().try_collect().await
    }

    /// Runs the statement and discards any items (INSERT, UPDATE, DELETE).
    pub async fn send(self) -> Result<()> {
        self.pages_as::<Item>()
            .try_for_each(|_| async { Ok(()) })
            .await
    }
}

fn member<S: Marked>(
    text: &str,
    list: Vec<Param>,
) -> Result<(String, Option<Vec<AttributeValue>>)> {
    S::check(text, list.len())?;
    Ok((text.to_owned(), params(list)?))
}

/// A pending batch of statements: see [`Client::batch_execute`].
#[must_use = "a request does nothing until it is sent"]
pub struct BatchExecute<'c> {
    client: &'c Client,
    statements: Vec<BatchStatementRequest>,
    error: Option<Error>,
}

impl std::fmt::Debug for BatchExecute<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchExecute")
            .field("statements", &self.statements.len())
            .finish_non_exhaustive()
    }
}

/// The outcome of one statement of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementResult {
    /// It succeeded; a SELECT returns its item.
    Ok(Option<Item>),
    /// It failed on its own.
    Failed {
        /// The error code (`ConditionalCheckFailed`, `DuplicateItem`, ...).
        code: String,
        /// The message.
        message: Option<String>,
        /// The item as it was, for a failed condition when asked.
        old_item: Option<Item>,
    },
}

impl<'c> BatchExecute<'c> {
    /// Adds a statement with its parameters.
    pub fn statement<S: Statement>(
        mut self,
        _statement: S,
        parameters: impl IntoIterator<Item = AttributeValue>,
    ) -> Self {
        S::mark();
        let list = parameters.into_iter().map(Ok).collect();
        match member::<S>(S::TEXT, list).and_then(|(text, parameters)| {
            BatchStatementRequest::builder()
                .statement(text)
                .set_parameters(parameters)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(|e| Error::validation(e.to_string()))
        }) {
            Ok(s) => self.statements.push(s),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Sends the batch; one result per statement, in order.
    pub async fn send(self) -> Result<Vec<StatementResult>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.statements.is_empty() || self.statements.len() > 25 {
            return Err(Error::validation(format!(
                "a statement batch has 1 to 25 statements, not {}",
                self.statements.len()
            )));
        }
        let req = self
            .client
            .sdk()
            .batch_execute_statement()
            .set_statements(Some(self.statements));
        let out = self.client.send(req).await?;
        Ok(out
            .responses
            .unwrap_or_default()
            .into_iter()
            .map(|r| match r.error {
                Some(e) => StatementResult::Failed {
                    code: e.code.map(|c| c.as_str().to_owned()).unwrap_or_default(),
                    message: e.message,
                    old_item: e.item.filter(|i| !i.is_empty()),
                },
                None => StatementResult::Ok(r.item.filter(|i| !i.is_empty())),
            })
            .collect())
    }
}

/// A pending statement transaction: see [`Client::execute_transaction`].
#[must_use = "a request does nothing until it is sent"]
pub struct ExecuteTransaction<'c> {
    client: &'c Client,
    statements: Vec<ParameterizedStatement>,
    error: Option<Error>,
    token: Option<String>,
}

impl std::fmt::Debug for ExecuteTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecuteTransaction")
            .field("statements", &self.statements.len())
            .finish_non_exhaustive()
    }
}

impl<'c> ExecuteTransaction<'c> {
    /// Adds a statement with its parameters.
    pub fn statement<S: Statement>(
        mut self,
        _statement: S,
        parameters: impl IntoIterator<Item = AttributeValue>,
    ) -> Self {
        S::mark();
        let list = parameters.into_iter().map(Ok).collect();
        match member::<S>(S::TEXT, list).and_then(|(text, parameters)| {
            ParameterizedStatement::builder()
                .statement(text)
                .set_parameters(parameters)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(|e| Error::validation(e.to_string()))
        }) {
            Ok(s) => self.statements.push(s),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// The idempotency token (generated when not given).
    pub fn client_request_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Sends the transaction; SELECT statements return their items, in order. A cancelled one
    /// is [`Error::TransactionCancelled`] with a reason per statement.
    pub async fn send(self) -> Result<Vec<Option<Item>>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let token = crate::transaction::checked_token(
            "statement transaction",
            self.statements.len(),
            self.token,
        )?;
        let req = self
            .client
            .sdk()
            .execute_transaction()
            .set_transact_statements(Some(self.statements))
            .client_request_token(&token);
        let out = self
            .client
            .send(req)
            .await
            .map_err(|e| crate::transaction::with_token(e, &token))?;
        Ok(out
            .responses
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.item.filter(|i| !i.is_empty()))
            .collect())
    }
}

crate::pending::awaitable!([<S: Marked + 'static>] Execute<S> => (), 'static);

crate::pending::awaitable!([<'c>] BatchExecute<'c> => Vec<StatementResult>, 'c);

crate::pending::awaitable!([<'c>] ExecuteTransaction<'c> => Vec<Option<Item>>, 'c);
