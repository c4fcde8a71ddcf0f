//! Models and a client shared by the marker-exactness fixture binaries.
//!
//! Each binary in `src/bin/` calls a known subset of dynox; the test in `tests/tests/markers.rs`
//! scans the linked executables and checks that exactly that subset's permissions are found.

use dynox::Model;

/// A model with a partition key only, and a global index.
#[derive(Model, Debug, Clone)]
#[dynox(
    table = "fixture-users",
    global_index(name = "by-email", partition_key = "email")
)]
pub struct User {
    /// Partition key.
    #[dynox(partition_key)]
    pub id: String,
    /// A counter.
    pub visits: u64,
    /// The index key.
    pub email: Option<String>,
}

/// A model with a vector index.
#[derive(Model, Debug, Clone)]
#[dynox(
    table = "fixture-docs",
    vector_index(
        name = "by-meaning",
        vector = "embedding",
        dimensions = 2,
        distance = "cosine"
    )
)]
pub struct Doc {
    /// Partition key.
    #[dynox(partition_key)]
    pub id: String,
    /// The vector.
    #[dynox(default)]
    pub embedding: Vec<f32>,
}

/// A model with a sort key.
#[derive(Model, Debug, Clone)]
#[dynox(table = "fixture-orders")]
pub struct Order {
    /// Partition key.
    #[dynox(partition_key)]
    pub customer: String,
    /// Sort key.
    #[dynox(sort_key)]
    pub order_id: u64,
    /// Total in cents.
    pub total: u64,
}

/// A model whose table has a stream (the stream consumer reads it, and nothing else).
#[derive(Model, Debug, Clone)]
#[dynox(table = "fixture-feed")]
pub struct Feed {
    /// Partition key.
    #[dynox(partition_key)]
    pub id: String,
    /// What happened.
    pub what: String,
}

/// A model with an S3-backed field (the S3 fixture uploads, reads, presigns and removes).
#[derive(Model, Debug, Clone)]
#[dynox(table = "fixture-files")]
pub struct Attachment {
    /// Partition key.
    #[dynox(partition_key)]
    pub id: String,
    /// The file, in S3.
    #[dynox(s3(bucket = "fixture-files", prefix = "attachments/"))]
    pub file: dynox::attr::S3Object,
}

/// The lease table of the lease fixture.
#[derive(Debug)]
pub struct Leases;
impl dynox::lease::LeaseTable for Leases {
    const TABLE: &'static str = "fixture-leases";
}

/// A non-generic library function: its markers must be linked only into binaries that call it,
/// which shows dead-code elimination working on ordinary functions, not only on generics.
pub async fn purge(client: &dynox::Client) -> dynox::Result<()> {
    client.delete_table::<User>().await?;
    client.delete_table::<Order>().await
}

/// Runs `body` with a client of a fresh local backend (enforcing `DYNOX_IAM_POLICY` when it is
/// set), after creating the fixture tables and items directly on the engine, outside any policy:
/// set-up is not what the fixture's permissions are about. `FIXTURE_TABLES` names the tables to
/// create (comma-separated; `none` for fixtures that create their own; all when unset);
/// `FIXTURE_KMS=1` adds a local KMS with the key
/// `alias/fixture-audit` and an encryptor; `FIXTURE_S3=1` a local S3 with the bucket
/// `fixture-files`. Exits non-zero when anything fails.
pub fn run<F, Fut>(body: F)
where
    F: FnOnce(dynox::Client) -> Fut,
    Fut: std::future::Future<Output = dynox::Result<()>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Err(e) = rt.block_on(set_up_and_run(body)) {
        eprintln!("fixture failed: {e}");
        std::process::exit(1);
    }
}

async fn set_up_and_run<F, Fut>(body: F) -> Result<(), Box<dyn std::error::Error>>
where
    F: FnOnce(dynox::Client) -> Fut,
    Fut: std::future::Future<Output = dynox::Result<()>>,
{
    let local = dynox_testing::LocalDynamo::start().await?;
    let tables = std::env::var("FIXTURE_TABLES").ok();
    let wanted = |t: &str| {
        tables
            .as_deref()
            .is_none_or(|l| l.split(',').any(|x| x == t))
    };
    create_tables(
        &aws_sdk_dynamodb::Client::new(&local.unenforced_sdk_config()),
        wanted,
    )
    .await?;
    let mut client = local.client();
    let _kms = if std::env::var_os("FIXTURE_KMS").is_some() {
        let kms = dynox_testing::LocalKms::start().await?;
        kms.create_key(Some("fixture-audit")).await?;
        let encryptor = dynox::encryption::Encryptor::new(kms.client());
        client = client.with_encryptor(std::sync::Arc::new(encryptor));
        Some(kms)
    } else {
        None
    };
    let _s3 = if std::env::var_os("FIXTURE_S3").is_some() {
        let s3 = dynox_testing::LocalS3::start().await?;
        s3.create_bucket("fixture-files").await?;
        client = client.with_s3(s3.s3_client());
        Some(s3)
    } else {
        None
    };
    body(client).await?;
    Ok(())
}

/// The fixture tables, created with the plain SDK so no marker of dynox's is linked by set-up.
async fn create_tables(
    sdk: &aws_sdk_dynamodb::Client,
    wanted: impl Fn(&str) -> bool,
) -> Result<(), Box<dyn std::error::Error>> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
        KeyType, Projection, ProjectionType, ScalarAttributeType,
    };
    let attr = |name: &str, t: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(t)
            .build()
    };
    let key = |name: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(t)
            .build()
    };
    let s = ScalarAttributeType::S;
    if wanted("fixture-users") {
        sdk.create_table()
            .table_name("fixture-users")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("id", s.clone())?)
            .attribute_definitions(attr("email", s.clone())?)
            .key_schema(key("id", KeyType::Hash)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("by-email")
                    .key_schema(key("email", KeyType::Hash)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()?,
            )
            .send()
            .await?;
    }
    if wanted("fixture-orders") {
        sdk.create_table()
            .table_name("fixture-orders")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("customer", s.clone())?)
            .attribute_definitions(attr("order_id", ScalarAttributeType::N)?)
            .key_schema(key("customer", KeyType::Hash)?)
            .key_schema(key("order_id", KeyType::Range)?)
            .send()
            .await?;
        // An order that the transaction fixture's condition check finds.
        sdk.put_item()
            .table_name("fixture-orders")
            .item("customer", AttributeValue::S("c".into()))
            .item("order_id", AttributeValue::N("1".into()))
            .item("total", AttributeValue::N("5".into()))
            .send()
            .await?;
    }
    if wanted("fixture-files") {
        sdk.create_table()
            .table_name("fixture-files")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("id", s.clone())?)
            .key_schema(key("id", KeyType::Hash)?)
            .send()
            .await?;
    }
    if wanted("fixture-leases") {
        sdk.create_table()
            .table_name("fixture-leases")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("key", s.clone())?)
            .key_schema(key("key", KeyType::Hash)?)
            .send()
            .await?;
    }
    if wanted("fixture-feed") {
        use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
        sdk.create_table()
            .table_name("fixture-feed")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("id", s.clone())?)
            .key_schema(key("id", KeyType::Hash)?)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()?,
            )
            .send()
            .await?;
        // Changes for the consumer to read.
        for (id, what) in [("e1", "created"), ("e2", "created"), ("e1", "renamed")] {
            sdk.put_item()
                .table_name("fixture-feed")
                .item("id", AttributeValue::S(id.into()))
                .item("what", AttributeValue::S(what.into()))
                .send()
                .await?;
        }
    }
    if wanted("fixture-docs") {
        use aws_sdk_dynamodb::types::{
            VectorAttributeDefinition, VectorDistanceFunction, VectorIndex,
        };
        sdk.create_table()
            .table_name("fixture-docs")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("id", s.clone())?)
            .key_schema(key("id", KeyType::Hash)?)
            .vector_indexes(
                VectorIndex::builder()
                    .index_name("by-meaning")
                    .vector_attribute(
                        VectorAttributeDefinition::builder()
                            .attribute_name("embedding")
                            .build()?,
                    )
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .dimensions(2)
                    .distance_function(VectorDistanceFunction::Cosine)
                    .build()?,
            )
            .send()
            .await?;
    }
    if wanted("fixture-tenants") {
        use aws_sdk_dynamodb::types::LocalSecondaryIndex;
        let all = || {
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build()
        };
        sdk.create_table()
            .table_name("fixture-tenants")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk", s.clone())?)
            .attribute_definitions(attr("id", ScalarAttributeType::N)?)
            .attribute_definitions(attr("title", s.clone())?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("id", KeyType::Range)?)
            .local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name("by-title")
                    .key_schema(key("pk", KeyType::Hash)?)
                    .key_schema(key("title", KeyType::Range)?)
                    .projection(all())
                    .build()?,
            )
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("by-title-global")
                    .key_schema(key("title", KeyType::Hash)?)
                    .projection(all())
                    .build()?,
            )
            .send()
            .await?;
    }
    for (table, pk) in [("fixture-sessions", "token"), ("fixture-audit", "id")] {
        if !wanted(table) {
            continue;
        }
        sdk.create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(pk, s.clone())?)
            .key_schema(key(pk, KeyType::Hash)?)
            .send()
            .await?;
    }
    Ok(())
}
