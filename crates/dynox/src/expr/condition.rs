//! Typed condition expressions (also used as filters).

use super::path::{Contains, IntoValue, Path, Segment};
use super::render::Placeholders;
use crate::attr::{Attribute, Binary, ValueError};
use crate::{AttributeValue, Error};

/// DynamoDB's limit on the operands of `IN`.
const MAX_IN_OPERANDS: usize = 100;

#[derive(Clone, Debug)]
enum Operand {
    Path(Vec<Segment>),
    Size(Vec<Segment>),
    Value(Result<AttributeValue, ValueError>),
}

fn value<T: Attribute>(v: T) -> Operand {
    Operand::Value(v.into_attribute().and_then(|o| o.ok_or(ValueError::Absent)))
}

#[derive(Clone, Debug)]
enum Node {
    Compare(Operand, &'static str, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    Exists(Vec<Segment>),
    NotExists(Vec<Segment>),
    Type(Vec<Segment>, AttributeType),
    BeginsWith(Vec<Segment>, Operand),
    Contains(Vec<Segment>, Operand),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
}

/// A condition on an item: build it from a model's typed paths, combine with `&`, `|`, `!`.
///
/// ```
/// # use dynox::expr::{Path, Condition};
/// let age: Path<u32> = Path::new("age");
/// let name: Path<String> = Path::new("name");
/// let c: Condition = age.between(18, 65) & (name.begins_with("A") | !name.exists());
/// ```
#[derive(Clone, Debug)]
pub struct Condition(Node);

/// The DynamoDB types `attribute_type` can test for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeType {
    /// String.
    S,
    /// String set.
    Ss,
    /// Number.
    N,
    /// Number set.
    Ns,
    /// Binary.
    B,
    /// Binary set.
    Bs,
    /// Boolean.
    Bool,
    /// Null.
    Null,
    /// List.
    L,
    /// Map.
    M,
}

impl AttributeType {
    fn as_str(self) -> &'static str {
        match self {
            AttributeType::S => "S",
            AttributeType::Ss => "SS",
            AttributeType::N => "N",
            AttributeType::Ns => "NS",
            AttributeType::B => "B",
            AttributeType::Bs => "BS",
            AttributeType::Bool => "BOOL",
            AttributeType::Null => "NULL",
            AttributeType::L => "L",
            AttributeType::M => "M",
        }
    }
}

macro_rules! comparisons {
    ($($name:ident => $op:literal, $doc:literal;)*) => {
        impl<T: Attribute> Path<T> {
            $(
                #[doc = concat!("`path ", $op, " value`: ", $doc)]
                pub fn $name(&self, v: impl IntoValue<T>) -> Condition {
                    Condition(Node::Compare(Operand::Path(self.segments().to_vec()), $op, value(v.into_value())))
                }
            )*
        }
        impl Size {
            $(
                #[doc = concat!("`size(path) ", $op, " n`: ", $doc)]
                pub fn $name(&self, n: usize) -> Condition {
                    Condition(Node::Compare(Operand::Size(self.0.clone()), $op, value(n)))
                }
            )*
        }
    };
}

comparisons! {
    eq => "=", "equal.";
    ne => "<>", "not equal.";
    lt => "<", "less than.";
    le => "<=", "less than or equal.";
    gt => ">", "greater than.";
    ge => ">=", "greater than or equal.";
}

impl<T: Attribute> Path<T> {
    /// `path BETWEEN low AND high` (inclusive).
    pub fn between(&self, low: impl IntoValue<T>, high: impl IntoValue<T>) -> Condition {
        Condition(Node::Between(
            Operand::Path(self.segments().to_vec()),
            value(low.into_value()),
            value(high.into_value()),
        ))
    }

    /// `path IN (v1, v2, ...)`: one to 100 values.
    pub fn is_in<V: IntoValue<T>>(&self, values: impl IntoIterator<Item = V>) -> Condition {
        Condition(Node::In(
            Operand::Path(self.segments().to_vec()),
            values.into_iter().map(|v| value(v.into_value())).collect(),
        ))
    }

    /// `path = other`: compares two attributes of the same item.
    pub fn eq_path(&self, other: &Path<T>) -> Condition {
        Condition(Node::Compare(
            Operand::Path(self.segments().to_vec()),
            "=",
            Operand::Path(other.segments().to_vec()),
        ))
    }

    /// `path < other`: compares two attributes of the same item.
    pub fn lt_path(&self, other: &Path<T>) -> Condition {
        Condition(Node::Compare(
            Operand::Path(self.segments().to_vec()),
            "<",
            Operand::Path(other.segments().to_vec()),
        ))
    }
}

impl<T> Path<T> {
    /// `attribute_exists(path)`.
    pub fn exists(&self) -> Condition {
        Condition(Node::Exists(self.segments().to_vec()))
    }

    /// `attribute_not_exists(path)`.
    pub fn not_exists(&self) -> Condition {
        Condition(Node::NotExists(self.segments().to_vec()))
    }

    /// `attribute_type(path, t)`.
    pub fn attribute_type(&self, t: AttributeType) -> Condition {
        Condition(Node::Type(self.segments().to_vec(), t))
    }

    /// `size(path)`, to compare with a number: string and binary length, set, list and map
    /// element counts.
    pub fn size(&self) -> Size {
        Size(self.segments().to_vec())
    }
}

impl Path<String> {
    /// `begins_with(path, prefix)`.
    pub fn begins_with(&self, prefix: impl IntoValue<String>) -> Condition {
        Condition(Node::BeginsWith(
            self.segments().to_vec(),
            value(prefix.into_value()),
        ))
    }
}

impl Path<Binary> {
    /// `begins_with(path, prefix)`.
    pub fn begins_with(&self, prefix: impl IntoValue<Binary>) -> Condition {
        Condition(Node::BeginsWith(
            self.segments().to_vec(),
            value(prefix.into_value()),
        ))
    }
}

impl<T: Contains> Path<T>
where
    T::Needle: Attribute,
{
    /// `contains(path, v)`: a substring of a string, an element of a set or list.
    pub fn contains(&self, v: impl IntoValue<T::Needle>) -> Condition {
        Condition(Node::Contains(
            self.segments().to_vec(),
            value(v.into_value()),
        ))
    }
}

/// `size(path)` of an attribute, to compare with numbers.
#[derive(Clone, Debug)]
pub struct Size(Vec<Segment>);

impl Size {
    /// `size(path) BETWEEN low AND high`.
    pub fn between(&self, low: usize, high: usize) -> Condition {
        Condition(Node::Between(
            Operand::Size(self.0.clone()),
            value(low),
            value(high),
        ))
    }
}

impl Condition {
    /// Both conditions.
    pub fn and(self, other: Condition) -> Condition {
        Condition(Node::And(Box::new(self.0), Box::new(other.0)))
    }

    /// Either condition.
    pub fn or(self, other: Condition) -> Condition {
        Condition(Node::Or(Box::new(self.0), Box::new(other.0)))
    }

    /// The negation.
    #[allow(clippy::should_implement_trait)] // `!` is implemented too; this reads better in chains.
    pub fn not(self) -> Condition {
        Condition(Node::Not(Box::new(self.0)))
    }

    /// All of `conditions`; `None` when there are none.
    pub fn all(conditions: impl IntoIterator<Item = Condition>) -> Option<Condition> {
        conditions.into_iter().reduce(Condition::and)
    }

    /// Any of `conditions`; `None` when there are none.
    pub fn any(conditions: impl IntoIterator<Item = Condition>) -> Option<Condition> {
        conditions.into_iter().reduce(Condition::or)
    }

    /// Renders the expression, allocating placeholders in `p`.
    pub fn render(&self, p: &mut Placeholders) -> Result<String, Error> {
        render(&self.0, p)
    }
}

impl std::ops::BitAnd for Condition {
    type Output = Condition;
    fn bitand(self, rhs: Condition) -> Condition {
        self.and(rhs)
    }
}

impl std::ops::BitOr for Condition {
    type Output = Condition;
    fn bitor(self, rhs: Condition) -> Condition {
        self.or(rhs)
    }
}

impl std::ops::Not for Condition {
    type Output = Condition;
    fn not(self) -> Condition {
        Condition::not(self)
    }
}

fn operand(o: &Operand, p: &mut Placeholders) -> Result<String, Error> {
    match o {
        Operand::Path(s) => Ok(p.path(s)),
        Operand::Size(s) => Ok(format!("size({})", p.path(s))),
        Operand::Value(v) => p.converted(v),
    }
}

fn render(node: &Node, p: &mut Placeholders) -> Result<String, Error> {
    Ok(match node {
        Node::Compare(a, op, b) => format!("{} {op} {}", operand(a, p)?, operand(b, p)?),
        Node::Between(a, lo, hi) => format!(
            "{} BETWEEN {} AND {}",
            operand(a, p)?,
            operand(lo, p)?,
            operand(hi, p)?
        ),
        Node::In(a, list) => {
            if list.is_empty() || list.len() > MAX_IN_OPERANDS {
                return Err(Error::validation(format!(
                    "IN takes 1 to {MAX_IN_OPERANDS} values, not {}",
                    list.len()
                )));
            }
            let items: Vec<String> = list
                .iter()
                .map(|o| operand(o, p))
                .collect::<Result<_, _>>()?;
            format!("{} IN ({})", operand(a, p)?, items.join(", "))
        }
        Node::Exists(s) => format!("attribute_exists({})", p.path(s)),
        Node::NotExists(s) => format!("attribute_not_exists({})", p.path(s)),
        Node::Type(s, t) => {
            let path = p.path(s);
            let v = p.value(AttributeValue::S(t.as_str().to_owned()));
            format!("attribute_type({path}, {v})")
        }
        Node::BeginsWith(s, v) => format!("begins_with({}, {})", p.path(s), operand(v, p)?),
        Node::Contains(s, v) => format!("contains({}, {})", p.path(s), operand(v, p)?),
        Node::And(a, b) => format!("({}) AND ({})", render(a, p)?, render(b, p)?),
        Node::Or(a, b) => format!("({}) OR ({})", render(a, p)?, render(b, p)?),
        Node::Not(a) => format!("NOT ({})", render(a, p)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap};

    #[test]
    fn renders_with_placeholders_only() {
        let name: Path<String> = Path::new("name");
        let age: Path<u32> = Path::new("age");
        let tags: Path<BTreeSet<String>> = Path::new("tags");
        let addr: Path<HashMap<String, Vec<String>>> = Path::new("address");
        let c = (name.eq("O'Brien; DROP") & age.between(1, 9))
            | !tags.contains("x")
            | addr.key("lines").index(2).begins_with("Flat")
            | name.size().gt(3)
            | age.is_in([1, 2, 3])
            | name.attribute_type(AttributeType::S);
        let mut p = Placeholders::new();
        let text = c.render(&mut p).unwrap();
        assert_eq!(
            text,
            "((((((#n0 = :v0) AND (#n1 BETWEEN :v1 AND :v2)) OR (NOT (contains(#n2, :v3)))) OR \
             (begins_with(#n3.#n4[2], :v4))) OR (size(#n0) > :v5)) OR (#n1 IN (:v6, :v7, :v8))) OR \
             (attribute_type(#n0, :v9))"
        );
        assert!(!text.contains("O'Brien"));
        let names = p.take_names().unwrap();
        assert_eq!(names["#n0"], "name");
        assert_eq!(names["#n4"], "lines");
        assert_eq!(p.take_values().unwrap().len(), 10);
    }

    #[test]
    fn bad_values_fail_rendering() {
        let score: Path<f64> = Path::new("score");
        let err = score
            .gt(f64::NAN)
            .render(&mut Placeholders::new())
            .unwrap_err();
        assert!(err.is_validation(), "{err}");
        let none: Path<u8> = Path::new("n");
        let empty: Vec<u8> = vec![];
        assert!(none.is_in(empty).render(&mut Placeholders::new()).is_err());
    }
}
