//! Stored formats for protected attribute values: compression now, KMS envelope encryption
//! next.
//!
//! [`compress`] reads and writes the `"ZSTD:"`, `"LZ4:"` and `"GZIP:"` forms pydynox uses, with
//! bounded decompression. The crate sits between `dynox-iam` (whose markers its KMS calls will
//! carry) and `dynox` (whose attribute codecs call it).

pub mod compress;
