//! Link-time permission markers.
//!
//! A marker is a [`RECORD_LEN`]-byte record that starts with [`MAGIC`] and encodes one
//! [`Requirement`]: an IAM action, the resource it applies to, and the operation that needs it.
//! [`encode`] is a `const fn`, so [`mark!`](crate::mark) builds the record inside an inline
//! `const { ... }` block: it is a constant in read-only data even in debug builds, and it can use a
//! generic model's associated constants. The operation then hands the record's address to an empty
//! `asm!` block ([`reference()`]), which the optimizer must keep but which does nothing at run time.
//! The record is therefore linked if and only if the function that marks it is linked.
//!
//! `#[used]` statics, `#[link_section]` and distributed-slice crates keep every entry of every
//! linked crate, which over-approximates; they are deliberately not used.
//!
//! Layout of a record (all integers little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 0..16 | [`MAGIC`] |
//! | 16 | format version ([`FORMAT_VERSION`]) |
//! | 17 | resource kind (see [`ResourceRef`]) |
//! | 18..20 | payload length `n` |
//! | 20..20+n | five fields, each a `u16` length then UTF-8 bytes: action, resource name, resource sub-name, operation, detail |
//! | ..RECORD_LEN-4 | zero padding |
//! | RECORD_LEN-4.. | FNV-1a 32-bit checksum of all bytes before it |

use std::fmt;

/// The byte string every record starts with. Chosen to be vanishingly unlikely elsewhere.
pub const MAGIC: [u8; 16] = *b"\xd1DYNOX:IAM:MARK\x01";
/// The only record format this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// The fixed size of every record.
pub const RECORD_LEN: usize = 768;

const HEADER_LEN: usize = 20;
const CHECKSUM_LEN: usize = 4;
/// Room for the five length-prefixed fields.
pub const PAYLOAD_CAPACITY: usize = RECORD_LEN - HEADER_LEN - CHECKSUM_LEN;

/// A resource as the marking code names it: borrowed, `const`-constructible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceRef<'a> {
    /// A DynamoDB table by its logical name.
    Table(&'a str),
    /// A secondary index of a table: authorized on `table/T/index/I`, never on the table.
    Index {
        /// The index's table.
        table: &'a str,
        /// The index name.
        index: &'a str,
    },
    /// The streams of a table (`table/T/stream/*`).
    Stream(&'a str),
    /// A KMS key: a key id, key ARN, alias name (`alias/...`) or alias ARN.
    KmsKey(&'a str),
    /// Objects under a prefix of an S3 bucket.
    S3Prefix {
        /// The bucket.
        bucket: &'a str,
        /// The key prefix.
        prefix: &'a str,
    },
    /// Actions that only take `"*"` as resource (ListTables, DescribeLimits, ...).
    Any,
    /// A table whose name is only known at run time. The exporter refuses it unless the user maps
    /// it or explicitly allows a wildcard: nothing is silently widened.
    RuntimeTable,
}

impl ResourceRef<'_> {
    const fn kind(&self) -> u8 {
        match self {
            ResourceRef::Table(_) => 1,
            ResourceRef::Index { .. } => 2,
            ResourceRef::Stream(_) => 3,
            ResourceRef::KmsKey(_) => 4,
            ResourceRef::S3Prefix { .. } => 5,
            ResourceRef::Any => 6,
            ResourceRef::RuntimeTable => 7,
        }
    }

    const fn names(&self) -> (&str, &str) {
        match *self {
            ResourceRef::Table(t) | ResourceRef::Stream(t) | ResourceRef::KmsKey(t) => (t, ""),
            ResourceRef::Index { table, index } => (table, index),
            ResourceRef::S3Prefix { bucket, prefix } => (bucket, prefix),
            ResourceRef::Any | ResourceRef::RuntimeTable => ("", ""),
        }
    }
}

/// A decoded resource, owned.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// See [`ResourceRef::Table`].
    Table(String),
    /// See [`ResourceRef::Index`].
    Index {
        /// The index's table.
        table: String,
        /// The index name.
        index: String,
    },
    /// See [`ResourceRef::Stream`].
    Stream(String),
    /// See [`ResourceRef::KmsKey`].
    KmsKey(String),
    /// See [`ResourceRef::S3Prefix`].
    S3Prefix {
        /// The bucket.
        bucket: String,
        /// The key prefix.
        prefix: String,
    },
    /// See [`ResourceRef::Any`].
    Any,
    /// See [`ResourceRef::RuntimeTable`].
    RuntimeTable,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Table(t) => write!(f, "table {t}"),
            Resource::Index { table, index } => write!(f, "index {table}/{index}"),
            Resource::Stream(t) => write!(f, "streams of table {t}"),
            Resource::KmsKey(k) => write!(f, "KMS key {k}"),
            Resource::S3Prefix { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}*"),
            Resource::Any => f.write_str("*"),
            Resource::RuntimeTable => f.write_str("a table named at run time"),
        }
    }
}

/// One permission a binary can use: decoded from a marker record.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Requirement {
    /// The IAM action, e.g. `dynamodb:GetItem`.
    pub action: String,
    /// The resource the action is used on.
    pub resource: Resource,
    /// The dynox operation that needs it, e.g. `get`.
    pub operation: String,
    /// What the operation ran on: usually the model's Rust name, sometimes `Model.field`.
    pub detail: String,
}

const fn put_field(buf: &mut [u8; RECORD_LEN], at: usize, field: &str) -> usize {
    let bytes = field.as_bytes();
    let len = bytes.len();
    if at + 2 + len > HEADER_LEN + PAYLOAD_CAPACITY {
        panic!("dynox-iam: marker fields are too long for one record");
    }
    buf[at] = (len & 0xff) as u8;
    buf[at + 1] = (len >> 8) as u8;
    let mut i = 0;
    while i < len {
        buf[at + 2 + i] = bytes[i];
        i += 1;
    }
    at + 2 + len
}

/// FNV-1a, 32 bits: cheap to compute in a `const fn`, enough to reject chance matches of [`MAGIC`].
pub const fn checksum(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

const fn valid_action(action: &str) -> bool {
    let b = action.as_bytes();
    let mut colons = 0;
    let mut colon = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b':' {
            colons += 1;
            colon = i;
        } else if !c.is_ascii_alphanumeric() {
            return false;
        }
        i += 1;
    }
    colons == 1 && colon > 0 && colon + 1 < b.len()
}

/// Builds the record for one requirement. Evaluated at compile time by [`mark!`](crate::mark);
/// a malformed action name or oversized fields fail the build.
pub const fn encode(
    action: &str,
    resource: ResourceRef<'_>,
    operation: &str,
    detail: &str,
) -> [u8; RECORD_LEN] {
    encode_with_context(action, resource, operation, &[detail], &[])
}

/// Appends `bytes` to the detail being written at `buf[at..]`.
const fn put_bytes(buf: &mut [u8; RECORD_LEN], at: usize, bytes: &[u8]) -> usize {
    if at + bytes.len() > HEADER_LEN + PAYLOAD_CAPACITY {
        panic!("dynox-iam: marker fields are too long for one record");
    }
    let mut i = 0;
    while i < bytes.len() {
        buf[at + i] = bytes[i];
        i += 1;
    }
    at + bytes.len()
}

/// Context keys and values are written as `{k=v, k=v}`: these bytes would make that ambiguous.
const fn plain_context_text(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b'=' | b',' | b'{' | b'}') {
            return false;
        }
        i += 1;
    }
    !b.is_empty()
}

/// Like [`encode`], with the detail made of `parts` and followed by the KMS encryption context
/// the operation always sends (` {k=v, k=v}`), so the export can require exactly that context.
pub const fn encode_with_context(
    action: &str,
    resource: ResourceRef<'_>,
    operation: &str,
    parts: &[&str],
    contexts: &[&[(&str, &str)]],
) -> [u8; RECORD_LEN] {
    if !valid_action(action) {
        panic!("dynox-iam: an IAM action is `service:Action`, ASCII letters and digits only");
    }
    let mut buf = [0u8; RECORD_LEN];
    let mut i = 0;
    while i < MAGIC.len() {
        buf[i] = MAGIC[i];
        i += 1;
    }
    buf[16] = FORMAT_VERSION;
    buf[17] = resource.kind();
    let (name, sub) = resource.names();
    let mut at = HEADER_LEN;
    at = put_field(&mut buf, at, action);
    at = put_field(&mut buf, at, name);
    at = put_field(&mut buf, at, sub);
    at = put_field(&mut buf, at, operation);
    // The detail: its length is known only once written, so write it, then its length.
    let len_at = at;
    at += 2;
    let start = at;
    let mut p = 0;
    while p < parts.len() {
        at = put_bytes(&mut buf, at, parts[p].as_bytes());
        p += 1;
    }
    let mut first = true;
    let mut c = 0;
    while c < contexts.len() {
        let mut e = 0;
        while e < contexts[c].len() {
            let (k, v) = contexts[c][e];
            if !plain_context_text(k) || !plain_context_text(v) {
                panic!(
                    "dynox-iam: encryption context keys and values must be non-empty and hold no \
                     `=`, `,`, `{{` or `}}`"
                );
            }
            at = put_bytes(&mut buf, at, if first { b" {" } else { b", " });
            first = false;
            at = put_bytes(&mut buf, at, k.as_bytes());
            at = put_bytes(&mut buf, at, b"=");
            at = put_bytes(&mut buf, at, v.as_bytes());
            e += 1;
        }
        c += 1;
    }
    if !first {
        at = put_bytes(&mut buf, at, b"}");
    }
    let detail_len = at - start;
    buf[len_at] = (detail_len & 0xff) as u8;
    buf[len_at + 1] = (detail_len >> 8) as u8;
    let payload = at - HEADER_LEN;
    buf[18] = (payload & 0xff) as u8;
    buf[19] = (payload >> 8) as u8;
    let (body, _) = buf.split_at(RECORD_LEN - CHECKSUM_LEN);
    let sum = checksum(body).to_le_bytes();
    buf[RECORD_LEN - 4] = sum[0];
    buf[RECORD_LEN - 3] = sum[1];
    buf[RECORD_LEN - 2] = sum[2];
    buf[RECORD_LEN - 1] = sum[3];
    buf
}

/// The `key=value` facts a detail written by [`encode_with_context`] carries (empty if none): a
/// KMS encryption context, or the tenant shape of a model's partition key.
pub fn facts(detail: &str) -> std::collections::BTreeMap<&str, &str> {
    let Some(body) = detail
        .rfind(" {")
        .and_then(|at| detail[at + 2..].strip_suffix('}'))
    else {
        return Default::default();
    };
    body.split(", ")
        .filter_map(|kv| kv.split_once('='))
        .collect()
}

/// Why a run of bytes that starts with [`MAGIC`] is not a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer than [`RECORD_LEN`] bytes follow the magic.
    Truncated,
    /// The bytes do not start with [`MAGIC`].
    NoMagic,
    /// A format version this crate does not know.
    UnknownVersion(u8),
    /// The checksum does not match: not a record, or a damaged one.
    Checksum,
    /// The fields do not parse (lengths, UTF-8, kind, action syntax).
    Malformed(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("record is truncated"),
            DecodeError::NoMagic => f.write_str("record does not start with the marker magic"),
            DecodeError::UnknownVersion(v) => write!(f, "unknown marker format version {v}"),
            DecodeError::Checksum => f.write_str("record checksum does not match"),
            DecodeError::Malformed(why) => write!(f, "malformed record: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes the record at the start of `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Requirement, DecodeError> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(DecodeError::NoMagic);
    }
    let rec = bytes.get(..RECORD_LEN).ok_or(DecodeError::Truncated)?;
    let (body, sum) = rec.split_at(RECORD_LEN - CHECKSUM_LEN);
    if checksum(body).to_le_bytes() != sum {
        return Err(DecodeError::Checksum);
    }
    if rec[16] != FORMAT_VERSION {
        return Err(DecodeError::UnknownVersion(rec[16]));
    }
    let payload = usize::from(u16::from_le_bytes([rec[18], rec[19]]));
    if payload > PAYLOAD_CAPACITY {
        return Err(DecodeError::Malformed("payload length"));
    }
    let mut rest = &rec[HEADER_LEN..HEADER_LEN + payload];
    let mut fields: [&str; 5] = [""; 5];
    for field in &mut fields {
        if rest.len() < 2 {
            return Err(DecodeError::Malformed("field length"));
        }
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let bytes = rest
            .get(2..2 + len)
            .ok_or(DecodeError::Malformed("field length"))?;
        *field = std::str::from_utf8(bytes).map_err(|_| DecodeError::Malformed("UTF-8"))?;
        rest = &rest[2 + len..];
    }
    if !rest.is_empty() {
        return Err(DecodeError::Malformed("trailing payload"));
    }
    if rec[HEADER_LEN + payload..RECORD_LEN - CHECKSUM_LEN]
        .iter()
        .any(|&b| b != 0)
    {
        return Err(DecodeError::Malformed("padding"));
    }
    let [action, name, sub, operation, detail] = fields;
    if !valid_action(action) {
        return Err(DecodeError::Malformed("action"));
    }
    let resource = match (rec[17], name.is_empty(), sub.is_empty()) {
        (1, false, true) => Resource::Table(name.to_owned()),
        (2, false, false) => Resource::Index {
            table: name.to_owned(),
            index: sub.to_owned(),
        },
        (3, false, true) => Resource::Stream(name.to_owned()),
        (4, false, true) => Resource::KmsKey(name.to_owned()),
        (5, false, _) => Resource::S3Prefix {
            bucket: name.to_owned(),
            prefix: sub.to_owned(),
        },
        (6, true, true) => Resource::Any,
        (7, true, true) => Resource::RuntimeTable,
        _ => return Err(DecodeError::Malformed("resource kind or names")),
    };
    Ok(Requirement {
        action: action.to_owned(),
        resource,
        operation: operation.to_owned(),
        detail: detail.to_owned(),
    })
}

/// Keeps `record` alive exactly as long as the calling function is linked, at no run-time cost.
///
/// The empty `asm!` takes the address as an input, so the optimizer cannot drop the reference,
/// yet it reads no memory and touches no flags or stack.
#[inline(always)]
pub fn reference(record: &'static [u8; RECORD_LEN]) {
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64",
        target_arch = "loongarch64"
    ))]
    // SAFETY: the template is a comment: no instruction runs and nothing is read or written.
    // The pointer is only an operand, so `nomem` is exact.
    #[allow(clippy::pointers_in_nomem_asm_block)]
    unsafe {
        core::arch::asm!(
            "/* dynox-iam marker {0} */",
            in(reg) record.as_ptr(),
            options(nomem, nostack, preserves_flags)
        );
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64",
        target_arch = "loongarch64"
    )))]
    {
        core::hint::black_box(record);
    }
}

/// Declares, at the point where an operation builds its request, an IAM permission it needs.
///
/// `mark!(action, resource, operation, detail)`: every argument must be a constant expression;
/// inside a generic function it may use the generic parameters' associated constants.
/// `mark!(action, resource, operation, [detail parts], context: [pair slices])` also records the
/// KMS encryption context the operation always sends.
///
/// ```
/// use dynox_iam::{mark, actions::dynamodb, ResourceRef};
///
/// trait Model { const TABLE: &'static str; }
/// fn get<M: Model>() {
///     mark!(dynamodb::GET_ITEM, ResourceRef::Table(M::TABLE), "get", "example");
///     // ... build and send the request ...
/// }
/// ```
#[macro_export]
macro_rules! mark {
    ($action:expr, $resource:expr, $operation:expr, [$($part:expr),* $(,)?], context: [$($ctx:expr),* $(,)?] $(,)?) => {
        $crate::marker::reference(const {
            &$crate::marker::encode_with_context($action, $resource, $operation, &[$($part),*], &[$($ctx),*])
        })
    };
    ($action:expr, $resource:expr, $operation:expr, $detail:expr $(,)?) => {
        $crate::marker::reference(
            const { &$crate::marker::encode($action, $resource, $operation, $detail) },
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_round_trips() {
        const REC: [u8; RECORD_LEN] = encode_with_context(
            "kms:Decrypt",
            ResourceRef::KmsKey("alias/app"),
            "decrypt",
            &["users", ".", "phone"],
            &[&[("dynox:table", "users")], &[("app", "shop")]],
        );
        let req = decode(&REC).unwrap();
        assert_eq!(req.detail, "users.phone {dynox:table=users, app=shop}");
        let ctx = facts(&req.detail);
        assert_eq!(ctx.len(), 2);
        assert_eq!(ctx["app"], "shop");
        assert!(facts("users.phone").is_empty());
        assert_eq!(encode("a:B", ResourceRef::Any, "op", "d"), {
            encode_with_context("a:B", ResourceRef::Any, "op", &["d"], &[])
        });
    }

    #[test]
    fn round_trip_every_kind() {
        let cases = [
            (ResourceRef::Table("users"), Resource::Table("users".into())),
            (
                ResourceRef::Index {
                    table: "users",
                    index: "by-email",
                },
                Resource::Index {
                    table: "users".into(),
                    index: "by-email".into(),
                },
            ),
            (ResourceRef::Stream("t"), Resource::Stream("t".into())),
            (
                ResourceRef::KmsKey("alias/app"),
                Resource::KmsKey("alias/app".into()),
            ),
            (
                ResourceRef::S3Prefix {
                    bucket: "b",
                    prefix: "p/",
                },
                Resource::S3Prefix {
                    bucket: "b".into(),
                    prefix: "p/".into(),
                },
            ),
            (ResourceRef::Any, Resource::Any),
            (ResourceRef::RuntimeTable, Resource::RuntimeTable),
        ];
        for (r, expected) in cases {
            let rec = encode("dynamodb:Query", r, "query", "User");
            let got = decode(&rec).unwrap();
            assert_eq!(got.resource, expected);
            assert_eq!(got.action, "dynamodb:Query");
            assert_eq!(got.operation, "query");
            assert_eq!(got.detail, "User");
        }
    }

    #[test]
    fn rejects_damage() {
        let mut rec = encode("dynamodb:GetItem", ResourceRef::Table("t"), "get", "M");
        rec[30] ^= 1;
        assert_eq!(decode(&rec), Err(DecodeError::Checksum));
        assert_eq!(decode(&rec[..100]), Err(DecodeError::Truncated));
        assert_eq!(decode(b"not a record"), Err(DecodeError::NoMagic));
        assert_eq!(decode(&MAGIC), Err(DecodeError::Truncated));
        let mut other = encode("dynamodb:GetItem", ResourceRef::Table("t"), "get", "M");
        other[16] = 9;
        let body_len = RECORD_LEN - 4;
        let sum = checksum(&other[..body_len]).to_le_bytes();
        other[body_len..].copy_from_slice(&sum);
        assert_eq!(decode(&other), Err(DecodeError::UnknownVersion(9)));
    }

    #[test]
    fn action_syntax() {
        assert!(valid_action("dynamodb:GetItem"));
        for bad in [
            ":a:b",
            "dynamodb:",
            ":GetItem",
            "a:b:c",
            "dynamodb:Get*",
            "nocolon",
            "",
        ] {
            assert!(!valid_action(bad), "{bad}");
        }
    }

    #[test]
    fn longest_names_fit() {
        let table = "t".repeat(255);
        let index = "i".repeat(255);
        let rec = encode(
            "dynamodb:Query",
            ResourceRef::Index {
                table: &table,
                index: &index,
            },
            "query_index",
            "SomeModel",
        );
        assert!(decode(&rec).is_ok());
    }
}
