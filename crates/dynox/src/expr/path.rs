//! Attribute paths, typed by the value they lead to.

use crate::AttributeValue;
use crate::attr::{Attribute, Binary, SetElement, SetType, ValueError};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;

/// One step of a path: an attribute or map key name, or a list index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A top-level attribute or a map key.
    Name(Cow<'static, str>),
    /// A list element.
    Index(usize),
}

/// A path to an attribute holding a `T`, e.g. `address.city` or `tags[2]`.
///
/// Models get one per field from `Model::fields()`; `Path::<AttributeValue>::new` builds an
/// untyped one by hand.
pub struct Path<T> {
    segments: Vec<Segment>,
    _value: PhantomData<fn() -> T>,
}

impl<T> Clone for Path<T> {
    fn clone(&self) -> Self {
        Path {
            segments: self.segments.clone(),
            _value: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Path<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({})", AnyPath::from(self))
    }
}

impl<T> PartialEq for Path<T> {
    fn eq(&self, other: &Self) -> bool {
        self.segments == other.segments
    }
}

impl<T> Path<T> {
    /// A path to the top-level attribute `name` (its stored name).
    pub fn new(name: impl Into<Cow<'static, str>>) -> Path<T> {
        Path {
            segments: vec![Segment::Name(name.into())],
            _value: PhantomData,
        }
    }

    fn child<U>(&self, seg: Segment) -> Path<U> {
        let mut segments = self.segments.clone();
        segments.push(seg);
        Path {
            segments,
            _value: PhantomData,
        }
    }

    /// The steps of this path.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// A typed path to the map entry `name` below this one: what derived nested types use for
    /// their field paths.
    pub fn field<U>(&self, name: &'static str) -> Path<U> {
        self.child(Segment::Name(Cow::Borrowed(name)))
    }

    /// The stored name of the top-level attribute.
    pub fn root(&self) -> &str {
        match &self.segments[0] {
            Segment::Name(n) => n,
            Segment::Index(_) => unreachable!("a path always starts with a name"),
        }
    }

    /// The same path, without its value type.
    pub fn any(&self) -> AnyPath {
        AnyPath(self.segments.clone())
    }

    /// The same path, untyped, for values of any type.
    pub fn untyped(&self) -> Path<AttributeValue> {
        Path {
            segments: self.segments.clone(),
            _value: PhantomData,
        }
    }
}

impl Path<AttributeValue> {
    /// The map entry `key` below an untyped path.
    pub fn key(&self, key: impl Into<Cow<'static, str>>) -> Path<AttributeValue> {
        self.child(Segment::Name(key.into()))
    }
    /// The list element `index` below an untyped path.
    pub fn index(&self, index: usize) -> Path<AttributeValue> {
        self.child(Segment::Index(index))
    }
}

impl<V, S> Path<HashMap<String, V, S>> {
    /// The map entry `key`.
    pub fn key(&self, key: impl Into<Cow<'static, str>>) -> Path<V> {
        self.child(Segment::Name(key.into()))
    }
}

impl<V> Path<BTreeMap<String, V>> {
    /// The map entry `key`.
    pub fn key(&self, key: impl Into<Cow<'static, str>>) -> Path<V> {
        self.child(Segment::Name(key.into()))
    }
}

impl<V> Path<Vec<V>> {
    /// The list element `index`.
    pub fn index(&self, index: usize) -> Path<V> {
        self.child(Segment::Index(index))
    }
}

/// A path of any value type, for projections.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnyPath(pub(crate) Vec<Segment>);

impl AnyPath {
    /// The steps of this path.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl<T> From<Path<T>> for AnyPath {
    fn from(p: Path<T>) -> Self {
        AnyPath(p.segments)
    }
}

impl<T> From<&Path<T>> for AnyPath {
    fn from(p: &Path<T>) -> Self {
        AnyPath(p.segments.clone())
    }
}

impl fmt::Display for AnyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Segment::Name(n) if i == 0 => write!(f, "{n}")?,
                Segment::Name(n) => write!(f, ".{n}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Values whose attribute can be searched with `contains`: strings (substring), sets and lists
/// (element).
pub trait Contains {
    /// What `contains` looks for.
    type Needle;
    /// The needle as an attribute value of the type DynamoDB compares with.
    fn needle(needle: Self::Needle) -> Result<AttributeValue, ValueError>;
}

fn present<T: Attribute>(v: T) -> Result<AttributeValue, ValueError> {
    v.into_attribute().and_then(|o| o.ok_or(ValueError::Absent))
}

/// A set element as the scalar a set holds (`S`, `N` or `B`), not as its own attribute type
/// (`Vec<u8>` is binary in a set, a list elsewhere).
fn set_scalar<E: SetElement>(e: E) -> Result<AttributeValue, ValueError> {
    Ok(match E::SET_TYPE {
        SetType::String => AttributeValue::S(e.to_set_string()?),
        SetType::Number => AttributeValue::N(e.to_set_string()?),
        SetType::Binary => {
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(e.to_set_bytes()?))
        }
    })
}

impl Contains for String {
    type Needle = String;
    fn needle(n: String) -> Result<AttributeValue, ValueError> {
        present(n)
    }
}
impl Contains for Binary {
    type Needle = Binary;
    fn needle(n: Binary) -> Result<AttributeValue, ValueError> {
        present(n)
    }
}
impl<V: Attribute> Contains for Vec<V> {
    type Needle = V;
    fn needle(n: V) -> Result<AttributeValue, ValueError> {
        present(n)
    }
}
impl<E: SetElement, S> Contains for HashSet<E, S> {
    type Needle = E;
    fn needle(n: E) -> Result<AttributeValue, ValueError> {
        set_scalar(n)
    }
}
impl<E: SetElement> Contains for BTreeSet<E> {
    type Needle = E;
    fn needle(n: E) -> Result<AttributeValue, ValueError> {
        set_scalar(n)
    }
}
impl Contains for AttributeValue {
    type Needle = AttributeValue;
    fn needle(n: AttributeValue) -> Result<AttributeValue, ValueError> {
        Ok(n)
    }
}

/// A value usable where a `T` is expected in an expression: `T` itself, and the obvious borrowed
/// forms (`&str` for `String`, byte slices for [`Binary`]).
///
/// Deliberately narrower than `Into`, so that integer literals take the path's type:
/// `age.between(18, 65)` on a `Path<u32>` needs no suffixes.
pub trait IntoValue<T> {
    /// Converts into the path's value type.
    fn into_value(self) -> T;
}

impl<T> IntoValue<T> for T {
    fn into_value(self) -> T {
        self
    }
}

impl IntoValue<String> for &str {
    fn into_value(self) -> String {
        self.to_owned()
    }
}

impl IntoValue<String> for &String {
    fn into_value(self) -> String {
        self.clone()
    }
}

impl IntoValue<Binary> for Vec<u8> {
    fn into_value(self) -> Binary {
        Binary(self)
    }
}

impl IntoValue<Binary> for &[u8] {
    fn into_value(self) -> Binary {
        Binary(self.to_vec())
    }
}

impl<const N: usize> IntoValue<Binary> for &[u8; N] {
    fn into_value(self) -> Binary {
        Binary(self.to_vec())
    }
}

/// A nested type (`#[derive(dynox::Attribute)]` on a struct) with typed paths to its fields.
pub trait HasFields: Sized {
    /// The typed paths, below some base path.
    type Fields;
    /// The field paths below `base`.
    fn fields_under(base: &Path<Self>) -> Self::Fields;
}

impl<T: HasFields> Path<T> {
    /// Typed paths to the fields of the nested value here, e.g. `f.address.fields().city`.
    pub fn fields(&self) -> T::Fields {
        T::fields_under(self)
    }
}
