// Three independent mistakes: each is reported, in one compile.
#[derive(dynox::Model)]
#[dynox(table = "no spaces allowed", unknown = "drop")]
struct Thing {
    #[dynox(partition_key)]
    id: String,
    #[dynox(rename = "id")]
    copy: String,
}
fn main() {}
