//! Reads a model whose encrypted field is read-only: kms:Decrypt, no kms:GenerateDataKey.
use dynox::Model;
use dynox::attr::Secret;
use marker_fixtures::run;

#[derive(Model, Debug)]
#[dynox(table = "fixture-audit")]
struct AuditReader {
    #[dynox(partition_key)]
    id: String,
    #[dynox(encrypted(
        key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        mode = "read_only"
    ))]
    entry: Secret<String>,
}

fn main() {
    run(|client| async move {
        let back = client.get::<AuditReader>(AuditReader::key("a")).await?;
        println!("{back:?}");
        Ok(())
    });
}
