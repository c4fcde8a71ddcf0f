//! Encrypted field values: plaintext in memory, `ENC:` ciphertext in DynamoDB.

use super::{Codec, ValueError, wrong};
use crate::AttributeValue;
use aws_sdk_dynamodb::primitives::Blob;
use std::fmt;
use zeroize::Zeroize;

/// The value of an encrypted field (`#[dynox(encrypted(...))]`): `Plain` after a read that
/// decrypted it or before a write, `Sealed` when only the ciphertext is known (a write-only
/// field read back). Never shown by `Debug`; the plaintext is zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret<T: Zeroize> {
    /// The plaintext.
    Plain(T),
    /// The stored ciphertext (`ENC:...`).
    Sealed(String),
}

impl<T: Zeroize> Secret<T> {
    /// A plaintext value.
    pub fn new(value: T) -> Self {
        Secret::Plain(value)
    }

    /// The plaintext, when known.
    pub fn plain(&self) -> Option<&T> {
        match self {
            Secret::Plain(v) => Some(v),
            Secret::Sealed(_) => None,
        }
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        if let Secret::Plain(v) = self {
            v.zeroize();
        }
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Plain(_) => f.write_str("Secret(<redacted>)"),
            Secret::Sealed(_) => f.write_str("Secret(<sealed>)"),
        }
    }
}

impl<T: Zeroize + Default> Default for Secret<T> {
    fn default() -> Self {
        Secret::Plain(T::default())
    }
}

/// The in-flight form of a plaintext secret inside an encoded item: a map under an empty
/// attribute name, which DynamoDB refuses, so a value that missed encryption can never be
/// stored. Encryption replaces it with the `ENC:` string; decryption puts it back for decoding.
pub fn staged(value: AttributeValue) -> AttributeValue {
    AttributeValue::M([(String::new(), value)].into())
}

/// The plaintext inside a staged value, if `value` is one.
pub fn unstage(value: &AttributeValue) -> Option<&AttributeValue> {
    match value {
        AttributeValue::M(m) if m.len() == 1 => m.get(""),
        _ => None,
    }
}

/// Plaintext types an encrypted field can hold, and their bytes.
pub trait SecretValue: Zeroize + Sized {
    /// As an attribute value (staged until encrypted).
    fn to_value(&self) -> AttributeValue;
    /// From a decrypted attribute value.
    fn from_value(value: AttributeValue) -> Result<Self, ValueError>;
    /// The bytes encrypted.
    fn bytes(value: &AttributeValue) -> Option<Vec<u8>>;
    /// The attribute value of decrypted bytes.
    fn from_bytes(bytes: Vec<u8>) -> Result<AttributeValue, ValueError>;
}

impl SecretValue for String {
    fn to_value(&self) -> AttributeValue {
        AttributeValue::S(self.clone())
    }
    fn from_value(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::S(s) => Ok(s),
            other => Err(wrong("S", &other)),
        }
    }
    fn bytes(value: &AttributeValue) -> Option<Vec<u8>> {
        match value {
            AttributeValue::S(s) => Some(s.as_bytes().to_vec()),
            _ => None,
        }
    }
    fn from_bytes(bytes: Vec<u8>) -> Result<AttributeValue, ValueError> {
        String::from_utf8(bytes)
            .map(AttributeValue::S)
            .map_err(|_| ValueError::Invalid("the decrypted value is not UTF-8".into()))
    }
}

impl SecretValue for Vec<u8> {
    fn to_value(&self) -> AttributeValue {
        AttributeValue::B(Blob::new(self.clone()))
    }
    fn from_value(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::B(b) => Ok(b.into_inner()),
            other => Err(wrong("B", &other)),
        }
    }
    fn bytes(value: &AttributeValue) -> Option<Vec<u8>> {
        match value {
            AttributeValue::B(b) => Some(b.as_ref().to_vec()),
            _ => None,
        }
    }
    fn from_bytes(bytes: Vec<u8>) -> Result<AttributeValue, ValueError> {
        Ok(AttributeValue::B(Blob::new(bytes)))
    }
}

/// The codec of encrypted fields: plaintext is staged for the encryption step, ciphertext is
/// kept as it is.
#[derive(Debug)]
pub struct Encrypted;

impl<T: SecretValue> Codec<Secret<T>> for Encrypted {
    fn encode(value: &Secret<T>) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(match value {
            Secret::Plain(v) => staged(v.to_value()),
            Secret::Sealed(c) => AttributeValue::S(c.clone()),
        }))
    }
    fn decode(value: AttributeValue) -> Result<Secret<T>, ValueError> {
        if let Some(inner) = unstage(&value) {
            return T::from_value(inner.clone()).map(Secret::Plain);
        }
        match value {
            AttributeValue::S(s) if s.starts_with("ENC:") => Ok(Secret::Sealed(s)),
            other => Err(ValueError::Invalid(format!(
                "an encrypted field holds an ENC: value, not {}",
                super::type_name(&other)
            ))),
        }
    }
    fn absent() -> Option<Secret<T>> {
        None
    }
}

impl<T: SecretValue> Codec<Option<Secret<T>>> for Encrypted {
    fn encode(value: &Option<Secret<T>>) -> Result<Option<AttributeValue>, ValueError> {
        value
            .as_ref()
            .map_or(Ok(None), <Encrypted as Codec<Secret<T>>>::encode)
    }
    fn decode(value: AttributeValue) -> Result<Option<Secret<T>>, ValueError> {
        <Encrypted as Codec<Secret<T>>>::decode(value).map(Some)
    }
    fn absent() -> Option<Option<Secret<T>>> {
        Some(None)
    }
}
