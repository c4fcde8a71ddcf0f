//! An IAM-enforcing gateway in front of the local DynamoDB, KMS and S3.
//!
//! Every request is authorized the way AWS authorizes it before it reaches the engine: the
//! actions it needs (one per member for batches, transactions and PartiQL), each on its resource
//! ARN (table, index, key, S3 object), with the request's condition keys, evaluated against a
//! policy with [`iam_rs`]. A denied request never reaches the engine and gets the denial that AWS
//! sends (`AccessDeniedException`; S3's `AccessDenied`). Running a service's tests behind it with the policy `cargo xtask policy`
//! exported for the service's binary proves that policy is sufficient; removing one action and
//! watching a test fail proves it was needed.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use dynox_testing::{LocalDynamo, iam::Enforcer};
//! let policy = std::fs::read_to_string("policy.json")?;
//! let local = LocalDynamo::embedded()?.enforce(Enforcer::from_json(&policy)?)?;
//! let client = local.client(); // every request is now checked against policy.json
//! # Ok(()) }
//! ```
//!
//! Setting `DYNOX_IAM_POLICY` to a policy file makes [`LocalDynamo::start`](crate::LocalDynamo),
//! [`LocalKms::start`](crate::LocalKms) and [`LocalS3::start`](crate::LocalS3) enforce it, so a
//! whole service runs under it unchanged. S3's requests (REST, path style) are read in `iam/s3.rs`
//! and denied with S3's own 403 `AccessDenied`; their bodies are streamed, while DynamoDB's and
//! KMS's (small JSON documents) are read whole before they are authorized.

use crate::StartError;
use base64::Engine as _;
use bytes::Bytes;
use dynox_iam::actions::{IndexAuthorization, index_authorization};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use iam_rs::{Arn, Context, ContextValue, Decision, IAMPolicy, IAMRequest, PolicyEvaluator};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

mod s3;

/// A body the gateway sends or forwards: a buffered one, or a stream passed through.
type Body = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;

/// A buffered body as a [`Body`].
fn full_body(body: Full<Bytes>) -> Body {
    body.map_err(|never| match never {}).boxed()
}

/// The environment variable naming a policy file that local backends enforce.
pub const POLICY_VARIABLE: &str = "DYNOX_IAM_POLICY";

/// The environment variable with the principal's tags, `key=value,key=value`.
pub const PRINCIPAL_TAGS_VARIABLE: &str = "DYNOX_IAM_PRINCIPAL_TAGS";

/// The account of the local backends (moto's default account, so KMS key ARNs agree).
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// A policy and the identity it is attached to.
pub struct Enforcer {
    /// The policy as given, placeholders localized; variables are resolved per principal.
    text: String,
    evaluator: PolicyEvaluator,
    /// Whether the policy reads `dynamodb:LeadingKeys` (only then are key schemas looked up).
    uses_leading_keys: bool,
    account: String,
    principal: String,
    tags: BTreeMap<String, String>,
    denials: Mutex<Vec<Denial>>,
}

impl fmt::Debug for Enforcer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enforcer")
            .field("account", &self.account)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// One request that the policy did not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The action that no statement allowed.
    pub action: String,
    /// Its resource ARN.
    pub resource: String,
}

/// What one request needs: an action on a resource, under condition keys.
#[derive(Clone, Debug)]
struct Check {
    action: String,
    resource: String,
    context: Vec<(String, ContextValue)>,
    /// Where the partition keys of the request are, for `dynamodb:LeadingKeys`.
    keys: Keys,
}

/// Where a DynamoDB request names the partition keys it touches.
#[derive(Clone, Debug, Default)]
enum Keys {
    /// Nowhere: the action has no leading keys.
    #[default]
    None,
    /// In these key or item maps, of this table.
    Maps(String, Vec<Value>),
    /// In a query's key condition, of this table (or this index of it).
    KeyCondition(String, Option<String>),
}

impl Check {
    fn new(action: &str, resource: String) -> Check {
        Check {
            action: action.to_owned(),
            resource,
            context: Vec::new(),
            keys: Keys::None,
        }
    }

    fn keys(mut self, keys: Keys) -> Check {
        self.keys = keys;
        self
    }

    fn with(mut self, key: &str, value: &str) -> Check {
        self.context
            .push((key.to_owned(), ContextValue::String(value.to_owned())));
        self
    }
}

impl Enforcer {
    /// An enforcer of an identity-based policy document (IAM JSON), for a role in
    /// [`DEFAULT_ACCOUNT`].
    ///
    /// A document with an empty `Statement` list is a role without permissions: every request
    /// is denied. ARNs with the `REGION` / `ACCOUNT` placeholders of an export that was given no
    /// region and account are read as the local backends' (`us-east-1`, [`DEFAULT_ACCOUNT`]), so
    /// a policy committed for production can be enforced locally as it is.
    ///
    /// The principal's own policy variables (`${aws:PrincipalTag/...}`, `${aws:PrincipalArn}`,
    /// `${aws:PrincipalAccount}`) are resolved in conditions as well as resources, as AWS does.
    pub fn from_json(policy: &str) -> Result<Enforcer, StartError> {
        let text = policy
            .replace(":REGION:", ":us-east-1:")
            .replace(":ACCOUNT:", &format!(":{DEFAULT_ACCOUNT}:"));
        let principal = format!("arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/dynox-test/session");
        let tags = BTreeMap::new();
        let evaluator = evaluator(&text, &principal, &tags)?;
        Ok(Enforcer {
            evaluator,
            uses_leading_keys: text.contains("dynamodb:LeadingKeys"),
            text,
            account: DEFAULT_ACCOUNT.to_owned(),
            principal,
            tags,
            denials: Mutex::new(Vec::new()),
        })
    }

    /// The enforcer of the policy file named by `DYNOX_IAM_POLICY`, if it is set, with the
    /// principal tags of `DYNOX_IAM_PRINCIPAL_TAGS` (`key=value,key=value`).
    pub fn from_env() -> Option<Result<Enforcer, StartError>> {
        let path = std::env::var_os(POLICY_VARIABLE).filter(|p| !p.is_empty())?;
        let enforcer = std::fs::read_to_string(&path)
            .map_err(|e| {
                StartError::Policy(format!(
                    "{POLICY_VARIABLE}={}: {e}",
                    std::path::Path::new(&path).display()
                ))
            })
            .and_then(|text| Enforcer::from_json(&text));
        let tags = std::env::var(PRINCIPAL_TAGS_VARIABLE).unwrap_or_default();
        Some(enforcer.and_then(|mut e| {
            for pair in tags.split(',').filter(|p| !p.trim().is_empty()) {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    StartError::Policy(format!(
                        "{PRINCIPAL_TAGS_VARIABLE} holds `key=value` pairs, not `{pair}`"
                    ))
                })?;
                e = e.principal_tag(k.trim(), v.trim());
            }
            Ok(e)
        }))
    }

    /// A principal tag (`aws:PrincipalTag/KEY`), for policies that use it as a variable.
    pub fn principal_tag(mut self, key: &str, value: &str) -> Enforcer {
        self.tags.insert(key.to_owned(), value.to_owned());
        self.evaluator = evaluator(&self.text, &self.principal, &self.tags)
            .expect("the policy parsed before, and tag values are inserted as JSON strings");
        self
    }

    /// The requests denied so far, oldest first.
    pub fn denials(&self) -> Vec<Denial> {
        self.denials.lock().expect("denials lock").clone()
    }

    fn record(&self, denial: Denial) {
        self.denials.lock().expect("denials lock").push(denial);
    }

    fn authorize(&self, checks: &[Check]) -> Result<(), Denial> {
        for check in checks {
            let mut context = Context::new();
            context.insert(
                "aws:PrincipalArn".into(),
                ContextValue::String(self.principal.clone()),
            );
            context.insert(
                "aws:PrincipalAccount".into(),
                ContextValue::String(self.account.clone()),
            );
            for (k, v) in &self.tags {
                context.insert(
                    format!("aws:PrincipalTag/{k}"),
                    ContextValue::String(v.clone()),
                );
            }
            // A request carries only the condition keys AWS puts in that action's context; a
            // condition on any other key finds it missing, as it would in AWS.
            for (k, v) in &check.context {
                if dynox_iam::actions::carries_condition_key(&check.action, k) {
                    context.insert(k.clone(), v.clone());
                }
            }
            let allowed = Arn::parse(&check.resource).ok().is_some_and(|arn| {
                let request = IAMRequest::new_with_context(
                    iam_rs::Principal::Aws(iam_rs::PrincipalId::String(self.principal.clone())),
                    check.action.clone(),
                    arn,
                    context,
                );
                matches!(
                    self.evaluator.evaluate(&request).map(|r| r.decision),
                    Ok(Decision::Allow)
                )
            });
            if !allowed {
                let denial = Denial {
                    action: check.action.clone(),
                    resource: check.resource.clone(),
                };
                self.record(denial.clone());
                return Err(denial);
            }
        }
        Ok(())
    }
}

/// The evaluator of `text` for this principal: its constant policy variables substituted (as
/// JSON string content), then parsed and validated.
fn evaluator(
    text: &str,
    principal: &str,
    tags: &BTreeMap<String, String>,
) -> Result<PolicyEvaluator, StartError> {
    let json_content = |v: &str| {
        let quoted = Value::String(v.to_owned()).to_string();
        quoted[1..quoted.len() - 1].to_owned()
    };
    let mut resolved = text
        .replace("${aws:PrincipalArn}", &json_content(principal))
        .replace("${aws:PrincipalAccount}", DEFAULT_ACCOUNT);
    for (k, v) in tags {
        resolved = resolved.replace(&format!("${{aws:PrincipalTag/{k}}}"), &json_content(v));
    }
    let raw: Value = serde_json::from_str(&resolved)
        .map_err(|e| StartError::Policy(format!("not JSON: {e}")))?;
    let empty = raw
        .get("Statement")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty);
    if empty {
        return Ok(PolicyEvaluator::with_policies(Vec::new()));
    }
    let parsed = IAMPolicy::from_json(&resolved)
        .map_err(|e| StartError::Policy(format!("not an IAM policy document: {e}")))?;
    iam_rs::Validate::validate_result(&parsed)
        .map_err(|e| StartError::Policy(format!("the policy is not valid: {e}")))?;
    Ok(PolicyEvaluator::with_policies(vec![parsed]))
}

/// Which service a gateway fronts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    DynamoDb,
    Kms,
    /// S3's REST API, path style (`/{bucket}/{key}`): see `iam/s3.rs`.
    S3,
}

/// A running gateway: an HTTP server on loopback that authorizes, then forwards.
#[derive(Debug)]
pub(crate) struct Gateway {
    pub(crate) endpoint: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

struct State {
    upstream: String,
    service: Service,
    enforcer: Arc<Enforcer>,
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Body,
    >,
    /// KMS alias name to key id, as the upstream KMS resolves them.
    aliases: Mutex<HashMap<String, String>>,
    /// Table to its partition key attribute, as the upstream engine describes it.
    partition_keys: Mutex<HashMap<String, String>>,
    /// Shard iterator to the stream it reads (as the policy names it), learnt from the
    /// upstream's answers: `GetRecords` names only an iterator, and AWS authorizes it on the
    /// iterator's stream.
    iterators: Mutex<HashMap<String, String>>,
}

impl Gateway {
    pub(crate) fn start(
        upstream: &str,
        service: Service,
        enforcer: Arc<Enforcer>,
    ) -> Result<Gateway, StartError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(StartError::Io)?;
        listener.set_nonblocking(true).map_err(StartError::Io)?;
        let addr = listener.local_addr().map_err(StartError::Io)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StartError::Io)?;
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            service,
            enforcer,
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build_http(),
            aliases: Mutex::new(HashMap::new()),
            partition_keys: Mutex::new(HashMap::new()),
            iterators: Mutex::new(HashMap::new()),
        });
        std::thread::Builder::new()
            .name(format!("dynox-iam-gateway-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        eprintln!("dynox-testing: the IAM gateway cannot listen");
                        return;
                    };
                    loop {
                        let accepted = tokio::select! {
                            _ = &mut rx => break,
                            a = listener.accept() => a,
                        };
                        let Ok((stream, _)) = accepted else { continue };
                        let state = state.clone();
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                let state = state.clone();
                                async move {
                                    Ok::<_, std::convert::Infallible>(respond(&state, req).await)
                                }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                                .await;
                        });
                    }
                });
            })
            .map_err(StartError::Io)?;
        Ok(Gateway {
            endpoint: format!("http://{addr}"),
            shutdown: Some(tx),
        })
    }
}

fn plain(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        content_type.parse().expect("static header value"),
    );
    r
}

async fn respond(state: &State, req: Request<Incoming>) -> Response<Body> {
    match state.service {
        // S3 bodies (objects of many megabytes) are streamed through, not buffered.
        Service::S3 => s3::handle(state, req).await,
        Service::DynamoDb | Service::Kms => handle(state, req).await.map(full_body),
    }
}

/// A DynamoDB or KMS request (JSON protocols): the body is read whole, authorized, forwarded.
async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "text/plain",
                format!("cannot read the request body: {e}"),
            );
        }
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let operation = target.rsplit('.').next().unwrap_or("").to_owned();
    let region = region_of(&parts.headers).unwrap_or_else(|| "us-east-1".to_owned());
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (content_type, error_type) = match state.service {
        Service::DynamoDb => (
            "application/x-amz-json-1.0",
            "com.amazon.coral.service#AccessDeniedException",
        ),
        Service::Kms => ("application/x-amz-json-1.1", "AccessDeniedException"),
        Service::S3 => unreachable!("S3 requests are handled by iam::s3"),
    };
    let streams = target.starts_with("DynamoDBStreams_20120810.");
    let checks = match state.service {
        Service::DynamoDb if streams => {
            streams_checks(state, &operation, &json, &region, &state.enforcer.account)
        }
        Service::DynamoDb => {
            match dynamodb_checks(&operation, &json, &region, &state.enforcer.account) {
                Ok(checks) if state.enforcer.uses_leading_keys => {
                    with_leading_keys(state, checks, &json, &parts.headers).await
                }
                other => other,
            }
        }
        Service::Kms => kms_checks(state, &operation, &json, &region, &parts.headers).await,
        Service::S3 => unreachable!("S3 requests are handled by iam::s3"),
    };
    let denied = match checks {
        Ok(checks) => state.enforcer.authorize(&checks).err(),
        // An operation whose authorization this gateway does not know is refused, never waved
        // through: the gateway must not allow what AWS might deny.
        Err(why) => {
            let denial = Denial {
                action: why,
                resource: "*".to_owned(),
            };
            state.enforcer.record(denial.clone());
            Some(denial)
        }
    };
    if let Some(d) = denied {
        let message = format!(
            "User: {} is not authorized to perform: {} on resource: {} because no \
             identity-based policy allows the {} action",
            state.enforcer.principal, d.action, d.resource, d.action
        );
        eprintln!("dynox-testing: denied {} on {}", d.action, d.resource);
        let body = serde_json::json!({ "__type": error_type, "message": message }).to_string();
        return plain(StatusCode::BAD_REQUEST, content_type, body);
    }
    // The stream an answer's iterators read: the one the request named.
    let learn = match (streams, operation.as_str()) {
        (true, "GetShardIterator") => str_of(&json, "StreamArn")
            .map(|a| engine_arn_as_aws(a, &region, &state.enforcer.account)),
        (true, "GetRecords") => str_of(&json, "ShardIterator")
            .and_then(|it| lock_map(&state.iterators).get(it).cloned()),
        _ => None,
    };
    forward(state, parts, body, learn).await
}

fn lock_map(
    m: &Mutex<HashMap<String, String>>,
) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The authorization of one DynamoDB Streams request: `ListStreams` on `*`, the others on the
/// stream (`table/T/stream/LABEL`); `GetRecords` on the stream its iterator was made for.
fn streams_checks(
    state: &State,
    operation: &str,
    body: &Value,
    region: &str,
    account: &str,
) -> Result<Vec<Check>, String> {
    let action = format!("dynamodb:{operation}");
    let stream = |key: &str| -> Result<String, String> {
        str_of(body, key)
            .map(|a| engine_arn_as_aws(a, region, account))
            .ok_or_else(|| format!("{action} (request without {key})"))
    };
    let resource = match operation {
        "ListStreams" => format!("arn:aws:dynamodb:{region}:{account}:*"),
        "DescribeStream" | "GetShardIterator" => stream("StreamArn")?,
        "GetRecords" => {
            let iterator = str_of(body, "ShardIterator")
                .ok_or_else(|| format!("{action} (request without ShardIterator)"))?;
            lock_map(&state.iterators)
                .get(iterator)
                .cloned()
                .ok_or_else(|| format!("{action} (an iterator this gateway did not hand out)"))?
        }
        other => {
            return Err(format!(
                "dynamodb:{other} (a streams operation not known to the IAM gateway)"
            ));
        }
    };
    Ok(vec![Check::new(&action, resource)])
}

async fn forward(
    state: &State,
    parts: hyper::http::request::Parts,
    body: Bytes,
    learn: Option<String>,
) -> Response<Full<Bytes>> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri = format!("{}{path}", state.upstream);
    let mut out = Request::builder().method(parts.method).uri(&uri);
    for (name, value) in &parts.headers {
        if name != "host" {
            out = out.header(name, value);
        }
    }
    let Ok(out) = out.body(full_body(Full::new(body))) else {
        return plain(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            format!("bad upstream URI {uri}"),
        );
    };
    match state.client.request(out).await {
        Ok(resp) => {
            let (mut parts, body) = resp.into_parts();
            let bytes = match body.collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    return plain(StatusCode::BAD_GATEWAY, "text/plain", e.to_string());
                }
            };
            if let Some(stream) = learn
                && let Ok(answer) = serde_json::from_slice::<Value>(&bytes)
            {
                let mut known = lock_map(&state.iterators);
                for key in ["ShardIterator", "NextShardIterator"] {
                    if let Some(it) = str_of(&answer, key) {
                        known.insert(it.to_owned(), stream.clone());
                    }
                }
            }
            parts.headers.remove("transfer-encoding");
            parts.headers.remove("content-length");
            Response::from_parts(parts, Full::new(bytes))
        }
        Err(e) => plain(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            format!("the upstream {} did not answer: {e}", state.upstream),
        ),
    }
}

/// The region of the SigV4 credential scope: `Credential=KEY/DATE/REGION/SERVICE/aws4_request`.
fn region_of(headers: &hyper::HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?;
    scope.split('/').nth(2).map(str::to_owned)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The account local engines put in the ARNs they report (dynoxide and DynamoDB Local both
/// use it; no AWS account has it).
const ENGINE_ACCOUNT: &str = "000000000000";

/// An ARN the local engine reported (its own region, e.g. `dynoxide`, and [`ENGINE_ACCOUNT`]),
/// read as the ARN AWS would have reported here: the gateway's partition, region and account,
/// so that a policy written for the real account authorizes it. Any other ARN is kept as it is.
fn engine_arn_as_aws(arn: &str, region: &str, account: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, service, _, ENGINE_ACCOUNT, resource] => {
            format!("arn:aws:{service}:{region}:{account}:{resource}")
        }
        _ => arn.to_owned(),
    }
}

/// The authorization of one DynamoDB request, per the service authorization reference.
fn dynamodb_checks(
    operation: &str,
    body: &Value,
    region: &str,
    account: &str,
) -> Result<Vec<Check>, String> {
    let table_arn = |t: &str| {
        if t.starts_with("arn:") {
            engine_arn_as_aws(t, region, account)
        } else {
            format!("arn:aws:dynamodb:{region}:{account}:table/{t}")
        }
    };
    let table = |key: &str| -> Result<String, String> {
        str_of(body, key)
            .map(table_arn)
            .ok_or_else(|| format!("dynamodb:{operation} (request without {key})"))
    };
    let action = |name: &str| format!("dynamodb:{name}");
    let with_request_keys = |mut c: Check| {
        for key in ["ReturnValues", "Select", "ReturnConsumedCapacity"] {
            if let Some(v) = str_of(body, key) {
                c = c.with(&format!("dynamodb:{key}"), v);
            }
        }
        c
    };
    let statement_check = |text: &str| -> Result<Check, String> {
        let found = dynox_iam::statement::locate(text)
            .ok_or_else(|| format!("dynamodb:PartiQL (statement not understood: {text})"))?;
        let mut arn = table_arn(&found.table);
        if let Some(index) = &found.index {
            arn = format!("{arn}/index/{index}");
        }
        Ok(Check::new(found.verb.action(), arn))
    };
    let checks = match operation {
        "GetItem" | "PutItem" | "UpdateItem" | "DeleteItem" => {
            let name = str_of(body, "TableName").unwrap_or_default().to_owned();
            let map = if operation == "PutItem" {
                "Item"
            } else {
                "Key"
            };
            let keys = Keys::Maps(name, body.get(map).cloned().into_iter().collect());
            vec![with_request_keys(Check::new(&action(operation), table("TableName")?)).keys(keys)]
        }
        "Query" | "Scan" | "SearchVectors" => {
            let table_arn = table("TableName")?;
            let index = str_of(body, "IndexName");
            // The reference data says which ARNs a request on an index is authorized on: the
            // index instead of the table (Query, Scan), or both (SearchVectors).
            let arns = match (index, index_authorization(&action(operation))) {
                (None, _) | (Some(_), IndexAuthorization::TableOnly) => vec![table_arn],
                (Some(i), IndexAuthorization::IndexInstead) => {
                    vec![format!("{table_arn}/index/{i}")]
                }
                (Some(i), IndexAuthorization::TableAndIndex) => {
                    vec![table_arn.clone(), format!("{table_arn}/index/{i}")]
                }
            };
            arns.into_iter()
                .map(|arn| {
                    let check = with_request_keys(Check::new(&action(operation), arn));
                    // A query names the partition key of the table or index it reads.
                    if operation == "Query" {
                        let name = str_of(body, "TableName").unwrap_or_default().to_owned();
                        check.keys(Keys::KeyCondition(name, index.map(str::to_owned)))
                    } else {
                        check
                    }
                })
                .collect()
        }
        "BatchGetItem" | "BatchWriteItem" => body
            .get("RequestItems")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("dynamodb:{operation} (request without RequestItems)"))?
            .iter()
            .map(|(t, work)| {
                let maps: Vec<Value> = if operation == "BatchGetItem" {
                    work.get("Keys")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                } else {
                    work.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|w| {
                            w.pointer("/PutRequest/Item")
                                .or_else(|| w.pointer("/DeleteRequest/Key"))
                                .cloned()
                        })
                        .collect()
                };
                Check::new(&action(operation), table_arn(t)).keys(Keys::Maps(t.clone(), maps))
            })
            .collect(),
        "TransactWriteItems" | "TransactGetItems" => {
            let items = body
                .get("TransactItems")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("dynamodb:{operation} (request without TransactItems)"))?;
            let mut checks = Vec::new();
            for item in items {
                let (kind, member) = item
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .ok_or_else(|| format!("dynamodb:{operation} (empty member)"))?;
                let member_action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    other => return Err(format!("dynamodb:{operation} (member {other})")),
                };
                let t = str_of(member, "TableName")
                    .ok_or_else(|| format!("dynamodb:{operation} (member without TableName)"))?;
                let map = if kind == "Put" { "Item" } else { "Key" };
                let keys = Keys::Maps(t.to_owned(), member.get(map).cloned().into_iter().collect());
                checks.push(
                    Check::new(&action(member_action), table_arn(t))
                        .with("dynamodb:EnclosingOperation", operation)
                        .keys(keys),
                );
            }
            checks
        }
        "ExecuteStatement" => {
            let text = str_of(body, "Statement")
                .ok_or("dynamodb:ExecuteStatement (request without Statement)")?;
            vec![statement_check(text)?]
        }
        "BatchExecuteStatement" | "ExecuteTransaction" => {
            let key = if operation == "ExecuteTransaction" {
                "TransactStatements"
            } else {
                "Statements"
            };
            body.get(key)
                .and_then(Value::as_array)
                .ok_or_else(|| format!("dynamodb:{operation} (request without {key})"))?
                .iter()
                .map(|s| {
                    str_of(s, "Statement")
                        .ok_or_else(|| format!("dynamodb:{operation} (member without Statement)"))
                        .and_then(statement_check)
                })
                .collect::<Result<_, _>>()?
        }
        "CreateTable" => {
            let arn = table("TableName")?;
            let mut checks = vec![Check::new(&action(operation), arn.clone())];
            // Tags given at creation are authorized as tagging the new table.
            if body
                .get("Tags")
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty())
            {
                checks.push(Check::new("dynamodb:TagResource", arn));
            }
            checks
        }
        "DescribeTable"
        | "UpdateTable"
        | "DeleteTable"
        | "UpdateTimeToLive"
        | "DescribeTimeToLive"
        | "DescribeContinuousBackups"
        | "UpdateContinuousBackups" => {
            vec![Check::new(&action(operation), table("TableName")?)]
        }
        "TagResource" | "UntagResource" | "ListTagsOfResource" => {
            vec![Check::new(&action(operation), table("ResourceArn")?)]
        }
        // Actions that only take `*`: an ARN no table, index or key pattern can match.
        "ListTables" | "DescribeLimits" | "DescribeEndpoints" => {
            vec![Check::new(
                &action(operation),
                format!("arn:aws:dynamodb:{region}:{account}:*"),
            )]
        }
        other => return Err(format!("dynamodb:{other} (not known to the IAM gateway)")),
    };
    Ok(checks)
}

/// The text form of a key attribute value, as IAM sees it in `dynamodb:LeadingKeys`.
fn key_text(v: &Value) -> Option<String> {
    let (kind, value) = v.as_object()?.iter().next()?;
    matches!(kind.as_str(), "S" | "N" | "B").then(|| value.as_str().map(str::to_owned))?
}

/// The partition key values a query's key condition names: `pk = :v` (or `#n = :v`) among
/// clauses joined by `AND`.
fn key_condition_values(body: &Value, partition_key: &str) -> Option<Vec<String>> {
    let expr = str_of(body, "KeyConditionExpression")?;
    let names = body.get("ExpressionAttributeNames");
    let values = body.get("ExpressionAttributeValues")?;
    let upper = expr.to_ascii_uppercase();
    let mut at = 0;
    let mut clauses = Vec::new();
    for (i, _) in upper.match_indices(" AND ") {
        clauses.push(&expr[at..i]);
        at = i + 5;
    }
    clauses.push(&expr[at..]);
    clauses.into_iter().find_map(|clause| {
        let (lhs, rhs) = clause.split_once('=')?;
        let (lhs, rhs) = (
            lhs.trim().trim_start_matches('('),
            rhs.trim().trim_end_matches(')'),
        );
        let attribute = if lhs.starts_with('#') {
            names?.get(lhs)?.as_str()?
        } else {
            lhs
        };
        (attribute == partition_key)
            .then(|| key_text(values.get(rhs)?).map(|v| vec![v]))
            .flatten()
    })
}

/// Adds `dynamodb:LeadingKeys` to each check whose request names partition keys. A key (or a
/// key schema) the gateway cannot find is refused: an absent key would satisfy `ForAllValues` and allow what
/// AWS would not.
async fn with_leading_keys(
    state: &State,
    mut checks: Vec<Check>,
    body: &Value,
    headers: &hyper::HeaderMap,
) -> Result<Vec<Check>, String> {
    for check in &mut checks {
        let (table, values) = match std::mem::take(&mut check.keys) {
            Keys::None => continue,
            Keys::Maps(table, maps) => {
                let pk = partition_key(state, &table, None, headers)
                    .await
                    .ok_or_else(|| unknown_table(&check.action, &table))?;
                let values: Option<Vec<String>> =
                    maps.iter().map(|m| m.get(&pk).and_then(key_text)).collect();
                (table, values)
            }
            Keys::KeyCondition(table, index) => {
                let pk = partition_key(state, &table, index.as_deref(), headers)
                    .await
                    .ok_or_else(|| unknown_table(&check.action, &table))?;
                (table.clone(), key_condition_values(body, &pk))
            }
        };
        let values = values.ok_or_else(|| {
            format!(
                "{} (no partition key of {table} found in the request)",
                check.action
            )
        })?;
        check.context.push((
            "dynamodb:LeadingKeys".into(),
            ContextValue::StringList(values),
        ));
    }
    Ok(checks)
}

fn unknown_table(action: &str, table: &str) -> String {
    format!("{action} (the partition key of {table} is unknown, so its leading keys are)")
}

/// The partition key attribute of `table` (or of its index `index`), asked of the upstream
/// engine (the gateway's own lookup, not authorized); `None` when there is no such table or index.
async fn partition_key(
    state: &State,
    table: &str,
    index: Option<&str>,
    headers: &hyper::HeaderMap,
) -> Option<String> {
    let cache_key = format!("{table}/{}", index.unwrap_or(""));
    if let Some(pk) = state
        .partition_keys
        .lock()
        .expect("key lock")
        .get(&cache_key)
    {
        return Some(pk.clone());
    }
    let body = serde_json::json!({ "TableName": table }).to_string();
    let json = upstream_call(
        state,
        "DynamoDB_20120810.DescribeTable",
        "application/x-amz-json-1.0",
        body,
        headers,
    )
    .await?;
    let schema = match index {
        None => json.pointer("/Table/KeySchema")?,
        Some(name) => ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"]
            .iter()
            .filter_map(|kind| json.pointer(&format!("/Table/{kind}"))?.as_array())
            .flatten()
            .find(|ix| ix.get("IndexName").and_then(Value::as_str) == Some(name))?
            .get("KeySchema")?,
    };
    let pk = schema
        .as_array()?
        .iter()
        .find(|k| k.get("KeyType").and_then(Value::as_str) == Some("HASH"))?
        .get("AttributeName")?
        .as_str()?
        .to_owned();
    state
        .partition_keys
        .lock()
        .expect("key lock")
        .insert(cache_key, pk.clone());
    Some(pk)
}

/// One request of the gateway's own to the upstream service, signed as the caller's was (the
/// local engines pick their region from the credential scope).
async fn upstream_call(
    state: &State,
    target: &str,
    content_type: &str,
    body: String,
    headers: &hyper::HeaderMap,
) -> Option<Value> {
    let mut req = Request::builder()
        .method("POST")
        .uri(format!("{}/", state.upstream))
        .header("content-type", content_type)
        .header("x-amz-target", target);
    for name in ["authorization", "x-amz-date"] {
        if let Some(value) = headers.get(name) {
            req = req.header(name, value);
        }
    }
    let resp = state
        .client
        .request(req.body(full_body(Full::new(Bytes::from(body)))).ok()?)
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let bytes = resp.into_body().collect().await.ok()?.to_bytes();
    serde_json::from_slice(&bytes).ok()
}

/// The authorization of one KMS request: the key's ARN, `kms:RequestAlias` when the caller named
/// the key by alias, and the encryption context keys.
async fn kms_checks(
    state: &State,
    operation: &str,
    body: &Value,
    region: &str,
    headers: &hyper::HeaderMap,
) -> Result<Vec<Check>, String> {
    let account = &state.enforcer.account;
    let named = str_of(body, "KeyId");
    let alias = named.and_then(|k| {
        if k.starts_with("alias/") {
            Some(k.to_owned())
        } else {
            k.split_once(":alias/").map(|(_, a)| format!("alias/{a}"))
        }
    });
    // The key that is used: the one the request names (aliases resolved by the upstream KMS);
    // for a Decrypt without one, the one the ciphertext names (moto's blob starts with the key
    // id). A blob naming another key than the request is the upstream's to refuse.
    let from_blob = (operation == "Decrypt" && named.is_none())
        .then(|| str_of(body, "CiphertextBlob"))
        .flatten()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|raw| {
            raw.get(..36)
                .map(|id| String::from_utf8_lossy(id).into_owned())
        });
    let key_id = match (&from_blob, &alias, named) {
        (Some(id), _, _) => id.clone(),
        (None, Some(a), _) => resolve_alias(state, a, headers)
            .await
            .ok_or_else(|| format!("kms:{operation} (alias {a} does not exist)"))?,
        (None, None, Some(k)) => k.rsplit('/').next().unwrap_or(k).to_owned(),
        (None, None, None) => return Err(format!("kms:{operation} (request without KeyId)")),
    };
    // A key ARN names its own region and account, which the authorization keeps.
    let (partition, key_region, key_account) = named
        .and_then(|k| k.strip_prefix("arn:"))
        .and_then(|rest| {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            (parts.len() == 5).then(|| {
                (
                    parts[0].to_owned(),
                    parts[2].to_owned(),
                    parts[3].to_owned(),
                )
            })
        })
        .unwrap_or_else(|| ("aws".to_owned(), region.to_owned(), account.clone()));
    let mut check = Check::new(
        &format!("kms:{operation}"),
        format!("arn:{partition}:kms:{key_region}:{key_account}:key/{key_id}"),
    );
    if let Some(a) = &alias {
        check = check.with("kms:RequestAlias", a);
    }
    if let Some(ctx) = body.get("EncryptionContext").and_then(Value::as_object) {
        let mut keys = Vec::new();
        for (k, v) in ctx {
            if let Some(v) = v.as_str() {
                check = check.with(&format!("kms:EncryptionContext:{k}"), v);
            }
            keys.push(k.clone());
        }
        check.context.push((
            "kms:EncryptionContextKeys".into(),
            ContextValue::StringList(keys),
        ));
    }
    Ok(vec![check])
}

/// Asks the upstream KMS (unauthorized: this is the gateway's own lookup) which key an alias
/// names.
async fn resolve_alias(state: &State, alias: &str, headers: &hyper::HeaderMap) -> Option<String> {
    if let Some(id) = state.aliases.lock().expect("alias lock").get(alias) {
        return Some(id.clone());
    }
    let json = upstream_call(
        state,
        "TrentService.ListAliases",
        "application/x-amz-json-1.1",
        "{}".to_owned(),
        headers,
    )
    .await?;
    let mut aliases = state.aliases.lock().expect("alias lock");
    for a in json.get("Aliases")?.as_array()? {
        if let (Some(name), Some(target)) = (str_of(a, "AliasName"), str_of(a, "TargetKeyId")) {
            aliases.insert(name.to_owned(), target.to_owned());
        }
    }
    aliases.get(alias).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{
      "Version": "2012-10-17",
      "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem"],
         "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/users"]},
        {"Effect": "Allow", "Action": ["dynamodb:PutItem"],
         "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"],
         "Condition": {"StringEquals": {"dynamodb:EnclosingOperation": ["TransactWriteItems"]}}},
        {"Effect": "Allow", "Action": ["dynamodb:ListTables"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["dynamodb:Query"],
         "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/users"]},
        {"Effect": "Allow", "Action": ["dynamodb:Scan"],
         "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/*"]}
      ]
    }"#;

    fn decide(op: &str, body: Value) -> Result<(), Denial> {
        let e = Enforcer::from_json(POLICY).unwrap();
        let checks =
            dynamodb_checks(op, &body, "us-east-1", DEFAULT_ACCOUNT).map_err(|a| Denial {
                action: a,
                resource: "*".into(),
            })?;
        e.authorize(&checks)
    }

    #[test]
    fn search_vectors_needs_the_table_and_the_index() {
        let policy = |resources: &str| {
            format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow",
                   "Action": ["dynamodb:SearchVectors"], "Resource": [{resources}]}}]}}"#
            )
        };
        let table = r#""arn:aws:dynamodb:us-east-1:123456789012:table/docs""#;
        let index = r#""arn:aws:dynamodb:us-east-1:123456789012:table/docs/index/by-meaning""#;
        let body = serde_json::json!({"TableName": "docs", "IndexName": "by-meaning"});
        let checks = dynamodb_checks("SearchVectors", &body, "us-east-1", DEFAULT_ACCOUNT).unwrap();
        let decide = |resources: &str| {
            Enforcer::from_json(&policy(resources))
                .unwrap()
                .authorize(&checks)
                .map_err(|d| d.resource)
        };
        assert_eq!(decide(&format!("{table}, {index}")), Ok(()));
        assert_eq!(
            decide(index),
            Err("arn:aws:dynamodb:us-east-1:123456789012:table/docs".to_owned())
        );
        assert_eq!(
            decide(table),
            Err("arn:aws:dynamodb:us-east-1:123456789012:table/docs/index/by-meaning".to_owned())
        );
    }

    #[test]
    fn a_condition_on_a_key_the_request_lacks_denies() {
        // AWS puts no EnclosingOperation in a ConditionCheckItem's context, so a grant
        // conditioned on it never matches a check member, while a Put member matches.
        let e = Enforcer::from_json(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": ["dynamodb:ConditionCheckItem", "dynamodb:PutItem"],
                "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"],
                "Condition": {"StringEquals":
                    {"dynamodb:EnclosingOperation": ["TransactWriteItems"]}}}]}"#,
        )
        .unwrap();
        let checks = |member: &str| {
            let body = serde_json::json!({"TransactItems": [{member: {"TableName": "orders"}}]});
            dynamodb_checks("TransactWriteItems", &body, "us-east-1", DEFAULT_ACCOUNT).unwrap()
        };
        assert_eq!(e.authorize(&checks("Put")), Ok(()));
        assert_eq!(
            e.authorize(&checks("ConditionCheck")).map_err(|d| d.action),
            Err("dynamodb:ConditionCheckItem".to_owned())
        );
    }

    #[test]
    fn authorizes_like_aws() {
        let ok = |op, body| assert_eq!(decide(op, body), Ok(()));
        let denied = |op: &str, body: Value, action: &str| {
            let d = decide(op, body.clone())
                .err()
                .unwrap_or_else(|| panic!("{op} {body} was allowed"));
            assert_eq!(d.action, action);
        };
        ok("GetItem", serde_json::json!({"TableName": "users"}));
        denied(
            "GetItem",
            serde_json::json!({"TableName": "orders"}),
            "dynamodb:GetItem",
        );
        // Allowed only inside a transaction.
        denied(
            "PutItem",
            serde_json::json!({"TableName": "orders"}),
            "dynamodb:PutItem",
        );
        ok(
            "TransactWriteItems",
            serde_json::json!({"TransactItems": [{"Put": {"TableName": "orders"}}]}),
        );
        denied(
            "TransactWriteItems",
            serde_json::json!({"TransactItems": [
                {"Put": {"TableName": "orders"}}, {"Delete": {"TableName": "orders"}}]}),
            "dynamodb:DeleteItem",
        );
        ok("ListTables", serde_json::json!({}));
        // A table's ARN does not cover its indexes; `*` matches across `/`, so `table/*` does.
        ok("Query", serde_json::json!({"TableName": "users"}));
        ok(
            "Scan",
            serde_json::json!({"TableName": "users", "IndexName": "by-email"}),
        );
        denied(
            "Query",
            serde_json::json!({"TableName": "users", "IndexName": "by-email"}),
            "dynamodb:Query",
        );
        denied(
            "ExecuteStatement",
            serde_json::json!({"Statement": "SELECT * FROM \"users\""}),
            "dynamodb:PartiQLSelect",
        );
        denied(
            "RestoreTableFromBackup",
            serde_json::json!({}),
            "dynamodb:RestoreTableFromBackup (not known to the IAM gateway)",
        );
    }

    #[test]
    fn leading_keys_come_from_keys_items_and_key_conditions() {
        let body = serde_json::json!({
            "KeyConditionExpression": "#n0 = :v0 AND #n1 >= :v1",
            "ExpressionAttributeNames": {"#n0": "pk", "#n1": "id"},
            "ExpressionAttributeValues": {":v0": {"S": "ORG#acme"}, ":v1": {"N": "2"}}
        });
        assert_eq!(key_condition_values(&body, "pk").unwrap(), ["ORG#acme"]);
        // Only an equality names a partition key; a range on the sort key does not count.
        assert_eq!(key_condition_values(&body, "id"), None);
        assert_eq!(key_condition_values(&body, "other"), None);
        assert_eq!(
            key_text(&serde_json::json!({"N": "7"})).as_deref(),
            Some("7")
        );
        assert_eq!(key_text(&serde_json::json!({"BOOL": true})), None);
        let checks = dynamodb_checks(
            "BatchWriteItem",
            &serde_json::json!({"RequestItems": {"docs": [
                {"PutRequest": {"Item": {"pk": {"S": "a"}}}},
                {"DeleteRequest": {"Key": {"pk": {"S": "b"}}}}
            ]}}),
            "us-east-1",
            DEFAULT_ACCOUNT,
        )
        .unwrap();
        let Keys::Maps(table, maps) = &checks[0].keys else {
            panic!("batch writes name their keys")
        };
        assert_eq!((table.as_str(), maps.len()), ("docs", 2));
    }

    #[test]
    fn principal_variables_resolve_in_conditions() {
        let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "dynamodb:GetItem", "Resource": "*",
            "Condition": {"ForAllValues:StringEquals":
                {"dynamodb:LeadingKeys": ["T#${aws:PrincipalTag/tenant}"]}}}]}"#;
        let e = Enforcer::from_json(policy)
            .unwrap()
            .principal_tag("tenant", "acme");
        let check = |key: &str| {
            let mut c = Check::new(
                "dynamodb:GetItem",
                "arn:aws:dynamodb:us-east-1:123456789012:table/t".into(),
            );
            c.context.push((
                "dynamodb:LeadingKeys".into(),
                ContextValue::StringList(vec![key.into()]),
            ));
            e.authorize(&[c])
        };
        assert!(check("T#acme").is_ok());
        assert!(check("T#globex").is_err());
    }

    #[test]
    fn a_context_free_grant_refuses_requests_with_a_context() {
        let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"Null": {"kms:EncryptionContextKeys": ["true"]}}}]}"#;
        let e = Enforcer::from_json(policy).unwrap();
        let key = "arn:aws:kms:us-east-1:123456789012:key/k".to_owned();
        assert!(
            e.authorize(&[Check::new("kms:Decrypt", key.clone())])
                .is_ok()
        );
        let mut with_context = Check::new("kms:Decrypt", key);
        with_context.context.push((
            "kms:EncryptionContextKeys".into(),
            ContextValue::StringList(vec!["app".into()]),
        ));
        assert!(e.authorize(&[with_context]).is_err());
    }

    #[test]
    fn engine_arns_are_read_in_the_gateways_region_and_account() {
        assert_eq!(
            engine_arn_as_aws(
                "arn:aws:dynamodb:dynoxide:000000000000:table/users",
                "eu-west-1",
                "123456789012"
            ),
            "arn:aws:dynamodb:eu-west-1:123456789012:table/users"
        );
        // Another account's ARN is authorized as it is.
        let other = "arn:aws:dynamodb:us-east-1:210987654321:table/users";
        assert_eq!(engine_arn_as_aws(other, "eu-west-1", "123456789012"), other);
    }

    #[test]
    fn a_key_arn_is_authorized_in_its_own_partition_region_and_account() {
        let state = State {
            upstream: "http://127.0.0.1:9".into(),
            service: Service::Kms,
            enforcer: Arc::new(Enforcer::from_json(POLICY).unwrap()),
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build_http(),
            aliases: Mutex::new(HashMap::new()),
            partition_keys: Mutex::new(HashMap::new()),
            iterators: Mutex::new(HashMap::new()),
        };
        let body = serde_json::json!({
            "KeyId": "arn:aws-cn:kms:cn-north-1:999999999999:key/k1",
            "KeySpec": "AES_256"
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let checks = rt
            .block_on(kms_checks(
                &state,
                "GenerateDataKey",
                &body,
                "us-east-1",
                &hyper::HeaderMap::new(),
            ))
            .unwrap();
        assert_eq!(
            checks[0].resource,
            "arn:aws-cn:kms:cn-north-1:999999999999:key/k1"
        );
    }

    #[test]
    fn bad_policies_are_refused() {
        assert!(Enforcer::from_json("{").is_err());
        assert!(Enforcer::from_json(r#"{"Version": "2012-10-17", "Statement": 3}"#).is_err());
    }
}
