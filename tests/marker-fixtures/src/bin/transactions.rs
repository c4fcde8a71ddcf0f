//! A transaction that puts a user and checks an order, and a transactional read of orders.
use dynox::transaction::{TxCheck, TxPut};
use marker_fixtures::{Order, User, run};

fn main() {
    run(|client| async move {
        let u = User {
            id: "u".into(),
            visits: 0,
            email: None,
        };
        client
            .transact_write()
            .put(TxPut::new(&u).if_not_exists())
            .check(TxCheck::<Order>::new(
                Order::key("c", 1),
                Order::fields().total.gt(0),
            ))
            .send()
            .await?;
        let mut tx = client.transact_get();
        let slot = tx.get::<Order>(Order::key("c", 1));
        let order = tx.send().await?.take(slot)?;
        println!("{order:?}");
        Ok(())
    });
}
