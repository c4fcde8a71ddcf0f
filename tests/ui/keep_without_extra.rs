#[derive(dynox::Model)]
#[dynox(table = "things", unknown = "keep")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
}
fn main() {}
