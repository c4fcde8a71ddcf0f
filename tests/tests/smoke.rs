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
