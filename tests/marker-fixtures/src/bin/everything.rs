//! Every item and table operation on both models.
use marker_fixtures::{Order, User, run};
use std::time::Duration;

fn main() {
    run(|client| async move {
        client.create_table::<User>().send().await?;
        client
            .wait_until_active::<User>(Duration::from_secs(5))
            .await?;
        let u = User {
            id: "u".into(),
            visits: 0,
            email: None,
        };
        client.put(&u).await?;
        client.get::<User>(User::key("u")).await?;
        client
            .update::<User>(User::key("u"))
            .action(User::fields().visits.add(1))
            .await?;
        client.delete::<User>(User::key("u")).await?;
        let o = Order {
            customer: "c".into(),
            order_id: 1,
            total: 3,
        };
        client.put(&o).await?;
        client.get::<Order>(Order::key("c", 1)).await?;
        client
            .update::<Order>(Order::key("c", 1))
            .action(Order::fields().total.set(4))
            .await?;
        client.delete::<Order>(Order::key("c", 1)).await?;
        marker_fixtures::purge(&client).await?;
        Ok(())
    });
}
