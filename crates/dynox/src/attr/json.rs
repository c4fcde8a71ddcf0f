//! Any serde type as an attribute: a native DynamoDB map (via serde_dynamo), or a JSON string.
//!
//! `#[dynox(serde)]` stores the value's serde form as DynamoDB types (maps, lists, numbers, ...),
//! so conditions and projections can reach inside it; `#[dynox(json)]` stores one JSON string.

use super::{Codec, ValueError, wrong};
use crate::AttributeValue;
use serde::{Serialize, de::DeserializeOwned};

/// The codec of `#[dynox(serde)]` fields.
#[derive(Debug)]
pub struct SerdeValue;

impl<T: Serialize + DeserializeOwned> Codec<T> for SerdeValue {
    fn encode(value: &T) -> Result<Option<AttributeValue>, ValueError> {
        serde_dynamo::to_attribute_value(value)
            .map(Some)
            .map_err(|e| ValueError::Invalid(format!("cannot store this serde value: {e}")))
    }
    fn decode(value: AttributeValue) -> Result<T, ValueError> {
        serde_dynamo::from_attribute_value(value)
            .map_err(|e| ValueError::Invalid(format!("cannot read this serde value: {e}")))
    }
    fn absent() -> Option<T> {
        None
    }
}

/// The codec of `#[dynox(json)]` fields: one JSON string (`S`).
#[derive(Debug)]
pub struct Json;

impl<T: Serialize + DeserializeOwned> Codec<T> for Json {
    fn encode(value: &T) -> Result<Option<AttributeValue>, ValueError> {
        serde_json::to_string(value)
            .map(|s| Some(AttributeValue::S(s)))
            .map_err(|e| ValueError::Invalid(format!("cannot write this value as JSON: {e}")))
    }
    fn decode(value: AttributeValue) -> Result<T, ValueError> {
        match value {
            AttributeValue::S(s) => serde_json::from_str(&s)
                .map_err(|e| ValueError::Invalid(format!("not the expected JSON: {e}"))),
            other => Err(wrong("S", &other)),
        }
    }
    fn absent() -> Option<T> {
        None
    }
}
