//! What a model is: the trait `#[derive(Model)]` implements, and the helpers it calls.
//!
//! Everything the derive emits is a call to this module's public items, so a model can also be
//! written by hand (see the `Model` trait's example).

use crate::attr::{Codec, Scalar, ValueError};
use crate::error::{Error, Result};
use crate::{AttributeValue, Item};

/// A key attribute of a table: its stored name and scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAttribute {
    /// The attribute name as stored.
    pub name: &'static str,
    /// The attribute type.
    pub scalar: Scalar,
}

/// A type that can be decoded from a whole item: every model, and [`Item`] itself.
pub trait FromItem: Sized {
    /// Decodes `item`, taking ownership so that no value is copied.
    fn from_item(item: Item) -> Result<Self>;
}

impl FromItem for Item {
    fn from_item(item: Item) -> Result<Self> {
        Ok(item)
    }
}

/// The primary key of a model.
pub trait ModelKey: Send + Sync {
    /// The key as an attribute map (partition key, and sort key if the model has one).
    fn to_key_item(&self) -> Result<Item>;
}

/// A Rust type stored as items of one DynamoDB table.
///
/// Usually derived; written by hand it looks like this:
///
/// ```
/// use dynox::attr::{Native, Scalar};
/// use dynox::expr::Path;
/// use dynox::model::{self, FromItem, KeyAttribute, Model, ModelKey};
/// use dynox::{Item, Result};
///
/// struct Counter { name: String, hits: u64 }
/// struct CounterKey { name: String }
/// struct CounterFields { name: Path<String>, hits: Path<u64> }
///
/// impl ModelKey for CounterKey {
///     fn to_key_item(&self) -> Result<Item> {
///         let mut item = Item::new();
///         model::put_field::<String, Native>(&mut item, "name", &self.name, "Counter", "name")?;
///         Ok(item)
///     }
/// }
/// impl FromItem for Counter {
///     fn from_item(mut item: Item) -> Result<Self> {
///         Ok(Counter {
///             name: model::take_field::<String, Native>(&mut item, "name", "Counter", "name")?,
///             hits: model::take_field::<u64, Native>(&mut item, "hits", "Counter", "hits")?,
///         })
///     }
/// }
/// impl Model for Counter {
///     const TABLE: &'static str = "counters";
///     const NAME: &'static str = "Counter";
///     const PARTITION_KEY: KeyAttribute = KeyAttribute { name: "name", scalar: Scalar::S };
///     const SORT_KEY: Option<KeyAttribute> = None;
///     type Key = CounterKey;
///     type Fields = CounterFields;
///     fn fields() -> CounterFields {
///         CounterFields { name: Path::new("name"), hits: Path::new("hits") }
///     }
///     fn primary_key(&self) -> CounterKey {
///         CounterKey { name: self.name.clone() }
///     }
///     fn to_item(&self) -> Result<Item> {
///         let mut item = Item::new();
///         model::put_field::<String, Native>(&mut item, "name", &self.name, "Counter", "name")?;
///         model::put_field::<u64, Native>(&mut item, "hits", &self.hits, "Counter", "hits")?;
///         Ok(item)
///     }
/// }
/// ```
pub trait Model: FromItem + Send + Sync + 'static {
    /// The table name.
    const TABLE: &'static str;
    /// The Rust type name, for errors and permission explanations.
    const NAME: &'static str;
    /// The partition key attribute.
    const PARTITION_KEY: KeyAttribute;
    /// The sort key attribute, if the table has one.
    const SORT_KEY: Option<KeyAttribute>;
    /// The primary key type.
    type Key: ModelKey;
    /// Typed paths to the model's attributes, for conditions, updates and projections.
    type Fields;

    /// The typed attribute paths.
    fn fields() -> Self::Fields;
    /// This item's primary key.
    fn primary_key(&self) -> Self::Key;
    /// Encodes the item.
    fn to_item(&self) -> Result<Item>;
    /// Encodes the item, consuming it to avoid copies.
    fn into_item(self) -> Result<Item> {
        self.to_item()
    }
    /// Whether `name` (a stored attribute name) is part of the primary key.
    fn is_key_attribute(name: &str) -> bool {
        Self::PARTITION_KEY.name == name || Self::SORT_KEY.is_some_and(|k| k.name == name)
    }
}

/// Encodes a borrowed field into `item` under `name` (nothing when the codec omits it).
pub fn put_field<T, C: Codec<T>>(
    item: &mut Item,
    name: &'static str,
    value: &T,
    model: &'static str,
    field: &'static str,
) -> Result<()> {
    if let Some(v) = C::encode(value).map_err(|e| Error::conversion(model, field, e))? {
        item.insert(name.to_owned(), v);
    }
    Ok(())
}

/// Encodes an owned field into `item` under `name`.
pub fn put_field_owned<T, C: Codec<T>>(
    item: &mut Item,
    name: &'static str,
    value: T,
    model: &'static str,
    field: &'static str,
) -> Result<()> {
    if let Some(v) = C::encode_owned(value).map_err(|e| Error::conversion(model, field, e))? {
        item.insert(name.to_owned(), v);
    }
    Ok(())
}

/// Takes the attribute `name` out of `item` and decodes it; an absent attribute is an error unless
/// the type has an absent value (`Option`, sets).
pub fn take_field<T, C: Codec<T>>(
    item: &mut Item,
    name: &str,
    model: &'static str,
    field: &'static str,
) -> Result<T> {
    match item.remove(name) {
        Some(v) => C::decode(v).map_err(|e| Error::conversion(model, field, e)),
        None => C::absent().ok_or(Error::conversion(model, field, ValueError::Missing)),
    }
}

/// Like [`take_field`], with `T::default()` when the attribute is absent (`#[dynox(default)]`).
pub fn take_field_or_default<T: Default, C: Codec<T>>(
    item: &mut Item,
    name: &str,
    model: &'static str,
    field: &'static str,
) -> Result<T> {
    match item.remove(name) {
        Some(v) => C::decode(v).map_err(|e| Error::conversion(model, field, e)),
        None => Ok(C::absent().unwrap_or_default()),
    }
}

/// Encodes a key attribute, which must be present: keys cannot be omitted.
pub fn put_key<T, C: Codec<T>>(
    item: &mut Item,
    name: &'static str,
    value: &T,
    model: &'static str,
    field: &'static str,
) -> Result<()> {
    match C::encode(value).map_err(|e| Error::conversion(model, field, e))? {
        Some(v) => {
            if matches!(&v, AttributeValue::S(s) if s.is_empty())
                || matches!(&v, AttributeValue::B(b) if b.as_ref().is_empty())
            {
                return Err(Error::conversion(
                    model,
                    field,
                    ValueError::Invalid("a key attribute cannot be empty".into()),
                ));
            }
            item.insert(name.to_owned(), v);
            Ok(())
        }
        None => Err(Error::conversion(model, field, ValueError::Absent)),
    }
}
