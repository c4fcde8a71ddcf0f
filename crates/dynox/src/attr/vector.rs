//! Fixed-dimension vectors for vector indexes: a list of numbers, each representable as f32.

use super::{Attribute, ValueError, wrong};
use crate::AttributeValue;

/// A vector of exactly `N` finite f32 values, stored as a list of numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Vector<const N: usize>(pub [f32; N]);

impl<const N: usize> From<[f32; N]> for Vector<N> {
    fn from(v: [f32; N]) -> Self {
        Vector(v)
    }
}

impl<const N: usize> Attribute for Vector<N> {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        if let Some(x) = self.0.iter().find(|x| !x.is_finite()) {
            return Err(ValueError::Invalid(format!(
                "vector element {x} is not finite"
            )));
        }
        Ok(Some(AttributeValue::L(
            self.0
                .iter()
                .map(|x| AttributeValue::N(x.to_string()))
                .collect(),
        )))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        let AttributeValue::L(list) = value else {
            return Err(wrong("L", &value));
        };
        if list.len() != N {
            return Err(ValueError::Invalid(format!(
                "a {N}-dimensional vector has {N} elements, not {}",
                list.len()
            )));
        }
        let mut out = [0f32; N];
        for (slot, v) in out.iter_mut().zip(list) {
            let x = f32::from_attribute(v)?;
            if !x.is_finite() {
                return Err(ValueError::Invalid(format!(
                    "vector element {x} is not an f32"
                )));
            }
            *slot = x;
        }
        Ok(Vector(out))
    }
}
