//! A similarity search on a vector index.
use marker_fixtures::{DocByMeaning, run};

fn main() {
    run(|client| async move {
        let out = client
            .search::<DocByMeaning>([1.0, 0.0])
            .top_k(3)
            .send()
            .await?;
        println!("{}", out.results.len());
        Ok(())
    });
}
