//! Takes a lease, fences a transaction with it and releases it: UpdateItem and
//! ConditionCheckItem on the lease table, nothing else.
use marker_fixtures::{Leases, run};
use std::time::Duration;

fn main() {
    run(|client| async move {
        let guard = client
            .lease::<Leases>("nightly")
            .duration(Duration::from_secs(5))
            .wait(Duration::from_secs(5))
            .await?;
        client.transact_write().check(guard.check()).await?;
        println!("held with token {}", guard.fencing_token());
        guard.release().await
    });
}
