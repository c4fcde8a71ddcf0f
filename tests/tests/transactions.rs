//! Transactions against the embedded engine.

use dynox::transaction::{TxCheck, TxDelete, TxPut, TxUpdate};
use dynox::{Client, Model};
use dynox_testing::LocalDynamo;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "wallets")]
struct Wallet {
    #[dynox(partition_key)]
    owner: String,
    balance: i64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "transfers")]
struct Transfer {
    #[dynox(partition_key)]
    id: String,
    from: String,
    to: String,
    amount: i64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "accounts-open")]
struct Open {
    #[dynox(partition_key)]
    owner: String,
    open: bool,
}

async fn setup() -> (LocalDynamo, Client) {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Wallet>(&client).await.unwrap();
    local.create_table::<Transfer>(&client).await.unwrap();
    local.create_table::<Open>(&client).await.unwrap();
    for (o, b) in [("ann", 100), ("bob", 10)] {
        client
            .put(&Wallet {
                owner: o.into(),
                balance: b,
            })
            .await
            .unwrap();
        client
            .put(&Open {
                owner: o.into(),
                open: true,
            })
            .await
            .unwrap();
    }
    (local, client)
}

async fn transfer(
    client: &Client,
    id: &str,
    from: &str,
    to: &str,
    amount: i64,
) -> dynox::Result<String> {
    let w = Wallet::fields();
    let t = Transfer {
        id: id.into(),
        from: from.into(),
        to: to.into(),
        amount,
    };
    let out = client
        .transact_write()
        .update(
            TxUpdate::<Wallet>::new(Wallet::key(from))
                .action(w.balance.add(-amount))
                .condition(w.balance.ge(amount))
                .return_old_on_condition_failure(),
        )
        .update(
            TxUpdate::<Wallet>::new(Wallet::key(to))
                .action(w.balance.add(amount))
                .if_exists(),
        )
        .put(TxPut::new(&t).if_not_exists())
        .check(TxCheck::<Open>::new(
            Open::key(to),
            Open::fields().open.eq(true),
        ))
        .send()
        .await?;
    Ok(out.token)
}

async fn balance(client: &Client, owner: &str) -> i64 {
    client
        .get::<Wallet>(Wallet::key(owner))
        .consistent_read(true)
        .await
        .unwrap()
        .unwrap()
        .balance
}

#[tokio::test]
async fn a_transfer_applies_every_member() {
    let (_local, client) = setup().await;
    let token = transfer(&client, "t1", "ann", "bob", 30).await.unwrap();
    assert_eq!(token.len(), 36, "a generated UUID token");
    assert_eq!(balance(&client, "ann").await, 70);
    assert_eq!(balance(&client, "bob").await, 40);
    assert!(
        client
            .get::<Transfer>(Transfer::key("t1"))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_failed_condition_applies_no_member_and_says_which_failed() {
    let (_local, client) = setup().await;
    let err = transfer(&client, "t2", "bob", "ann", 50).await.unwrap_err();
    assert!(err.is_transaction_cancelled(), "{err:?}");
    let reasons = err.cancellation_reasons().unwrap();
    assert_eq!(reasons.len(), 4);
    assert!(reasons[0].is_condition_failed());
    assert_eq!(reasons[1].code, None);
    let old = Wallet::from_item_ref(reasons[0].old_item.as_ref().unwrap());
    assert_eq!(old.balance, 10);
    // Nothing was applied.
    assert_eq!(balance(&client, "bob").await, 10);
    assert_eq!(balance(&client, "ann").await, 100);
    assert!(
        client
            .get::<Transfer>(Transfer::key("t2"))
            .await
            .unwrap()
            .is_none()
    );

    // A failed condition check cancels too.
    client
        .put(&Open {
            owner: "bob".into(),
            open: false,
        })
        .await
        .unwrap();
    let err = transfer(&client, "t3", "ann", "bob", 1).await.unwrap_err();
    let reasons = err.cancellation_reasons().unwrap();
    assert!(reasons[3].is_condition_failed());
    assert!(reasons[..3].iter().all(|r| r.code.is_none()));
    assert_eq!(balance(&client, "ann").await, 100);
}

#[tokio::test]
async fn idempotent_retries_with_a_client_token() {
    let (_local, client) = setup().await;
    let w = Wallet::fields();
    let send = || {
        client
            .transact_write()
            .update(TxUpdate::<Wallet>::new(Wallet::key("ann")).action(w.balance.add(1)))
            .client_request_token("retry-token-1")
            .send()
    };
    assert_eq!(send().await.unwrap().token, "retry-token-1");
    send().await.unwrap();
    assert_eq!(
        balance(&client, "ann").await,
        101,
        "the retry was not applied twice"
    );
}

#[tokio::test]
async fn deletes_and_typed_transactional_reads() {
    let (_local, client) = setup().await;
    client
        .transact_write()
        .delete(TxDelete::<Open>::new(Open::key("bob")).if_exists())
        .put(TxPut::new(&Wallet {
            owner: "cy".into(),
            balance: 5,
        }))
        .send()
        .await
        .unwrap();
    let mut tx = client.transact_get();
    let ann = tx.get::<Wallet>(Wallet::key("ann"));
    let cy = tx.get::<Wallet>(Wallet::key("cy"));
    let bob_open = tx.get::<Open>(Open::key("bob"));
    let mut out = tx.send().await.unwrap();
    assert_eq!(out.take(ann).unwrap().unwrap().balance, 100);
    assert_eq!(out.take(cy).unwrap().unwrap().balance, 5);
    assert_eq!(out.take(bob_open).unwrap(), None);
}

#[tokio::test]
async fn invalid_transactions_are_refused_before_sending() {
    let (_local, client) = setup().await;
    let w = Wallet::fields();
    let same_item_twice = client
        .transact_write()
        .update(TxUpdate::<Wallet>::new(Wallet::key("ann")).action(w.balance.add(1)))
        .delete(TxDelete::<Wallet>::new(Wallet::key("ann")))
        .send()
        .await;
    let empty = client.transact_write().send().await;
    let mut too_many = client.transact_write();
    for i in 0..101 {
        too_many = too_many.put(TxPut::new(&Wallet {
            owner: format!("w{i}"),
            balance: 0,
        }));
    }
    let too_many = too_many.send().await;
    let no_actions = client
        .transact_write()
        .update(TxUpdate::<Wallet>::new(Wallet::key("ann")))
        .send()
        .await;
    for r in [same_item_twice, empty, too_many, no_actions] {
        assert!(r.unwrap_err().is_validation());
    }
    assert_eq!(balance(&client, "ann").await, 100);
}

trait FromItemRef: Sized {
    fn from_item_ref(item: &dynox::Item) -> Self;
}

impl<T: dynox::FromItem> FromItemRef for T {
    fn from_item_ref(item: &dynox::Item) -> Self {
        T::from_item(item.clone()).unwrap()
    }
}
