//! DynamoDB Streams: a table's changes as typed records, shard by shard, resumable.
//!
//! [`Client::stream`] reads the stream of a model's table. [`StreamReader::next`] (or the
//! [`Stream`](futures::Stream) of [`StreamReader::into_stream`]) yields a [`Record`] per
//! change: a [`Change::Insert`], [`Change::Modify`] or [`Change::Remove`] with the images
//! decoded as the model (or kept raw with [`StreamBuilder::raw`]), its sequence number, shard,
//! approximate creation time and user identity (TTL deletions say so: [`Record::is_ttl_deletion`]).
//!
//! Shards: every shard `DescribeStream` lists is read, a child only after its parent ended
//! (so the changes of one item come in order); a closed shard ends when `GetRecords` answers
//! without `NextShardIterator`, and the stream is described again to find its children.
//! An open shard that has nothing new is polled again after [`StreamBuilder::poll_interval`].
//!
//! Resuming: [`StreamReader::checkpoint`] is the position after every record yielded so far
//! (per shard: the last sequence number), as a value to store ([`Checkpoint::to_token`]) and
//! give back to [`StreamBuilder::resume`]. A consumer that saves it after processing a record
//! sees each record once across restarts.
//!
//! The send path: the streams API is another AWS service (`DynamoDBStreams_20120810`), so its
//! requests are not variants of [`Request`](crate::send::Request) and do not pass the layers.
//! What the layers would do is done here, with the client's own settings: the client's
//! [`RetryPolicy`](crate::layers::RetryPolicy) owns the attempts (the SDK's retries are off, as
//! for DynamoDB), drawing from the client's retry budget; each attempt is bounded by the
//! attempt timeout and all of them by the operation timeout. Every streams request reads, so a
//! throttle (`LimitExceededException`) or a transient failure is retried like a read.
//! `ExpiredIteratorException` is not retried as such: the iterator is made again from the
//! shard's position. `TrimmedDataAccessException` means records after the position are gone:
//! [`Error::StreamTrimmed`], unless [`StreamBuilder::skip_trimmed`] asked to go on from the
//! oldest record left. The table name is the client's [`Mapping`](crate::Mapping) of the
//! model's logical table, as for every other request.
//!
//! Permissions (marked in the function that builds each request): `dynamodb:ListStreams` on
//! `*` (only [`StreamBuilder::open`] looks the stream up), and `dynamodb:DescribeStream`,
//! `dynamodb:GetShardIterator` and `dynamodb:GetRecords` on `table/T/stream/*`. No table
//! access: a consumer's policy grants nothing on the table itself.

use crate::error::{Error, Result, ServiceDetail};
use crate::model::{FromItem, Model};
use crate::table::StreamView;
use crate::{AttributeValue, Client, Item};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodbstreams as sdk;
use dynox_iam::{ResourceRef, actions::dynamodb, mark};
use futures::stream::{self, BoxStream, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::marker::PhantomData;
use std::time::{Duration, Instant, SystemTime};

/// DynamoDB Streams' limits, as data (from the DynamoDB Streams API reference and the
/// DynamoDB developer guide).
pub mod limits {
    use std::time::Duration;

    /// `GetRecords` returns at most 1000 records per call ...
    pub const MAX_RECORDS_PER_CALL: i32 = 1000;
    /// ... or 1 MB of data, whichever comes first.
    pub const MAX_BYTES_PER_CALL: usize = 1024 * 1024;
    /// `GetRecords` calls per second on one shard before `LimitExceededException`: the reader
    /// spaces its calls to one shard by `1 s / 5`.
    pub const GET_RECORDS_PER_SECOND_PER_SHARD: u32 = 5;
    /// A shard iterator expires 15 minutes after `GetShardIterator` returned it.
    pub const ITERATOR_LIFETIME: Duration = Duration::from_secs(15 * 60);
    /// How much earlier than that the reader makes a new one instead of risking the expiry.
    pub const ITERATOR_RENEW_MARGIN: Duration = Duration::from_secs(60);
    /// Stream records are kept 24 hours, then trimmed.
    pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
    /// `DescribeStream` returns at most 100 shards per call.
    pub const MAX_SHARDS_PER_DESCRIBE: i32 = 100;
    /// `ListStreams` returns at most 100 streams per call.
    pub const MAX_STREAMS_PER_LIST: i32 = 100;
    /// A sequence number is 21 to 40 digits.
    pub const SEQUENCE_NUMBER_DIGITS: std::ops::RangeInclusive<usize> = 21..=40;
}

/// The default pause before polling an open shard that had nothing new.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How often the reader describes the stream again while it polls, to find new shards.
pub const REDISCOVER_EVERY: Duration = Duration::from_secs(30);

/// Where the reader starts in shards its checkpoint (if any) does not name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// At the oldest record kept (the default: nothing in the last 24 hours is missed).
    TrimHorizon,
    /// After the newest record: only changes made from now on.
    Latest,
    /// At a record of a shard (it is yielded first); that shard's ancestors are skipped,
    /// other shards start at the trim horizon.
    AtSequenceNumber {
        /// The shard.
        shard_id: String,
        /// The record's sequence number.
        sequence_number: String,
    },
    /// Just after a record of a shard; otherwise as [`StartAt::AtSequenceNumber`].
    AfterSequenceNumber {
        /// The shard.
        shard_id: String,
        /// The record's sequence number.
        sequence_number: String,
    },
}

/// What changed. An image is `None` when the stream's view does not carry it: `KEYS_ONLY`
/// carries none, `NEW_IMAGE` only new ones, `OLD_IMAGE` only old ones, `NEW_AND_OLD_IMAGES`
/// both; the keys are always in [`Record::keys`].
#[derive(Clone, Debug, PartialEq)]
pub enum Change<T> {
    /// An item was created.
    Insert(Option<T>),
    /// An item was changed.
    Modify {
        /// As it was.
        old: Option<T>,
        /// As it is.
        new: Option<T>,
    },
    /// An item was deleted (by a request, or by time to live: [`Record::is_ttl_deletion`]).
    Remove(Option<T>),
}

impl<T> Change<T> {
    /// `INSERT`, `MODIFY` or `REMOVE`, as the stream names it.
    pub fn event_name(&self) -> &'static str {
        match self {
            Change::Insert(_) => "INSERT",
            Change::Modify { .. } => "MODIFY",
            Change::Remove(_) => "REMOVE",
        }
    }

    /// The image after the change, if the view carries it.
    pub fn new_image(&self) -> Option<&T> {
        match self {
            Change::Insert(new) | Change::Modify { new, .. } => new.as_ref(),
            Change::Remove(_) => None,
        }
    }

    /// The image before the change, if the view carries it.
    pub fn old_image(&self) -> Option<&T> {
        match self {
            Change::Remove(old) | Change::Modify { old, .. } => old.as_ref(),
            Change::Insert(_) => None,
        }
    }
}

/// Who made a change, when the stream says: DynamoDB itself for a time-to-live deletion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserIdentity {
    /// `Service` for DynamoDB's own deletions.
    pub kind: String,
    /// `dynamodb.amazonaws.com` for a time-to-live deletion.
    pub principal_id: String,
}

impl UserIdentity {
    /// Whether this is DynamoDB's time-to-live process.
    pub fn is_ttl(&self) -> bool {
        self.kind == "Service" && self.principal_id == "dynamodb.amazonaws.com"
    }
}

/// One change read from a stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Record<T> {
    /// What changed, with the images the view carries.
    pub change: Change<T>,
    /// The item's key attributes.
    pub keys: Item,
    /// The record's sequence number in its shard (numeric, 21 to 40 digits).
    pub sequence_number: String,
    /// The shard the record is in.
    pub shard_id: String,
    /// The record's unique id.
    pub event_id: String,
    /// When the change was made, about (DynamoDB rounds it).
    pub approximate_creation_time: Option<SystemTime>,
    /// Who made it, when the stream says (time-to-live deletions).
    pub user_identity: Option<UserIdentity>,
    /// The record's size as DynamoDB counts it.
    pub size_bytes: Option<i64>,
    /// The stream's view when the record was written.
    pub view: Option<StreamView>,
}

impl<T> Record<T> {
    /// Whether DynamoDB's time-to-live process deleted the item.
    pub fn is_ttl_deletion(&self) -> bool {
        matches!(self.change, Change::Remove(_))
            && self
                .user_identity
                .as_ref()
                .is_some_and(UserIdentity::is_ttl)
    }
}

/// A record with its images as raw items.
pub type RawRecord = Record<Item>;

/// How far a reader got: per shard, the sequence number of the last record yielded, and the
/// closed shards read to their end. Store [`Checkpoint::to_token`] and give it back to
/// [`StreamBuilder::resume`] to go on after exactly those records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The format.
    v: u8,
    /// The stream read.
    stream_arn: String,
    /// Shard id -> the last sequence number yielded from it.
    shards: BTreeMap<String, String>,
    /// Closed shards read to their end.
    finished: BTreeSet<String>,
}

const CHECKPOINT_FORMAT: u8 = 1;

impl Checkpoint {
    /// An empty checkpoint of a stream (nothing read yet).
    pub fn new(stream_arn: impl Into<String>) -> Checkpoint {
        Checkpoint {
            v: CHECKPOINT_FORMAT,
            stream_arn: stream_arn.into(),
            shards: BTreeMap::new(),
            finished: BTreeSet::new(),
        }
    }

    /// The stream it belongs to.
    pub fn stream_arn(&self) -> &str {
        &self.stream_arn
    }

    /// The last sequence number yielded from `shard_id`.
    pub fn position(&self, shard_id: &str) -> Option<&str> {
        self.shards.get(shard_id).map(String::as_str)
    }

    /// Whether `shard_id` was closed and read to its end.
    pub fn is_finished(&self, shard_id: &str) -> bool {
        self.finished.contains(shard_id)
    }

    /// Moves the checkpoint past `record` (for a consumer that keeps its own while it reads
    /// [`StreamReader::into_stream`]); an older record leaves it as it is.
    pub fn advance<T>(&mut self, record: &Record<T>) {
        self.advance_to(&record.shard_id, &record.sequence_number);
    }

    fn advance_to(&mut self, shard_id: &str, sequence_number: &str) {
        match self.shards.get_mut(shard_id) {
            Some(s) if sequence_order(s, sequence_number).is_lt() => {
                *s = sequence_number.to_owned()
            }
            Some(_) => {}
            None => {
                self.shards
                    .insert(shard_id.to_owned(), sequence_number.to_owned());
            }
        }
    }

    /// The checkpoint as a string to store (JSON).
    pub fn to_token(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint serializes")
    }

    /// A checkpoint from [`Checkpoint::to_token`]'s string; a damaged one is a validation
    /// error.
    pub fn parse(token: &str) -> Result<Checkpoint> {
        let c: Checkpoint = serde_json::from_str(token)
            .map_err(|e| Error::validation(format!("not a stream checkpoint: {e}")))?;
        if c.v != CHECKPOINT_FORMAT {
            return Err(Error::validation(format!(
                "a stream checkpoint of format {} (this dynox reads {CHECKPOINT_FORMAT})",
                c.v
            )));
        }
        if !c.stream_arn.contains("/stream/") {
            return Err(Error::validation(format!(
                "a stream checkpoint whose stream is not a stream ARN: {}",
                c.stream_arn
            )));
        }
        for (shard, seq) in &c.shards {
            check_sequence_number(seq)
                .map_err(|e| Error::validation(format!("checkpoint of shard {shard}: {e}")))?;
        }
        Ok(c)
    }
}

/// Sequence numbers compare as numbers: by length, then digit by digit.
fn sequence_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn check_sequence_number(s: &str) -> std::result::Result<(), String> {
    if !limits::SEQUENCE_NUMBER_DIGITS.contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("{s:?} is not a sequence number (21 to 40 digits)"));
    }
    Ok(())
}

/// A shard as the reader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardInfo {
    /// Its id.
    pub shard_id: String,
    /// The shard it was split from, if any (read first).
    pub parent_shard_id: Option<String>,
    /// Its first sequence number.
    pub starting_sequence_number: Option<String>,
    /// Its last sequence number: set once the shard is closed.
    pub ending_sequence_number: Option<String>,
}

impl ShardInfo {
    /// Whether the shard is closed (no new records will be written to it).
    pub fn is_closed(&self) -> bool {
        self.ending_sequence_number.is_some()
    }
}

/// Shards ordered so that every parent comes before its children (shards whose parent is not
/// listed, trimmed away, come first, in the order given).
pub fn parent_first(shards: &[ShardInfo]) -> Vec<ShardInfo> {
    let ids: BTreeSet<&str> = shards.iter().map(|s| s.shard_id.as_str()).collect();
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(shards.len());
    let mut left: Vec<&ShardInfo> = shards.iter().collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|s| {
            let ready = match s.parent_shard_id.as_deref() {
                Some(p) => !ids.contains(p) || placed.contains(p) || p == s.shard_id,
                None => true,
            };
            if ready {
                placed.insert(s.shard_id.clone());
                out.push((*s).clone());
            }
            !ready
        });
        if left.len() == before {
            // A cycle (impossible from DynamoDB): keep the rest in the order given.
            out.extend(left.drain(..).cloned());
        }
    }
    out
}

/// Converts a streams attribute value to the DynamoDB one (the two SDKs have one type each).
fn attribute(v: sdk::types::AttributeValue) -> AttributeValue {
    use sdk::types::AttributeValue as S;
    match v {
        S::B(b) => AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(b.into_inner())),
        S::Bool(b) => AttributeValue::Bool(b),
        S::Bs(bs) => AttributeValue::Bs(
            bs.into_iter()
                .map(|b| aws_sdk_dynamodb::primitives::Blob::new(b.into_inner()))
                .collect(),
        ),
        S::L(l) => AttributeValue::L(l.into_iter().map(attribute).collect()),
        S::M(m) => AttributeValue::M(item(m)),
        S::N(n) => AttributeValue::N(n),
        S::Ns(ns) => AttributeValue::Ns(ns),
        S::Null(n) => AttributeValue::Null(n),
        S::S(s) => AttributeValue::S(s),
        S::Ss(ss) => AttributeValue::Ss(ss),
        // A type newer than this SDK: kept as a NULL rather than dropped silently would be
        // wrong too, so it is a string naming the problem (decoding as a model fails on it).
        _ => AttributeValue::S("<attribute type unknown to this SDK>".to_owned()),
    }
}

fn item(m: HashMap<String, sdk::types::AttributeValue>) -> Item {
    m.into_iter().map(|(k, v)| (k, attribute(v))).collect()
}

fn view_of(v: &sdk::types::StreamViewType) -> Option<StreamView> {
    use sdk::types::StreamViewType as V;
    Some(match v {
        V::KeysOnly => StreamView::KeysOnly,
        V::NewImage => StreamView::NewImage,
        V::OldImage => StreamView::OldImage,
        V::NewAndOldImages => StreamView::NewAndOldImages,
        _ => return None,
    })
}

/// A record from the SDK's answer, with raw images.
fn raw_record(shard_id: &str, r: sdk::types::Record) -> Result<RawRecord> {
    let data = r
        .dynamodb
        .ok_or_else(|| Error::validation("a stream record without its dynamodb part"))?;
    let sequence_number = data
        .sequence_number
        .ok_or_else(|| Error::validation("a stream record without a sequence number"))?;
    let new = data.new_image.map(item);
    let old = data.old_image.map(item);
    let change = match r.event_name {
        Some(sdk::types::OperationType::Insert) => Change::Insert(new),
        Some(sdk::types::OperationType::Modify) => Change::Modify { old, new },
        Some(sdk::types::OperationType::Remove) => Change::Remove(old),
        other => {
            return Err(Error::validation(format!(
                "stream record {sequence_number} has an unknown event name {other:?}"
            )));
        }
    };
    Ok(Record {
        change,
        keys: data.keys.map(item).unwrap_or_default(),
        event_id: r.event_id.unwrap_or_else(|| sequence_number.clone()),
        sequence_number,
        shard_id: shard_id.to_owned(),
        approximate_creation_time: data
            .approximate_creation_date_time
            .and_then(|d| SystemTime::try_from(d).ok()),
        user_identity: r.user_identity.map(|u| UserIdentity {
            kind: u.r#type.unwrap_or_default(),
            principal_id: u.principal_id.unwrap_or_default(),
        }),
        size_bytes: data.size_bytes,
        view: data.stream_view_type.as_ref().and_then(view_of),
    })
}

impl ServiceDetail for sdk::operation::list_streams::ListStreamsError {}
impl ServiceDetail for sdk::operation::describe_stream::DescribeStreamError {}
impl ServiceDetail for sdk::operation::get_shard_iterator::GetShardIteratorError {}
impl ServiceDetail for sdk::operation::get_records::GetRecordsError {}

/// Sends one streams request with the client's retry policy, budget and timeouts (see the
/// module's documentation: every streams request reads, so every retryable failure is retried).
async fn send<O, E, F, Fut>(client: &Client, call: Call, attempt: F) -> Result<O>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<O, SdkError<E, crate::outside::HttpResponse>>>,
    E: ProvideErrorMetadata + ServiceDetail + std::error::Error + Send + Sync + 'static,
{
    crate::outside::send(client, call, None, attempt)
        .await
        .map_err(|e| e.in_context(|| crate::error::ErrorContext::new(call.operation)))
}

type Call = crate::outside::Call<'static>;

/// A streams request of model `M`, for its span and figures.
fn call<M: Model>(operation: &'static str) -> Call {
    crate::outside::Call {
        operation,
        model: M::NAME,
        target: crate::outside::Target::Streams { table: M::TABLE },
    }
}

fn has_code(err: &Error, wanted: &str) -> bool {
    matches!(err, Error::Service { code, .. } if code == wanted)
}

/// The stream ARN of `table` (deployed name): the newest of its streams.
async fn find_stream<M: Model>(client: &Client, table: &str) -> Result<String> {
    let sdk = client.streams_sdk()?;
    let mut start: Option<String> = None;
    let mut found: Vec<(String, String)> = Vec::new();
    loop {
        let out = send(client, call::<M>("ListStreams"), || {
            list_streams::<M>(&sdk, table, start.clone()).send()
        })
        .await?;
        for s in out.streams.unwrap_or_default() {
            if s.table_name.as_deref() == Some(table)
                && let Some(arn) = s.stream_arn
            {
                found.push((s.stream_label.unwrap_or_default(), arn));
            }
        }
        match out.last_evaluated_stream_arn {
            Some(next) if start.as_deref() != Some(next.as_str()) => start = Some(next),
            _ => break,
        }
    }
    found.sort();
    found
        .pop()
        .map(|(_, arn)| arn)
        .ok_or_else(|| Error::NoStream {
            table: M::TABLE.to_owned(),
            message: format!(
                "table {table} has no stream (enable one with a StreamSpecification: \
                 create_table::<M>().stream(..) or update_table::<M>().stream(Some(..)))"
            ),
        })
}

fn list_streams<M: Model>(
    sdk: &sdk::Client,
    table: &str,
    start: Option<String>,
) -> sdk::operation::list_streams::builders::ListStreamsFluentBuilder {
    mark!(dynamodb::LIST_STREAMS, ResourceRef::Any, "stream", M::NAME);
    sdk.list_streams()
        .table_name(table)
        .limit(limits::MAX_STREAMS_PER_LIST)
        .set_exclusive_start_stream_arn(start)
}

fn describe_stream<M: Model>(
    sdk: &sdk::Client,
    arn: &str,
    start: Option<String>,
) -> sdk::operation::describe_stream::builders::DescribeStreamFluentBuilder {
    mark!(
        dynamodb::DESCRIBE_STREAM,
        ResourceRef::Stream(M::TABLE),
        "stream",
        M::NAME
    );
    sdk.describe_stream()
        .stream_arn(arn)
        .limit(limits::MAX_SHARDS_PER_DESCRIBE)
        .set_exclusive_start_shard_id(start)
}

fn get_shard_iterator<M: Model>(
    sdk: &sdk::Client,
    arn: &str,
    shard_id: &str,
    from: &Position,
) -> sdk::operation::get_shard_iterator::builders::GetShardIteratorFluentBuilder {
    mark!(
        dynamodb::GET_SHARD_ITERATOR,
        ResourceRef::Stream(M::TABLE),
        "stream",
        M::NAME
    );
    use sdk::types::ShardIteratorType as I;
    let (kind, seq) = match from {
        Position::TrimHorizon => (I::TrimHorizon, None),
        Position::Latest => (I::Latest, None),
        Position::At(s) => (I::AtSequenceNumber, Some(s.clone())),
        Position::After(s) => (I::AfterSequenceNumber, Some(s.clone())),
    };
    sdk.get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard_id)
        .shard_iterator_type(kind)
        .set_sequence_number(seq)
}

fn get_records<M: Model>(
    sdk: &sdk::Client,
    iterator: &str,
    limit: i32,
) -> sdk::operation::get_records::builders::GetRecordsFluentBuilder {
    mark!(
        dynamodb::GET_RECORDS,
        ResourceRef::Stream(M::TABLE),
        "stream",
        M::NAME
    );
    sdk.get_records().shard_iterator(iterator).limit(limit)
}

/// Where an iterator starts.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Position {
    TrimHorizon,
    Latest,
    At(String),
    After(String),
}

/// What the reader does with a record whose images do not decode as the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnUndecodable {
    /// Yield [`Error::RecordUndecodable`] (with the raw record) and go on with the next
    /// record; the checkpoint moves past it (the default: one bad record does not stop a
    /// consumer, and the error carries what a dead-letter queue needs).
    #[default]
    Skip,
    /// Yield the error and end; the checkpoint stays before the record, so a consumer fixed
    /// to read it resumes at it.
    Stop,
}

/// Options of a stream read; [`Client::stream`] makes one.
#[derive(Debug)]
#[must_use = "a stream builder does nothing until opened"]
pub struct StreamBuilder<M, T = M> {
    client: Client,
    start: StartAt,
    poll_interval: Duration,
    limit: i32,
    follow: bool,
    on_undecodable: OnUndecodable,
    skip_trimmed: bool,
    _types: PhantomData<fn() -> (M, T)>,
}

impl Client {
    /// Reads the stream of `M`'s table (the deployed table the client's mapping names).
    ///
    /// ```no_run
    /// # use dynox::Model;
    /// # #[derive(Model, Debug)] #[dynox(table = "users")] struct User { #[dynox(partition_key)] id: String }
    /// # async fn f(client: dynox::Client) -> dynox::Result<()> {
    /// use dynox::streams::Change;
    /// let mut reader = client.stream::<User>().open().await?;
    /// while let Some(record) = reader.next().await {
    ///     match record?.change {
    ///         Change::Insert(new) => println!("new {new:?}"),
    ///         Change::Modify { old, new } => println!("{old:?} -> {new:?}"),
    ///         Change::Remove(old) => println!("gone {old:?}"),
    ///     }
    ///     let _save_me = reader.checkpoint().to_token();
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream<M: Model>(&self) -> StreamBuilder<M, M> {
        StreamBuilder {
            client: self.clone(),
            start: StartAt::TrimHorizon,
            poll_interval: DEFAULT_POLL_INTERVAL,
            limit: limits::MAX_RECORDS_PER_CALL,
            follow: true,
            on_undecodable: OnUndecodable::Skip,
            skip_trimmed: false,
            _types: PhantomData,
        }
    }
}

impl<M: Model, T: FromItem + Send + 'static> StreamBuilder<M, T> {
    /// Images as raw items instead of the model (nothing can fail to decode).
    pub fn raw(self) -> StreamBuilder<M, Item> {
        StreamBuilder {
            client: self.client,
            start: self.start,
            poll_interval: self.poll_interval,
            limit: self.limit,
            follow: self.follow,
            on_undecodable: self.on_undecodable,
            skip_trimmed: self.skip_trimmed,
            _types: PhantomData,
        }
    }

    /// Where to start in shards a checkpoint does not name (default: the trim horizon).
    pub fn start_at(mut self, start: StartAt) -> Self {
        self.start = start;
        self
    }

    /// The pause before polling again when no open shard had anything new (default 1 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Records per `GetRecords` call, 1 to 1000 (default 1000).
    pub fn limit(mut self, limit: i32) -> Self {
        self.limit = limit;
        self
    }

    /// End when every shard is read to its current end, instead of polling open shards for
    /// ever (a batch job, a catch-up).
    pub fn until_caught_up(mut self) -> Self {
        self.follow = false;
        self
    }

    /// What to do with a record that does not decode as the model (default: yield the error
    /// and go on).
    pub fn on_undecodable(mut self, what: OnUndecodable) -> Self {
        self.on_undecodable = what;
        self
    }

    /// When the records after a position were trimmed (older than 24 hours), go on from the
    /// oldest record left instead of failing with [`Error::StreamTrimmed`]. The trimmed
    /// records are lost either way; this only says whether to stop.
    pub fn skip_trimmed(mut self) -> Self {
        self.skip_trimmed = true;
        self
    }

    fn check(&self) -> Result<()> {
        if !(1..=limits::MAX_RECORDS_PER_CALL).contains(&self.limit) {
            return Err(Error::validation(format!(
                "a GetRecords limit must be 1 to {}, not {}",
                limits::MAX_RECORDS_PER_CALL,
                self.limit
            )));
        }
        if self.poll_interval.is_zero() {
            return Err(Error::validation(
                "a poll interval of zero would call GetRecords in a busy loop",
            ));
        }
        if let StartAt::AtSequenceNumber {
            sequence_number, ..
        }
        | StartAt::AfterSequenceNumber {
            sequence_number, ..
        } = &self.start
        {
            check_sequence_number(sequence_number).map_err(Error::validation)?;
        }
        Ok(())
    }

    /// Finds the table's stream with `ListStreams` (the newest, if several) and opens it. A
    /// table without a stream is [`Error::NoStream`].
    pub async fn open(self) -> Result<StreamReader<M, T>> {
        self.check()?;
        let table = self.client.mapping().table(M::TABLE).into_owned();
        let arn = find_stream::<M>(&self.client, &table).await?;
        self.open_arn(arn, None).await
    }

    /// Opens the stream `stream_arn` (of `M`'s deployed table), without `ListStreams`.
    pub async fn open_at(self, stream_arn: impl Into<String>) -> Result<StreamReader<M, T>> {
        self.check()?;
        self.open_arn(stream_arn.into(), None).await
    }

    /// Opens the checkpoint's stream and goes on after the records it covers; shards it does
    /// not name start at the trim horizon (they were created, or had nothing, when it was
    /// taken).
    pub async fn resume(self, checkpoint: Checkpoint) -> Result<StreamReader<M, T>> {
        self.check()?;
        let arn = checkpoint.stream_arn.clone();
        self.open_arn(arn, Some(checkpoint)).await
    }

    async fn open_arn(
        self,
        arn: String,
        checkpoint: Option<Checkpoint>,
    ) -> Result<StreamReader<M, T>> {
        let table = self.client.mapping().table(M::TABLE).into_owned();
        if !arn.contains(&format!(":table/{table}/stream/")) {
            return Err(Error::validation(format!(
                "{arn} is not a stream of table {table} (the deployed table of {})",
                M::TABLE
            )));
        }
        let resumed = checkpoint.is_some();
        let mut reader = StreamReader {
            sdk: self.client.streams_sdk()?,
            client: self.client,
            table,
            checkpoint: checkpoint.unwrap_or_else(|| Checkpoint::new(arn.clone())),
            arn,
            start: if resumed {
                StartAt::TrimHorizon
            } else {
                self.start
            },
            poll_interval: self.poll_interval,
            limit: self.limit,
            follow: self.follow,
            on_undecodable: self.on_undecodable,
            skip_trimmed: self.skip_trimmed,
            shards: Vec::new(),
            buffer: VecDeque::new(),
            cursor: 0,
            discovered: Instant::now(),
            rediscover: false,
            disabled: false,
            done: false,
            _types: PhantomData,
        };
        reader.discover().await?;
        reader.pin_latest().await?;
        Ok(reader)
    }
}

/// One shard's reading state.
#[derive(Debug)]
struct Shard {
    info: ShardInfo,
    /// Where a new iterator starts when the reader has read nothing from the shard yet.
    start: Position,
    iterator: Option<(String, Instant)>,
    /// The last sequence number fetched (buffered or yielded).
    fetched: Option<String>,
    last_call: Option<Instant>,
    /// The last call returned no records.
    caught_up: bool,
    finished: bool,
    /// Skipped: an ancestor of the shard a start position or checkpoint names.
    skipped: bool,
}

/// An open stream read: call [`StreamReader::next`] or turn it into a
/// [`Stream`](futures::Stream).
pub struct StreamReader<M, T = M> {
    client: Client,
    sdk: sdk::Client,
    table: String,
    arn: String,
    checkpoint: Checkpoint,
    start: StartAt,
    poll_interval: Duration,
    limit: i32,
    follow: bool,
    on_undecodable: OnUndecodable,
    skip_trimmed: bool,
    shards: Vec<Shard>,
    buffer: VecDeque<RawRecord>,
    cursor: usize,
    discovered: Instant,
    rediscover: bool,
    /// The stream was disabled: what is left is read, then the reader ends.
    disabled: bool,
    done: bool,
    _types: PhantomData<fn() -> (M, T)>,
}

impl<M, T> std::fmt::Debug for StreamReader<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("stream_arn", &self.arn)
            .field("shards", &self.shards.len())
            .field("buffered", &self.buffer.len())
            .field("disabled", &self.disabled)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<M: Model, T: FromItem + Send + 'static> StreamReader<M, T> {
    /// The stream read.
    pub fn stream_arn(&self) -> &str {
        &self.arn
    }

    /// The position after every record yielded so far.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The shards known, parents before children.
    pub fn shards(&self) -> Vec<ShardInfo> {
        parent_first(
            &self
                .shards
                .iter()
                .map(|s| s.info.clone())
                .collect::<Vec<_>>(),
        )
    }

    /// Whether the stream was found disabled (the reader ends once what is left is read).
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// The reader as a [`Stream`](futures::Stream) of records (the checkpoint then travels
    /// with each record: keep one with [`Checkpoint::advance`]).
    pub fn into_stream(self) -> BoxStream<'static, Result<Record<T>>>
    where
        M: 'static,
    {
        stream::unfold(self, |mut r| async move { r.next().await.map(|x| (x, r)) }).boxed()
    }

    /// The next record; `None` once the reader ended (caught up with
    /// [`StreamBuilder::until_caught_up`], the stream disabled and read, or after
    /// [`OnUndecodable::Stop`]). An error does not end the reader: calling again retries
    /// (after a poisoned record: goes on with the next one).
    pub async fn next(&mut self) -> Option<Result<Record<T>>> {
        loop {
            if let Some(raw) = self.buffer.pop_front() {
                return Some(self.decode(raw).await);
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.poll().await {
                if e.is_stream_trimmed() && !self.skip_trimmed {
                    self.done = true;
                }
                return Some(Err(e));
            }
        }
    }

    async fn decode(&mut self, raw: RawRecord) -> Result<Record<T>> {
        let RawRecord {
            change,
            keys,
            sequence_number,
            shard_id,
            event_id,
            approximate_creation_time,
            user_identity,
            size_bytes,
            view,
        } = raw;
        let decode = |image: Option<Item>| {
            let client = &self.client;
            let table = &self.table;
            let keys = &keys;
            async move {
                match image {
                    None => Ok(None),
                    Some(i) => {
                        let known = || keys.clone();
                        crate::error::decode_read::<T>(i, client, table, &[], Some(&known))
                            .await
                            .map(Some)
                    }
                }
            }
        };
        let decoded = match change.clone() {
            Change::Insert(new) => decode(new).await.map(Change::Insert),
            Change::Modify { old, new } => match decode(old).await {
                Ok(old) => decode(new).await.map(|new| Change::Modify { old, new }),
                Err(e) => Err(e),
            },
            Change::Remove(old) => decode(old).await.map(Change::Remove),
        };
        match decoded {
            Ok(change) => {
                self.checkpoint.advance_to(&shard_id, &sequence_number);
                Ok(Record {
                    change,
                    keys,
                    sequence_number,
                    shard_id,
                    event_id,
                    approximate_creation_time,
                    user_identity,
                    size_bytes,
                    view,
                })
            }
            Err(e) => {
                match self.on_undecodable {
                    OnUndecodable::Skip => self.checkpoint.advance_to(&shard_id, &sequence_number),
                    OnUndecodable::Stop => {
                        self.done = true;
                        self.buffer.clear();
                    }
                }
                Err(Error::RecordUndecodable {
                    table: M::TABLE.to_owned(),
                    shard_id: shard_id.clone(),
                    sequence_number: sequence_number.clone(),
                    record: Box::new(Record {
                        change,
                        keys,
                        sequence_number,
                        shard_id,
                        event_id,
                        approximate_creation_time,
                        user_identity,
                        size_bytes,
                        view,
                    }),
                    source: Box::new(e),
                })
            }
        }
    }

    /// Describes the stream (all pages) and adds the shards not known yet.
    async fn discover(&mut self) -> Result<()> {
        let mut start: Option<String> = None;
        let mut listed: Vec<ShardInfo> = Vec::new();
        let mut status = None;
        loop {
            let sdk = &self.sdk;
            let arn = &self.arn;
            let out = send(&self.client, call::<M>("DescribeStream"), || {
                describe_stream::<M>(sdk, arn, start.clone()).send()
            })
            .await;
            let out = match out {
                Ok(o) => o,
                Err(e) if e.is_not_found() => {
                    return Err(Error::NoStream {
                        table: M::TABLE.to_owned(),
                        message: format!("stream {} not found: {e}", self.arn),
                    });
                }
                Err(e) => return Err(e),
            };
            let Some(d) = out.stream_description else {
                break;
            };
            status = d.stream_status;
            for s in d.shards.unwrap_or_default() {
                let Some(id) = s.shard_id else { continue };
                let range = s.sequence_number_range;
                listed.push(ShardInfo {
                    shard_id: id,
                    parent_shard_id: s.parent_shard_id,
                    starting_sequence_number: range
                        .as_ref()
                        .and_then(|r| r.starting_sequence_number.clone()),
                    ending_sequence_number: range.and_then(|r| r.ending_sequence_number),
                });
            }
            match d.last_evaluated_shard_id {
                Some(next) if start.as_deref() != Some(next.as_str()) => start = Some(next),
                _ => break,
            }
        }
        if matches!(
            status,
            Some(sdk::types::StreamStatus::Disabled | sdk::types::StreamStatus::Disabling)
        ) {
            self.disabled = true;
        }
        self.add_shards(listed);
        self.discovered = Instant::now();
        self.rediscover = false;
        Ok(())
    }

    fn add_shards(&mut self, listed: Vec<ShardInfo>) {
        let first_discovery = self.shards.is_empty();
        for info in parent_first(&listed) {
            if let Some(known) = self
                .shards
                .iter_mut()
                .find(|s| s.info.shard_id == info.shard_id)
            {
                known.info = info;
                continue;
            }
            let id = info.shard_id.clone();
            let start = match self.checkpoint.position(&id) {
                Some(seq) => Position::After(seq.to_owned()),
                None => match (&self.start, first_discovery) {
                    (StartAt::Latest, true) => Position::Latest,
                    (
                        StartAt::AtSequenceNumber {
                            shard_id,
                            sequence_number,
                        },
                        true,
                    ) if *shard_id == id => Position::At(sequence_number.clone()),
                    (
                        StartAt::AfterSequenceNumber {
                            shard_id,
                            sequence_number,
                        },
                        true,
                    ) if *shard_id == id => Position::After(sequence_number.clone()),
                    _ => Position::TrimHorizon,
                },
            };
            let finished = self.checkpoint.is_finished(&id);
            self.shards.push(Shard {
                info,
                start,
                iterator: None,
                fetched: None,
                last_call: None,
                caught_up: false,
                finished,
                skipped: false,
            });
        }
        // Ancestors of the shards a checkpoint or start position names are behind them:
        // skipped (their records were read, or are before the start).
        let mut named: Vec<String> = self.checkpoint.shards.keys().cloned().collect();
        named.extend(self.checkpoint.finished.iter().cloned());
        if let StartAt::AtSequenceNumber { shard_id, .. }
        | StartAt::AfterSequenceNumber { shard_id, .. } = &self.start
        {
            named.push(shard_id.clone());
        }
        if first_discovery && self.start == StartAt::Latest {
            // Latest: only the shards open now are read, from their end. A closed shard that
            // has children holds nothing newer than them; one without children is read from
            // its end too (nothing comes on DynamoDB; engines that report a range end on an
            // open shard keep writing to it).
            let parents: BTreeSet<String> = self
                .shards
                .iter()
                .filter_map(|s| s.info.parent_shard_id.clone())
                .collect();
            for s in &mut self.shards {
                if s.info.is_closed()
                    && parents.contains(&s.info.shard_id)
                    && self.checkpoint.position(&s.info.shard_id).is_none()
                {
                    s.skipped = true;
                }
            }
        }
        let parents: HashMap<String, Option<String>> = self
            .shards
            .iter()
            .map(|s| (s.info.shard_id.clone(), s.info.parent_shard_id.clone()))
            .collect();
        let mut ancestors = BTreeSet::new();
        for n in named {
            let mut cur = parents.get(&n).cloned().flatten();
            while let Some(p) = cur {
                if !ancestors.insert(p.clone()) {
                    break;
                }
                cur = parents.get(&p).cloned().flatten();
            }
        }
        for s in &mut self.shards {
            if ancestors.contains(&s.info.shard_id) {
                s.skipped = true;
            }
        }
    }

    /// `LATEST` means "after the newest record when the reader opened", so those iterators
    /// are made now: made lazily, at the first read, they would skip what was written since.
    async fn pin_latest(&mut self) -> Result<()> {
        for i in 0..self.shards.len() {
            if self.shards[i].start == Position::Latest && self.shards[i].iterator.is_none() {
                self.iterator(i).await?;
            }
        }
        Ok(())
    }

    /// Whether `s` may be read now: not done, and its parent (if still listed) done.
    fn ready(&self, i: usize) -> bool {
        let s = &self.shards[i];
        if s.finished || s.skipped {
            return false;
        }
        match s.info.parent_shard_id.as_deref() {
            None => true,
            Some(p) => self
                .shards
                .iter()
                .find(|o| o.info.shard_id == p)
                .is_none_or(|o| o.finished || o.skipped),
        }
    }

    /// One step: reads one ready shard (round robin), or waits, or ends the reader.
    async fn poll(&mut self) -> Result<()> {
        if self.rediscover
            || (self.follow && !self.disabled && self.discovered.elapsed() >= REDISCOVER_EVERY)
        {
            match self.discover().await {
                Ok(()) => {}
                // Disabled: DynamoDB keeps it listed as DISABLED; engines forget it.
                Err(e) if e.is_no_stream() => {
                    self.disabled = true;
                    self.rediscover = false;
                }
                Err(e) => return Err(e),
            }
        }
        let ready: Vec<usize> = (0..self.shards.len()).filter(|&i| self.ready(i)).collect();
        if ready.is_empty() {
            if self.disabled || !self.follow {
                self.done = true;
                return Ok(());
            }
            // Every shard is closed and read: the stream has children to come, or none.
            tokio::time::sleep(self.poll_interval).await;
            self.rediscover = true;
            return Ok(());
        }
        if ready.iter().all(|&i| self.shards[i].caught_up) {
            if self.disabled || !self.follow {
                self.done = true;
                return Ok(());
            }
            tokio::time::sleep(self.poll_interval).await;
            for &i in &ready {
                self.shards[i].caught_up = false;
            }
            return Ok(());
        }
        // Round robin: the first ready shard at or after the cursor, wrapping around.
        let pick = ready
            .iter()
            .copied()
            .filter(|&i| i >= self.cursor)
            .chain(ready.iter().copied().filter(|&i| i < self.cursor))
            .find(|&i| !self.shards[i].caught_up)
            .expect("a ready shard that is not caught up");
        self.cursor = pick + 1;
        self.read_shard(pick).await
    }

    /// A usable iterator of shard `i`, from where the reader got to.
    async fn iterator(&mut self, i: usize) -> Result<String> {
        if let Some((it, made)) = &self.shards[i].iterator
            && made.elapsed() < limits::ITERATOR_LIFETIME - limits::ITERATOR_RENEW_MARGIN
        {
            return Ok(it.clone());
        }
        let shard = &self.shards[i];
        let from = match &shard.fetched {
            Some(seq) => Position::After(seq.clone()),
            None => shard.start.clone(),
        };
        let it = match self.shard_iterator(i, &from).await {
            Err(e) if has_code(&e, "TrimmedDataAccessException") => {
                self.trimmed(i, &from, e)?;
                self.shard_iterator(i, &Position::TrimHorizon).await?
            }
            other => other?,
        };
        match it {
            Some(it) => {
                self.shards[i].iterator = Some((it.clone(), Instant::now()));
                Ok(it)
            }
            None => Err(Error::validation(format!(
                "GetShardIterator returned no iterator for shard {}",
                self.shards[i].info.shard_id
            ))),
        }
    }

    async fn shard_iterator(&self, i: usize, from: &Position) -> Result<Option<String>> {
        let sdk = &self.sdk;
        let arn = &self.arn;
        let shard = &self.shards[i].info.shard_id;
        let out = send(&self.client, call::<M>("GetShardIterator"), || {
            get_shard_iterator::<M>(sdk, arn, shard, from).send()
        })
        .await?;
        Ok(out.shard_iterator)
    }

    /// Records after `from` are gone: an error, or (with `skip_trimmed`) a warning.
    fn trimmed(&self, i: usize, from: &Position, source: Error) -> Result<()> {
        let shard_id = self.shards[i].info.shard_id.clone();
        let sequence_number = match from {
            Position::At(s) | Position::After(s) => Some(s.clone()),
            _ => None,
        };
        if self.skip_trimmed {
            tracing::warn!(
                stream = %self.arn, shard = %shard_id, after = ?sequence_number,
                "stream records were trimmed; going on from the oldest record left"
            );
            return Ok(());
        }
        Err(Error::StreamTrimmed {
            table: M::TABLE.to_owned(),
            shard_id,
            sequence_number,
            source: Box::new(source),
        })
    }

    async fn read_shard(&mut self, i: usize) -> Result<()> {
        let spacing = Duration::from_secs(1) / limits::GET_RECORDS_PER_SECOND_PER_SHARD;
        if let Some(last) = self.shards[i].last_call {
            let since = last.elapsed();
            if since < spacing {
                tokio::time::sleep(spacing - since).await;
            }
        }
        let mut renewed = false;
        let out = loop {
            let iterator = self.iterator(i).await?;
            self.shards[i].last_call = Some(Instant::now());
            let sdk = &self.sdk;
            let limit = self.limit;
            let result = send(&self.client, call::<M>("GetRecords"), || {
                get_records::<M>(sdk, &iterator, limit).send()
            })
            .await;
            match result {
                Ok(out) => break out,
                // Expired (15 minutes) or refused: a new iterator from the same position, once.
                Err(e) if has_code(&e, "ExpiredIteratorException") && !renewed => {
                    tracing::debug!(shard = %self.shards[i].info.shard_id, "shard iterator expired; made again");
                    self.shards[i].iterator = None;
                    renewed = true;
                }
                Err(e) if has_code(&e, "TrimmedDataAccessException") && !renewed => {
                    let from = match &self.shards[i].fetched {
                        Some(seq) => Position::After(seq.clone()),
                        None => self.shards[i].start.clone(),
                    };
                    self.trimmed(i, &from, e)?;
                    self.shards[i].iterator = None;
                    self.shards[i].fetched = None;
                    self.shards[i].start = Position::TrimHorizon;
                    renewed = true;
                }
                Err(e) => {
                    if e.is_not_found() {
                        self.rediscover = true;
                    }
                    return Err(e);
                }
            }
        };
        let shard_id = self.shards[i].info.shard_id.clone();
        let records = out.records.unwrap_or_default();
        let shard = &mut self.shards[i];
        shard.caught_up = records.is_empty();
        match out.next_shard_iterator {
            Some(next) => shard.iterator = Some((next, Instant::now())),
            None => {
                // Closed and read to its end: its children come next.
                shard.iterator = None;
                shard.finished = true;
                self.checkpoint.finished.insert(shard_id.clone());
                self.rediscover = true;
            }
        }
        for r in records {
            let raw = raw_record(&shard_id, r)?;
            self.shards[i].fetched = Some(raw.sequence_number.clone());
            self.buffer.push_back(raw);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>, closed: bool) -> ShardInfo {
        ShardInfo {
            shard_id: id.into(),
            parent_shard_id: parent.map(Into::into),
            starting_sequence_number: Some("100000000000000000001".into()),
            ending_sequence_number: closed.then(|| "100000000000000000009".into()),
        }
    }

    #[test]
    fn parents_come_before_children_whatever_the_listing_order() {
        let listed = vec![
            shard("c2", Some("b"), false),
            shard("b", Some("a"), true),
            shard("c1", Some("b"), false),
            shard("a", Some("trimmed-away"), true),
            shard("x", None, false),
        ];
        let order: Vec<String> = parent_first(&listed)
            .into_iter()
            .map(|s| s.shard_id)
            .collect();
        let at = |id: &str| order.iter().position(|s| s == id).unwrap();
        assert_eq!(order.len(), 5);
        assert!(at("a") < at("b"));
        assert!(at("b") < at("c1"));
        assert!(at("b") < at("c2"));
        // A cycle cannot hang it.
        let cycle = vec![shard("p", Some("q"), true), shard("q", Some("p"), true)];
        assert_eq!(parent_first(&cycle).len(), 2);
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(sequence_order("100000000000000000009", "100000000000000000010").is_lt());
        assert!(sequence_order("999999999999999999999", "1000000000000000000000").is_lt());
        let mut c = Checkpoint::new("arn:aws:dynamodb:r:1:table/t/stream/l");
        c.advance_to("s", "100000000000000000010");
        c.advance_to("s", "100000000000000000009");
        assert_eq!(c.position("s"), Some("100000000000000000010"));
    }

    #[test]
    fn checkpoints_round_trip_and_damaged_ones_are_refused() {
        let mut c = Checkpoint::new("arn:aws:dynamodb:r:1:table/t/stream/l");
        c.advance_to("shard-1", "100000000000000000042");
        c.finished.insert("shard-0".into());
        let back = Checkpoint::parse(&c.to_token()).unwrap();
        assert_eq!(back, c);
        for bad in [
            "",
            "{}",
            r#"{"v":2,"stream_arn":"arn:aws:dynamodb:r:1:table/t/stream/l","shards":{},"finished":[]}"#,
            r#"{"v":1,"stream_arn":"arn:aws:dynamodb:r:1:table/t","shards":{},"finished":[]}"#,
            r#"{"v":1,"stream_arn":"arn:aws:dynamodb:r:1:table/t/stream/l","shards":{"s":"12x"},"finished":[]}"#,
        ] {
            let e = Checkpoint::parse(bad).unwrap_err();
            assert!(e.is_validation(), "{bad}: {e}");
        }
    }

    #[test]
    fn stream_attribute_values_convert_deeply() {
        use sdk::types::AttributeValue as S;
        let v = S::M(HashMap::from([
            ("l".to_owned(), S::L(vec![S::N("1".into()), S::Bool(true)])),
            ("b".to_owned(), S::B(sdk::primitives::Blob::new(vec![1, 2]))),
            ("ss".to_owned(), S::Ss(vec!["a".into()])),
        ]));
        let AttributeValue::M(m) = attribute(v) else {
            panic!("a map")
        };
        assert_eq!(
            m["l"],
            AttributeValue::L(vec![
                AttributeValue::N("1".into()),
                AttributeValue::Bool(true)
            ])
        );
        assert_eq!(
            m["b"],
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(vec![1, 2]))
        );
        assert_eq!(m["ss"], AttributeValue::Ss(vec!["a".into()]));
    }
}
