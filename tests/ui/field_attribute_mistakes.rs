// Unreadable attribute values on several fields, and several in one list, are all reported.
#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    #[dynox(partition_key, rename = "")]
    id: String,
    #[dynox(timestamp = "unix", generate = "uuid9")]
    at: String,
    #[dynox(encrypted(mode = "rw"))]
    secret: dynox::attr::Secret<String>,
}
fn main() {}
