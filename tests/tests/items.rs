//! Every item operation and option, against the embedded engine.

use dynox::expr::{AttributeType, ReturnValues};
use dynox::{AttributeValue, Client, Item, Model};
use dynox_testing::LocalDynamo;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "accounts")]
struct Account {
    #[dynox(partition_key)]
    id: String,
    name: String,
    #[dynox(rename = "bal")]
    balance: i64,
    nickname: Option<String>,
    #[dynox(default)]
    tags: BTreeSet<String>,
    #[dynox(default)]
    log: Vec<String>,
    #[dynox(default)]
    address: BTreeMap<String, String>,
    #[dynox(default)]
    scores: Vec<u32>,
    #[dynox(default)]
    logins: u64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "events")]
struct Event {
    #[dynox(partition_key)]
    stream: String,
    #[dynox(sort_key)]
    seq: u64,
    kind: String,
}

fn account(id: &str) -> Account {
    Account {
        id: id.into(),
        name: format!("name-{id}"),
        balance: 100,
        nickname: None,
        tags: BTreeSet::from(["a".to_string(), "b".to_string()]),
        log: vec!["created".into()],
        address: BTreeMap::from([("city".to_string(), "Lisbon".to_string())]),
        scores: vec![1, 2, 3],
        logins: 0,
    }
}

async fn setup() -> (LocalDynamo, Client) {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Account>(&client).await.unwrap();
    local.create_table::<Event>(&client).await.unwrap();
    (local, client)
}

async fn fetch(client: &Client, id: &str) -> Option<Account> {
    client
        .get::<Account>(Account::key(id))
        .consistent_read(true)
        .await
        .unwrap()
}

#[tokio::test]
async fn get_missing_projection_and_sort_keys() {
    let (_local, client) = setup().await;
    assert_eq!(
        client.get::<Account>(Account::key("nobody")).await.unwrap(),
        None
    );
    client.put(&account("a1")).await.unwrap();
    let f = Account::fields();
    let raw: Item = client
        .get::<Account>(Account::key("a1"))
        .project(&f.name)
        .project(f.address.key("city"))
        .project(f.scores.index(1))
        .send_as::<Item>()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw.len(), 3, "{raw:?}");
    assert_eq!(raw["name"], AttributeValue::S("name-a1".into()));
    assert_eq!(
        raw["scores"],
        AttributeValue::L(vec![AttributeValue::N("2".into())])
    );
    // Decoding a projection into the whole model names the missing field.
    let err = client
        .get::<Account>(Account::key("a1"))
        .project(&f.name)
        .await
        .unwrap_err();
    assert!(err.is_conversion());
    // Table and key; the source names model and field.
    assert_eq!(err.to_string(), "accounts item {id=\"a1\"} did not decode");
    assert_eq!(
        err.report(),
        "accounts item {id=\"a1\"} did not decode: Account.id: the required attribute is missing"
    );

    for seq in [1u64, 2] {
        let e = Event {
            stream: "s".into(),
            seq,
            kind: format!("k{seq}"),
        };
        client.put(&e).await.unwrap();
    }
    let e2 = client
        .get::<Event>(Event::key("s", 2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e2.kind, "k2");
    assert!(
        client
            .get::<Event>(Event::key("s", 3))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn put_conditions_and_return_old() {
    let (_local, client) = setup().await;
    let a = account("p1");
    assert_eq!(client.put(&a).if_not_exists().await.unwrap(), None);

    // Without asking, a failed condition carries no old item.
    let err = client.put(&a).if_not_exists().await.unwrap_err();
    assert!(err.is_condition_failed());
    assert!(err.old_item().is_none());
    // Asked for, it carries the item as it was.
    let mut b = a.clone();
    b.name = "changed".into();
    let err = client
        .put(&b)
        .if_not_exists()
        .return_old_on_condition_failure()
        .await
        .unwrap_err();
    let old: Account = err.old_item_as().unwrap().unwrap();
    assert_eq!(old, a);
    assert_eq!(fetch(&client, "p1").await.unwrap().name, "name-p1");

    // Replace, returning the previous item.
    let f = Account::fields();
    let prev = client
        .put(&b)
        .condition(f.balance.eq(100))
        .return_old()
        .await
        .unwrap();
    assert_eq!(prev, Some(a));
    assert_eq!(fetch(&client, "p1").await.unwrap().name, "changed");
    // return_old on a fresh key returns nothing.
    assert_eq!(client.put(&account("p2")).return_old().await.unwrap(), None);
}

#[tokio::test]
async fn update_actions() {
    let (_local, client) = setup().await;
    client.put(&account("u1")).await.unwrap();
    let f = Account::fields();
    let after = client
        .update::<Account>(Account::key("u1"))
        .actions([
            f.name.set("Renamed"),
            f.balance.add(-30),
            f.logins.increment(2),
            f.tags.add_elements(["c"]),
            f.log.append(["updated".to_string()]),
            f.scores.prepend([0u32]),
            f.nickname.set_if_not_exists("nick"),
            f.address.key("zip").set("1000"),
        ])
        .return_values(ReturnValues::AllNew)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.name, "Renamed");
    assert_eq!(after.balance, 70);
    assert_eq!(after.logins, 2);
    assert_eq!(
        after.tags,
        BTreeSet::from(["a", "b", "c"].map(String::from))
    );
    assert_eq!(after.log, ["created", "updated"]);
    assert_eq!(after.scores, [0, 1, 2, 3]);
    assert_eq!(after.nickname.as_deref(), Some("nick"));
    assert_eq!(after.address["zip"], "1000");
    assert_eq!(after.address["city"], "Lisbon");

    let after = client
        .update::<Account>(Account::key("u1"))
        .actions([
            f.nickname.set_if_not_exists("other"),
            f.logins.decrement(1),
            f.tags.delete_elements(["a", "b", "c"]),
            f.address.key("city").remove(),
            f.scores.index(0).set(9),
        ])
        .return_values(ReturnValues::AllNew)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.nickname.as_deref(),
        Some("nick"),
        "if_not_exists keeps the value"
    );
    assert_eq!(after.logins, 1);
    assert!(
        after.tags.is_empty(),
        "deleting every element removes the set"
    );
    assert!(!after.address.contains_key("city"));
    assert_eq!(after.scores, [9, 1, 2, 3]);
}

#[tokio::test]
async fn update_creates_counters_and_lists_on_absent_items() {
    let (_local, client) = setup().await;
    let f = Account::fields();
    let created = client
        .update::<Account>(Account::key("fresh"))
        .actions([
            f.name.set("n"),
            f.balance.set(0),
            f.logins.increment(1),
            f.log.append(["first".to_string()]),
            f.scores.prepend([5u32]),
        ])
        .return_values(ReturnValues::AllNew)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.logins, 1);
    assert_eq!(created.log, ["first"]);
    assert_eq!(created.scores, [5]);

    // if_exists refuses to create.
    let err = client
        .update::<Account>(Account::key("ghost"))
        .action(f.logins.increment(1))
        .if_exists()
        .await
        .unwrap_err();
    assert!(err.is_condition_failed());
    assert!(fetch(&client, "ghost").await.is_none());
}

#[tokio::test]
async fn update_return_values_every_option() {
    let (_local, client) = setup().await;
    let f = Account::fields();
    client.put(&account("r1")).await.unwrap();
    let upd = || {
        client
            .update::<Account>(Account::key("r1"))
            .action(f.balance.add(1))
    };
    assert_eq!(upd().return_values(ReturnValues::None).await.unwrap(), None);
    let old = upd()
        .return_values(ReturnValues::AllOld)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.balance, 101);
    let new = upd()
        .return_values(ReturnValues::AllNew)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.balance, 103);
    let updated_old = upd()
        .return_values(ReturnValues::UpdatedOld)
        .send_attributes()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated_old.len(), 1);
    assert_eq!(updated_old["bal"], AttributeValue::N("103".into()));
    let updated_new = upd()
        .return_values(ReturnValues::UpdatedNew)
        .send_attributes()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated_new["bal"], AttributeValue::N("105".into()));
    // A partial result cannot decode as a whole model: refused before sending.
    let err = upd()
        .return_values(ReturnValues::UpdatedNew)
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    assert_eq!(fetch(&client, "r1").await.unwrap().balance, 105);
}

#[tokio::test]
async fn update_conditions_and_refusals() {
    let (_local, client) = setup().await;
    let f = Account::fields();
    client.put(&account("c1")).await.unwrap();
    let err = client
        .update::<Account>(Account::key("c1"))
        .action(f.balance.add(-500))
        .condition(f.balance.ge(500))
        .return_old_on_condition_failure()
        .await
        .unwrap_err();
    assert!(err.is_condition_failed());
    assert_eq!(err.old_item_as::<Account>().unwrap().unwrap().balance, 100);
    assert_eq!(fetch(&client, "c1").await.unwrap().balance, 100);

    // Refused before sending: no actions, key attributes, overlapping paths, bad values.
    let refusals = [
        client.update::<Account>(Account::key("c1")).await,
        client
            .update::<Account>(Account::key("c1"))
            .action(f.id.set("other"))
            .await,
        client
            .update::<Account>(Account::key("c1"))
            .actions([f.address.remove(), f.address.key("x").set("y")])
            .await,
        client
            .update::<Account>(Account::key("c1"))
            .action(f.tags.add_elements(Vec::<String>::new()))
            .await,
    ];
    for r in refusals {
        let err = r.unwrap_err();
        assert!(err.is_validation(), "{err}");
    }
    assert_eq!(fetch(&client, "c1").await.unwrap(), account("c1"));
}

#[tokio::test]
async fn delete_conditions_and_return_old() {
    let (_local, client) = setup().await;
    let f = Account::fields();
    client.put(&account("d1")).await.unwrap();
    client.put(&account("d2")).await.unwrap();

    let err = client
        .delete::<Account>(Account::key("d1"))
        .condition(f.balance.lt(0))
        .await
        .unwrap_err();
    assert!(err.is_condition_failed());
    assert!(err.old_item().is_none());
    let err = client
        .delete::<Account>(Account::key("d1"))
        .condition(f.balance.lt(0))
        .return_old_on_condition_failure()
        .await
        .unwrap_err();
    assert_eq!(
        err.old_item_as::<Account>().unwrap().unwrap(),
        account("d1")
    );
    assert!(fetch(&client, "d1").await.is_some());

    let old = client
        .delete::<Account>(Account::key("d1"))
        .return_old()
        .await
        .unwrap();
    assert_eq!(old, Some(account("d1")));
    assert!(fetch(&client, "d1").await.is_none());
    assert_eq!(
        client.delete::<Account>(Account::key("d2")).await.unwrap(),
        None
    );
    let err = client
        .delete::<Account>(Account::key("d2"))
        .if_exists()
        .await
        .unwrap_err();
    assert!(err.is_condition_failed());
}

/// Each condition function, checked both ways against the real engine.
#[tokio::test]
async fn every_condition_function() {
    let (_local, client) = setup().await;
    let mut a = account("k1");
    a.nickname = Some("Kay".into());
    client.put(&a).await.unwrap();
    let f = Account::fields();
    let cases = [
        (f.balance.eq(100), true),
        (f.balance.ne(100), false),
        (f.balance.lt(101), true),
        (f.balance.le(99), false),
        (f.balance.gt(99), true),
        (f.balance.ge(101), false),
        (f.balance.between(50i64, 100i64), true),
        (f.balance.between(101i64, 200i64), false),
        (f.name.is_in(["x", "name-k1"]), true),
        (f.name.is_in(["x", "y"]), false),
        (f.name.begins_with("name-"), true),
        (f.name.begins_with("k1"), false),
        (f.name.contains("me-k"), true),
        (f.tags.contains("a"), true),
        (f.tags.contains("z"), false),
        (f.log.contains("created"), true),
        (f.nickname.exists(), true),
        (f.logins.not_exists(), false),
        (f.address.key("city").eq("Lisbon"), true),
        (f.address.key("city").exists(), true),
        (f.address.key("zip").exists(), false),
        (f.scores.index(2).eq(3), true),
        (f.scores.index(7).exists(), false),
        (f.tags.attribute_type(AttributeType::Ss), true),
        (f.tags.attribute_type(AttributeType::L), false),
        (f.name.size().eq(7), true),
        (f.scores.size().between(1, 2), false),
        (f.balance.eq(100) & f.name.eq("nope"), false),
        (f.balance.eq(100) | f.name.eq("nope"), true),
        (!f.name.eq("nope"), true),
        (f.balance.eq_path(&f.balance), true),
        (f.balance.lt_path(&f.balance), false),
    ];
    let expected_applied = cases.iter().filter(|(_, holds)| *holds).count() as u64;
    for (i, (condition, holds)) in cases.into_iter().enumerate() {
        let result = client
            .update::<Account>(Account::key("k1"))
            .action(f.logins.increment(1))
            .condition(condition)
            .return_values(ReturnValues::AllNew)
            .await;
        match (result, holds) {
            (Ok(Some(_)), true) => {}
            (Err(e), false) if e.is_condition_failed() => {}
            (other, _) => panic!("case {i}: expected the condition to be {holds}, got {other:?}"),
        }
    }
    let after = fetch(&client, "k1").await.unwrap();
    assert_eq!(
        after.logins, expected_applied,
        "exactly the true conditions applied"
    );
}

#[tokio::test]
async fn table_operations_and_typed_service_errors() {
    let (_local, client) = setup().await;
    let desc = client.describe_table::<Account>().await.unwrap();
    assert_eq!(desc.table_name(), Some("accounts"));
    client.delete_table::<Event>().await.unwrap();
    let err = client.get::<Event>(Event::key("s", 1)).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = client.describe_table::<Event>().await.unwrap_err();
    assert!(err.is_not_found());
    // Creating an existing table is a service error with its code.
    let err = client.create_table::<Account>().send().await.unwrap_err();
    assert!(
        matches!(&err, dynox::Error::Service { code, .. } if code == "ResourceInUseException"),
        "{err:?}"
    );
}

#[tokio::test]
async fn item_size_limit_is_typed() {
    let (_local, client) = setup().await;
    let mut a = account("big");
    a.name = "x".repeat(400 * 1024 + 1);
    let err = client.put(&a).await.unwrap_err();
    assert!(err.is_item_too_large(), "{err:?}");
}
