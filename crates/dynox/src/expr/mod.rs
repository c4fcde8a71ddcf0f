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
pub use path::{AnyPath, Contains, HasFields, IntoValue, Path, Segment};
pub use render::Placeholders;
pub(crate) use update::render as update_render;
pub use update::{ReturnValues, UpdateAction};

/// Renders a projection; overlapping or repeated paths are refused (DynamoDB rejects them).
pub(crate) fn render_projection(
    paths: &[AnyPath],
    p: &mut Placeholders,
) -> Result<Option<String>, crate::Error> {
    for (i, a) in paths.iter().enumerate() {
        for b in &paths[i + 1..] {
            let n = a.0.len().min(b.0.len());
            if a.0[..n] == b.0[..n] {
                return Err(crate::Error::validation(format!(
                    "projection paths overlap: {a} and {b}"
                )));
            }
        }
    }
    Ok((!paths.is_empty()).then(|| {
        let parts: Vec<String> = paths.iter().map(|a| p.path(&a.0)).collect();
        parts.join(", ")
    }))
}
