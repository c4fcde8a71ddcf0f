//! PartiQL statements known at compile time: a SELECT on an index, an INSERT on a table.
use futures::TryStreamExt;
use marker_fixtures::run;

fn main() {
    run(|client| async move {
        let rows: Vec<dynox::Item> = client
            .execute(dynox::partiql!(
                r#"SELECT * FROM "fixture-users"."by-email" WHERE email = ?"#
            ))
            .param("a@b.c")
            .items()
            .try_collect()
            .await?;
        client
            .execute(dynox::partiql!(
                "INSERT INTO \"fixture-orders\" VALUE {'customer': ?, 'order_id': ?}"
            ))
            .param("c")
            .param(7u64)
            .send()
            .await?;
        println!("{}", rows.len());
        Ok(())
    });
}
