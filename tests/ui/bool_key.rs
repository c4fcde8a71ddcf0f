#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key)]
    active: bool,
}
fn main() {}
