//! KMS envelope encryption against moto's KMS (started by the harness on loopback).

use dynox_encryption::envelope::{EnvelopeError, V1, V2};
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
    let auth = |r: Result<Vec<u8>, EncryptionError>| {
        matches!(
            r,
            Err(EncryptionError::Envelope(EnvelopeError::Authentication))
        )
    };
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
    assert!(e.decrypt::<LegacyOtherContext>(&v1, None).await.is_err());
    // Unknown versions and garbage are clear errors.
    let v9 = format!(
        "ENC:{}",
        base64::engine::general_purpose::STANDARD.encode([9u8, 0, 1, 7])
    );
    assert!(matches!(
        e.decrypt::<Ssn>(&v9, Some("u1")).await,
        Err(EncryptionError::Envelope(EnvelopeError::UnknownVersion(9)))
    ));
    assert!(e.decrypt::<Ssn>("plain text", Some("u1")).await.is_err());
}

#[tokio::test]
async fn ten_thousand_values_cost_a_handful_of_kms_calls() {
    let (_local, kms) = kms().await;
    let cached = Encryptor::new(kms.clone());
    let uncached = Encryptor::with_cache(kms, None);
    let mut stored = Vec::with_capacity(10_000);
    for i in 0..10_000 {
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
    let per = CacheLimits::default().max_values;
    assert_eq!(m.generate_data_key_calls(), 10_000u64.div_ceil(per));
    assert_eq!(m.decrypt_calls(), 10_000u64.div_ceil(per));
    println!(
        "cached: {} GenerateDataKey + {} Decrypt for 10,000 values",
        m.generate_data_key_calls(),
        m.decrypt_calls()
    );
    // Without the cache: one call per value (measured on a smaller batch).
    for i in 0..200 {
        let s = uncached
            .encrypt::<Ssn>(format!("w{i}").as_bytes(), Some("u1"))
            .await
            .unwrap();
        uncached.decrypt::<Ssn>(&s, Some("u1")).await.unwrap();
    }
    assert_eq!(uncached.metrics().generate_data_key_calls(), 200);
    assert_eq!(uncached.metrics().decrypt_calls(), 200);
}
