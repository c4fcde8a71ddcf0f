//! Where a query or scan stopped, as a token to hand out and read back.
//!
//! An unsigned token ([`Cursor::to_token`]) is for callers that keep it themselves: anyone who
//! holds it can edit the key inside and resume elsewhere in the partition. A token given to API
//! callers as a page token should be signed: [`Client::with_cursor_keys`] sets HMAC-SHA256 keys,
//! [`Client::sign_cursor`] makes the token and `start_from_signed` on a query or scan refuses any
//! token whose signature does not verify, or that was made by another query (another partition
//! included) or scan. A signed token is authenticated, not encrypted: whoever holds it can read
//! the key values inside (base64 JSON) and the table it belongs to.

use crate::{AttributeValue, Client, Error, Item, Result};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::fmt;
use std::sync::Arc;

/// Where a query or scan stopped: resume from it with `start_from`, or hand it out as a token.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    key: Item,
    /// The read that made it (`query:table/index`), when a page made it: a signed token is
    /// valid only for the same read.
    scope: Option<Arc<str>>,
}

const UNSIGNED_PREFIX: &str = "v1.";
const SIGNED_PREFIX: &str = "s1.";
/// Separates the signed payload from anything else an HMAC key might be used for.
const SIGNING_LABEL: &[u8] = b"dynox cursor s1\0";
/// A short hex digest of key values: what a query's signed cursor is bound to.
pub(crate) fn values_digest(values: &[AttributeValue]) -> String {
    let mut text = String::new();
    for v in values {
        let (t, s) = match v {
            AttributeValue::S(s) => ("S", s.clone()),
            AttributeValue::N(n) => ("N", n.clone()),
            AttributeValue::B(b) => ("B", STANDARD.encode(b.as_ref())),
            other => ("?", format!("{other:?}")),
        };
        text.push_str(&format!("{t}{}:{s};", s.len()));
    }
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    d.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// HMAC-SHA256 keys shorter than this are refused (the hash's own output size).
const MIN_KEY_LEN: usize = 32;

impl Cursor {
    /// The key of the last item read (DynamoDB's `LastEvaluatedKey`).
    pub fn key(&self) -> &Item {
        &self.key
    }

    /// A cursor from a raw `LastEvaluatedKey`.
    pub fn from_key(key: Item) -> Cursor {
        Cursor { key, scope: None }
    }

    pub(crate) fn with_scope(key: Item, scope: Arc<str>) -> Cursor {
        Cursor {
            key,
            scope: Some(scope),
        }
    }

    pub(crate) fn into_key(self) -> Item {
        self.key
    }

    /// The cursor as an opaque, URL-safe string, unsigned: for callers that keep it themselves.
    /// Give API callers [`Client::sign_cursor`]'s token instead.
    pub fn to_token(&self) -> String {
        format!(
            "{UNSIGNED_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(key_json(&self.key))
        )
    }

    /// Reads a cursor made by [`to_token`](Cursor::to_token). A damaged or foreign string is an
    /// [`Error::InvalidCursor`], never a panic.
    pub fn from_token(token: &str) -> Result<Cursor> {
        if token.starts_with(SIGNED_PREFIX) {
            return Err(invalid(
                "a signed cursor: read it with start_from_signed on a client with its keys",
            ));
        }
        let body = token
            .strip_prefix(UNSIGNED_PREFIX)
            .ok_or_else(|| invalid("unknown format"))?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| invalid("not base64"))?;
        Ok(Cursor::from_key(key_from_json(&json)?))
    }
}

fn invalid(why: &str) -> Error {
    Error::InvalidCursor {
        message: format!("not a dynox cursor: {why}"),
    }
}

/// The key as canonical JSON: names sorted, each value `{type: text}`.
fn key_json(key: &Item) -> String {
    let mut names: Vec<&String> = key.keys().collect();
    names.sort();
    let mut map = serde_json::Map::new();
    for name in names {
        let (t, v) = match &key[name] {
            AttributeValue::S(s) => ("S", s.clone()),
            AttributeValue::N(n) => ("N", n.clone()),
            AttributeValue::B(b) => ("B", STANDARD.encode(b.as_ref())),
            // Keys are scalars; anything else cannot come from DynamoDB.
            _ => continue,
        };
        map.insert(name.clone(), serde_json::json!({ t: v }));
    }
    serde_json::Value::Object(map).to_string()
}

fn key_from_json(json: &[u8]) -> Result<Item> {
    let value: serde_json::Value = serde_json::from_slice(json).map_err(|_| invalid("not JSON"))?;
    let map = value.as_object().ok_or_else(|| invalid("not a key"))?;
    // A table's two keys plus at most two of each index's: never more than a handful.
    if map.is_empty() || map.len() > 4 + 4 + 2 {
        return Err(invalid("wrong number of key attributes"));
    }
    let mut key = Item::new();
    for (name, v) in map {
        let obj = v
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| invalid("attribute"))?;
        let (t, text) = obj.iter().next().expect("one entry");
        let text = text.as_str().ok_or_else(|| invalid("attribute"))?;
        let av = match t.as_str() {
            "S" => AttributeValue::S(text.to_owned()),
            "N" => AttributeValue::N(text.to_owned()),
            "B" => AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
                STANDARD.decode(text).map_err(|_| invalid("binary key"))?,
            )),
            _ => return Err(invalid("attribute type")),
        };
        key.insert(name.clone(), av);
    }
    Ok(key)
}

/// The HMAC-SHA256 keys that sign and verify cursor tokens: one current key that signs, and
/// previous keys that are still accepted while tokens signed with them may be in use (rotation:
/// add the new key as current, keep the old one as previous for as long as a token lives).
///
/// ```
/// let keys = dynox::query::CursorKeys::new(&[7u8; 32])?
///     .accept_previous(&[6u8; 32])?;
/// # Ok::<(), dynox::Error>(())
/// ```
#[derive(Clone)]
pub struct CursorKeys {
    current: hmac::Key,
    previous: Vec<hmac::Key>,
}

impl fmt::Debug for CursorKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key material never reaches logs.
        f.debug_struct("CursorKeys")
            .field("previous", &self.previous.len())
            .finish_non_exhaustive()
    }
}

fn hmac_key(secret: &[u8]) -> Result<hmac::Key> {
    if secret.len() < MIN_KEY_LEN {
        return Err(Error::validation(format!(
            "a cursor signing key has at least {MIN_KEY_LEN} bytes, this one {}",
            secret.len()
        )));
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, secret))
}

impl CursorKeys {
    /// Signs with `secret` (at least 32 random bytes, kept like any other secret).
    pub fn new(secret: &[u8]) -> Result<CursorKeys> {
        Ok(CursorKeys {
            current: hmac_key(secret)?,
            previous: Vec::new(),
        })
    }

    /// Also accepts tokens signed with `secret`, an earlier current key.
    pub fn accept_previous(mut self, secret: &[u8]) -> Result<CursorKeys> {
        self.previous.push(hmac_key(secret)?);
        Ok(self)
    }

    fn message(scope: &str, payload: &str) -> Vec<u8> {
        let mut m = Vec::with_capacity(SIGNING_LABEL.len() + 4 + scope.len() + payload.len());
        m.extend_from_slice(SIGNING_LABEL);
        m.extend_from_slice(&(scope.len() as u32).to_be_bytes());
        m.extend_from_slice(scope.as_bytes());
        m.extend_from_slice(payload.as_bytes());
        m
    }

    /// The signed token of `cursor`: its key and the read that made it, under the current key.
    pub fn sign(&self, cursor: &Cursor) -> String {
        let scope = cursor.scope.as_deref().unwrap_or("");
        let payload = URL_SAFE_NO_PAD.encode(
            serde_json::json!({ "scope": scope, "key": key_json(&cursor.key) }).to_string(),
        );
        let tag = hmac::sign(&self.current, &Self::message(scope, &payload));
        format!(
            "{SIGNED_PREFIX}{payload}.{}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// Reads a signed token for the read `scope`, refusing it unless a current or previous key
    /// verifies its signature and it was made by that read.
    pub(crate) fn verify(&self, token: &str, scope: &str) -> Result<Cursor> {
        let rejected = |why: &str| Error::InvalidCursor {
            message: format!("cursor refused: {why}"),
        };
        let body = token
            .strip_prefix(SIGNED_PREFIX)
            .ok_or_else(|| rejected("not a signed cursor"))?;
        let (payload, tag) = body
            .split_once('.')
            .ok_or_else(|| rejected("no signature"))?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| rejected("the signature is not base64"))?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| rejected("not base64"))?;
        let value: serde_json::Value =
            serde_json::from_slice(&json).map_err(|_| rejected("not JSON"))?;
        let (Some(signed_scope), Some(key)) = (value["scope"].as_str(), value["key"].as_str())
        else {
            return Err(rejected("not a cursor"));
        };
        let message = Self::message(signed_scope, payload);
        let verified = std::iter::once(&self.current)
            .chain(&self.previous)
            .any(|k| hmac::verify(k, &message, &tag).is_ok());
        if !verified {
            return Err(rejected("the signature does not verify"));
        }
        if signed_scope != scope {
            return Err(rejected(&format!(
                "it was made by {signed_scope}, not by this {scope}"
            )));
        }
        Ok(Cursor::with_scope(
            key_from_json(key.as_bytes())?,
            Arc::from(scope),
        ))
    }
}

impl Client {
    /// This client, signing and verifying cursor tokens with `keys`.
    pub fn with_cursor_keys(&self, keys: CursorKeys) -> Client {
        self.with_cursor_keys_arc(Arc::new(keys))
    }

    /// The signed token of `cursor`, to hand to an API caller as a page token; read it back with
    /// `start_from_signed` on the same query or scan. Fails when no keys are set
    /// ([`Client::with_cursor_keys`]).
    pub fn sign_cursor(&self, cursor: &Cursor) -> Result<String> {
        let keys = self.cursor_keys().ok_or_else(|| {
            Error::validation("no cursor keys: configure the client with_cursor_keys(...)")
        })?;
        if cursor.scope.is_none() {
            // Its read is unknown, so no read could accept the token.
            return Err(Error::validation(
                "only a cursor from a page of a query or scan can be signed",
            ));
        }
        Ok(keys.sign(cursor))
    }
}
