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

/// A non-generic library function: its markers must be linked only into binaries that call it,
/// which shows dead-code elimination working on ordinary functions, not only on generics.
pub async fn purge(client: &dynox::Client) -> dynox::Result<()> {
    client.delete_table::<User>().await?;
    client.delete_table::<Order>().await
}

/// Runs `body` with a client pointed at `FIXTURE_ENDPOINT` (or the default chain), printing any
/// error. The fixtures are built to be scanned; running them is optional.
pub fn run<F, Fut>(body: F)
where
    F: FnOnce(dynox::Client) -> Fut,
    Fut: std::future::Future<Output = dynox::Result<()>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut b = dynox::Client::builder().region("us-east-1");
        if let Ok(url) = std::env::var("FIXTURE_ENDPOINT") {
            b = b.endpoint_url(url).credentials("local", "local", None);
        }
        if let Err(e) = body(b.build().await).await {
            eprintln!("fixture: {e}");
        }
    });
}
