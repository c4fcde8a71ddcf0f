#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
    #[dynox(generate = "uuid4")]
    n: u64,
}
fn main() {}
