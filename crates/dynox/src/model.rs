//! What a model is: the trait `#[derive(Model)]` implements, and the helpers it calls.
//!
//! Everything the derive emits is a call to this module's public items, so a model can also be
//! written by hand (see the `Model` trait's example).

use crate::attr::{Codec, Scalar, ValueError};
use crate::error::{Error, Result};
use crate::{AttributeValue, Item};

/// A boxed future, for [`Model::after_create_table`].
pub type BoxFuture<'a, T> = futures::future::BoxFuture<'a, T>;

/// A key attribute of a table: its stored name and scalar type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAttribute {
    /// The attribute name as stored.
    pub name: &'static str,
    /// The attribute type.
    pub scalar: Scalar,
}

/// Global or local secondary index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKind {
    /// A global secondary index: its own partition key; eventually consistent reads only.
    Global,
    /// A local secondary index: the table's partition key, another sort key.
    Local,
}

/// Which attributes an index holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexProjection {
    /// Every attribute.
    All,
    /// The table and index keys only.
    KeysOnly,
    /// The keys and these (stored) attribute names.
    Include(&'static [&'static str]),
}

/// A secondary index as a model declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexDef {
    /// The index name.
    pub name: &'static str,
    /// Global or local.
    pub kind: IndexKind,
    /// The partition key attributes (one, or up to four for a multi-attribute GSI key).
    pub partition_key: &'static [KeyAttribute],
    /// The sort key attributes (none, one, or up to four).
    pub sort_key: &'static [KeyAttribute],
    /// What the index holds.
    pub projection: IndexProjection,
}

/// The sort key type of a key schema without a sort key: no value of it exists, so a sort key
/// condition cannot be written for such a schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoSortKey {}

/// Something that can be queried and scanned: a model's table, or one of its secondary indexes.
///
/// The derive implements it for each model (the table) and for a generated type per declared
/// index, so a query is typed by the keys of what it reads.
pub trait KeySchema: Send + Sync + 'static {
    /// The items it returns.
    type Model: Model;
    /// The partition key value: the attribute's type, or a tuple for a multi-attribute key.
    type Partition: Send;
    /// The (first) sort key attribute's type; [`NoSortKey`] when there is none.
    type Sort: Send;
    /// The index name; `None` for the table itself.
    const INDEX: Option<&'static str>;
    /// Whether this is a global secondary index (no consistent reads).
    const GLOBAL: bool;
    /// The partition key attributes.
    const PARTITION_KEY: &'static [KeyAttribute];
    /// The sort key attributes.
    const SORT_KEY: &'static [KeyAttribute];
    /// Encodes a partition key value, one attribute value per [`PARTITION_KEY`](Self::PARTITION_KEY) entry.
    fn partition_values(partition: Self::Partition) -> Result<Vec<AttributeValue>>;
}

/// The IAM resource a key schema is read on: the table, or `table/T/index/I`.
pub const fn schema_resource<Q: KeySchema>() -> dynox_iam::ResourceRef<'static> {
    match Q::INDEX {
        Some(index) => dynox_iam::ResourceRef::Index {
            table: Q::Model::TABLE,
            index,
        },
        None => dynox_iam::ResourceRef::Table(Q::Model::TABLE),
    }
}

/// The model's tenant key for `dynamodb:LeadingKeys` when `Q` reads by the table's partition
/// key: the table and its local indexes. A global index's leading key is its own partition key,
/// so its reads carry none (and the export warns that the condition cannot limit them).
pub const fn table_tenant_key<Q: KeySchema>() -> &'static [(&'static str, &'static str)] {
    match (Q::INDEX, Q::GLOBAL) {
        (None, _) | (Some(_), false) => <Q::Model as Model>::TENANT_KEY,
        (Some(_), true) => &[],
    }
}

/// A type that can be decoded from a whole item: every model, and [`Item`] itself.
pub trait FromItem: Sized {
    /// Decodes `item`, taking ownership so that no value is copied.
    fn from_item(item: Item) -> Result<Self>;

    /// Whether stored items carry encrypted fields, so that [`unseal`](Self::unseal) has work
    /// to do (reads skip it otherwise, and the future it would allocate). The derive sets it;
    /// a hand-written `FromItem` that implements `unseal` must set it too.
    const SEALED: bool = false;

    /// Decrypts the encrypted fields of a stored item before decoding (nothing, for types
    /// without encrypted fields). Called only when [`SEALED`](Self::SEALED) is true.
    fn unseal<'a>(_item: &'a mut Item, _client: &'a crate::Client) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
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
    /// The secondary indexes, for table creation.
    const INDEXES: &'static [IndexDef] = &[];
    /// The vector indexes, for table creation.
    const VECTOR_INDEXES: &'static [crate::vector::VectorIndexDef] = &[];
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
    /// This model's discriminator value, when several models share a table
    /// (`#[dynox(entity = "...")]`).
    const ENTITY: Option<&'static str> = None;
    /// The attribute holding [`ENTITY`](Model::ENTITY) (`_type` unless declared).
    const DISCRIMINATOR: &'static str = "_type";
    /// The stored names of the encrypted fields.
    const ENCRYPTED_ATTRIBUTES: &'static [&'static str] = &[];
    /// Encrypts the encrypted fields of an encoded item before it is written.
    fn seal<'a>(_item: &'a mut Item, _client: &'a crate::Client) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    /// The stored names of the S3-backed fields (`#[dynox(s3(...))]`).
    const S3_ATTRIBUTES: &'static [&'static str] = &[];
    /// Uploads the files staged in the S3-backed fields of an encoded item and puts their
    /// objects' metadata in their place, recording each upload in `uploads` (a put or save calls
    /// it before the item is written; see [`crate::s3`]).
    fn upload<'a>(
        _item: &'a mut Item,
        _client: &'a crate::Client,
        _uploads: &'a mut crate::s3::Uploads,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    /// Takes the uploaded objects' metadata from the written item into the model's S3-backed
    /// fields (a save leaves the model describing what was stored).
    fn take_uploaded(&mut self, _written: &Item) {}
    /// Whether some S3-backed field is declared `delete_with_item`.
    const DELETES_OBJECTS: bool = false;
    /// Deletes the objects of the `delete_with_item` fields of a deleted item `old`.
    fn delete_objects<'a>(_old: &'a Item, _client: &'a crate::Client) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    /// The time-to-live attribute (`#[dynox(ttl)]`), enabled when the table is created.
    const TTL_ATTRIBUTE: Option<&'static str> = None;
    /// The version attribute for optimistic locking (`#[dynox(version)]`).
    const VERSION_ATTRIBUTE: Option<&'static str> = None;
    /// The largest encoded item a save accepts (`#[dynox(max_size = N)]`; DynamoDB's 400 KB).
    const MAX_SIZE: usize = crate::size::MAX_ITEM_SIZE;
    /// How the partition key is built from the tenant (`#[dynox(tenant = "field")]`), for the
    /// export's `dynamodb:LeadingKeys` condition: the fact `("dynox:leading-key", "PREFIX|SUFFIX")`,
    /// where a `*` in the suffix stands for the key's other placeholders. Empty without a tenant.
    const TENANT_KEY: &'static [(&'static str, &'static str)] = &[];

    /// Fills generated values and timestamps before a save (`generate`, `created_at`,
    /// `updated_at`).
    fn prepare_save(&mut self) {}
    /// The version this item was loaded at (0 for a new item), for versioned models.
    fn version(&self) -> Option<u64> {
        None
    }
    /// Sets the version, for versioned models.
    fn set_version(&mut self, _version: u64) {}
    /// The largest version the version field holds.
    fn max_version() -> u64 {
        u64::MAX
    }
    /// The stored names of the model's attributes, when known: smart save removes only these
    /// (attributes other writers added are left alone). `None` removes any attribute the model
    /// no longer writes.
    const ATTRIBUTES: Option<&'static [&'static str]> = None;

    /// Hook: before a save (may change the item, or refuse it).
    fn before_save(&mut self) -> Result<()> {
        Ok(())
    }
    /// Hook: after a save.
    fn after_save(&self) -> Result<()> {
        Ok(())
    }
    /// Hook: after an item is read.
    fn after_load(&mut self) -> Result<()> {
        Ok(())
    }
    /// Hook: before an update (may refuse it).
    fn before_update(_key: &Self::Key) -> Result<()> {
        Ok(())
    }
    /// Hook: after an update.
    fn after_update(_key: &Self::Key) -> Result<()> {
        Ok(())
    }
    /// Hook: before a delete (may refuse it).
    fn before_delete(_key: &Self::Key) -> Result<()> {
        Ok(())
    }
    /// Hook: after a delete.
    fn after_delete(_key: &Self::Key) -> Result<()> {
        Ok(())
    }

    /// What creating the table from the model does after `CreateTable` (the derive turns time
    /// to live on for a model with a `ttl` field).
    fn after_create_table(_client: &crate::Client) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Whether `name` (a stored attribute name) is part of the primary key.
    fn is_key_attribute(name: &str) -> bool {
        Self::PARTITION_KEY.name == name || Self::SORT_KEY.is_some_and(|k| k.name == name)
    }
}

/// Encodes a borrowed field into `item` under `name` (nothing when the codec omits it).
#[inline]
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
#[inline]
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
#[inline]
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
#[inline]
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

/// The hook methods of [`Model`], for a model declared `#[dynox(hooks)]`: implement the ones you
/// need; the rest do nothing.
pub trait Hooks: Model {
    /// Before a save (may change the item, or refuse it with an error).
    fn before_save(&mut self) -> Result<()> {
        Ok(())
    }
    /// After a save.
    fn after_save(&self) -> Result<()> {
        Ok(())
    }
    /// After an item is read.
    fn after_load(&mut self) -> Result<()> {
        Ok(())
    }
    /// Before an update (may refuse it).
    fn before_update(_key: &Self::Key) -> Result<()> {
        Ok(())
    }
    /// After an update.
    fn after_update(_key: &Self::Key) -> Result<()> {
        Ok(())
    }
    /// Before a delete (may refuse it).
    fn before_delete(_key: &Self::Key) -> Result<()> {
        Ok(())
    }
    /// After a delete.
    fn after_delete(_key: &Self::Key) -> Result<()> {
        Ok(())
    }
}

/// An integer type that can hold a model's version.
#[diagnostic::on_unimplemented(
    message = "a #[dynox(version)] field is an unsigned or signed integer, not `{Self}`",
    label = "not an integer"
)]
pub trait VersionNumber: Copy {
    /// The largest version the type holds.
    const MAX: u64;
    /// As a u64 (versions start at 0 for a new item and only grow; negative reads as 0).
    fn to_version(self) -> u64;
    /// From a u64 no larger than [`MAX`](VersionNumber::MAX).
    fn from_version(v: u64) -> Self;
}

macro_rules! version_numbers {
    ($($t:ty),*) => {$(
        impl VersionNumber for $t {
            const MAX: u64 = <$t>::MAX as u64;
            fn to_version(self) -> u64 {
                u64::try_from(self).unwrap_or(0)
            }
            fn from_version(v: u64) -> Self {
                <$t>::try_from(v).unwrap_or(<$t>::MAX)
            }
        }
    )*};
}
version_numbers!(u8, u16, u32, u64, usize, i16, i32, i64);

/// A type that can be a `#[dynox(ttl)]` field.
#[diagnostic::on_unimplemented(
    message = "a #[dynox(ttl)] field holds `dynox::attr::Ttl` (or an Option of it), not `{Self}`",
    label = "not a TTL"
)]
pub trait TtlField {}
impl TtlField for crate::attr::Ttl {}
impl TtlField for Option<crate::attr::Ttl> {}

/// Compile-time checks the derive places on a field's type.
pub const fn assert_version<T: VersionNumber>() {}
/// Compile-time checks the derive places on a field's type.
pub const fn assert_ttl<T: TtlField>() {}

/// A piece of a key template (`USER#{id}`): text, or a placeholder's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text.
    Text(&'static str),
    /// A placeholder.
    Value,
}

/// Builds a templated key from its placeholder values. A value containing the text that follows
/// its placeholder is refused: the key could not be read back.
pub fn render_template(
    template: &[TemplatePart],
    values: &[String],
    model: &'static str,
    field: &'static str,
) -> Result<String> {
    let mut out = String::new();
    let mut values = values.iter();
    for (i, part) in template.iter().enumerate() {
        match part {
            TemplatePart::Text(t) => out.push_str(t),
            TemplatePart::Value => {
                let v = values.next().ok_or_else(|| {
                    Error::conversion(
                        model,
                        field,
                        ValueError::Invalid("a template value is missing".into()),
                    )
                })?;
                if let Some(TemplatePart::Text(next)) = template.get(i + 1)
                    && v.contains(next)
                {
                    return Err(Error::conversion(
                        model,
                        field,
                        ValueError::Invalid(format!(
                            "`{v}` contains `{next}`, which separates this key's parts: it could not be read back"
                        )),
                    ));
                }
                out.push_str(v);
            }
        }
    }
    Ok(out)
}

/// The string value of attribute `name`, if it is one.
pub fn string_of(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

/// The `index`-th placeholder value of `key` under `template`, as text.
pub fn template_value<'k>(
    template: &[TemplatePart],
    key: &'k str,
    index: usize,
) -> Option<&'k str> {
    let mut rest = key;
    let mut n = 0;
    for (i, part) in template.iter().enumerate() {
        match part {
            TemplatePart::Text(t) => rest = rest.strip_prefix(t)?,
            TemplatePart::Value => {
                // A value runs to the next text (placeholders are always separated by text).
                let end = match template.get(i + 1) {
                    Some(TemplatePart::Text(t)) => rest.find(t)?,
                    _ => rest.len(),
                };
                if n == index {
                    return Some(&rest[..end]);
                }
                n += 1;
                rest = &rest[end..];
            }
        }
    }
    None
}

/// Takes a placeholder field; when the item does not hold it, reads it back from the templated
/// key (a key written by another tool, say).
pub fn take_or_parse<T: std::str::FromStr, C: Codec<T>>(
    item: &mut Item,
    name: &str,
    model: &'static str,
    field: &'static str,
    key: Option<&str>,
    template: &[TemplatePart],
    index: usize,
) -> Result<T> {
    if item.contains_key(name) {
        return take_field::<T, C>(item, name, model, field);
    }
    let text = key
        .and_then(|k| template_value(template, k, index))
        .ok_or(Error::conversion(model, field, ValueError::Missing))?;
    text.parse().map_err(|_| {
        Error::conversion(
            model,
            field,
            ValueError::Invalid(format!("`{text}` from the key does not parse")),
        )
    })
}

/// Writes the discriminator of a model that shares its table.
pub fn put_entity(item: &mut Item, attribute: &'static str, entity: &'static str) {
    item.insert(attribute.to_owned(), AttributeValue::S(entity.to_owned()));
}

/// Reads and checks the discriminator: an item of another model is an error, not a silent
/// mis-decoding.
pub fn take_entity(
    item: &mut Item,
    attribute: &'static str,
    entity: &'static str,
    model: &'static str,
) -> Result<()> {
    match item.remove(attribute) {
        Some(AttributeValue::S(s)) if s == entity => Ok(()),
        Some(AttributeValue::S(s)) => Err(Error::conversion(
            model,
            attribute,
            ValueError::Invalid(format!("this item is a `{s}`, not a `{entity}`")),
        )),
        Some(other) => Err(Error::conversion(
            model,
            attribute,
            ValueError::WrongType {
                expected: "S",
                found: crate::attr::type_name(&other),
            },
        )),
        None => Err(Error::conversion(model, attribute, ValueError::Missing)),
    }
}

/// Whether `item` is an `M` by its discriminator.
pub fn is_entity<M: Model>(item: &Item) -> bool {
    match (M::ENTITY, item.get(M::DISCRIMINATOR)) {
        (Some(e), Some(AttributeValue::S(s))) => s == e,
        _ => false,
    }
}

/// The error for an item of a collection that is none of its models.
pub fn unknown_entity(item: &Item, collection: &'static str, entities: &[&str]) -> Error {
    let found = ["_type"]
        .iter()
        .find_map(|d| item.get(*d))
        .map_or_else(|| "no discriminator".to_owned(), |v| format!("{v:?}"));
    Error::conversion(
        collection,
        "(entity)",
        ValueError::Invalid(format!(
            "the item is none of {} ({found})",
            entities.join(", ")
        )),
    )
}

/// Refuses attributes no field names (`#[dynox(unknown = "error")]`).
pub fn refuse_unknown(item: &Item, model: &'static str) -> Result<()> {
    if item.is_empty() {
        return Ok(());
    }
    let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
    names.sort();
    Err(Error::conversion(
        model,
        "(unknown)",
        ValueError::Invalid(format!("unknown attributes: {}", names.join(", "))),
    ))
}

/// Writes back the attributes kept from a read (`#[dynox(extra)]`), never over a field's.
pub fn put_extra(item: &mut Item, extra: &Item) {
    for (k, v) in extra {
        item.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

/// Encodes one key value (for key conditions and index keys), which must be present.
pub fn key_value<T, C: Codec<T>>(
    value: &T,
    model: &'static str,
    field: &'static str,
) -> Result<AttributeValue> {
    let mut item = Item::with_capacity(1);
    put_key::<T, C>(&mut item, "k", value, model, field)?;
    Ok(item.remove("k").expect("put_key inserts"))
}

/// Encodes a key attribute, which must be present: keys cannot be omitted.
#[inline]
pub fn put_key<T, C: Codec<T>>(
    item: &mut Item,
    name: &'static str,
    value: &T,
    model: &'static str,
    field: &'static str,
) -> Result<()> {
    match C::encode(value).map_err(|e| Error::conversion(model, field, e))? {
        Some(v) => {
            if !matches!(
                &v,
                AttributeValue::S(_) | AttributeValue::N(_) | AttributeValue::B(_)
            ) {
                return Err(Error::conversion(
                    model,
                    field,
                    ValueError::Invalid(format!(
                        "a key attribute is a string, number or binary, not {} (write binary \
                         keys as `Vec<u8>` or `dynox::attr::Binary`)",
                        crate::attr::type_name(&v)
                    )),
                ));
            }
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
