//! The stored form of an encrypted value, and the AES-256-GCM seal around it.
//!
//! `"ENC:"` + standard base64 of: a version byte, a big-endian `u16` length of the encrypted data
//! key, the encrypted data key, the 12-byte nonce, then the ciphertext with its 16-byte tag.
//! Version 1 is pydynox's and binds nothing: no associated data, and the KMS context is exactly
//! the user's pairs, so a value copied to another attribute, item or table with the same key and
//! pairs decrypts there. Version 2, dynox's default, binds table and attribute into the KMS
//! encryption context, and table, attribute, the item's primary key (unless the field allows
//! copies between items) and the user's pairs into the AES-GCM associated data, so a copy
//! elsewhere does not decrypt.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::collections::BTreeMap;
use std::fmt;

/// The prefix of every encrypted value.
pub const PREFIX: &str = "ENC:";
/// pydynox's format.
pub const V1: u8 = 1;
/// dynox's default format, with context binding.
pub const V2: u8 = 2;
const NONCE_LEN: usize = 12;
/// KMS's largest ciphertext blob (the `CiphertextBlob` limit of `Decrypt`).
const MAX_ENCRYPTED_KEY: usize = 6144;
const TAG_LEN: usize = 16;

/// Why an encrypted value could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not an `ENC:` value, or not base64.
    NotEncrypted,
    /// A format version this crate does not know.
    UnknownVersion(u8),
    /// Lengths or fields do not add up.
    Malformed(&'static str),
    /// The ciphertext, its context or its key do not match: tampered, moved or wrong context.
    Authentication,
    /// The data key from KMS is not 32 bytes.
    BadDataKey,
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::NotEncrypted => f.write_str("not an encrypted value (ENC: + base64)"),
            EnvelopeError::UnknownVersion(v) => write!(f, "unknown encrypted value version {v}"),
            EnvelopeError::Malformed(why) => write!(f, "malformed encrypted value: {why}"),
            EnvelopeError::Authentication => f.write_str(
                "the value does not decrypt: tampered, copied from elsewhere, or a wrong context",
            ),
            EnvelopeError::BadDataKey => f.write_str("the data key is not a 256-bit key"),
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// An encrypted value, parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The format version.
    pub version: u8,
    /// The KMS-encrypted data key.
    pub encrypted_key: Vec<u8>,
    /// The AES-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The ciphertext with its tag.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("version", &self.version)
            .field("encrypted_key_len", &self.encrypted_key.len())
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

impl Envelope {
    /// Reads a stored value. Never panics on any input.
    pub fn parse(stored: &str) -> Result<Envelope, EnvelopeError> {
        let body = stored
            .strip_prefix(PREFIX)
            .ok_or(EnvelopeError::NotEncrypted)?;
        let raw = STANDARD
            .decode(body)
            .map_err(|_| EnvelopeError::NotEncrypted)?;
        let (&version, rest) = raw.split_first().ok_or(EnvelopeError::Malformed("empty"))?;
        if version != V1 && version != V2 {
            return Err(EnvelopeError::UnknownVersion(version));
        }
        if rest.len() < 2 {
            return Err(EnvelopeError::Malformed("no key length"));
        }
        let key_len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let rest = &rest[2..];
        // KMS's ciphertext blobs are at most 6,144 bytes: a longer "key" is not one.
        if key_len == 0 || key_len > MAX_ENCRYPTED_KEY || rest.len() < key_len + NONCE_LEN + TAG_LEN
        {
            return Err(EnvelopeError::Malformed("lengths"));
        }
        let (encrypted_key, rest) = rest.split_at(key_len);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        Ok(Envelope {
            version,
            encrypted_key: encrypted_key.to_vec(),
            nonce: nonce.try_into().expect("12 bytes"),
            ciphertext: ciphertext.to_vec(),
        })
    }

    /// The stored form.
    pub fn to_stored(&self) -> Result<String, EnvelopeError> {
        let key_len =
            u16::try_from(self.encrypted_key.len()).map_err(|_| EnvelopeError::Malformed("key"))?;
        let mut raw =
            Vec::with_capacity(3 + self.encrypted_key.len() + NONCE_LEN + self.ciphertext.len());
        raw.push(self.version);
        raw.extend_from_slice(&key_len.to_be_bytes());
        raw.extend_from_slice(&self.encrypted_key);
        raw.extend_from_slice(&self.nonce);
        raw.extend_from_slice(&self.ciphertext);
        Ok(format!("{PREFIX}{}", STANDARD.encode(raw)))
    }
}

/// What a value is bound to. Version 2 puts all of it into the associated data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The table.
    pub table: String,
    /// The attribute.
    pub attribute: String,
    /// The item's key, when bound (`None` otherwise).
    pub item_key: Option<String>,
    /// The user's context pairs.
    pub context: BTreeMap<String, String>,
}

impl Binding {
    /// The KMS encryption context for `version`: version 1 is the user's pairs alone; version 2
    /// adds table and attribute (not the item key, so one data key can serve many items).
    pub fn kms_context(&self, version: u8) -> BTreeMap<String, String> {
        let mut ctx = self.context.clone();
        if version == V2 {
            ctx.insert("dynox:table".into(), self.table.clone());
            ctx.insert("dynox:attribute".into(), self.attribute.clone());
        }
        ctx
    }

    /// The associated data for `version`: empty for version 1; for version 2 a length-prefixed
    /// encoding of table, attribute, item key and the sorted user pairs.
    pub fn aad(&self, version: u8) -> Vec<u8> {
        if version == V1 {
            return Vec::new();
        }
        let mut out = vec![version];
        let mut field = |b: &[u8]| {
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        };
        field(self.table.as_bytes());
        field(self.attribute.as_bytes());
        field(self.item_key.as_deref().unwrap_or("").as_bytes());
        for (k, v) in &self.context {
            field(k.as_bytes());
            field(v.as_bytes());
        }
        out
    }
}

fn key(data_key: &[u8]) -> Result<LessSafeKey, EnvelopeError> {
    let unbound = UnboundKey::new(&AES_256_GCM, data_key).map_err(|_| EnvelopeError::BadDataKey)?;
    Ok(LessSafeKey::new(unbound))
}

/// Encrypts `plaintext` under `data_key` with a fresh random nonce.
pub fn seal(
    version: u8,
    data_key: &[u8],
    encrypted_key: &[u8],
    binding: &Binding,
    plaintext: &[u8],
) -> Result<Envelope, EnvelopeError> {
    let mut nonce = [0u8; NONCE_LEN];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| EnvelopeError::Malformed("no randomness"))?;
    let mut buf = plaintext.to_vec();
    key(data_key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(binding.aad(version)),
            &mut buf,
        )
        .map_err(|_| EnvelopeError::Authentication)?;
    Ok(Envelope {
        version,
        encrypted_key: encrypted_key.to_vec(),
        nonce,
        ciphertext: buf,
    })
}

/// Decrypts an envelope with its unwrapped data key.
pub fn open(env: &Envelope, data_key: &[u8], binding: &Binding) -> Result<Vec<u8>, EnvelopeError> {
    let mut buf = env.ciphertext.clone();
    let plain = key(data_key)?
        .open_in_place(
            Nonce::assume_unique_for_key(env.nonce),
            Aad::from(binding.aad(env.version)),
            &mut buf,
        )
        .map_err(|_| EnvelopeError::Authentication)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(attribute: &str, item: Option<&str>) -> Binding {
        Binding {
            table: "users".into(),
            attribute: attribute.into(),
            item_key: item.map(str::to_owned),
            context: BTreeMap::from([("tenant".into(), "acme".into())]),
        }
    }

    #[test]
    fn seal_open_and_every_tamper() {
        let dk = [7u8; 32];
        let b = binding("ssn", Some("u1"));
        let env = seal(V2, &dk, b"wrapped-key", &b, b"123-45-6789").unwrap();
        let stored = env.to_stored().unwrap();
        let back = Envelope::parse(&stored).unwrap();
        assert_eq!(back, env);
        assert_eq!(open(&back, &dk, &b).unwrap(), b"123-45-6789");
        // Another attribute, another item, another context: all fail.
        for other in [
            binding("email", Some("u1")),
            binding("ssn", Some("u2")),
            Binding {
                context: BTreeMap::new(),
                ..b.clone()
            },
        ] {
            assert_eq!(open(&back, &dk, &other), Err(EnvelopeError::Authentication));
        }
        // A flipped ciphertext bit fails.
        let mut t = back.clone();
        t.ciphertext[0] ^= 1;
        assert_eq!(open(&t, &dk, &b), Err(EnvelopeError::Authentication));
        // Version 1 has no associated data: the binding does not matter to AES-GCM.
        let v1 = seal(V1, &dk, b"k", &b, b"x").unwrap();
        assert_eq!(open(&v1, &dk, &binding("other", None)).unwrap(), b"x");
    }

    #[test]
    fn a_fixed_version_1_vector_decodes() {
        // AES-256-GCM test case 14 of the GCM specification (zero key, zero nonce, sixteen zero
        // bytes), framed as a version 1 value: what a pydynox writer produces for that key.
        let ct_tag = [
            0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e, 0x07, 0x4e, 0xc5, 0xd3, 0xba, 0xf3,
            0x9d, 0x18, 0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99, 0x6b, 0xf0, 0x26, 0x5b, 0x98, 0xb5,
            0xd4, 0x8a, 0xb9, 0x19,
        ];
        let mut raw = vec![V1, 0, 3, b'e', b'd', b'k'];
        raw.extend_from_slice(&[0u8; 12]);
        raw.extend_from_slice(&ct_tag);
        let stored = format!("{PREFIX}{}", STANDARD.encode(&raw));
        let env = Envelope::parse(&stored).unwrap();
        assert_eq!(
            (env.version, env.encrypted_key.as_slice()),
            (V1, &b"edk"[..])
        );
        let plain = open(&env, &[0u8; 32], &binding("any", None)).unwrap();
        assert_eq!(plain, [0u8; 16]);
        assert_eq!(env.to_stored().unwrap(), stored);
    }

    #[test]
    fn random_inputs_never_panic() {
        // A brief fuzz in the ordinary suite (the cargo-fuzz target in `fuzz/` runs longer).
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let good = seal(V2, &[1u8; 32], b"key", &binding("a", Some("k")), b"hello").unwrap();
        let good = STANDARD
            .decode(good.to_stored().unwrap().strip_prefix(PREFIX).unwrap())
            .unwrap();
        for _ in 0..20_000 {
            let mut bytes = good.clone();
            let n = (next() % 8) as usize;
            for _ in 0..n {
                let i = (next() as usize) % bytes.len();
                bytes[i] = next() as u8;
            }
            bytes.truncate((next() as usize) % (good.len() + 1));
            let stored = format!("{PREFIX}{}", STANDARD.encode(&bytes));
            if let Ok(env) = Envelope::parse(&stored) {
                let _ = open(&env, &[1u8; 32], &binding("a", Some("k")));
            }
            let _ = crate::compress::decompress(&format!("ZSTD:{}", STANDARD.encode(&bytes)), 4096);
            let _ = crate::compress::decompress(&format!("LZ4:{}", STANDARD.encode(&bytes)), 4096);
            let _ = crate::compress::decompress(&format!("GZIP:{}", STANDARD.encode(&bytes)), 4096);
        }
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        for bad in [
            "",
            "ENC:",
            "ENC:!!",
            "plain",
            "ENC:AQ==",
            "ENC:AQAA",
            "ENC:CQABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
        ] {
            assert!(Envelope::parse(bad).is_err(), "{bad}");
        }
        let v9 = format!("ENC:{}", STANDARD.encode([9u8, 0, 1, 0]));
        assert_eq!(Envelope::parse(&v9), Err(EnvelopeError::UnknownVersion(9)));
    }
}
