#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key, template = "USER#{user_id}")]
    pk: String,
    name: String,
}
fn main() {}
