//! The one validation pass over a parsed input: every rule that relates attributes to each
//! other, to the fields and to DynamoDB's limits. Every broken rule is recorded, so that all of
//! an input's mistakes show in one compile; emission runs only on an input that passed.

use syn::Type;

use crate::ast::{
    Codec, Container, Field, Generator, IndexKind, Nested, NestedBody, Projection, Unknown,
    generic_arg, option_inner,
};
use crate::errors::Errors;

/// Checks a model.
pub(crate) fn model(c: &Container<'_>, errors: &Errors) {
    if !c.generics.params.is_empty() {
        errors.at(
            c.generics,
            "#[derive(Model)] does not support generic structs",
        );
    }
    table(c, errors);
    index_declarations(c, errors);
    for f in &c.fields {
        field_roles(f, errors);
    }
    one_of_each(c, errors);
    stored_names(c, errors);
    unknown_keep(c, errors);
    for f in c.fields.iter().filter(|f| f.attrs.template.is_some()) {
        template(c, f, errors);
    }
    index_fields(c, errors);
    vector_fields(c, errors);
    for f in c.fields.iter().filter(|f| f.attrs.encrypted.is_some()) {
        if generic_arg(option_inner(&f.ty).unwrap_or(&f.ty), "Secret").is_none() {
            errors.at(
                &f.ty,
                "an encrypted field is a dynox::attr::Secret<String> or Secret<Vec<u8>> (or an Option of one)",
            );
        }
    }
    for f in c.fields.iter().filter(|f| f.attrs.s3.is_some()) {
        s3_field(f, errors);
    }
    if let Some(tenant) = &c.attrs.tenant
        && let Err(message) = c.tenant_pattern(&tenant.value())
    {
        errors.at(tenant, message);
    }
}

/// An S3-backed field: an `S3Object` (or an Option of one), not a key, in a bucket with a valid
/// name.
fn s3_field(f: &Field, errors: &Errors) {
    let inner = option_inner(&f.ty).unwrap_or(&f.ty);
    let is_object = matches!(inner, syn::Type::Path(p)
        if p.path.segments.last().is_some_and(|s| s.ident == "S3Object"));
    if !is_object {
        errors.at(
            &f.ty,
            "an s3 field is a dynox::attr::S3Object (or an Option of one)",
        );
    }
    if f.is_key() {
        errors.at(&f.ident, "a key is stored in the item, not in S3");
    }
    let spec = f.attrs.s3.as_ref().expect("an s3 field");
    let bucket = spec.bucket.value();
    if !bucket.is_empty() && !dynox_iam::mapping::bucket_name(&bucket) {
        errors.at(
            &spec.bucket,
            "an S3 bucket name has 3 to 63 characters: lowercase letters, digits, `.` and `-`, \
             starting and ending with a letter or digit",
        );
    }
    if let (Some(t), Some(p)) = (spec.multipart_threshold, spec.part_size)
        && p > t.max(5 * 1024 * 1024 * 1024)
    {
        errors.at(&spec.bucket, "part_size is larger than multipart_threshold");
    }
    if spec.part_size.is_some() && spec.multipart_threshold.is_none() {
        errors.at(&spec.bucket, "part_size needs multipart_threshold");
    }
}

/// DynamoDB's rule for table and index names.
pub(crate) fn valid_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

const INDEX_NAME: &str = "an index name has 3 to 255 characters: letters, digits, `_`, `-` and `.`";

fn table(c: &Container<'_>, errors: &Errors) {
    match &c.attrs.table {
        Some(t) if !valid_name(&t.value()) => errors.at(
            t,
            "a DynamoDB table name has 3 to 255 characters: letters, digits, `_`, `-` and `.`",
        ),
        Some(_) => {}
        None if c.incomplete => {}
        None => errors.at(
            c.ident,
            "a model needs its table: add #[dynox(table = \"...\")]",
        ),
    }
}

/// Each index on its own, then the names and counts of all of them.
fn index_declarations(c: &Container<'_>, errors: &Errors) {
    let mut seen = std::collections::HashSet::new();
    for ix in &c.attrs.indexes {
        if !valid_name(&ix.name.value()) {
            errors.at(&ix.name, INDEX_NAME);
        }
        let (max_pk, max_sk) = match ix.kind {
            IndexKind::Global => (4, 4),
            IndexKind::Local => (0, 1),
        };
        if ix.kind == IndexKind::Global && ix.partition.is_empty() {
            errors.at(&ix.name, "a global index needs `partition_key`");
        }
        if ix.kind == IndexKind::Local && ix.sort.is_empty() {
            errors.at(&ix.name, "a local index needs `sort_key`");
        }
        if ix.partition.len() > max_pk || ix.sort.len() > max_sk {
            errors.at(
                &ix.name,
                format!(
                    "this index kind takes at most {max_pk} partition and {max_sk} sort key attributes"
                ),
            );
        }
        if !seen.insert(ix.name.value()) {
            errors.at(&ix.name, "two indexes have this name");
        }
    }
    let globals = c
        .attrs
        .indexes
        .iter()
        .filter(|i| i.kind == IndexKind::Global)
        .count();
    if globals > 20 || c.attrs.indexes.len() - globals > 5 {
        errors.at(
            c.ident,
            "DynamoDB allows at most 20 global and 5 local secondary indexes per table",
        );
    }
    for v in &c.attrs.vectors {
        if !valid_name(&v.name.value()) {
            errors.at(&v.name, INDEX_NAME);
        }
        if v.dimensions.base10_parse::<u32>().is_ok_and(|d| d == 0) {
            errors.at(&v.dimensions, "a vector has at least one dimension");
        }
        if !seen.insert(v.name.value()) {
            errors.at(&v.name, "two indexes have this name");
        }
    }
}

/// What one field's roles allow together.
fn field_roles(f: &Field, errors: &Errors) {
    let a = &f.attrs;
    if a.partition_key && a.sort_key {
        errors.at(
            &f.ident,
            "a field cannot be both the partition key and the sort key",
        );
    }
    if f.is_key() && (a.skip || a.default || option_inner(&f.ty).is_some()) {
        errors.at(
            &f.ident,
            "a key field is always stored: it cannot be `skip`, `default` or an `Option`",
        );
    }
    if a.skip && (a.default || a.rename.is_some()) {
        errors.at(
            &f.ident,
            "a skipped field is not stored: `rename` and `default` do not apply",
        );
    }
    for (what, marked) in [("ttl", a.ttl), ("version", a.version)] {
        if marked && (f.is_key() || a.skip) {
            errors.at(
                &f.ident,
                format!("a `{what}` field is stored and is not a key"),
            );
        }
    }
    // A generated epoch time in another unit than the field declares would be stored as the
    // declared unit: milliseconds read back as seconds.
    if let Some(g) = &a.generate {
        let clash = match (g.generator, f.codec) {
            (Generator::EpochMillis, Codec::EpochSeconds) => {
                Some(("epoch_millis", "epoch_seconds"))
            }
            (Generator::EpochSeconds, Codec::EpochMillis) => {
                Some(("epoch_seconds", "epoch_millis"))
            }
            _ => None,
        };
        if let Some((generated, declared)) = clash {
            errors.push(syn::Error::new(
                g.span,
                format!(
                    "`generate = \"{generated}\"` on a `timestamp = \"{declared}\"` field: \
                     generate the declared unit, or use `created_at` / `updated_at`"
                ),
            ));
        }
    }
}

/// One partition key; at most one sort key, `extra`, `ttl` and `version` field.
fn one_of_each(c: &Container<'_>, errors: &Errors) {
    let second = |pick: fn(&Field) -> bool| c.fields.iter().filter(move |f| pick(f)).skip(1);
    for f in second(|f| f.attrs.partition_key) {
        errors.at(
            &f.ident,
            "a model has exactly one partition key, and this is a second one",
        );
    }
    for f in second(|f| f.attrs.sort_key) {
        errors.at(
            &f.ident,
            "a model has at most one sort key, and this is a second one",
        );
    }
    if c.partition_key().is_none() && !c.incomplete {
        errors.at(
            c.ident,
            "a model needs a partition key: mark one field with #[dynox(partition_key)]",
        );
    }
    for f in second(|f| f.attrs.extra) {
        errors.at(&f.ident, "a model has at most one `extra` field");
    }
    for f in second(|f| f.attrs.ttl) {
        errors.at(
            &f.ident,
            "a model has at most one `ttl` field, and this is a second one",
        );
    }
    for f in second(|f| f.attrs.version) {
        errors.at(
            &f.ident,
            "a model has at most one `version` field, and this is a second one",
        );
    }
}

/// No two stored fields share an attribute name.
fn stored_names(c: &Container<'_>, errors: &Errors) {
    let mut seen = std::collections::HashMap::new();
    for f in c.fields.iter().filter(|f| !f.attrs.skip) {
        if let Some(prev) = seen.insert(f.stored.as_str(), &f.ident) {
            errors.at(
                &f.ident,
                format!(
                    "`{}` and `{prev}` are both stored as the attribute `{}`",
                    f.ident, f.stored
                ),
            );
        }
    }
}

/// `unknown = "keep"` and the `extra` field come together.
fn unknown_keep(c: &Container<'_>, errors: &Errors) {
    let keep = c.attrs.unknown == Unknown::Keep;
    match c.extra() {
        Some(f) if !keep => errors.at(
            &f.ident,
            "an `extra` field holds unknown attributes: add #[dynox(unknown = \"keep\")] to the model",
        ),
        None if keep && !c.incomplete => errors.at(
            c.ident,
            "unknown = \"keep\" needs a field to keep them in: #[dynox(extra)] extra: dynox::Item",
        ),
        _ => {}
    }
}

/// A templated key: a `String` key whose placeholders name other stored fields.
fn template(c: &Container<'_>, f: &Field, errors: &Errors) {
    let template = f.attrs.template.as_ref().expect("filtered");
    let lit = &template.lit;
    if !f.is_key() {
        errors.at(
            lit,
            "a template builds a key: put it on the partition or sort key",
        );
    }
    if !matches!(&f.ty, Type::Path(p) if p.path.is_ident("String")) {
        errors.at(&f.ty, "a templated key is a String");
    }
    for v in template.placeholders() {
        match c.placeholder(v) {
            None => errors.at(
                lit,
                format!(
                    "the template names `{v}`, which is not a field of `{}`",
                    c.ident
                ),
            ),
            Some(g)
                if g.attrs.skip
                    || g.attrs.extra
                    || g.attrs.template.is_some()
                    || g.ident == f.ident =>
            {
                errors.at(
                    lit,
                    format!("`{v}` must be a stored field other than a templated key"),
                );
            }
            Some(_) => {}
        }
    }
}

/// Every field an index attribute names exists.
fn named_fields<'l>(
    c: &Container<'_>,
    names: impl IntoIterator<Item = &'l syn::LitStr>,
    errors: &Errors,
) {
    for lit in names {
        if c.field(&lit.value()).is_none() {
            errors.at(
                lit,
                format!("`{}` has no stored field `{}`", c.ident, lit.value()),
            );
        }
    }
}

fn projected(p: &Projection) -> &[syn::LitStr] {
    match p {
        Projection::Include(list) => list,
        Projection::All | Projection::KeysOnly => &[],
    }
}

fn index_fields(c: &Container<'_>, errors: &Errors) {
    for ix in &c.attrs.indexes {
        named_fields(c, &ix.partition, errors);
        if ix.kind == IndexKind::Local && c.sort_key().is_none() && !c.incomplete {
            errors.at(&ix.name, "a local index needs a table with a sort key");
        }
        named_fields(c, &ix.sort, errors);
        named_fields(c, projected(&ix.projection), errors);
    }
}

fn vector_fields(c: &Container<'_>, errors: &Errors) {
    for v in &c.attrs.vectors {
        named_fields(c, [&v.vector], errors);
        named_fields(c, &v.partition, errors);
        named_fields(c, &v.filters, errors);
        named_fields(c, projected(&v.projection), errors);
    }
}

/// Checks a nested type: only what a nested value can hold, and no field under the tag's name.
pub(crate) fn nested(n: &Nested<'_>, errors: &Errors) {
    if !n.generics.params.is_empty() {
        errors.at(
            n.generics,
            "#[derive(Attribute)] does not support generic types",
        );
    }
    match &n.body {
        NestedBody::Struct(fields) => fields.iter().for_each(|f| nested_field(f, errors)),
        NestedBody::Enum { tag, variants } => {
            for f in variants.iter().filter_map(|v| v.fields.as_ref()).flatten() {
                nested_field(f, errors);
                if f.stored == *tag {
                    errors.at(
                        &f.ident,
                        format!("this field is stored as `{tag}`, the enum's tag"),
                    );
                }
            }
        }
    }
}

fn nested_field(f: &Field, errors: &Errors) {
    let a = &f.attrs;
    if f.is_key()
        || a.ttl
        || a.version
        || a.generate.is_some()
        || a.encrypted.is_some()
        || a.s3.is_some()
        || a.template.is_some()
        || a.extra
    {
        errors.at(
            &f.ident,
            "keys, templates, ttl, version, generated values, encryption, s3 and extra belong \
             on a model, not a nested type",
        );
    }
}
