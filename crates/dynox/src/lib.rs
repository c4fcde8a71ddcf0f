//! dynox is a typed DynamoDB client: models from `#[derive(Model)]`, typed conditions and
//! updates with placeholders only, one send path for every request, and a permission marker on
//! every operation so that `cargo xtask policy` can print the exact IAM policy a binary needs.
//!
//! ```no_run
//! use dynox::{Client, Model};
//!
//! #[derive(Model, Debug)]
//! #[dynox(table = "users")]
//! struct User {
//!     #[dynox(partition_key)]
//!     id: String,
//!     name: String,
//!     visits: u64,
//! }
//!
//! # async fn run() -> dynox::Result<()> {
//! let client = Client::builder().region("eu-west-1").build().await;
//! client.put(&User { id: "u1".into(), name: "Ada".into(), visits: 0 }).if_not_exists().await?;
//! let f = User::fields();
//! client.update::<User>(User::key("u1")).action(f.visits.increment(1)).await?;
//! let user = client.get::<User>(User::key("u1")).await?;
//! # Ok(()) }
//! ```

pub mod attr;
pub mod batch;
pub mod capacity;
mod client;
mod cursor;
/// Field encryption (re-exported from `dynox-encryption`): declarations, modes, the encryptor.
pub mod encryption {
    pub use dynox_encryption::compress::Compression;
    pub use dynox_encryption::kms::{
        CacheLimits, EncryptedField, EncryptionError, Encryptor, KmsFigures, KmsMetrics,
        KmsObserver, Mode, describe_metrics, measure, measuring,
    };
}
pub mod error;
pub mod expr;
pub mod generate;
pub mod item;
pub mod layers;
pub mod lease;
pub mod lifecycle;
pub mod model;
pub mod observe;
mod outside;
pub mod partiql;
mod pending;
pub mod query;
mod rename;
pub mod s3;
pub mod sealing;
pub mod send;
pub mod size;
pub mod streams;
pub mod table;
pub mod transaction;
pub mod vector;

pub use aws_sdk_dynamodb::types::AttributeValue;
/// The chrono crate, whose `DateTime<Utc>` and `DateTime<FixedOffset>` are dynox attribute
/// types (and fill `created_at` / `updated_at`): `dynox::chrono::{DateTime, Utc}`, with no
/// dependency of your own to keep in step.
pub use chrono;
pub use client::{Client, ClientBuilder};
pub use dynox_derive::{Attribute, Collection, Model, partiql};
pub use dynox_iam::Mapping;
pub use error::{Error, ErrorContext, Result};
pub use lifecycle::Tracked;
pub use model::{FromItem, Hooks, Model, ModelKey};
pub use pending::Pending;

/// An item: attribute names to values, as the AWS SDK represents it.
pub type Item = std::collections::HashMap<String, AttributeValue>;
