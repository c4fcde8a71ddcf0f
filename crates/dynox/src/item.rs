//! Single-item operations on models: get, put, update, delete.
//!
//! Each builder is sent with `.send().await` (or just `.await`). Its permission marker sits in
//! the function that builds the request, so a binary that never sends, say, a delete has no
//! `dynamodb:DeleteItem` in its policy.

use crate::capacity::{Capacity, WithCapacity};
use crate::error::{Error, Result};
use crate::expr::{AnyPath, Condition, Placeholders, ReturnValues, UpdateAction, update_render};
use crate::model::{FromItem, Model, ModelKey};
use crate::{Client, Item};
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use dynox_iam::{ResourceRef, actions::dynamodb, mark};
use std::marker::PhantomData;

impl Client {
    /// Reads one item by its key. `None` when there is no such item.
    ///
    /// ```no_run
    /// # use dynox::Model;
    /// # #[derive(Model)] #[dynox(table = "users")]
    /// # struct User { #[dynox(partition_key)] id: String, name: String }
    /// # async fn f(client: dynox::Client) -> dynox::Result<()> {
    /// let user: Option<User> = client.get::<User>(User::key("u1")).consistent_read(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn get<M: Model>(&self, key: M::Key) -> GetItem<'_, M> {
        GetItem {
            client: self,
            key,
            consistent: false,
            projection: Vec::new(),
            capacity: None,
            hooks: true,
            _model: PhantomData,
        }
    }

    /// Writes a whole item, replacing any item with the same key.
    pub fn put<M: Model>(&self, item: &M) -> PutItem<'_, M> {
        PutItem {
            client: self,
            item: item.to_item(),
            options: WriteOptions::default(),
            _model: PhantomData,
        }
    }

    /// Changes attributes of one item (creating it unless a condition forbids that).
    pub fn update<M: Model>(&self, key: M::Key) -> UpdateItem<'_, M> {
        UpdateItem {
            client: self,
            key,
            actions: Vec::new(),
            return_values: ReturnValues::None,
            options: WriteOptions::default(),
            hooks: true,
            expected_version: None,
            _model: PhantomData,
        }
    }

    /// Deletes one item by its key.
    pub fn delete<M: Model>(&self, key: M::Key) -> DeleteItem<'_, M> {
        DeleteItem {
            client: self,
            key,
            options: WriteOptions::default(),
            hooks: true,
            _model: PhantomData,
        }
    }
}

/// Options shared by the writing operations.
#[derive(Clone, Debug, Default)]
struct WriteOptions {
    condition: Option<Condition>,
    /// A refusal found while building (reported at send).
    condition_error: Option<String>,
    return_old: bool,
    old_on_failure: bool,
    capacity: Option<Capacity>,
}

impl WriteOptions {
    fn condition(&mut self, c: Condition) {
        self.condition = Some(match self.condition.take() {
            Some(prev) => prev & c,
            None => c,
        });
    }

    fn render_condition(&self, p: &mut Placeholders) -> Result<Option<String>> {
        self.condition.as_ref().map(|c| c.render(p)).transpose()
    }

    fn on_failure(&self) -> Option<ReturnValuesOnConditionCheckFailure> {
        self.old_on_failure
            .then_some(ReturnValuesOnConditionCheckFailure::AllOld)
    }
}

fn key_condition<M: Model>(exists: bool) -> Condition {
    let pk = crate::expr::Path::<crate::AttributeValue>::new(M::PARTITION_KEY.name);
    if exists { pk.exists() } else { pk.not_exists() }
}

macro_rules! debug_by_table {
    ($($builder:ident),*) => {$(
        impl<M: Model> std::fmt::Debug for $builder<'_, M> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($builder))
                    .field("table", &M::TABLE)
                    .finish_non_exhaustive()
            }
        }
    )*};
}
debug_by_table!(GetItem, PutItem, UpdateItem, DeleteItem);

/// Decodes what a write returned. The write has happened, so a decoding failure must say so.
fn decode_written<T: FromItem>(item: Option<Item>) -> Result<Option<T>> {
    match item.filter(|i| !i.is_empty()) {
        None => Ok(None),
        Some(item) => {
            T::from_item(item.clone())
                .map(Some)
                .map_err(|e| Error::WrittenButUndecodable {
                    item,
                    source: Box::new(e),
                })
        }
    }
}

macro_rules! write_options {
    () => {
        /// Adds a condition; several conditions must all hold. A failed condition is
        /// [`Error::ConditionFailed`] and writes nothing.
        pub fn condition(mut self, condition: Condition) -> Self {
            self.options.condition(condition);
            self
        }

        /// On a failed condition, carry the item as it was in the error
        /// ([`Error::old_item`]).
        pub fn return_old_on_condition_failure(mut self) -> Self {
            self.options.old_on_failure = true;
            self
        }

        /// Reports the capacity consumed: read it with `send_with_capacity`.
        pub fn return_consumed_capacity(mut self, which: Capacity) -> Self {
            self.options.capacity = Some(which);
            self
        }
    };
}

/// A pending `GetItem`: see [`Client::get`].
#[must_use = "a request does nothing until it is sent"]
pub struct GetItem<'c, M: Model> {
    client: &'c Client,
    key: M::Key,
    consistent: bool,
    projection: Vec<AnyPath>,
    capacity: Option<Capacity>,
    hooks: bool,
    _model: PhantomData<fn() -> M>,
}

impl<'c, M: Model> GetItem<'c, M> {
    /// Strongly consistent read (twice the read cost).
    pub fn consistent_read(mut self, consistent: bool) -> Self {
        self.consistent = consistent;
        self
    }

    /// Reads only `path` (repeatable). Decode into a type whose other fields are optional, with
    /// [`send_as`](GetItem::send_as), or read the raw item.
    pub fn project(mut self, path: impl Into<AnyPath>) -> Self {
        self.projection.push(path.into());
        self
    }

    /// Reports the capacity consumed: read it with
    /// [`send_with_capacity`](GetItem::send_with_capacity).
    pub fn return_consumed_capacity(mut self, which: Capacity) -> Self {
        self.capacity = Some(which);
        self
    }

    /// Reads without running the model's `after_load` hook.
    pub fn skip_hooks(mut self) -> Self {
        self.hooks = false;
        self
    }

    /// Sends the request and decodes the item as the model (running `after_load`).
    pub async fn send(self) -> Result<Option<M>> {
        Ok(self.send_with_capacity().await?.value)
    }

    /// Sends the request and decodes the item as `T` (a projection type, or [`Item`]).
    pub async fn send_as<T: FromItem>(self) -> Result<Option<T>> {
        Ok(self.send_with_capacity_as::<T>().await?.value)
    }

    /// Sends the request; the item (after `after_load`) and the capacity consumed.
    pub async fn send_with_capacity(self) -> Result<WithCapacity<Option<M>>> {
        let hooks = self.hooks;
        let mut out = self.send_with_capacity_as::<M>().await?;
        if hooks && let Some(m) = out.value.as_mut() {
            m.after_load()?;
        }
        Ok(out)
    }

    /// Sends the request; the item decoded as `T`, and the capacity consumed.
    pub async fn send_with_capacity_as<T: FromItem>(self) -> Result<WithCapacity<Option<T>>> {
        let client = self.client;
        client
            .kms_for(M::NAME, async move {
                mark!(
                    dynamodb::GET_ITEM,
                    ResourceRef::Table(M::TABLE),
                    "get",
                    [M::NAME],
                    context: [M::TENANT_KEY]
                );
                let mut p = Placeholders::new();
                let projection = crate::expr::render_projection(&self.projection, &mut p)?;
                let req = self
                    .client
                    .sdk()
                    .get_item()
                    .table_name(M::TABLE)
                    .set_key(Some(self.key.to_key_item()?))
                    .consistent_read(self.consistent)
                    .set_projection_expression(projection)
                    .set_expression_attribute_names(p.take_names())
                    .set_return_consumed_capacity(self.capacity.map(Capacity::to_sdk));
                let out = self.client.send_for(M::NAME, req).await?;
                let keys: Vec<&str> = std::iter::once(M::PARTITION_KEY.name)
                    .chain(M::SORT_KEY.map(|k| k.name))
                    .collect();
                let value = match out.item.filter(|i| !i.is_empty()) {
                    Some(item) => Some(
                        // Made again only for an error: it was made once for the request.
                        crate::error::decode_read(
                            item,
                            self.client,
                            M::TABLE,
                            &keys,
                            Some(&|| self.key.to_key_item().unwrap_or_default()),
                        )
                        .await?,
                    ),
                    None => None,
                };
                Ok(WithCapacity {
                    value,
                    consumed_capacity: out.consumed_capacity,
                })
            })
            .await
    }
}

crate::pending::awaitable!([<'c, M: Model>] GetItem<'c, M> => Option<M>, 'c);

/// A pending `PutItem`: see [`Client::put`].
#[must_use = "a request does nothing until it is sent"]
pub struct PutItem<'c, M: Model> {
    client: &'c Client,
    item: Result<Item>,
    options: WriteOptions,
    _model: PhantomData<fn() -> M>,
}

impl<'c, M: Model> PutItem<'c, M> {
    write_options!();

    /// Only create: fail with [`Error::ConditionFailed`] if an item with this key exists.
    pub fn if_not_exists(mut self) -> Self {
        self.options.condition(key_condition::<M>(false));
        self
    }

    /// Return the item this put replaced.
    pub fn return_old(mut self) -> Self {
        self.options.return_old = true;
        self
    }

    /// Sends the request; returns the replaced item when [`return_old`](PutItem::return_old) was
    /// asked for.
    pub async fn send(self) -> Result<Option<M>> {
        Ok(self.send_with_capacity().await?.value)
    }

    /// Sends the request; the replaced item (when asked for) and the capacity consumed.
    pub async fn send_with_capacity(self) -> Result<WithCapacity<Option<M>>> {
        Ok(self.send_written().await?.0)
    }

    /// Sends the request; also returns the S3-backed fields' values as written (the objects'
    /// metadata, for a save to take into the model).
    pub(crate) async fn send_written(self) -> Result<(WithCapacity<Option<M>>, Item)> {
        let client = self.client;
        let mut item = self.item?;
        // Files go to S3 first: a failed upload writes no item, and a failed write removes them.
        let uploads = crate::s3::upload_item::<M>(&mut item, client).await?;
        let written: Item = M::S3_ATTRIBUTES
            .iter()
            .filter_map(|a| item.get(*a).map(|v| ((*a).to_owned(), v.clone())))
            .collect();
        let options = self.options;
        // The replaced item names the objects it held that the new one does not.
        let wants_old = uploads.wants_old_item();
        let put = client.kms_for(M::NAME, async move {
            mark!(
                dynamodb::PUT_ITEM,
                ResourceRef::Table(M::TABLE),
                "put",
                [M::NAME],
                context: [M::TENANT_KEY]
            );
            // Failures before the request is sent certainly wrote nothing.
            let sealed = match crate::sealing::seal_item::<M>(&mut item, client).await {
                Ok(()) => crate::size::check::<M>(&item),
                Err(e) => Err(e),
            };
            sealed.map_err(Stage::Before)?;
            let mut p = Placeholders::new();
            let condition = options.render_condition(&mut p).map_err(Stage::Before)?;
            let req = client
                .sdk()
                .put_item()
                .table_name(M::TABLE)
                .set_item(Some(item))
                .set_condition_expression(condition)
                .set_expression_attribute_names(p.take_names())
                .set_expression_attribute_values(p.take_values())
                .set_return_values((options.return_old || wants_old).then_some(ReturnValue::AllOld))
                .set_return_values_on_condition_check_failure(options.on_failure())
                .set_return_consumed_capacity(options.capacity.map(Capacity::to_sdk));
            let keys: &[&str] = match M::SORT_KEY {
                Some(sort) => &[M::PARTITION_KEY.name, sort.name],
                None => &[M::PARTITION_KEY.name],
            };
            let out = client
                .send_keyed(M::NAME, keys, req)
                .await
                .map_err(Stage::Write)?;
            let value = match options.return_old {
                true => decode_written(out.attributes.clone()).map_err(Stage::After)?,
                false => None,
            };
            Ok((
                WithCapacity {
                    value,
                    consumed_capacity: out.consumed_capacity,
                },
                out.attributes,
            ))
        });
        match put.await {
            Ok((done, old)) => {
                uploads.remove_superseded(client, old.as_ref()).await;
                Ok((done, written))
            }
            Err(Stage::Before(e)) => Err(uploads.undo(client, e).await),
            Err(Stage::Write(e)) => Err(crate::s3::failed_write(client, uploads, e).await),
            // Written: the objects are the item's.
            Err(Stage::After(e)) => Err(e),
        }
    }
}

/// Where a put failed: before its request was sent, the request itself, or decoding the answer
/// of a write that was done.
enum Stage {
    Before(Error),
    Write(Error),
    After(Error),
}

crate::pending::awaitable!([<'c, M: Model>] PutItem<'c, M> => Option<M>, 'c);

/// A pending `UpdateItem`: see [`Client::update`].
#[must_use = "a request does nothing until it is sent"]
pub struct UpdateItem<'c, M: Model> {
    client: &'c Client,
    key: M::Key,
    actions: Vec<UpdateAction>,
    return_values: ReturnValues,
    options: WriteOptions,
    hooks: bool,
    /// The version [`if_version`](UpdateItem::if_version) expects, to tell a lost race from
    /// another failed condition.
    expected_version: Option<u64>,
    _model: PhantomData<fn() -> M>,
}

impl<'c, M: Model> UpdateItem<'c, M> {
    write_options!();

    /// Adds one action (`field.set(v)`, `field.increment(1)`, `field.remove()`, ...).
    pub fn action(mut self, action: UpdateAction) -> Self {
        self.actions.push(action);
        self
    }

    /// Adds several actions.
    pub fn actions(mut self, actions: impl IntoIterator<Item = UpdateAction>) -> Self {
        self.actions.extend(actions);
        self
    }

    /// Updates without running the model's `before_update` / `after_update` hooks.
    pub fn skip_hooks(mut self) -> Self {
        self.hooks = false;
        self
    }

    /// Only if the stored item is at `version` (optimistic locking), and bumps it: a lost race
    /// (another version stored, or no item) is [`Error::VersionConflict`], as for `save`; another
    /// condition of the update that fails stays [`Error::ConditionFailed`]. The model must
    /// declare `#[dynox(version)]`.
    pub fn if_version(mut self, version: u64) -> Self {
        match M::VERSION_ATTRIBUTE {
            Some(v) => {
                let path = crate::expr::Path::<u64>::new(v);
                self.options.condition(path.eq(version));
                self.actions.push(path.set(version + 1));
                self.expected_version = Some(version);
                // The stored item tells a lost race from another failed condition.
                self.options.old_on_failure = true;
            }
            None => {
                self.options.condition_error =
                    Some(format!("{} has no version attribute", M::NAME));
            }
        }
        self
    }

    /// Only update an existing item: fail with [`Error::ConditionFailed`] otherwise, instead of
    /// creating one.
    pub fn if_exists(mut self) -> Self {
        self.options.condition(key_condition::<M>(true));
        self
    }

    /// What to return. [`send`](UpdateItem::send) decodes whole items (`AllOld`, `AllNew`);
    /// [`send_attributes`](UpdateItem::send_attributes) returns any choice raw.
    pub fn return_values(mut self, which: ReturnValues) -> Self {
        self.return_values = which;
        self
    }

    /// Sends the request; returns the whole item as it was (`AllOld`) or is (`AllNew`) when
    /// asked for.
    pub async fn send(self) -> Result<Option<M>> {
        if !matches!(self.return_values, ReturnValues::None) && !self.return_values.is_whole_item()
        {
            return Err(Error::validation(format!(
                "{:?} returns only some attributes, which do not make a whole {}: use send_attributes()",
                self.return_values,
                M::NAME
            )));
        }
        decode_written(self.send_attributes().await?)
    }

    /// Sends the request; returns the attributes chosen with
    /// [`return_values`](UpdateItem::return_values), raw.
    pub async fn send_attributes(self) -> Result<Option<Item>> {
        Ok(self.send_with_capacity().await?.value)
    }

    /// Sends the request; the returned attributes, raw, and the capacity consumed.
    pub async fn send_with_capacity(self) -> Result<WithCapacity<Option<Item>>> {
        let client = self.client;
        client
            .kms_for(M::NAME, async move {
                mark!(
                    dynamodb::UPDATE_ITEM,
                    ResourceRef::Table(M::TABLE),
                    "update",
                    [M::NAME],
                    context: [M::TENANT_KEY]
                );
                if let Some(e) = &self.options.condition_error {
                    return Err(Error::validation(e.clone()));
                }
                if self.hooks {
                    M::before_update(&self.key)?;
                }
                for a in &self.actions {
                    if let Some(crate::expr::Segment::Name(n)) = a.path().first()
                        && M::ENCRYPTED_ATTRIBUTES.contains(&n.as_ref())
                    {
                        return Err(Error::validation(format!(
                            "`{n}` of {} is encrypted: write it with put or save, which encrypt it",
                            M::NAME
                        )));
                    }
                    if let [crate::expr::Segment::Name(n)] = a.path()
                        && M::is_key_attribute(n)
                    {
                        return Err(Error::validation(format!(
                            "`{n}` is part of the key of {}: key attributes cannot be updated",
                            M::NAME
                        )));
                    }
                }
                let mut p = Placeholders::new();
                let update = update_render(&self.actions, &mut p)?;
                let condition = self.options.render_condition(&mut p)?;
                let req = self
                    .client
                    .sdk()
                    .update_item()
                    .table_name(M::TABLE)
                    .set_key(Some(self.key.to_key_item()?))
                    .update_expression(update)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(p.take_names())
                    .set_expression_attribute_values(p.take_values())
                    .return_values(self.return_values.to_sdk())
                    .set_return_values_on_condition_check_failure(self.options.on_failure())
                    .set_return_consumed_capacity(self.options.capacity.map(Capacity::to_sdk));
                let expected = self.expected_version;
                let out = self
                    .client
                    .send_for(M::NAME, req)
                    .await
                    .map_err(|e| match expected {
                        Some(v) => crate::lifecycle::lost_race::<M>(e, v),
                        None => e,
                    })?;
                if self.hooks {
                    M::after_update(&self.key)?;
                }
                Ok(WithCapacity {
                    value: out.attributes.filter(|a| !a.is_empty()),
                    consumed_capacity: out.consumed_capacity,
                })
            })
            .await
    }
}

crate::pending::awaitable!([<'c, M: Model>] UpdateItem<'c, M> => Option<M>, 'c);

/// A pending `DeleteItem`: see [`Client::delete`].
#[must_use = "a request does nothing until it is sent"]
pub struct DeleteItem<'c, M: Model> {
    client: &'c Client,
    key: M::Key,
    options: WriteOptions,
    hooks: bool,
    _model: PhantomData<fn() -> M>,
}

impl<'c, M: Model> DeleteItem<'c, M> {
    write_options!();

    /// Deletes without running the model's `before_delete` / `after_delete` hooks.
    pub fn skip_hooks(mut self) -> Self {
        self.hooks = false;
        self
    }

    /// Only delete an existing item: fail with [`Error::ConditionFailed`] otherwise.
    pub fn if_exists(mut self) -> Self {
        self.options.condition(key_condition::<M>(true));
        self
    }

    /// Return the deleted item.
    pub fn return_old(mut self) -> Self {
        self.options.return_old = true;
        self
    }

    /// Sends the request; returns the deleted item when asked for.
    pub async fn send(self) -> Result<Option<M>> {
        Ok(self.send_with_capacity().await?.value)
    }

    /// Sends the request; the deleted item (when asked for) and the capacity consumed.
    pub async fn send_with_capacity(self) -> Result<WithCapacity<Option<M>>> {
        let client = self.client;
        client
            .kms_for(M::NAME, async move {
                mark!(
                    dynamodb::DELETE_ITEM,
                    ResourceRef::Table(M::TABLE),
                    "delete",
                    [M::NAME],
                    context: [M::TENANT_KEY]
                );
                if self.hooks {
                    M::before_delete(&self.key)?;
                }
                let mut p = Placeholders::new();
                let condition = self.options.render_condition(&mut p)?;
                let req = self
                    .client
                    .sdk()
                    .delete_item()
                    .table_name(M::TABLE)
                    .set_key(Some(self.key.to_key_item()?))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(p.take_names())
                    .set_expression_attribute_values(p.take_values())
                    // The deleted item names the objects a `delete_with_item` field removes.
                    .set_return_values(
                        (self.options.return_old || M::DELETES_OBJECTS)
                            .then_some(ReturnValue::AllOld),
                    )
                    .set_return_values_on_condition_check_failure(self.options.on_failure())
                    .set_return_consumed_capacity(self.options.capacity.map(Capacity::to_sdk));
                let mut out = self.client.send_for(M::NAME, req).await?;
                if M::DELETES_OBJECTS
                    && let Some(old) = &out.attributes
                {
                    M::delete_objects(old, self.client).await?;
                }
                if self.hooks {
                    M::after_delete(&self.key)?;
                }
                if !self.options.return_old {
                    out.attributes = None;
                }
                Ok(WithCapacity {
                    value: decode_written(out.attributes)?,
                    consumed_capacity: out.consumed_capacity,
                })
            })
            .await
    }
}

crate::pending::awaitable!([<'c, M: Model>] DeleteItem<'c, M> => Option<M>, 'c);
