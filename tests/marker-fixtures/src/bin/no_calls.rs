//! Links dynox and builds a client, but sends nothing.
use marker_fixtures::run;

fn main() {
    run(|client| async move {
        println!("{client:?}");
        Ok(())
    });
}
