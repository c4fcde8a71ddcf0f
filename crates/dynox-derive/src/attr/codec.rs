//! A field's storage forms and generated values: `timestamp`, `compress`, `encrypted(...)`,
//! `s3(...)`, `generate`.

use syn::meta::ParseNestedMeta;
use syn::{LitFloat, LitInt, LitStr};

use super::{choice, lit_str, unknown};
use crate::ast::{
    Algorithm, Compression, Encryption, EncryptionMode, EnvelopeVersion, Generator, OnRead, S3Spec,
    TimestampFormat,
};
use crate::errors::Errors;

/// `timestamp = "..."`.
pub(super) fn timestamp(
    meta: &ParseNestedMeta<'_>,
    errors: &Errors,
) -> syn::Result<Option<TimestampFormat>> {
    const CHOICES: [(&str, TimestampFormat); 3] = [
        ("iso8601", TimestampFormat::Iso8601),
        ("epoch_seconds", TimestampFormat::EpochSeconds),
        ("epoch_millis", TimestampFormat::EpochMillis),
    ];
    let message = "timestamp is \"iso8601\", \"epoch_seconds\" or \"epoch_millis\"";
    choice(meta, errors, &CHOICES, message)
}

/// `generate = "..."`, with the literal naming it.
pub(super) fn generator(
    meta: &ParseNestedMeta<'_>,
    errors: &Errors,
) -> syn::Result<Option<(Generator, LitStr)>> {
    let lit = lit_str(meta)?;
    let found = Generator::NAMED
        .iter()
        .find(|(name, _)| lit.value() == *name);
    if found.is_none() {
        let names: Vec<&str> = Generator::NAMED.iter().map(|(n, _)| *n).collect();
        errors.at(&lit, format!("generate is one of {}", names.join(", ")));
    }
    Ok(found.map(|(_, g)| (*g, lit)))
}

fn algorithm(lit: &LitStr, errors: &Errors) -> Option<Algorithm> {
    let found = Algorithm::ALL.into_iter().find(|a| lit.value() == a.name());
    if found.is_none() {
        errors.at(lit, "compress is \"zstd\", \"lz4\" or \"gzip\"");
    }
    found
}

/// `compress = "zstd"` or `compress(algorithm = "gzip", level = 9, min_size = 64, max_ratio = 0.8)`.
pub(super) fn compress(meta: &ParseNestedMeta<'_>, errors: &Errors) -> syn::Result<Compression> {
    let mut c = Compression {
        algorithm: Algorithm::Zstd,
        level: Algorithm::Zstd.default_level(),
        min_size: 100,
        max_ratio: 90,
    };
    if meta.input.peek(syn::Token![=]) {
        if let Some(a) = algorithm(&lit_str(meta)?, errors) {
            c.algorithm = a;
            c.level = a.default_level();
        }
        return Ok(c);
    }
    let mut level = None;
    meta.parse_nested_meta(|m| {
        if m.path.is_ident("algorithm") {
            if let Some(a) = algorithm(&lit_str(&m)?, errors) {
                c.algorithm = a;
                c.level = a.default_level();
            }
        } else if m.path.is_ident("level") {
            level = Some(m.value()?.parse::<LitInt>()?.base10_parse::<i32>()?);
        } else if m.path.is_ident("min_size") {
            c.min_size = m.value()?.parse::<LitInt>()?.base10_parse()?;
        } else if m.path.is_ident("max_ratio") {
            let f: f64 = m.value()?.parse::<LitFloat>()?.base10_parse()?;
            if !(0.0..=1.0).contains(&f) {
                errors.push(m.error("max_ratio is between 0 and 1"));
            }
            c.max_ratio = (f * 100.0).round() as u32;
        } else {
            let message = "compress takes `algorithm`, `level`, `min_size`, `max_ratio`".to_owned();
            return unknown(&m, errors, message);
        }
        Ok(())
    })?;
    if let Some(level) = level {
        let ok = match c.algorithm {
            Algorithm::Zstd => (1..=22).contains(&level),
            Algorithm::Gzip => (0..=9).contains(&level),
            Algorithm::Lz4 => false,
        };
        if !ok {
            errors.push(meta.error("level is 1 to 22 for zstd, 0 to 9 for gzip; lz4 takes none"));
        }
        c.level = level;
    }
    Ok(c)
}

/// `s3(bucket = "...", prefix = "...", content_type = "...", multipart_threshold = N,
/// part_size = N, delete_with_item)`.
pub(super) fn s3(meta: &ParseNestedMeta<'_>, errors: &Errors) -> syn::Result<S3Spec> {
    let mut spec = S3Spec {
        bucket: LitStr::new("", meta.path.segments[0].ident.span()),
        prefix: String::new(),
        content_type: None,
        multipart_threshold: None,
        part_size: None,
        delete_with_item: false,
    };
    let mut bucket = None;
    meta.parse_nested_meta(|m| {
        let p = &m.path;
        if p.is_ident("bucket") {
            bucket = Some(lit_str(&m)?);
        } else if p.is_ident("prefix") {
            spec.prefix = lit_str(&m)?.value();
        } else if p.is_ident("content_type") {
            spec.content_type = Some(lit_str(&m)?.value());
        } else if p.is_ident("multipart_threshold") {
            spec.multipart_threshold = Some(size(&m, errors)?);
        } else if p.is_ident("part_size") {
            spec.part_size = Some(size(&m, errors)?);
        } else if p.is_ident("delete_with_item") {
            spec.delete_with_item = true;
        } else {
            let message = "s3 takes `bucket`, `prefix`, `content_type`, `multipart_threshold`, \
                           `part_size`, `delete_with_item`";
            return unknown(&m, errors, message.to_owned());
        }
        Ok(())
    })?;
    match bucket {
        Some(b) => spec.bucket = b,
        None => errors.push(meta.error("s3 needs `bucket = \"...\"`")),
    }
    Ok(spec)
}

/// A size in bytes of at least S3's 5 MiB part minimum.
fn size(m: &ParseNestedMeta<'_>, errors: &Errors) -> syn::Result<u64> {
    let lit = m.value()?.parse::<LitInt>()?;
    let n = lit.base10_parse::<u64>()?;
    if n < 5 * 1024 * 1024 {
        errors.at(&lit, "S3's parts are at least 5 MiB (5242880 bytes)");
    }
    Ok(n)
}

/// What `encrypted(...)` names, before its parts are checked against each other.
struct Given {
    key: Option<LitStr>,
    bind_item_key: bool,
    allow_copy: bool,
}

/// `encrypted(key = "...", ...)`.
pub(super) fn encrypted(meta: &ParseNestedMeta<'_>, errors: &Errors) -> syn::Result<Encryption> {
    let mut spec = Encryption {
        key: LitStr::new("", meta.path.segments[0].ident.span()),
        mode: EncryptionMode::ReadWrite,
        version: EnvelopeVersion::V2,
        context: Vec::new(),
        bind_item_key: false,
        on_read: OnRead::Ciphertext,
        compress: None,
    };
    let mut given = Given {
        key: None,
        bind_item_key: false,
        allow_copy: false,
    };
    meta.parse_nested_meta(|m| encrypted_item(&m, &mut spec, &mut given, errors))?;
    match given.key {
        Some(key) => spec.key = key,
        None => errors.push(meta.error("encrypted needs `key = \"alias/...\"` or a key ARN")),
    }
    if spec.version == EnvelopeVersion::V1 && (given.bind_item_key || given.allow_copy) {
        errors.push(meta.error(
            "version 1 (pydynox's format) binds nothing: drop bind_item_key / allow_copy_between_items",
        ));
    } else if given.bind_item_key && given.allow_copy {
        errors.push(meta.error(
            "bind_item_key (the default) and allow_copy_between_items contradict each other",
        ));
    }
    spec.bind_item_key = spec.version == EnvelopeVersion::V2 && !given.allow_copy;
    Ok(spec)
}

fn encrypted_item(
    m: &ParseNestedMeta<'_>,
    spec: &mut Encryption,
    given: &mut Given,
    errors: &Errors,
) -> syn::Result<()> {
    let p = &m.path;
    if p.is_ident("key") {
        given.key = Some(lit_str(m)?);
    } else if p.is_ident("mode") {
        const CHOICES: [(&str, EncryptionMode); 3] = [
            ("read_write", EncryptionMode::ReadWrite),
            ("write_only", EncryptionMode::WriteOnly),
            ("read_only", EncryptionMode::ReadOnly),
        ];
        let message = "mode is \"read_write\", \"write_only\" or \"read_only\"";
        spec.mode = choice(m, errors, &CHOICES, message)?.unwrap_or(spec.mode);
    } else if p.is_ident("version") {
        match m.value()?.parse::<LitInt>()?.base10_parse::<u8>()? {
            1 => spec.version = EnvelopeVersion::V1,
            2 => spec.version = EnvelopeVersion::V2,
            _ => errors
                .push(m.error("version is 1 (pydynox's format) or 2 (context-bound, the default)")),
        }
    } else if p.is_ident("context") {
        m.parse_nested_meta(|c| {
            let Some(k) = c.path.get_ident().map(|i| i.to_string()) else {
                return unknown(&c, errors, "a context key is a name".to_owned());
            };
            spec.context.push((k, lit_str(&c)?.value()));
            Ok(())
        })?;
    } else if p.is_ident("bind_item_key") {
        given.bind_item_key = true;
    } else if p.is_ident("allow_copy_between_items") {
        given.allow_copy = true;
    } else if p.is_ident("compress") {
        spec.compress = algorithm(&lit_str(m)?, errors);
    } else if p.is_ident("on_read") {
        const CHOICES: [(&str, OnRead); 2] =
            [("ciphertext", OnRead::Ciphertext), ("error", OnRead::Error)];
        let message = "on_read is \"ciphertext\" or \"error\"";
        spec.on_read = choice(m, errors, &CHOICES, message)?.unwrap_or(spec.on_read);
    } else {
        let message = "encrypted takes `key`, `mode`, `version`, `context(...)`, \
                       `allow_copy_between_items`, `on_read`, `compress`";
        return unknown(m, errors, message.to_owned());
    }
    Ok(())
}
