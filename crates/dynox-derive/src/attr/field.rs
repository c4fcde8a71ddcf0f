//! The attributes of a field, and the `rename` of an enum variant.

use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned as _;
use syn::{Attribute, LitStr};

use super::codec::{compress, encrypted, generator, s3, timestamp};
use super::{each_dynox, flag, lit_str, path_name, unknown};
use crate::ast::{FieldAttrs, Generate, Generator, Part, Storage, Template};
use crate::errors::Errors;

pub(crate) fn field_attrs(attrs: &[Attribute], errors: &Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    each_dynox(attrs, errors, |meta| field_item(meta, &mut out, errors));
    out
}

fn field_item(
    meta: &ParseNestedMeta<'_>,
    out: &mut FieldAttrs,
    errors: &Errors,
) -> syn::Result<()> {
    let p = &meta.path;
    let name = path_name(p);
    match name.as_str() {
        "partition_key" => flag(&mut out.partition_key, &name, meta, errors),
        "sort_key" => flag(&mut out.sort_key, &name, meta, errors),
        "skip" => flag(&mut out.skip, &name, meta, errors),
        "default" => flag(&mut out.default, &name, meta, errors),
        "extra" => flag(&mut out.extra, &name, meta, errors),
        "ttl" => flag(&mut out.ttl, &name, meta, errors),
        "version" => flag(&mut out.version, &name, meta, errors),
        "rename" => {
            let lit = lit_str(meta)?;
            if lit.value().is_empty() {
                errors.at(&lit, "an attribute name cannot be empty");
            }
            out.rename = Some(lit);
        }
        "template" => {
            let lit = lit_str(meta)?;
            let parts = errors.ok(template_parts(&lit));
            out.template = Some(Template { lit, parts });
        }
        _ if storage_or_generated(meta, out, errors)? => {}
        _ => {
            let message = format!(
                "unknown dynox attribute `{name}` on a field; expected one of `partition_key`, \
                 `sort_key`, `rename = \"...\"`, `skip`, `default`, `timestamp = \"...\"`, \
                 `serde`, `json`, `compress`, `encrypted(...)`, `s3(...)`, `ttl`, `version`, `generate = \"...\"`, `created_at`, \
                 `updated_at`, `extra`, `template = \"...\"`",
            );
            return unknown(meta, errors, message);
        }
    }
    Ok(())
}

/// A storage form or a generated value; `Ok(false)` when `meta` is neither.
fn storage_or_generated(
    meta: &ParseNestedMeta<'_>,
    out: &mut FieldAttrs,
    errors: &Errors,
) -> syn::Result<bool> {
    let p = &meta.path;
    let storage = if p.is_ident("timestamp") {
        timestamp(meta, errors)?.map(Storage::Timestamp)
    } else if p.is_ident("encrypted") {
        out.encrypted = Some(encrypted(meta, errors)?);
        Some(Storage::Encrypted)
    } else if p.is_ident("s3") {
        out.s3 = Some(s3(meta, errors)?);
        Some(Storage::S3)
    } else if p.is_ident("compress") {
        Some(Storage::Compressed(compress(meta, errors)?))
    } else if p.is_ident("serde") {
        Some(Storage::Serde)
    } else if p.is_ident("json") {
        Some(Storage::Json)
    } else {
        let generate = if p.is_ident("generate") {
            generator(meta, errors)?.map(|(g, lit)| (g, lit.span(), false))
        } else if p.is_ident("created_at") {
            Some((Generator::Now, p.span(), false))
        } else if p.is_ident("updated_at") {
            Some((Generator::Now, p.span(), true))
        } else {
            return Ok(false);
        };
        if let Some((generator, span, refresh)) = generate {
            set_generator(
                out,
                Generate {
                    generator,
                    span,
                    refresh,
                },
                meta,
                errors,
            );
        }
        return Ok(true);
    };
    if let Some(storage) = storage {
        if out.storage.is_some() {
            errors.push(
                meta.error(
                    "a field has one storage form: `timestamp`, `serde`, `json` or `compress`",
                ),
            );
        }
        out.storage = Some(storage);
    }
    Ok(true)
}

fn set_generator(out: &mut FieldAttrs, g: Generate, meta: &ParseNestedMeta<'_>, errors: &Errors) {
    if out.generate.is_some() {
        errors.push(
            meta.error("a field has one generated value: `generate`, `created_at` or `updated_at`"),
        );
        return;
    }
    out.generate = Some(g);
}

/// Reads a key template: text, and `{field}` placeholders with text between them.
fn template_parts(lit: &LitStr) -> syn::Result<Vec<Part>> {
    let fail = |message: &str| Err(syn::Error::new_spanned(lit, message));
    let text = lit.value();
    let mut parts = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(['{', '}']) {
        if rest.as_bytes()[i] == b'}' {
            return fail("a `}` without its `{` in the template");
        }
        if i > 0 {
            parts.push(Part::Text(rest[..i].to_owned()));
        }
        let Some(close) = rest[i..].find('}').map(|c| c + i) else {
            return fail("a `{` without its `}` in the template");
        };
        let name = rest[i + 1..close].trim();
        if name.is_empty() {
            return fail("an empty `{}` in the template");
        }
        if matches!(parts.last(), Some(Part::Value(_))) {
            return fail("two placeholders need text between them, or the key cannot be read back");
        }
        parts.push(Part::Value(name.to_owned()));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(parts)
}

/// `rename = "..."` on an enum variant of a nested type.
pub(crate) fn variant_rename(attrs: &[Attribute], errors: &Errors) -> Option<LitStr> {
    let mut out = None;
    each_dynox(attrs, errors, |meta| {
        if meta.path.is_ident("rename") {
            out = Some(lit_str(meta)?);
            Ok(())
        } else {
            let message = format!(
                "unknown dynox attribute `{}` on a variant; expected `rename = \"...\"`",
                path_name(&meta.path)
            );
            unknown(meta, errors, message)
        }
    });
    out
}
