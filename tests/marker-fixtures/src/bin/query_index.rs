//! Queries a global index and scans a table: Query on the index ARN, Scan on the table.
use marker_fixtures::{Order, User, UserByEmail, run};

fn main() {
    run(|client| async move {
        let users: Vec<User> = client.query::<UserByEmail>("a@b.c").all().await?;
        let orders: Vec<Order> = client.scan::<Order>().parallel(2).all().await?;
        println!("{} {}", users.len(), orders.len());
        Ok(())
    });
}
