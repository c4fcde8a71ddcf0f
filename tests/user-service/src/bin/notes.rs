//! The deployed binary: configuration from the environment, the same mapping as the policy,
//! and KMS for the encrypted field.

use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mapping = dynox::Mapping::from_env()?;
    let mut builder = dynox::Client::builder().mapping(mapping.clone());
    if let Ok(endpoint) = std::env::var("DYNOX_ENDPOINT") {
        builder = builder.endpoint_url(endpoint);
    }
    // KMS: region and credentials from the AWS default chain, like the client's.
    let kms = aws_sdk_kms::Client::new(&aws_config::load_from_env().await);
    let encryptor = dynox::encryption::Encryptor::new(kms).with_mapping(&mapping);
    let client = builder.build().await.with_encryptor(Arc::new(encryptor));
    let left = user_service::run(&client).await?;
    println!("{left} note(s) left");
    Ok(())
}
