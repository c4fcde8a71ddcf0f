#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
    flags: std::collections::BTreeSet<bool>,
}
fn main() {}
