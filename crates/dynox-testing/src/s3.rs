//! [`LocalS3`]: moto's server as the S3 of S3-backed fields.

use crate::{Backend, Enforced, StartError, containers, external_config, iam, local_config};
use aws_config::SdkConfig;
use std::fmt;

/// The environment variables that point [`LocalS3`] at an external S3 endpoint, in order.
pub const S3_ENDPOINT_VARIABLES: [&str; 2] = ["DYNOX_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3"];

/// An S3 for tests: moto's server started on loopback as a child process (the same pinned install
/// as [`LocalKms`](crate::LocalKms), by `cargo xtask setup`), the `dynox/aws` container on the
/// containers backend, or the endpoint from the environment.
///
/// Its clients address buckets path style (`http://127.0.0.1:PORT/BUCKET/KEY`), in `us-east-1`,
/// with dummy credentials. Dropping it stops the server (by its PID).
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let s3 = dynox_testing::LocalS3::start().await?;
/// s3.create_bucket("attachments").await?;
/// let client = dynox_testing::LocalDynamo::start().await?.client();
/// // let client = client.with_s3(s3.s3_client());
/// # Ok(()) }
/// ```
pub struct LocalS3 {
    endpoint: String,
    /// The service's configuration: through the IAM gateway when there is one.
    config: SdkConfig,
    /// The S3 itself, for set-up and inspection that bypass the IAM gateway.
    admin: SdkConfig,
    child: Option<std::process::Child>,
    enforced: Option<Enforced>,
    /// Its container, on the containers backend.
    container: Option<containers::Aws>,
}

impl fmt::Debug for LocalS3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalS3")
            .field("endpoint", &self.endpoint)
            .field("pid", &self.child.as_ref().map(std::process::Child::id))
            .field("enforced", &self.enforced.is_some())
            .finish()
    }
}

fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

impl LocalS3 {
    /// Starts moto's S3 on a free loopback port (in a container on the containers
    /// [`Backend`]), unless `DYNOX_S3_ENDPOINT` / `AWS_ENDPOINT_URL_S3` names an endpoint. With
    /// `DYNOX_IAM_POLICY` set, every request is authorized against that policy first.
    pub async fn start() -> Result<LocalS3, StartError> {
        let s3 = LocalS3::start_unenforced().await?;
        match iam::Enforcer::from_env() {
            Some(enforcer) => s3.enforce(enforcer?),
            None => Ok(s3),
        }
    }

    async fn start_unenforced() -> Result<LocalS3, StartError> {
        let local = |endpoint: String, config: SdkConfig| LocalS3 {
            endpoint,
            admin: config.clone(),
            config,
            child: None,
            enforced: None,
            container: None,
        };
        if let Some(endpoint) = S3_ENDPOINT_VARIABLES
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        {
            let config = external_config(&endpoint).await;
            return Ok(local(endpoint, config));
        }
        if Backend::from_env()? == Backend::Containers {
            let aws = containers::Aws::start().await?;
            let mut s3 = local(aws.endpoint().to_owned(), aws.sdk_config().clone());
            s3.container = Some(aws);
            return Ok(s3);
        }
        let (child, addr) = crate::start_moto().await.map_err(StartError::S3)?;
        let endpoint = format!("http://{addr}");
        let config = local_config(&endpoint);
        let mut s3 = local(endpoint, config);
        s3.child = Some(child);
        Ok(s3)
    }

    /// This S3 behind an IAM gateway: each request is authorized against `enforcer`'s policy the
    /// way S3 would (see [`iam`]), and denied with S3's `AccessDenied` (403) when it is not
    /// allowed. [`LocalS3::create_bucket`] and [`LocalS3::admin`] still bypass it.
    pub fn enforce(mut self, enforcer: iam::Enforcer) -> Result<LocalS3, StartError> {
        Enforced::install(
            &mut self.enforced,
            &mut self.endpoint,
            &mut self.config,
            iam::Service::S3,
            enforcer,
        )?;
        Ok(self)
    }

    /// The policy enforcer, when this S3 enforces one.
    pub fn enforcer(&self) -> Option<&iam::Enforcer> {
        self.enforced.as_ref().map(|e| &*e.enforcer)
    }

    /// The endpoint the service is given: the IAM gateway's when there is one.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The S3 server's own endpoint, which the IAM gateway (when there is one) stands in front
    /// of.
    pub fn unenforced_endpoint(&self) -> &str {
        self.enforced
            .as_ref()
            .map_or(&self.endpoint, |e| &e.upstream)
    }

    /// Its container, on the containers backend.
    pub fn container(&self) -> Option<&containers::Aws> {
        self.container.as_ref()
    }

    /// The AWS configuration of the service's S3 client (through the gateway when enforcing).
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// The S3 client a dynox `Client` is given: path style, through the IAM gateway when this
    /// S3 enforces a policy.
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        s3_client(&self.config)
    }

    /// A client of the S3 itself, bypassing the IAM gateway: for set-up and inspection that are
    /// not the service's work (and so not in its policy).
    pub fn admin(&self) -> aws_sdk_s3::Client {
        s3_client(&self.admin)
    }

    /// Creates a bucket (bypassing the IAM gateway). A name S3 refuses (3 to 63 lower-case
    /// letters, digits, dots and hyphens) is an error.
    pub async fn create_bucket(&self, name: &str) -> Result<(), StartError> {
        self.admin()
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                StartError::S3(format!(
                    "CreateBucket {name}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                ))
            })
    }
}

impl Drop for LocalS3 {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
