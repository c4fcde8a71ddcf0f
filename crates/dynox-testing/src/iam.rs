//! An IAM-enforcing gateway in front of the local DynamoDB and KMS.
//!
//! Every request is authorized the way AWS authorizes it before it reaches the engine: the
//! actions it needs (one per member for batches, transactions and PartiQL), each on its resource
//! ARN (table, index, key), with the request's condition keys, evaluated against a policy with
//! [`iam_rs`]. A denied request never reaches the engine and gets the `AccessDeniedException`
//! that AWS sends. Running a service's tests behind it with the policy `cargo xtask policy`
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
//! Setting `DYNOX_IAM_POLICY` to a policy file makes [`LocalDynamo::start`](crate::LocalDynamo)
//! and [`LocalKms::start`](crate::LocalKms) enforce it, so a whole service runs under it unchanged.

use crate::StartError;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use iam_rs::{Arn, Context, ContextValue, Decision, IAMPolicy, IAMRequest, PolicyEvaluator};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

/// The environment variable naming a policy file that local backends enforce.
pub const POLICY_VARIABLE: &str = "DYNOX_IAM_POLICY";

/// The account of the local backends (moto's default account, so KMS key ARNs agree).
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// A policy and the identity it is attached to.
pub struct Enforcer {
    evaluator: PolicyEvaluator,
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
}

impl Check {
    fn new(action: &str, resource: String) -> Check {
        Check {
            action: action.to_owned(),
            resource,
            context: Vec::new(),
        }
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
    pub fn from_json(policy: &str) -> Result<Enforcer, StartError> {
        let localized = policy
            .replace(":REGION:", ":us-east-1:")
            .replace(":ACCOUNT:", &format!(":{DEFAULT_ACCOUNT}:"));
        let policy = localized.as_str();
        let raw: Value = serde_json::from_str(policy)
            .map_err(|e| StartError::Policy(format!("not JSON: {e}")))?;
        let empty = raw
            .get("Statement")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty);
        let policies = if empty {
            Vec::new()
        } else {
            let parsed = IAMPolicy::from_json(policy)
                .map_err(|e| StartError::Policy(format!("not an IAM policy document: {e}")))?;
            iam_rs::Validate::validate_result(&parsed)
                .map_err(|e| StartError::Policy(format!("the policy is not valid: {e}")))?;
            vec![parsed]
        };
        Ok(Enforcer {
            evaluator: PolicyEvaluator::with_policies(policies),
            account: DEFAULT_ACCOUNT.to_owned(),
            principal: format!("arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/dynox-test/session"),
            tags: BTreeMap::new(),
            denials: Mutex::new(Vec::new()),
        })
    }

    /// The enforcer of the policy file named by `DYNOX_IAM_POLICY`, if it is set.
    pub fn from_env() -> Option<Result<Enforcer, StartError>> {
        let path = std::env::var_os(POLICY_VARIABLE).filter(|p| !p.is_empty())?;
        Some(
            std::fs::read_to_string(&path)
                .map_err(|e| {
                    StartError::Policy(format!(
                        "{POLICY_VARIABLE}={}: {e}",
                        std::path::Path::new(&path).display()
                    ))
                })
                .and_then(|text| Enforcer::from_json(&text)),
        )
    }

    /// A principal tag (`aws:PrincipalTag/KEY`), for policies that use it as a variable.
    pub fn principal_tag(mut self, key: &str, value: &str) -> Enforcer {
        self.tags.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The requests denied so far, oldest first.
    pub fn denials(&self) -> Vec<Denial> {
        self.denials.lock().expect("denials lock").clone()
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
            for (k, v) in &check.context {
                context.insert(k.clone(), v.clone());
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
                self.denials
                    .lock()
                    .expect("denials lock")
                    .push(denial.clone());
                return Err(denial);
            }
        }
        Ok(())
    }
}

/// Which service a gateway fronts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    DynamoDb,
    Kms,
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
        Full<Bytes>,
    >,
    /// KMS alias name to key id, as the upstream KMS resolves them.
    aliases: Mutex<HashMap<String, String>>,
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
                                    Ok::<_, std::convert::Infallible>(handle(&state, req).await)
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
    };
    let checks = match state.service {
        Service::DynamoDb => dynamodb_checks(&operation, &json, &region, &state.enforcer.account),
        Service::Kms => kms_checks(state, &operation, &json, &region, &parts.headers).await,
    };
    let denied = match checks {
        Ok(checks) => state.enforcer.authorize(&checks).err(),
        // An operation whose authorization this gateway does not know is refused, never waved
        // through: the gateway must not allow what AWS might deny.
        Err(why) => Some(Denial {
            action: why,
            resource: "*".to_owned(),
        }),
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
    forward(state, parts, body).await
}

async fn forward(
    state: &State,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri = format!("{}{path}", state.upstream);
    let mut out = Request::builder().method(parts.method).uri(&uri);
    for (name, value) in &parts.headers {
        if name != "host" {
            out = out.header(name, value);
        }
    }
    let Ok(out) = out.body(Full::new(body)) else {
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

/// The authorization of one DynamoDB request, per the service authorization reference.
fn dynamodb_checks(
    operation: &str,
    body: &Value,
    region: &str,
    account: &str,
) -> Result<Vec<Check>, String> {
    let table_arn = |t: &str| {
        if t.starts_with("arn:") {
            t.to_owned()
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
            vec![with_request_keys(Check::new(
                &action(operation),
                table("TableName")?,
            ))]
        }
        "Query" | "Scan" | "SearchVectors" => {
            let mut arn = table("TableName")?;
            if let Some(index) = str_of(body, "IndexName") {
                arn = format!("{arn}/index/{index}");
            }
            vec![with_request_keys(Check::new(&action(operation), arn))]
        }
        "BatchGetItem" | "BatchWriteItem" => body
            .get("RequestItems")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("dynamodb:{operation} (request without RequestItems)"))?
            .keys()
            .map(|t| Check::new(&action(operation), table_arn(t)))
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
                checks.push(
                    Check::new(&action(member_action), table_arn(t))
                        .with("dynamodb:EnclosingOperation", operation),
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
    // The key that is used: for Decrypt the one the ciphertext names (moto's blob starts with
    // the key id), else the one the request names, aliases resolved by the upstream KMS.
    let from_blob = (operation == "Decrypt")
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
    let mut check = Check::new(
        &format!("kms:{operation}"),
        format!("arn:aws:kms:{region}:{account}:key/{key_id}"),
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
    let mut req = Request::builder()
        .method("POST")
        .uri(format!("{}/", state.upstream))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "TrentService.ListAliases");
    // moto picks its regional backend from the credential scope: use the caller's.
    if let Some(auth) = headers.get("authorization") {
        req = req.header("authorization", auth);
    }
    let resp = state
        .client
        .request(req.body(Full::new(Bytes::from_static(b"{}"))).ok()?)
        .await
        .ok()?;
    let body = resp.into_body().collect().await.ok()?.to_bytes();
    let json: Value = serde_json::from_slice(&body).ok()?;
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
    fn bad_policies_are_refused() {
        assert!(Enforcer::from_json("{").is_err());
        assert!(Enforcer::from_json(r#"{"Version": "2012-10-17", "Statement": 3}"#).is_err());
    }
}
