// The keys' rules, each on its own field, with the template's and the tenant's.
#[derive(dynox::Model)]
#[dynox(table = "docs", tenant = "org")]
struct Doc {
    #[dynox(partition_key, template = "DOC#{id}")]
    pk: String,
    #[dynox(sort_key)]
    at: Option<u64>,
    #[dynox(sort_key)]
    other: u64,
    id: String,
    org: String,
}
fn main() {}
