//! The deployed binary: configuration from the environment, the same mapping as the policy.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = dynox::Client::builder().mapping(dynox::Mapping::from_env()?);
    if let Ok(endpoint) = std::env::var("DYNOX_ENDPOINT") {
        builder = builder.endpoint_url(endpoint);
    }
    let client = builder.build().await;
    let left = user_service::run(&client).await?;
    println!("{left} note(s) left");
    Ok(())
}
