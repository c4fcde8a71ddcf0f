//! The engine and the local AWS services as containers, on the `testcontainers` crate: for tests
//! that need a separate process to restart, pause or cut off.
//!
//! The project's images are built offline by `cargo xtask images` (no registry is reachable),
//! which writes their tags to `target/dynox-images.env`; `DYNOX_DYNAMODB_IMAGE` and
//! `DYNOX_AWS_IMAGE` override them. Other images work too, for machines that can pull them:
//!
//! | image | [`Image`] | container port | differences |
//! |---|---|---|---|
//! | `dynox/dynamodb` (dynoxide) | [`Image::dynamodb`] | 8000 | tables in its `/data` volume: kept across restarts |
//! | `amazon/dynamodb-local` | [`Image::dynamodb_local`] | 8000 | Java; `-sharedDb -dbPath .` keeps tables across restarts |
//! | `dynox/aws` (moto) | [`Image::aws`] | 5000 | KMS and S3 (one port); state in memory only |
//! | `localstack/localstack` | [`Image::localstack`] | 4566 | every service on one port |
//!
//! Readiness is checked the same way for all of them: the service answers a real request
//! (`ListTables`, `ListKeys`), not a log line that differs between images. A container is
//! removed when its handle is dropped, also when a test fails (the handle's `Drop` runs while
//! the panic unwinds), with its anonymous volumes: data outlives a restart of the container,
//! never the container.

use crate::{StartError, local_config};
use aws_config::SdkConfig;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use testcontainers::core::IntoContainerPort;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

/// How long a container may take to answer its first request.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A container image and how to run it.
#[derive(Clone, Debug)]
pub struct Image {
    name: String,
    tag: String,
    port: u16,
    args: Option<Vec<String>>,
}

impl Image {
    /// Any image, serving on `port`.
    pub fn new(name: impl Into<String>, tag: impl Into<String>, port: u16) -> Image {
        Image {
            name: name.into(),
            tag: tag.into(),
            port,
            args: None,
        }
    }

    /// The command's arguments (after the image's entrypoint).
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Image {
        self.args = Some(args.into_iter().map(Into::into).collect());
        self
    }

    /// The project's engine image (`cargo xtask images`), tables kept in its `/data` volume.
    pub fn dynamodb() -> Result<Image, StartError> {
        let (name, tag) = project_image("DYNOX_DYNAMODB_IMAGE")?;
        Ok(Image::new(name, tag, 8000))
    }

    /// The project's image of moto's server (KMS), built by `cargo xtask images`.
    pub fn aws() -> Result<Image, StartError> {
        let (name, tag) = project_image("DYNOX_AWS_IMAGE")?;
        Ok(Image::new(name, tag, 5000))
    }

    /// `amazon/dynamodb-local:<tag>`, tables on disk in its working directory (where it can be
    /// pulled).
    pub fn dynamodb_local(tag: &str) -> Image {
        Image::new("amazon/dynamodb-local", tag, 8000).args([
            "-jar",
            "DynamoDBLocal.jar",
            "-sharedDb",
            "-dbPath",
            ".",
        ])
    }

    /// `localstack/localstack:<tag>`, every service on port 4566 (where it can be pulled).
    pub fn localstack(tag: &str) -> Image {
        Image::new("localstack/localstack", tag, 4566)
    }

    /// `name:tag`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.name, self.tag)
    }
}

/// `name:tag` from `variable`, else from `target/dynox-images.env`.
fn project_image(variable: &str) -> Result<(String, String), StartError> {
    let reference = std::env::var(variable)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| images_file().and_then(|text| find_line(&text, variable)))
        .ok_or_else(|| {
            StartError::Container(format!(
                "no {variable} and no target/dynox-images.env: run `cargo xtask images`"
            ))
        })?;
    let (name, tag) = reference
        .rsplit_once(':')
        .ok_or_else(|| StartError::Container(format!("{variable}={reference} has no tag")))?;
    Ok((name.to_owned(), tag.to_owned()))
}

fn find_line(text: &str, variable: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == variable)
        .map(|(_, v)| v.trim().to_owned())
}

/// `target/dynox-images.env` of the nearest workspace.
fn images_file() -> Option<String> {
    let mut dir: PathBuf = std::env::current_dir().ok()?;
    loop {
        let candidate = dir.join("target/dynox-images.env");
        if let Ok(text) = std::fs::read_to_string(&candidate) {
            return Some(text);
        }
        if !dir.pop() {
            return None;
        }
    }
}

/// Whether a Docker Engine answers (`docker info`), with the reason when it does not.
pub fn engine() -> Result<(), String> {
    match std::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "no Docker Engine answers: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("no Docker Engine answers: cannot run docker: {e}")),
    }
}

/// For container tests: `true` when a Docker Engine answers. When none does, the test fails
/// with one line under `CI=true`, and elsewhere prints that line and is skipped (returns
/// `false`): never a silent pass.
pub fn engine_or_skip() -> bool {
    match engine() {
        Ok(()) => true,
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{why}"),
        Err(why) => {
            eprintln!("skipped: {why}");
            false
        }
    }
}

/// A running container: its mapped endpoint and the means to stop, start, pause and cut it off.
/// Its host port is fixed when it starts, so the endpoint stays the same across restarts.
pub struct Container {
    inner: ContainerAsync<GenericImage>,
    endpoint: String,
    image: Image,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("id", &self.inner.id())
            .field("image", &self.image.reference())
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl Container {
    /// Starts `image` with its port on a free 127.0.0.1 port, and waits until `ready` succeeds.
    async fn start(image: Image) -> Result<Container, StartError> {
        engine().map_err(StartError::Container)?;
        let host_port = free_port()?;
        let mut request = GenericImage::new(&image.name, &image.tag)
            .with_exposed_port(image.port.tcp())
            .with_mapped_port(host_port, image.port.tcp())
            // testcontainers binds every interface; the container is for this host only.
            .with_host_config_modifier(|config| {
                for bindings in config.port_bindings.iter_mut().flat_map(|m| m.values_mut()) {
                    for b in bindings.iter_mut().flatten() {
                        b.host_ip = Some("127.0.0.1".into());
                    }
                }
            });
        if let Some(args) = &image.args {
            request = request.with_cmd(args.clone());
        }
        let inner = request.start().await.map_err(|e| {
            StartError::Container(format!("cannot start {}: {e}", image.reference()))
        })?;
        Ok(Container {
            inner,
            endpoint: format!("http://127.0.0.1:{host_port}"),
            image,
        })
    }

    /// The endpoint URL on the host.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// The image it runs.
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// Stops it (its volumes and writable layer are kept).
    pub async fn stop(&self) -> Result<(), StartError> {
        self.inner
            .stop()
            .await
            .map_err(|e| StartError::Container(format!("stop: {e}")))
    }

    /// Starts it again after [`stop`](Container::stop), on the same host port.
    pub async fn start_again(&self) -> Result<(), StartError> {
        self.inner
            .start()
            .await
            .map_err(|e| StartError::Container(format!("start: {e}")))
    }

    /// Freezes every process in it: connections stay open and nothing answers.
    pub async fn pause(&self) -> Result<(), StartError> {
        self.inner
            .pause()
            .await
            .map_err(|e| StartError::Container(format!("pause: {e}")))
    }

    /// Lets a paused container run on.
    pub async fn unpause(&self) -> Result<(), StartError> {
        self.inner
            .unpause()
            .await
            .map_err(|e| StartError::Container(format!("unpause: {e}")))
    }

    /// Takes it off its network: the host port stays, nothing reaches the service.
    pub fn disconnect(&self) -> Result<(), StartError> {
        self.network("disconnect")
    }

    /// Puts it back on its network after [`disconnect`](Container::disconnect).
    pub fn reconnect(&self) -> Result<(), StartError> {
        self.network("connect")
    }

    fn network(&self, verb: &str) -> Result<(), StartError> {
        let out = std::process::Command::new("docker")
            .args(["network", verb, "bridge", self.id()])
            .output()
            .map_err(|e| StartError::Container(format!("docker network {verb}: {e}")))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(StartError::Container(format!(
                "docker network {verb}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }
}

fn free_port() -> Result<u16, StartError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(StartError::Io)
}

/// Waits until `probe` succeeds (the service answers), or fails after [`READY_TIMEOUT`].
async fn wait_ready<F, Fut, E>(what: &str, mut probe: F) -> Result<(), StartError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match tokio::time::timeout(Duration::from_secs(2), probe()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if Instant::now() > deadline => {
                return Err(StartError::Container(format!(
                    "{what} did not answer within {READY_TIMEOUT:?}: {e}"
                )));
            }
            Err(_) if Instant::now() > deadline => {
                return Err(StartError::Container(format!(
                    "{what} did not answer within {READY_TIMEOUT:?}"
                )));
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The DynamoDB-compatible engine in a container.
#[derive(Debug)]
pub struct DynamoDb {
    container: Container,
    config: SdkConfig,
}

impl DynamoDb {
    /// The project's engine image (tables in its `/data` volume).
    pub async fn start() -> Result<DynamoDb, StartError> {
        DynamoDb::start_image(Image::dynamodb()?).await
    }

    /// Any DynamoDB-compatible image (see the module's table).
    pub async fn start_image(image: Image) -> Result<DynamoDb, StartError> {
        let container = Container::start(image).await?;
        let config = local_config(container.endpoint());
        let db = DynamoDb { container, config };
        db.wait_ready().await?;
        Ok(db)
    }

    /// Waits until the engine answers `ListTables` (after a start or an unpause).
    pub async fn wait_ready(&self) -> Result<(), StartError> {
        let sdk = aws_sdk_dynamodb::Client::new(&self.config);
        wait_ready(&self.container.image.reference(), || {
            let sdk = sdk.clone();
            async move {
                sdk.list_tables()
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            }
        })
        .await
    }

    /// The container, to stop, start, pause or cut off.
    pub fn container(&self) -> &Container {
        &self.container
    }

    /// The endpoint URL on the host.
    pub fn endpoint(&self) -> &str {
        self.container.endpoint()
    }

    /// An AWS configuration for it.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// A dynox client for it.
    pub fn client(&self) -> dynox::Client {
        dynox::Client::new(&self.config)
    }

    /// Restarts the engine (stop, start, wait until it answers); an image that keeps its tables
    /// on disk (the project's, in `/data`) has them again.
    pub async fn restart(&self) -> Result<(), StartError> {
        self.container.stop().await?;
        self.container.start_again().await?;
        self.wait_ready().await
    }
}

/// The local AWS services (KMS) in a container.
#[derive(Debug)]
pub struct Aws {
    container: Container,
    config: SdkConfig,
}

impl Aws {
    /// The project's moto image.
    pub async fn start() -> Result<Aws, StartError> {
        Aws::start_image(Image::aws()?).await
    }

    /// Any image serving KMS (see the module's table).
    pub async fn start_image(image: Image) -> Result<Aws, StartError> {
        let container = Container::start(image).await?;
        let config = local_config(container.endpoint());
        let aws = Aws { container, config };
        let kms = aws_sdk_kms::Client::new(&aws.config);
        wait_ready(&aws.container.image.reference(), || {
            let kms = kms.clone();
            async move {
                kms.list_keys()
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws_sdk_kms::error::DisplayErrorContext(e).to_string())
            }
        })
        .await?;
        Ok(aws)
    }

    /// The container.
    pub fn container(&self) -> &Container {
        &self.container
    }

    /// The endpoint URL on the host.
    pub fn endpoint(&self) -> &str {
        self.container.endpoint()
    }

    /// An AWS configuration for it.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// A KMS client for it.
    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.config)
    }

    /// An encryptor on its KMS.
    pub fn encryptor(&self) -> dynox::encryption::Encryptor {
        dynox::encryption::Encryptor::new(self.kms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_lines_are_found_by_name() {
        let text = "DYNOX_DYNAMODB_IMAGE=dynox/dynamodb:abc\nDYNOX_AWS_IMAGE = dynox/aws:def\n";
        assert_eq!(
            find_line(text, "DYNOX_AWS_IMAGE").as_deref(),
            Some("dynox/aws:def")
        );
        assert_eq!(find_line(text, "DYNOX_S3_IMAGE"), None);
        assert_eq!(
            Image::localstack("3").reference(),
            "localstack/localstack:3"
        );
    }
}
