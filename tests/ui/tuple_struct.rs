#[derive(dynox::Model)]
#[dynox(table = "things")]
struct Thing(String);
fn main() {}
