#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
    #[dynox(rename = "id")]
    other: String,
}
fn main() {}
