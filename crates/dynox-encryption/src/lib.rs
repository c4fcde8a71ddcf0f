//! Protected attribute values: KMS envelope encryption and compression, in formats pydynox
//! reads and writes.
//!
//! [`envelope`] is the stored `ENC:` format and its AES-256-GCM seal (version 1 as pydynox writes
//! it, version 2 bound to table, attribute and item); [`kms`] wraps data keys with KMS, caches
//! them, counts KMS calls and marks `kms:GenerateDataKey` / `kms:Decrypt` on each field's
//! declared key; [`compress`] is the `ZSTD:` / `LZ4:` / `GZIP:` formats with bounded
//! decompression. The crate sits between `dynox-iam` and `dynox`.

pub mod compress;
pub mod envelope;
pub mod kms;
