//! Conversion between Rust values and DynamoDB [`AttributeValue`]s, with no JSON in between.
//!
//! [`Attribute`] is implemented for the field types a model can hold. Integers are stored as
//! exact decimal strings (so `u64::MAX` and `i64::MIN` round-trip); floats must be finite and
//! inside DynamoDB's number range; `Option::None` and empty sets are omitted from items, as
//! DynamoDB requires for sets. `Vec<u8>` is a list of numbers by this trait: a model field of type
//! `Vec<u8>` is stored as binary by the derive (the [`Bytes`] codec), and [`Binary`] is the binary
//! type for nested positions.

mod compressed;
mod decimal;
mod json;
mod s3;
mod secret;
mod time;
mod ttl;
mod vector;

pub use compressed::Compressed;
pub use decimal::Decimal;
pub use json::{Json, SerdeValue};
pub(crate) use s3::unstage_file;
pub use s3::{S3File, S3Object, S3Ref, S3Stored};
pub use secret::{Encrypted, Secret, SecretValue, staged, unstage};
pub use time::{EpochMillis, EpochNumber, EpochSeconds};
pub use ttl::Ttl;
pub use vector::Vector;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// Why a value did not convert.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ValueError {
    /// The attribute has another DynamoDB type than the field expects.
    WrongType {
        /// The expected DynamoDB type (`S`, `N`, `M`, ...).
        expected: &'static str,
        /// The stored DynamoDB type.
        found: &'static str,
    },
    /// A stored number does not fit the Rust number type.
    Number {
        /// The stored text.
        value: String,
        /// The Rust type.
        target: &'static str,
    },
    /// A float that DynamoDB cannot store: NaN, infinite, or outside DynamoDB's number range.
    UnrepresentableFloat(f64),
    /// A required attribute is missing from the item.
    Missing,
    /// An absent value (`None`, an empty set) where a value is needed, e.g. in a comparison.
    Absent,
    /// A value nested in a list or map did not convert.
    Nested {
        /// Where, as `[3]` or `.name`.
        at: String,
        /// What went wrong there.
        source: Box<ValueError>,
    },
    /// Anything else a codec refuses.
    Invalid(String),
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::WrongType { expected, found } => {
                write!(f, "expected a DynamoDB {expected} attribute, found {found}")
            }
            ValueError::Number { value, target } => {
                write!(f, "the number {value} does not fit in {target}")
            }
            ValueError::UnrepresentableFloat(v) => write!(
                f,
                "{v} cannot be stored: DynamoDB numbers are finite, between 1E-130 and 9.99E+125 in magnitude"
            ),
            ValueError::Missing => f.write_str("the required attribute is missing"),
            ValueError::Absent => {
                f.write_str("an absent value (None or an empty set) cannot be used here")
            }
            ValueError::Nested { at, source } => write!(f, "at {at}: {source}"),
            ValueError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ValueError {}

/// The DynamoDB type letter of a value, for error messages.
pub fn type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        AttributeValue::B(_) => "B",
        AttributeValue::Bool(_) => "BOOL",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::L(_) => "L",
        AttributeValue::M(_) => "M",
        AttributeValue::Ss(_) => "SS",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Bs(_) => "BS",
        _ => "an unknown type",
    }
}

fn wrong(expected: &'static str, found: &AttributeValue) -> ValueError {
    ValueError::WrongType {
        expected,
        found: type_name(found),
    }
}

/// A Rust type that can be stored as one DynamoDB attribute.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored as a DynamoDB attribute",
    label = "unsupported field type",
    note = "supported: String, integers, f32/f64, bool, Vec<u8> (binary), Option<T>, Vec<T>, \
            HashMap/BTreeMap<String, T>, HashSet/BTreeSet of strings, numbers or binaries"
)]
pub trait Attribute: Sized {
    /// The value as an attribute; `None` means "omit it" (`Option::None`, an empty set).
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError>;

    /// Like [`to_attribute`](Attribute::to_attribute), consuming the value to avoid copies.
    fn into_attribute(self) -> Result<Option<AttributeValue>, ValueError> {
        self.to_attribute()
    }

    /// Reads the value back.
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError>;

    /// The value an absent attribute stands for, if any (`None` for options, empty sets).
    fn when_absent() -> Option<Self> {
        None
    }
}

/// A value that becomes one attribute value: any [`Attribute`], and `&str`.
pub trait IntoAttributeValue {
    /// Converts; an absent value (`None`, an empty set) is an error here.
    fn into_attribute_value(self) -> Result<AttributeValue, ValueError>;
}

impl<T: Attribute> IntoAttributeValue for T {
    fn into_attribute_value(self) -> Result<AttributeValue, ValueError> {
        self.into_attribute()
            .and_then(|o| o.ok_or(ValueError::Absent))
    }
}

impl IntoAttributeValue for &str {
    fn into_attribute_value(self) -> Result<AttributeValue, ValueError> {
        Ok(AttributeValue::S(self.to_owned()))
    }
}

/// Encodes a field of a nested type (`#[derive(dynox::Attribute)]`) into its map.
pub fn put_nested<T, C: Codec<T>>(
    map: &mut crate::Item,
    name: &'static str,
    value: &T,
) -> Result<(), ValueError> {
    if let Some(v) = C::encode(value).map_err(|e| nested_key(name, e))? {
        map.insert(name.to_owned(), v);
    }
    Ok(())
}

/// Decodes a field of a nested type from its map.
pub fn take_nested<T, C: Codec<T>>(map: &mut crate::Item, name: &str) -> Result<T, ValueError> {
    match map.remove(name) {
        Some(v) => C::decode(v).map_err(|e| nested_key(name, e)),
        None => C::absent().ok_or_else(|| nested_key(name, ValueError::Missing)),
    }
}

/// Like [`take_nested`], with `T::default()` when absent.
pub fn take_nested_or_default<T: Default, C: Codec<T>>(
    map: &mut crate::Item,
    name: &str,
) -> Result<T, ValueError> {
    match map.remove(name) {
        Some(v) => C::decode(v).map_err(|e| nested_key(name, e)),
        None => Ok(C::absent().unwrap_or_default()),
    }
}

/// The map inside a nested value, or a type error.
pub fn expect_map(value: AttributeValue) -> Result<crate::Item, ValueError> {
    match value {
        AttributeValue::M(m) => Ok(m),
        other => Err(wrong("M", &other)),
    }
}

/// The string of a unit-variant enum, or a type error.
pub fn expect_string(value: AttributeValue) -> Result<String, ValueError> {
    match value {
        AttributeValue::S(s) => Ok(s),
        other => Err(wrong("S", &other)),
    }
}

/// Fails to compile unless `T` is an [`Attribute`]: the derive calls it at each field's type, so
/// an unsupported type is reported there.
pub const fn assert_attribute<T: Attribute>() {}

/// Converts a value that must be present (list and map elements store `None` as `NULL`).
fn element<T: Attribute>(value: T) -> Result<AttributeValue, ValueError> {
    Ok(value
        .into_attribute()?
        .unwrap_or(AttributeValue::Null(true)))
}

fn element_ref<T: Attribute>(value: &T) -> Result<AttributeValue, ValueError> {
    Ok(value.to_attribute()?.unwrap_or(AttributeValue::Null(true)))
}

fn element_back<T: Attribute>(value: AttributeValue) -> Result<T, ValueError> {
    if let AttributeValue::Null(_) = value
        && let Some(v) = T::when_absent()
    {
        return Ok(v);
    }
    T::from_attribute(value)
}

impl Attribute for String {
    #[inline]
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::S(self.clone())))
    }
    fn into_attribute(self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::S(self)))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::S(s) => Ok(s),
            other => Err(wrong("S", &other)),
        }
    }
}

impl Attribute for bool {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::Bool(*self)))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::Bool(b) => Ok(b),
            other => Err(wrong("BOOL", &other)),
        }
    }
}

/// A number type: usable with `increment`, `add` and in number sets.
pub trait Number: Attribute + SetElement {}

/// Parses a stored number into an integer type, exactly.
fn parse_int<T: std::str::FromStr>(text: &str, target: &'static str) -> Result<T, ValueError> {
    text.parse().map_err(|_| ValueError::Number {
        value: text.to_owned(),
        target,
    })
}

/// DynamoDB keeps at most 38 significant digits; only 128-bit integers can exceed that.
fn int_text(text: String) -> Result<String, ValueError> {
    let digits = text.trim_start_matches('-').trim_end_matches('0');
    if digits.len() > 38 {
        return Err(ValueError::Number {
            value: text,
            target: "a DynamoDB number (at most 38 significant digits)",
        });
    }
    Ok(text)
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl Attribute for $t {
            #[inline]
            fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
                let text = self.to_string();
                // Only 128-bit integers can have more digits than DynamoDB keeps.
                if size_of::<$t>() <= 8 {
                    return Ok(Some(AttributeValue::N(text)));
                }
                Ok(Some(AttributeValue::N(int_text(text)?)))
            }
            fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
                match value {
                    AttributeValue::N(n) => parse_int(&n, stringify!($t)),
                    other => Err(wrong("N", &other)),
                }
            }
        }
        impl SetElement for $t {
            const SET_TYPE: SetType = SetType::Number;
            fn to_set_string(&self) -> Result<String, ValueError> {
                int_text(self.to_string())
            }
            fn from_set_string(text: String) -> Result<Self, ValueError> {
                parse_int(&text, stringify!($t))
            }
        }
        impl Number for $t {}
        impl KeyValue for $t {
            const SCALAR: Scalar = Scalar::N;
        }
    )*};
}
integers!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

/// DynamoDB's number range: magnitudes from 1E-130 to 9.9999999999999999999999999999999999999E+125.
fn float_text(v: f64, shortest: impl FnOnce() -> String) -> Result<String, ValueError> {
    let a = v.abs();
    if !v.is_finite() || a >= 1e126 || (a != 0.0 && a < 1e-130) {
        return Err(ValueError::UnrepresentableFloat(v));
    }
    Ok(shortest())
}

/// Reads a stored number as a float, refusing what it could not write back: text that parses
/// to NaN or infinity (`NaN`, `1e400`), or that rounds outside DynamoDB's range.
fn parse_float<T>(text: &str, target: &'static str) -> Result<T, ValueError>
where
    T: std::str::FromStr + Copy + Into<f64>,
{
    let bad = || ValueError::Number {
        value: text.to_owned(),
        target,
    };
    let v: T = text.parse().map_err(|_| bad())?;
    let f: f64 = v.into();
    let a = f.abs();
    if !f.is_finite() || a >= 1e126 || (a != 0.0 && a < 1e-130) {
        return Err(bad());
    }
    Ok(v)
}

macro_rules! floats {
    ($($t:ty),*) => {$(
        impl Attribute for $t {
            fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
                Ok(Some(AttributeValue::N(self.to_set_string()?)))
            }
            fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
                match value {
                    AttributeValue::N(n) => parse_float(&n, stringify!($t)),
                    other => Err(wrong("N", &other)),
                }
            }
        }
        impl SetElement for $t {
            const SET_TYPE: SetType = SetType::Number;
            fn to_set_string(&self) -> Result<String, ValueError> {
                // `{:e}` is the shortest text that reads back to the same value, and keeps huge
                // and tiny magnitudes short (DynamoDB accepts exponent notation).
                let v = *self;
                float_text(f64::from(v), || {
                    let a = v.abs();
                    if a == 0.0 || (1e-6..1e15).contains(&f64::from(a)) {
                        format!("{v}")
                    } else {
                        format!("{v:e}")
                    }
                })
            }
            fn from_set_string(text: String) -> Result<Self, ValueError> {
                parse_float(&text, stringify!($t))
            }
        }
        impl Number for $t {}
    )*};
}
floats!(f32, f64);

impl<T: Attribute> Attribute for Option<T> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        match self {
            Some(v) => v.to_attribute(),
            None => Ok(None),
        }
    }
    fn into_attribute(self) -> Result<Option<AttributeValue>, ValueError> {
        match self {
            Some(v) => v.into_attribute(),
            None => Ok(None),
        }
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::Null(_) => Ok(None),
            other => T::from_attribute(other).map(Some),
        }
    }
    fn when_absent() -> Option<Self> {
        Some(None)
    }
}

fn nested_index(i: usize, e: ValueError) -> ValueError {
    ValueError::Nested {
        at: format!("[{i}]"),
        source: Box::new(e),
    }
}

fn nested_key(k: &str, e: ValueError) -> ValueError {
    ValueError::Nested {
        at: format!(".{k}"),
        source: Box::new(e),
    }
}

impl<T: Attribute> Attribute for Box<T> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        (**self).to_attribute()
    }
    fn into_attribute(self) -> Result<Option<AttributeValue>, ValueError> {
        (*self).into_attribute()
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        T::from_attribute(value).map(Box::new)
    }
    fn when_absent() -> Option<Self> {
        T::when_absent().map(Box::new)
    }
}

/// Collects fallible elements into a vector of the exact length (collecting through `Result`
/// loses the length, and the vector would grow by doubling).
fn sized_vec<T, E>(len: usize, items: impl Iterator<Item = Result<T, E>>) -> Result<Vec<T>, E> {
    let mut out = Vec::with_capacity(len);
    for item in items {
        out.push(item?);
    }
    Ok(out)
}

/// Collects fallible entries into a map made with room for `len` of them.
fn sized_map<K: Eq + Hash, V, S: BuildHasher, E>(
    mut out: HashMap<K, V, S>,
    items: impl Iterator<Item = Result<(K, V), E>>,
) -> Result<HashMap<K, V, S>, E> {
    for item in items {
        let (k, v) = item?;
        out.insert(k, v);
    }
    Ok(out)
}

impl<T: Attribute> Attribute for Vec<T> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        let items = self.iter().enumerate();
        let list = sized_vec(
            self.len(),
            items.map(|(i, v)| element_ref(v).map_err(|e| nested_index(i, e))),
        )?;
        Ok(Some(AttributeValue::L(list)))
    }
    fn into_attribute(self) -> Result<Option<AttributeValue>, ValueError> {
        let len = self.len();
        let items = self.into_iter().enumerate();
        let list = sized_vec(
            len,
            items.map(|(i, v)| element(v).map_err(|e| nested_index(i, e))),
        )?;
        Ok(Some(AttributeValue::L(list)))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::L(list) => sized_vec(
                list.len(),
                list.into_iter()
                    .enumerate()
                    .map(|(i, v)| element_back(v).map_err(|e| nested_index(i, e))),
            ),
            other => Err(wrong("L", &other)),
        }
    }
}

/// Encodes a map's entries into a DynamoDB map of the exact size.
fn map_attribute<'a, T: Attribute + 'a>(
    len: usize,
    entries: impl Iterator<Item = (&'a String, &'a T)>,
) -> Result<Option<AttributeValue>, ValueError> {
    let entries =
        entries.map(|(k, v)| Ok((k.clone(), element_ref(v).map_err(|e| nested_key(k, e))?)));
    Ok(Some(AttributeValue::M(sized_map(
        HashMap::with_capacity(len),
        entries,
    )?)))
}

/// Like [`map_attribute`], for owned entries.
fn map_attribute_owned<T: Attribute>(
    len: usize,
    entries: impl Iterator<Item = (String, T)>,
) -> Result<Option<AttributeValue>, ValueError> {
    let entries = entries.map(|(k, v)| {
        let v = element(v).map_err(|e| nested_key(&k, e))?;
        Ok((k, v))
    });
    Ok(Some(AttributeValue::M(sized_map(
        HashMap::with_capacity(len),
        entries,
    )?)))
}

/// The entries of a stored map, decoded.
fn map_entries<T: Attribute>(
    value: AttributeValue,
) -> Result<impl Iterator<Item = Result<(String, T), ValueError>>, ValueError> {
    match value {
        AttributeValue::M(map) => Ok(map.into_iter().map(|(k, v)| {
            let v = element_back(v).map_err(|e| nested_key(&k, e))?;
            Ok((k, v))
        })),
        other => Err(wrong("M", &other)),
    }
}

impl<T: Attribute, S: BuildHasher + Default> Attribute for HashMap<String, T, S> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        map_attribute(self.len(), self.iter())
    }
    fn into_attribute(self) -> Result<Option<AttributeValue>, ValueError> {
        map_attribute_owned(self.len(), self.into_iter())
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        let entries = map_entries(value)?;
        let out = HashMap::with_capacity_and_hasher(entries.size_hint().0, S::default());
        sized_map(out, entries)
    }
}

impl<T: Attribute> Attribute for BTreeMap<String, T> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        map_attribute(self.len(), self.iter())
    }
    fn into_attribute(self) -> Result<Option<AttributeValue>, ValueError> {
        map_attribute_owned(self.len(), self.into_iter())
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        map_entries(value)?.collect()
    }
}

/// The three kinds of DynamoDB set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetType {
    /// `SS`
    String,
    /// `NS`
    Number,
    /// `BS`
    Binary,
}

/// A type that can be an element of a DynamoDB set: strings, numbers, binaries.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an element of a DynamoDB set",
    note = "DynamoDB sets hold strings, numbers or binaries only"
)]
pub trait SetElement: Sized {
    /// Which kind of set holds it.
    const SET_TYPE: SetType;
    /// The element as set text (strings and numbers).
    fn to_set_string(&self) -> Result<String, ValueError> {
        Err(ValueError::Invalid(
            "not a string or number set element".into(),
        ))
    }
    /// Reads an element of a string or number set.
    fn from_set_string(_text: String) -> Result<Self, ValueError> {
        Err(ValueError::Invalid(
            "not a string or number set element".into(),
        ))
    }
    /// The element as set bytes (binaries).
    fn to_set_bytes(&self) -> Result<Vec<u8>, ValueError> {
        Err(ValueError::Invalid("not a binary set element".into()))
    }
    /// Reads an element of a binary set.
    fn from_set_bytes(_bytes: Vec<u8>) -> Result<Self, ValueError> {
        Err(ValueError::Invalid("not a binary set element".into()))
    }
}

impl SetElement for String {
    const SET_TYPE: SetType = SetType::String;
    fn to_set_string(&self) -> Result<String, ValueError> {
        Ok(self.clone())
    }
    fn from_set_string(text: String) -> Result<Self, ValueError> {
        Ok(text)
    }
}

impl SetElement for Vec<u8> {
    const SET_TYPE: SetType = SetType::Binary;
    fn to_set_bytes(&self) -> Result<Vec<u8>, ValueError> {
        Ok(self.clone())
    }
    fn from_set_bytes(bytes: Vec<u8>) -> Result<Self, ValueError> {
        Ok(bytes)
    }
}

impl SetElement for Binary {
    const SET_TYPE: SetType = SetType::Binary;
    fn to_set_bytes(&self) -> Result<Vec<u8>, ValueError> {
        Ok(self.0.clone())
    }
    fn from_set_bytes(bytes: Vec<u8>) -> Result<Self, ValueError> {
        Ok(Binary(bytes))
    }
}

/// Builds the set attribute for `items`; `None` when empty (DynamoDB has no empty sets).
pub fn set_attribute<'a, E: SetElement + 'a>(
    items: impl IntoIterator<Item = &'a E>,
) -> Result<Option<AttributeValue>, ValueError> {
    let value = match E::SET_TYPE {
        SetType::String | SetType::Number => {
            let items = items.into_iter();
            let v: Vec<String> = sized_vec(items.size_hint().0, items.map(E::to_set_string))?;
            if v.is_empty() {
                return Ok(None);
            }
            if E::SET_TYPE == SetType::String {
                AttributeValue::Ss(v)
            } else {
                AttributeValue::Ns(v)
            }
        }
        SetType::Binary => {
            let items = items.into_iter();
            let v: Vec<Blob> = sized_vec(
                items.size_hint().0,
                items.map(|e| e.to_set_bytes().map(Blob::new)),
            )?;
            if v.is_empty() {
                return Ok(None);
            }
            AttributeValue::Bs(v)
        }
    };
    Ok(Some(value))
}

fn set_elements<E: SetElement>(value: AttributeValue) -> Result<Vec<E>, ValueError> {
    match (E::SET_TYPE, value) {
        (_, AttributeValue::Null(_)) => Ok(Vec::new()),
        (SetType::String, AttributeValue::Ss(v)) | (SetType::Number, AttributeValue::Ns(v)) => {
            sized_vec(v.len(), v.into_iter().map(E::from_set_string))
        }
        (SetType::Binary, AttributeValue::Bs(v)) => sized_vec(
            v.len(),
            v.into_iter().map(|b| E::from_set_bytes(b.into_inner())),
        ),
        (t, other) => Err(wrong(
            match t {
                SetType::String => "SS",
                SetType::Number => "NS",
                SetType::Binary => "BS",
            },
            &other,
        )),
    }
}

impl<E: SetElement + Eq + Hash, S: BuildHasher + Default> Attribute for HashSet<E, S> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        set_attribute(self.iter())
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        Ok(set_elements(value)?.into_iter().collect())
    }
    fn when_absent() -> Option<Self> {
        Some(HashSet::default())
    }
}

impl<E: SetElement + Ord> Attribute for BTreeSet<E> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        set_attribute(self.iter())
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        Ok(set_elements(value)?.into_iter().collect())
    }
    fn when_absent() -> Option<Self> {
        Some(BTreeSet::new())
    }
}

/// Binary data (`B`) in any position, where `Vec<u8>` would be a list of numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Binary(pub Vec<u8>);

impl From<Vec<u8>> for Binary {
    fn from(v: Vec<u8>) -> Self {
        Binary(v)
    }
}

impl From<&[u8]> for Binary {
    fn from(v: &[u8]) -> Self {
        Binary(v.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Binary {
    fn from(v: &[u8; N]) -> Self {
        Binary(v.to_vec())
    }
}

impl Attribute for Binary {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::B(Blob::new(self.0.clone()))))
    }
    fn into_attribute(self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::B(Blob::new(self.0))))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::B(b) => Ok(Binary(b.into_inner())),
            other => Err(wrong("B", &other)),
        }
    }
}

impl Attribute for AttributeValue {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(self.clone()))
    }
    fn into_attribute(self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(self))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        Ok(value)
    }
}

/// The DynamoDB scalar types a key attribute can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// String.
    S,
    /// Number.
    N,
    /// Binary.
    B,
}

impl Scalar {
    /// The type letter used in attribute definitions.
    pub fn as_str(self) -> &'static str {
        match self {
            Scalar::S => "S",
            Scalar::N => "N",
            Scalar::B => "B",
        }
    }
}

/// A type that can be a key attribute: strings, numbers and binaries.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a key attribute",
    label = "not a string, number or binary",
    note = "DynamoDB key attributes are strings, numbers or binaries: use String, an integer type, or Vec<u8>"
)]
pub trait KeyValue {
    /// The attribute type in the table's key schema.
    const SCALAR: Scalar;
}

impl KeyValue for String {
    const SCALAR: Scalar = Scalar::S;
}
impl KeyValue for Vec<u8> {
    const SCALAR: Scalar = Scalar::B;
}
impl KeyValue for Binary {
    const SCALAR: Scalar = Scalar::B;
}

/// How a model field is stored: the derive picks one per field and calls only this trait.
pub trait Codec<T> {
    /// Encodes a borrowed field; `None` omits the attribute.
    fn encode(value: &T) -> Result<Option<AttributeValue>, ValueError>;
    /// Encodes an owned field.
    fn encode_owned(value: T) -> Result<Option<AttributeValue>, ValueError> {
        Self::encode(&value)
    }
    /// Decodes a stored attribute.
    fn decode(value: AttributeValue) -> Result<T, ValueError>;
    /// What an absent attribute decodes to, if anything.
    fn absent() -> Option<T>;
}

/// The codec of ordinary fields: the type's own [`Attribute`] implementation.
#[derive(Debug)]
pub struct Native;

impl<T: Attribute> Codec<T> for Native {
    fn encode(value: &T) -> Result<Option<AttributeValue>, ValueError> {
        value.to_attribute()
    }
    fn encode_owned(value: T) -> Result<Option<AttributeValue>, ValueError> {
        value.into_attribute()
    }
    fn decode(value: AttributeValue) -> Result<T, ValueError> {
        T::from_attribute(value)
    }
    fn absent() -> Option<T> {
        T::when_absent()
    }
}

/// The codec that stores `Vec<u8>` (and `Option<Vec<u8>>`) as binary `B`.
#[derive(Debug)]
pub struct Bytes;

impl Codec<Vec<u8>> for Bytes {
    fn encode(value: &Vec<u8>) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::B(Blob::new(value.clone()))))
    }
    fn encode_owned(value: Vec<u8>) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::B(Blob::new(value))))
    }
    fn decode(value: AttributeValue) -> Result<Vec<u8>, ValueError> {
        Binary::from_attribute(value).map(|b| b.0)
    }
    fn absent() -> Option<Vec<u8>> {
        None
    }
}

impl Codec<Option<Vec<u8>>> for Bytes {
    fn encode(value: &Option<Vec<u8>>) -> Result<Option<AttributeValue>, ValueError> {
        value
            .as_ref()
            .map_or(Ok(None), <Bytes as Codec<Vec<u8>>>::encode)
    }
    fn encode_owned(value: Option<Vec<u8>>) -> Result<Option<AttributeValue>, ValueError> {
        value.map_or(Ok(None), <Bytes as Codec<Vec<u8>>>::encode_owned)
    }
    fn decode(value: AttributeValue) -> Result<Option<Vec<u8>>, ValueError> {
        match value {
            AttributeValue::Null(_) => Ok(None),
            other => <Bytes as Codec<Vec<u8>>>::decode(other).map(Some),
        }
    }
    fn absent() -> Option<Option<Vec<u8>>> {
        Some(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round<T: Attribute + PartialEq + fmt::Debug + Clone>(v: T) {
        let a = v.to_attribute().unwrap().unwrap();
        assert_eq!(T::from_attribute(a.clone()).unwrap(), v);
        assert_eq!(v.clone().into_attribute().unwrap().unwrap(), a);
    }

    #[test]
    fn integers_are_exact() {
        round(u64::MAX);
        round(i64::MIN);
        round(i8::MIN);
        // 38 significant digits fit; 39 do not (u128::MAX has 39).
        round(10u128.pow(38) - 1);
        round(10u128.pow(38));
        assert!(matches!(
            u128::MAX.to_attribute(),
            Err(ValueError::Number { .. })
        ));
        assert!(matches!(
            i128::MIN.to_attribute(),
            Err(ValueError::Number { .. })
        ));
        assert_eq!(
            u64::MAX.to_attribute().unwrap(),
            Some(AttributeValue::N("18446744073709551615".into()))
        );
        assert!(matches!(
            u8::from_attribute(AttributeValue::N("256".into())),
            Err(ValueError::Number { .. })
        ));
    }

    #[test]
    fn floats_are_shortest_and_finite() {
        round(0.1f64);
        round(1e300f64 / 1e200);
        round(-2.5e-100f64);
        round(f32::MAX / 1e30);
        assert_eq!(
            0.1f64.to_attribute().unwrap(),
            Some(AttributeValue::N("0.1".into()))
        );
        for text in [
            "NaN",
            "nan",
            "inf",
            "-infinity",
            "1e400",
            "-1e400",
            "1e200",
            "1e-300",
        ] {
            assert!(
                f64::from_attribute(AttributeValue::N(text.into())).is_err(),
                "{text} read as f64"
            );
        }
        assert!(f32::from_attribute(AttributeValue::N("1e39".into())).is_err());
        assert_eq!(
            f64::from_attribute(AttributeValue::N("-2.5e-100".into())).unwrap(),
            -2.5e-100
        );
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e200, 1e-200] {
            assert!(matches!(
                bad.to_attribute(),
                Err(ValueError::UnrepresentableFloat(_))
            ));
        }
    }

    #[test]
    fn sets_omit_empty() {
        let empty: HashSet<String> = HashSet::new();
        assert_eq!(empty.to_attribute().unwrap(), None);
        assert_eq!(HashSet::<String>::when_absent(), Some(HashSet::new()));
        round(BTreeSet::from([1u32, 2, 3]));
        round(BTreeSet::from([vec![1u8], vec![2u8]]));
        assert!(matches!(
            BTreeSet::<String>::from_attribute(AttributeValue::Ns(vec!["1".into()])),
            Err(ValueError::WrongType {
                expected: "SS",
                found: "NS"
            })
        ));
    }

    #[test]
    fn nested_errors_name_the_place() {
        let v = AttributeValue::L(vec![
            AttributeValue::N("1".into()),
            AttributeValue::S("x".into()),
        ]);
        let e = Vec::<u8>::from_attribute(v).unwrap_err();
        assert_eq!(
            e.to_string(),
            "at [1]: expected a DynamoDB N attribute, found S"
        );
        round(vec![Some(1u8), None]);
        round(BTreeMap::from([(
            "a".to_string(),
            vec![Binary(vec![0, 1])],
        )]));
    }
}
