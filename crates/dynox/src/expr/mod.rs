//! Typed expressions: attribute paths, conditions, update actions and projections.
//!
//! Every name and value is rendered as a placeholder (`#n0`, `:v0`); user data never becomes
//! expression text. Conversion errors (a NaN in a condition, say) are kept until the request is
//! built, and fail it before anything is sent.

mod condition;
mod path;
mod render;
mod update;

pub use condition::{AttributeType, Condition, Size};
pub use path::{AnyPath, Contains, IntoValue, Path, Segment};
pub use render::Placeholders;
pub(crate) use update::render as update_render;
pub use update::{ReturnValues, UpdateAction};
