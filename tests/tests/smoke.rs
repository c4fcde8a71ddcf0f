use dynox::Model;
use dynox_testing::LocalDynamo;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "users")]
struct User {
    #[dynox(partition_key)]
    id: String,
    name: String,
    visits: u64,
}

#[tokio::test]
async fn smoke() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<User>(&client).await.unwrap();
    let u = User {
        id: "u1".into(),
        name: "Ada".into(),
        visits: 0,
    };
    client.put(&u).if_not_exists().await.unwrap();
    let f = User::fields();
    client
        .update::<User>(User::key("u1"))
        .action(f.visits.increment(2u64))
        .await
        .unwrap();
    let got = client.get::<User>(User::key("u1")).await.unwrap().unwrap();
    assert_eq!(got.visits, 2);
    let err = client
        .put(&u)
        .if_not_exists()
        .return_old_on_condition_failure()
        .await
        .unwrap_err();
    assert!(err.is_condition_failed(), "{err:?}");
    assert!(err.old_item().is_some());
}

/// One way to send: every request is awaitable as it is and has `.send()`, table, batch,
/// transaction and PartiQL requests included; reads of many items are `items()` / `all()`.
#[tokio::test]
async fn every_request_is_awaited_or_sent_the_same_way() {
    use dynox::transaction::{TxCheck, TxPut};
    use futures::TryStreamExt;
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    let ada = User {
        id: "u1".into(),
        name: "Ada".into(),
        visits: 1,
    };
    let bob = User {
        id: "u2".into(),
        name: "Bob".into(),
        visits: 2,
    };

    client.create_table::<User>().await.unwrap();
    client.create_table::<User>().send().await.unwrap_err();
    assert!(client.table_exists::<User>().await.unwrap());
    client
        .wait_until_active::<User>(std::time::Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(
        client.describe_table::<User>().await.unwrap().table_name(),
        client
            .describe_table::<User>()
            .send()
            .await
            .unwrap()
            .table_name()
    );
    client.batch_write().put(&ada).await.unwrap();
    client.batch_write().put(&bob).send().await.unwrap();
    let mut got = client
        .batch_get()
        .get::<User>([User::key("u1"), User::key("u2")])
        .await
        .unwrap();
    assert_eq!(got.take::<User>().unwrap().len(), 2);
    client
        .transact_write()
        .check(TxCheck::<User>::new(
            User::key("u2"),
            User::fields().id.exists(),
        ))
        .put(TxPut::new(&ada))
        .await
        .unwrap();
    let mut get = client.transact_get();
    let slot = get.get::<User>(User::key("u2"));
    assert_eq!(
        get.send().await.unwrap().take(slot).unwrap(),
        Some(bob.clone())
    );
    let mut get = client.transact_get();
    let slot = get.get::<User>(User::key("u2"));
    assert_eq!(get.await.unwrap().take(slot).unwrap(), Some(bob));

    client
        .execute(dynox::partiql!(
            r#"UPDATE "users" SET visits = 5 WHERE id = 'u1'"#
        ))
        .await
        .unwrap();
    let rows = client
        .execute(dynox::partiql!(r#"SELECT * FROM "users" WHERE id = ?"#))
        .param("u1")
        .all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        client
            .batch_execute()
            .statement(
                dynox::partiql!(r#"SELECT * FROM "users" WHERE id = ?"#),
                [dynox::AttributeValue::S("u2".into())],
            )
            .await
            .unwrap()
            .len(),
        1
    );
    client
        .execute_transaction()
        .statement(
            dynox::partiql!(r#"UPDATE "users" SET visits = 6 WHERE id = ?"#),
            [dynox::AttributeValue::S("u2".into())],
        )
        .await
        .unwrap();

    // Reads of many items: the same three ways on a query, a scan and a parallel scan.
    let scanned: Vec<User> = client.scan::<User>().items().try_collect().await.unwrap();
    assert_eq!(scanned.len(), 2);
    assert_eq!(client.scan::<User>().all().await.unwrap().len(), 2);
    assert_eq!(
        client.scan::<User>().parallel(2).all().await.unwrap().len(),
        2
    );
    let merged: Vec<User> = client
        .scan::<User>()
        .parallel(2)
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(merged.len(), 2);

    client
        .enable_time_to_live::<User>("expires")
        .send()
        .await
        .unwrap();
    client.tag_table::<User>([("team", "core")]).await.unwrap();
    assert_eq!(
        client.list_table_tags::<User>().send().await.unwrap().len(),
        1
    );
    client.delete_table::<User>().send().await.unwrap();
    client.delete_table::<User>().await.unwrap_err();
}

/// The errors page lists every variant of `dynox::Error` (read from `Error::kind`, which
/// names each one).
#[test]
fn errors_page_lists_every_variant() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let source = std::fs::read_to_string(root.join("crates/dynox/src/error.rs")).unwrap();
    let page = std::fs::read_to_string(root.join("docs/src/errors.md")).unwrap();
    let kinds: Vec<&str> = source
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix("Error::")?;
            let (_, name) = rest.split_once("=> \"")?;
            name.strip_suffix("\",")
        })
        .collect();
    assert!(kinds.len() >= 20, "kind() not found: {kinds:?}");
    let missing: Vec<_> = kinds
        .iter()
        .filter(|k| !page.contains(&format!("`{k}")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/src/errors.md leaves out {missing:?}"
    );
}
