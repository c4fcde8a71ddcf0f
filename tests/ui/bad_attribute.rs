#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partitionkey)]
    id: String,
}
fn main() {}
