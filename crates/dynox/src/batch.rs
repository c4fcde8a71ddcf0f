//! Batch reads and writes across tables: chunked to DynamoDB's limits (100 keys, 25 writes),
//! unprocessed entries retried with capped exponential backoff and full jitter, and nothing
//! dropped silently: what could not be done comes back in the error.

use crate::capacity::Capacity;
use crate::error::{Error, Result};
use crate::layers::classify;
use crate::model::{Model, ModelKey};
use crate::observe::{self, Logical};
use crate::{AttributeValue, Client, Item};
use aws_sdk_dynamodb::types::{
    ConsumedCapacity, DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest,
};
use dynox_iam::{ResourceRef, actions::dynamodb, mark};
use futures::stream::{self, Stream, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// DynamoDB's limit of keys per `BatchGetItem`.
pub const MAX_GET_KEYS: usize = 100;
/// DynamoDB's limit of requests per `BatchWriteItem`.
pub const MAX_WRITES: usize = 25;

/// How unprocessed entries are retried: capped exponential backoff with full jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Attempts per chunk, the first included.
    pub max_attempts: u32,
    /// The first backoff ceiling; it doubles per attempt.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: 10,
            base_delay: Duration::from_millis(25),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl Retry {
    /// The pause before retry number `attempt` (1-based): uniform in `[0, min(max, base·2^n)]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        crate::layers::retry::full_jitter(self.base_delay, self.max_delay, attempt)
    }
}

/// Batch and transaction writes do not encrypt: refuse models whose fields would need it.
pub(crate) fn refuse_encrypted<M: Model>(what: &str) -> Result<()> {
    if M::ENCRYPTED_ATTRIBUTES.is_empty() {
        return Ok(());
    }
    Err(Error::Encryption {
        message: format!(
            "{what} do not encrypt fields: write {} with put or save",
            M::NAME
        ),
        source: None,
    })
}

/// A canonical form of a key item, for finding duplicates.
fn fingerprint(table: &str, key: &Item) -> Vec<u8> {
    let mut names: Vec<&String> = key.keys().collect();
    names.sort();
    let mut out = table.as_bytes().to_vec();
    for n in names {
        out.push(0);
        out.extend_from_slice(n.as_bytes());
        out.push(0);
        match &key[n] {
            AttributeValue::S(s) => {
                out.push(b'S');
                out.extend_from_slice(s.as_bytes());
            }
            AttributeValue::N(s) => {
                out.push(b'N');
                out.extend_from_slice(s.as_bytes());
            }
            AttributeValue::B(b) => {
                out.push(b'B');
                out.extend_from_slice(b.as_ref());
            }
            other => out.extend_from_slice(format!("{other:?}").as_bytes()),
        }
    }
    out
}

/// The key part of a whole item, by a model's key attribute names.
pub(crate) fn key_of<M: Model>(item: &Item) -> Item {
    std::iter::once(M::PARTITION_KEY.name)
        .chain(M::SORT_KEY.map(|k| k.name))
        .filter_map(|n| item.get(n).map(|v| (n.to_owned(), v.clone())))
        .collect()
}

impl Client {
    /// Reads many items by key, across tables.
    pub fn batch_get(&self) -> BatchGet<'_> {
        BatchGet {
            client: self,
            keys: Vec::new(),
            seen: HashSet::new(),
            consistent: HashSet::new(),
            error: None,
            retry: Retry::default(),
            concurrency: 4,
            capacity: None,
        }
    }

    /// Writes (puts and deletes) many items, across tables.
    pub fn batch_write(&self) -> BatchWrite<'_> {
        BatchWrite {
            client: self,
            entries: Vec::new(),
            seen: HashSet::new(),
            error: None,
            retry: Retry::default(),
            concurrency: 4,
            capacity: None,
        }
    }

    /// Writes an unbounded stream of puts and deletes, 25 to a request, with at most
    /// `concurrency` requests in flight. Returns how many were written; if any could not be,
    /// the error carries exactly those.
    ///
    /// Writes to the same key are not reordered within a request, but requests in flight at the
    /// same time may land in any order: use `concurrency = 1` when a stream writes one key twice.
    pub async fn write_stream(
        &self,
        writes: impl Stream<Item = Write> + Send,
        concurrency: usize,
        retry: Retry,
    ) -> Result<usize> {
        // After a request fails outright (a missing table, a denied permission), no more of the
        // stream is pulled: requests in flight finish, and the error tells what was written.
        let logical = Logical::start(self, "batch_write", "", "");
        logical
            .run(async {
                let stop = AtomicBool::new(false);
                let mut results = std::pin::pin!(
                    chunk_writes(writes.boxed(), &stop)
                        .map(|chunk| async {
                            if stop.load(Ordering::Relaxed) {
                                // Pulled before the failure, not sent: reported unwritten.
                                ChunkResult {
                                    unwritten: chunk,
                                    ..ChunkResult::default()
                                }
                            } else {
                                write_chunk(self, chunk, retry, None).await
                            }
                        })
                        .buffer_unordered(concurrency.max(1))
                );
                let mut total = ChunkResult::default();
                while let Some(mut r) = results.next().await {
                    if r.stop {
                        stop.store(true, Ordering::Relaxed);
                    }
                    // A stream can be endless: keep counts, not per-request capacity.
                    r.consumed.clear();
                    total.absorb(r);
                }
                finish_writes(vec![total]).map(|o| o.written)
            })
            .await
    }
}

/// A pending batch read: see [`Client::batch_get`].
#[must_use = "a request does nothing until it is sent"]
pub struct BatchGet<'c> {
    client: &'c Client,
    keys: Vec<(&'static str, Item)>,
    seen: HashSet<Vec<u8>>,
    consistent: HashSet<&'static str>,
    error: Option<Error>,
    retry: Retry,
    concurrency: usize,
    capacity: Option<Capacity>,
}

impl std::fmt::Debug for BatchGet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchGet")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl<'c> BatchGet<'c> {
    /// Adds keys of model `M` (any number; repeated keys are read once).
    pub fn get<M: Model>(mut self, keys: impl IntoIterator<Item = M::Key>) -> Self {
        mark!(
            dynamodb::BATCH_GET_ITEM,
            ResourceRef::Table(M::TABLE),
            "batch_get",
            [M::NAME],
            context: [M::TENANT_KEY]
        );
        for key in keys {
            match key.to_key_item() {
                Ok(item) => {
                    if self.seen.insert(fingerprint(M::TABLE, &item)) {
                        self.keys.push((M::TABLE, item));
                    }
                }
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
        self
    }

    /// Reads `M`'s table with strongly consistent reads.
    pub fn consistent<M: Model>(mut self) -> Self {
        self.consistent.insert(M::TABLE);
        self
    }

    /// How unprocessed keys are retried.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// How many requests may be in flight at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Reports consumed capacity.
    pub fn return_consumed_capacity(mut self, which: Capacity) -> Self {
        self.capacity = Some(which);
        self
    }

    /// Sends the requests. Items come back per table; take them with [`BatchGetOutput::take`].
    pub async fn send(self) -> Result<BatchGetOutput> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let client = self.client;
        let retry = self.retry;
        let consistent = &self.consistent;
        let capacity = self.capacity;
        // Keys are moved into their chunks, cut only as the chunks are sent.
        let mut keys = self.keys.into_iter();
        let chunks = std::iter::from_fn(|| {
            let chunk: Vec<(&'static str, Item)> = keys.by_ref().take(MAX_GET_KEYS).collect();
            (!chunk.is_empty()).then_some(chunk)
        });
        let logical = Logical::start(client, "batch_get", "", "");
        // The chunks' futures are made before the first await (each does nothing until polled):
        // a closure kept across an await would make the send future not `Send` for every
        // lifetime, and so not awaitable as a boxed future.
        let requests: Vec<_> = chunks
            .map(|chunk| get_chunk(client, chunk, consistent, capacity, retry))
            .collect();
        let results: Vec<GetChunk> = logical
            .run(
                stream::iter(requests)
                    .buffer_unordered(self.concurrency)
                    .collect(),
            )
            .await;
        // Every chunk's items are kept, whatever happened to the others; the error reports
        // them all, with exactly the keys that were not read.
        let mut out = BatchGetOutput::default();
        let mut unprocessed: HashMap<String, Vec<Item>> = HashMap::new();
        let mut cause = None;
        for r in results {
            for (table, mut list) in r.items {
                out.items.entry(table).or_default().append(&mut list);
            }
            out.consumed_capacity.extend(r.consumed);
            for (table, mut keys) in r.unprocessed {
                unprocessed.entry(table).or_default().append(&mut keys);
            }
            if cause.is_none() {
                cause = r.cause;
            }
        }
        if unprocessed.is_empty() && cause.is_none() {
            Ok(out)
        } else {
            Err(Error::BatchGetIncomplete {
                unprocessed,
                found: out.items,
                cause: cause.map(Box::new),
            })
        }
    }
}

/// What one chunk of a batch read found, what it consumed, and what it could not read.
#[derive(Default)]
struct GetChunk {
    items: HashMap<String, Vec<Item>>,
    consumed: Vec<ConsumedCapacity>,
    unprocessed: HashMap<String, Vec<Item>>,
    cause: Option<Error>,
}

/// Whether a failed batch request is worth sending again: what the retry layer would retry
/// (throttles, 5xx, lost answers), including a write whose answer was lost: batch writes are
/// puts and deletes, which may be repeated.
fn worth_repeating(e: &Error) -> Option<classify::Retry> {
    let e = match e {
        Error::OutcomeUnknown { source, .. } => source,
        other => other,
    };
    match classify::failure(e).retry {
        classify::Retry::Never => None,
        kind => Some(kind),
    }
}

/// The rounds of one chunk: their count and the retry budget their failed requests took.
struct Rounds<'c> {
    client: &'c Client,
    retry: Retry,
    round: u32,
    spent: u32,
    /// The budget ran out: no request of this client should be repeated now.
    out_of_budget: bool,
}

impl<'c> Rounds<'c> {
    fn new(client: &'c Client, retry: Retry) -> Self {
        Rounds {
            client,
            retry,
            round: 0,
            spent: 0,
            out_of_budget: false,
        }
    }

    /// A request of this chunk succeeded: what its failed predecessors took goes back.
    fn succeeded(&mut self) {
        self.client.shared().budget.release(self.spent);
        self.spent = 0;
    }

    /// Pauses before the next round; `false`: give up. Entries left unprocessed wait by the
    /// batch backoff; a request that failed also draws from the client's retry budget and
    /// waits by the client's retry policy for its kind of failure (1 s base for throttles).
    async fn pause(&mut self, failed: Option<classify::Retry>) -> bool {
        if self.round >= self.retry.max_attempts {
            return false;
        }
        let delay = match failed {
            Some(kind) => match self.client.shared().budget.acquire(kind) {
                Some(cost) => {
                    self.spent += cost;
                    self.client
                        .resilience()
                        .retry
                        .delay(kind, self.round)
                        .max(self.retry.delay(self.round))
                }
                None => {
                    self.out_of_budget = true;
                    return false;
                }
            },
            None => self.retry.delay(self.round),
        };
        tokio::time::sleep(delay).await;
        true
    }
}

async fn get_chunk(
    client: &Client,
    chunk: Vec<(&'static str, Item)>,
    consistent: &HashSet<&'static str>,
    capacity: Option<Capacity>,
    retry: Retry,
) -> GetChunk {
    let mut out = GetChunk::default();
    let mut request: HashMap<String, KeysAndAttributes> = HashMap::new();
    let mut by_table: HashMap<&str, Vec<Item>> = HashMap::new();
    for (table, key) in chunk {
        by_table.entry(table).or_default().push(key);
    }
    for (table, keys) in by_table {
        // The builder fails only without keys, and they are set: nothing to report.
        let ka = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .set_consistent_read(consistent.contains(table).then_some(true))
            .build();
        match ka {
            Ok(ka) => {
                request.insert(table.to_owned(), ka);
            }
            Err(e) => {
                out.cause.get_or_insert(Error::validation(e.to_string()));
            }
        }
    }
    let mut rounds = Rounds::new(client, retry);
    while !request.is_empty() {
        rounds.round += 1;
        // One copy per attempt: the keys stay, to be sent again or reported unread.
        let req = client
            .sdk()
            .batch_get_item()
            .set_request_items(Some(request.clone()))
            .set_return_consumed_capacity(capacity.map(Capacity::to_sdk));
        let failed = match client.send(req).await {
            Ok(answer) => {
                rounds.succeeded();
                out.cause = None;
                for (table, mut list) in answer.responses.unwrap_or_default() {
                    out.items.entry(table).or_default().append(&mut list);
                }
                out.consumed
                    .extend(answer.consumed_capacity.unwrap_or_default());
                request = answer.unprocessed_keys.unwrap_or_default();
                request.retain(|_, ka| !ka.keys.is_empty());
                None
            }
            // A failed request read nothing: all of it is left, like unprocessed keys.
            Err(e) => match worth_repeating(&e) {
                Some(kind) => {
                    out.cause = Some(e);
                    Some(kind)
                }
                None => {
                    out.cause = Some(e);
                    break;
                }
            },
        };
        if request.is_empty() || !rounds.pause(failed).await {
            break;
        }
    }
    for (table, ka) in request {
        observe::batch_leftovers(client, "BatchGetItem", &table, ka.keys.len());
        out.unprocessed.entry(table).or_default().extend(ka.keys);
    }
    out
}

/// The items a batch read found, per table.
#[derive(Debug, Default)]
pub struct BatchGetOutput {
    items: HashMap<String, Vec<Item>>,
    /// Consumed capacity of every request, when asked for.
    pub consumed_capacity: Vec<ConsumedCapacity>,
}

impl BatchGetOutput {
    /// Takes the items of `M`'s table, decoded (in no particular order; missing keys are simply
    /// absent).
    pub fn take<M: Model>(&mut self) -> Result<Vec<M>> {
        self.items
            .remove(M::TABLE)
            .unwrap_or_default()
            .into_iter()
            .map(M::from_item)
            .collect()
    }

    /// Takes the raw items of a table.
    pub fn take_raw(&mut self, table: &str) -> Vec<Item> {
        self.items.remove(table).unwrap_or_default()
    }
}

/// One write of a batch: a put or a delete on a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Write {
    table: String,
    key: Item,
    /// The whole item for a put; `None` for a delete.
    item: Option<Item>,
}

impl Write {
    /// A put of a model item.
    pub fn put<M: Model>(item: &M) -> Result<Write> {
        mark!(
            dynamodb::BATCH_WRITE_ITEM,
            ResourceRef::Table(M::TABLE),
            "batch_write",
            [M::NAME],
            context: [M::TENANT_KEY]
        );
        refuse_encrypted::<M>("batch writes")?;
        let item = item.to_item()?;
        crate::size::check::<M>(&item)?;
        Ok(Write {
            table: M::TABLE.to_owned(),
            key: key_of::<M>(&item),
            item: Some(item),
        })
    }

    /// A delete by key.
    pub fn delete<M: Model>(key: &M::Key) -> Result<Write> {
        mark!(
            dynamodb::BATCH_WRITE_ITEM,
            ResourceRef::Table(M::TABLE),
            "batch_write",
            [M::NAME],
            context: [M::TENANT_KEY]
        );
        Ok(Write {
            table: M::TABLE.to_owned(),
            key: key.to_key_item()?,
            item: None,
        })
    }

    /// The table written.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The key of the item written.
    pub fn key(&self) -> &Item {
        &self.key
    }

    /// The whole item, for a put; `None` for a delete.
    pub fn item(&self) -> Option<&Item> {
        self.item.as_ref()
    }

    fn fingerprint(&self) -> Vec<u8> {
        fingerprint(&self.table, &self.key)
    }

    fn to_sdk(&self) -> Result<WriteRequest> {
        let bad = |e: aws_sdk_dynamodb::error::BuildError| Error::validation(e.to_string());
        Ok(match &self.item {
            Some(item) => WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map_err(bad)?,
                )
                .build(),
            None => WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .set_key(Some(self.key.clone()))
                        .build()
                        .map_err(bad)?,
                )
                .build(),
        })
    }
}

/// A pending batch write: see [`Client::batch_write`].
///
/// Items given by reference to [`put_all`](Self::put_all) are not copied into the builder:
/// each is checked when added (its key for duplicates, its encoding and size) and encoded again
/// when its request is built, so the memory a batch takes beyond the caller's items is a few
/// requests' worth, whatever its length.
#[must_use = "a request does nothing until it is sent"]
pub struct BatchWrite<'c> {
    client: &'c Client,
    entries: Vec<Entry<'c>>,
    seen: HashSet<Vec<u8>>,
    error: Option<Error>,
    retry: Retry,
    concurrency: usize,
    capacity: Option<Capacity>,
}

/// One write of a batch, as the builder holds it until its request is built.
enum Entry<'c> {
    /// A write built already (a delete, or a write given whole): moved into its chunk.
    Built(Box<Write>),
    /// A put of the caller's item, encoded when its chunk is sent.
    Borrowed(&'c dyn EncodePut),
}

/// A model item that can be encoded as a batch put, without naming its type.
trait EncodePut: Sync {
    fn encode_put(&self) -> Result<Write>;
}

impl<M: Model> EncodePut for M {
    fn encode_put(&self) -> Result<Write> {
        Write::put(self)
    }
}

impl Entry<'_> {
    fn into_write(self) -> Result<Write> {
        match self {
            Entry::Built(w) => Ok(*w),
            Entry::Borrowed(item) => item.encode_put(),
        }
    }
}

impl std::fmt::Debug for BatchWrite<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWrite")
            .field("writes", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl<'c> BatchWrite<'c> {
    /// A second write of one item: DynamoDB refuses the request, so dynox refuses the batch.
    fn duplicate(&mut self, table: &str, key: &Item) {
        self.error.get_or_insert(Error::validation(format!(
            "a batch write names the same item twice (table {table}, key {}); DynamoDB \
             refuses that and the outcome would depend on order",
            crate::error::describe_key(key)
        )));
    }

    /// Takes `write` in as `entry`, unless it failed or names an item already in the batch.
    fn add(&mut self, write: Result<Write>, entry: impl FnOnce(Write) -> Entry<'c>) {
        match write {
            Ok(w) if !self.seen.insert(w.fingerprint()) => self.duplicate(&w.table, &w.key),
            Ok(w) => self.entries.push(entry(w)),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    /// Adds a write built elsewhere (see [`Write::put`], [`Write::delete`]).
    pub fn write(mut self, write: Result<Write>) -> Self {
        self.add(write, |w| Entry::Built(Box::new(w)));
        self
    }

    /// Adds a put of `item` (encoded now).
    pub fn put<M: Model>(self, item: &M) -> Self {
        self.write(Write::put(item))
    }

    /// Adds puts of every item. The items are borrowed, not copied: each is encoded here to be
    /// checked (so a batch with a bad item is refused before anything is sent), the encoding
    /// is dropped, and it is encoded again when its request is built.
    pub fn put_all<M: Model>(mut self, items: impl IntoIterator<Item = &'c M>) -> Self {
        for item in items {
            self.add(Write::put(item), |_| Entry::Borrowed(item));
        }
        self
    }

    /// Adds a delete by key.
    pub fn delete<M: Model>(self, key: M::Key) -> Self {
        self.write(Write::delete::<M>(&key))
    }

    /// How unprocessed items are retried.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// How many requests may be in flight at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Reports consumed capacity in [`BatchWriteOutput::consumed_capacity`] (not asked for
    /// unless set).
    pub fn return_consumed_capacity(mut self, which: Capacity) -> Self {
        self.capacity = Some(which);
        self
    }

    /// Sends the writes. Refused whole, before anything is sent, when an item does not encode
    /// or one item is named twice.
    pub async fn send(self) -> Result<BatchWriteOutput> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let client = self.client;
        let retry = self.retry;
        let capacity = self.capacity;
        let mut entries = self.entries.into_iter();
        // Chunks are cut and encoded only as they are sent: `concurrency` of them at a time.
        let chunks = std::iter::from_fn(|| {
            let chunk: Vec<Entry<'_>> = entries.by_ref().take(MAX_WRITES).collect();
            (!chunk.is_empty()).then_some(chunk)
        });
        let logical = Logical::start(client, "batch_write", "", "");
        // Made before the first await, as in `BatchGet::send`; each encodes its chunk when polled.
        let requests: Vec<_> = chunks
            .map(|chunk: Vec<Entry<'c>>| async move {
                let mut writes = Vec::with_capacity(chunk.len());
                for entry in chunk {
                    match entry.into_write() {
                        Ok(w) => writes.push(w),
                        // Checked when added: only an item whose encoding changed since (by
                        // interior mutability) gets here. Its chunk is not sent.
                        Err(e) => {
                            return ChunkResult {
                                stop: true,
                                unwritten: writes,
                                cause: Some(e),
                                ..ChunkResult::default()
                            };
                        }
                    }
                }
                write_chunk(client, writes, retry, capacity).await
            })
            .collect();
        let results: Vec<ChunkResult> = logical
            .run(
                stream::iter(requests)
                    .buffer_unordered(self.concurrency)
                    .collect(),
            )
            .await;
        finish_writes(results)
    }
}

/// What a batch write did.
#[derive(Debug, Default)]
pub struct BatchWriteOutput {
    /// How many writes were applied.
    pub written: usize,
    /// Consumed capacity of every request.
    pub consumed_capacity: Vec<ConsumedCapacity>,
}

#[derive(Default)]
struct ChunkResult {
    /// The writer should stop pulling: this chunk failed for a reason that will not pass.
    stop: bool,
    written: usize,
    consumed: Vec<ConsumedCapacity>,
    unwritten: Vec<Write>,
    unknown: Vec<Write>,
    cause: Option<Error>,
}

impl ChunkResult {
    fn absorb(&mut self, other: ChunkResult) {
        self.stop |= other.stop;
        self.written += other.written;
        self.consumed.extend(other.consumed);
        self.unwritten.extend(other.unwritten);
        self.unknown.extend(other.unknown);
        if self.cause.is_none() {
            self.cause = other.cause;
        }
    }
}

/// A write still to do, and whether a request that carried it may have applied it.
struct Pending {
    write: Write,
    maybe_applied: bool,
}

async fn write_chunk(
    client: &Client,
    chunk: Vec<Write>,
    retry: Retry,
    capacity: Option<Capacity>,
) -> ChunkResult {
    let total = chunk.len();
    let mut pending: Vec<Pending> = chunk
        .into_iter()
        .map(|write| Pending {
            write,
            maybe_applied: false,
        })
        .collect();
    let mut consumed = Vec::new();
    let mut cause = None;
    let mut rounds = Rounds::new(client, retry);
    while !pending.is_empty() {
        rounds.round += 1;
        // Each write is copied once per attempt, into its request: the original stays, to be
        // sent again or reported exactly as given.
        let mut request: HashMap<String, Vec<WriteRequest>> = HashMap::with_capacity(1);
        let mut unbuildable = None;
        for p in &pending {
            match p.write.to_sdk() {
                Ok(r) => match request.get_mut(p.write.table()) {
                    Some(list) => list.push(r),
                    None => {
                        let mut list = Vec::with_capacity(pending.len());
                        list.push(r);
                        request.insert(p.write.table().to_owned(), list);
                    }
                },
                Err(e) => {
                    unbuildable = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = unbuildable {
            cause = Some(e);
            break;
        }
        let req = client
            .sdk()
            .batch_write_item()
            .set_request_items(Some(request))
            .set_return_consumed_capacity(capacity.map(Capacity::to_sdk));
        let failed = match client.send(req).await {
            Ok(out) => {
                rounds.succeeded();
                cause = None;
                consumed.extend(out.consumed_capacity.unwrap_or_default());
                pending = still_pending(pending, out.unprocessed_items.unwrap_or_default());
                None
            }
            Err(e) => {
                // A request whose answer was lost may have written all of it.
                let lost = e.is_outcome_unknown()
                    || classify::failure(&e).reached == classify::Reached::Maybe;
                if lost {
                    for p in &mut pending {
                        p.maybe_applied = true;
                    }
                }
                let kind = worth_repeating(&e);
                cause = Some(e);
                match kind {
                    Some(kind) => Some(kind),
                    None => break,
                }
            }
        };
        if pending.is_empty() || !rounds.pause(failed).await {
            break;
        }
    }
    let (unknown, unwritten): (Vec<Pending>, Vec<Pending>) =
        pending.into_iter().partition(|p| p.maybe_applied);
    let mut left: HashMap<&str, usize> = HashMap::new();
    for p in unknown.iter().chain(&unwritten) {
        *left.entry(p.write.table.as_str()).or_default() += 1;
    }
    for (table, n) in left {
        observe::batch_leftovers(client, "BatchWriteItem", table, n);
    }
    // A failure that will not pass, or an empty budget, stops a stream; anything else (rounds
    // used up on throttles, say) is reported and the stream goes on.
    let stop = rounds.out_of_budget || cause.as_ref().is_some_and(|e| worth_repeating(e).is_none());
    ChunkResult {
        stop,
        written: total - unknown.len() - unwritten.len(),
        consumed,
        unwritten: unwritten.into_iter().map(|p| p.write).collect(),
        unknown: unknown.into_iter().map(|p| p.write).collect(),
        cause,
    }
}

/// What is left after a successful request: the writes it returned unprocessed, matched to
/// the ones sent by table and key (keys are unique within a request), so that what is reported
/// is exactly what the caller gave. An entry that matches nothing is kept as it came back.
fn still_pending(
    sent: Vec<Pending>,
    unprocessed: HashMap<String, Vec<WriteRequest>>,
) -> Vec<Pending> {
    if unprocessed.is_empty() {
        return Vec::new();
    }
    let key_names: HashMap<String, Vec<String>> = sent
        .iter()
        .map(|p| (p.write.table.clone(), p.write.key.keys().cloned().collect()))
        .collect();
    let mut by_key: HashMap<Vec<u8>, Pending> = sent
        .into_iter()
        .map(|p| (p.write.fingerprint(), p))
        .collect();
    let mut left = Vec::new();
    for (table, ws) in unprocessed {
        let names = key_names.get(&table).cloned().unwrap_or_default();
        for w in ws {
            let (key, item) = match (w.put_request, w.delete_request) {
                (Some(p), _) => {
                    let key: Item = names
                        .iter()
                        .filter_map(|n| p.item.get(n).map(|v| (n.clone(), v.clone())))
                        .collect();
                    (key, Some(p.item))
                }
                (None, Some(d)) => (d.key, None),
                (None, None) => continue,
            };
            let fp = fingerprint(&table, &key);
            left.push(by_key.remove(&fp).unwrap_or(Pending {
                write: Write {
                    table: table.clone(),
                    key,
                    item,
                },
                maybe_applied: false,
            }));
        }
    }
    left
}

fn finish_writes(results: Vec<ChunkResult>) -> Result<BatchWriteOutput> {
    let mut total = ChunkResult::default();
    for r in results {
        total.absorb(r);
    }
    if total.unwritten.is_empty() && total.unknown.is_empty() && total.cause.is_none() {
        Ok(BatchWriteOutput {
            written: total.written,
            consumed_capacity: total.consumed,
        })
    } else {
        Err(Error::BatchWriteIncomplete {
            written: total.written,
            unwritten: total.unwritten,
            outcome_unknown: total.unknown,
            cause: total.cause.map(Box::new),
        })
    }
}

/// Groups a stream of writes into requests of at most 25, never naming one item twice in a
/// request (a repeated key closes the request being filled).
/// Stops pulling from the input once `stop` is set; every item pulled is in some chunk.
fn chunk_writes<'a>(
    writes: futures::stream::BoxStream<'a, Write>,
    stop: &'a AtomicBool,
) -> impl Stream<Item = Vec<Write>> + 'a {
    stream::unfold(
        (writes, None::<Write>, false),
        move |(mut input, mut carry, mut ended)| async move {
            if stop.load(Ordering::Relaxed) {
                ended = true;
            }
            if ended && carry.is_none() {
                return None;
            }
            let mut chunk: Vec<Write> = Vec::with_capacity(MAX_WRITES);
            let mut keys: HashSet<Vec<u8>> = HashSet::new();
            let key_fp = Write::fingerprint;
            if let Some(w) = carry.take() {
                keys.insert(key_fp(&w));
                chunk.push(w);
            }
            while chunk.len() < MAX_WRITES && !ended && !stop.load(Ordering::Relaxed) {
                match input.next().await {
                    Some(w) => {
                        if !keys.insert(key_fp(&w)) {
                            carry = Some(w);
                            break;
                        }
                        chunk.push(w);
                    }
                    None => ended = true,
                }
            }
            if chunk.is_empty() {
                None
            } else {
                Some((chunk, (input, carry, ended)))
            }
        },
    )
}

crate::pending::awaitable!([<'c>] BatchGet<'c> => BatchGetOutput, 'c);

crate::pending::awaitable!([<'c>] BatchWrite<'c> => BatchWriteOutput, 'c);
