//! The service's own proof that its committed policy is enough: its code runs against the
//! embedded DynamoDB and the local KMS with that policy enforced on every request.

use dynox_testing::iam::Enforcer;
use dynox_testing::{LocalDynamo, LocalKms};
use std::sync::Arc;

const POLICY: &str = include_str!("../notes.policy.json");

/// The service's client on the embedded engine and the local KMS, both enforcing `policy`.
async fn under(policy: &str) -> (LocalDynamo, LocalKms, dynox::Client) {
    let kms = LocalKms::start()
        .await
        .expect("the local KMS: `cargo xtask setup`, or DYNOX_MOTO_SERVER")
        .enforce(Enforcer::from_json(policy).unwrap())
        .unwrap();
    // Set-up, not the service's work: it bypasses the gateway.
    kms.create_key(Some("alias/notes")).await.unwrap();
    let local = LocalDynamo::embedded()
        .unwrap()
        .enforce(Enforcer::from_json(policy).unwrap())
        .unwrap();
    let encryptor = dynox::encryption::Encryptor::new(kms.client());
    let client = local.client().with_encryptor(Arc::new(encryptor));
    (local, kms, client)
}

#[tokio::test]
async fn runs_under_its_committed_policy() {
    let (local, kms, client) = under(POLICY).await;
    let left = user_service::run(&client).await.unwrap();
    assert_eq!(left, 1);
    assert_eq!(local.enforcer().unwrap().denials(), []);
    assert_eq!(kms.enforcer().unwrap().denials(), []);
}

#[tokio::test]
async fn what_the_policy_does_not_grant_is_denied() {
    // The committed policy, minus Query: the listing is denied, as AWS would deny it.
    let without_query = POLICY.replace(
        "\"dynamodb:PutItem\",\n        \"dynamodb:Query\"",
        "\"dynamodb:PutItem\"",
    );
    assert_ne!(without_query, POLICY);
    let (local, _kms, client) = under(&without_query).await;
    let err = user_service::run(&client).await.unwrap_err();
    assert!(err.is_access_denied(), "{err}");
    let denials = local.enforcer().unwrap().denials();
    assert_eq!(denials.len(), 1);
    assert_eq!(denials[0].action, "dynamodb:Query");
    assert_eq!(
        denials[0].resource,
        "arn:aws:dynamodb:us-east-1:123456789012:table/notes"
    );
}

#[tokio::test]
async fn without_kms_decrypt_the_private_part_is_denied() {
    // The committed policy, minus kms:Decrypt: writing works, reading the note back does not.
    let without_decrypt = POLICY.replace("\"kms:Decrypt\",\n", "");
    assert_ne!(without_decrypt, POLICY);
    let (_local, kms, client) = under(&without_decrypt).await;
    let err = user_service::run(&client).await.unwrap_err();
    assert!(err.is_access_denied(), "{err}");
    let denials = kms.enforcer().unwrap().denials();
    assert_eq!(denials.len(), 1, "{denials:?}");
    assert_eq!(denials[0].action, "kms:Decrypt");
}
