#[derive(dynox::Model)]
#[dynox(table = "docs", tenant = "org")]
struct Doc {
    #[dynox(partition_key)]
    id: String,
    org: String,
}
fn main() {}
