#[derive(dynox::Model)]
struct Thing {
    #[dynox(partition_key)]
    id: String,
}
fn main() {}
