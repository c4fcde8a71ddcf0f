//! Writes a model whose only encrypted field is write-only: kms:GenerateDataKey, no kms:Decrypt.
use dynox::Model;
use dynox::attr::Secret;
use marker_fixtures::run;

#[derive(Model, Debug)]
#[dynox(table = "fixture-audit")]
struct Audit {
    #[dynox(partition_key)]
    id: String,
    #[dynox(encrypted(key = "alias/fixture-audit", mode = "write_only"))]
    entry: Secret<String>,
}

fn main() {
    run(|client| async move {
        let a = Audit {
            id: "a".into(),
            entry: Secret::new("x".into()),
        };
        client.put(&a).await?;
        let back = client.get::<Audit>(Audit::key("a")).await?;
        println!("{back:?}");
        Ok(())
    });
}
