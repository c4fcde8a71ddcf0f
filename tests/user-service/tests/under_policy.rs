//! The service's own proof that its committed policy is enough: its code runs against the
//! local DynamoDB with that policy enforced on every request.

use dynox_testing::LocalDynamo;
use dynox_testing::iam::Enforcer;

const POLICY: &str = include_str!("../notes.policy.json");

#[tokio::test]
async fn runs_under_its_committed_policy() {
    let local = LocalDynamo::embedded()
        .unwrap()
        .enforce(Enforcer::from_json(POLICY).unwrap())
        .unwrap();
    let left = user_service::run(&local.client()).await.unwrap();
    assert_eq!(left, 1);
    assert_eq!(local.enforcer().unwrap().denials(), []);
}

#[tokio::test]
async fn what_the_policy_does_not_grant_is_denied() {
    // The committed policy, minus Query: the listing is denied, as AWS would deny it.
    let without_query = POLICY.replace(
        "\"dynamodb:PutItem\",\n        \"dynamodb:Query\"",
        "\"dynamodb:PutItem\"",
    );
    assert_ne!(without_query, POLICY);
    let local = LocalDynamo::embedded()
        .unwrap()
        .enforce(Enforcer::from_json(&without_query).unwrap())
        .unwrap();
    let err = user_service::run(&local.client()).await.unwrap_err();
    assert!(err.is_access_denied(), "{err}");
    let denials = local.enforcer().unwrap().denials();
    assert_eq!(denials.len(), 1);
    assert_eq!(denials[0].action, "dynamodb:Query");
    assert_eq!(
        denials[0].resource,
        "arn:aws:dynamodb:us-east-1:123456789012:table/notes"
    );
}
