//! The model lifecycle: save with hooks, generated values, size limits and optimistic locking,
//! and smart save of loaded items (only the changed attributes are written).
//!
//! `client.put(&item)` writes an item as it is. `client.save(&mut item)` is the lifecycle path:
//! `before_save`, generated values and timestamps, the version check and bump, the size limit,
//! the write, `after_save`. `client.load::<M>(key)` returns a [`Tracked`] item that remembers what
//! was read, so that saving it sends an `UpdateItem` with only what changed.

use crate::error::{Error, Result};
use crate::expr::{Condition, Path, Placeholders};
use crate::model::{Model, ModelKey};
use crate::{AttributeValue, Client, Item};
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use dynox_iam::{ResourceRef, actions::dynamodb, mark};
use futures::future::BoxFuture;
use std::future::IntoFuture;
use std::ops::{Deref, DerefMut};

/// An item read with [`Client::load`] (or new, with [`Tracked::new`]), remembering what is
/// stored so that [`Client::save_tracked`] writes only what changed.
#[derive(Clone)]
pub struct Tracked<M> {
    model: M,
    /// The item as stored (encrypted fields as ciphertext); `None` when not known.
    stored: Option<Item>,
    /// What was stored, decoded (encrypted fields as plaintext): what changes are measured
    /// against. `None` for an item not saved yet.
    baseline: Option<Item>,
}

impl<M: std::fmt::Debug> std::fmt::Debug for Tracked<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The snapshots hold decrypted values: only the model (whose secrets redact) is shown.
        f.debug_struct("Tracked")
            .field("model", &self.model)
            .field("stored", &self.baseline.is_some())
            .finish()
    }
}

impl<M: Model> Tracked<M> {
    /// A new item: its first save is a `PutItem`.
    pub fn new(model: M) -> Self {
        Tracked {
            model,
            stored: None,
            baseline: None,
        }
    }

    /// Whether the item has been saved (or was loaded).
    pub fn is_stored(&self) -> bool {
        self.baseline.is_some()
    }

    /// The stored names of the attributes that differ from what is stored (all, for a new item).
    pub fn changed(&self) -> Result<Vec<String>> {
        let current = self.model.to_item()?;
        let mut names: Vec<String> = match &self.baseline {
            None => current.keys().cloned().collect(),
            Some(baseline) => {
                let (set, remove) = diff::<M>(baseline, &current);
                set.into_iter().map(|(k, _)| k).chain(remove).collect()
            }
        };
        names.sort();
        Ok(names)
    }

    /// The item, given up.
    pub fn into_inner(self) -> M {
        self.model
    }
}

impl<M> Deref for Tracked<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.model
    }
}

impl<M> DerefMut for Tracked<M> {
    fn deref_mut(&mut self) -> &mut M {
        &mut self.model
    }
}

/// What to SET and what to REMOVE to turn `stored` into `current`. Only attributes the model
/// declares are removed: what other writers added is left alone.
fn diff<M: Model>(stored: &Item, current: &Item) -> (Vec<(String, AttributeValue)>, Vec<String>) {
    let set = current
        .iter()
        .filter(|(k, v)| stored.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = stored
        .keys()
        .filter(|k| !current.contains_key(*k))
        .filter(|k| M::ATTRIBUTES.is_none_or(|names| names.contains(&k.as_str())))
        .cloned()
        .collect();
    (set, remove)
}

fn version_path<M: Model>() -> Option<Path<u64>> {
    M::VERSION_ATTRIBUTE.map(Path::new)
}

/// The condition and new version for a versioned save of `item`: a new item (version 0) must
/// not exist; a stored one must still be at its version.
fn version_step<M: Model>(item: &M) -> Option<(Condition, u64, u64)> {
    let path = version_path::<M>()?;
    let current = item.version().unwrap_or(0);
    let condition = if current == 0 {
        Path::<AttributeValue>::new(M::PARTITION_KEY.name).not_exists()
    } else {
        path.eq(current)
    };
    Some((condition, current, current + 1))
}

/// A failed condition of an update that expected version `expected`: a lost race
/// ([`Error::VersionConflict`]) when the stored item is at another version or gone, else the
/// failure of the update's other condition, as it is.
pub(crate) fn lost_race<M: Model>(e: Error, expected: u64) -> Error {
    let stored = M::VERSION_ATTRIBUTE.and_then(|v| match e.old_item().and_then(|i| i.get(v)) {
        Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
        _ => None,
    });
    if e.is_condition_failed() && e.old_item().is_some() && stored == Some(expected) {
        e
    } else {
        version_conflict::<M>(e, expected)
    }
}

/// Turns a failed version condition into [`Error::VersionConflict`].
fn version_conflict<M: Model>(e: Error, expected: u64) -> Error {
    if !e.is_condition_failed() {
        return e;
    }
    let found = M::VERSION_ATTRIBUTE.and_then(|v| match e.old_item().and_then(|i| i.get(v)) {
        Some(AttributeValue::N(n)) => n.parse().ok(),
        _ => None,
    });
    let exists = e.old_item().is_some();
    Error::VersionConflict {
        possibly_applied: e.is_possibly_applied(),
        model: M::NAME,
        expected,
        found: if exists {
            Some(found.unwrap_or(0))
        } else {
            None
        },
    }
}

impl Client {
    /// Saves an item through its lifecycle (hooks, generated values, version, size limit).
    ///
    /// ```no_run
    /// # use dynox::Model;
    /// # #[derive(Model)] #[dynox(table = "notes")]
    /// # struct Note { #[dynox(partition_key, generate = "uuid7")] id: String, text: String,
    /// #   #[dynox(version)] version: u64 }
    /// # async fn f(client: dynox::Client) -> dynox::Result<()> {
    /// let mut note = Note { id: String::new(), text: "hi".into(), version: 0 };
    /// client.save(&mut note).await?; // id generated, version 1, created only if new
    /// # Ok(()) }
    /// ```
    pub fn save<'c, 'm, M: Model>(&'c self, item: &'m mut M) -> Save<'c, 'm, M> {
        Save {
            client: self,
            item,
            hooks: true,
        }
    }

    /// Reads an item to change and save it with [`Client::save_tracked`] (runs `after_load`).
    pub async fn load<M: Model>(&self, key: M::Key) -> Result<Option<Tracked<M>>> {
        let Some(item) = self
            .get::<M>(key)
            .consistent_read(true)
            .skip_hooks()
            .send_as::<Item>()
            .await?
        else {
            return Ok(None);
        };
        let mut decoded = item.clone();
        M::unseal(&mut decoded, self)
            .await
            .map_err(|e| e.for_model(M::NAME))?;
        let baseline = decoded.clone();
        let mut model = M::from_item(decoded)?;
        model.after_load()?;
        Ok(Some(Tracked {
            model,
            stored: Some(item),
            baseline: Some(baseline),
        }))
    }

    /// Saves a tracked item: a new one with `PutItem` (as [`Client::save`]), a loaded one with an
    /// `UpdateItem` of only the changed attributes, checking and bumping its version. Nothing
    /// changed, nothing sent.
    pub async fn save_tracked<M: Model>(&self, tracked: &mut Tracked<M>) -> Result<()> {
        let Some(baseline) = tracked.baseline.clone() else {
            self.save(&mut tracked.model).await?;
            tracked.baseline = Some(tracked.model.to_item()?);
            tracked.stored = None;
            return Ok(());
        };
        mark!(
            dynamodb::UPDATE_ITEM,
            ResourceRef::Table(M::TABLE),
            "save_tracked",
            [M::NAME],
            context: [M::TENANT_KEY]
        );
        let model = &mut tracked.model;
        model.before_save()?;
        model.prepare_save();
        // Nothing on the model changes until the write succeeds: the new version is written into
        // the item, and set on the model only afterwards.
        let mut current = model.to_item()?;
        let version = match M::VERSION_ATTRIBUTE {
            Some(attr) => {
                let v = model.version().unwrap_or(0);
                let next = v
                    .checked_add(1)
                    .filter(|n| *n <= M::max_version())
                    .ok_or_else(|| {
                        Error::validation(format!("{} version {v} cannot grow", M::NAME))
                    })?;
                current.insert(attr.to_owned(), AttributeValue::N(next.to_string()));
                Some((attr, v, next))
            }
            None => None,
        };
        let (set, remove) = diff::<M>(&baseline, &current);
        let changed_beyond_version = set
            .iter()
            .any(|(k, _)| Some(k.as_str()) != M::VERSION_ATTRIBUTE)
            || !remove.is_empty();
        if !changed_beyond_version {
            return Ok(());
        }
        if let Some(k) = set.iter().map(|(k, _)| k).find(|k| M::is_key_attribute(k)) {
            return Err(Error::validation(format!(
                "`{k}` is part of the key of {}: a changed key is a new item, save it with put",
                M::NAME
            )));
        }
        // Changed S3-backed fields upload their files first (a failed upload changes nothing).
        let uploads = crate::s3::upload_item::<M>(&mut current, self).await?;
        // Unchanged encrypted fields keep their stored ciphertext: not re-encrypted, and a
        // read-only field is not "written".
        let plain_current = current.clone();
        let changed: Vec<&String> = set.iter().map(|(k, _)| k).collect();
        for attr in M::ENCRYPTED_ATTRIBUTES {
            if !changed.iter().any(|c| c.as_str() == *attr)
                && let Some(v) = tracked.stored.as_ref().and_then(|s| s.get(*attr))
            {
                current.insert((*attr).to_owned(), v.clone());
            }
        }
        let sealed = match crate::sealing::seal_item::<M>(&mut current, self).await {
            Ok(()) => crate::size::check::<M>(&current),
            Err(e) => Err(e),
        };
        if let Err(e) = sealed {
            return Err(uploads.undo(self, e).await);
        }
        let mut p = Placeholders::new();
        let mut clauses = Vec::new();
        let parts: Vec<String> = set
            .iter()
            .map(|(k, _)| format!("{} = {}", p.name(k), p.value(current[k].clone())))
            .collect();
        clauses.push(format!("SET {}", parts.join(", ")));
        if !remove.is_empty() {
            let parts: Vec<String> = remove.iter().map(|k| p.name(k)).collect();
            clauses.push(format!("REMOVE {}", parts.join(", ")));
        }
        // A loaded item must still exist, and be at its version when versioned (a version 0
        // item was stored without one).
        let exists = Path::<AttributeValue>::new(M::PARTITION_KEY.name).exists();
        let condition = match &version {
            Some((attr, 0, _)) => {
                let path = Path::<u64>::new(*attr);
                exists & (path.not_exists() | path.eq(0))
            }
            Some((attr, v, _)) => exists & Path::<u64>::new(*attr).eq(*v),
            None => exists,
        };
        let condition = condition.render(&mut p)?;
        let key = tracked.model.primary_key().to_key_item()?;
        let req = self
            .sdk()
            .update_item()
            .table_name(M::TABLE)
            .set_key(Some(key))
            .update_expression(clauses.join(" "))
            .condition_expression(condition)
            .set_expression_attribute_names(p.take_names())
            .set_expression_attribute_values(p.take_values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let sent = match self.send(req).await {
            Ok(out) => {
                uploads
                    .remove_superseded(self, tracked.stored.as_ref())
                    .await;
                Ok(out)
            }
            Err(e) => Err(crate::s3::failed_write(self, uploads, e).await),
        };
        match sent {
            Ok(_) => {
                if let Some((_, _, next)) = version {
                    tracked.model.set_version(next);
                }
                tracked.model.take_uploaded(&plain_current);
                tracked.stored = Some(current);
                tracked.baseline = Some(plain_current);
                tracked.model.after_save()
            }
            Err(e) => Err(match version {
                Some((_, v, _)) => version_conflict::<M>(e, v),
                None => e,
            }),
        }
    }

    /// Deletes a versioned item only if it is still at the version it was loaded at.
    pub async fn delete_versioned<M: Model>(&self, item: &M) -> Result<()> {
        let (Some(path), Some(v)) = (version_path::<M>(), item.version()) else {
            return Err(Error::validation(format!(
                "{} has no version attribute",
                M::NAME
            )));
        };
        self.delete::<M>(item.primary_key())
            .condition(path.eq(v))
            .return_old_on_condition_failure()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| version_conflict::<M>(e, v))
    }
}

/// A pending lifecycle save: see [`Client::save`].
#[must_use = "a save does nothing until it is sent"]
pub struct Save<'c, 'm, M: Model> {
    client: &'c Client,
    item: &'m mut M,
    hooks: bool,
}

impl<M: Model> std::fmt::Debug for Save<'_, '_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Save")
            .field("table", &M::TABLE)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl<'c, 'm, M: Model> Save<'c, 'm, M> {
    /// Saves without running `before_save` / `after_save`.
    pub fn skip_hooks(mut self) -> Self {
        self.hooks = false;
        self
    }

    /// Sends the save. A versioned item that lost a race is [`Error::VersionConflict`], and its
    /// version is left as it was.
    pub async fn send(self) -> Result<()> {
        let item = self.item;
        if self.hooks {
            item.before_save()?;
        }
        item.prepare_save();
        if let Some(v) = item.version()
            && v >= M::max_version()
        {
            return Err(Error::validation(format!(
                "{} version {v} cannot grow",
                M::NAME
            )));
        }
        let step = version_step::<M>(item);
        if let Some((_, _, next)) = &step {
            item.set_version(*next);
        }
        let mut put = self.client.put(&*item);
        if let Some((condition, _, _)) = &step {
            put = put
                .condition(condition.clone())
                .return_old_on_condition_failure();
        }
        match put.send_written().await {
            Ok((_, written)) => {
                item.take_uploaded(&written);
                if self.hooks {
                    item.after_save()?;
                }
                Ok(())
            }
            Err(e) => match step {
                Some((_, expected, _)) => {
                    item.set_version(expected);
                    Err(version_conflict::<M>(e, expected))
                }
                None => Err(e),
            },
        }
    }
}

impl<'c: 'm, 'm, M: Model> IntoFuture for Save<'c, 'm, M> {
    type Output = Result<()>;
    type IntoFuture = BoxFuture<'m, Result<()>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
