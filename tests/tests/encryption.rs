//! KMS envelope encryption against moto's KMS (started by the harness on loopback).

use dynox_encryption::envelope::{V1, V2};
use dynox_encryption::kms::{CacheLimits, EncryptedField, EncryptionError, Encryptor, Mode};
use dynox_testing::LocalKms;
use std::sync::OnceLock;

/// The alias the tests create; fields name it as their key.
static KEY_ID: OnceLock<String> = OnceLock::new();

macro_rules! field {
    ($name:ident, $mode:expr, $version:expr, $table:literal, $attr:literal, $ctx:expr, $bind:expr) => {
        struct $name;
        impl EncryptedField for $name {
            const KEY: &'static str = "alias/dynox-test";
            const MODE: Mode = $mode;
            const VERSION: u8 = $version;
            const TABLE: &'static str = $table;
            const ATTRIBUTE: &'static str = $attr;
            const CONTEXT: &'static [(&'static str, &'static str)] = $ctx;
            const BIND_ITEM_KEY: bool = $bind;
        }
    };
}

field!(
    Ssn,
    Mode::ReadWrite,
    V2,
    "users",
    "ssn",
    &[("tenant", "acme")],
    true
);
field!(
    Email,
    Mode::ReadWrite,
    V2,
    "users",
    "email",
    &[("tenant", "acme")],
    true
);
field!(
    SsnOtherTable,
    Mode::ReadWrite,
    V2,
    "admins",
    "ssn",
    &[("tenant", "acme")],
    true
);
field!(
    SsnOtherTenant,
    Mode::ReadWrite,
    V2,
    "users",
    "ssn",
    &[("tenant", "evil")],
    true
);
field!(
    Legacy,
    Mode::ReadWrite,
    V1,
    "users",
    "note",
    &[("app", "pydynox")],
    false
);
field!(
    LegacyOtherContext,
    Mode::ReadWrite,
    V1,
    "users",
    "note",
    &[("app", "other")],
    false
);
field!(Audit, Mode::WriteOnly, V2, "users", "audit", &[], false);
field!(
    Imported,
    Mode::ReadOnly,
    V2,
    "users",
    "ssn",
    &[("tenant", "acme")],
    true
);

#[tokio::test]
async fn a_key_alias_is_named_with_or_without_its_prefix() {
    let local = LocalKms::start()
        .await
        .expect("the local KMS (run `cargo xtask setup`)");
    local
        .create_key(Some("alias/dynox-prefixed"))
        .await
        .unwrap();
    local.create_key(Some("dynox-bare")).await.unwrap();
    let aliases: Vec<String> = local
        .client()
        .list_aliases()
        .send()
        .await
        .unwrap()
        .aliases
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| a.alias_name)
        .filter(|n| n.contains("dynox-"))
        .collect();
    assert!(
        aliases.contains(&"alias/dynox-prefixed".to_owned()),
        "{aliases:?}"
    );
    assert!(
        aliases.contains(&"alias/dynox-bare".to_owned()),
        "{aliases:?}"
    );
    assert!(
        !aliases.iter().any(|a| a.starts_with("alias/alias/")),
        "{aliases:?}"
    );
}

async fn kms() -> (LocalKms, aws_sdk_kms::Client) {
    let local = LocalKms::start()
        .await
        .expect("the local KMS (run `cargo xtask setup`)");
    let id = local.create_key(Some("dynox-test")).await.unwrap();
    let _ = KEY_ID.set(id);
    let client = local.client();
    (local, client)
}

#[tokio::test]
async fn round_trips_in_every_mode_and_version() {
    let (_local, kms) = kms().await;
    let e = Encryptor::new(kms);
    let stored = e.encrypt::<Ssn>(b"123-45-6789", Some("u1")).await.unwrap();
    assert!(stored.starts_with("ENC:"));
    assert_eq!(
        e.decrypt::<Ssn>(&stored, Some("u1")).await.unwrap(),
        b"123-45-6789"
    );
    // Read-only decrypts what another writer encrypted under the same binding.
    assert_eq!(
        e.decrypt::<Imported>(&stored, Some("u1")).await.unwrap(),
        b"123-45-6789"
    );
    assert!(matches!(
        e.encrypt::<Imported>(b"x", Some("u1")).await,
        Err(EncryptionError::Refused(_))
    ));
    // Write-only encrypts (its reader never calls decrypt).
    assert!(
        e.encrypt::<Audit>(b"who did what", None)
            .await
            .unwrap()
            .starts_with("ENC:")
    );
    // Version 1: pydynox's format, context exactly the user's pairs, no associated data.
    let v1 = e
        .encrypt::<Legacy>(b"shared with python", None)
        .await
        .unwrap();
    assert_eq!(
        e.decrypt::<Legacy>(&v1, None).await.unwrap(),
        b"shared with python"
    );
}

#[tokio::test]
async fn moved_tampered_and_wrong_context_values_fail() {
    let (_local, kms) = kms().await;
    let e = Encryptor::new(kms);
    let stored = e.encrypt::<Ssn>(b"secret", Some("u1")).await.unwrap();
    let auth = |r: Result<Vec<u8>, EncryptionError>| r.is_err_and(|e| e.is_integrity());
    assert!(
        auth(e.decrypt::<Email>(&stored, Some("u1")).await),
        "another attribute"
    );
    assert!(
        auth(e.decrypt::<Ssn>(&stored, Some("u2")).await),
        "another item"
    );
    assert!(
        auth(e.decrypt::<SsnOtherTable>(&stored, Some("u1")).await),
        "another table"
    );
    assert!(
        auth(e.decrypt::<SsnOtherTenant>(&stored, Some("u1")).await),
        "another context"
    );
    // A flipped byte in the ciphertext.
    use base64::Engine as _;
    let mut raw = base64::engine::general_purpose::STANDARD
        .decode(stored.strip_prefix("ENC:").unwrap())
        .unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x01;
    let tampered = format!(
        "ENC:{}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    );
    assert!(
        auth(e.decrypt::<Ssn>(&tampered, Some("u1")).await),
        "tampered"
    );
    // Version 1 with the wrong user context fails at KMS.
    let v1 = e.encrypt::<Legacy>(b"x", None).await.unwrap();
    assert!(auth(e.decrypt::<LegacyOtherContext>(&v1, None).await));
    // Unknown versions and garbage are clear errors.
    let v9 = format!(
        "ENC:{}",
        base64::engine::general_purpose::STANDARD.encode([9u8, 0, 1, 7])
    );
    assert!(auth(e.decrypt::<Ssn>(&v9, Some("u1")).await));
    assert!(auth(e.decrypt::<Ssn>("plain text", Some("u1")).await));
}

/// `stored` with byte `at` of its decoded form flipped.
fn flipped(stored: &str, at: usize) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut raw = b64.decode(stored.strip_prefix("ENC:").unwrap()).unwrap();
    raw[at] ^= 0x01;
    format!("ENC:{}", b64.encode(raw))
}

#[tokio::test]
async fn a_flipped_byte_anywhere_is_one_integrity_error() {
    let (_local, kms) = kms().await;
    // Uncached, so every value goes to KMS with its encrypted data key.
    let e = Encryptor::with_cache(kms, None);
    let stored = e.encrypt::<Ssn>(b"secret", Some("u1")).await.unwrap();
    let len = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(stored.strip_prefix("ENC:").unwrap())
            .unwrap()
            .len()
    };
    let key_len = {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(stored.strip_prefix("ENC:").unwrap())
            .unwrap();
        u16::from_be_bytes([raw[1], raw[2]]) as usize
    };
    // Version, both length bytes, the data key's first, middle and last bytes, the nonce, the
    // ciphertext and the tag.
    let places = [
        ("version", 0),
        ("key length", 1),
        ("key length", 2),
        ("data key", 3),
        ("data key", 3 + key_len / 2),
        ("data key", 2 + key_len),
        ("nonce", 3 + key_len),
        ("nonce", 3 + key_len + 11),
        ("ciphertext", 3 + key_len + 12),
        ("tag", len - 1),
    ];
    for (part, at) in places {
        let err = e
            .decrypt::<Ssn>(&flipped(&stored, at), Some("u1"))
            .await
            .unwrap_err();
        assert!(err.is_integrity(), "{part} (byte {at}): {err:?}");
        let text = err.to_string();
        assert_eq!(
            text,
            "users.ssn: the stored value failed its integrity check (tampered with, or copied \
             from another item, attribute or table)",
            "{part} (byte {at})"
        );
        assert!(
            std::error::Error::source(&err).is_some(),
            "{part}: the detail is kept"
        );
    }
    // A value cut short, or with bytes added, is the same error.
    assert!(
        e.decrypt::<Ssn>(&stored[..stored.len() - 8], Some("u1"))
            .await
            .unwrap_err()
            .is_integrity()
    );
    // Untouched, it still decrypts.
    assert_eq!(
        e.decrypt::<Ssn>(&stored, Some("u1")).await.unwrap(),
        b"secret"
    );
}

#[tokio::test]
async fn a_field_that_binds_the_item_key_needs_one() {
    let (_local, kms) = kms().await;
    let e = Encryptor::new(kms);
    assert!(matches!(
        e.encrypt::<Ssn>(b"x", None).await,
        Err(EncryptionError::Refused(_))
    ));
}

/// `small` in the suite; `full` under `cargo xtask bench` (`DYNOX_FULL_RUNS=1`).
fn size(small: u64, full: u64) -> u64 {
    if std::env::var_os("DYNOX_FULL_RUNS").is_some() {
        full
    } else {
        small
    }
}

/// Thousands of values cost a data key per `max_values`, each way. The suite runs 1,200 values
/// with a cache of 500 values per key (three keys, like 10,000 with the default 4,096);
/// `cargo xtask bench` runs 10,000 with the defaults.
#[tokio::test]
async fn many_values_cost_a_handful_of_kms_calls() {
    let (_local, kms) = kms().await;
    let n = size(1_200, 10_000);
    let limits = if n >= 10_000 {
        CacheLimits::default()
    } else {
        CacheLimits {
            max_values: 500,
            ..CacheLimits::default()
        }
    };
    let per = limits.max_values;
    let cached = Encryptor::with_cache(kms.clone(), Some(limits));
    let uncached = Encryptor::with_cache(kms, None);
    let mut stored = Vec::with_capacity(n as usize);
    for i in 0..n {
        stored.push(
            cached
                .encrypt::<Ssn>(format!("v{i}").as_bytes(), Some("u1"))
                .await
                .unwrap(),
        );
    }
    for (i, s) in stored.iter().enumerate() {
        assert_eq!(
            cached.decrypt::<Ssn>(s, Some("u1")).await.unwrap(),
            format!("v{i}").as_bytes()
        );
    }
    let m = cached.metrics();
    assert_eq!(m.generate_data_key_calls(), n.div_ceil(per));
    assert_eq!(m.decrypt_calls(), n.div_ceil(per));
    println!(
        "cached: {} GenerateDataKey + {} Decrypt for {n} values",
        m.generate_data_key_calls(),
        m.decrypt_calls()
    );
    // Without the cache: one call per value, each way.
    let m_uncached = size(300, 10_000);
    let started = std::time::Instant::now();
    for i in 0..m_uncached {
        let s = uncached
            .encrypt::<Ssn>(format!("w{i}").as_bytes(), Some("u1"))
            .await
            .unwrap();
        uncached.decrypt::<Ssn>(&s, Some("u1")).await.unwrap();
    }
    assert_eq!(uncached.metrics().generate_data_key_calls(), m_uncached);
    assert_eq!(uncached.metrics().decrypt_calls(), m_uncached);
    println!(
        "uncached: {} GenerateDataKey + {} Decrypt for {m_uncached} values ({:?})",
        uncached.metrics().generate_data_key_calls(),
        uncached.metrics().decrypt_calls(),
        started.elapsed()
    );
}

mod models {
    use dynox::attr::Secret;
    use dynox::{AttributeValue, Item, Model};
    use dynox_testing::{LocalDynamo, LocalKms};
    use futures::TryStreamExt;
    use std::sync::Arc;

    #[derive(Model, Debug, Clone, PartialEq)]
    #[dynox(table = "patients")]
    pub struct Patient {
        #[dynox(partition_key)]
        pub id: String,
        pub name: String,
        // Version 2 binds the item's key by default.
        #[dynox(encrypted(key = "alias/dynox-models", context(purpose = "care")))]
        pub diagnosis: Secret<String>,
        #[dynox(encrypted(key = "alias/dynox-models", allow_copy_between_items))]
        pub template: Option<Secret<String>>,
        #[dynox(encrypted(key = "alias/dynox-models", mode = "write_only"))]
        pub audit: Option<Secret<Vec<u8>>>,
        #[dynox(encrypted(key = "alias/dynox-models", version = 1, context(app = "pydynox")))]
        pub legacy: Option<Secret<String>>,
        #[dynox(encrypted(key = "alias/dynox-models", compress = "zstd"))]
        pub history: Option<Secret<String>>,
    }

    #[derive(Model, Debug, Clone)]
    #[dynox(table = "patients")]
    pub struct PatientReader {
        #[dynox(partition_key)]
        pub id: String,
        #[dynox(
            rename = "diagnosis",
            encrypted(
                key = "alias/dynox-models",
                mode = "read_only",
                context(purpose = "care"),
                bind_item_key
            )
        )]
        pub diagnosis: Secret<String>,
    }

    fn patient(id: &str) -> Patient {
        Patient {
            id: id.into(),
            name: format!("name {id}"),
            diagnosis: Secret::new(format!("diagnosis of {id}")),
            audit: Some(Secret::new(b"created by nurse 7".to_vec())),
            legacy: Some(Secret::new("hello python".into())),
            history: Some(Secret::new("visit; ".repeat(500))),
            template: Some(Secret::new(format!("template of {id}"))),
        }
    }

    #[tokio::test]
    async fn encrypted_fields_through_the_client() {
        let kms = LocalKms::start()
            .await
            .expect("the local KMS (run `cargo xtask setup`)");
        kms.create_key(Some("dynox-models")).await.unwrap();
        let local = LocalDynamo::start().await.unwrap();
        let plain_client = local.client();
        local.create_table::<Patient>(&plain_client).await.unwrap();
        let enc = Arc::new(dynox::encryption::Encryptor::new(kms.client()));
        let client = plain_client.with_encryptor(enc.clone());

        // Without an encryptor, nothing is written.
        assert!(
            plain_client
                .put(&patient("p0"))
                .await
                .unwrap_err()
                .is_encryption()
        );

        for i in 0..50 {
            client.put(&patient(&format!("p{i}"))).await.unwrap();
        }
        let raw: Item = client
            .get::<Patient>(Patient::key("p1"))
            .send_as()
            .await
            .unwrap()
            .unwrap();
        for attr in ["diagnosis", "audit", "legacy"] {
            assert!(
                matches!(&raw[attr], AttributeValue::S(s) if s.starts_with("ENC:")),
                "{attr}"
            );
        }
        assert!(
            !format!("{raw:?}").contains("diagnosis of"),
            "no plaintext stored"
        );

        let p = client
            .get::<Patient>(Patient::key("p1"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.diagnosis.plain().unwrap(), "diagnosis of p1");
        assert_eq!(p.legacy.as_ref().unwrap().plain().unwrap(), "hello python");
        // Compressed, then encrypted: far smaller than the 3,500-byte plaintext.
        assert_eq!(
            p.history.as_ref().unwrap().plain().unwrap(),
            &"visit; ".repeat(500)
        );
        assert!(
            matches!(&raw["history"], AttributeValue::S(s) if s.len() < 400),
            "compressed before encryption"
        );
        // Write-only: read back as ciphertext, never plaintext.
        assert!(matches!(p.audit, Some(Secret::Sealed(ref c)) if c.starts_with("ENC:")));
        // Debug never shows plaintext.
        assert!(!format!("{p:?}").contains("diagnosis of"));

        // Queries and scans decrypt too.
        let all: Vec<Patient> = client
            .scan::<Patient>()
            .items()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all.len(), 50);
        assert!(
            all.iter()
                .all(|p| p.diagnosis.plain().unwrap().starts_with("diagnosis of"))
        );

        // A read-only reader decrypts, and refuses to write.
        let r = client
            .get::<PatientReader>(PatientReader::key("p2"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.diagnosis.plain().unwrap(), "diagnosis of p2");
        assert!(client.put(&r).await.unwrap_err().is_encryption());

        // A ciphertext copied to another item does not decrypt.
        let stolen = raw["diagnosis"].clone();
        client.put(&patient("p3")).await.unwrap();
        let mut moved: Item = client
            .get::<Patient>(Patient::key("p3"))
            .send_as()
            .await
            .unwrap()
            .unwrap();
        moved.insert("diagnosis".into(), stolen);
        let moved_item = dynox::expr::Path::<AttributeValue>::new("diagnosis");
        plain_client
            .update::<Patient>(Patient::key("p3"))
            .action(moved_item.set(moved["diagnosis"].clone()))
            .await
            .unwrap_err(); // typed updates of encrypted fields are refused
        plain_client.put(&PatientRaw(moved.clone())).await.unwrap();
        let err = client.get::<Patient>(Patient::key("p3")).await.unwrap_err();
        assert!(err.is_integrity(), "{err}");
        // A field that allows copies between items decrypts in another item.
        moved.insert("diagnosis".into(), raw_p3_diagnosis(&client).await);
        moved.insert("template".into(), raw["template"].clone());
        plain_client.put(&PatientRaw(moved)).await.unwrap();
        let p3 = client
            .get::<Patient>(Patient::key("p3"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p3.template.unwrap().plain().unwrap(), "template of p1");
        // A plaintext, another type or an edited prefix where a ciphertext belongs.
        for planted in [
            AttributeValue::S("diagnosis in the clear".into()),
            AttributeValue::N("7".into()),
            AttributeValue::S(format!(
                "EnC:{}",
                &raw_p3_diagnosis(&client).await.as_s().unwrap()[4..]
            )),
        ] {
            let mut item: Item = client
                .get::<Patient>(Patient::key("p3"))
                .send_as()
                .await
                .unwrap()
                .unwrap();
            item.insert("diagnosis".into(), planted.clone());
            plain_client.put(&PatientRaw(item)).await.unwrap();
            let err = client.get::<Patient>(Patient::key("p3")).await.unwrap_err();
            assert!(err.is_integrity(), "{planted:?}: {err}");
        }

        // Bulk paths refuse instead of storing plaintext.
        assert!(
            client
                .batch_write()
                .put(&patient("b1"))
                .send()
                .await
                .unwrap_err()
                .is_encryption()
        );
        println!(
            "KMS calls for 50 items written and read: {} GenerateDataKey, {} Decrypt",
            enc.metrics().generate_data_key_calls(),
            enc.metrics().decrypt_calls()
        );
        // One data key per context: five encrypted fields.
        assert!(enc.metrics().generate_data_key_calls() <= 5);
    }

    /// p3's own diagnosis, freshly written, as stored.
    async fn raw_p3_diagnosis(client: &dynox::Client) -> AttributeValue {
        let mut p = patient("p3");
        p.template = None;
        client.put(&p).await.unwrap();
        let raw: Item = client
            .get::<Patient>(Patient::key("p3"))
            .send_as()
            .await
            .unwrap()
            .unwrap();
        raw["diagnosis"].clone()
    }

    /// A raw item written to the patients table, to plant a moved ciphertext.
    pub struct PatientRaw(pub Item);
    impl dynox::FromItem for PatientRaw {
        fn from_item(item: Item) -> dynox::Result<Self> {
            Ok(PatientRaw(item))
        }
    }
    impl Model for PatientRaw {
        const TABLE: &'static str = "patients";
        const NAME: &'static str = "PatientRaw";
        const PARTITION_KEY: dynox::model::KeyAttribute = Patient::PARTITION_KEY;
        const SORT_KEY: Option<dynox::model::KeyAttribute> = None;
        type Key = PatientKey;
        type Fields = ();
        fn fields() {}
        fn primary_key(&self) -> PatientKey {
            match &self.0["id"] {
                AttributeValue::S(s) => Patient::key(s.clone()),
                _ => unreachable!("test items have string ids"),
            }
        }
        fn to_item(&self) -> dynox::Result<Item> {
            Ok(self.0.clone())
        }
    }

    /// Encrypted (one compressed first), plainly compressed and plain fields.
    #[derive(Model, Debug, Clone)]
    #[dynox(table = "records")]
    pub struct Record {
        #[dynox(partition_key)]
        pub id: String,
        pub title: String,
        #[dynox(encrypted(key = "alias/dynox-sizes", context(purpose = "size")))]
        pub code: Secret<String>,
        #[dynox(encrypted(key = "alias/dynox-sizes", compress = "zstd"))]
        pub notes: Option<Secret<String>>,
        #[dynox(compress = "zstd")]
        pub body: String,
    }

    #[derive(Model, Debug, Clone)]
    #[dynox(table = "records")]
    pub struct PlainRecord {
        #[dynox(partition_key)]
        pub id: String,
        #[dynox(compress(algorithm = "gzip", min_size = 10))]
        pub body: String,
        pub count: u64,
    }

    #[tokio::test]
    async fn stored_size_counts_envelopes_and_compression_exactly() {
        let kms = LocalKms::start()
            .await
            .expect("the local KMS (run `cargo xtask setup`)");
        kms.create_key(Some("dynox-sizes")).await.unwrap();
        let local = LocalDynamo::start().await.unwrap();
        let plain_client = local.client();
        local.create_table::<Record>(&plain_client).await.unwrap();
        let client =
            plain_client.with_encryptor(Arc::new(dynox::encryption::Encryptor::new(kms.client())));
        let record = |id: &str, notes: Option<String>| Record {
            id: id.into(),
            title: format!("title of {id}"),
            code: Secret::new("123-45-6789".into()),
            notes: notes.map(Secret::new),
            body: "line of text; ".repeat(300),
        };
        for r in [
            record("r1", Some("seen on monday; ".repeat(200))),
            record("r2", None),
            record("r3", Some("short".into())),
        ] {
            let counted = dynox::size::stored(&client, &r).await.unwrap();
            client.put(&r).await.unwrap();
            let raw: Item = client
                .get::<Record>(Record::key(r.id.clone()))
                .send_as()
                .await
                .unwrap()
                .unwrap();
            let stored = dynox::size::breakdown(&raw);
            assert_eq!(counted.total, dynox::size::item_size(&raw), "{}", r.id);
            assert_eq!(counted, stored, "{}: attribute by attribute", r.id);
            // The envelope is far bigger than the plaintext `of` counts.
            let of = dynox::size::of(&r).unwrap();
            let code = |b: &dynox::size::SizeBreakdown| {
                b.attributes.iter().find(|a| a.0 == "code").unwrap().1
            };
            assert!(code(&stored) > code(&of) + 50, "{stored:?} vs {of:?}");
            // `of` counts a plaintext as its docs say: name, plaintext and four bytes.
            assert_eq!(code(&of), "code".len() + "123-45-6789".len() + 4);
            // The plainly compressed field is counted compressed by both.
            let body = |b: &dynox::size::SizeBreakdown| {
                b.attributes.iter().find(|a| a.0 == "body").unwrap().1
            };
            assert_eq!(body(&of), body(&stored));
            assert!(body(&stored) < 300, "{stored:?}");
        }
        // Compressed before the envelope: 3,200 bytes of notes stored in far fewer.
        let r1 = dynox::size::stored(&client, &record("r1", Some("seen on monday; ".repeat(200))))
            .await
            .unwrap();
        let notes = r1.attributes.iter().find(|a| a.0 == "notes").unwrap().1;
        assert!(notes < 400, "{r1:?}");
        // A read-back item is decrypted: counted stored, it is sealed again, at the same size.
        let back = client
            .get::<Record>(Record::key("r2"))
            .await
            .unwrap()
            .unwrap();
        assert!(back.code.plain().is_some());
        assert_eq!(
            dynox::size::stored(&client, &back).await.unwrap(),
            dynox::size::stored(&client, &record("r2", None))
                .await
                .unwrap()
        );
        // Without an encryptor the stored size cannot be known: an encryption error, as for a put.
        let err = dynox::size::stored(&plain_client, &back).await.unwrap_err();
        assert!(err.is_encryption(), "{err}");

        // Without encrypted fields, `stored` is `of`, and needs no encryptor.
        let p = PlainRecord {
            id: "p1".into(),
            body: "abcabcabc".repeat(100),
            count: 12345,
        };
        let counted = dynox::size::stored(&plain_client, &p).await.unwrap();
        assert_eq!(counted, dynox::size::of(&p).unwrap());
        plain_client.put(&p).await.unwrap();
        let raw: Item = plain_client
            .get::<PlainRecord>(PlainRecord::key("p1"))
            .send_as()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(counted, dynox::size::breakdown(&raw));
    }
}

#[tokio::test]
async fn a_denial_by_iam_is_a_kms_error_not_an_integrity_one() {
    let local = LocalKms::start()
        .await
        .expect("the local KMS (run `cargo xtask setup`)");
    local.create_key(Some("dynox-test")).await.unwrap();
    let stored = Encryptor::new(local.client())
        .encrypt::<Ssn>(b"secret", Some("u1"))
        .await
        .unwrap();
    // A role that may encrypt but not decrypt.
    let only_encrypt = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["kms:GenerateDataKey"], "Resource": ["*"]}]}"#;
    let local = local
        .enforce(dynox_testing::iam::Enforcer::from_json(only_encrypt).unwrap())
        .unwrap();
    let err = Encryptor::new(local.client())
        .decrypt::<Ssn>(&stored, Some("u1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EncryptionError::Kms {
                operation: "Decrypt",
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text == "KMS Decrypt with key alias/dynox-test failed: AccessDeniedException",
        "{text}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn an_oversized_key_length_or_a_foreign_blob_is_an_integrity_error() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let local = LocalKms::start()
        .await
        .expect("the local KMS (run `cargo xtask setup`)");
    let key_id = local.create_key(Some("dynox-test")).await.unwrap();
    let e = Encryptor::with_cache(local.client(), None);
    let stored = e.encrypt::<Ssn>(b"secret", Some("u1")).await.unwrap();
    let mut raw = b64.decode(stored.strip_prefix("ENC:").unwrap()).unwrap();
    // A length prefix past KMS's largest blob, with the bytes to match.
    let mut long = raw.clone();
    long[1..3].copy_from_slice(&7000u16.to_be_bytes());
    long.extend(std::iter::repeat_n(0u8, 7000));
    let long = format!("ENC:{}", b64.encode(long));
    assert!(
        e.decrypt::<Ssn>(&long, Some("u1"))
            .await
            .unwrap_err()
            .is_integrity()
    );
    // Under an enforcing gateway that grants Decrypt on the key: a flipped byte where the blob
    // names its key is still the value's fault, not a denial.
    let policy = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": ["arn:aws:kms:us-east-1:123456789012:key/{key_id}"]}}]}}"#
    );
    let local = local
        .enforce(dynox_testing::iam::Enforcer::from_json(&policy).unwrap())
        .unwrap();
    let e = Encryptor::with_cache(local.client(), None);
    // Called by key id: the policy names the key, not the alias.
    struct ById;
    impl EncryptedField for ById {
        const KEY: &'static str = "alias/dynox-test";
        const MODE: Mode = Mode::ReadWrite;
        const VERSION: u8 = V2;
        const TABLE: &'static str = "users";
        const ATTRIBUTE: &'static str = "ssn";
        const CONTEXT: &'static [(&'static str, &'static str)] = &[("tenant", "acme")];
        const BIND_ITEM_KEY: bool = true;
    }
    let e = e.with_mapping(&dynox::Mapping {
        kms_keys: [("alias/dynox-test".to_owned(), key_id.clone())].into(),
        ..Default::default()
    });
    assert_eq!(
        e.decrypt::<ById>(&stored, Some("u1")).await.unwrap(),
        b"secret"
    );
    raw[3] ^= 0x01;
    let flipped = format!("ENC:{}", b64.encode(raw));
    let err = e.decrypt::<ById>(&flipped, Some("u1")).await.unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
}
