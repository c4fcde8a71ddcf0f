//! Encryption of model fields on the way out and decryption on the way in.
//!
//! The derive calls these for each `#[dynox(encrypted(...))]` field: [`seal_field`] where the
//! field's mode writes, [`unseal_field`] where it reads, so the binary carries exactly the KMS
//! permissions the modes need. Plaintext waits in the encoded item as a staged value DynamoDB
//! would refuse, so a value that missed this step can never be stored.

use crate::attr::{SecretValue, staged, unstage};
use crate::model::Model;
use crate::{AttributeValue, Client, Error, Item, Result};
use dynox_encryption::kms::EncryptedField;

/// Seals an encoded item of `M` as a write stores it (put, save, and `size::stored`): its
/// encrypted fields compressed and encrypted, a failure naming the model, and then checked that
/// no plaintext is left waiting.
pub(crate) async fn seal_item<M: Model>(item: &mut Item, client: &Client) -> Result<()> {
    // Only models with encrypted fields have sealing to do (and a future to allocate).
    if M::SEALED || !M::ENCRYPTED_ATTRIBUTES.is_empty() {
        M::seal(item, client)
            .await
            .map_err(|e| e.for_model(M::NAME))?;
    }
    assert_sealed(item, M::ENCRYPTED_ATTRIBUTES)
}

fn encryptor(client: &Client) -> Result<&dynox_encryption::kms::Encryptor> {
    let e = client.encryptor().ok_or_else(|| Error::Encryption {
        message: "this model has encrypted fields: configure the client with_encryptor(...)".into(),
        source: None,
    })?;
    // The policy names the mapped keys; an encryptor calling KMS with others would be denied.
    if e.key_mapping() != &client.mapping().kms_keys {
        return Err(Error::Encryption {
            message: format!(
                "the client maps KMS keys {:?} but its encryptor calls {:?}: give both the same \
                 mapping (Client::with_mapping, Encryptor::with_mapping)",
                client.mapping().kms_keys,
                e.key_mapping()
            ),
            source: None,
        });
    }
    Ok(e)
}

/// An encryption failure of field `F` as a dynox error: a KMS denial is
/// [`Error::AccessDenied`] (the KMS action and key, and the field); anything else is
/// [`Error::Encryption`]. The message is one line naming the field; the encryption error, and
/// behind it the SDK's, is the `source()`.
fn failed<F: EncryptedField>(e: dynox_encryption::kms::EncryptionError) -> Error {
    use dynox_encryption::kms::EncryptionError;
    if let EncryptionError::Kms {
        operation,
        key,
        message,
        ..
    } = &e
        && e.is_access_denied()
    {
        let (action, resource) = crate::error::parse_denial(message);
        return Error::AccessDenied {
            action: Some(action.unwrap_or_else(|| format!("kms:{operation}"))),
            resource: Some(resource.unwrap_or_else(|| key.clone())),
            message: message.clone(),
            context: Some(Box::new(
                crate::error::ErrorContext::new(operation)
                    .table(F::TABLE)
                    .field(F::ATTRIBUTE),
            )),
            source: Box::new(e),
        };
    }
    let message = match &e {
        EncryptionError::Kms {
            operation,
            code: Some(code),
            ..
        } => format!(
            "KMS {operation} for {}.{} failed ({code})",
            F::TABLE,
            F::ATTRIBUTE
        ),
        EncryptionError::Kms { operation, .. } => {
            format!("KMS {operation} for {}.{} failed", F::TABLE, F::ATTRIBUTE)
        }
        EncryptionError::Integrity { .. } => {
            format!("{}.{} failed its integrity check", F::TABLE, F::ATTRIBUTE)
        }
        other => format!("{}.{} failed ({})", F::TABLE, F::ATTRIBUTE, other.kind()),
    };
    Error::Encryption {
        message,
        source: Some(Box::new(e)),
    }
}

/// The text an item's key is bound as: each key attribute's name, type and value, length-prefixed
/// so that no two keys give the same text.
pub fn key_text(item: &Item, names: &[&str]) -> String {
    let mut out = String::new();
    for n in names {
        let (t, v) = match item.get(*n) {
            Some(AttributeValue::S(s)) => ("S", s.clone()),
            Some(AttributeValue::N(s)) => ("N", s.clone()),
            Some(AttributeValue::B(b)) => ("B", format!("{:02x?}", b.as_ref())),
            _ => ("-", String::new()),
        };
        out.push_str(&format!("{}:{n}{t}{}:{v}", n.len(), v.len()));
    }
    out
}

/// Encrypts field `F` of an encoded item, if it holds a plaintext.
pub async fn seal_field<F: EncryptedField, T: SecretValue>(
    client: &Client,
    item: &mut Item,
    key: &str,
) -> Result<()> {
    let Some(inner) = item.get(F::ATTRIBUTE).and_then(unstage) else {
        return Ok(());
    };
    let mut bytes = T::bytes(inner).ok_or_else(|| Error::Encryption {
        message: format!("{} holds a value of the wrong type", F::ATTRIBUTE),
        source: None,
    })?;
    // Compress, then encrypt (text values only; the compressed form is itself text).
    if let (Some(c), Ok(text)) = (F::COMPRESSION, std::str::from_utf8(&bytes)) {
        let packed =
            dynox_encryption::compress::compress_text(&c, text).map_err(|e| Error::Encryption {
                message: e.to_string(),
                source: None,
            })?;
        bytes = packed.into_bytes();
    }
    let stored = encryptor(client)?
        .encrypt::<F>(&bytes, Some(key))
        .await
        .map_err(failed::<F>)?;
    item.insert(F::ATTRIBUTE.to_owned(), AttributeValue::S(stored));
    Ok(())
}

/// Refuses an item in which a plaintext is still staged: nothing unencrypted leaves dynox, even
/// if DynamoDB would not refuse it.
pub fn assert_sealed(item: &Item, encrypted: &[&str]) -> Result<()> {
    match encrypted
        .iter()
        .find(|a| item.get(**a).and_then(unstage).is_some())
    {
        Some(a) => Err(Error::Encryption {
            message: format!("`{a}` was not encrypted"),
            source: None,
        }),
        None => Ok(()),
    }
}

/// Refuses to write field `F` (a read-only field) with a new plaintext.
pub fn refuse_write<F: EncryptedField>(item: &Item) -> Result<()> {
    if item.get(F::ATTRIBUTE).and_then(unstage).is_some() {
        return Err(Error::Encryption {
            message: format!(
                "{} is read-only: this service decrypts it but never writes it",
                F::ATTRIBUTE
            ),
            source: None,
        });
    }
    Ok(())
}

/// Decrypts field `F` of a stored item, if it holds a ciphertext.
pub async fn unseal_field<F: EncryptedField, T: SecretValue>(
    client: &Client,
    item: &mut Item,
    key: &str,
) -> Result<()> {
    let stored = match item.get(F::ATTRIBUTE) {
        None | Some(AttributeValue::Null(_)) => return Ok(()),
        Some(AttributeValue::S(s)) if s.starts_with(dynox_encryption::envelope::PREFIX) => s,
        // Anything else where a ciphertext belongs (a plaintext, another type, an edited
        // prefix) is not an authentic value of the field.
        Some(_) => {
            return Err(failed::<F>(
                dynox_encryption::kms::EncryptionError::not_encrypted::<F>(),
            ));
        }
    };
    let mut plain = encryptor(client)?
        .decrypt::<F>(stored, Some(key))
        .await
        .map_err(failed::<F>)?;
    if F::COMPRESSION.is_some()
        && let Ok(text) = std::str::from_utf8(&plain)
    {
        let unpacked =
            dynox_encryption::compress::decompress_text(text, crate::size::MAX_ITEM_SIZE).map_err(
                |e| Error::Encryption {
                    message: e.to_string(),
                    source: None,
                },
            )?;
        plain = unpacked.into_bytes();
    }
    let value = T::from_bytes(plain).map_err(|e| Error::Encryption {
        message: e.to_string(),
        source: None,
    })?;
    item.insert(F::ATTRIBUTE.to_owned(), staged(value));
    Ok(())
}

/// For a write-only field read with `on_read = "error"`: a read is refused.
pub fn refuse_read<F: EncryptedField>(item: &Item) -> Result<()> {
    if item.contains_key(F::ATTRIBUTE) {
        return Err(Error::Encryption {
            message: format!("{} is write-only: it is never decrypted here", F::ATTRIBUTE),
            source: None,
        });
    }
    Ok(())
}
