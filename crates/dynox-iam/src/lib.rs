//! The permission side of dynox: what an operation needs from IAM, recorded where the operation
//! builds its request, and read back out of the linked executable.
//!
//! Every dynox operation that can reach AWS calls [`mark!`] with the IAM action, the resource and
//! the operation that needs it. The macro places a fixed-size [`marker`] record in read-only data
//! that survives linking exactly when the calling function does, so [`scan`] can read a finished
//! binary and tell which permissions it can use — nothing missing, nothing extra. [`policy`] turns
//! that set into a least-privilege IAM policy document, and [`cli`] is the `policy` command that
//! `cargo xtask policy` (or a user's own xtask) runs. This crate has no AWS SDK dependency.

pub mod actions;
pub mod cli;
pub mod mapping;
pub mod marker;
pub mod policy;
pub mod render;
pub mod scan;
pub mod statement;

pub use mapping::{Mapping, MappingError};
pub use marker::{Requirement, Resource, ResourceRef};
pub use policy::{Policy, PolicyError, PolicyOptions};
pub use scan::{ScanError, ScanReport, scan_bytes, scan_file};
