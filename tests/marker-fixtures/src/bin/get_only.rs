//! Links dynox but calls only `get` on one model.
use marker_fixtures::{User, run};

fn main() {
    run(|client| async move {
        let user = client.get::<User>(User::key("u1")).await?;
        println!("{user:?}");
        Ok(())
    });
}
