#[derive(dynox::Model)]
#[dynox(table = "things", global_index(name = "by-email", partition_key = "email"))]
struct Thing {
    #[dynox(partition_key)]
    id: String,
}
fn main() {}
