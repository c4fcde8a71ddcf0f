//! A PartiQL statement known only at run time: all four verbs on a table named at run time.
use marker_fixtures::run;

fn main() {
    run(|client| async move {
        let text = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "SELECT * FROM \"t\"".into());
        client.execute_dynamic(text).send().await?;
        Ok(())
    });
}
