//! S3-backed field values: the bytes live in S3, the item holds only their metadata.
//!
//! The stored form is pydynox's `S3Attribute` map, so either library reads what the other wrote:
//! `bucket` (S), `key` (S), `size` (N), `etag` (S, without quotes), and when present
//! `content_type` (S), `last_modified` (S, as S3 reported it), `version_id` (S) and `metadata`
//! (M of S). A file not uploaded yet waits in the encoded item as a staged value DynamoDB would
//! refuse (a map under an empty attribute name), so a value that missed its upload can never be
//! stored; a put or save uploads it ([`crate::s3`]) and puts the metadata in its place.

use super::{Codec, ValueError, type_name, wrong};
use crate::AttributeValue;
use aws_sdk_dynamodb::primitives::Blob;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// The value of an S3-backed field (`#[dynox(s3(bucket = "..."))]`): a [`S3File`] to upload on
/// the next put or save, or the [`S3Ref`] of an uploaded object (after a save, or read back).
#[derive(Clone, PartialEq, Eq)]
pub enum S3Object {
    /// Bytes to upload.
    File(S3File),
    /// An object in S3, as the item describes it.
    Stored(S3Ref),
}

impl S3Object {
    /// A file to upload: its name becomes the last part of the object key.
    pub fn file(name: impl Into<String>, data: impl Into<Vec<u8>>) -> S3Object {
        S3Object::File(S3File::new(name, data))
    }

    /// The uploaded object's metadata, once there is one.
    pub fn stored(&self) -> Option<&S3Ref> {
        match self {
            S3Object::Stored(r) => Some(r),
            S3Object::File(_) => None,
        }
    }

    /// The size in bytes (of the file to upload, or of the stored object).
    pub fn size(&self) -> u64 {
        match self {
            S3Object::File(f) => f.data.len() as u64,
            S3Object::Stored(r) => r.size,
        }
    }
}

impl From<S3File> for S3Object {
    fn from(f: S3File) -> Self {
        S3Object::File(f)
    }
}

impl fmt::Debug for S3Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3Object::File(file) => file.fmt(f),
            S3Object::Stored(r) => r.fmt(f),
        }
    }
}

/// Bytes to upload to an S3-backed field, with the file name the object key ends in.
#[derive(Clone, PartialEq, Eq)]
pub struct S3File {
    /// The file name: the object key is `prefix + pk[/sk] + "/" + name`.
    pub name: String,
    /// The bytes.
    pub data: Vec<u8>,
    /// The object's `Content-Type` (else the field's declared one, if any).
    pub content_type: Option<String>,
    /// User metadata, stored on the object (`x-amz-meta-*`) and in the item.
    pub metadata: BTreeMap<String, String>,
}

impl S3File {
    /// A file named `name` holding `data`.
    pub fn new(name: impl Into<String>, data: impl Into<Vec<u8>>) -> S3File {
        S3File {
            name: name.into(),
            data: data.into(),
            content_type: None,
            metadata: BTreeMap::new(),
        }
    }

    /// Reads a file from disk; its name is the path's last component.
    pub async fn from_path(path: impl AsRef<std::path::Path>) -> std::io::Result<S3File> {
        let path = path.as_ref();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{} has no UTF-8 file name", path.display()),
                )
            })?
            .to_owned();
        Ok(S3File::new(name, tokio::fs::read(path).await?))
    }

    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> S3File {
        self.content_type = Some(content_type.into());
        self
    }

    /// Adds one user metadata entry (names are lowercase: S3 lowercases them).
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> S3File {
        self.metadata.insert(name.into(), value.into());
        self
    }
}

impl fmt::Debug for S3File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3File")
            .field("name", &self.name)
            .field("size", &self.data.len())
            .field("content_type", &self.content_type)
            .field("metadata", &self.metadata)
            .finish()
    }
}

/// An object in S3 as an item describes it (pydynox's `S3Value`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Ref {
    /// The bucket, as deployed.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// The size in bytes.
    pub size: u64,
    /// The ETag S3 reported at upload, without quotes.
    pub etag: String,
    /// The content type.
    pub content_type: Option<String>,
    /// When it was last modified, as S3 reported it (pydynox writes ISO 8601; dynox keeps the
    /// text it reads and writes none, as a put's answer has no date).
    pub last_modified: Option<String>,
    /// The version id, in a versioned bucket.
    pub version_id: Option<String>,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
}

impl S3Ref {
    /// The stored form: exactly pydynox's map.
    pub fn to_attribute(&self) -> AttributeValue {
        let mut m: HashMap<String, AttributeValue> = HashMap::with_capacity(8);
        m.insert("bucket".into(), AttributeValue::S(self.bucket.clone()));
        m.insert("key".into(), AttributeValue::S(self.key.clone()));
        m.insert("size".into(), AttributeValue::N(self.size.to_string()));
        m.insert("etag".into(), AttributeValue::S(self.etag.clone()));
        let optional = [
            ("content_type", &self.content_type),
            ("last_modified", &self.last_modified),
            ("version_id", &self.version_id),
        ];
        for (name, v) in optional {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                m.insert(name.into(), AttributeValue::S(v.clone()));
            }
        }
        if !self.metadata.is_empty() {
            let meta = self
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
                .collect();
            m.insert("metadata".into(), AttributeValue::M(meta));
        }
        AttributeValue::M(m)
    }

    /// Reads the stored form (pydynox's or dynox's); unknown entries are ignored.
    pub fn from_attribute(value: AttributeValue) -> Result<S3Ref, ValueError> {
        let mut m = match value {
            AttributeValue::M(m) => m,
            other => return Err(wrong("M", &other)),
        };
        let text = |m: &mut HashMap<String, AttributeValue>,
                    name: &str,
                    required: bool|
         -> Result<Option<String>, ValueError> {
            match m.remove(name) {
                Some(AttributeValue::S(s)) => Ok(Some(s)),
                Some(AttributeValue::Null(_)) | None if !required => Ok(None),
                Some(other) => Err(at(name, wrong("S", &other))),
                None => Err(at(name, ValueError::Missing)),
            }
        };
        let bucket = text(&mut m, "bucket", true)?.expect("required");
        let key = text(&mut m, "key", true)?.expect("required");
        let etag = text(&mut m, "etag", true)?.expect("required");
        let size = match m.remove("size") {
            Some(AttributeValue::N(n)) => n.parse::<u64>().map_err(|_| {
                at(
                    "size",
                    ValueError::Number {
                        value: n.clone(),
                        target: "u64",
                    },
                )
            })?,
            Some(other) => return Err(at("size", wrong("N", &other))),
            None => return Err(at("size", ValueError::Missing)),
        };
        if bucket.is_empty() || key.is_empty() {
            return Err(ValueError::Invalid(
                "an S3 object's bucket and key are never empty".into(),
            ));
        }
        let content_type = text(&mut m, "content_type", false)?;
        let last_modified = text(&mut m, "last_modified", false)?;
        let version_id = text(&mut m, "version_id", false)?;
        let metadata = match m.remove("metadata") {
            None | Some(AttributeValue::Null(_)) => BTreeMap::new(),
            Some(AttributeValue::M(meta)) => meta
                .into_iter()
                .map(|(k, v)| match v {
                    AttributeValue::S(s) => Ok((k, s)),
                    other => Err(at(&format!("metadata.{k}"), wrong("S", &other))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(at("metadata", wrong("M", &other))),
        };
        Ok(S3Ref {
            bucket,
            key,
            size,
            etag: etag.trim_matches('"').to_owned(),
            content_type,
            last_modified,
            version_id,
            metadata,
        })
    }
}

fn at(name: &str, e: ValueError) -> ValueError {
    ValueError::Nested {
        at: format!(".{name}"),
        source: Box::new(e),
    }
}

/// The staged form of a file to upload: `{"": {"name", "data", "content_type"?, "metadata"?}}`.
fn stage(file: &S3File) -> AttributeValue {
    let mut m = HashMap::with_capacity(4);
    m.insert("name".to_owned(), AttributeValue::S(file.name.clone()));
    m.insert(
        "data".to_owned(),
        AttributeValue::B(Blob::new(file.data.clone())),
    );
    if let Some(ct) = &file.content_type {
        m.insert("content_type".to_owned(), AttributeValue::S(ct.clone()));
    }
    if !file.metadata.is_empty() {
        let meta = file
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
            .collect();
        m.insert("metadata".to_owned(), AttributeValue::M(meta));
    }
    super::staged(AttributeValue::M(m))
}

/// The file inside a staged value, if `value` is one.
pub(crate) fn unstage_file(value: &AttributeValue) -> Option<Result<S3File, ValueError>> {
    let AttributeValue::M(m) = super::unstage(value)? else {
        return None;
    };
    Some((|| {
        let name = match m.get("name") {
            Some(AttributeValue::S(s)) => s.clone(),
            _ => return Err(ValueError::Invalid("a staged S3 file has no name".into())),
        };
        let data = match m.get("data") {
            Some(AttributeValue::B(b)) => b.as_ref().to_vec(),
            _ => return Err(ValueError::Invalid("a staged S3 file has no data".into())),
        };
        let content_type = match m.get("content_type") {
            Some(AttributeValue::S(s)) => Some(s.clone()),
            _ => None,
        };
        let metadata = match m.get("metadata") {
            Some(AttributeValue::M(meta)) => meta
                .iter()
                .filter_map(|(k, v)| match v {
                    AttributeValue::S(s) => Some((k.clone(), s.clone())),
                    _ => None,
                })
                .collect(),
            _ => BTreeMap::new(),
        };
        Ok(S3File {
            name,
            data,
            content_type,
            metadata,
        })
    })())
}

/// The codec of S3-backed fields: a file is staged for its upload, an uploaded object is stored
/// as its metadata map.
#[derive(Debug)]
pub struct S3Stored;

impl Codec<S3Object> for S3Stored {
    fn encode(value: &S3Object) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(match value {
            S3Object::File(f) => stage(f),
            S3Object::Stored(r) => r.to_attribute(),
        }))
    }
    fn decode(value: AttributeValue) -> Result<S3Object, ValueError> {
        if let Some(file) = unstage_file(&value) {
            return file.map(S3Object::File);
        }
        match value {
            AttributeValue::M(_) => S3Ref::from_attribute(value).map(S3Object::Stored),
            other => Err(ValueError::Invalid(format!(
                "an S3 field holds a map of the object's metadata, not {}",
                type_name(&other)
            ))),
        }
    }
    fn absent() -> Option<S3Object> {
        None
    }
}

impl Codec<Option<S3Object>> for S3Stored {
    fn encode(value: &Option<S3Object>) -> Result<Option<AttributeValue>, ValueError> {
        value
            .as_ref()
            .map_or(Ok(None), <S3Stored as Codec<S3Object>>::encode)
    }
    fn decode(value: AttributeValue) -> Result<Option<S3Object>, ValueError> {
        if matches!(value, AttributeValue::Null(_)) {
            return Ok(None);
        }
        <S3Stored as Codec<S3Object>>::decode(value).map(Some)
    }
    fn absent() -> Option<Option<S3Object>> {
        Some(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_round_trips_and_has_pydynox_shape() {
        let r = S3Ref {
            bucket: "b".into(),
            key: "docs/DOC/1/a.txt".into(),
            size: 12,
            etag: "abc".into(),
            content_type: Some("text/plain".into()),
            last_modified: None,
            version_id: None,
            metadata: [("k".to_owned(), "v".to_owned())].into(),
        };
        let v = r.to_attribute();
        let AttributeValue::M(m) = &v else { panic!() };
        let mut names: Vec<&str> = m.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(
            names,
            ["bucket", "content_type", "etag", "key", "metadata", "size"]
        );
        assert_eq!(m["size"], AttributeValue::N("12".into()));
        assert_eq!(S3Ref::from_attribute(v).unwrap(), r);
    }

    #[test]
    fn staged_file_round_trips_and_bad_maps_are_refused() {
        let f = S3File::new("a.bin", vec![1, 2, 3]).metadata("x", "y");
        let v = <S3Stored as Codec<S3Object>>::encode(&S3Object::File(f.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(
            <S3Stored as Codec<S3Object>>::decode(v).unwrap(),
            S3Object::File(f)
        );
        let no_size = AttributeValue::M(
            [
                ("bucket".to_owned(), AttributeValue::S("b".into())),
                ("key".to_owned(), AttributeValue::S("k".into())),
                ("etag".to_owned(), AttributeValue::S("e".into())),
            ]
            .into(),
        );
        let e = S3Ref::from_attribute(no_size).unwrap_err();
        assert!(e.to_string().contains(".size"), "{e}");
        let e = <S3Stored as Codec<S3Object>>::decode(AttributeValue::S("x".into())).unwrap_err();
        assert!(e.to_string().contains("not S"), "{e}");
    }
}
