//! Field-level KMS envelope encryption for dynox models.
//!
//! A model field declared encrypted is sealed with AES-256-GCM under a data key from KMS
//! `GenerateDataKey`, and opened with KMS `Decrypt`; the KMS permissions are marked with
//! `dynox-iam` like every other operation. The crate sits between `dynox-iam` and `dynox` in the
//! dependency order, and its API arrives with the encryption work on the roadmap: until then it
//! exports nothing.
