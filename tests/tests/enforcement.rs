//! The proof that an exported policy is exact, behind the IAM-enforcing gateway: the example
//! service and the fixture binaries run green under the policy exported from their own binaries,
//! and every policy with one (action, resource) grant removed makes them fail with AccessDenied
//! naming exactly that action.

use dynox_iam::cli::{Target, build_target, export};
use dynox_iam::policy::Statement;
use dynox_iam::{Policy, PolicyOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The ARNs the local backends use: moto's account, the SDK region of the examples.
fn local_options() -> PolicyOptions {
    PolicyOptions {
        region: Some("us-east-1".into()),
        account: Some(dynox_testing::iam::DEFAULT_ACCOUNT.into()),
        ..PolicyOptions::default()
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dynox-enforce-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs `binary` with both local backends enforcing `policy`.
fn run_under(binary: &Path, policy: &str, name: &str, env: &[(&str, &str)]) -> Output {
    let file = scratch(&format!("{name}.json"));
    std::fs::write(&file, policy).unwrap();
    let mut cmd = Command::new(binary);
    cmd.current_dir(workspace())
        .env(dynox_testing::iam::POLICY_VARIABLE, &file)
        .env_remove("DYNOX_ENDPOINT")
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("DYNOX_KMS_ENDPOINT")
        .env_remove("AWS_ENDPOINT_URL_KMS")
        .env_remove("DYNOX_S3_ENDPOINT")
        .env_remove("AWS_ENDPOINT_URL_S3");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    std::fs::remove_file(&file).unwrap();
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every single grant of the policy: (statement index, action, resource).
fn grants(policy: &Policy) -> Vec<(usize, String, String)> {
    let mut all = Vec::new();
    for (i, s) in policy.statements.iter().enumerate() {
        for a in &s.actions {
            for r in &s.resources {
                all.push((i, a.clone(), r.clone()));
            }
        }
    }
    all
}

/// The policy without one grant: the statement loses the action, and a new statement keeps the
/// action on the statement's other resources.
fn without(policy: &Policy, statement: usize, action: &str, resource: &str) -> Policy {
    let mut p = policy.clone();
    let s = &mut p.statements[statement];
    let others: Vec<String> = s
        .resources
        .iter()
        .filter(|r| *r != resource)
        .cloned()
        .collect();
    s.actions.retain(|a| a != action);
    let keep = Statement {
        sid: format!("{}Rest", s.sid),
        actions: vec![action.to_owned()],
        resources: others,
        conditions: s.conditions.clone(),
        reasons: Default::default(),
    };
    if !keep.resources.is_empty() {
        p.statements.push(keep);
    }
    p.statements.retain(|s| !s.actions.is_empty());
    p
}

/// Sufficiency, then minimality, for one binary; returns how many reduced policies were run.
fn assert_exact(binary: &Path, options: &PolicyOptions, env: &[(&str, &str)]) -> usize {
    let (policy, _) = export(binary, options).unwrap();
    let name = binary.file_name().unwrap().to_string_lossy().into_owned();
    let out = run_under(binary, &policy.to_json(), &name, env);
    assert!(
        out.status.success() && !text(&out.stderr).contains("denied"),
        "{name} under its own exported policy:\n{}\n{}\n{}",
        policy.to_json(),
        text(&out.stdout),
        text(&out.stderr)
    );
    let cases = grants(&policy);
    // Two at a time: each run starts its own engine and KMS.
    std::thread::scope(|scope| {
        for chunk in cases.chunks(2) {
            let handles: Vec<_> = chunk
                .iter()
                .enumerate()
                .map(|(n, (i, action, resource))| {
                    let reduced = without(&policy, *i, action, resource);
                    let label = format!("{name}-{i}-{n}");
                    scope.spawn(move || {
                        let out = run_under(binary, &reduced.to_json(), &label, env);
                        (action, resource, out)
                    })
                })
                .collect();
            for h in handles {
                let (action, resource, out) = h.join().unwrap();
                let stderr = text(&out.stderr);
                assert!(
                    !out.status.success(),
                    "{name} still ran without {action} on {resource}: that grant is not needed"
                );
                let expected = if resource.contains('*') {
                    // A pattern (a KMS key granted by alias): the denial names the real key.
                    format!("denied {action} on {}", resource.trim_end_matches('*'))
                } else {
                    format!("denied {action} on {resource}\n")
                };
                assert!(
                    stderr.contains(&expected),
                    "{name} without {action} on {resource} failed, but not with that denial:\n{stderr}"
                );
                assert!(
                    stderr.contains("AccessDenied") || stderr.contains("access denied"),
                    "{stderr}"
                );
            }
        }
    });
    cases.len()
}

#[test]
fn example_service_needs_exactly_its_exported_policy() {
    let binary = build_target(&Target::Example("service".into()), Some("dynox"), None).unwrap();
    let runs = assert_exact(&binary, &local_options(), &[]);
    assert!(runs >= 17, "every grant of the demo was tried: {runs}");
}

#[test]
fn mapped_deployment_runs_under_the_mapped_policy_only() {
    let binary = build_target(&Target::Example("service".into()), Some("dynox"), None).unwrap();
    let mut mapped = local_options();
    mapped.mapping.prefix = "prod-".into();
    let (policy, _) = export(&binary, &mapped).unwrap();
    assert!(
        policy.to_json().contains("table/prod-customers"),
        "{}",
        policy.to_json()
    );
    let env = [("DYNOX_TABLE_PREFIX", "prod-")];
    let out = run_under(&binary, &policy.to_json(), "mapped", &env);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // The unmapped policy names other tables than the ones the mapped service uses.
    let (plain, _) = export(&binary, &local_options()).unwrap();
    let out = run_under(&binary, &plain.to_json(), "unmapped", &env);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("denied dynamodb:CreateTable on arn:aws:dynamodb:us-east-1:123456789012:table/prod-customers"),
        "{}",
        text(&out.stderr)
    );
}

/// The fixtures that run against the local backends, with what each needs to take every path.
/// Left out: `no_calls` (no grants), `partiql_dynamic` (a run-time statement is granted all four
/// verbs, so it is sufficient but not minimal by nature), `encrypted_read_only` (its key is
/// another account's ARN), `service_plus` (the service, plus a scan), `tenant_docs` (below).
const RUNNABLE_FIXTURES: [(&str, &[(&str, &str)]); 15] = [
    (
        "s3_model",
        &[("FIXTURE_TABLES", "fixture-files"), ("FIXTURE_S3", "1")],
    ),
    ("vectors", &[]),
    ("lease_only", &[("FIXTURE_TABLES", "fixture-leases")]),
    ("stream_consumer", &[("FIXTURE_TABLES", "fixture-feed")]),
    ("get_only", &[]),
    ("local_model", &[]),
    ("batches", &[]),
    ("runtime_if", &[("FIXTURE_UPDATE", "1")]),
    ("transaction_update", &[]),
    ("transactions", &[]),
    ("query_index", &[]),
    ("partiql_literal", &[]),
    ("everything", &[("FIXTURE_TABLES", "fixture-orders")]),
    ("tables", &[("FIXTURE_TABLES", "none")]),
    ("encrypted_write_only", &[("FIXTURE_KMS", "1")]),
];

fn fixture(bin: &str) -> PathBuf {
    build_target(&Target::Bin(bin.into()), Some("marker-fixtures"), None).unwrap()
}

#[test]
fn fixtures_need_exactly_their_exported_policies() {
    let mut runs = 0;
    for (bin, env) in RUNNABLE_FIXTURES {
        runs += assert_exact(&fixture(bin), &local_options(), env);
    }
    assert!(runs >= 30, "{runs} reduced policies tried");
}

#[test]
fn fine_grained_conditions_hold_at_run_time() {
    let mut narrow = local_options();
    narrow.conditions.enclosing_operation = true;
    narrow.conditions.encryption_context = true;

    // Transaction-only actions carry the enclosing operation, and the gateway checks it.
    let tx = fixture("transactions");
    let (policy, _) = export(&tx, &narrow).unwrap();
    let json = policy.to_json();
    assert!(json.contains("\"dynamodb:EnclosingOperation\""), "{json}");
    assert!(json.contains("TransactWriteItems") && json.contains("TransactGetItems"));
    assert_exact(&tx, &narrow, &[]);

    // The encrypted fields' contexts are required, and the service sends exactly them.
    let service = build_target(&Target::Example("service".into()), Some("dynox"), None).unwrap();
    let (policy, _) = export(&service, &narrow).unwrap();
    let json = policy.to_json();
    assert!(
        json.contains("\"kms:EncryptionContext:dynox:table\"")
            && json.contains("\"kms:EncryptionContext:dynox:attribute\""),
        "{json}"
    );
    assert_exact(&service, &narrow, &[]);

    // A context the service does not send is denied: the condition is really evaluated.
    let wrong = json.replace("\"customers\"\n", "\"someone-else\"\n");
    assert_ne!(wrong, json);
    let out = run_under(&service, &wrong, "wrong-context", &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("denied kms:GenerateDataKey"));
}

#[test]
fn leading_keys_isolate_tenants_at_run_time() {
    let docs = fixture("tenant_docs");
    let mut narrow = local_options();
    narrow.conditions.leading_keys = Some("${aws:PrincipalTag/org}".into());
    let (policy, _) = export(&docs, &narrow).unwrap();
    assert!(policy.to_json().contains("ForAllValues:StringLike"));
    assert!(
        policy
            .to_json()
            .contains("\"ORG#${aws:PrincipalTag/org}#PROJECT#*\""),
        "{}",
        policy.to_json()
    );
    // The local index shares the table's key, so it is narrowed; the global one cannot be, and
    // the export says so.
    let index_condition = |index: &str| {
        policy
            .statements
            .iter()
            .find(|s| s.resources.iter().any(|r| r.ends_with(index)))
            .map(|s| !s.conditions.is_empty())
    };
    assert_eq!(index_condition("/index/by-title"), Some(true));
    assert_eq!(index_condition("/index/by-title-global"), Some(false));
    assert!(
        policy
            .warnings
            .iter()
            .any(|w| w.contains("index/by-title-global") && w.contains("LeadingKeys")),
        "{:?}",
        policy.warnings
    );
    // The caller of tenant acme works with acme's items: sufficient and minimal.
    let acme = [("DYNOX_IAM_PRINCIPAL_TAGS", "org=acme")];
    assert_exact(&docs, &narrow, &acme);
    // The same code, called by another tenant's principal for acme's items, is denied.
    let other = [("DYNOX_IAM_PRINCIPAL_TAGS", "org=globex")];
    let out = run_under(&docs, &policy.to_json(), "other-tenant", &other);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("denied dynamodb:PutItem on arn:aws:dynamodb:us-east-1:123456789012:table/fixture-tenants"),
        "{}",
        text(&out.stderr)
    );
    // And acme's principal reaching for globex's items is denied too.
    let reach = [
        ("DYNOX_IAM_PRINCIPAL_TAGS", "org=acme"),
        ("FIXTURE_ORG", "globex"),
    ];
    let out = run_under(&docs, &policy.to_json(), "reach", &reach);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("denied dynamodb:PutItem"));
}

#[derive(dynox::Model, Debug, Clone)]
#[dynox(table = "tagged")]
struct Tagged {
    #[dynox(partition_key)]
    id: String,
}

/// The engine reports table ARNs in its own region and account; the gateway reads them as the
/// ARNs AWS would report, so a policy for the real account authorizes the tag APIs.
#[tokio::test]
async fn tag_apis_pass_under_a_correct_policy_and_only_for_their_table() {
    use dynox_testing::LocalDynamo;
    use dynox_testing::iam::Enforcer;
    let local = LocalDynamo::start().await.unwrap();
    local.create_table::<Tagged>(&local.client()).await.unwrap();
    let policy = |table: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[
            "dynamodb:TagResource","dynamodb:UntagResource","dynamodb:ListTagsOfResource",
            "dynamodb:DescribeTable"],
            "Resource":"arn:aws:dynamodb:us-east-1:123456789012:table/{table}"}}]}}"#
        )
    };
    let local = local
        .enforce(Enforcer::from_json(&policy("tagged")).unwrap())
        .unwrap();
    let client = local.client();
    client
        .tag_table::<Tagged>([("team", "core")])
        .await
        .unwrap();
    let tags = client.list_table_tags::<Tagged>().await.unwrap();
    assert_eq!(tags.get("team").map(String::as_str), Some("core"));
    client.untag_table::<Tagged>(["team"]).await.unwrap();
    assert!(client.list_table_tags::<Tagged>().await.unwrap().is_empty());

    // A policy for another table still denies them.
    let other = LocalDynamo::start().await.unwrap();
    other.create_table::<Tagged>(&other.client()).await.unwrap();
    let other = other
        .enforce(Enforcer::from_json(&policy("elsewhere")).unwrap())
        .unwrap();
    let err = other
        .client()
        .tag_table::<Tagged>([("team", "core")])
        .await
        .unwrap_err();
    assert!(err.is_access_denied(), "{err}");
}

#[test]
fn a_stream_consumer_is_granted_its_stream_and_no_table() {
    let (policy, _) = export(&fixture("stream_consumer"), &local_options()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&policy.to_json()).unwrap();
    let resources: Vec<String> = json["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Resource"].as_array().unwrap().clone())
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    assert!(!resources.is_empty());
    for r in &resources {
        assert!(
            r.ends_with(":table/fixture-feed/stream/*") || r == "*",
            "{r}: a consumer needs the stream, not the table"
        );
    }
    // It runs under exactly that (each grant removed in turn is denied):
    // `fixtures_need_exactly_their_exported_policies` runs it.
}
