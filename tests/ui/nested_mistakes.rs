// A nested type's mistakes, one per variant, in one compile.
#[derive(dynox::Attribute)]
enum Shape {
    Circle {
        #[dynox(partition_key)]
        r: f64,
    },
    Square {
        #[dynox(rename = "type")]
        side: f64,
    },
    Point(f64, f64),
}
fn main() {}
