//! The model layer: attribute types, versioning, generated values, hooks, smart save, TTL and
//! item sizes, against the embedded engine.

// chrono through dynox's re-export: a user needs no chrono dependency of their own.
use dynox::attr::{Decimal, Ttl, Vector};
use dynox::chrono::{DateTime, FixedOffset, TimeZone, Utc};
use dynox::{AttributeValue, Client, Error, FromItem, Hooks, Item, Model, Tracked};
use dynox_testing::LocalDynamo;
use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Address {
    city: String,
    lines: Vec<String>,
    geo: Option<(f64, f64)>,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "typed")]
struct Typed {
    #[dynox(partition_key)]
    id: String,
    price: Decimal,
    at: DateTime<FixedOffset>,
    #[dynox(timestamp = "epoch_seconds")]
    seen: DateTime<Utc>,
    #[dynox(timestamp = "epoch_millis")]
    clicked: Option<DateTime<Utc>>,
    #[dynox(serde)]
    address: Address,
    #[dynox(json)]
    settings: BTreeMap<String, u32>,
    embedding: Vector<3>,
    #[dynox(ttl)]
    expires: Option<Ttl>,
}

fn typed() -> Typed {
    Typed {
        id: "t1".into(),
        price: Decimal::from_str("12345678901234567890.123456789012345678").unwrap(),
        at: DateTime::parse_from_rfc3339("2026-12-01T10:00:00.5-03:00").unwrap(),
        seen: Utc.timestamp_opt(1_764_590_000, 0).unwrap(),
        clicked: Some(Utc.timestamp_millis_opt(1_764_590_000_123).unwrap()),
        address: Address {
            city: "Porto".into(),
            lines: vec!["Rua A".into(), "".into()],
            geo: Some((41.15, -8.61)),
        },
        settings: BTreeMap::from([("theme".into(), 2)]),
        embedding: Vector([0.5, -1.0, 2.25]),
        expires: Some(Ttl::in_days(30)),
    }
}

#[tokio::test]
async fn every_new_type_round_trips_in_its_stored_form() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Typed>(&client).await.unwrap();
    // Table creation from the model turned time to live on.
    let ttl = client.describe_time_to_live::<Typed>().await.unwrap();
    assert_eq!(ttl.attribute_name(), Some("expires"));

    let v = typed();
    client.put(&v).await.unwrap();
    let back = client
        .get::<Typed>(Typed::key("t1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, v);
    let raw: Item = client
        .get::<Typed>(Typed::key("t1"))
        .send_as()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        raw["price"],
        AttributeValue::N("12345678901234567890.123456789012345678".into())
    );
    assert_eq!(
        raw["at"],
        AttributeValue::S("2026-12-01T10:00:00.500000000-03:00".into())
    );
    assert_eq!(raw["seen"], AttributeValue::N("1764590000".into()));
    assert_eq!(raw["clicked"], AttributeValue::N("1764590000123".into()));
    assert!(matches!(&raw["address"], AttributeValue::M(m) if m.contains_key("city")));
    assert_eq!(raw["settings"], AttributeValue::S(r#"{"theme":2}"#.into()));
    assert!(matches!(&raw["embedding"], AttributeValue::L(l) if l.len() == 3));

    // A condition can reach inside a serde map; an epoch field compares as its number.
    let f = Typed::fields();
    client
        .update::<Typed>(Typed::key("t1"))
        .action(f.settings.set(AttributeValue::S("{}".into())))
        .condition(
            f.address.key("city").eq(AttributeValue::S("Porto".into()))
                & f.seen.lt(1_800_000_000i64),
        )
        .await
        .unwrap();

    // Out-of-range decimals are refused, never rounded.
    let mut bad = typed();
    bad.price = Decimal::from_str(&"9".repeat(39)).unwrap();
    assert!(client.put(&bad).await.unwrap_err().is_conversion());
    // A wrong-dimension vector does not decode.
    let mut item = v.to_item().unwrap();
    item.insert(
        "embedding".into(),
        AttributeValue::L(vec![AttributeValue::N("1".into())]),
    );
    assert!(
        Typed::from_item(item)
            .unwrap_err()
            .to_string()
            .contains("3-dimensional")
    );
}

/// Epoch timestamps held in integer fields: stored as the number they hold.
#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "events")]
struct Event {
    #[dynox(partition_key)]
    stream: String,
    #[dynox(sort_key, timestamp = "epoch_millis")]
    at: u64,
    #[dynox(timestamp = "epoch_seconds")]
    day: i64,
    #[dynox(timestamp = "epoch_seconds")]
    seen: Option<u32>,
    #[dynox(created_at, timestamp = "epoch_millis")]
    created: u64,
    #[dynox(updated_at, timestamp = "epoch_seconds")]
    updated: Option<i64>,
    #[dynox(created_at, timestamp = "epoch_seconds")]
    first: i64,
}

fn event(at: u64) -> Event {
    Event {
        stream: "s1".into(),
        at,
        day: -86_400,
        seen: Some(1_764_590_000),
        created: 0,
        updated: None,
        first: 0,
    }
}

#[tokio::test]
async fn integer_epoch_fields_are_stored_as_their_number() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Event>(&client).await.unwrap();

    let before = Utc::now();
    let mut e = event(1_764_590_000_123);
    client.save(&mut e).await.unwrap();
    let after = Utc::now();
    // created_at and updated_at fill the unit the field declares.
    assert!(
        (before.timestamp_millis()..=after.timestamp_millis()).contains(&(e.created as i64)),
        "milliseconds: {}",
        e.created
    );
    let updated = e.updated.unwrap();
    assert!(
        (before.timestamp()..=after.timestamp()).contains(&updated),
        "seconds: {updated}"
    );
    assert!((before.timestamp()..=after.timestamp()).contains(&e.first));

    let back = client
        .get::<Event>(Event::key("s1", 1_764_590_000_123u64))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, e);
    let raw: Item = client
        .get::<Event>(Event::key("s1", 1_764_590_000_123u64))
        .send_as()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw["at"], AttributeValue::N("1764590000123".into()));
    assert_eq!(raw["day"], AttributeValue::N("-86400".into()));
    assert_eq!(raw["seen"], AttributeValue::N("1764590000".into()));
    assert_eq!(raw["created"], AttributeValue::N(e.created.to_string()));
    assert_eq!(raw["updated"], AttributeValue::N(updated.to_string()));

    // created_at stays, updated_at moves; an absent Option stays absent.
    let mut later = e.clone();
    later.seen = None;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    client.save(&mut later).await.unwrap();
    assert_eq!(later.created, e.created);
    assert!(later.updated.unwrap() > updated);
    let raw: Item = client
        .get::<Event>(Event::key("s1", 1_764_590_000_123u64))
        .send_as()
        .await
        .unwrap()
        .unwrap();
    assert!(!raw.contains_key("seen"));

    // Paths, sort key conditions and keys compare the field's own integer type.
    client.put(&event(1_764_590_000_500)).await.unwrap();
    client.put(&event(1_764_590_001_000)).await.unwrap();
    let f = Event::fields();
    client
        .update::<Event>(Event::key("s1", 1_764_590_000_500u64))
        .action(f.seen.set(7u32))
        .condition(f.day.lt(0i64) & f.at.eq(1_764_590_000_500u64))
        .await
        .unwrap();
    let got = client
        .query::<Event>("s1")
        .sort_key(dynox::query::SortCondition::ge(1_764_590_000_500u64))
        .all()
        .await
        .unwrap();
    let ats: Vec<u64> = got.iter().map(|e| e.at).collect();
    assert_eq!(ats, [1_764_590_000_500, 1_764_590_001_000]);
    assert_eq!(got[0].seen, Some(7));

    // A stored number the field cannot hold is a conversion error, not a wrapped value.
    let mut item = event(1).to_item().unwrap();
    item.insert("seen".into(), AttributeValue::N("-5".into()));
    assert!(Event::from_item(item).unwrap_err().is_conversion());
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "docs-versioned", hooks)]
struct Doc {
    #[dynox(partition_key, generate = "uuid7")]
    id: String,
    title: String,
    #[dynox(default)]
    body: String,
    #[dynox(version)]
    version: u64,
    #[dynox(created_at)]
    created: Option<DateTime<Utc>>,
    #[dynox(updated_at, timestamp = "epoch_millis")]
    updated: DateTime<Utc>,
    #[dynox(generate = "ulid")]
    trace: Option<String>,
}

impl Hooks for Doc {
    fn before_save(&mut self) -> dynox::Result<()> {
        if self.title.trim().is_empty() {
            return Err(Error::validation("a document needs a title"));
        }
        self.title = self.title.trim().to_owned();
        Ok(())
    }
    fn before_delete(key: &DocKey) -> dynox::Result<()> {
        if key.id == "protected" {
            return Err(Error::validation("protected documents stay"));
        }
        Ok(())
    }
    fn after_load(&mut self) -> dynox::Result<()> {
        self.body = self.body.replace("\r\n", "\n");
        Ok(())
    }
}

fn doc(title: &str) -> Doc {
    Doc {
        id: String::new(),
        title: title.into(),
        body: String::new(),
        version: 0,
        created: None,
        updated: DateTime::<Utc>::UNIX_EPOCH,
        trace: None,
    }
}

async fn docs() -> (LocalDynamo, Client) {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Doc>(&client).await.unwrap();
    (local, client)
}

#[tokio::test]
async fn save_generates_values_runs_hooks_and_versions() {
    let (_local, client) = docs().await;
    let mut d = doc("  Hello  ");
    client.save(&mut d).await.unwrap();
    assert_eq!(d.id.len(), 36, "uuid7 generated");
    assert_eq!(d.title, "Hello", "before_save normalized it");
    assert_eq!(d.version, 1);
    let created = d.created.unwrap();
    let first_update = d.updated;
    assert_eq!(d.trace.as_ref().unwrap().len(), 26);

    std::thread::sleep(std::time::Duration::from_millis(5));
    d.body = "more".into();
    client.save(&mut d).await.unwrap();
    assert_eq!(d.version, 2);
    assert_eq!(d.created.unwrap(), created, "created_at is set once");
    assert!(d.updated > first_update, "updated_at moves at every save");

    let stored = client
        .get::<Doc>(Doc::key(d.id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.body, "more");

    // A hook refuses; skip_hooks bypasses.
    let mut untitled = doc("   ");
    assert!(
        client
            .save(&mut untitled)
            .await
            .unwrap_err()
            .is_validation()
    );
    assert_eq!(untitled.version, 0);
    client.save(&mut untitled).skip_hooks().await.unwrap();
    let err = client
        .delete::<Doc>(Doc::key("protected"))
        .await
        .unwrap_err();
    assert!(err.is_validation());
    client
        .delete::<Doc>(Doc::key("protected"))
        .skip_hooks()
        .await
        .unwrap();
}

#[tokio::test]
async fn two_writers_one_wins_the_other_gets_a_version_conflict() {
    let (_local, client) = docs().await;
    let mut d = doc("shared");
    client.save(&mut d).await.unwrap();
    let key = || Doc::key(d.id.clone());

    let mut a = client.get::<Doc>(key()).await.unwrap().unwrap();
    let mut b = client.get::<Doc>(key()).await.unwrap().unwrap();
    a.body = "from a".into();
    b.body = "from b".into();
    client.save(&mut a).await.unwrap();
    let err = client.save(&mut b).await.unwrap_err();
    assert!(err.is_version_conflict(), "{err:?}");
    assert!(matches!(
        err,
        Error::VersionConflict {
            expected: 1,
            found: Some(2),
            ..
        }
    ));
    assert_eq!(b.version, 1, "the loser's version is left as it was");
    let stored = client.get::<Doc>(key()).await.unwrap().unwrap();
    assert_eq!(stored.body, "from a");

    // A second create of the same id is a conflict too (version 0 means new).
    let mut again = doc("dup");
    again.id = d.id.clone();
    assert!(
        client
            .save(&mut again)
            .await
            .unwrap_err()
            .is_version_conflict()
    );

    // Versioned update and delete.
    let f = Doc::fields();
    let err = client
        .update::<Doc>(key())
        .action(f.body.set("stale"))
        .if_version(1)
        .await
        .unwrap_err();
    // A lost race on a versioned update is a version conflict, as for save.
    assert!(err.is_version_conflict(), "{err}");
    assert!(matches!(
        err,
        dynox::Error::VersionConflict {
            expected: 1,
            found: Some(2),
            ..
        }
    ));
    // Another condition of the update that fails stays a failed condition.
    let err = client
        .update::<Doc>(key())
        .action(f.body.set("stale"))
        .condition(f.body.eq("not the body"))
        .if_version(2)
        .await
        .unwrap_err();
    assert!(err.is_condition_failed(), "{err}");
    // An update of an item that is not there is a conflict too (nothing at that version).
    let err = client
        .update::<Doc>(Doc::key("nobody"))
        .action(f.body.set("x"))
        .if_version(1)
        .await
        .unwrap_err();
    assert!(
        matches!(err, dynox::Error::VersionConflict { found: None, .. }),
        "{err}"
    );
    client
        .update::<Doc>(key())
        .action(f.body.set("fresh"))
        .if_version(2)
        .await
        .unwrap();
    let current = client.get::<Doc>(key()).await.unwrap().unwrap();
    assert_eq!(current.version, 3);
    assert!(
        client
            .delete_versioned(&stored)
            .await
            .unwrap_err()
            .is_version_conflict()
    );
    client.delete_versioned(&current).await.unwrap();
    assert!(client.get::<Doc>(key()).await.unwrap().is_none());
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "profiles")]
struct Profile {
    #[dynox(partition_key)]
    id: String,
    name: String,
    bio: Option<String>,
    visits: u64,
}

#[tokio::test]
async fn smart_save_writes_only_what_changed() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Profile>(&client).await.unwrap();
    let mut p = Tracked::new(Profile {
        id: "p".into(),
        name: "Ann".into(),
        bio: Some("x".into()),
        visits: 0,
    });
    client.save_tracked(&mut p).await.unwrap();
    assert!(p.is_stored());

    // Writer A loads; writer B bumps the counter; A changes the name and saves.
    let mut a = client
        .load::<Profile>(Profile::key("p"))
        .await
        .unwrap()
        .unwrap();
    client
        .update::<Profile>(Profile::key("p"))
        .action(Profile::fields().visits.increment(5))
        .await
        .unwrap();
    a.name = "Anne".into();
    a.bio = None;
    assert_eq!(a.changed().unwrap(), ["bio", "name"]);
    client.save_tracked(&mut a).await.unwrap();
    let stored = client
        .get::<Profile>(Profile::key("p"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "Anne");
    assert_eq!(stored.bio, None, "a cleared field is removed");
    assert_eq!(
        stored.visits, 5,
        "B's counter survived: only name and bio were written"
    );
    assert!(a.changed().unwrap().is_empty());
    // Nothing changed: nothing sent, nothing fails.
    client.save_tracked(&mut a).await.unwrap();
    // A loaded item that was deleted meanwhile is not recreated.
    client.delete::<Profile>(Profile::key("p")).await.unwrap();
    a.name = "ghost".into();
    assert!(
        client
            .save_tracked(&mut a)
            .await
            .unwrap_err()
            .is_condition_failed()
    );
    assert!(
        client
            .get::<Profile>(Profile::key("p"))
            .await
            .unwrap()
            .is_none()
    );
}

#[derive(Model, Debug, Clone)]
#[dynox(table = "small-items", max_size = 100)]
struct Small {
    #[dynox(partition_key)]
    id: String,
    text: String,
}

#[tokio::test]
async fn item_size_limits_fail_before_sending() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Small>(&client).await.unwrap();
    let ok = Small {
        id: "a".into(),
        text: "x".repeat(50),
    };
    client.put(&ok).await.unwrap();
    let big = Small {
        id: "b".into(),
        text: "x".repeat(200),
    };
    let size = dynox::size::of(&big).unwrap();
    assert_eq!(size.total, (2 + 1) + (4 + 200));
    assert_eq!(size.attributes[0].0, "text");
    let err = client.put(&big).await.unwrap_err();
    assert!(err.is_item_too_large());
    let msg = err.to_string();
    assert!(
        msg.contains("Small item id=") && msg.contains("207 bytes"),
        "{msg}"
    );
    assert!(
        client
            .get::<Small>(Small::key("b"))
            .await
            .unwrap()
            .is_none()
    );
    let err = client.batch_write().put(&big).send().await.unwrap_err();
    assert!(err.is_item_too_large());
}

#[derive(dynox::Attribute, Debug, Clone, PartialEq)]
enum Status {
    Active,
    #[dynox(rename = "on-hold")]
    OnHold,
}

#[derive(dynox::Attribute, Debug, Clone, PartialEq)]
struct Place {
    city: String,
    #[dynox(rename = "zip")]
    postcode: Option<String>,
    #[dynox(default)]
    tags: Vec<String>,
    inner: Option<Box<Place>>,
}

#[derive(dynox::Attribute, Debug, Clone, PartialEq)]
#[dynox(tag = "kind")]
enum Payment {
    Card {
        last4: String,
        expires: DateTime<Utc>,
    },
    Cash,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "customers-nested")]
struct Buyer {
    #[dynox(partition_key)]
    id: String,
    status: Status,
    home: Place,
    payments: Vec<Payment>,
}

#[tokio::test]
async fn nested_structs_and_enums() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Buyer>(&client).await.unwrap();
    let b = Buyer {
        id: "b".into(),
        status: Status::OnHold,
        home: Place {
            city: "Braga".into(),
            postcode: Some("4700".into()),
            tags: vec![],
            inner: Some(Box::new(Place {
                city: "deep".into(),
                postcode: None,
                tags: vec!["x".into()],
                inner: None,
            })),
        },
        payments: vec![
            Payment::Card {
                last4: "4242".into(),
                expires: Utc.timestamp_opt(1_900_000_000, 0).unwrap(),
            },
            Payment::Cash,
        ],
    };
    client.put(&b).await.unwrap();
    assert_eq!(
        client.get::<Buyer>(Buyer::key("b")).await.unwrap().unwrap(),
        b
    );
    let raw: Item = client
        .get::<Buyer>(Buyer::key("b"))
        .send_as()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw["status"], AttributeValue::S("on-hold".into()));
    let AttributeValue::M(home) = &raw["home"] else {
        panic!()
    };
    assert!(home.contains_key("zip"));
    let AttributeValue::L(pays) = &raw["payments"] else {
        panic!()
    };
    let AttributeValue::M(card) = &pays[0] else {
        panic!()
    };
    assert_eq!(card["kind"], AttributeValue::S("Card".into()));

    // Typed paths reach into nested fields, with stored names.
    let f = Buyer::fields();
    client
        .update::<Buyer>(Buyer::key("b"))
        .action(f.home.fields().city.set("Porto"))
        .condition(f.home.fields().postcode.eq("4700") & f.status.eq(Status::OnHold))
        .await
        .unwrap();
    let after = client.get::<Buyer>(Buyer::key("b")).await.unwrap().unwrap();
    assert_eq!(after.home.city, "Porto");

    // Unknown variants and missing fields name where they are.
    let mut item = b.to_item().unwrap();
    item.insert("status".into(), AttributeValue::S("Gone".into()));
    let err = Buyer::from_item(item).unwrap_err().to_string();
    assert!(
        err.contains("`Gone` is not one of Active, on-hold"),
        "{err}"
    );
    let mut item = b.to_item().unwrap();
    item.insert("home".into(), AttributeValue::M(Default::default()));
    let err = Buyer::from_item(item).unwrap_err().to_string();
    assert_eq!(
        err,
        "Buyer.home: at .city: the required attribute is missing"
    );
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "app", entity = "User", unknown = "error")]
struct AppUser {
    #[dynox(partition_key, template = "USER#{user_id}")]
    pk: String,
    #[dynox(sort_key, template = "PROFILE")]
    sk: String,
    user_id: String,
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "app", entity = "Order", unknown = "keep")]
struct AppOrder {
    #[dynox(partition_key, template = "USER#{user_id}")]
    pk: String,
    #[dynox(sort_key, template = "ORDER#{order_id}")]
    sk: String,
    user_id: String,
    order_id: u64,
    total: u64,
    #[dynox(extra)]
    extra: Item,
}

#[derive(dynox::Collection, Debug, PartialEq)]
enum UserItems {
    User(AppUser),
    Order(AppOrder),
}

fn order(user: &str, id: u64) -> AppOrder {
    AppOrder {
        pk: String::new(),
        sk: String::new(),
        user_id: user.into(),
        order_id: id,
        total: id * 10,
        extra: Item::new(),
    }
}

#[tokio::test]
async fn key_templates_and_one_query_for_a_user_and_their_orders() {
    use dynox::query::SortCondition;
    use futures::TryStreamExt;
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<AppUser>(&client).await.unwrap();
    let u = AppUser {
        pk: String::new(),
        sk: String::new(),
        user_id: "u1".into(),
        name: "Ann".into(),
    };
    client.put(&u).await.unwrap();
    for id in 1..=3 {
        client.put(&order("u1", id)).await.unwrap();
    }
    client.put(&order("u2", 9)).await.unwrap();

    // Keys are built from the placeholders, and parsed back.
    let raw: Item = client
        .get::<AppOrder>(AppOrder::key("u1", 2))
        .send_as()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw["pk"], AttributeValue::S("USER#u1".into()));
    assert_eq!(raw["sk"], AttributeValue::S("ORDER#2".into()));
    assert_eq!(raw["_type"], AttributeValue::S("Order".into()));
    let back = client
        .get::<AppOrder>(AppOrder::key("u1", 2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (back.pk.as_str(), back.order_id, back.total),
        ("USER#u1", 2, 20)
    );
    let user = client
        .get::<AppUser>(AppUser::key("u1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.sk, "PROFILE");

    // One query, a typed result per model.
    let items: Vec<UserItems> = client
        .query::<AppUser>("u1")
        .items_as()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 4);
    assert!(matches!(&items[0], UserItems::Order(o) if o.order_id == 1));
    assert!(matches!(&items[3], UserItems::User(u) if u.name == "Ann"));
    // Only the orders, by sort key prefix.
    let orders: Vec<AppOrder> = client
        .query::<AppOrder>("u1")
        .sort_key(SortCondition::begins_with("ORDER#"))
        .all()
        .await
        .unwrap();
    assert_eq!(
        orders.iter().map(|o| o.order_id).collect::<Vec<_>>(),
        [1, 2, 3]
    );

    // Decoding one entity as another is an error, not garbage.
    let err = client
        .get::<AppUser>(
            AppUser {
                user_id: "u1".into(),
                ..u.clone()
            }
            .primary_key(),
        )
        .await;
    assert!(err.is_ok());
    let mut as_user = raw.clone();
    as_user.remove("total");
    assert!(
        AppUser::from_item(as_user)
            .unwrap_err()
            .to_string()
            .contains("is a `Order`, not a `User`")
    );

    // Strict reading: unknown attributes are an error for users, kept for orders.
    client
        .update::<AppUser>(AppUser::key("u1"))
        .action(dynox::expr::Path::<AttributeValue>::new("legacy").set(AttributeValue::Bool(true)))
        .await
        .unwrap();
    let err = client.get::<AppUser>(AppUser::key("u1")).await.unwrap_err();
    assert!(
        err.report().contains("unknown attributes: legacy"),
        "{}",
        err.report()
    );
    client
        .update::<AppOrder>(AppOrder::key("u1", 3))
        .action(
            dynox::expr::Path::<AttributeValue>::new("note").set(AttributeValue::S("gift".into())),
        )
        .await
        .unwrap();
    let kept = client
        .get::<AppOrder>(AppOrder::key("u1", 3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.extra["note"], AttributeValue::S("gift".into()));
    client.put(&kept).await.unwrap();
    let raw: Item = client
        .get::<AppOrder>(AppOrder::key("u1", 3))
        .send_as()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        raw["note"],
        AttributeValue::S("gift".into()),
        "kept attributes are written back"
    );

    // A placeholder missing from the item is read back from the key.
    let mut sparse = raw.clone();
    sparse.remove("user_id");
    sparse.remove("order_id");
    let parsed = AppOrder::from_item(sparse).unwrap();
    assert_eq!((parsed.user_id.as_str(), parsed.order_id), ("u1", 3));
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "articles")]
struct Article {
    #[dynox(partition_key)]
    id: String,
    #[dynox(compress = "zstd")]
    body: String,
    #[dynox(compress(algorithm = "gzip", level = 9, min_size = 10, max_ratio = 0.95))]
    summary: Option<String>,
    #[dynox(compress = "lz4")]
    note: String,
}

#[tokio::test]
async fn compressed_fields_round_trip_in_pydynox_format() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Article>(&client).await.unwrap();
    let a = Article {
        id: "a".into(),
        body: "DynamoDB stores items. ".repeat(200),
        summary: Some("short summary, short summary, short summary".into()),
        note: "tiny".into(),
    };
    client.put(&a).await.unwrap();
    assert_eq!(
        client
            .get::<Article>(Article::key("a"))
            .await
            .unwrap()
            .unwrap(),
        a
    );
    let raw: Item = client
        .get::<Article>(Article::key("a"))
        .send_as()
        .await
        .unwrap()
        .unwrap();
    let AttributeValue::S(body) = &raw["body"] else {
        panic!()
    };
    assert!(
        body.starts_with("ZSTD:") && body.len() < 200,
        "{}",
        body.len()
    );
    let AttributeValue::S(summary) = &raw["summary"] else {
        panic!()
    };
    assert!(summary.starts_with("GZIP:"));
    assert_eq!(
        raw["note"],
        AttributeValue::S("tiny".into()),
        "small values pass through"
    );
    // A value pydynox wrote (gzip of "hello world") reads back.
    let mut item = raw.clone();
    item.insert(
        "note".into(),
        AttributeValue::S("GZIP:H4sIAAAAAAAC/8tIzcnJVyjPL8pJAQCFEUoNCwAAAA==".into()),
    );
    assert_eq!(Article::from_item(item).unwrap().note, "hello world");
    // A damaged value is a clear error.
    let mut item = raw;
    item.insert("body".into(), AttributeValue::S("ZSTD:AAAA".into()));
    assert!(
        Article::from_item(item)
            .unwrap_err()
            .to_string()
            .starts_with("Article.body: the compressed value is damaged")
    );
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "profiles-v")]
struct VersionedProfile {
    #[dynox(partition_key)]
    id: String,
    name: String,
    #[dynox(version)]
    version: u32,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "profiles-v")]
struct LegacyProfile {
    #[dynox(partition_key)]
    id: String,
    name: String,
    legacy_flag: bool,
}

#[tokio::test]
async fn smart_save_keeps_foreign_attributes_and_versions_legacy_items() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local
        .create_table::<VersionedProfile>(&client)
        .await
        .unwrap();
    // Written by an older service: no version attribute, one attribute this model does not know.
    client
        .put(&LegacyProfile {
            id: "l".into(),
            name: "old".into(),
            legacy_flag: true,
        })
        .await
        .unwrap();
    let mut p = client
        .load::<VersionedProfile>(VersionedProfile::key("l"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.version, 0);
    p.name = "new".into();
    client.save_tracked(&mut p).await.unwrap();
    assert_eq!(p.version, 1, "a legacy item gets its first version");
    let raw = client
        .get::<LegacyProfile>(LegacyProfile::key("l"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        raw.legacy_flag,
        "an attribute the model does not declare is left alone"
    );
    assert_eq!(raw.name, "new");
    // A stale tracked copy loses the race and keeps its version.
    let mut stale = client
        .load::<VersionedProfile>(VersionedProfile::key("l"))
        .await
        .unwrap()
        .unwrap();
    p.name = "newer".into();
    client.save_tracked(&mut p).await.unwrap();
    stale.name = "stale".into();
    let err = client.save_tracked(&mut stale).await.unwrap_err();
    assert!(err.is_version_conflict(), "{err:?}");
    assert_eq!(stale.version, 1);
}

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "teams")]
struct Team {
    #[dynox(partition_key, template = "ORG#{org}#TEAM#{team}")]
    pk: String,
    org: String,
    team: String,
}

#[tokio::test]
async fn template_values_that_could_not_be_read_back_are_refused() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Team>(&client).await.unwrap();
    let ok = Team {
        pk: String::new(),
        org: "acme#1".into(),
        team: "red".into(),
    };
    client.put(&ok).await.unwrap();
    let raw: Item = client
        .get::<Team>(Team::key("acme#1", "red"))
        .send_as()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(raw["pk"], AttributeValue::S("ORG#acme#1#TEAM#red".into()));
    let mut sparse = raw.clone();
    sparse.remove("org");
    sparse.remove("team");
    let back = Team::from_item(sparse).unwrap();
    assert_eq!((back.org.as_str(), back.team.as_str()), ("acme#1", "red"));
    let bad = Team {
        pk: String::new(),
        org: "a#TEAM#b".into(),
        team: "x".into(),
    };
    let err = client.put(&bad).await.unwrap_err();
    assert!(
        err.is_conversion() && err.to_string().contains("could not be read back"),
        "{err}"
    );
}
