//! Query and scan on tables and indexes, against the embedded engine.

use dynox::capacity::Capacity;
use dynox::query::{Cursor, SortCondition};
use dynox::{Client, Item, Model};
use dynox_testing::LocalDynamo;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeSet;

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(
    table = "posts",
    global_index(name = "by-category", partition_key = "category", sort_key = "score"),
    global_index(
        name = "by-category-author",
        partition_key = ["category", "author"],
        sort_key = "score",
        projection = "keys_only"
    ),
    local_index(name = "by-title", sort_key = "title", include = ["score"])
)]
struct Post {
    #[dynox(partition_key)]
    author: String,
    #[dynox(sort_key)]
    id: u64,
    title: String,
    category: String,
    score: u32,
    body: String,
}

const AUTHORS: [&str; 3] = ["ann", "bob", "cy"];
const CATEGORIES: [&str; 2] = ["rust", "aws"];
const PER_AUTHOR: u64 = 60;

fn post(author: &str, id: u64) -> Post {
    Post {
        author: author.into(),
        id,
        title: format!("{:03} title", id),
        category: CATEGORIES[(id % 2) as usize].into(),
        score: (id * 7 % 100) as u32,
        body: "x".repeat(200),
    }
}

async fn setup() -> (LocalDynamo, Client) {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Post>(&client).await.unwrap();
    for a in AUTHORS {
        for id in 0..PER_AUTHOR {
            client.put(&post(a, id)).await.unwrap();
        }
    }
    (local, client)
}

fn ids(posts: &[Post]) -> Vec<u64> {
    posts.iter().map(|p| p.id).collect()
}

#[tokio::test]
async fn query_sort_key_conditions_and_order() {
    let (_local, client) = setup().await;
    let all = client.query::<Post>("ann").all().await.unwrap();
    assert_eq!(ids(&all), (0..PER_AUTHOR).collect::<Vec<_>>());
    let cases: [(SortCondition<u64>, Vec<u64>); 6] = [
        (SortCondition::eq(5), vec![5]),
        (SortCondition::lt(3), vec![0, 1, 2]),
        (SortCondition::le(2), vec![0, 1, 2]),
        (SortCondition::gt(57), vec![58, 59]),
        (SortCondition::ge(58), vec![58, 59]),
        (SortCondition::between(10, 12), vec![10, 11, 12]),
    ];
    for (cond, expected) in cases {
        let got = client
            .query::<Post>("ann")
            .sort_key(cond)
            .all()
            .await
            .unwrap();
        assert_eq!(ids(&got), expected);
    }
    let desc = client
        .query::<Post>("bob")
        .descending()
        .limit(3)
        .all()
        .await
        .unwrap();
    assert_eq!(ids(&desc), [59, 58, 57]);
    assert!(
        client
            .query::<Post>("nobody")
            .all()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn pages_limits_and_resumable_cursors() {
    let (_local, client) = setup().await;
    // Many pages: 60 items, 7 per page.
    let pages: Vec<_> = client
        .query::<Post>("cy")
        .page_size(7)
        .return_consumed_capacity(Capacity::Total)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert!(pages.len() >= 9, "{} pages", pages.len());
    assert!(pages.iter().all(|p| p.items.len() <= 7));
    assert_eq!(pages.iter().map(|p| p.items.len()).sum::<usize>(), 60);
    assert!(pages.last().unwrap().cursor.is_none());
    assert!(pages[0].consumed_capacity.is_some());

    // A total limit stops inside a page, and the cursor resumes right after the last item.
    let first = client
        .query::<Post>("cy")
        .page_size(7)
        .limit(10)
        .pages()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let got: Vec<u64> = first.iter().flat_map(|p| ids(&p.items)).collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    let token = first.last().unwrap().cursor.as_ref().unwrap().to_token();
    let cursor = Cursor::from_token(&token).unwrap();
    let rest = client
        .query::<Post>("cy")
        .start_from(cursor)
        .all()
        .await
        .unwrap();
    assert_eq!(ids(&rest), (10..60).collect::<Vec<_>>());

    // Foreign and damaged cursors are refused before sending.
    for bad in ["", "v1.", "v1.%%%", "v2.abc", "v1.eyJ4Ijp7IlEiOiIxIn19"] {
        assert!(
            Cursor::from_token(bad).unwrap_err().is_validation(),
            "{bad}"
        );
    }
    let foreign = Cursor::from_key(Item::from([(
        "other".to_string(),
        dynox::AttributeValue::S("x".into()),
    )]));
    let err = client
        .query::<Post>("cy")
        .start_from(foreign)
        .all()
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
}

#[tokio::test]
async fn filters_projections_and_counts() {
    let (_local, client) = setup().await;
    let f = Post::fields();
    let rust = client
        .query::<Post>("ann")
        .filter(f.category.eq("rust") & f.score.ge(50))
        .all()
        .await
        .unwrap();
    assert!(!rust.is_empty());
    assert!(rust.iter().all(|p| p.category == "rust" && p.score >= 50));

    let raw: Vec<Item> = client
        .query::<Post>("ann")
        .project(&f.id)
        .project(&f.title)
        .items_as::<Item>()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(raw.len(), 60);
    assert!(raw.iter().all(|i| i.len() == 2 && i.contains_key("title")));

    let count = client.query::<Post>("ann").count().await.unwrap();
    assert_eq!((count.count, count.scanned_count), (60, 60));
    let filtered = client
        .query::<Post>("ann")
        .filter(f.category.eq("aws"))
        .count()
        .await
        .unwrap();
    assert_eq!((filtered.count, filtered.scanned_count), (30, 60));
    let scanned = client.scan::<Post>().count().await.unwrap();
    assert_eq!(scanned.count, 180);
}

#[tokio::test]
async fn index_queries_are_typed_by_the_index_keys() {
    let (_local, client) = setup().await;
    // A global index: partition by category, sorted by score.
    let rust: Vec<Post> = client
        .query::<PostByCategory>("rust")
        .sort_key(SortCondition::ge(90))
        .all()
        .await
        .unwrap();
    assert!(!rust.is_empty());
    assert!(rust.iter().all(|p| p.category == "rust" && p.score >= 90));
    assert!(rust.windows(2).all(|w| w[0].score <= w[1].score));

    // A multi-attribute partition key, keys-only projection: decode the raw items.
    let keys: Vec<Item> = client
        .query::<PostByCategoryAuthor>(("aws".to_string(), "bob".to_string()))
        .items_as::<Item>()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(keys.len(), 30);
    assert!(keys.iter().all(|k| !k.contains_key("body")));

    // A local index on title, with begins_with on the string sort key.
    let titles: Vec<Item> = client
        .query::<PostByTitle>("ann")
        .sort_key(SortCondition::begins_with("01"))
        .all_projected()
        .items_as::<Item>()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(titles.len(), 10);
    assert!(
        titles
            .iter()
            .all(|i| i.contains_key("score") && !i.contains_key("body"))
    );

    // A consistent read on a global index is refused before anything is sent.
    let err = client
        .query::<PostByCategory>("rust")
        .consistent_read(true)
        .all()
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err}");
    // ... and allowed on a local one.
    let n = client
        .query::<PostByTitle>("cy")
        .consistent_read(true)
        .count()
        .await
        .unwrap();
    assert_eq!(n.count, 60);

    // Index scans and counts.
    let aws = client
        .scan::<PostByCategory>()
        .filter(Post::fields().category.eq("aws"))
        .count()
        .await
        .unwrap();
    assert_eq!(aws.count, 90);
}

#[tokio::test]
async fn scans_segments_and_parallel_merge() {
    let (_local, client) = setup().await;
    let mut seen = BTreeSet::new();
    for s in 0..3 {
        let part = client.scan::<Post>().segment(s, 3).all().await.unwrap();
        for p in part {
            assert!(seen.insert((p.author, p.id)), "an item in two segments");
        }
    }
    assert_eq!(seen.len(), 180);

    let merged: Vec<Post> = client
        .scan::<Post>()
        .page_size(13)
        .parallel(4)
        .all()
        .await
        .unwrap();
    let unique: BTreeSet<_> = merged.iter().map(|p| (p.author.clone(), p.id)).collect();
    assert_eq!((merged.len(), unique.len()), (180, 180));

    let limited = client
        .scan::<Post>()
        .limit(25)
        .parallel(3)
        .items()
        .count()
        .await;
    assert_eq!(limited, 25);
    assert!(
        client
            .scan::<Post>()
            .segment(3, 3)
            .all()
            .await
            .unwrap_err()
            .is_validation()
    );
    let first = client.scan::<Post>().items().next().await.unwrap().unwrap();
    assert_eq!(first.body.len(), 200);
}

#[tokio::test]
async fn limits_with_filters_and_projections_resume_exactly() {
    let (_local, client) = setup().await;
    let f = Post::fields();
    // A selective filter with a limit: exactly that many matching items, not fewer.
    let got = client
        .query::<Post>("ann")
        .filter(f.category.eq("aws"))
        .limit(7)
        .all()
        .await
        .unwrap();
    assert_eq!(got.len(), 7);
    assert!(got.iter().all(|p| p.category == "aws"));

    // A projection without the keys, a limit that stops mid-page: the cursor still resumes.
    let first: Vec<_> = client
        .query::<Post>("bob")
        .project(&f.title)
        .limit(5)
        .pages_as::<Item>()
        .try_collect()
        .await
        .unwrap();
    let cursor = first.last().unwrap().cursor.clone().unwrap();
    let rest: Vec<Item> = client
        .query::<Post>("bob")
        .project(&f.title)
        .start_from(cursor)
        .items_as::<Item>()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|p| p.items.len()).sum::<usize>() + rest.len(),
        60
    );

    assert!(
        client
            .query::<Post>("bob")
            .limit(0)
            .all()
            .await
            .unwrap()
            .is_empty()
    );
    let err = client
        .query::<Post>("bob")
        .all_projected()
        .all()
        .await
        .unwrap_err();
    assert!(err.is_validation());
}

/// Edits the key inside a signed token's payload, keeping its signature.
fn edited(token: &str, from: &str, to: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body = token.strip_prefix("s1.").unwrap();
    let (payload, tag) = body.split_once('.').unwrap();
    let json = String::from_utf8(b64.decode(payload).unwrap()).unwrap();
    assert!(json.contains(from), "{json}");
    let forged = b64.encode(json.replace(from, to));
    format!("s1.{forged}.{tag}")
}

#[tokio::test]
async fn signed_cursors_refuse_every_edit() {
    use dynox::query::CursorKeys;
    let (_local, plain) = setup().await;
    let client = plain.with_cursor_keys(CursorKeys::new(&[1u8; 32]).unwrap());
    let page = client
        .query::<Post>("cy")
        .limit(10)
        .pages()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let cursor = page.last().unwrap().cursor.clone().unwrap();
    let token = client.sign_cursor(&cursor).unwrap();
    let rest = client
        .query::<Post>("cy")
        .start_from_signed(token.clone())
        .all()
        .await
        .unwrap();
    assert_eq!(ids(&rest), (10..60).collect::<Vec<_>>());

    let refused = |e: dynox::Error| {
        assert!(e.is_invalid_cursor(), "{e}");
        e.to_string()
    };
    // The same partition, a later item: the attack an unsigned token allows.
    let forged = edited(&token, r#"\"N\":\"9\""#, r#"\"N\":\"40\""#);
    let unsigned_skip = Cursor::from_key(Item::from_iter(cursor.key().clone().into_iter().map(
        |(k, v)| {
            if k == "id" {
                (k, dynox::AttributeValue::N("40".into()))
            } else {
                (k, v)
            }
        },
    )));
    assert_eq!(
        ids(&client
            .query::<Post>("cy")
            .start_from(unsigned_skip)
            .all()
            .await
            .unwrap())
        .len(),
        19,
        "an unsigned cursor can be edited"
    );
    let why = refused(
        client
            .query::<Post>("cy")
            .start_from_signed(forged)
            .all()
            .await
            .unwrap_err(),
    );
    assert!(why.contains("signature does not verify"), "{why}");
    // A damaged signature, no signature, an unsigned token, garbage.
    let mut damaged = token.clone();
    let last = damaged.pop().unwrap();
    damaged.push(if last == 'A' { 'B' } else { 'A' });
    let unsigned = cursor.to_token();
    let no_signature = token.rsplit_once('.').unwrap().0.to_owned();
    for bad in [
        damaged.as_str(),
        &no_signature,
        &unsigned,
        "",
        "s1.",
        "s1.%%.%%",
    ] {
        refused(
            client
                .query::<Post>("cy")
                .start_from_signed(bad)
                .all()
                .await
                .unwrap_err(),
        );
    }
    // Another query's token: same keys, another read.
    let index_page = client
        .query::<PostByCategory>("rust")
        .limit(3)
        .pages()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let index_token = client
        .sign_cursor(index_page.last().unwrap().cursor.as_ref().unwrap())
        .unwrap();
    let why = refused(
        client
            .scan::<Post>()
            .start_from_signed(index_token)
            .all()
            .await
            .unwrap_err(),
    );
    assert!(why.contains("query:posts/by-category"), "{why}");
    // Another client's keys refuse it; after rotation the old key is still accepted.
    let other = plain.with_cursor_keys(CursorKeys::new(&[2u8; 32]).unwrap());
    refused(
        other
            .query::<Post>("cy")
            .start_from_signed(token.clone())
            .all()
            .await
            .unwrap_err(),
    );
    let rotated = plain.with_cursor_keys(
        CursorKeys::new(&[2u8; 32])
            .unwrap()
            .accept_previous(&[1u8; 32])
            .unwrap(),
    );
    assert_eq!(
        rotated
            .query::<Post>("cy")
            .start_from_signed(token.clone())
            .all()
            .await
            .unwrap()
            .len(),
        50
    );
    // Without keys nothing is signed or accepted; short keys are refused.
    assert!(plain.sign_cursor(&cursor).unwrap_err().is_validation());
    refused(
        plain
            .query::<Post>("cy")
            .start_from_signed(token)
            .all()
            .await
            .unwrap_err(),
    );
    assert!(CursorKeys::new(&[0u8; 16]).unwrap_err().is_validation());
    // Another partition of the same query: refused too.
    let other_partition = client
        .query::<Post>("ann")
        .start_from_signed(client.sign_cursor(&cursor).unwrap())
        .all()
        .await
        .unwrap_err();
    assert!(other_partition.is_invalid_cursor(), "{other_partition}");
    // A cursor not made by a page belongs to no read: it is not signed.
    assert!(
        client
            .sign_cursor(&Cursor::from_key(cursor.key().clone()))
            .is_err()
    );
    assert!(
        Cursor::from_token("s1.abc.def")
            .unwrap_err()
            .is_invalid_cursor()
    );
}
