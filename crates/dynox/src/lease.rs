//! Distributed leases (locks) on a DynamoDB table: acquire with a conditional write, renew in
//! the background while the guard lives, release on drop, fence stale holders.
//!
//! A lease is one item of a lease table, keyed by the lease's name. Its attributes:
//!
//! | attribute           | meaning                                                          |
//! |---------------------|------------------------------------------------------------------|
//! | `key` (the key)     | the lease's name ([`LeaseTable::PARTITION_KEY`] renames it)      |
//! | `owner`             | the holder's id; absent once released                            |
//! | `lease_duration_ms` | how long the holder's lease lasts without a renewal              |
//! | `record_version`    | a fresh random id on every write (acquire, renew, release)       |
//! | `fencing_token`     | `ADD 1` on every acquisition: strictly increasing across owners |
//! | `expires_at_ms`     | wall-clock expiry (Unix ms), for people and tools: never judged  |
//!
//! **Expiry is judged without comparing clocks.** A contender never decides from a timestamp
//! that a lease has expired: it reads the record (from the answer to its own failed conditional
//! write) and takes the lease over only after it has seen the *same* `record_version` for a full
//! `lease_duration_ms` of its own monotonic clock, conditionally on that version. A live holder
//! renews well within the duration, which changes the version and restarts every contender's
//! wait. This is the DynamoDB Lock Client's technique: clock *offsets* between machines cannot
//! make two owners, only clock *rate* differences can, and those are covered by the holder's
//! safety margin (the holder stops believing it holds the lease `safety_margin` before its own
//! deadline, measured from the moment it *sent* the acquiring or renewing write; a contender
//! counts from the moment it *received* the record, which is later).
//!
//! **The guard never believes too long.** [`LeaseGuard::is_held`] is false from the local
//! deadline (the send time of the last successful acquire or renew + duration - safety margin)
//! whatever the network does: a renewal that is throttled, times out or has an unknown outcome
//! does not extend it. Once it has passed (or a renewal finds another owner), the guard has lost
//! the lease for good.
//!
//! The lease's requests go through [`Client::update`] on the lease table's model
//! [`LeaseRecord`], so a binary that uses leases needs exactly `dynamodb:UpdateItem` on that
//! table, plus `dynamodb:ConditionCheckItem` there if it fences transactions with
//! [`LeaseGuard::check`].
//!
//! ```no_run
//! use dynox::lease::LeaseTable;
//! use std::time::Duration;
//!
//! struct Locks;
//! impl LeaseTable for Locks {
//!     const TABLE: &'static str = "locks";
//! }
//!
//! # async fn f(client: dynox::Client) -> dynox::Result<()> {
//! let guard = client.lease::<Locks>("nightly-report").wait(Duration::from_secs(10)).await?;
//! // ... work, checking guard.is_held() before anything irreversible ...
//! guard.release().await?;
//! # Ok(()) }
//! ```

use crate::attr::{Native, Scalar};
use crate::capacity::Capacity;
use crate::error::{Error, Result};
use crate::expr::{Condition, Path, ReturnValues, UpdateAction};
use crate::model::{self, FromItem, KeyAttribute, Model, ModelKey};
use crate::transaction::TxCheck;
use crate::{Client, Item};
use futures::future::BoxFuture;
use std::future::IntoFuture;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The default lease duration (as pydynox's lock).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(30);
/// The default time [`Lease::acquire`] waits for a held lease (as pydynox's lock: longer than a
/// lease, so a waiter outlasts a crashed holder's lease).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(35);
/// DynamoDB's limit on a partition key value.
const MAX_NAME_BYTES: usize = 2048;
/// The shortest and longest pause between two attempts to take a held lease.
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The stored attribute names of a lease record.
pub mod attribute {
    /// The holder's id; absent once released.
    pub const OWNER: &str = "owner";
    /// The holder's lease duration in milliseconds.
    pub const LEASE_DURATION_MS: &str = "lease_duration_ms";
    /// A fresh random id on every write.
    pub const RECORD_VERSION: &str = "record_version";
    /// Incremented on every acquisition.
    pub const FENCING_TOKEN: &str = "fencing_token";
    /// Wall-clock expiry in Unix milliseconds (informational only).
    pub const EXPIRES_AT_MS: &str = "expires_at_ms";
}

/// A table that holds leases: names it at compile time, so that the exported policy names it
/// (and a `dynox-iam.toml` mapping can rename it per environment).
///
/// The table needs only a string partition key, [`PARTITION_KEY`](Self::PARTITION_KEY);
/// `client.create_table::<LeaseRecord<MyTable>>()` creates it.
pub trait LeaseTable: Send + Sync + 'static {
    /// The (logical) table name.
    const TABLE: &'static str;
    /// The name in figures and permission explanations.
    const NAME: &'static str = "Lease";
    /// The partition key attribute, holding the lease's name.
    const PARTITION_KEY: &'static str = "key";
}

/// One lease as stored: the model of a [`LeaseTable`]. Read it with
/// `client.get::<LeaseRecord<T>>(LeaseRecord::<T>::key(name))` to see who holds a lease.
pub struct LeaseRecord<T: LeaseTable> {
    /// The lease's name.
    pub name: String,
    /// The holder's id; `None` once released.
    pub owner: Option<String>,
    /// The holder's lease duration.
    pub lease_duration_ms: Option<u64>,
    /// Changes on every write.
    pub record_version: Option<String>,
    /// The fencing token of the latest acquisition.
    pub fencing_token: Option<u64>,
    /// Wall-clock expiry the holder announced (Unix ms); never used to judge expiry.
    pub expires_at_ms: Option<u64>,
    _table: PhantomData<fn() -> T>,
}

impl<T: LeaseTable> std::fmt::Debug for LeaseRecord<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseRecord")
            .field("table", &T::TABLE)
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("lease_duration_ms", &self.lease_duration_ms)
            .field("record_version", &self.record_version)
            .field("fencing_token", &self.fencing_token)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

impl<T: LeaseTable> LeaseRecord<T> {
    /// The key of the lease `name`.
    pub fn key(name: impl Into<String>) -> LeaseKey<T> {
        LeaseKey {
            name: name.into(),
            _table: PhantomData,
        }
    }
}

/// The key of a lease record: the lease's name.
pub struct LeaseKey<T: LeaseTable> {
    name: String,
    _table: PhantomData<fn() -> T>,
}

impl<T: LeaseTable> std::fmt::Debug for LeaseKey<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseKey")
            .field("table", &T::TABLE)
            .field("name", &self.name)
            .finish()
    }
}

impl<T: LeaseTable> ModelKey for LeaseKey<T> {
    fn to_key_item(&self) -> Result<Item> {
        let mut item = Item::new();
        model::put_field::<String, Native>(
            &mut item,
            T::PARTITION_KEY,
            &self.name,
            T::NAME,
            "name",
        )?;
        Ok(item)
    }
}

/// Typed paths to a lease record's attributes.
#[derive(Debug, Clone)]
pub struct LeaseFields {
    /// `owner`.
    pub owner: Path<String>,
    /// `lease_duration_ms`.
    pub lease_duration_ms: Path<u64>,
    /// `record_version`.
    pub record_version: Path<String>,
    /// `fencing_token`.
    pub fencing_token: Path<u64>,
    /// `expires_at_ms`.
    pub expires_at_ms: Path<u64>,
}

impl<T: LeaseTable> FromItem for LeaseRecord<T> {
    fn from_item(mut item: Item) -> Result<Self> {
        use attribute::*;
        let n = T::NAME;
        Ok(LeaseRecord {
            name: model::take_field::<String, Native>(&mut item, T::PARTITION_KEY, n, "name")?,
            owner: model::take_field::<Option<String>, Native>(&mut item, OWNER, n, "owner")?,
            lease_duration_ms: model::take_field::<Option<u64>, Native>(
                &mut item,
                LEASE_DURATION_MS,
                n,
                "lease_duration_ms",
            )?,
            record_version: model::take_field::<Option<String>, Native>(
                &mut item,
                RECORD_VERSION,
                n,
                "record_version",
            )?,
            fencing_token: model::take_field::<Option<u64>, Native>(
                &mut item,
                FENCING_TOKEN,
                n,
                "fencing_token",
            )?,
            expires_at_ms: model::take_field::<Option<u64>, Native>(
                &mut item,
                EXPIRES_AT_MS,
                n,
                "expires_at_ms",
            )?,
            _table: PhantomData,
        })
    }
}

impl<T: LeaseTable> Model for LeaseRecord<T> {
    const TABLE: &'static str = T::TABLE;
    const NAME: &'static str = T::NAME;
    const PARTITION_KEY: KeyAttribute = KeyAttribute {
        name: T::PARTITION_KEY,
        scalar: Scalar::S,
    };
    const SORT_KEY: Option<KeyAttribute> = None;
    const ATTRIBUTES: Option<&'static [&'static str]> = None;
    type Key = LeaseKey<T>;
    type Fields = LeaseFields;

    fn fields() -> LeaseFields {
        LeaseFields {
            owner: Path::new(attribute::OWNER),
            lease_duration_ms: Path::new(attribute::LEASE_DURATION_MS),
            record_version: Path::new(attribute::RECORD_VERSION),
            fencing_token: Path::new(attribute::FENCING_TOKEN),
            expires_at_ms: Path::new(attribute::EXPIRES_AT_MS),
        }
    }

    fn primary_key(&self) -> LeaseKey<T> {
        LeaseRecord::<T>::key(self.name.clone())
    }

    fn to_item(&self) -> Result<Item> {
        use attribute::*;
        let mut item = Item::new();
        let n = T::NAME;
        model::put_field::<String, Native>(&mut item, T::PARTITION_KEY, &self.name, n, "name")?;
        model::put_field::<Option<String>, Native>(&mut item, OWNER, &self.owner, n, "owner")?;
        model::put_field::<Option<u64>, Native>(
            &mut item,
            LEASE_DURATION_MS,
            &self.lease_duration_ms,
            n,
            "lease_duration_ms",
        )?;
        model::put_field::<Option<String>, Native>(
            &mut item,
            RECORD_VERSION,
            &self.record_version,
            n,
            "record_version",
        )?;
        model::put_field::<Option<u64>, Native>(
            &mut item,
            FENCING_TOKEN,
            &self.fencing_token,
            n,
            "fencing_token",
        )?;
        model::put_field::<Option<u64>, Native>(
            &mut item,
            EXPIRES_AT_MS,
            &self.expires_at_ms,
            n,
            "expires_at_ms",
        )?;
        Ok(item)
    }
}

/// What one guard's requests cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LeaseMetrics {
    /// Requests sent for this lease (acquire attempts, renewals, the release).
    pub requests: u64,
    /// Conditional writes sent to acquire it (including those that found it held).
    pub acquire_attempts: u64,
    /// Successful renewals.
    pub renewals: u64,
    /// Renewals that failed (throttled, timed out, outcome unknown, lost).
    pub failed_renewals: u64,
    /// Capacity units the successful requests consumed, as DynamoDB reported them (a failed
    /// conditional write consumes capacity too, but its error does not report it).
    pub capacity_units: f64,
}

impl Client {
    /// A lease named `name` in the lease table `T`: configure, then `.await` (or
    /// [`acquire`](Lease::acquire)) to wait for it.
    pub fn lease<T: LeaseTable>(&self, name: impl Into<String>) -> Lease<'_, T> {
        Lease {
            client: self,
            name: name.into(),
            duration: DEFAULT_DURATION,
            wait: DEFAULT_WAIT,
            heartbeat: None,
            safety_margin: None,
            auto_renew: true,
            owner_label: None,
            _table: PhantomData,
        }
    }
}

/// A lease to acquire: see [`Client::lease`].
#[must_use = "a lease is not taken until it is acquired"]
pub struct Lease<'c, T: LeaseTable> {
    client: &'c Client,
    name: String,
    duration: Duration,
    wait: Duration,
    heartbeat: Option<Duration>,
    safety_margin: Option<Duration>,
    auto_renew: bool,
    owner_label: Option<String>,
    _table: PhantomData<fn() -> T>,
}

impl<T: LeaseTable> std::fmt::Debug for Lease<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("table", &T::TABLE)
            .field("name", &self.name)
            .field("duration", &self.duration)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

/// The settings a guard keeps.
#[derive(Clone, Debug)]
struct Settings {
    duration: Duration,
    heartbeat: Duration,
    safety_margin: Duration,
}

impl<'c, T: LeaseTable> Lease<'c, T> {
    /// How long the lease lasts without a renewal (30 s by default). Others take it over only
    /// after seeing it unchanged for this long.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// How long [`acquire`](Lease::acquire) waits for a held lease (35 s by default).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// How often the background task renews (a third of the duration by default).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = Some(every);
        self
    }

    /// How long before its lease ends the guard stops believing it holds it (a tenth of the
    /// duration by default): the bound on how much faster the holder's clock may run than a
    /// contender's over one duration.
    pub fn safety_margin(mut self, margin: Duration) -> Self {
        self.safety_margin = Some(margin);
        self
    }

    /// No background renewal: the lease ends one duration after it was taken unless
    /// [`LeaseGuard::renew`] is called.
    pub fn manual_renewal(mut self) -> Self {
        self.auto_renew = false;
        self
    }

    /// A readable prefix for the owner id (a host or worker name); a random part keeps every
    /// guard's id unique.
    pub fn owner(mut self, label: impl Into<String>) -> Self {
        self.owner_label = Some(label.into());
        self
    }

    fn settings(&self) -> Result<Settings> {
        if self.name.is_empty() {
            return Err(Error::validation("a lease name must not be empty"));
        }
        if self.name.len() > MAX_NAME_BYTES {
            return Err(Error::validation(format!(
                "a lease name is at most {MAX_NAME_BYTES} bytes, this one is {}",
                self.name.len()
            )));
        }
        if self.duration < Duration::from_millis(1) {
            return Err(Error::validation("a lease duration must be at least 1 ms"));
        }
        if u64::try_from(self.duration.as_millis()).is_err() {
            return Err(Error::validation(
                "a lease duration must fit in u64 milliseconds",
            ));
        }
        let safety_margin = self.safety_margin.unwrap_or(self.duration / 10);
        if safety_margin >= self.duration {
            return Err(Error::validation(format!(
                "the safety margin ({safety_margin:?}) must be shorter than the lease duration ({:?})",
                self.duration
            )));
        }
        let heartbeat = self.heartbeat.unwrap_or(self.duration / 3);
        if heartbeat.is_zero() || heartbeat >= self.duration - safety_margin {
            return Err(Error::validation(format!(
                "the heartbeat ({heartbeat:?}) must be positive and shorter than the lease \
                 duration minus the safety margin ({:?}), or the lease lapses between renewals",
                self.duration - safety_margin
            )));
        }
        if let Some(label) = &self.owner_label
            && (label.is_empty() || label.len() > 256)
        {
            return Err(Error::validation("an owner label must be 1 to 256 bytes"));
        }
        Ok(Settings {
            duration: self.duration,
            heartbeat,
            safety_margin,
        })
    }

    /// Takes the lease, waiting up to [`wait`](Lease::wait) with backoff while another owner
    /// holds it. A held lease is taken over only after it was seen unchanged for its holder's
    /// whole duration. [`Error::LeaseUnavailable`] when the wait ran out.
    pub async fn acquire(self) -> Result<LeaseGuard<T>> {
        let wait = self.wait;
        self.take(wait).await?
    }

    /// Takes the lease if it is free (absent or released) right now; `None` if someone holds
    /// it, even a holder that may have stopped renewing (telling so takes a whole duration).
    pub async fn try_acquire(self) -> Result<Option<LeaseGuard<T>>> {
        Ok(self.take(Duration::ZERO).await?.ok())
    }

    /// The acquisition loop: `Ok(Err(LeaseUnavailable))` when the wait ran out.
    async fn take(self, wait: Duration) -> Result<Result<LeaseGuard<T>>> {
        let settings = self.settings()?;
        let owner = match &self.owner_label {
            Some(label) => format!("{label}:{}", uuid::Uuid::new_v4()),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let shared = Arc::new(Shared::default());
        let started = Instant::now();
        let give_up = started + wait;
        // The record as last seen: its version, when it was first seen, its holder's duration.
        let mut observed: Option<Observed> = None;
        // The send time of an earlier attempt whose answer was lost (it may have applied).
        let mut unknown_since: Option<Instant> = None;
        let mut backoff = MIN_BACKOFF.max(settings.duration / 100).min(MAX_BACKOFF);
        loop {
            let expired = observed
                .as_ref()
                .filter(|o| o.since.elapsed() >= o.duration)
                .map(|o| (o.version.clone(), o.owner.clone()));
            let sent = Instant::now();
            shared.count(|m| {
                m.requests += 1;
                m.acquire_attempts += 1;
            });
            match acquire_request::<T>(self.client, &self.name, &owner, &settings, expired).await {
                Ok((token, capacity)) => {
                    shared.count(|m| m.capacity_units += capacity);
                    return Ok(Ok(LeaseGuard::start(
                        self.client.clone(),
                        self.name,
                        owner,
                        token,
                        settings,
                        unknown_since.unwrap_or(sent),
                        shared,
                        self.auto_renew,
                    )));
                }
                Err(e) if e.is_condition_failed() => {
                    let record =
                        e.old_item_as::<LeaseRecord<T>>()
                            .transpose()?
                            .ok_or_else(|| {
                                Error::validation(format!(
                                    "lease {} in {}: a failed acquisition returned no record",
                                    self.name,
                                    T::TABLE
                                ))
                            })?;
                    if record.owner.as_deref() == Some(owner.as_str()) {
                        // An earlier attempt (or this one, before a retry) applied: it is ours.
                        let token = record.fencing_token.ok_or_else(|| {
                            Error::validation(format!(
                                "lease {} in {} has no fencing token",
                                self.name,
                                T::TABLE
                            ))
                        })?;
                        // Its deadline counts from the first attempt that may have applied,
                        // which may be long past: a renewal now starts a fresh one.
                        let mut since = unknown_since.unwrap_or(sent);
                        let renewing = Instant::now();
                        shared.count(|m| m.requests += 1);
                        match renew_request::<T>(
                            self.client,
                            &self.name,
                            &owner,
                            token,
                            settings.duration,
                        )
                        .await
                        {
                            Ok(capacity) => {
                                since = renewing;
                                shared.count(|m| {
                                    m.renewals += 1;
                                    m.capacity_units += capacity;
                                });
                            }
                            Err(e) if e.is_lease_lost() => {
                                shared.count(|m| m.failed_renewals += 1);
                                continue;
                            }
                            // Throttled or unknown: keep the older, earlier deadline.
                            Err(_) => shared.count(|m| m.failed_renewals += 1),
                        }
                        return Ok(Ok(LeaseGuard::start(
                            self.client.clone(),
                            self.name,
                            owner,
                            token,
                            settings,
                            since,
                            shared,
                            self.auto_renew,
                        )));
                    }
                    let unchanged = observed
                        .as_ref()
                        .is_some_and(|o| o.version == record.record_version);
                    if !unchanged {
                        let duration = record
                            .lease_duration_ms
                            .map(Duration::from_millis)
                            .unwrap_or(settings.duration);
                        observed = Some(Observed {
                            version: record.record_version,
                            owner: record.owner,
                            since: Instant::now(),
                            duration,
                        });
                    }
                }
                Err(e) if e.is_outcome_unknown() => {
                    unknown_since.get_or_insert(sent);
                }
                // Throttled past the client's retries: the wait goes on, after the backoff.
                Err(e) if e.is_throttled() => {}
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            if now >= give_up {
                return Ok(Err(Error::LeaseUnavailable {
                    table: T::TABLE,
                    name: self.name,
                    waited: now - started,
                    holder: observed.and_then(|o| o.owner),
                }));
            }
            let jittered = backoff.mul_f64(0.5 + fastrand::f64() * 0.5);
            let mut pause = jittered.min(give_up - now);
            if let Some(o) = &observed {
                // Try again as soon as the holder's lease would have lapsed.
                let lapse = (o.since + o.duration).saturating_duration_since(now);
                pause = pause.min(lapse.max(Duration::from_millis(1)));
            }
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

impl<'c, T: LeaseTable> IntoFuture for Lease<'c, T> {
    type Output = Result<LeaseGuard<T>>;
    type IntoFuture = BoxFuture<'c, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.acquire())
    }
}

/// The record a contender watches.
struct Observed {
    version: Option<String>,
    owner: Option<String>,
    since: Instant,
    duration: Duration,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn wall_clock_expiry(duration: Duration) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    millis(now).saturating_add(millis(duration))
}

fn consumed(out: &crate::capacity::WithCapacity<Option<Item>>) -> f64 {
    out.consumed_capacity
        .as_ref()
        .and_then(|c| c.capacity_units)
        .unwrap_or(0.0)
}

/// One conditional write to take the lease: free (no record, or released), or the record a
/// contender saw unchanged for its holder's whole duration. The fencing token it got.
async fn acquire_request<T: LeaseTable>(
    client: &Client,
    name: &str,
    owner: &str,
    settings: &Settings,
    expired: Option<(Option<String>, Option<String>)>,
) -> Result<(u64, f64)> {
    let f = LeaseRecord::<T>::fields();
    let key = Path::<crate::AttributeValue>::new(T::PARTITION_KEY);
    let mut free = key.not_exists() | f.owner.not_exists();
    if let Some((version, holder)) = expired {
        free = free
            | match (version, holder) {
                (Some(v), _) => f.record_version.eq(v),
                // A record without a version (not written by dynox): the same holder, still
                // without one.
                (None, Some(h)) => f.record_version.not_exists() & f.owner.eq(h),
                (None, None) => f.record_version.not_exists(),
            };
    }
    let out = client
        .update::<LeaseRecord<T>>(LeaseRecord::<T>::key(name))
        .condition(free)
        .actions([
            f.owner.set(owner),
            f.record_version.set(uuid::Uuid::new_v4().to_string()),
            f.lease_duration_ms.set(millis(settings.duration)),
            f.expires_at_ms.set(wall_clock_expiry(settings.duration)),
            f.fencing_token.add(1u64),
        ])
        .return_values(ReturnValues::AllNew)
        .return_old_on_condition_failure()
        .return_consumed_capacity(Capacity::Total)
        .send_with_capacity()
        .await?;
    let capacity = consumed(&out);
    let record = LeaseRecord::<T>::from_item(out.value.unwrap_or_default())?;
    let token = record.fencing_token.ok_or_else(|| {
        Error::validation(format!("lease {name} in {}: no fencing token", T::TABLE))
    })?;
    Ok((token, capacity))
}

/// The condition that the caller still owns the lease with this token.
fn owned<T: LeaseTable>(owner: &str, token: u64) -> Condition {
    let f = LeaseRecord::<T>::fields();
    f.owner.eq(owner) & f.fencing_token.eq(token)
}

/// Turns a failed condition on a renew or release into [`Error::LeaseLost`], naming the owner
/// found.
fn lost<T: LeaseTable>(e: Error, name: &str, token: u64) -> Error {
    if !e.is_condition_failed() {
        return e;
    }
    let found = e
        .old_item_as::<LeaseRecord<T>>()
        .and_then(|r| r.ok())
        .and_then(|r| r.owner);
    Error::LeaseLost {
        table: T::TABLE,
        name: name.to_owned(),
        fencing_token: token,
        reason: match found {
            Some(o) => format!("it is held by {o}"),
            None => "it was released or taken and released".to_owned(),
        },
    }
}

async fn renew_request<T: LeaseTable>(
    client: &Client,
    name: &str,
    owner: &str,
    token: u64,
    duration: Duration,
) -> Result<f64> {
    let f = LeaseRecord::<T>::fields();
    let out = client
        .update::<LeaseRecord<T>>(LeaseRecord::<T>::key(name))
        .condition(owned::<T>(owner, token))
        .actions([
            f.record_version.set(uuid::Uuid::new_v4().to_string()),
            f.lease_duration_ms.set(millis(duration)),
            f.expires_at_ms.set(wall_clock_expiry(duration)),
        ])
        .return_old_on_condition_failure()
        .return_consumed_capacity(Capacity::Total)
        .send_with_capacity()
        .await
        .map_err(|e| lost::<T>(e, name, token))?;
    Ok(consumed(&out))
}

/// `held` is whether the guard still held the lease when the release was sent.
async fn release_request<T: LeaseTable>(
    client: &Client,
    name: &str,
    owner: &str,
    token: u64,
    held: bool,
) -> Result<f64> {
    let f = LeaseRecord::<T>::fields();
    // An update, not a delete: the record keeps its fencing token, so the next owner's is
    // larger still.
    let out = client
        .update::<LeaseRecord<T>>(LeaseRecord::<T>::key(name))
        .condition(owned::<T>(owner, token))
        .actions([
            f.owner.remove(),
            f.expires_at_ms.remove(),
            f.record_version.set(uuid::Uuid::new_v4().to_string()),
        ])
        .return_old_on_condition_failure()
        .return_consumed_capacity(Capacity::Total)
        .send_with_capacity()
        .await;
    match out {
        Ok(out) => Ok(consumed(&out)),
        // A retry after an attempt whose answer was lost found the lease changed. Sent while
        // the guard held it, nobody else could have taken it before that attempt, so the
        // attempt released it (and maybe somebody took it since, raising the token); sent
        // later, or finding this guard's own token still there, it is what it says.
        Err(e) if e.is_condition_failed() && e.is_possibly_applied() => {
            let record = e.old_item_as::<LeaseRecord<T>>().and_then(|r| r.ok());
            let released_by_us = record.is_some_and(|r| {
                (r.owner.is_none() && r.fencing_token == Some(token))
                    || (held && r.fencing_token.is_some_and(|t| t > token))
            });
            if released_by_us {
                Ok(0.0)
            } else {
                Err(lost::<T>(e, name, token))
            }
        }
        Err(e) => Err(lost::<T>(e, name, token)),
    }
}

/// What the guard and its renewal task share.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    metrics: Mutex<LeaseMetrics>,
}

#[derive(Default)]
struct State {
    /// The local deadline: the last successful write's send time + duration - margin.
    deadline: Option<Instant>,
    /// Why the lease was lost, once it was.
    lost: Option<String>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn count(&self, f: impl FnOnce(&mut LeaseMetrics)) {
        f(&mut lock(&self.metrics));
    }

    fn held(&self) -> bool {
        let s = lock(&self.state);
        s.lost.is_none() && s.deadline.is_some_and(|d| Instant::now() < d)
    }

    /// Extends the deadline after a successful renewal sent at `sent`, unless the lease was
    /// already lost (a late success must not bring it back).
    fn extend(&self, sent: Instant, settings: &Settings) -> bool {
        let mut s = lock(&self.state);
        let now = Instant::now();
        if s.lost.is_some() || s.deadline.is_none_or(|d| now >= d) {
            s.lost
                .get_or_insert_with(|| "its local deadline passed".to_owned());
            return false;
        }
        s.deadline = Some(sent + settings.duration - settings.safety_margin);
        true
    }

    fn lose(&self, why: String) {
        lock(&self.state).lost.get_or_insert(why);
    }

    fn lost_reason(&self) -> Option<String> {
        let s = lock(&self.state);
        match (&s.lost, s.deadline) {
            (Some(why), _) => Some(why.clone()),
            (None, Some(d)) if Instant::now() >= d => Some("its local deadline passed".into()),
            (None, None) => Some("it was never held".into()),
            _ => None,
        }
    }
}

/// A held lease. Renews in the background (unless [`manual_renewal`](Lease::manual_renewal)),
/// releases when dropped (in the background, on the current tokio runtime) or with
/// [`release`](LeaseGuard::release), which reports errors.
#[must_use = "dropping the guard releases the lease"]
pub struct LeaseGuard<T: LeaseTable> {
    client: Client,
    name: String,
    owner: String,
    token: u64,
    settings: Settings,
    shared: Arc<Shared>,
    renewer: Option<JoinHandle<()>>,
    released: bool,
    _table: PhantomData<fn() -> T>,
}

impl<T: LeaseTable> std::fmt::Debug for LeaseGuard<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseGuard")
            .field("table", &T::TABLE)
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("fencing_token", &self.token)
            .field("held", &self.is_held())
            .finish_non_exhaustive()
    }
}

impl<T: LeaseTable> LeaseGuard<T> {
    #[allow(clippy::too_many_arguments)]
    fn start(
        client: Client,
        name: String,
        owner: String,
        token: u64,
        settings: Settings,
        sent: Instant,
        shared: Arc<Shared>,
        auto_renew: bool,
    ) -> LeaseGuard<T> {
        lock(&shared.state).deadline = Some(sent + settings.duration - settings.safety_margin);
        let renewer = auto_renew.then(|| {
            tokio::spawn(renew_in_background::<T>(
                client.clone(),
                name.clone(),
                owner.clone(),
                token,
                settings.clone(),
                Arc::clone(&shared),
            ))
        });
        LeaseGuard {
            client,
            name,
            owner,
            token,
            settings,
            shared,
            renewer,
            released: false,
            _table: PhantomData,
        }
    }

    /// Whether this guard still holds the lease: false from its local deadline on, or once a
    /// renewal found another owner, whatever happens afterwards.
    pub fn is_held(&self) -> bool {
        self.shared.held()
    }

    /// Until when the guard holds the lease, if it still does.
    pub fn held_until(&self) -> Option<Instant> {
        let s = lock(&self.shared.state);
        s.deadline
            .filter(|d| s.lost.is_none() && Instant::now() < *d)
    }

    /// The fencing token: larger than every earlier owner's.
    pub fn fencing_token(&self) -> u64 {
        self.token
    }

    /// This guard's owner id, as stored.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What this guard's requests have cost so far.
    pub fn metrics(&self) -> LeaseMetrics {
        *lock(&self.shared.metrics)
    }

    /// A transaction member that holds only while this guard still owns the lease with its
    /// fencing token: add it with [`TransactWrite::check`](crate::transaction::TransactWrite::check),
    /// and a former owner's transaction is cancelled instead of applied.
    pub fn check(&self) -> TxCheck<LeaseRecord<T>> {
        TxCheck::new(
            LeaseRecord::<T>::key(self.name.clone()),
            owned::<T>(&self.owner, self.token),
        )
    }

    /// A condition for your own writes to a fenced resource that stores the last fencing token
    /// it accepted at `path`: holds when no token is stored or the stored one is not larger than
    /// this guard's. Pair it with [`fence_stamp`](LeaseGuard::fence_stamp).
    pub fn fence_condition(&self, path: &Path<u64>) -> Condition {
        path.not_exists() | path.le(self.token)
    }

    /// The update that stores this guard's fencing token at `path`.
    pub fn fence_stamp(&self, path: &Path<u64>) -> UpdateAction {
        path.set(self.token)
    }

    /// Renews now (the background task does this on its own). [`Error::LeaseLost`] if the
    /// lease is lost (another owner, or the local deadline passed); another error (throttled,
    /// timed out) leaves the deadline where it was.
    pub async fn renew(&self) -> Result<()> {
        renew_once::<T>(
            &self.client,
            &self.name,
            &self.owner,
            self.token,
            &self.settings,
            &self.shared,
        )
        .await
    }

    /// Releases the lease, if this guard still owns it; [`Error::LeaseLost`] if another owner
    /// holds it now (its lease is left alone).
    pub async fn release(mut self) -> Result<()> {
        self.released = true;
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
        self.shared.count(|m| m.requests += 1);
        let held = self.shared.held();
        let result =
            release_request::<T>(&self.client, &self.name, &self.owner, self.token, held).await;
        self.shared.lose("it was released".to_owned());
        let capacity = result?;
        self.shared.count(|m| m.capacity_units += capacity);
        Ok(())
    }
}

impl<T: LeaseTable> Drop for LeaseGuard<T> {
    fn drop(&mut self) {
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
        if self.released {
            return;
        }
        let held = self.shared.held();
        self.shared.lose("the guard was dropped".to_owned());
        // Without a runtime the lease lapses after its duration.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let client = self.client.clone();
            let name = std::mem::take(&mut self.name);
            let owner = std::mem::take(&mut self.owner);
            let token = self.token;
            runtime.spawn(async move {
                if let Err(e) = release_request::<T>(&client, &name, &owner, token, held).await {
                    tracing::warn!(
                        table = T::TABLE,
                        lease = %name,
                        error = %e,
                        "releasing a dropped lease failed; it lapses after its duration"
                    );
                }
            });
        }
    }
}

async fn renew_once<T: LeaseTable>(
    client: &Client,
    name: &str,
    owner: &str,
    token: u64,
    settings: &Settings,
    shared: &Shared,
) -> Result<()> {
    let lost_error = |reason: String| Error::LeaseLost {
        table: T::TABLE,
        name: name.to_owned(),
        fencing_token: token,
        reason,
    };
    if let Some(why) = shared.lost_reason() {
        shared.lose(why.clone());
        return Err(lost_error(why));
    }
    let deadline = lock(&shared.state).deadline.unwrap_or_else(Instant::now);
    let sent = Instant::now();
    shared.count(|m| m.requests += 1);
    // A renewal that has not answered by the deadline could not save the lease anyway.
    let answer = tokio::time::timeout_at(
        deadline,
        renew_request::<T>(client, name, owner, token, settings.duration),
    )
    .await;
    match answer {
        Ok(Ok(capacity)) => {
            shared.count(|m| m.capacity_units += capacity);
            if shared.extend(sent, settings) {
                shared.count(|m| m.renewals += 1);
                Ok(())
            } else {
                shared.count(|m| m.failed_renewals += 1);
                Err(lost_error("its local deadline passed".to_owned()))
            }
        }
        Ok(Err(e)) => {
            shared.count(|m| m.failed_renewals += 1);
            if let Error::LeaseLost { reason, .. } = &e {
                shared.lose(reason.clone());
            }
            Err(e)
        }
        Err(_) => {
            shared.count(|m| m.failed_renewals += 1);
            let why = "a renewal did not answer before the local deadline".to_owned();
            shared.lose(why.clone());
            Err(lost_error(why))
        }
    }
}

/// Renews every heartbeat; after a failure that did not lose the lease, tries again sooner.
async fn renew_in_background<T: LeaseTable>(
    client: Client,
    name: String,
    owner: String,
    token: u64,
    settings: Settings,
    shared: Arc<Shared>,
) {
    let mut pause = settings.heartbeat;
    loop {
        tokio::time::sleep(pause).await;
        match renew_once::<T>(&client, &name, &owner, token, &settings, &shared).await {
            Ok(()) => pause = settings.heartbeat,
            Err(e) if e.is_lease_lost() => {
                tracing::warn!(table = T::TABLE, lease = %name, error = %e, "lease lost");
                return;
            }
            Err(e) => {
                tracing::debug!(table = T::TABLE, lease = %name, error = %e, "renewal failed");
                pause = (settings.heartbeat / 4).max(Duration::from_millis(1));
            }
        }
    }
}
