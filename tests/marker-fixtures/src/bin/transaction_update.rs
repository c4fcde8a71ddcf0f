//! A transaction with update members only: no ConditionCheckItem anywhere.
use dynox::transaction::TxUpdate;
use marker_fixtures::{User, run};

fn main() {
    run(|client| async move {
        client
            .transact_write()
            .update(TxUpdate::<User>::new(User::key("a")).action(User::fields().visits.add(1)))
            .update(TxUpdate::<User>::new(User::key("b")).action(User::fields().visits.add(2)))
            .send()
            .await?;
        Ok(())
    });
}
