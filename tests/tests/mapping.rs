//! The table mapping at run time: a mapped client works on the deployed tables through every
//! operation family, answers come back under logical names, and what the mapping cannot apply
//! safely is refused before sending.

use dynox::transaction::TxPut;
use dynox::{Mapping, Model, partiql};
use dynox_testing::LocalDynamo;
use futures::TryStreamExt as _;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "books")]
struct Book {
    #[dynox(partition_key)]
    isbn: String,
    title: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "loans")]
struct Loan {
    #[dynox(partition_key)]
    isbn: String,
    #[dynox(sort_key)]
    n: u64,
}

fn prod() -> Mapping {
    let mut m = Mapping {
        prefix: "prod-".into(),
        ..Mapping::default()
    };
    m.tables.insert("loans".into(), "lending-v2".into());
    m
}

/// The deployed table names, read with a client that knows no mapping.
async fn physical_tables(local: &LocalDynamo) -> Vec<String> {
    let mut names: Vec<String> = local.client().list_tables().try_collect().await.unwrap();
    names.sort();
    names
}

#[tokio::test]
async fn every_operation_family_reaches_the_deployed_tables() {
    let local = LocalDynamo::embedded().unwrap();
    let client = local.client().with_mapping(prod());
    local.create_table::<Book>(&client).await.unwrap();
    local.create_table::<Loan>(&client).await.unwrap();
    assert_eq!(physical_tables(&local).await, ["lending-v2", "prod-books"]);
    // The mapped client lists its own tables, under their logical names.
    let mut mine: Vec<String> = client.list_tables().try_collect().await.unwrap();
    mine.sort();
    assert_eq!(mine, ["books", "loans"]);
    assert_eq!(
        client.describe_table::<Book>().await.unwrap().table_name(),
        Some("books")
    );

    let dune = Book {
        isbn: "1".into(),
        title: "Dune".into(),
    };
    client.put(&dune).await.unwrap();
    let loans: Vec<Loan> = (0..30)
        .map(|n| Loan {
            isbn: "1".into(),
            n,
        })
        .collect();
    let written = client
        .batch_write()
        .put_all(&loans)
        .return_consumed_capacity(dynox::capacity::Capacity::Total)
        .send()
        .await
        .unwrap();
    assert_eq!(written.written, 30);
    // Consumed capacity names the logical table too.
    assert!(!written.consumed_capacity.is_empty());
    assert!(
        written
            .consumed_capacity
            .iter()
            .all(|c| c.table_name() == Some("loans")),
        "{:?}",
        written.consumed_capacity
    );
    let mut got = client
        .batch_get()
        .get::<Book>([Book::key("1")])
        .get::<Loan>([Loan::key("1", 3), Loan::key("1", 29)])
        .send()
        .await
        .unwrap();
    assert_eq!(got.take::<Book>().unwrap(), std::slice::from_ref(&dune));
    assert_eq!(got.take::<Loan>().unwrap().len(), 2);

    let emma = Book {
        isbn: "2".into(),
        title: "Emma".into(),
    };
    client
        .transact_write()
        .put(TxPut::new(&emma).if_not_exists())
        .send()
        .await
        .unwrap();
    let mut tx = client.transact_get();
    let slot = tx.get::<Book>(Book::key("2"));
    assert_eq!(tx.send().await.unwrap().take(slot).unwrap(), Some(emma));

    let rows: Vec<Book> = client
        .execute(partiql!(r#"SELECT * FROM "books" WHERE isbn = ?"#))
        .param("1")
        .items_as()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows, [dune]);
    let n = client.query::<Loan>("1".to_owned()).count().await.unwrap();
    assert_eq!(n.count, 30);

    // The unmapped names hold nothing: every write went to the deployed tables.
    let plain = local.client();
    assert!(!plain.table_exists::<Book>().await.unwrap());
    let raw = aws_sdk_dynamodb::Client::new(local.sdk_config());
    let scanned = raw.scan().table_name("prod-books").send().await.unwrap();
    assert_eq!(scanned.count, 2);
}

#[tokio::test]
async fn what_the_mapping_cannot_apply_is_refused_before_sending() {
    let local = LocalDynamo::embedded().unwrap();
    // Two tables onto one: a batch would lose one table's work, so it is refused.
    let mut both = Mapping::default();
    both.tables.insert("books".into(), "shared".into());
    both.tables.insert("loans".into(), "shared".into());
    assert!(
        both.validate().is_err(),
        "a file with this mapping is refused"
    );
    let client = local.client().with_mapping(both);
    let err = client
        .batch_write()
        .put(&Book {
            isbn: "1".into(),
            title: "t".into(),
        })
        .put(&Loan {
            isbn: "1".into(),
            n: 1,
        })
        .send()
        .await
        .unwrap_err();
    // Nothing written; the batch reports both items as not written, with the reason.
    assert!(err.to_string().contains("0 written, 2 not"), "{err}");
    // The reason is the source.
    assert!(err.report().contains("map to `shared`"), "{}", err.report());

    // A statement whose table cannot be found is not sent with its logical name.
    let client = local.client().with_mapping(prod());
    let err = client
        .execute_dynamic("SELECT * FROM")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    assert!(err.to_string().contains("table mapping"), "{err}");
}
