//! Transactions: all-or-nothing writes (put, update, delete, condition check on any mix of
//! models) and consistent multi-item reads.
//!
//! IAM authorizes a transaction per member: each member marks the item action it performs on
//! its own table (`PutItem`, `UpdateItem`, `DeleteItem`, `ConditionCheckItem`, `GetItem`). There
//! is no `TransactWriteItems` permission, and none is ever emitted.

use crate::capacity::Capacity;
use crate::error::{Error, Result};
use crate::expr::{Condition, Placeholders, UpdateAction, update_render};
use crate::model::{FromItem, Model, ModelKey};
use crate::{Client, Item};
use aws_sdk_dynamodb::types::{
    ConditionCheck, ConsumedCapacity, Delete, Get, Put, ReturnValuesOnConditionCheckFailure,
    TransactGetItem, TransactWriteItem, Update,
};
use dynox_iam::{ResourceRef, actions::dynamodb, mark};
use std::collections::HashSet;
use std::marker::PhantomData;

/// DynamoDB's limit of members per transaction.
pub const MAX_MEMBERS: usize = 100;

/// A transaction's size and idempotency token, checked: `count` members (1 to 100), and the
/// given token or a generated UUID (1 to 36 characters).
pub(crate) fn checked_token(what: &str, count: usize, token: Option<String>) -> Result<String> {
    if count == 0 || count > MAX_MEMBERS {
        return Err(Error::validation(format!(
            "a {what} has 1 to {MAX_MEMBERS} members, not {count}"
        )));
    }
    let token = token.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if token.is_empty() || token.len() > 36 {
        return Err(Error::validation(
            "a client request token has 1 to 36 characters",
        ));
    }
    Ok(token)
}

fn on_failure(asked: bool) -> Option<ReturnValuesOnConditionCheckFailure> {
    asked.then_some(ReturnValuesOnConditionCheckFailure::AllOld)
}

fn key_exists<M: Model>(exists: bool) -> Condition {
    let pk = crate::expr::Path::<crate::AttributeValue>::new(M::PARTITION_KEY.name);
    if exists { pk.exists() } else { pk.not_exists() }
}

fn and(prev: Option<Condition>, c: Condition) -> Option<Condition> {
    Some(match prev {
        Some(p) => p & c,
        None => c,
    })
}

/// `condition` for a member type with a `condition` field.
macro_rules! member_condition {
    () => {
        /// Only if `condition` holds.
        pub fn condition(mut self, condition: Condition) -> Self {
            self.condition = and(self.condition, condition);
            self
        }
    };
}

/// `return_old_on_condition_failure` for a member type.
macro_rules! member_old_item {
    () => {
        /// On a failed condition, the cancellation reason carries the old item.
        pub fn return_old_on_condition_failure(mut self) -> Self {
            self.old_on_failure = true;
            self
        }
    };
}

fn bad(e: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::validation(e.to_string())
}

/// A put member: see [`TransactWrite::put`].
#[derive(Debug)]
pub struct TxPut<'a, M: Model> {
    item: &'a M,
    condition: Option<Condition>,
    old_on_failure: bool,
}

impl<'a, M: Model> TxPut<'a, M> {
    /// Puts `item`.
    pub fn new(item: &'a M) -> Self {
        TxPut {
            item,
            condition: None,
            old_on_failure: false,
        }
    }
    member_condition!();
    /// Only if no item with this key exists.
    pub fn if_not_exists(self) -> Self {
        self.condition(key_exists::<M>(false))
    }
    member_old_item!();
}

/// An update member: see [`TransactWrite::update`].
pub struct TxUpdate<M: Model> {
    key: M::Key,
    actions: Vec<UpdateAction>,
    condition: Option<Condition>,
    old_on_failure: bool,
}

impl<M: Model> std::fmt::Debug for TxUpdate<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxUpdate")
            .field("table", &M::TABLE)
            .field("actions", &self.actions)
            .finish_non_exhaustive()
    }
}

impl<M: Model> TxUpdate<M> {
    /// Updates the item with `key`.
    pub fn new(key: M::Key) -> Self {
        TxUpdate {
            key,
            actions: Vec::new(),
            condition: None,
            old_on_failure: false,
        }
    }
    /// Adds an action.
    pub fn action(mut self, action: UpdateAction) -> Self {
        self.actions.push(action);
        self
    }
    /// Adds actions.
    pub fn actions(mut self, actions: impl IntoIterator<Item = UpdateAction>) -> Self {
        self.actions.extend(actions);
        self
    }
    member_condition!();
    /// Only if the item exists.
    pub fn if_exists(self) -> Self {
        self.condition(key_exists::<M>(true))
    }
    member_old_item!();
}

/// A delete member: see [`TransactWrite::delete`].
pub struct TxDelete<M: Model> {
    key: M::Key,
    condition: Option<Condition>,
    old_on_failure: bool,
}

impl<M: Model> std::fmt::Debug for TxDelete<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxDelete")
            .field("table", &M::TABLE)
            .finish_non_exhaustive()
    }
}

impl<M: Model> TxDelete<M> {
    /// Deletes the item with `key`.
    pub fn new(key: M::Key) -> Self {
        TxDelete {
            key,
            condition: None,
            old_on_failure: false,
        }
    }
    member_condition!();
    /// Only if the item exists.
    pub fn if_exists(self) -> Self {
        self.condition(key_exists::<M>(true))
    }
    member_old_item!();
}

/// A condition-check member: the transaction applies only if `condition` holds on an item it
/// does not change. See [`TransactWrite::check`].
pub struct TxCheck<M: Model> {
    key: M::Key,
    condition: Condition,
    old_on_failure: bool,
}

impl<M: Model> std::fmt::Debug for TxCheck<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxCheck")
            .field("table", &M::TABLE)
            .finish_non_exhaustive()
    }
}

impl<M: Model> TxCheck<M> {
    /// Checks `condition` on the item with `key`.
    pub fn new(key: M::Key, condition: Condition) -> Self {
        TxCheck {
            key,
            condition,
            old_on_failure: false,
        }
    }
    member_old_item!();
}

impl Client {
    /// An all-or-nothing write of up to 100 members.
    pub fn transact_write(&self) -> TransactWrite<'_> {
        TransactWrite {
            client: self,
            members: Vec::new(),
            seen: HashSet::new(),
            error: None,
            token: None,
            capacity: None,
        }
    }

    /// A consistent read of up to 100 items, across tables.
    pub fn transact_get(&self) -> TransactGet<'_> {
        TransactGet {
            client: self,
            members: Vec::new(),
            error: None,
        }
    }
}

/// A pending transactional write: see [`Client::transact_write`].
#[must_use = "a request does nothing until it is sent"]
pub struct TransactWrite<'c> {
    client: &'c Client,
    members: Vec<TransactWriteItem>,
    seen: HashSet<(String, String)>,
    error: Option<Error>,
    token: Option<String>,
    capacity: Option<Capacity>,
}

impl std::fmt::Debug for TransactWrite<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactWrite")
            .field("members", &self.members.len())
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// A stable text form of a key, to find an item named twice.
fn key_text(key: &Item) -> String {
    let mut parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    parts.sort();
    parts.join(",")
}

struct Rendered {
    condition: Option<String>,
    update: Option<String>,
    names: Option<std::collections::HashMap<String, String>>,
    values: Option<Item>,
}

fn render(actions: Option<&[UpdateAction]>, condition: Option<&Condition>) -> Result<Rendered> {
    let mut p = Placeholders::new();
    let update = actions.map(|a| update_render(a, &mut p)).transpose()?;
    let condition = condition.map(|c| c.render(&mut p)).transpose()?;
    Ok(Rendered {
        condition,
        update,
        names: p.take_names(),
        values: p.take_values(),
    })
}

impl<'c> TransactWrite<'c> {
    fn add(&mut self, table: &'static str, key: &Item, member: Result<TransactWriteItem>) {
        match member {
            Ok(m) => {
                if !self.seen.insert((table.to_owned(), key_text(key))) {
                    self.error.get_or_insert(Error::validation(format!(
                        "a transaction names the same item twice (table {table}, key {})",
                        crate::error::describe_key(key)
                    )));
                }
                self.members.push(m);
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    fn keyed(&mut self, key: Result<Item>) -> Option<Item> {
        match key {
            Ok(k) => Some(k),
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    /// Adds a put.
    pub fn put<M: Model>(mut self, put: TxPut<'_, M>) -> Self {
        mark!(
            dynamodb::PUT_ITEM,
            ResourceRef::Table(M::TABLE),
            "transact_write put",
            [M::NAME],
            context: [M::TENANT_KEY]
        );
        let Some(item) = self.keyed(
            crate::batch::refuse_encrypted::<M>("transactions")
                .and_then(|()| put.item.to_item())
                .and_then(|i| crate::size::check::<M>(&i).map(|()| i)),
        ) else {
            return self;
        };
        let key = crate::batch::key_of::<M>(&item);
        let member = render(None, put.condition.as_ref()).and_then(|r| {
            Ok(TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(M::TABLE)
                        .set_item(Some(item))
                        .set_condition_expression(r.condition)
                        .set_expression_attribute_names(r.names)
                        .set_expression_attribute_values(r.values)
                        .set_return_values_on_condition_check_failure(on_failure(
                            put.old_on_failure,
                        ))
                        .build()
                        .map_err(bad)?,
                )
                .build())
        });
        self.add(M::TABLE, &key, member);
        self
    }

    /// Adds an update.
    pub fn update<M: Model>(mut self, update: TxUpdate<M>) -> Self {
        mark!(
            dynamodb::UPDATE_ITEM,
            ResourceRef::Table(M::TABLE),
            "transact_write update",
            [M::NAME],
            context: [M::TENANT_KEY]
        );
        let Some(key) = self.keyed(update.key.to_key_item()) else {
            return self;
        };
        let member = render(Some(&update.actions), update.condition.as_ref()).and_then(|r| {
            Ok(TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(M::TABLE)
                        .set_key(Some(key.clone()))
                        .set_update_expression(r.update)
                        .set_condition_expression(r.condition)
                        .set_expression_attribute_names(r.names)
                        .set_expression_attribute_values(r.values)
                        .set_return_values_on_condition_check_failure(on_failure(
                            update.old_on_failure,
                        ))
                        .build()
                        .map_err(bad)?,
                )
                .build())
        });
        self.add(M::TABLE, &key, member);
        self
    }

    /// Adds a delete.
    pub fn delete<M: Model>(mut self, delete: TxDelete<M>) -> Self {
        mark!(
            dynamodb::DELETE_ITEM,
            ResourceRef::Table(M::TABLE),
            "transact_write delete",
            [M::NAME],
            context: [M::TENANT_KEY]
        );
        let Some(key) = self.keyed(delete.key.to_key_item()) else {
            return self;
        };
        let member = render(None, delete.condition.as_ref()).and_then(|r| {
            Ok(TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(M::TABLE)
                        .set_key(Some(key.clone()))
                        .set_condition_expression(r.condition)
                        .set_expression_attribute_names(r.names)
                        .set_expression_attribute_values(r.values)
                        .set_return_values_on_condition_check_failure(on_failure(
                            delete.old_on_failure,
                        ))
                        .build()
                        .map_err(bad)?,
                )
                .build())
        });
        self.add(M::TABLE, &key, member);
        self
    }

    /// Adds a condition check.
    pub fn check<M: Model>(mut self, check: TxCheck<M>) -> Self {
        mark!(
            dynamodb::CONDITION_CHECK_ITEM,
            ResourceRef::Table(M::TABLE),
            "transact_write check",
            [M::NAME],
            context: [M::TENANT_KEY]
        );
        let Some(key) = self.keyed(check.key.to_key_item()) else {
            return self;
        };
        let member = render(None, Some(&check.condition)).and_then(|r| {
            Ok(TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name(M::TABLE)
                        .set_key(Some(key.clone()))
                        .set_condition_expression(r.condition)
                        .set_expression_attribute_names(r.names)
                        .set_expression_attribute_values(r.values)
                        .set_return_values_on_condition_check_failure(on_failure(
                            check.old_on_failure,
                        ))
                        .build()
                        .map_err(bad)?,
                )
                .build())
        });
        self.add(M::TABLE, &key, member);
        self
    }

    /// The idempotency token: a retry with the same token within ten minutes is not applied
    /// twice. One is generated when not given; [`TransactWriteOutput::token`] returns it.
    pub fn client_request_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Reports consumed capacity.
    pub fn return_consumed_capacity(mut self, which: Capacity) -> Self {
        self.capacity = Some(which);
        self
    }

    /// Sends the transaction. A cancelled one is [`Error::TransactionCancelled`] with a reason
    /// per member, and nothing of it was applied.
    pub async fn send(self) -> Result<TransactWriteOutput> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let token = checked_token("transaction", self.members.len(), self.token)?;
        let req = self
            .client
            .sdk()
            .transact_write_items()
            .set_transact_items(Some(self.members))
            .client_request_token(&token)
            .set_return_consumed_capacity(self.capacity.map(Capacity::to_sdk));
        let out = self
            .client
            .send(req)
            .await
            .map_err(|e| with_token(e, &token))?;
        Ok(TransactWriteOutput {
            token,
            consumed_capacity: out.consumed_capacity.unwrap_or_default(),
        })
    }
}

/// The transaction's token in its error, so that the caller can send it again idempotently.
pub(crate) fn with_token(err: Error, token: &str) -> Error {
    match err {
        Error::TransactionCancelled {
            reasons,
            message,
            source,
            context,
            ..
        } => Error::TransactionCancelled {
            reasons,
            client_request_token: Some(token.to_owned()),
            message,
            source,
            context,
        },
        other => other,
    }
}

/// What a transactional write returned.
#[derive(Debug)]
pub struct TransactWriteOutput {
    /// The idempotency token it was sent with (generated or given).
    pub token: String,
    /// Consumed capacity per table, when asked for.
    pub consumed_capacity: Vec<ConsumedCapacity>,
}

/// A member slot of a [`TransactGet`], typed by its model.
#[derive(Debug)]
pub struct Slot<T> {
    index: usize,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Slot<T> {}

/// A pending transactional read: see [`Client::transact_get`].
#[must_use = "a request does nothing until it is sent"]
pub struct TransactGet<'c> {
    client: &'c Client,
    members: Vec<TransactGetItem>,
    error: Option<Error>,
}

impl std::fmt::Debug for TransactGet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactGet")
            .field("members", &self.members.len())
            .finish_non_exhaustive()
    }
}

impl<'c> TransactGet<'c> {
    /// Adds a read of `key`; the slot takes its result from the output.
    pub fn get<M: Model>(&mut self, key: M::Key) -> Slot<M> {
        mark!(
            dynamodb::GET_ITEM,
            ResourceRef::Table(M::TABLE),
            "transact_get",
            [M::NAME],
            context: [M::TENANT_KEY]
        );
        let index = self.members.len();
        let member = key.to_key_item().and_then(|k| {
            Get::builder()
                .table_name(M::TABLE)
                .set_key(Some(k))
                .build()
                .map_err(bad)
        });
        match member {
            Ok(g) => self.members.push(TransactGetItem::builder().get(g).build()),
            Err(e) => {
                self.error.get_or_insert(e);
                // Keep slot numbering aligned; the request is refused anyway.
                self.members.push(TransactGetItem::builder().build());
            }
        }
        Slot {
            index,
            _t: PhantomData,
        }
    }

    /// Sends the read.
    pub async fn send(self) -> Result<TransactGetOutput> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.members.is_empty() || self.members.len() > MAX_MEMBERS {
            return Err(Error::validation(format!(
                "a transaction has 1 to {MAX_MEMBERS} members, not {}",
                self.members.len()
            )));
        }
        let req = self
            .client
            .sdk()
            .transact_get_items()
            .set_transact_items(Some(self.members));
        let out = self.client.send(req).await?;
        Ok(TransactGetOutput {
            items: out
                .responses
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.item.filter(|i| !i.is_empty()))
                .collect(),
        })
    }
}

/// The items a transactional read found, by slot.
#[derive(Debug)]
pub struct TransactGetOutput {
    items: Vec<Option<Item>>,
}

impl TransactGetOutput {
    /// The item of `slot`, decoded; `None` if there was no such item.
    pub fn take<T: FromItem>(&mut self, slot: Slot<T>) -> Result<Option<T>> {
        self.items
            .get_mut(slot.index)
            .and_then(Option::take)
            .map(T::from_item)
            .transpose()
    }
}

crate::pending::awaitable!([<'c>] TransactWrite<'c> => TransactWriteOutput, 'c);

crate::pending::awaitable!([<'c>] TransactGet<'c> => TransactGetOutput, 'c);
