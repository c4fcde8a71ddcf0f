// Every index is checked, and every index mistake reported.
#[derive(dynox::Model)]
#[dynox(
    table = "things",
    global_index(name = "by-email", partition_key = "email"),
    local_index(name = "by-name", sort_key = "name"),
    vector_index(name = "v", vector = "embedding", dimensions = 0, distance = "cosine")
)]
struct Thing {
    #[dynox(partition_key)]
    id: String,
    name: String,
    embedding: dynox::attr::Vector<3>,
}
fn main() {}
