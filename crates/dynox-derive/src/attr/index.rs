//! `global_index(...)`, `local_index(...)` and `vector_index(...)`.

use syn::meta::ParseNestedMeta;
use syn::{Ident, LitInt, LitStr};

use super::{choice, field_list, lit_str, path_name, unknown};
use crate::ast::{Distance, Index, IndexKind, Projection, VectorIndex};
use crate::errors::Errors;

/// A secondary index; `None` (recorded) when it has no name.
pub(crate) fn index(meta: &ParseNestedMeta<'_>, kind: IndexKind, errors: &Errors) -> Option<Index> {
    let (mut name, mut rust_name, mut projection) = (None, None, None);
    let (mut partition, mut sort) = (Vec::new(), Vec::new());
    let parsed = meta.parse_nested_meta(|m| {
        if m.path.is_ident("name") {
            name = Some(lit_str(&m)?);
        } else if m.path.is_ident("rust_name") {
            rust_name = Some(lit_str(&m)?.parse::<Ident>()?);
        } else if m.path.is_ident("partition_key") {
            if kind == IndexKind::Local {
                errors.push(
                    m.error("a local index shares the table's partition key: give only `sort_key`"),
                );
                field_list(&m)?;
            } else {
                partition = field_list(&m)?;
            }
        } else if m.path.is_ident("sort_key") {
            sort = field_list(&m)?;
        } else if let Some(p) = projection_item(&m, errors)? {
            projection = Some(p);
        } else {
            let message = format!(
                "unknown index attribute `{}`; expected `name`, `partition_key`, `sort_key`, \
                 `projection`, `include` or `rust_name`",
                path_name(&m.path)
            );
            return unknown(&m, errors, message);
        }
        Ok(())
    });
    // Unreadable tokens end the list: what it lacks is not reported on top.
    errors.ok(parsed)?;
    let Some(name) = name else {
        errors.push(meta.error("an index needs `name = \"...\"`"));
        return None;
    };
    Some(Index {
        name,
        kind,
        rust_name,
        partition,
        sort,
        projection: projection.unwrap_or(Projection::All),
    })
}

/// `projection = "..."` or `include = [...]`: `Ok(None)` when `m` is neither, `Ok(Some(All))`
/// (recorded) for an unknown projection.
fn projection_item(m: &ParseNestedMeta<'_>, errors: &Errors) -> syn::Result<Option<Projection>> {
    if m.path.is_ident("projection") {
        const CHOICES: [(&str, bool); 2] = [("all", true), ("keys_only", false)];
        let message = "projection is \"all\" or \"keys_only\"; use include = [...] for a list";
        Ok(Some(match choice(m, errors, &CHOICES, message)? {
            Some(false) => Projection::KeysOnly,
            _ => Projection::All,
        }))
    } else if m.path.is_ident("include") {
        Ok(Some(Projection::Include(field_list(m)?)))
    } else {
        Ok(None)
    }
}

/// The parts of `vector_index(...)` as given.
#[derive(Default)]
struct VectorParts {
    name: Option<LitStr>,
    rust_name: Option<Ident>,
    vector: Option<LitStr>,
    dimensions: Option<LitInt>,
    distance: Option<Distance>,
    partition: Option<LitStr>,
    filters: Vec<LitStr>,
    projection: Option<Projection>,
    /// Given but not a distance: reported at the literal, not again as missing.
    bad_distance: bool,
}

/// A vector index; `None` (recorded) when one of its required parts is missing.
pub(crate) fn vector_index(meta: &ParseNestedMeta<'_>, errors: &Errors) -> Option<VectorIndex> {
    let mut v = VectorParts::default();
    let parsed = meta.parse_nested_meta(|m| vector_item(&m, &mut v, errors));
    // Unreadable tokens end the list: what it lacks is not reported on top.
    errors.ok(parsed)?;
    let missing = |what: &str| errors.push(meta.error(format!("a vector index needs `{what}`")));
    if v.name.is_none() {
        missing("name = \"...\"");
    }
    if v.dimensions.is_none() {
        missing("dimensions = N");
    }
    if v.vector.is_none() {
        missing("vector = \"field\"");
    }
    if v.distance.is_none() && !v.bad_distance {
        missing("distance = \"cosine\"");
    }
    Some(VectorIndex {
        name: v.name?,
        vector: v.vector?,
        dimensions: v.dimensions?,
        distance: v.distance?,
        rust_name: v.rust_name,
        partition: v.partition,
        filters: v.filters,
        projection: v.projection.unwrap_or(Projection::All),
    })
}

fn vector_item(m: &ParseNestedMeta<'_>, v: &mut VectorParts, errors: &Errors) -> syn::Result<()> {
    if m.path.is_ident("name") {
        v.name = Some(lit_str(m)?);
    } else if m.path.is_ident("rust_name") {
        v.rust_name = Some(lit_str(m)?.parse::<Ident>()?);
    } else if m.path.is_ident("vector") {
        v.vector = Some(lit_str(m)?);
    } else if m.path.is_ident("dimensions") {
        let lit: LitInt = m.value()?.parse()?;
        errors.ok(lit.base10_parse::<u32>());
        v.dimensions = Some(lit);
    } else if m.path.is_ident("distance") {
        const CHOICES: [(&str, Distance); 3] = [
            ("cosine", Distance::Cosine),
            ("euclidean", Distance::Euclidean),
            ("dot_product", Distance::DotProduct),
        ];
        let message = "distance is \"cosine\", \"euclidean\" or \"dot_product\"";
        v.distance = choice(m, errors, &CHOICES, message)?;
        v.bad_distance = v.distance.is_none();
    } else if m.path.is_ident("partition") {
        v.partition = Some(lit_str(m)?);
    } else if m.path.is_ident("filters") {
        v.filters = field_list(m)?;
    } else if let Some(p) = projection_item(m, errors)? {
        v.projection = Some(p);
    } else {
        let message = format!(
            "unknown vector index attribute `{}`; expected `name`, `vector`, `dimensions`, \
             `distance`, `partition`, `filters`, `projection`, `include` or `rust_name`",
            path_name(&m.path)
        );
        return unknown(m, errors, message);
    }
    Ok(())
}
