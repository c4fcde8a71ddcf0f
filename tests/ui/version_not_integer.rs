#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
    #[dynox(version)]
    version: String,
}
fn main() {}
