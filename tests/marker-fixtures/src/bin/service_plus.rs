//! The example service after a change that starts using one more operation (a scan of the
//! orders): the `--check` gate, run against the example's committed policy, must fail with a
//! diff that names exactly that operation.

#[allow(dead_code)]
#[path = "../../../../crates/dynox/examples/service.rs"]
mod service;

use dynox::Model;

/// What the new report reads from the orders table.
#[derive(Model, Debug)]
#[dynox(table = "orders")]
struct OrderRow {
    #[dynox(partition_key)]
    customer: String,
    #[dynox(sort_key)]
    order_id: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    service::serve().await?;
    let local = dynox_testing::LocalDynamo::start().await?;
    let client = local.client();
    local.create_table::<OrderRow>(&client).await?;
    let rows = client.scan::<OrderRow>().count().await?;
    println!("orders in a fresh table: {}", rows.count);
    Ok(())
}
