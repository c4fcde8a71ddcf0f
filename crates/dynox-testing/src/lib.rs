//! Local backends for dynox's tests, demos and users' own tests.
//!
//! [`LocalDynamo`] serves dynoxide's embedded DynamoDB-compatible engine over HTTP on
//! `127.0.0.1:0`, with a fresh in-memory database per instance, so tests exercise the real AWS SDK
//! code path with zero setup. Setting `DYNOX_ENDPOINT` (or the standard
//! `AWS_ENDPOINT_URL_DYNAMODB`) points every instance at that endpoint instead: real AWS or any
//! emulator. [`LocalKms`] runs moto's KMS server on loopback for encryption tests, and [`LocalS3`]
//! the same server as the S3 of S3-backed fields.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let local = dynox_testing::LocalDynamo::start().await?;
//! let client = local.client();
//! # Ok(()) }
//! ```

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials as _, SharedCredentialsProvider};
use dynox::Model;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub mod containers;
pub mod faults;
pub mod iam;
mod s3;

pub use s3::{LocalS3, S3_ENDPOINT_VARIABLES};

/// The environment variables that point the local backend at an external endpoint, in order.
pub const ENDPOINT_VARIABLES: [&str; 2] = ["DYNOX_ENDPOINT", "AWS_ENDPOINT_URL_DYNAMODB"];

/// Why the local backend could not start.
#[derive(Debug)]
pub enum StartError {
    /// Binding the loopback port or starting the server thread failed.
    Io(std::io::Error),
    /// The embedded engine could not open its database.
    Engine(String),
    /// The local KMS is not installed or did not come up.
    Kms(String),
    /// The local S3 is not installed or did not come up, or a set-up request failed.
    S3(String),
    /// The policy to enforce cannot be read or is not a valid policy document.
    Policy(String),
    /// A container (the Docker Engine, an image, a start, a ready check) failed.
    Container(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Io(e) => write!(f, "cannot start the embedded DynamoDB server: {e}"),
            StartError::Engine(e) => write!(f, "the embedded DynamoDB engine failed: {e}"),
            StartError::Kms(e) => write!(f, "the local KMS failed: {e}"),
            StartError::S3(e) => write!(f, "the local S3 failed: {e}"),
            StartError::Policy(e) => write!(f, "cannot enforce the IAM policy: {e}"),
            StartError::Container(e) => write!(f, "container backend: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Io(e) => Some(e),
            StartError::Engine(_)
            | StartError::Kms(_)
            | StartError::S3(_)
            | StartError::Policy(_)
            | StartError::Container(_) => None,
        }
    }
}

/// An AWS configuration for a local endpoint: a fixed region and local credentials (the local
/// backends accept any), for the embedded engine, moto and the containers alike.
/// An AWS configuration for an endpoint named by the environment: aws-config's usual chain, with
/// `us-east-1` and dummy credentials where the environment has none (an emulator accepts any).
async fn external_config(endpoint: &str) -> SdkConfig {
    let base = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .load()
        .await;
    let mut b = base.to_builder();
    if base.region().is_none() {
        b.set_region(Some(Region::new("us-east-1")));
    }
    let usable = match base.credentials_provider() {
        Some(p) => p.provide_credentials().await.is_ok(),
        None => false,
    };
    if !usable {
        b.set_credentials_provider(Some(SharedCredentialsProvider::new(Credentials::new(
            "local",
            "local",
            None,
            None,
            "dynox-testing",
        ))));
    }
    b.build()
}

pub(crate) fn local_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "local",
            "local",
            None,
            None,
            "dynox-testing",
        )))
        .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().expect("tokio sleep"))
        .build()
}

/// Where the suite's engine and local AWS services run, from `DYNOX_BACKEND`: the one place the
/// integration tests take it from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// In the test process (dynoxide) and a child process (moto): the default.
    Embedded,
    /// In containers of the project's images ([`containers`]).
    Containers,
}

impl Backend {
    /// `DYNOX_BACKEND` (`embedded` when unset); anything else is an error, not a default.
    pub fn from_env() -> Result<Backend, StartError> {
        match std::env::var("DYNOX_BACKEND").as_deref() {
            Err(_) | Ok("") | Ok("embedded") => Ok(Backend::Embedded),
            Ok("containers") => Ok(Backend::Containers),
            Ok(other) => Err(StartError::Container(format!(
                "DYNOX_BACKEND={other}: expected embedded or containers"
            ))),
        }
    }
}

/// A DynamoDB endpoint for tests: the embedded engine, or the endpoint from the environment.
///
/// Dropping it stops the embedded server.
pub struct LocalDynamo {
    endpoint: String,
    config: SdkConfig,
    embedded: bool,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    enforced: Option<Enforced>,
    /// The engine's container, on the containers backend.
    container: Option<containers::DynamoDb>,
}

/// The IAM gateway in front of a backend, and the endpoint it fronts.
#[derive(Debug)]
struct Enforced {
    _gateway: iam::Gateway,
    enforcer: Arc<iam::Enforcer>,
    upstream: String,
}

impl Enforced {
    /// Starts a gateway in front of `endpoint`, points `endpoint` and `config` at it, and keeps
    /// it in `slot`; a backend enforces one policy at most.
    fn install(
        slot: &mut Option<Enforced>,
        endpoint: &mut String,
        config: &mut SdkConfig,
        service: iam::Service,
        enforcer: iam::Enforcer,
    ) -> Result<(), StartError> {
        if slot.is_some() {
            return Err(StartError::Policy(
                "this backend already enforces a policy".into(),
            ));
        }
        let enforcer = Arc::new(enforcer);
        let gateway = iam::Gateway::start(endpoint, service, enforcer.clone())?;
        let upstream = std::mem::replace(endpoint, gateway.endpoint.clone());
        *config = config.to_builder().endpoint_url(endpoint.as_str()).build();
        *slot = Some(Enforced {
            _gateway: gateway,
            enforcer,
            upstream,
        });
        Ok(())
    }
}

impl fmt::Debug for LocalDynamo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalDynamo")
            .field("endpoint", &self.endpoint)
            .field("embedded", &self.embedded)
            .finish()
    }
}

impl LocalDynamo {
    /// Starts a fresh engine on the suite's [`Backend`], unless the environment names an
    /// endpoint. With `DYNOX_IAM_POLICY` set, every request is authorized against that policy
    /// first.
    pub async fn start() -> Result<LocalDynamo, StartError> {
        let local = match external_endpoint() {
            Some(endpoint) => LocalDynamo::external(endpoint).await,
            None => match Backend::from_env()? {
                Backend::Embedded => LocalDynamo::embedded()?,
                Backend::Containers => LocalDynamo::container().await?,
            },
        };
        match iam::Enforcer::from_env() {
            Some(enforcer) => local.enforce(enforcer?),
            None => Ok(local),
        }
    }

    /// This backend behind an IAM gateway: each request is authorized against `enforcer`'s
    /// policy the way AWS would, and denied with `AccessDeniedException` when it is not allowed.
    pub fn enforce(mut self, enforcer: iam::Enforcer) -> Result<LocalDynamo, StartError> {
        Enforced::install(
            &mut self.enforced,
            &mut self.endpoint,
            &mut self.config,
            iam::Service::DynamoDb,
            enforcer,
        )?;
        Ok(self)
    }

    /// The policy enforcer, when this backend enforces one.
    pub fn enforcer(&self) -> Option<&iam::Enforcer> {
        self.enforced.as_ref().map(|e| &*e.enforcer)
    }

    /// An AWS configuration for the engine itself, bypassing the IAM gateway when there is one:
    /// for set-up that is not the service's (and so not in its policy).
    pub fn unenforced_sdk_config(&self) -> SdkConfig {
        match &self.enforced {
            Some(e) => self.config.to_builder().endpoint_url(&e.upstream).build(),
            None => self.config.clone(),
        }
    }

    /// The engine's own endpoint, which the IAM gateway (when there is one) stands in front of:
    /// for set-up that is not the service's (and so not in its policy).
    pub fn unenforced_endpoint(&self) -> &str {
        self.enforced
            .as_ref()
            .map_or(&self.endpoint, |e| &e.upstream)
    }

    /// Starts a fresh embedded engine, whatever the environment says.
    pub fn embedded() -> Result<LocalDynamo, StartError> {
        let db = dynoxide::Database::memory().map_err(|e| StartError::Engine(e.to_string()))?;
        LocalDynamo::serve(db)
    }

    /// Starts a fresh embedded engine whose clock only moves when told to: for tests of what
    /// takes time (time to live, an index that becomes searchable after a while).
    pub fn embedded_with_clock() -> Result<(LocalDynamo, EngineClock), StartError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let clock = dynoxide::storage_backend::ManualClock::new(now);
        let db = dynoxide::Database::memory_with_clock(clock.arc())
            .map_err(|e| StartError::Engine(e.to_string()))?;
        Ok((LocalDynamo::serve(db)?, EngineClock(clock)))
    }

    fn serve(db: dynoxide::Database) -> Result<LocalDynamo, StartError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(StartError::Io)?;
        listener.set_nonblocking(true).map_err(StartError::Io)?;
        let addr = listener.local_addr().map_err(StartError::Io)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // The server gets a thread and runtime of its own, so it serves whatever runtime (or none)
        // the test uses, and keeps serving while the test blocks.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StartError::Io)?;
        std::thread::Builder::new()
            .name(format!("dynox-local-dynamodb-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("dynox-testing: embedded server cannot listen: {e}");
                            return;
                        }
                    };
                    let stop = async {
                        let _ = rx.await;
                    };
                    if let Err(e) = dynoxide::server::serve_with_shutdown(listener, db, stop).await
                    {
                        eprintln!("dynox-testing: embedded server stopped: {e}");
                    }
                });
            })
            .map_err(StartError::Io)?;
        let endpoint = format!("http://{addr}");
        let config = local_config(&endpoint);
        Ok(LocalDynamo {
            endpoint,
            config,
            embedded: true,
            shutdown: Some(tx),
            enforced: None,
            container: None,
        })
    }

    /// Uses an external endpoint with aws-config's usual credentials chain (dummy credentials and
    /// `us-east-1` when the environment has none).
    pub async fn external(endpoint: String) -> LocalDynamo {
        LocalDynamo {
            config: external_config(&endpoint).await,
            endpoint,
            embedded: false,
            shutdown: None,
            enforced: None,
            container: None,
        }
    }

    /// Starts the engine in a fresh container (the project's image, see [`containers`]).
    pub async fn container() -> Result<LocalDynamo, StartError> {
        let db = containers::DynamoDb::start().await?;
        Ok(LocalDynamo {
            endpoint: db.endpoint().to_owned(),
            config: db.sdk_config().clone(),
            embedded: false,
            shutdown: None,
            enforced: None,
            container: Some(db),
        })
    }

    /// The engine's container, on the containers backend.
    pub fn engine_container(&self) -> Option<&containers::DynamoDb> {
        self.container.as_ref()
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether this is the embedded engine (rather than an endpoint from the environment).
    pub fn is_embedded(&self) -> bool {
        self.embedded
    }

    /// An AWS configuration pointed at the endpoint.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// A dynox client pointed at the endpoint.
    pub fn client(&self) -> dynox::Client {
        dynox::Client::new(&self.config)
    }

    /// Creates the model's table (on demand) and waits until it is active.
    pub async fn create_table<M: Model>(&self, client: &dynox::Client) -> dynox::Result<()> {
        client.create_table::<M>().send().await?;
        client.wait_until_active::<M>(Duration::from_secs(60)).await
    }
}

/// The clock of an embedded engine started with [`LocalDynamo::embedded_with_clock`].
#[derive(Debug, Clone)]
pub struct EngineClock(dynoxide::storage_backend::ManualClock);

impl EngineClock {
    /// Moves the engine's time forward.
    pub fn advance(&self, by: Duration) {
        self.0.tick(by);
    }
}

impl Drop for LocalDynamo {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The endpoint named by the environment, if any.
pub fn external_endpoint() -> Option<String> {
    ENDPOINT_VARIABLES
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
}

/// The environment variables that point [`LocalKms`] at an external KMS endpoint, in order.
pub const KMS_ENDPOINT_VARIABLES: [&str; 2] = ["DYNOX_KMS_ENDPOINT", "AWS_ENDPOINT_URL_KMS"];

/// A KMS for tests: moto's server started on loopback as a child process (installed by
/// `cargo xtask setup` under `target/dynox-venv`), or the endpoint from the environment.
///
/// Dropping it stops the server (by its PID).
pub struct LocalKms {
    endpoint: String,
    config: SdkConfig,
    child: Option<std::process::Child>,
    /// The KMS itself, for set-up (creating keys) that bypasses an IAM gateway.
    admin: SdkConfig,
    enforced: Option<Enforced>,
    /// Its container, on the containers backend.
    container: Option<containers::Aws>,
}

impl fmt::Debug for LocalKms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKms")
            .field("endpoint", &self.endpoint)
            .field("pid", &self.child.as_ref().map(std::process::Child::id))
            .finish()
    }
}

/// Where `moto_server` is: `DYNOX_MOTO_SERVER`, or `target/dynox-venv` of the nearest workspace.
fn moto_server() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("DYNOX_MOTO_SERVER") {
        return Some(p.into());
    }
    let mut dir = std::env::current_dir().ok()?;
    loop {
        let candidate = dir.join("target/dynox-venv/bin/moto_server");
        if candidate.exists() {
            return Some(candidate);
        }
        if !dir.pop() {
            return None;
        }
    }
}

/// Starts moto's server (KMS, S3, ...) on a free loopback port as a child process and waits
/// until it listens; the error says why not.
pub(crate) async fn start_moto() -> Result<(std::process::Child, std::net::SocketAddr), String> {
    let server = moto_server()
        .ok_or_else(|| "moto_server is not installed: run `cargo xtask setup`".to_owned())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))?
        .port();
    let mut child = std::process::Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", server.display()))?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok((child, addr));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("moto_server exited with {status}"));
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("moto_server did not listen within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl LocalKms {
    /// Starts moto's KMS on a free loopback port, unless the environment names an endpoint.
    /// With `DYNOX_IAM_POLICY` set, every request is authorized against that policy first.
    pub async fn start() -> Result<LocalKms, StartError> {
        let kms = LocalKms::start_unenforced().await?;
        match iam::Enforcer::from_env() {
            Some(enforcer) => kms.enforce(enforcer?),
            None => Ok(kms),
        }
    }

    /// This KMS behind an IAM gateway (see [`LocalDynamo::enforce`]). Keys are still created
    /// directly by [`LocalKms::create_key`]: that is test set-up, not the service's work.
    pub fn enforce(mut self, enforcer: iam::Enforcer) -> Result<LocalKms, StartError> {
        Enforced::install(
            &mut self.enforced,
            &mut self.endpoint,
            &mut self.config,
            iam::Service::Kms,
            enforcer,
        )?;
        Ok(self)
    }

    /// The policy enforcer, when this KMS enforces one.
    pub fn enforcer(&self) -> Option<&iam::Enforcer> {
        self.enforced.as_ref().map(|e| &*e.enforcer)
    }

    async fn start_unenforced() -> Result<LocalKms, StartError> {
        if let Some(endpoint) = KMS_ENDPOINT_VARIABLES
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        {
            let config = external_config(&endpoint).await;
            return Ok(LocalKms {
                endpoint,
                admin: config.clone(),
                config,
                child: None,
                enforced: None,
                container: None,
            });
        }
        if Backend::from_env()? == Backend::Containers {
            let aws = containers::Aws::start().await?;
            return Ok(LocalKms {
                endpoint: aws.endpoint().to_owned(),
                admin: aws.sdk_config().clone(),
                config: aws.sdk_config().clone(),
                child: None,
                enforced: None,
                container: Some(aws),
            });
        }
        let (child, addr) = start_moto().await.map_err(StartError::Kms)?;
        let endpoint = format!("http://{addr}");
        let config = local_config(&endpoint);
        Ok(LocalKms {
            endpoint,
            admin: config.clone(),
            config,
            child: Some(child),
            enforced: None,
            container: None,
        })
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Its container, on the containers backend.
    pub fn container(&self) -> Option<&containers::Aws> {
        self.container.as_ref()
    }

    /// A KMS client pointed at it.
    pub fn client(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.config)
    }

    /// Creates a symmetric key, with an alias when given (`"app"` and `"alias/app"` both name
    /// `alias/app`, the way models declare keys); returns the key id.
    pub async fn create_key(&self, alias: Option<&str>) -> Result<String, StartError> {
        let kms = aws_sdk_kms::Client::new(&self.admin);
        let out =
            kms.create_key().send().await.map_err(|e| {
                StartError::Kms(aws_sdk_kms::error::DisplayErrorContext(e).to_string())
            })?;
        let id = out
            .key_metadata
            .map(|m| m.key_id)
            .ok_or_else(|| StartError::Kms("CreateKey returned no key".into()))?;
        if let Some(a) = alias {
            let name = a.strip_prefix("alias/").unwrap_or(a);
            kms.create_alias()
                .alias_name(format!("alias/{name}"))
                .target_key_id(&id)
                .send()
                .await
                .map_err(|e| {
                    StartError::Kms(aws_sdk_kms::error::DisplayErrorContext(e).to_string())
                })?;
        }
        Ok(id)
    }
}

impl Drop for LocalKms {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
