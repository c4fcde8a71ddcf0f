//! Typed update actions: SET, REMOVE, ADD and DELETE.

use super::path::{IntoValue, Path, Segment};
use super::render::Placeholders;
use crate::attr::{Attribute, Number, SetElement, ValueError, set_attribute};
use crate::{AttributeValue, Error};
use std::collections::{BTreeSet, HashSet};
use std::hash::Hash;

type Value = Result<AttributeValue, ValueError>;

fn value<T: Attribute>(v: T) -> Value {
    v.into_attribute().and_then(|o| o.ok_or(ValueError::Absent))
}

#[derive(Clone, Debug)]
enum SetValue {
    Value(Value),
    IfNotExists(Value),
    Plus(Value),
    Minus(Value),
    Append(Value),
    Prepend(Value),
}

#[derive(Clone, Debug)]
enum Action {
    Set(Vec<Segment>, SetValue),
    Remove(Vec<Segment>),
    Add(Vec<Segment>, Value),
    Delete(Vec<Segment>, Value),
}

/// One action of an update, built from a typed path.
///
/// ```
/// # use dynox::expr::Path;
/// # use std::collections::BTreeSet;
/// let visits: Path<u64> = Path::new("visits");
/// let tags: Path<BTreeSet<String>> = Path::new("tags");
/// let history: Path<Vec<String>> = Path::new("history");
/// let actions = [
///     visits.increment(1),
///     tags.add_elements(["new".to_string()]),
///     history.append(["login".to_string()]),
/// ];
/// ```
#[derive(Clone, Debug)]
pub struct UpdateAction(Action);

impl UpdateAction {
    /// The path this action changes.
    pub fn path(&self) -> &[Segment] {
        match &self.0 {
            Action::Set(p, _) | Action::Remove(p) | Action::Add(p, _) | Action::Delete(p, _) => p,
        }
    }
}

impl<T: Attribute> Path<T> {
    /// `SET path = value`.
    pub fn set(&self, v: impl IntoValue<T>) -> UpdateAction {
        UpdateAction(Action::Set(
            self.segments().to_vec(),
            SetValue::Value(value(v.into_value())),
        ))
    }

    /// `SET path = if_not_exists(path, value)`: writes only when the attribute is absent.
    pub fn set_if_not_exists(&self, v: impl IntoValue<T>) -> UpdateAction {
        UpdateAction(Action::Set(
            self.segments().to_vec(),
            SetValue::IfNotExists(value(v.into_value())),
        ))
    }
}

impl<T> Path<T> {
    /// `REMOVE path`.
    pub fn remove(&self) -> UpdateAction {
        UpdateAction(Action::Remove(self.segments().to_vec()))
    }
}

impl<T: Number> Path<T> {
    /// Atomic counter: `SET path = if_not_exists(path, 0) + n` (an absent counter starts at 0).
    pub fn increment(&self, n: impl IntoValue<T>) -> UpdateAction {
        UpdateAction(Action::Set(
            self.segments().to_vec(),
            SetValue::Plus(value(n.into_value())),
        ))
    }

    /// Atomic counter: `SET path = if_not_exists(path, 0) - n`.
    pub fn decrement(&self, n: impl IntoValue<T>) -> UpdateAction {
        UpdateAction(Action::Set(
            self.segments().to_vec(),
            SetValue::Minus(value(n.into_value())),
        ))
    }

    /// `ADD path n`: adds to a number (an absent one counts as 0).
    pub fn add(&self, n: impl IntoValue<T>) -> UpdateAction {
        UpdateAction(Action::Add(self.segments().to_vec(), value(n.into_value())))
    }
}

fn set_value<'a, E: SetElement + 'a>(items: impl IntoIterator<Item = &'a E>) -> Value {
    set_attribute(items).and_then(|o| o.ok_or(ValueError::Absent))
}

impl<E: SetElement + Eq + Hash, S> Path<HashSet<E, S>> {
    /// `ADD path :elements`: adds elements to the set (creating it if absent).
    pub fn add_elements<I: IntoValue<E>>(
        &self,
        elements: impl IntoIterator<Item = I>,
    ) -> UpdateAction {
        let elements: Vec<E> = elements.into_iter().map(IntoValue::into_value).collect();
        UpdateAction(Action::Add(self.segments().to_vec(), set_value(&elements)))
    }
    /// `DELETE path :elements`: removes elements from the set.
    pub fn delete_elements<I: IntoValue<E>>(
        &self,
        elements: impl IntoIterator<Item = I>,
    ) -> UpdateAction {
        let elements: Vec<E> = elements.into_iter().map(IntoValue::into_value).collect();
        UpdateAction(Action::Delete(
            self.segments().to_vec(),
            set_value(&elements),
        ))
    }
}

impl<E: SetElement + Ord> Path<BTreeSet<E>> {
    /// `ADD path :elements`: adds elements to the set (creating it if absent).
    pub fn add_elements<I: IntoValue<E>>(
        &self,
        elements: impl IntoIterator<Item = I>,
    ) -> UpdateAction {
        let elements: Vec<E> = elements.into_iter().map(IntoValue::into_value).collect();
        UpdateAction(Action::Add(self.segments().to_vec(), set_value(&elements)))
    }
    /// `DELETE path :elements`: removes elements from the set.
    pub fn delete_elements<I: IntoValue<E>>(
        &self,
        elements: impl IntoIterator<Item = I>,
    ) -> UpdateAction {
        let elements: Vec<E> = elements.into_iter().map(IntoValue::into_value).collect();
        UpdateAction(Action::Delete(
            self.segments().to_vec(),
            set_value(&elements),
        ))
    }
}

impl<V: Attribute> Path<Vec<V>> {
    /// `SET path = list_append(if_not_exists(path, []), :values)`: appends, creating the list.
    pub fn append<I: IntoValue<V>>(&self, values: impl IntoIterator<Item = I>) -> UpdateAction {
        let list: Vec<V> = values.into_iter().map(IntoValue::into_value).collect();
        UpdateAction(Action::Set(
            self.segments().to_vec(),
            SetValue::Append(value(list)),
        ))
    }

    /// `SET path = list_append(:values, if_not_exists(path, []))`: prepends, creating the list.
    pub fn prepend<I: IntoValue<V>>(&self, values: impl IntoIterator<Item = I>) -> UpdateAction {
        let list: Vec<V> = values.into_iter().map(IntoValue::into_value).collect();
        UpdateAction(Action::Set(
            self.segments().to_vec(),
            SetValue::Prepend(value(list)),
        ))
    }
}

fn overlaps(a: &[Segment], b: &[Segment]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// Renders `actions` as one update expression.
pub(crate) fn render(actions: &[UpdateAction], p: &mut Placeholders) -> Result<String, Error> {
    if actions.is_empty() {
        return Err(Error::validation("an update needs at least one action"));
    }
    for (i, a) in actions.iter().enumerate() {
        for b in &actions[i + 1..] {
            if overlaps(a.path(), b.path()) {
                return Err(Error::validation(format!(
                    "two update actions change overlapping paths: {} and {}",
                    super::AnyPath(a.path().to_vec()),
                    super::AnyPath(b.path().to_vec())
                )));
            }
        }
    }
    let (mut set, mut remove, mut add, mut delete) = (vec![], vec![], vec![], vec![]);
    for a in actions {
        match &a.0 {
            Action::Set(path, v) => {
                let path = p.path(path);
                let rhs = match v {
                    SetValue::Value(v) => p.converted(v)?,
                    SetValue::IfNotExists(v) => {
                        format!("if_not_exists({path}, {})", p.converted(v)?)
                    }
                    SetValue::Plus(v) => {
                        let zero = p.value(AttributeValue::N("0".into_value()));
                        format!("if_not_exists({path}, {zero}) + {}", p.converted(v)?)
                    }
                    SetValue::Minus(v) => {
                        let zero = p.value(AttributeValue::N("0".into_value()));
                        format!("if_not_exists({path}, {zero}) - {}", p.converted(v)?)
                    }
                    SetValue::Append(v) => {
                        let empty = p.value(AttributeValue::L(vec![]));
                        format!(
                            "list_append(if_not_exists({path}, {empty}), {})",
                            p.converted(v)?
                        )
                    }
                    SetValue::Prepend(v) => {
                        let values = p.converted(v)?;
                        let empty = p.value(AttributeValue::L(vec![]));
                        format!("list_append({values}, if_not_exists({path}, {empty}))")
                    }
                };
                set.push(format!("{path} = {rhs}"));
            }
            Action::Remove(path) => remove.push(p.path(path)),
            Action::Add(path, v) => add.push(format!("{} {}", p.path(path), p.converted(v)?)),
            Action::Delete(path, v) => delete.push(format!("{} {}", p.path(path), p.converted(v)?)),
        }
    }
    let mut clauses = Vec::new();
    for (kw, items) in [
        ("SET", set),
        ("REMOVE", remove),
        ("ADD", add),
        ("DELETE", delete),
    ] {
        if !items.is_empty() {
            clauses.push(format!("{kw} {}", items.join(", ")));
        }
    }
    Ok(clauses.join(" "))
}

/// What an update returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReturnValues {
    /// Nothing (the default).
    #[default]
    None,
    /// The whole item as it was before.
    AllOld,
    /// Only the updated attributes, as they were before.
    UpdatedOld,
    /// The whole item as it is after.
    AllNew,
    /// Only the updated attributes, as they are after.
    UpdatedNew,
}

impl ReturnValues {
    pub(crate) fn to_sdk(self) -> aws_sdk_dynamodb::types::ReturnValue {
        use aws_sdk_dynamodb::types::ReturnValue as R;
        match self {
            ReturnValues::None => R::None,
            ReturnValues::AllOld => R::AllOld,
            ReturnValues::UpdatedOld => R::UpdatedOld,
            ReturnValues::AllNew => R::AllNew,
            ReturnValues::UpdatedNew => R::UpdatedNew,
        }
    }

    /// Whether the returned attributes are a whole item.
    pub fn is_whole_item(self) -> bool {
        matches!(self, ReturnValues::AllOld | ReturnValues::AllNew)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_clauses() {
        let n: Path<u64> = Path::new("n");
        let tags: Path<BTreeSet<String>> = Path::new("tags");
        let old: Path<HashSet<String>> = Path::new("old");
        let log: Path<Vec<String>> = Path::new("log");
        let name: Path<String> = Path::new("name");
        let gone: Path<String> = Path::new("gone");
        let mut p = Placeholders::new();
        let text = render(
            &[
                n.increment(2u64),
                tags.add_elements(["a"]),
                log.append(["x"]),
                name.set_if_not_exists("z"),
                gone.remove(),
                old.delete_elements(["b"]),
            ],
            &mut p,
        )
        .unwrap();
        assert_eq!(
            text,
            "SET #n0 = if_not_exists(#n0, :v0) + :v1, #n2 = list_append(if_not_exists(#n2, :v3), :v4), \
             #n3 = if_not_exists(#n3, :v5) REMOVE #n4 ADD #n1 :v2 DELETE #n5 :v6"
        );
    }

    #[test]
    fn refuses_bad_updates() {
        let a: Path<std::collections::BTreeMap<String, u8>> = Path::new("a");
        let mut p = Placeholders::new();
        assert!(render(&[], &mut p).is_err());
        assert!(render(&[a.remove(), a.key("b").set(1)], &mut p).is_err());
        let empty: [&str; 0] = [];
        let s: Path<BTreeSet<String>> = Path::new("s");
        assert!(render(&[s.add_elements(empty)], &mut p).is_err());
    }
}
