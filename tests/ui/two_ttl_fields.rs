#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
    #[dynox(ttl)]
    a: Option<dynox::attr::Ttl>,
    #[dynox(ttl)]
    b: Option<dynox::attr::Ttl>,
}
fn main() {}
