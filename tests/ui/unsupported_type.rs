#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
    seen: std::time::Instant,
}
fn main() {}
