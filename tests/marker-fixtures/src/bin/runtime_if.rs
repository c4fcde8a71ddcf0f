//! Reaches `update` on orders only behind a run-time `if`; always gets an order.
use marker_fixtures::{Order, run};

fn main() {
    run(|client| async move {
        let f = Order::fields();
        if std::env::var_os("FIXTURE_UPDATE").is_some() {
            client
                .update::<Order>(Order::key("c", 1))
                .action(f.total.increment(5))
                .await?;
        }
        let order = client.get::<Order>(Order::key("c", 1)).await?;
        println!("{order:?}");
        Ok(())
    });
}
