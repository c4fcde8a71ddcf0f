//! Placeholder allocation: the only place expression text is produced.

use super::path::Segment;
use crate::attr::ValueError;
use crate::{AttributeValue, Error};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Names (`#n0`) and values (`:v0`) of one request's expressions.
///
/// A name used twice gets one placeholder; every value gets its own.
#[derive(Debug, Default)]
pub struct Placeholders {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Placeholders {
    /// An empty set of placeholders.
    pub fn new() -> Placeholders {
        Placeholders::default()
    }

    /// The placeholder for the attribute name `name`.
    pub fn name(&mut self, name: &str) -> String {
        if let Some(p) = self.names.get(name) {
            return p.clone();
        }
        let p = format!("#n{}", self.names.len());
        self.names.insert(name.to_owned(), p.clone());
        p
    }

    /// The placeholder for `value`.
    pub fn value(&mut self, value: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), value);
        p
    }

    /// The placeholder for a converted value, or the conversion error as a validation error.
    pub(crate) fn converted(
        &mut self,
        value: &Result<AttributeValue, ValueError>,
    ) -> Result<String, Error> {
        match value {
            Ok(v) => Ok(self.value(v.clone())),
            Err(e) => Err(Error::validation(format!("expression value: {e}"))),
        }
    }

    /// Renders a path as placeholders, e.g. `#n0.#n1[2]`.
    pub fn path(&mut self, segments: &[Segment]) -> String {
        let mut out = String::new();
        for (i, s) in segments.iter().enumerate() {
            match s {
                Segment::Name(n) => {
                    if i > 0 {
                        out.push('.');
                    }
                    let p = self.name(n);
                    out.push_str(&p);
                }
                Segment::Index(n) => {
                    let _ = write!(out, "[{n}]");
                }
            }
        }
        out
    }

    /// The `ExpressionAttributeNames` map (placeholder to name), `None` when empty.
    pub fn take_names(&mut self) -> Option<HashMap<String, String>> {
        if self.names.is_empty() {
            return None;
        }
        Some(self.names.drain().map(|(n, p)| (p, n)).collect())
    }

    /// The `ExpressionAttributeValues` map, `None` when empty.
    pub fn take_values(&mut self) -> Option<HashMap<String, AttributeValue>> {
        if self.values.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut self.values))
    }
}
