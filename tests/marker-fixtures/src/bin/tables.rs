//! Table management: create with tags, wait, list, time to live.
use futures::TryStreamExt;
use marker_fixtures::{User, run};
use std::time::Duration;

fn main() {
    run(|client| async move {
        client
            .create_table::<User>()
            .tag("team", "a")
            .send()
            .await?;
        client
            .wait_until_active::<User>(Duration::from_secs(5))
            .await?;
        let names: Vec<String> = client.list_tables().try_collect().await?;
        client.enable_time_to_live::<User>("expires").await?;
        println!("{names:?}");
        Ok(())
    });
}
