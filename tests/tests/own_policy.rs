//! A test that proves the policy of its own binary: it scans this very test executable (which
//! links only the operations below), builds the policy with a deployment mapping — tables
//! renamed, a KMS alias mapped to its key ARN — and runs the same operations behind the
//! enforcing gateways with that mapping applied at run time. Kept in a file of its own so the
//! binary holds nothing else.

use dynox::attr::Secret;
use dynox::encryption::Encryptor;
use dynox::{Mapping, Model};
use dynox_iam::{Policy, PolicyOptions, scan_file};
use dynox_testing::iam::{DEFAULT_ACCOUNT, Enforcer};
use dynox_testing::{LocalDynamo, LocalKms};
use std::sync::Arc;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "audit")]
struct Audit {
    #[dynox(partition_key)]
    id: String,
    #[dynox(encrypted(key = "alias/own-policy-audit"))]
    entry: Secret<String>,
}

#[tokio::test]
async fn the_mapped_policy_of_this_binary_is_enough_and_names_the_mapped_key() {
    let kms = LocalKms::start().await.unwrap();
    let key_id = kms.create_key(Some("own-policy-audit")).await.unwrap();
    let key_arn = format!("arn:aws:kms:us-east-1:{DEFAULT_ACCOUNT}:key/{key_id}");
    let mut mapping = Mapping {
        prefix: "qa-".into(),
        ..Mapping::default()
    };
    mapping
        .kms_keys
        .insert("alias/own-policy-audit".into(), key_arn.clone());

    let report = scan_file(std::env::current_exe().unwrap()).unwrap();
    let options = PolicyOptions {
        region: Some("us-east-1".into()),
        account: Some(DEFAULT_ACCOUNT.into()),
        mapping: mapping.clone(),
        ..PolicyOptions::default()
    };
    let policy = Policy::build(&report.requirements, &options).unwrap();
    let json = policy.to_json();
    // The mapped key is granted by its ARN: no alias condition, no `key/*`.
    assert!(json.contains(&format!("\"{key_arn}\"")), "{json}");
    assert!(
        !json.contains("kms:RequestAlias") && !json.contains("key/*"),
        "{json}"
    );
    assert!(json.contains("table/qa-audit\""), "{json}");

    let local = LocalDynamo::embedded()
        .unwrap()
        .enforce(Enforcer::from_json(&json).unwrap())
        .unwrap();
    let kms = kms.enforce(Enforcer::from_json(&json).unwrap()).unwrap();
    let encryptor = Encryptor::new(kms.client()).with_mapping(&mapping);
    let client = local
        .client()
        .with_mapping(mapping.clone())
        .with_encryptor(Arc::new(encryptor));
    local.create_table::<Audit>(&client).await.unwrap();
    let entry = Audit {
        id: "a1".into(),
        entry: Secret::new("granted".into()),
    };
    client.put(&entry).await.unwrap();
    let back = client
        .get::<Audit>(Audit::key("a1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.entry.plain().map(String::as_str), Some("granted"));
    assert_eq!(local.enforcer().unwrap().denials(), []);
    assert_eq!(kms.enforcer().unwrap().denials(), []);

    // An encryptor without the mapping would call KMS by alias, which the policy does not
    // grant: dynox refuses before calling.
    let unmapped = local
        .client()
        .with_mapping(mapping)
        .with_encryptor(Arc::new(Encryptor::new(kms.client())));
    let err = unmapped.put(&entry).await.unwrap_err();
    assert!(err.is_encryption(), "{err}");
    assert!(err.to_string().contains("with_mapping"), "{err}");
    assert_eq!(kms.enforcer().unwrap().denials(), []);
}
