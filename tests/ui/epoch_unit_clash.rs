#[derive(dynox::Model)]
#[dynox(table = "events")]
struct Event {
    #[dynox(partition_key)]
    id: String,
    // Integer epoch fields compile in either unit...
    #[dynox(created_at, timestamp = "epoch_millis")]
    created: u64,
    #[dynox(timestamp = "epoch_seconds")]
    day: Option<i64>,
    // ...but a generated time in the other unit would be stored as the declared one.
    #[dynox(generate = "epoch_millis", timestamp = "epoch_seconds")]
    at: u64,
}
fn main() {}
