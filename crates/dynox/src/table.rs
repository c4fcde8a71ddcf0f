//! Table operations on a model's table: create (keys, indexes, billing, class, encryption,
//! streams, tags), describe, exists, wait, update, delete, list; time to live; tags.

use crate::Client;
use crate::Pending;
use crate::error::{Error, Result};
use crate::model::{IndexDef, IndexKind, IndexProjection, KeyAttribute, Model};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex, GlobalSecondaryIndexUpdate,
    KeySchemaElement, KeyType, LocalSecondaryIndex, Projection, ProjectionType,
    ProvisionedThroughput, ScalarAttributeType, SseSpecification, SseType, StreamSpecification,
    StreamViewType, TableClass, TableDescription, TableStatus, Tag, TimeToLiveDescription,
    TimeToLiveSpecification,
};
use dynox_iam::{ResourceRef, actions::dynamodb, mark};
use futures::stream::{self, BoxStream, StreamExt};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

/// How a table is billed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Billing {
    /// Pay per request (the default).
    #[default]
    OnDemand,
    /// Provisioned capacity units (global indexes get the same).
    Provisioned {
        /// Read capacity units.
        read: i64,
        /// Write capacity units.
        write: i64,
    },
}

impl Billing {
    fn throughput(self) -> Result<Option<ProvisionedThroughput>> {
        match self {
            Billing::OnDemand => Ok(None),
            Billing::Provisioned { read, write } if read < 1 || write < 1 => {
                Err(Error::validation(format!(
                    "provisioned capacity is at least 1 read and 1 write unit, not {read}/{write}"
                )))
            }
            Billing::Provisioned { read, write } => Ok(Some(
                ProvisionedThroughput::builder()
                    .read_capacity_units(read)
                    .write_capacity_units(write)
                    .build()
                    .map_err(build_error)?,
            )),
        }
    }

    fn mode(self) -> BillingMode {
        match self {
            Billing::OnDemand => BillingMode::PayPerRequest,
            Billing::Provisioned { .. } => BillingMode::Provisioned,
        }
    }
}

/// Server-side encryption of a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Encryption {
    /// Encrypted with a key AWS owns (DynamoDB's default).
    #[default]
    AwsOwned,
    /// Encrypted with the AWS managed key for DynamoDB (`aws/dynamodb`).
    AwsManaged,
    /// Encrypted with a customer managed KMS key (id, ARN or alias). The creating principal
    /// also needs `kms:DescribeKey` and `kms:CreateGrant` on that key; they are not in the
    /// exported policy, because the key is named at run time: grant them in the key policy.
    CustomerManaged(String),
}

/// What a table's stream carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamView {
    /// Only the key attributes of changed items.
    KeysOnly,
    /// The item as it is after the change.
    NewImage,
    /// The item as it was before the change.
    OldImage,
    /// Both images.
    NewAndOldImages,
}

impl StreamView {
    fn to_sdk(self) -> StreamViewType {
        match self {
            StreamView::KeysOnly => StreamViewType::KeysOnly,
            StreamView::NewImage => StreamViewType::NewImage,
            StreamView::OldImage => StreamViewType::OldImage,
            StreamView::NewAndOldImages => StreamViewType::NewAndOldImages,
        }
    }
}

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> Error {
    Error::validation(e.to_string())
}

fn scalar(k: &KeyAttribute) -> ScalarAttributeType {
    match k.scalar {
        crate::attr::Scalar::S => ScalarAttributeType::S,
        crate::attr::Scalar::N => ScalarAttributeType::N,
        crate::attr::Scalar::B => ScalarAttributeType::B,
    }
}

fn key_schema(partition: &[KeyAttribute], sort: &[KeyAttribute]) -> Result<Vec<KeySchemaElement>> {
    partition
        .iter()
        .map(|k| (k, KeyType::Hash))
        .chain(sort.iter().map(|k| (k, KeyType::Range)))
        .map(|(k, t)| {
            KeySchemaElement::builder()
                .attribute_name(k.name)
                .key_type(t)
                .build()
                .map_err(build_error)
        })
        .collect()
}

fn projection(p: IndexProjection) -> Projection {
    match p {
        IndexProjection::All => Projection::builder()
            .projection_type(ProjectionType::All)
            .build(),
        IndexProjection::KeysOnly => Projection::builder()
            .projection_type(ProjectionType::KeysOnly)
            .build(),
        IndexProjection::Include(names) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(names.iter().map(|s| s.to_string()).collect()))
            .build(),
    }
}

/// Every key attribute of the table and its indexes, each defined once with its type.
fn attribute_definitions<M: Model>(indexes: &[IndexDef]) -> Result<Vec<AttributeDefinition>> {
    let vector_keys = M::VECTOR_INDEXES
        .iter()
        .flat_map(|v| v.partition.iter().chain(v.filters).copied());
    definitions(
        std::iter::once(M::PARTITION_KEY)
            .chain(M::SORT_KEY)
            .chain(
                indexes
                    .iter()
                    .flat_map(|i| i.partition_key.iter().chain(i.sort_key).copied()),
            )
            .chain(vector_keys),
    )
}

/// Attribute definitions for `keys`, each defined once; one name with two types is refused.
pub(crate) fn definitions(
    keys: impl IntoIterator<Item = KeyAttribute>,
) -> Result<Vec<AttributeDefinition>> {
    let mut defs: BTreeMap<&str, KeyAttribute> = BTreeMap::new();
    for k in keys {
        if let Some(prev) = defs.insert(k.name, k)
            && prev.scalar != k.scalar
        {
            return Err(Error::validation(format!(
                "attribute `{}` is a key of two types ({} and {})",
                k.name,
                prev.scalar.as_str(),
                k.scalar.as_str()
            )));
        }
    }
    defs.values()
        .map(|k| {
            AttributeDefinition::builder()
                .attribute_name(k.name)
                .attribute_type(scalar(k))
                .build()
                .map_err(build_error)
        })
        .collect()
}

fn global_index(ix: &IndexDef, billing: Billing) -> Result<GlobalSecondaryIndex> {
    GlobalSecondaryIndex::builder()
        .index_name(ix.name)
        .set_key_schema(Some(key_schema(ix.partition_key, ix.sort_key)?))
        .projection(projection(ix.projection))
        .set_provisioned_throughput(billing.throughput()?)
        .build()
        .map_err(build_error)
}

impl Client {
    /// Creates the model's table from its declaration: keys, secondary indexes, and the options
    /// set on the returned builder.
    pub fn create_table<M: Model>(&self) -> CreateTable<'_, M> {
        CreateTable {
            client: self,
            billing: Billing::OnDemand,
            deletion_protection: false,
            infrequent_access: false,
            encryption: Encryption::AwsOwned,
            stream: None,
            tags: Vec::new(),
            _model: PhantomData,
        }
    }

    /// Creates a table described by hand, for tables no model declares. Its name is known only
    /// at run time, so the exported policy grants `CreateTable` on `table/*` only when told to
    /// (`--allow-wildcard`).
    pub fn create_table_by_spec(&self, spec: TableSpec) -> Pending<'_, TableDescription> {
        Pending::new(async move {
            mark!(
                dynamodb::CREATE_TABLE,
                ResourceRef::RuntimeTable,
                "create_table_by_spec",
                ""
            );
            let mut keys = vec![spec.partition_key];
            keys.extend(spec.sort_key);
            let sort: Vec<KeyAttribute> = spec.sort_key.into_iter().collect();
            let req = self
                .sdk()
                .create_table()
                .table_name(&spec.name)
                .set_key_schema(Some(key_schema(&[spec.partition_key], &sort)?))
                .set_attribute_definitions(Some(definitions(keys)?))
                .billing_mode(spec.billing.mode())
                .set_provisioned_throughput(spec.billing.throughput()?);
            self.send(req)
                .await?
                .table_description
                .ok_or_else(|| Error::validation("CreateTable returned no table description"))
        })
    }

    /// Describes the model's table.
    pub fn describe_table<M: Model>(&self) -> Pending<'_, TableDescription> {
        Pending::new(async move {
            mark!(
                dynamodb::DESCRIBE_TABLE,
                ResourceRef::Table(M::TABLE),
                "describe_table",
                M::NAME
            );
            let req = self.sdk().describe_table().table_name(M::TABLE);
            self.send(req)
                .await?
                .table
                .ok_or_else(|| Error::validation("DescribeTable returned no table"))
        })
    }

    /// Whether the model's table exists (`DescribeTable`; not found is `false`).
    pub fn table_exists<M: Model>(&self) -> Pending<'_, bool> {
        Pending::new(async move {
            match self.describe_table::<M>().await {
                Ok(_) => Ok(true),
                Err(e) if e.is_not_found() => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    /// Polls `DescribeTable` until the model's table and all its indexes are `ACTIVE`, for at
    /// most `timeout`.
    pub fn wait_until_active<M: Model>(&self, timeout: Duration) -> Pending<'_, ()> {
        Pending::new(async move {
            self.wait_for::<M>(timeout, "become active", |t| match t {
                Some(t) => {
                    t.table_status == Some(TableStatus::Active)
                        && t.global_secondary_indexes().iter().all(|i| {
                            i.index_status == Some(aws_sdk_dynamodb::types::IndexStatus::Active)
                        })
                }
                None => false,
            })
            .await
        })
    }

    /// Polls `DescribeTable` until the model's table is gone, for at most `timeout`.
    pub fn wait_until_deleted<M: Model>(&self, timeout: Duration) -> Pending<'_, ()> {
        Pending::new(async move {
            self.wait_for::<M>(timeout, "be deleted", |t| t.is_none())
                .await
        })
    }

    async fn wait_for<M: Model>(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(Option<&TableDescription>) -> bool,
    ) -> Result<()> {
        let start = Instant::now();
        let mut pause = Duration::from_millis(25);
        loop {
            let described = match self.describe_table::<M>().await {
                Ok(t) => Some(t),
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e),
            };
            if done(described.as_ref()) {
                return Ok(());
            }
            if start.elapsed() + pause > timeout {
                return Err(Error::Timeout {
                    what: format!("table {} to {what}", M::TABLE),
                    after: timeout,
                    may_have_reached: false,
                    context: None,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// Changes the model's table: throughput, indexes, stream.
    pub fn update_table<M: Model>(&self) -> UpdateTable<'_, M> {
        UpdateTable {
            client: self,
            billing: None,
            index_billing: Billing::OnDemand,
            create_indexes: Vec::new(),
            delete_indexes: Vec::new(),
            stream: None,
            deletion_protection: None,
            _model: PhantomData,
        }
    }

    /// Deletes the model's table.
    pub fn delete_table<M: Model>(&self) -> Pending<'_, ()> {
        Pending::new(async move {
            mark!(
                dynamodb::DELETE_TABLE,
                ResourceRef::Table(M::TABLE),
                "delete_table",
                M::NAME
            );
            let req = self.sdk().delete_table().table_name(M::TABLE);
            self.send(req).await.map(|_| ())
        })
    }

    /// The names of all tables in the account and region, one page at a time.
    pub fn list_tables(&self) -> BoxStream<'static, Result<String>> {
        mark!(dynamodb::LIST_TABLES, ResourceRef::Any, "list_tables", "");
        let client = self.clone();
        stream::try_unfold(Some(None), move |next: Option<Option<String>>| {
            let client = client.clone();
            async move {
                let Some(start) = next else { return Ok(None) };
                let req = client
                    .sdk()
                    .list_tables()
                    .set_exclusive_start_table_name(start);
                let out = client.send(req).await?;
                let following = out.last_evaluated_table_name.map(Some);
                Ok(Some((
                    stream::iter(out.table_names.unwrap_or_default().into_iter().map(Ok)),
                    following,
                )))
            }
        })
        .map(|r: Result<_>| match r {
            Ok(s) => s.boxed(),
            Err(e) => stream::once(async { Err(e) }).boxed(),
        })
        .flatten()
        .boxed()
    }

    /// Turns time to live on for the model's table: items expire at the epoch seconds stored in
    /// `attribute`.
    pub fn enable_time_to_live<M: Model>(&self, attribute: &str) -> Pending<'_, ()> {
        let attribute = attribute.to_owned();
        Pending::new(async move {
            mark!(
                dynamodb::UPDATE_TIME_TO_LIVE,
                ResourceRef::Table(M::TABLE),
                "enable_time_to_live",
                M::NAME
            );
            self.set_time_to_live::<M>(attribute, true).await
        })
    }

    /// Turns time to live off for the model's table (the enabled attribute is read with
    /// `DescribeTimeToLive` first; already off is a no-op).
    pub fn disable_time_to_live<M: Model>(&self) -> Pending<'_, ()> {
        Pending::new(async move {
            mark!(
                dynamodb::UPDATE_TIME_TO_LIVE,
                ResourceRef::Table(M::TABLE),
                "disable_time_to_live",
                M::NAME
            );
            let ttl = self.describe_time_to_live::<M>().await?;
            let enabled = matches!(
                ttl.time_to_live_status,
                Some(aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
                    | Some(aws_sdk_dynamodb::types::TimeToLiveStatus::Enabling)
            );
            match ttl.attribute_name {
                Some(a) if enabled => self.set_time_to_live::<M>(a, false).await,
                _ => Ok(()),
            }
        })
    }

    async fn set_time_to_live<M: Model>(&self, attribute: String, enabled: bool) -> Result<()> {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(attribute)
            .enabled(enabled)
            .build()
            .map_err(build_error)?;
        let req = self
            .sdk()
            .update_time_to_live()
            .table_name(M::TABLE)
            .time_to_live_specification(spec);
        self.send(req).await.map(|_| ())
    }

    /// The model's table's time to live setting.
    pub fn describe_time_to_live<M: Model>(&self) -> Pending<'_, TimeToLiveDescription> {
        Pending::new(async move {
            mark!(
                dynamodb::DESCRIBE_TIME_TO_LIVE,
                ResourceRef::Table(M::TABLE),
                "describe_time_to_live",
                M::NAME
            );
            let req = self.sdk().describe_time_to_live().table_name(M::TABLE);
            self.send(req)
                .await?
                .time_to_live_description
                .ok_or_else(|| Error::validation("DescribeTimeToLive returned no description"))
        })
    }

    async fn table_arn<M: Model>(&self) -> Result<String> {
        self.describe_table::<M>()
            .await?
            .table_arn
            .ok_or_else(|| Error::validation("DescribeTable returned no table ARN"))
    }

    /// Adds or replaces tags on the model's table.
    pub fn tag_table<M: Model>(
        &self,
        tags: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Pending<'_, ()> {
        // Read before the request future is made, which holds no borrow of the caller's.
        let tags = to_tags(tags);
        Pending::new(async move {
            mark!(
                dynamodb::TAG_RESOURCE,
                ResourceRef::Table(M::TABLE),
                "tag_table",
                M::NAME
            );
            let tags = tags?;
            let arn = self.table_arn::<M>().await?;
            let req = self
                .sdk()
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags));
            self.send(req).await.map(|_| ())
        })
    }

    /// Removes tags from the model's table.
    pub fn untag_table<M: Model>(
        &self,
        keys: impl IntoIterator<Item = impl Into<String>>,
    ) -> Pending<'_, ()> {
        let keys: Vec<String> = keys.into_iter().map(Into::into).collect();
        Pending::new(async move {
            mark!(
                dynamodb::UNTAG_RESOURCE,
                ResourceRef::Table(M::TABLE),
                "untag_table",
                M::NAME
            );
            let arn = self.table_arn::<M>().await?;
            let req = self
                .sdk()
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys));
            self.send(req).await.map(|_| ())
        })
    }

    /// The tags of the model's table.
    pub fn list_table_tags<M: Model>(&self) -> Pending<'_, BTreeMap<String, String>> {
        Pending::new(async move {
            mark!(
                dynamodb::LIST_TAGS_OF_RESOURCE,
                ResourceRef::Table(M::TABLE),
                "list_table_tags",
                M::NAME
            );
            let arn = self.table_arn::<M>().await?;
            let mut tags = BTreeMap::new();
            let mut next = None;
            loop {
                let req = self
                    .sdk()
                    .list_tags_of_resource()
                    .resource_arn(&arn)
                    .set_next_token(next);
                let out = self.send(req).await?;
                tags.extend(
                    out.tags
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| (t.key, t.value)),
                );
                next = out.next_token;
                if next.is_none() {
                    return Ok(tags);
                }
            }
        })
    }
}

/// Waits for a new table to be active (at most five minutes), then turns time to live on for
/// `attribute`: what creating a model with a `ttl` field does after `CreateTable`.
pub async fn enable_ttl_when_active<M: Model>(client: &Client, attribute: &str) -> Result<()> {
    client
        .wait_until_active::<M>(Duration::from_secs(300))
        .await?;
    client.enable_time_to_live::<M>(attribute).await
}

fn to_tags(
    tags: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
) -> Result<Vec<Tag>> {
    tags.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_error))
        .collect()
}

/// A table described by hand: see [`Client::create_table_by_spec`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    name: String,
    partition_key: KeyAttribute,
    sort_key: Option<KeyAttribute>,
    billing: Billing,
}

impl TableSpec {
    /// A table `name` with partition key `partition_key` of type `scalar`, billed on demand.
    pub fn new(
        name: impl Into<String>,
        partition_key: &'static str,
        scalar: crate::attr::Scalar,
    ) -> TableSpec {
        TableSpec {
            name: name.into(),
            partition_key: KeyAttribute {
                name: partition_key,
                scalar,
            },
            sort_key: None,
            billing: Billing::OnDemand,
        }
    }

    /// Adds a sort key.
    pub fn sort_key(mut self, name: &'static str, scalar: crate::attr::Scalar) -> Self {
        self.sort_key = Some(KeyAttribute { name, scalar });
        self
    }

    /// Billing mode.
    pub fn billing(mut self, billing: Billing) -> Self {
        self.billing = billing;
        self
    }
}

/// A pending `CreateTable`: see [`Client::create_table`].
#[must_use = "a request does nothing until it is sent"]
pub struct CreateTable<'c, M: Model> {
    client: &'c Client,
    billing: Billing,
    deletion_protection: bool,
    infrequent_access: bool,
    encryption: Encryption,
    stream: Option<StreamView>,
    tags: Vec<(String, String)>,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> std::fmt::Debug for CreateTable<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateTable")
            .field("table", &M::TABLE)
            .field("billing", &self.billing)
            .finish_non_exhaustive()
    }
}

impl<M: Model> CreateTable<'_, M> {
    /// Billing mode (on demand by default).
    pub fn billing(mut self, billing: Billing) -> Self {
        self.billing = billing;
        self
    }

    /// Refuse deletion until protection is turned off.
    pub fn deletion_protection(mut self, on: bool) -> Self {
        self.deletion_protection = on;
        self
    }

    /// The Standard-Infrequent-Access table class (cheaper storage, dearer requests).
    pub fn infrequent_access(mut self, on: bool) -> Self {
        self.infrequent_access = on;
        self
    }

    /// Server-side encryption.
    pub fn encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = encryption;
        self
    }

    /// Turns on the table's stream.
    pub fn stream(mut self, view: StreamView) -> Self {
        self.stream = Some(view);
        self
    }

    /// Tags the table at creation (this also needs `dynamodb:TagResource`, marked here so that
    /// only binaries that tag at creation are granted it).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        mark!(
            dynamodb::TAG_RESOURCE,
            ResourceRef::Table(M::TABLE),
            "create_table",
            M::NAME
        );
        self.tags.push((key.into(), value.into()));
        self
    }

    /// Sends the request. The table may still be `CREATING`: see [`Client::wait_until_active`].
    pub async fn send(self) -> Result<TableDescription> {
        mark!(
            dynamodb::CREATE_TABLE,
            ResourceRef::Table(M::TABLE),
            "create_table",
            M::NAME
        );
        let sort: Vec<KeyAttribute> = M::SORT_KEY.into_iter().collect();
        let mut req = self
            .client
            .sdk()
            .create_table()
            .table_name(M::TABLE)
            .set_key_schema(Some(key_schema(&[M::PARTITION_KEY], &sort)?))
            .set_attribute_definitions(Some(attribute_definitions::<M>(M::INDEXES)?))
            .billing_mode(self.billing.mode())
            .set_provisioned_throughput(self.billing.throughput()?)
            .deletion_protection_enabled(self.deletion_protection);
        for ix in M::INDEXES {
            req = match ix.kind {
                IndexKind::Global => req.global_secondary_indexes(global_index(ix, self.billing)?),
                IndexKind::Local => req.local_secondary_indexes(
                    LocalSecondaryIndex::builder()
                        .index_name(ix.name)
                        .set_key_schema(Some(key_schema(ix.partition_key, ix.sort_key)?))
                        .projection(projection(ix.projection))
                        .build()
                        .map_err(build_error)?,
                ),
            };
        }
        for v in M::VECTOR_INDEXES {
            req = req.vector_indexes(crate::vector::create_definition(v)?);
        }
        if self.infrequent_access {
            req = req.table_class(TableClass::StandardInfrequentAccess);
        }
        req = match &self.encryption {
            Encryption::AwsOwned => req,
            Encryption::AwsManaged => req.sse_specification(
                SseSpecification::builder()
                    .enabled(true)
                    .sse_type(SseType::Kms)
                    .build(),
            ),
            Encryption::CustomerManaged(key) => req.sse_specification(
                SseSpecification::builder()
                    .enabled(true)
                    .sse_type(SseType::Kms)
                    .kms_master_key_id(key)
                    .build(),
            ),
        };
        if let Some(view) = self.stream {
            req = req.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(view.to_sdk())
                    .build()
                    .map_err(build_error)?,
            );
        }
        if !self.tags.is_empty() {
            req = req.set_tags(Some(to_tags(self.tags)?));
        }
        let table = self
            .client
            .send(req)
            .await?
            .table_description
            .ok_or_else(|| Error::validation("CreateTable returned no table description"))?;
        // Model-declared settings that take a request of their own (time to live).
        M::after_create_table(self.client).await?;
        Ok(table)
    }
}

/// A pending `UpdateTable`: see [`Client::update_table`]. DynamoDB applies one index change per
/// request.
#[must_use = "a request does nothing until it is sent"]
pub struct UpdateTable<'c, M: Model> {
    client: &'c Client,
    billing: Option<Billing>,
    index_billing: Billing,
    create_indexes: Vec<&'static str>,
    delete_indexes: Vec<String>,
    stream: Option<Option<StreamView>>,
    deletion_protection: Option<bool>,
    _model: PhantomData<fn() -> M>,
}

impl<M: Model> std::fmt::Debug for UpdateTable<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateTable")
            .field("table", &M::TABLE)
            .finish_non_exhaustive()
    }
}

impl<M: Model> UpdateTable<'_, M> {
    /// Changes the billing mode or provisioned throughput.
    pub fn billing(mut self, billing: Billing) -> Self {
        self.billing = Some(billing);
        self
    }

    /// Creates one of the model's declared global indexes (by name). On a provisioned table,
    /// give the index's own throughput with [`index_billing`](UpdateTable::index_billing).
    pub fn create_index(mut self, name: &'static str) -> Self {
        self.create_indexes.push(name);
        self
    }

    /// The throughput of the index being created (on demand by default, which a provisioned
    /// table refuses).
    pub fn index_billing(mut self, billing: Billing) -> Self {
        self.index_billing = billing;
        self
    }

    /// Deletes a global index.
    pub fn delete_index(mut self, name: impl Into<String>) -> Self {
        self.delete_indexes.push(name.into());
        self
    }

    /// Turns the stream on with `Some(view)`, off with `None`.
    pub fn stream(mut self, view: Option<StreamView>) -> Self {
        self.stream = Some(view);
        self
    }

    /// Turns deletion protection on or off.
    pub fn deletion_protection(mut self, on: bool) -> Self {
        self.deletion_protection = Some(on);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<TableDescription> {
        mark!(
            dynamodb::UPDATE_TABLE,
            ResourceRef::Table(M::TABLE),
            "update_table",
            M::NAME
        );
        if self.create_indexes.len() + self.delete_indexes.len() > 1 {
            return Err(Error::validation(
                "DynamoDB creates or deletes one global index per UpdateTable request",
            ));
        }
        let mut req = self.client.sdk().update_table().table_name(M::TABLE);
        let mut new_indexes = Vec::new();
        for name in &self.create_indexes {
            let ix = M::INDEXES
                .iter()
                .find(|i| i.name == *name && i.kind == IndexKind::Global)
                .ok_or_else(|| {
                    Error::validation(format!("{} declares no global index `{name}`", M::NAME))
                })?;
            let gsi = global_index(ix, self.index_billing)?;
            new_indexes.push(*ix);
            req = req.global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder()
                    .create(
                        CreateGlobalSecondaryIndexAction::builder()
                            .index_name(ix.name)
                            .set_key_schema(Some(gsi.key_schema))
                            .set_projection(gsi.projection)
                            .set_provisioned_throughput(gsi.provisioned_throughput)
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        }
        if !new_indexes.is_empty() {
            req = req.set_attribute_definitions(Some(attribute_definitions::<M>(&new_indexes)?));
        }
        for name in self.delete_indexes {
            req = req.global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder()
                    .delete(
                        DeleteGlobalSecondaryIndexAction::builder()
                            .index_name(name)
                            .build()
                            .map_err(build_error)?,
                    )
                    .build(),
            );
        }
        if let Some(b) = self.billing {
            req = req
                .billing_mode(b.mode())
                .set_provisioned_throughput(b.throughput()?);
        }
        if let Some(view) = self.stream {
            let spec = match view {
                Some(v) => StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(v.to_sdk()),
                None => StreamSpecification::builder().stream_enabled(false),
            };
            req = req.stream_specification(spec.build().map_err(build_error)?);
        }
        if let Some(on) = self.deletion_protection {
            req = req.deletion_protection_enabled(on);
        }
        self.client
            .send(req)
            .await?
            .table_description
            .ok_or_else(|| Error::validation("UpdateTable returned no table description"))
    }
}

crate::pending::awaitable!([<'c, M: Model>] CreateTable<'c, M> => TableDescription, 'c);

crate::pending::awaitable!([<'c, M: Model>] UpdateTable<'c, M> => TableDescription, 'c);
