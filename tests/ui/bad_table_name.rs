#[derive(dynox::Model)]
#[dynox(table = "no spaces allowed")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
}
fn main() {}
