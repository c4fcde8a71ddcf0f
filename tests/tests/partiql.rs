//! PartiQL statements, batches and transactions against the embedded engine.

use dynox::partiql::{Statement, StatementResult, Verb};
use dynox::{AttributeValue, Client, Item, Model, partiql};
use dynox_testing::LocalDynamo;
use futures::TryStreamExt;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(
    table = "books",
    global_index(name = "by-author", partition_key = "author")
)]
struct Book {
    #[dynox(partition_key)]
    isbn: String,
    title: String,
    author: String,
    copies: u32,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

async fn setup() -> (LocalDynamo, Client) {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Book>(&client).await.unwrap();
    (local, client)
}

#[test]
fn the_macro_reads_verb_table_index_and_parameters() {
    fn info<S: Statement>(_: S) -> (Verb, &'static str, Option<&'static str>, usize) {
        (S::VERB, S::TABLE, S::INDEX, S::PARAMETERS)
    }
    assert_eq!(
        info(partiql!(
            r#"SELECT * FROM "books"."by-author" WHERE author = ?"#
        )),
        (Verb::Select, "books", Some("by-author"), 1)
    );
    assert_eq!(
        info(partiql!("INSERT INTO books VALUE {'isbn': ?, 'title': ?}")),
        (Verb::Insert, "books", None, 2)
    );
    assert_eq!(
        info(partiql!(
            r#"UPDATE "books" SET copies = copies + 1 WHERE isbn = ?"#
        ))
        .0,
        Verb::Update
    );
    assert_eq!(
        info(partiql!(r#"DELETE FROM "books" WHERE isbn = ?"#)).0,
        Verb::Delete
    );
}

#[tokio::test]
async fn statements_insert_select_update_delete() {
    let (_local, client) = setup().await;
    for (isbn, title, author) in [
        ("1", "Dune", "Herbert"),
        ("2", "Emma", "Austen"),
        ("3", "Persuasion", "Austen"),
    ] {
        client
            .execute(partiql!(
                "INSERT INTO \"books\" VALUE {'isbn': ?, 'title': ?, 'author': ?, 'copies': ?}"
            ))
            .param(isbn)
            .param(title)
            .param(author)
            .param(1u32)
            .send()
            .await
            .unwrap();
    }
    let books: Vec<Book> = client
        .execute(partiql!(
            r#"SELECT * FROM "books"."by-author" WHERE author = ?"#
        ))
        .param("Austen")
        .items_as::<Book>()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(books.len(), 2);

    client
        .execute(partiql!(
            r#"UPDATE "books" SET copies = copies + 4 WHERE isbn = ?"#
        ))
        .param("1")
        .send()
        .await
        .unwrap();
    let dune: Vec<Book> = client
        .execute(partiql!(r#"SELECT * FROM "books" WHERE isbn = ?"#))
        .param("1")
        .consistent_read(true)
        .items_as()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(dune[0].copies, 5);

    client
        .execute(partiql!(r#"DELETE FROM "books" WHERE isbn = ?"#))
        .param("2")
        .send()
        .await
        .unwrap();
    assert!(client.get::<Book>(Book::key("2")).await.unwrap().is_none());

    // Pagination: a whole-table SELECT, two items per page.
    let pages: Vec<_> = client
        .execute(partiql!(r#"SELECT * FROM "books""#))
        .page_size(1)
        .pages_as::<Item>()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.iter().map(|p| p.items.len()).sum::<usize>(), 2);
}

#[tokio::test]
async fn wrong_parameter_counts_and_bad_text_are_refused_before_sending() {
    let (_local, client) = setup().await;
    let err = client
        .execute(partiql!(r#"SELECT * FROM "books" WHERE isbn = ?"#))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    let err = client.execute_dynamic("  ").send().await.unwrap_err();
    assert!(err.is_validation());
    // A run-time statement runs (its permissions are the wide ones).
    client
        .execute_dynamic(
            "INSERT INTO \"books\" VALUE {'isbn': '9', 'title': 't', 'author': 'a', 'copies': 0}",
        )
        .send()
        .await
        .unwrap();
    assert!(client.get::<Book>(Book::key("9")).await.unwrap().is_some());
}

#[tokio::test]
async fn batches_fail_per_statement_and_transactions_all_or_nothing() {
    let (_local, client) = setup().await;
    let insert =
        partiql!("INSERT INTO \"books\" VALUE {'isbn': ?, 'title': ?, 'author': ?, 'copies': ?}");
    let results = client
        .batch_execute()
        .statement(
            insert,
            [s("1"), s("A"), s("X"), AttributeValue::N("1".into())],
        )
        .statement(
            insert,
            [s("2"), s("B"), s("Y"), AttributeValue::N("1".into())],
        )
        .send()
        .await
        .unwrap();
    assert!(
        results.iter().all(|r| matches!(r, StatementResult::Ok(_))),
        "{results:?}"
    );
    // Inserting an existing key fails that statement alone.
    let results = client
        .batch_execute()
        .statement(
            insert,
            [s("1"), s("A"), s("X"), AttributeValue::N("1".into())],
        )
        .statement(
            insert,
            [s("3"), s("C"), s("Z"), AttributeValue::N("1".into())],
        )
        .send()
        .await
        .unwrap();
    assert!(
        matches!(&results[0], StatementResult::Failed { .. }),
        "{results:?}"
    );
    assert!(matches!(&results[1], StatementResult::Ok(_)));

    let upd = partiql!(r#"UPDATE "books" SET copies = copies - 1 WHERE isbn = ? AND copies > 0"#);
    client
        .execute_transaction()
        .statement(upd, [s("1")])
        .statement(upd, [s("2")])
        .send()
        .await
        .unwrap();
    // "1" is now at 0 copies: its condition fails, so "3" is not touched either.
    let err = client
        .execute_transaction()
        .statement(upd, [s("3")])
        .statement(upd, [s("1")])
        .send()
        .await
        .unwrap_err();
    assert!(err.is_transaction_cancelled(), "{err:?}");
    let three = client.get::<Book>(Book::key("3")).await.unwrap().unwrap();
    assert_eq!(three.copies, 1);
}

#[tokio::test]
async fn statements_with_comments_of_both_kinds_run() {
    let (_local, client) = setup().await;
    client
        .execute(partiql!(
            "-- a new book\n/* with its first copy */\nINSERT INTO \"books\" /* here */ VALUE \
             {'isbn': ?, 'title': 'Dune', 'author': 'Herbert', 'copies': 1} -- done"
        ))
        .param("1")
        .send()
        .await
        .unwrap();
    client
        .execute(partiql!(
            "/* one more */ UPDATE \"books\" -- the table\n SET copies = copies + 1 WHERE isbn = ? /* ? */"
        ))
        .param("1")
        .send()
        .await
        .unwrap();
    let books: Vec<Book> = client
        .execute(partiql!(
            "-- leading\nSELECT /* all */ * FROM -- which\n\"books\" WHERE isbn = ? -- trailing ?"
        ))
        .param("1")
        .consistent_read(true)
        .items_as()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(books[0].copies, 2);
}

#[tokio::test]
async fn a_statement_whose_text_names_another_table_is_refused() {
    // Hand-written: its constants (which the policy follows) disagree with its text.
    #[derive(Clone, Copy, Debug)]
    struct Lying;
    impl Statement for Lying {
        const VERB: Verb = Verb::Select;
        const TABLE: &'static str = "books";
        const INDEX: Option<&'static str> = None;
        const TEXT: &'static str = "-- books?\nSELECT * FROM \"secrets\" WHERE id = ?";
        const LABEL: &'static str = "lying";
        const PARAMETERS: usize = 1;
    }
    let (_local, client) = setup().await;
    let err = client.execute(Lying).param("1").send().await.unwrap_err();
    assert!(err.is_validation(), "{err}");
    assert!(err.to_string().contains("secrets"), "{err}");
}
