//! The measured models, each in the three forms a service could use: dynox's derive, serde with
//! serde_dynamo, and conversion written by hand with the SDK's types. All three store the same
//! attributes with the same types, so they do the same work.

use aws_sdk_dynamodb::types::AttributeValue;
use dynox::Model;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// An item as the SDK holds it.
pub type SdkItem = HashMap<String, AttributeValue>;

/// A 20-attribute model: strings, numbers of four types, a flag, a list, a map, an option.
#[derive(Model, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[dynox(table = "bench_profiles")]
pub struct Profile {
    #[dynox(partition_key)]
    pub pk: String,
    #[dynox(sort_key)]
    pub sk: String,
    pub name: String,
    pub email: String,
    pub age: u32,
    pub score: f64,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub balance: i64,
    pub visits: u64,
    pub ratio: f64,
    pub country: String,
    pub city: String,
    pub zip: String,
    pub status: String,
    pub tags: Vec<String>,
    pub attributes: HashMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    pub plan: String,
}

impl Profile {
    /// A typical profile; `i` varies the key and a few values.
    pub fn sample(i: u64) -> Profile {
        Profile {
            pk: format!("user#{i:08}"),
            sk: "profile".into(),
            name: format!("Ada Lovelace {i}"),
            email: format!("ada{i}@example.com"),
            age: 36,
            score: 1234.5 + i as f64,
            active: i.is_multiple_of(2),
            created_at: 1_733_000_000 + i as i64,
            updated_at: 1_733_100_000 + i as i64,
            balance: -42_000 + i as i64,
            visits: 1_000 + i,
            ratio: 0.125,
            country: "GB".into(),
            city: "London".into(),
            zip: "NW1 6XE".into(),
            status: "active".into(),
            tags: vec!["math".into(), "engines".into(), "poetry".into()],
            attributes: [("theme", "dark"), ("lang", "en"), ("tz", "Europe/London")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            nickname: Some("Countess".into()),
            plan: "pro".into(),
        }
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Hand-written encoding with the SDK's types, as a careful service would write it.
pub fn profile_to_item(p: &Profile) -> SdkItem {
    let mut item = HashMap::with_capacity(20);
    item.insert("pk".to_owned(), s(&p.pk));
    item.insert("sk".to_owned(), s(&p.sk));
    item.insert("name".to_owned(), s(&p.name));
    item.insert("email".to_owned(), s(&p.email));
    item.insert("age".to_owned(), n(p.age));
    item.insert("score".to_owned(), n(p.score));
    item.insert("active".to_owned(), AttributeValue::Bool(p.active));
    item.insert("created_at".to_owned(), n(p.created_at));
    item.insert("updated_at".to_owned(), n(p.updated_at));
    item.insert("balance".to_owned(), n(p.balance));
    item.insert("visits".to_owned(), n(p.visits));
    item.insert("ratio".to_owned(), n(p.ratio));
    item.insert("country".to_owned(), s(&p.country));
    item.insert("city".to_owned(), s(&p.city));
    item.insert("zip".to_owned(), s(&p.zip));
    item.insert("status".to_owned(), s(&p.status));
    item.insert(
        "tags".to_owned(),
        AttributeValue::L(p.tags.iter().map(|t| s(t)).collect()),
    );
    item.insert(
        "attributes".to_owned(),
        AttributeValue::M(
            p.attributes
                .iter()
                .map(|(k, v)| (k.clone(), s(v)))
                .collect(),
        ),
    );
    if let Some(nick) = &p.nickname {
        item.insert("nickname".to_owned(), s(nick));
    }
    item.insert("plan".to_owned(), s(&p.plan));
    item
}

/// A decoding failure of the hand-written code: which attribute.
#[derive(Debug)]
pub struct Bad(pub &'static str);

fn take_s(item: &mut SdkItem, name: &'static str) -> Result<String, Bad> {
    match item.remove(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(Bad(name)),
    }
}

fn take_n<T: std::str::FromStr>(item: &mut SdkItem, name: &'static str) -> Result<T, Bad> {
    match item.remove(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(|_| Bad(name)),
        _ => Err(Bad(name)),
    }
}

/// Hand-written decoding with the SDK's types.
pub fn profile_from_item(mut item: SdkItem) -> Result<Profile, Bad> {
    let i = &mut item;
    Ok(Profile {
        pk: take_s(i, "pk")?,
        sk: take_s(i, "sk")?,
        name: take_s(i, "name")?,
        email: take_s(i, "email")?,
        age: take_n(i, "age")?,
        score: take_n(i, "score")?,
        active: match i.remove("active") {
            Some(AttributeValue::Bool(b)) => b,
            _ => return Err(Bad("active")),
        },
        created_at: take_n(i, "created_at")?,
        updated_at: take_n(i, "updated_at")?,
        balance: take_n(i, "balance")?,
        visits: take_n(i, "visits")?,
        ratio: take_n(i, "ratio")?,
        country: take_s(i, "country")?,
        city: take_s(i, "city")?,
        zip: take_s(i, "zip")?,
        status: take_s(i, "status")?,
        tags: match i.remove("tags") {
            Some(AttributeValue::L(l)) => l
                .into_iter()
                .map(|v| match v {
                    AttributeValue::S(s) => Ok(s),
                    _ => Err(Bad("tags")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(Bad("tags")),
        },
        attributes: match i.remove("attributes") {
            Some(AttributeValue::M(m)) => m
                .into_iter()
                .map(|(k, v)| match v {
                    AttributeValue::S(s) => Ok((k, s)),
                    _ => Err(Bad("attributes")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(Bad("attributes")),
        },
        nickname: match i.remove("nickname") {
            Some(AttributeValue::S(s)) => Some(s),
            None => None,
            _ => return Err(Bad("nickname")),
        },
        plan: take_s(i, "plan")?,
    })
}

/// A small item, as a log or an event table holds: the model of the 100,000-item runs.
#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "bench_events")]
pub struct Event {
    #[dynox(partition_key)]
    pub pk: String,
    #[dynox(sort_key)]
    pub seq: u64,
    pub kind: String,
    pub amount: i64,
    pub note: String,
    pub at: i64,
}

impl Event {
    /// The `i`th event of partition `pk`.
    pub fn sample(pk: &str, i: u64) -> Event {
        Event {
            pk: pk.to_owned(),
            seq: i,
            kind: if i.is_multiple_of(3) {
                "debit"
            } else {
                "credit"
            }
            .to_owned(),
            amount: (i as i64 % 1000) - 500,
            note: format!("event number {i} of a steady stream"),
            at: 1_733_000_000_000 + i as i64,
        }
    }
}

/// Hand-written encoding of an event.
pub fn event_to_item(e: &Event) -> SdkItem {
    let mut item = HashMap::with_capacity(6);
    item.insert("pk".to_owned(), s(&e.pk));
    item.insert("seq".to_owned(), n(e.seq));
    item.insert("kind".to_owned(), s(&e.kind));
    item.insert("amount".to_owned(), n(e.amount));
    item.insert("note".to_owned(), s(&e.note));
    item.insert("at".to_owned(), n(e.at));
    item
}

/// Hand-written decoding of an event.
pub fn event_from_item(mut item: SdkItem) -> Result<Event, Bad> {
    let i = &mut item;
    Ok(Event {
        pk: take_s(i, "pk")?,
        seq: take_n(i, "seq")?,
        kind: take_s(i, "kind")?,
        amount: take_n(i, "amount")?,
        note: take_s(i, "note")?,
        at: take_n(i, "at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dynox::FromItem;

    /// The three forms store the same attributes, so they are measured doing the same work.
    #[test]
    fn the_three_forms_agree() {
        let p = Profile::sample(7);
        let dynox_item = p.to_item().unwrap();
        let serde_item: SdkItem = serde_dynamo::to_item(&p).unwrap();
        let hand_item = profile_to_item(&p);
        assert_eq!(dynox_item.len(), 20);
        assert_eq!(dynox_item, hand_item);
        assert_eq!(serde_item, hand_item);
        assert_eq!(Profile::from_item(hand_item.clone()).unwrap(), p);
        assert_eq!(profile_from_item(dynox_item).unwrap(), p);
        let back: Profile = serde_dynamo::from_item(hand_item).unwrap();
        assert_eq!(back, p);

        let e = Event::sample("q", 3);
        assert_eq!(e.to_item().unwrap(), event_to_item(&e));
        assert_eq!(event_from_item(event_to_item(&e)).unwrap(), e);
    }
}
