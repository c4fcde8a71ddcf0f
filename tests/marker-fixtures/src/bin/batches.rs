//! Batch get on users, batch write on orders.
use marker_fixtures::{Order, User, run};

fn main() {
    run(|client| async move {
        let mut got = client
            .batch_get()
            .get::<User>([User::key("u")])
            .send()
            .await?;
        let users = got.take::<User>()?;
        let o = Order {
            customer: "c".into(),
            order_id: 1,
            total: 1,
        };
        client
            .batch_write()
            .put(&o)
            .delete::<Order>(Order::key("c", 2))
            .send()
            .await?;
        println!("{}", users.len());
        Ok(())
    });
}
