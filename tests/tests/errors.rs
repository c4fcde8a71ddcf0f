//! Errors name what failed and where: the operation, the table (logical and deployed) and the
//! item's key, on one line, with the SDK's detail in `source()`; a KMS denial of an encrypted
//! field is an access denial naming the KMS action and key.

use dynox::attr::Secret;
use dynox::encryption::{EncryptionError, Encryptor};
use dynox::{Mapping, Model};
use dynox_testing::iam::Enforcer;
use dynox_testing::{LocalDynamo, LocalKms};
use std::error::Error as _;
use std::sync::Arc;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "orders")]
struct Order {
    #[dynox(partition_key)]
    id: String,
    note: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "cards")]
struct Card {
    #[dynox(partition_key)]
    id: String,
    #[dynox(encrypted(key = "alias/errors-cards"))]
    number: Secret<String>,
}

fn prod() -> Mapping {
    Mapping {
        prefix: "prod-".into(),
        ..Mapping::default()
    }
}

/// Every error of the chain below `err`, each on its own.
fn chain(err: &dynox::Error) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push(e.to_string());
        cur = e.source();
    }
    out
}

fn one_line(text: &str) {
    assert!(
        !text.is_empty() && !text.contains('\n') && text.len() < 300,
        "{} chars: {text}",
        text.len()
    );
    assert!(!text.contains("Error {"), "a debug dump: {text}");
}

#[tokio::test]
async fn a_failed_conditional_put_names_put_item_both_tables_and_the_key() {
    let local = LocalDynamo::embedded().unwrap();
    let client = local.client().with_mapping(prod());
    local.create_table::<Order>(&client).await.unwrap();
    let order = Order {
        id: "o1".into(),
        note: "a private note".into(),
    };
    client.put(&order).await.unwrap();
    let err = client.put(&order).if_not_exists().await.unwrap_err();
    assert!(err.is_condition_failed(), "{err}");
    let text = err.to_string();
    one_line(&text);
    assert_eq!(
        text,
        "PutItem on orders (deployed as prod-orders), key {id=\"o1\"}: condition failed"
    );
    // Only the key of the item, never its other values.
    assert!(!text.contains("a private note"), "{text}");
    assert_eq!(err.operation(), Some("PutItem"));
    assert_eq!(err.table(), Some("orders"));
    assert_eq!(err.deployed_table(), Some("prod-orders"));
    assert_eq!(err.kind(), "ConditionFailed");
    // The service's detail is in the source chain, not in the message.
    let below = chain(&err);
    assert!(
        below
            .iter()
            .any(|e| e.contains("ConditionalCheckFailedException")),
        "{below:?}"
    );
    assert!(below.iter().all(|e| *e != text));

    // A delete names its key too.
    let err = client
        .delete::<Order>(Order::key("o2"))
        .if_exists()
        .await
        .unwrap_err();
    assert!(err.is_condition_failed(), "{err}");
    assert_eq!(
        err.to_string(),
        "DeleteItem on orders (deployed as prod-orders), key {id=\"o2\"}: condition failed"
    );
}

#[tokio::test]
async fn a_read_of_a_missing_table_names_the_operation_and_the_table() {
    let local = LocalDynamo::embedded().unwrap();
    let client = local.client().with_mapping(prod());
    let err = client.get::<Order>(Order::key("o1")).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let text = err.to_string();
    one_line(&text);
    assert!(
        text.starts_with("GetItem on orders (deployed as prod-orders), key {id=\"o1\"}: "),
        "{text}"
    );
    assert!(text.contains("not found"), "{text}");
    assert!(!chain(&err).is_empty());

    let err = local.client().query::<Order>("o1").all().await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().starts_with("Query on orders: "), "{err}");
}

#[tokio::test]
async fn a_kms_denial_is_an_access_denial_naming_the_action_and_the_key() {
    let kms = LocalKms::start()
        .await
        .expect("the local KMS (run `cargo xtask setup`)");
    let key_id = kms.create_key(Some("errors-cards")).await.unwrap();
    let local = LocalDynamo::embedded().unwrap();
    let granted = local
        .client()
        .with_encryptor(Arc::new(Encryptor::new(kms.client())));
    local.create_table::<Card>(&granted).await.unwrap();
    let card = Card {
        id: "c1".into(),
        number: Secret::new("4111 1111 1111 1111".into()),
    };
    granted.put(&card).await.unwrap();

    // A role whose policy grants no KMS call on the key: writes and reads are denied.
    let nothing = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["kms:DescribeKey"], "Resource": ["*"]}]}"#;
    let kms = kms.enforce(Enforcer::from_json(nothing).unwrap()).unwrap();
    let client = local
        .client()
        .with_encryptor(Arc::new(Encryptor::new(kms.client())));
    let err = client.put(&card).await.unwrap_err();
    assert!(err.is_access_denied(), "{err}");
    assert!(err.is_encryption(), "{err}");
    assert_eq!(err.kind(), "AccessDenied");
    let text = err.to_string();
    one_line(&text);
    assert!(
        text.contains("access denied: kms:GenerateDataKey on "),
        "{text}"
    );
    assert!(text.contains(&key_id), "the key: {text}");
    assert!(
        text.contains("cards.number") && text.contains("Card"),
        "{text}"
    );
    assert!(!text.contains("4111"), "{text}");
    // The chain carries the encryption error and, below it, the SDK's.
    let source = err.source().expect("a source");
    let enc = source
        .downcast_ref::<EncryptionError>()
        .expect("the encryption error");
    assert!(enc.is_access_denied(), "{enc}");
    let below = chain(&err);
    assert!(below.len() >= 2, "{below:?}");
    assert!(
        below.iter().any(|e| e.contains("AccessDeniedException")),
        "{below:?}"
    );
    assert!(below.iter().all(|e| *e != text));

    // The read is denied too, and says which item it was reading.
    let err = client.get::<Card>(Card::key("c1")).await.unwrap_err();
    assert!(err.is_access_denied(), "{err}");
    let text = err.to_string();
    one_line(&text);
    assert_eq!(
        text,
        "cards item {id=\"c1\"} did not decrypt: access denied"
    );
    let denial = err.source().unwrap().to_string();
    one_line(&denial);
    assert!(
        denial.contains("access denied: kms:Decrypt on "),
        "{denial}"
    );
    assert!(denial.contains(&key_id), "{denial}");
}
