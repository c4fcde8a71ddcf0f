//! The attributes of a model, and the `tag` of a nested enum.

use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr};

use super::index::{index, vector_index};
use super::{choice, each_dynox, lit_str, path_name, unknown};
use crate::ast::{IndexKind, ModelAttrs, Unknown};
use crate::errors::Errors;

pub(crate) fn model_attrs(attrs: &[Attribute], errors: &Errors) -> ModelAttrs {
    let mut out = ModelAttrs {
        table: None,
        indexes: Vec::new(),
        vectors: Vec::new(),
        hooks: false,
        max_size: None,
        unknown: Unknown::Ignore,
        entity: None,
        discriminator: "_type".to_owned(),
        tenant: None,
    };
    each_dynox(attrs, errors, |meta| model_item(meta, &mut out, errors));
    out
}

fn model_item(
    meta: &ParseNestedMeta<'_>,
    out: &mut ModelAttrs,
    errors: &Errors,
) -> syn::Result<()> {
    let p = &meta.path;
    if p.is_ident("table") {
        if out.table.is_some() {
            errors.push(meta.error("`table` is given twice"));
        }
        out.table = Some(lit_str(meta)?);
    } else if p.is_ident("global_index") {
        out.indexes.extend(index(meta, IndexKind::Global, errors));
    } else if p.is_ident("local_index") {
        out.indexes.extend(index(meta, IndexKind::Local, errors));
    } else if p.is_ident("vector_index") {
        out.vectors.extend(vector_index(meta, errors));
    } else if p.is_ident("hooks") {
        out.hooks = true;
    } else if p.is_ident("unknown") {
        const CHOICES: [(&str, Unknown); 3] = [
            ("ignore", Unknown::Ignore),
            ("error", Unknown::Error),
            ("keep", Unknown::Keep),
        ];
        let message =
            "unknown is \"ignore\", \"error\" or \"keep\" (with an #[dynox(extra)] field)";
        if let Some(u) = choice(meta, errors, &CHOICES, message)? {
            out.unknown = u;
        }
    } else if p.is_ident("entity") {
        out.entity = Some(lit_str(meta)?);
    } else if p.is_ident("discriminator") {
        out.discriminator = lit_str(meta)?.value();
    } else if p.is_ident("tenant") {
        out.tenant = Some(lit_str(meta)?);
    } else if p.is_ident("max_size") {
        let lit: syn::LitInt = meta.value()?.parse()?;
        let n: usize = lit.base10_parse()?;
        if n == 0 || n > 400 * 1024 {
            errors.at(
                &lit,
                "max_size is 1 to 409600 bytes (DynamoDB's 400 KB item limit)",
            );
        }
        out.max_size = Some(lit);
    } else {
        let message = format!(
            "unknown dynox attribute `{}` on a model; expected `table = \"...\"`, \
             `global_index(...)`, `local_index(...)`, `vector_index(...)`, `hooks`, \
             `max_size = N`, `unknown = \"...\"`, `entity = \"...\"`, \
             `discriminator = \"...\"` or `tenant = \"field\"`",
            path_name(p)
        );
        return unknown(meta, errors, message);
    }
    Ok(())
}

/// `tag = "..."` of a nested type: the attribute naming an enum's variant (`type` unless given).
pub(crate) fn nested_tag(attrs: &[Attribute], errors: &Errors) -> String {
    let mut tag = "type".to_owned();
    each_dynox(attrs, errors, |meta| {
        if meta.path.is_ident("tag") {
            tag = meta.value()?.parse::<LitStr>()?.value();
            Ok(())
        } else {
            let message = format!(
                "unknown dynox attribute `{}` on a nested type; expected `tag = \"...\"` (enums)",
                path_name(&meta.path)
            );
            unknown(meta, errors, message)
        }
    });
    tag
}
