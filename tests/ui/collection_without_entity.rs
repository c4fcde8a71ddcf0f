#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
}
#[derive(dynox::Collection)]
enum Items {
    Thing(Thing),
}
fn main() {}
