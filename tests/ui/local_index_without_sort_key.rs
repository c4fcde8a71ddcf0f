#[derive(dynox::Model)]
#[dynox(table = "things", local_index(name = "by-name", sort_key = "name"))]
struct Thing {
    #[dynox(partition_key)]
    id: String,
    name: String,
}
fn main() {}
