#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing {
    id: String,
}
fn main() {}
