//! Reads of many items: query and scan, on a table or an index, as streams.
//!
//! Results arrive a page at a time: [`Query::items`] and [`Scan::items`] are streams of typed
//! items, [`Query::pages`] a stream of pages with their cursor, counts and consumed capacity.
//! Nothing buffers a whole result set unless the caller collects it.

use crate::attr::{Attribute, Binary, ValueError};
use crate::capacity::Capacity;
use crate::error::{Error, Result};
use crate::expr::{AnyPath, Condition, IntoValue, Placeholders};
use crate::model::{FromItem, KeySchema, Model, schema_resource, table_tenant_key};
use crate::observe::Logical;
use crate::{AttributeValue, Client, Item};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::{ConsumedCapacity, Select};
use dynox_iam::{actions::dynamodb, mark};
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
enum SortOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    Between,
    BeginsWith,
}

/// A condition on the sort key of a query, typed by the sort key.
#[derive(Clone, Debug)]
pub struct SortCondition<T> {
    op: SortOp,
    values: Vec<Result<AttributeValue, ValueError>>,
    _sort: PhantomData<fn() -> T>,
}

fn sort_value<T: Attribute>(v: T) -> Result<AttributeValue, ValueError> {
    v.into_attribute().and_then(|o| o.ok_or(ValueError::Absent))
}

impl<T: Attribute> SortCondition<T> {
    fn new(op: SortOp, values: Vec<T>) -> Self {
        SortCondition {
            op,
            values: values.into_iter().map(sort_value).collect(),
            _sort: PhantomData,
        }
    }
    /// `sort = v`
    pub fn eq(v: impl IntoValue<T>) -> Self {
        Self::new(SortOp::Eq, vec![v.into_value()])
    }
    /// `sort < v`
    pub fn lt(v: impl IntoValue<T>) -> Self {
        Self::new(SortOp::Lt, vec![v.into_value()])
    }
    /// `sort <= v`
    pub fn le(v: impl IntoValue<T>) -> Self {
        Self::new(SortOp::Le, vec![v.into_value()])
    }
    /// `sort > v`
    pub fn gt(v: impl IntoValue<T>) -> Self {
        Self::new(SortOp::Gt, vec![v.into_value()])
    }
    /// `sort >= v`
    pub fn ge(v: impl IntoValue<T>) -> Self {
        Self::new(SortOp::Ge, vec![v.into_value()])
    }
    /// `sort BETWEEN low AND high` (inclusive).
    pub fn between(low: impl IntoValue<T>, high: impl IntoValue<T>) -> Self {
        Self::new(SortOp::Between, vec![low.into_value(), high.into_value()])
    }
}

/// Sort key types that `begins_with` applies to: strings and binaries.
pub trait Prefixed: Attribute {}
impl Prefixed for String {}
impl Prefixed for Binary {}

impl<T: Prefixed> SortCondition<T> {
    /// `begins_with(sort, prefix)`: strings and binaries.
    pub fn begins_with(prefix: impl IntoValue<T>) -> Self {
        Self::new(SortOp::BeginsWith, vec![prefix.into_value()])
    }
}

impl<T> SortCondition<T> {
    fn render(&self, name: &str, p: &mut Placeholders) -> Result<String> {
        let n = p.name(name);
        let mut vs = Vec::new();
        for v in &self.values {
            vs.push(p.converted(v)?);
        }
        Ok(match self.op {
            SortOp::Eq => format!("{n} = {}", vs[0]),
            SortOp::Lt => format!("{n} < {}", vs[0]),
            SortOp::Le => format!("{n} <= {}", vs[0]),
            SortOp::Gt => format!("{n} > {}", vs[0]),
            SortOp::Ge => format!("{n} >= {}", vs[0]),
            SortOp::Between => format!("{n} BETWEEN {} AND {}", vs[0], vs[1]),
            SortOp::BeginsWith => format!("begins_with({n}, {})", vs[0]),
        })
    }
}

pub use crate::cursor::{Cursor, CursorKeys};

/// One page of results.
#[derive(Debug)]
pub struct Page<T> {
    /// The items of this page that decoded.
    pub items: Vec<T>,
    /// The items of this page that did not decode or decrypt, each an
    /// [`Error::ItemUndecodable`] naming table, key, model and field.
    pub undecodable: Vec<Error>,
    /// How many items matched on this page (after the filter).
    pub count: u64,
    /// How many items were read on this page (before the filter).
    pub scanned_count: u64,
    /// Where to resume; `None` on the last page.
    pub cursor: Option<Cursor>,
    /// The capacity this page consumed, when asked for.
    pub consumed_capacity: Option<ConsumedCapacity>,
}

/// Counts from a `Select COUNT` query or scan, summed over its pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// Items that matched (after the filter).
    pub count: u64,
    /// Items read (before the filter).
    pub scanned_count: u64,
}

/// The options queries and scans share.
#[derive(Clone, Debug, Default)]
struct ReadOptions {
    filter: Option<Condition>,
    projection: Vec<AnyPath>,
    limit: Option<usize>,
    page_size: Option<i32>,
    consistent: bool,
    all_projected: bool,
    start: Option<Cursor>,
    /// A signed token to verify with the client's keys when the request is built.
    signed_start: Option<String>,
    capacity: Option<Capacity>,
}

/// The key attribute names a cursor of schema `Q` may hold: the table's keys and the schema's.
fn cursor_names<Q: KeySchema>() -> Vec<&'static str> {
    let mut names = vec![<Q::Model as Model>::PARTITION_KEY.name];
    if let Some(sk) = <Q::Model as Model>::SORT_KEY {
        names.push(sk.name);
    }
    for k in Q::PARTITION_KEY.iter().chain(Q::SORT_KEY) {
        if !names.contains(&k.name) {
            names.push(k.name);
        }
    }
    names
}

/// What a signed cursor is bound to: the kind of read, the logical table and index, the
/// segment of a segmented scan, and a digest of a query's partition key values (so a token of
/// one partition is refused in another).
fn read_scope<Q: KeySchema>(
    kind: &str,
    segment: Option<(i32, i32)>,
    partition: Option<&[AttributeValue]>,
) -> Arc<str> {
    let mut scope = format!("{kind}:{}", <Q::Model as Model>::TABLE);
    if let Some(index) = Q::INDEX {
        scope.push('/');
        scope.push_str(index);
    }
    if let Some((s, t)) = segment {
        scope.push_str(&format!("#{s}/{t}"));
    }
    if let Some(values) = partition {
        scope.push('@');
        scope.push_str(&crate::cursor::values_digest(values));
    }
    Arc::from(scope)
}

/// What a read's cursors are bound to, made when first needed: a read whose pages carry no
/// cursor (most reads of one page) never hashes its partition key.
struct Scope {
    made: std::sync::OnceLock<Arc<str>>,
    make: Box<dyn Fn() -> Arc<str> + Send + Sync>,
}

impl Scope {
    fn new(make: impl Fn() -> Arc<str> + Send + Sync + 'static) -> Scope {
        Scope {
            made: std::sync::OnceLock::new(),
            make: Box::new(make),
        }
    }

    fn get(&self) -> Arc<str> {
        self.made.get_or_init(|| (self.make)()).clone()
    }
}

impl ReadOptions {
    /// Turns a signed start token into the cursor it carries, if the client's keys verify it
    /// for this read.
    fn verify_signed_start(&mut self, client: &Client, scope: &str) -> Result<()> {
        if let Some(token) = self.signed_start.take() {
            let keys = client.cursor_keys().ok_or_else(|| Error::InvalidCursor {
                message: "cursor refused: the client has no cursor keys to verify it \
                          (with_cursor_keys)"
                    .into(),
            })?;
            self.start = Some(keys.verify(&token, scope)?);
        }
        Ok(())
    }

    fn check<Q: KeySchema>(&self) -> Result<()> {
        if self.consistent && Q::GLOBAL {
            return Err(Error::validation(format!(
                "global secondary index {} cannot be read consistently",
                Q::INDEX.unwrap_or_default()
            )));
        }
        if self.page_size.is_some_and(|n| n < 1) {
            return Err(Error::validation("page size must be at least 1"));
        }
        if self.all_projected && Q::INDEX.is_none() {
            return Err(Error::validation(
                "all_projected() reads an index's projection; this reads the table",
            ));
        }
        if self.all_projected && !self.projection.is_empty() {
            return Err(Error::validation(
                "all_projected() and project() ask for different attributes: choose one",
            ));
        }
        if let Some(c) = &self.start {
            let names = cursor_names::<Q>();
            if c.key().keys().any(|k| !names.contains(&k.as_str())) {
                return Err(Error::validation(
                    "this cursor belongs to another table, index or query",
                ));
            }
        }
        Ok(())
    }

    /// The projection; with a `limit`, the key attributes are added so that a cursor can be
    /// made from the last item returned.
    fn projection(&self, keys: &[&'static str], p: &mut Placeholders) -> Result<Option<String>> {
        if self.projection.is_empty() || self.limit.is_none() {
            return crate::expr::render_projection(&self.projection, p);
        }
        let mut paths = self.projection.clone();
        for k in keys {
            let key = AnyPath(vec![crate::expr::Segment::Name((*k).into())]);
            if !paths.iter().any(|a| a.0.first() == key.0.first()) {
                paths.push(key);
            }
        }
        crate::expr::render_projection(&paths, p)
    }

    fn select(&self) -> Option<Select> {
        if !self.projection.is_empty() {
            Some(Select::SpecificAttributes)
        } else if self.all_projected {
            Some(Select::AllProjectedAttributes)
        } else {
            None
        }
    }
}

macro_rules! read_options {
    () => {
        /// Keeps only items for which `filter` holds (applied after reading: it does not reduce
        /// the capacity consumed). Several filters must all hold.
        pub fn filter(mut self, filter: Condition) -> Self {
            self.options.filter = Some(match self.options.filter.take() {
                Some(prev) => prev & filter,
                None => filter,
            });
            self
        }

        /// Reads only `path` (repeatable): decode with `items_as` into a type that has just
        /// those fields, or as raw [`Item`]s.
        pub fn project(mut self, path: impl Into<AnyPath>) -> Self {
            self.options.projection.push(path.into());
            self
        }

        /// Returns at most `n` items in total, across pages.
        pub fn limit(mut self, n: usize) -> Self {
            self.options.limit = Some(n);
            self
        }

        /// Reads at most `n` items per request (DynamoDB's `Limit`).
        pub fn page_size(mut self, n: i32) -> Self {
            self.options.page_size = Some(n);
            self
        }

        /// Strongly consistent reads; refused before sending on a global secondary index.
        pub fn consistent_read(mut self, consistent: bool) -> Self {
            self.options.consistent = consistent;
            self
        }

        /// Returns the attributes projected into the index (`Select ALL_PROJECTED_ATTRIBUTES`).
        pub fn all_projected(mut self) -> Self {
            self.options.all_projected = true;
            self
        }

        /// Resumes where an earlier page stopped.
        pub fn start_from(mut self, cursor: Cursor) -> Self {
            self.options.start = Some(cursor);
            self.options.signed_start = None;
            self
        }

        /// Resumes from a token of [`Client::sign_cursor`], made by a page of this same query
        /// or scan. A token that does not verify with the client's keys (edited, forged,
        /// unsigned, or made by another read) is refused before sending with
        /// [`Error::InvalidCursor`].
        pub fn start_from_signed(mut self, token: impl Into<String>) -> Self {
            self.options.signed_start = Some(token.into());
            self.options.start = None;
            self
        }

        /// Reports consumed capacity on every page.
        pub fn return_consumed_capacity(mut self, which: Capacity) -> Self {
            self.options.capacity = Some(which);
            self
        }

        /// The matching items, decoded as the model, one page at a time.
        pub fn items(self) -> BoxStream<'static, Result<Q::Model>> {
            self.items_as::<Q::Model>()
        }

        /// The matching items decoded as `T` (a projection type, or [`Item`]).
        pub fn items_as<T: FromItem + Send + 'static>(self) -> BoxStream<'static, Result<T>> {
            // An item that did not decode is an error in the stream, and the stream goes on.
            self.pages_as::<T>()
                .map_ok(|p| {
                    stream::iter(
                        p.items
                            .into_iter()
                            .map(Ok)
                            .chain(p.undecodable.into_iter().map(Err)),
                    )
                })
                .try_flatten()
                .boxed()
        }

        /// The pages, with items decoded as the model.
        pub fn pages(self) -> BoxStream<'static, Result<Page<Q::Model>>> {
            self.pages_as::<Q::Model>()
        }

        /// Collects every matching item. Prefer [`items`](Self::items) for large results.
        /// Fails with the first item that does not decode, like collecting `items()`.
        pub async fn all(self) -> Result<Vec<Q::Model>> {
            // Page by page: each page's items are appended whole, not passed one by one
            // through the item stream.
            let mut pages = self.pages();
            let mut all = Vec::new();
            while let Some(page) = pages.next().await {
                let mut page = page?;
                if all.is_empty() {
                    all = std::mem::take(&mut page.items);
                } else {
                    all.append(&mut page.items);
                }
                if let Some(e) = page.undecodable.into_iter().next() {
                    return Err(e);
                }
            }
            Ok(all)
        }

        /// The pages, with items decoded as `T`.
        pub fn pages_as<T: FromItem + Send + 'static>(self) -> BoxStream<'static, Result<Page<T>>> {
            match self.request(false) {
                Ok(pager) => paginate(pager),
                Err(e) => stream::once(async { Err(e) }).boxed(),
            }
        }

        /// Counts the matching items (`Select COUNT`, summed over pages).
        pub async fn count(self) -> Result<Count> {
            let pages = paginate::<_, Item>(self.request(true)?);
            sum_counts(pages).await
        }
    };
}

/// The state of a paginated read between pages.
struct Pager<B> {
    client: Client,
    base: B,
    next: Option<Item>,
    remaining: Option<usize>,
    page_size: Option<i32>,
    key_names: Vec<&'static str>,
    /// The read, for the cursors of its pages.
    scope: Scope,
    /// The logical table, for errors about its items.
    table: &'static str,
    /// The model read, and what the read is (`query`, `scan`), for its span and figures.
    model: &'static str,
    kind: &'static str,
    /// With a filter, DynamoDB's `Limit` counts items read, not returned: the total limit is
    /// then applied here, not sent.
    filtered: bool,
    done: bool,
}

/// What a query or scan page answered, reduced to what paging needs.
struct RawPage {
    items: Vec<Item>,
    count: i32,
    scanned_count: i32,
    last_key: Option<Item>,
    consumed: Option<ConsumedCapacity>,
}

trait PagedRequest: Clone + Send + 'static {
    fn with_page(self, start: Option<Item>, limit: Option<i32>) -> Self;
    fn send_page(
        self,
        client: &Client,
        model: &'static str,
    ) -> impl Future<Output = Result<RawPage>> + Send;
}

impl PagedRequest for QueryFluentBuilder {
    fn with_page(self, start: Option<Item>, limit: Option<i32>) -> Self {
        self.set_exclusive_start_key(start).set_limit(limit)
    }
    async fn send_page(self, client: &Client, model: &'static str) -> Result<RawPage> {
        let out = client.send_for(model, self).await?;
        Ok(RawPage {
            items: out.items.unwrap_or_default(),
            count: out.count,
            scanned_count: out.scanned_count,
            last_key: out.last_evaluated_key.filter(|k| !k.is_empty()),
            consumed: out.consumed_capacity,
        })
    }
}

impl PagedRequest for ScanFluentBuilder {
    fn with_page(self, start: Option<Item>, limit: Option<i32>) -> Self {
        self.set_exclusive_start_key(start).set_limit(limit)
    }
    async fn send_page(self, client: &Client, model: &'static str) -> Result<RawPage> {
        let out = client.send_for(model, self).await?;
        Ok(RawPage {
            items: out.items.unwrap_or_default(),
            count: out.count,
            scanned_count: out.scanned_count,
            last_key: out.last_evaluated_key.filter(|k| !k.is_empty()),
            consumed: out.consumed_capacity,
        })
    }
}

/// The pages of a read, as one logical operation (one span over its pages' requests).
fn paginate<B: PagedRequest, T: FromItem + Send + 'static>(
    pager: Pager<B>,
) -> BoxStream<'static, Result<Page<T>>> {
    let logical = Logical::start(&pager.client, pager.kind, pager.table, pager.model);
    logical.stream(pages::<B, T>(pager))
}

fn pages<B: PagedRequest, T: FromItem + Send + 'static>(
    pager: Pager<B>,
) -> impl Stream<Item = Result<Page<T>>> + Send + 'static {
    stream::try_unfold(pager, |mut st| async move {
        if st.done {
            return Ok(None);
        }
        let limit = match (st.remaining, st.page_size, st.filtered) {
            (Some(r), Some(p), false) => Some((r.min(i32::MAX as usize) as i32).min(p)),
            (Some(r), None, false) => Some(r.min(i32::MAX as usize) as i32),
            (_, p, _) => p,
        };
        let raw = st
            .base
            .clone()
            .with_page(st.next.take(), limit)
            .send_page(&st.client, st.model)
            .await?;
        let mut items = raw.items;
        let mut cursor = raw.last_key;
        if let Some(rem) = st.remaining.as_mut() {
            if items.len() >= *rem {
                // Stop inside this page: resume after the last item returned, not after the page.
                items.truncate(*rem);
                cursor = match (items.len() < raw.count as usize, items.last()) {
                    (true, Some(last)) => Some(key_of(last, &st.key_names)),
                    _ => cursor,
                };
                *rem = 0;
            } else {
                *rem -= items.len();
            }
        }
        st.done = cursor.is_none() || st.remaining == Some(0);
        st.next = cursor.clone();
        // One item that does not decode (or decrypt) is reported with its key; the others and
        // the cursor stay usable.
        let (decoded, undecodable) = st
            .client
            .kms_for(st.model, async {
                let mut decoded = Vec::with_capacity(items.len());
                let mut undecodable = Vec::new();
                for item in items {
                    match crate::error::decode_read::<T>(
                        item,
                        &st.client,
                        st.table,
                        &st.key_names,
                        None,
                    )
                    .await
                    {
                        Ok(v) => decoded.push(v),
                        Err(e) => undecodable.push(e),
                    }
                }
                (decoded, undecodable)
            })
            .await;
        let page = Page {
            items: decoded,
            undecodable,
            count: raw.count.max(0) as u64,
            scanned_count: raw.scanned_count.max(0) as u64,
            cursor: cursor.map(|k| Cursor::with_scope(k, st.scope.get())),
            consumed_capacity: raw.consumed,
        };
        Ok(Some((page, st)))
    })
    .boxed()
}

fn key_of(item: &Item, names: &[&str]) -> Item {
    names
        .iter()
        .filter_map(|n| item.get(*n).map(|v| ((*n).to_owned(), v.clone())))
        .collect()
}

impl Client {
    /// Queries the items with one partition key, on a model's table (`client.query::<User>(..)`)
    /// or on an index (`client.query::<UserByEmail>(..)`).
    ///
    /// A multi-attribute partition key takes a tuple of its values, in declaration order.
    pub fn query<Q: KeySchema>(&self, partition: impl IntoValue<Q::Partition>) -> Query<Q> {
        Query {
            client: self.clone(),
            partition: Q::partition_values(partition.into_value()),
            sort: None,
            forward: true,
            options: ReadOptions::default(),
        }
    }

    /// Scans a model's table or one of its indexes.
    pub fn scan<Q: KeySchema>(&self) -> Scan<Q> {
        Scan {
            client: self.clone(),
            segment: None,
            concurrency: None,
            options: ReadOptions::default(),
            _schema: PhantomData,
        }
    }
}

/// A pending query: see [`Client::query`].
#[must_use = "a query does nothing until its results are read"]
pub struct Query<Q: KeySchema> {
    client: Client,
    partition: Result<Vec<AttributeValue>>,
    sort: Option<SortCondition<Q::Sort>>,
    forward: bool,
    options: ReadOptions,
}

impl<Q: KeySchema> std::fmt::Debug for Query<Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("table", &<Q::Model as Model>::TABLE)
            .field("index", &Q::INDEX)
            .finish_non_exhaustive()
    }
}

impl<Q: KeySchema> Query<Q> {
    read_options!();

    /// A condition on the (first) sort key.
    pub fn sort_key(mut self, condition: SortCondition<Q::Sort>) -> Self {
        self.sort = Some(condition);
        self
    }

    /// Reads in descending sort key order.
    pub fn descending(mut self) -> Self {
        self.forward = false;
        self
    }

    fn request(mut self, count: bool) -> Result<Pager<QueryFluentBuilder>> {
        mark!(
            dynamodb::QUERY,
            schema_resource::<Q>(),
            "query",
            [<Q::Model as Model>::NAME],
            context: [table_tenant_key::<Q>()]
        );
        let partition = self.partition.as_ref().ok().cloned();
        let scope = Scope::new(move || read_scope::<Q>("query", None, partition.as_deref()));
        if self.options.signed_start.is_some() {
            self.options
                .verify_signed_start(&self.client, &scope.get())?;
        }
        self.options.check::<Q>()?;
        let mut p = Placeholders::new();
        let mut key = Vec::new();
        for (k, v) in Q::PARTITION_KEY.iter().zip(self.partition?) {
            let n = p.name(k.name);
            let v = p.value(v);
            key.push(format!("{n} = {v}"));
        }
        if let Some(s) = &self.sort {
            let sk = Q::SORT_KEY.first().ok_or_else(|| {
                Error::validation("a sort key condition on a key schema without a sort key")
            })?;
            key.push(s.render(sk.name, &mut p)?);
        }
        let filter = self
            .options
            .filter
            .as_ref()
            .map(|f| f.render(&mut p))
            .transpose()?;
        let (projection, select) = if count {
            (None, Some(Select::Count))
        } else {
            (
                self.options.projection(&cursor_names::<Q>(), &mut p)?,
                self.options.select(),
            )
        };
        let base = self
            .client
            .sdk()
            .query()
            .table_name(<Q::Model as Model>::TABLE)
            .set_index_name(Q::INDEX.map(str::to_owned))
            .key_condition_expression(key.join(" AND "))
            .set_filter_expression(filter)
            .set_projection_expression(projection)
            .set_select(select)
            .consistent_read(self.options.consistent)
            .scan_index_forward(self.forward)
            .set_return_consumed_capacity(self.options.capacity.map(Capacity::to_sdk))
            .set_expression_attribute_names(p.take_names())
            .set_expression_attribute_values(p.take_values());
        Ok(Pager {
            client: self.client,
            base,
            next: self.options.start.map(Cursor::into_key),
            remaining: if count { None } else { self.options.limit },
            page_size: self.options.page_size,
            key_names: cursor_names::<Q>(),
            scope,
            table: <Q::Model as Model>::TABLE,
            model: <Q::Model as Model>::NAME,
            kind: "query",
            filtered: self.options.filter.is_some(),
            done: !count && self.options.limit == Some(0),
        })
    }
}

async fn sum_counts(pages: impl Stream<Item = Result<Page<Item>>>) -> Result<Count> {
    pages
        .try_fold(Count::default(), |acc, p| async move {
            Ok(Count {
                count: acc.count + p.count,
                scanned_count: acc.scanned_count + p.scanned_count,
            })
        })
        .await
}

/// A pending scan: see [`Client::scan`].
#[must_use = "a scan does nothing until its results are read"]
pub struct Scan<Q: KeySchema> {
    client: Client,
    segment: Option<(i32, i32)>,
    concurrency: Option<usize>,
    options: ReadOptions,
    _schema: PhantomData<fn() -> Q>,
}

impl<Q: KeySchema> std::fmt::Debug for Scan<Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scan")
            .field("table", &<Q::Model as Model>::TABLE)
            .field("index", &Q::INDEX)
            .field("segment", &self.segment)
            .finish_non_exhaustive()
    }
}

impl<Q: KeySchema> Clone for Scan<Q> {
    fn clone(&self) -> Self {
        Scan {
            client: self.client.clone(),
            segment: self.segment,
            concurrency: self.concurrency,
            options: self.options.clone(),
            _schema: PhantomData,
        }
    }
}

impl<Q: KeySchema> Scan<Q> {
    read_options!();

    /// Reads only segment `segment` of `total` (for spreading a scan over workers).
    pub fn segment(mut self, segment: i32, total: i32) -> Self {
        self.segment = Some((segment, total));
        self
    }

    fn request(mut self, count: bool) -> Result<Pager<ScanFluentBuilder>> {
        mark!(
            dynamodb::SCAN,
            schema_resource::<Q>(),
            "scan",
            [<Q::Model as Model>::NAME],
            context: [table_tenant_key::<Q>()]
        );
        let segment = self.segment;
        let scope = Scope::new(move || read_scope::<Q>("scan", segment, None));
        if self.options.signed_start.is_some() {
            self.options
                .verify_signed_start(&self.client, &scope.get())?;
        }
        self.options.check::<Q>()?;
        if let Some((s, t)) = self.segment
            && (!(1..=1_000_000).contains(&t) || !(0..t).contains(&s))
        {
            return Err(Error::validation(format!(
                "segment {s} of {t}: total segments is 1 to 1,000,000 and the segment 0 to total - 1"
            )));
        }
        let mut p = Placeholders::new();
        let filter = self
            .options
            .filter
            .as_ref()
            .map(|f| f.render(&mut p))
            .transpose()?;
        let (projection, select) = if count {
            (None, Some(Select::Count))
        } else {
            (
                self.options.projection(&cursor_names::<Q>(), &mut p)?,
                self.options.select(),
            )
        };
        let base = self
            .client
            .sdk()
            .scan()
            .table_name(<Q::Model as Model>::TABLE)
            .set_index_name(Q::INDEX.map(str::to_owned))
            .set_filter_expression(filter)
            .set_projection_expression(projection)
            .set_select(select)
            .consistent_read(self.options.consistent)
            .set_segment(self.segment.map(|s| s.0))
            .set_total_segments(self.segment.map(|s| s.1))
            .set_return_consumed_capacity(self.options.capacity.map(Capacity::to_sdk))
            .set_expression_attribute_names(p.take_names())
            .set_expression_attribute_values(p.take_values());
        Ok(Pager {
            client: self.client,
            base,
            next: self.options.start.map(Cursor::into_key),
            remaining: if count { None } else { self.options.limit },
            page_size: self.options.page_size,
            key_names: cursor_names::<Q>(),
            scope,
            table: <Q::Model as Model>::TABLE,
            model: <Q::Model as Model>::NAME,
            kind: "scan",
            filtered: self.options.filter.is_some(),
            done: !count && self.options.limit == Some(0),
        })
    }

    /// How many segments of a [`parallel`](Scan::parallel) scan are read at once (default: all
    /// of them, at most 16).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n.max(1));
        self
    }

    /// Splits the scan into `segments` segments read side by side, with one request in flight
    /// per segment being read; read it like the scan itself, with
    /// [`items`](ParallelScan::items) or [`all`](ParallelScan::all). `limit` applies to the
    /// merged stream.
    pub fn parallel(self, segments: i32) -> ParallelScan<Q> {
        ParallelScan {
            scan: self,
            segments,
        }
    }
}

/// A scan read as several segments at once: see [`Scan::parallel`].
#[must_use = "a scan does nothing until it is read"]
pub struct ParallelScan<Q: KeySchema> {
    scan: Scan<Q>,
    segments: i32,
}

impl<Q: KeySchema> std::fmt::Debug for ParallelScan<Q> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelScan")
            .field("segments", &self.segments)
            .finish_non_exhaustive()
    }
}

impl<Q: KeySchema> ParallelScan<Q> {
    /// The items of every segment, merged into one stream as they arrive.
    pub fn items(self) -> BoxStream<'static, Result<Q::Model>> {
        self.items_as::<Q::Model>()
    }

    /// Collects every item. Fails with the first error, like collecting [`items`](Self::items).
    pub async fn all(self) -> Result<Vec<Q::Model>> {
        self.items().try_collect().await
    }

    /// Like [`items`](Self::items), decoding items as `T`.
    pub fn items_as<T: FromItem + Send + 'static>(self) -> BoxStream<'static, Result<T>> {
        let ParallelScan {
            scan: this,
            segments,
        } = self;
        if !(1..=1_000_000).contains(&segments) {
            let e = Error::validation("a parallel scan has 1 to 1,000,000 segments");
            return stream::once(async { Err(e) }).boxed();
        }
        if this.options.start.is_some()
            || this.options.signed_start.is_some()
            || this.segment.is_some()
        {
            let e = Error::validation("a parallel scan cannot start from a cursor or a segment");
            return stream::once(async { Err(e) }).boxed();
        }
        let limit = this.options.limit;
        let self_concurrency = this.concurrency.unwrap_or(16).min(segments as usize);
        let mut base = this;
        base.options.limit = None;
        let logical = Logical::start(
            &base.client,
            "parallel_scan",
            <Q::Model as Model>::TABLE,
            <Q::Model as Model>::NAME,
        );
        let merged = stream::iter(0..segments)
            .map(move |s| base.clone().segment(s, segments).items_as::<T>())
            .flatten_unordered(self_concurrency);
        match limit {
            Some(n) => logical.stream(merged.take(n)),
            None => logical.stream(merged),
        }
    }
}
