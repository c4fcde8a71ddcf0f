#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
    #[dynox(partition_key)]
    other: String,
}
fn main() {}
