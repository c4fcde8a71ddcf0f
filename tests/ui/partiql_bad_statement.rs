fn main() {
    let _ = dynox::partiql!("SELECT * WHERE id = ?");
}
