//! `#[derive(Model)]` for dynox: a struct becomes a DynamoDB model, with a key type, typed
//! attribute paths and conversion straight to and from attribute maps.
//!
//! The generated code calls only dynox's public API (`dynox::model`, `dynox::attr`,
//! `dynox::expr`), so anything the derive does can be written by hand. Use it through
//! `dynox::Model`, not this crate directly.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, LitStr, PathArguments, Type};

mod nested;
mod partiql;

/// Derives `dynox::FromItem` for an enum of models that share a table, one variant per model
/// (`User(User)`): each item decodes as the model its discriminator names, so one query returns
/// a typed result per model. Each model declares `#[dynox(entity = "...")]`.
#[proc_macro_derive(Collection)]
pub fn derive_collection(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    match collection(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn collection(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            name,
            "#[derive(Collection)] needs an enum with one variant per model: `User(User)`",
        ));
    };
    let mut arms = Vec::new();
    let mut checks = Vec::new();
    let mut entities = Vec::new();
    let mut unseals = Vec::new();
    for v in &data.variants {
        let Fields::Unnamed(f) = &v.fields else {
            return Err(syn::Error::new_spanned(
                v,
                "each variant holds one model: `User(User)`",
            ));
        };
        if f.unnamed.len() != 1 {
            return Err(syn::Error::new_spanned(
                v,
                "each variant holds one model: `User(User)`",
            ));
        }
        let ty = &f.unnamed[0].ty;
        let vi = &v.ident;
        checks.push(quote_spanned! {ty.span()=>
            const _: () = ::core::assert!(
                <#ty as ::dynox::Model>::ENTITY.is_some(),
                "a collection member declares #[dynox(entity = \"...\")]"
            );
        });
        arms.push(quote! {
            if ::dynox::model::is_entity::<#ty>(&item) {
                return ::core::result::Result::Ok(#name::#vi(<#ty as ::dynox::FromItem>::from_item(item)?));
            }
        });
        entities.push(quote! { <#ty as ::dynox::Model>::ENTITY.unwrap_or_default() });
        unseals.push(quote! {
            if ::dynox::model::is_entity::<#ty>(item) {
                return <#ty as ::dynox::FromItem>::unseal(item, client).await;
            }
        });
    }
    let label = name.to_string();
    Ok(quote! {
        #(#checks)*
        impl ::dynox::FromItem for #name {
            fn unseal<'a>(item: &'a mut ::dynox::Item, client: &'a ::dynox::Client) -> ::dynox::model::BoxFuture<'a, ::dynox::Result<()>> {
                ::std::boxed::Box::pin(async move {
                    #(#unseals)*
                    ::core::result::Result::Ok(())
                })
            }
            fn from_item(item: ::dynox::Item) -> ::dynox::Result<Self> {
                #(#arms)*
                ::core::result::Result::Err(::dynox::model::unknown_entity(&item, #label, &[#(#entities),*]))
            }
        }
    })
}

/// Derives `dynox::attr::Attribute` for a nested type: a struct becomes a map, an enum of unit
/// variants a string, an enum with struct variants a map with a tag attribute (`type`, or
/// `#[dynox(tag = "...")]`). Fields take the same `rename`, `skip`, `default`, `timestamp`,
/// `serde` and `json` attributes as a model's.
#[proc_macro_derive(Attribute, attributes(dynox))]
pub fn derive_attribute(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    match nested::expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Reads a literal PartiQL statement at compile time (verb, table, index, parameter count), so
/// that the permission it needs is exact. Use it as `dynox::partiql!("SELECT ...")`.
#[proc_macro]
pub fn partiql(input: TokenStream) -> TokenStream {
    match partiql::expand(input.into()) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Derives `dynox::Model`. See the dynox documentation for the `#[dynox(...)]` attributes.
#[proc_macro_derive(Model, attributes(dynox))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// How a field is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Codec {
    /// The type's own `Attribute` implementation.
    Native,
    /// `Vec<u8>` / `Option<Vec<u8>>` as binary.
    Bytes,
    /// A UTC timestamp as epoch seconds.
    EpochSeconds,
    /// A UTC timestamp as epoch milliseconds.
    EpochMillis,
    /// Any serde type as native DynamoDB values.
    Serde,
    /// Any serde type as a JSON string.
    Json,
    /// A compressed string: algorithm (0 zstd, 1 lz4, 2 gzip), level, min size, ratio (percent).
    Compressed(u8, i32, usize, u32),
    /// A `Secret<T>` field, encrypted with KMS.
    Encrypted,
}

/// `#[dynox(encrypted(...))]` on a field.
struct EncryptSpec {
    key: LitStr,
    /// 0 read-write, 1 write-only, 2 read-only.
    mode: u8,
    version: u8,
    context: Vec<(String, String)>,
    /// Version 2 binds the item's primary key unless `allow_copy_between_items` is given.
    bind_item_key: bool,
    /// Write-only fields: refuse reads instead of giving the ciphertext.
    read_error: bool,
    /// `compress = "zstd" | "lz4" | "gzip"`: compress before encrypting.
    compress: Option<String>,
}

fn parse_encrypted(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<EncryptSpec> {
    let mut spec = EncryptSpec {
        key: LitStr::new("", meta.path.span()),
        mode: 0,
        version: 2,
        context: Vec::new(),
        bind_item_key: false,
        read_error: false,
        compress: None,
    };
    let mut key = None;
    let (mut bind_given, mut copy_given) = (false, false);
    meta.parse_nested_meta(|m| {
        if m.path.is_ident("key") {
            key = Some(m.value()?.parse::<LitStr>()?);
        } else if m.path.is_ident("mode") {
            let l: LitStr = m.value()?.parse()?;
            spec.mode = match l.value().as_str() {
                "read_write" => 0,
                "write_only" => 1,
                "read_only" => 2,
                _ => return Err(syn::Error::new_spanned(l, "mode is \"read_write\", \"write_only\" or \"read_only\"")),
            };
        } else if m.path.is_ident("version") {
            let v: u8 = m.value()?.parse::<syn::LitInt>()?.base10_parse()?;
            if v != 1 && v != 2 {
                return Err(m.error("version is 1 (pydynox's format) or 2 (context-bound, the default)"));
            }
            spec.version = v;
        } else if m.path.is_ident("context") {
            m.parse_nested_meta(|c| {
                let k = c.path.get_ident().map(|i| i.to_string()).ok_or_else(|| c.error("a context key is a name"))?;
                let v: LitStr = c.value()?.parse()?;
                spec.context.push((k, v.value()));
                Ok(())
            })?;
        } else if m.path.is_ident("bind_item_key") {
            bind_given = true;
        } else if m.path.is_ident("allow_copy_between_items") {
            copy_given = true;
        } else if m.path.is_ident("compress") {
            let l: LitStr = m.value()?.parse()?;
            if !matches!(l.value().as_str(), "zstd" | "lz4" | "gzip") {
                return Err(syn::Error::new_spanned(l, "compress is \"zstd\", \"lz4\" or \"gzip\""));
            }
            spec.compress = Some(l.value());
        } else if m.path.is_ident("on_read") {
            let l: LitStr = m.value()?.parse()?;
            spec.read_error = match l.value().as_str() {
                "ciphertext" => false,
                "error" => true,
                _ => return Err(syn::Error::new_spanned(l, "on_read is \"ciphertext\" or \"error\"")),
            };
        } else {
            return Err(m.error("encrypted takes `key`, `mode`, `version`, `context(...)`, `allow_copy_between_items`, `on_read`, `compress`"));
        }
        Ok(())
    })?;
    spec.key =
        key.ok_or_else(|| meta.error("encrypted needs `key = \"alias/...\"` or a key ARN"))?;
    if spec.version == 1 && (bind_given || copy_given) {
        return Err(meta.error(
            "version 1 (pydynox's format) binds nothing: drop bind_item_key / allow_copy_between_items",
        ));
    }
    if bind_given && copy_given {
        return Err(meta.error(
            "bind_item_key (the default) and allow_copy_between_items contradict each other",
        ));
    }
    spec.bind_item_key = spec.version == 2 && !copy_given;
    Ok(spec)
}

struct Field {
    ident: Ident,
    ty: Type,
    stored: String,
    renamed: bool,
    partition_key: bool,
    sort_key: bool,
    skip: bool,
    default: bool,
    codec: Codec,
    /// The value type of the field's path: `Option` stripped, `Vec<u8>` as `Binary`.
    path_ty: TokenStream2,
    /// `#[dynox(ttl)]`
    ttl: bool,
    /// `#[dynox(version)]`
    version: bool,
    /// `#[dynox(generate = "...")]`, `created_at` (as "now"), `updated_at`.
    generate: Option<(String, Span)>,
    /// `#[dynox(updated_at)]`: set at every save.
    updated_at: bool,
    /// `#[dynox(extra)]`: holds the attributes no field names (`unknown = "keep"`).
    extra: bool,
    /// `#[dynox(template = "USER#{id}")]` on a key field: built from other fields.
    template: Option<LitStr>,
    /// `#[dynox(encrypted(...))]`
    encrypted: Option<EncryptSpec>,
}

/// The partition key's shape around the tenant, as `PREFIX|SUFFIX` (other placeholders as `*`),
/// for the export's `dynamodb:LeadingKeys` condition.
fn tenant_pattern(
    tenant: &LitStr,
    pk: &Field,
    template: Option<&(Vec<Part>, Vec<&Field>)>,
) -> syn::Result<String> {
    let name = tenant.value();
    if pk.ident.unraw() == name && template.is_none() {
        return Ok("|".to_owned());
    }
    let Some((parts, _)) = template.filter(|(parts, _)| {
        parts
            .iter()
            .any(|p| matches!(p, Part::Var(v) if *v == name))
    }) else {
        return Err(syn::Error::new_spanned(
            tenant,
            "the tenant must be the partition key, or a placeholder of the partition key's template",
        ));
    };
    let mut pattern = String::new();
    let mut seen = false;
    for p in parts {
        match p {
            Part::Lit(text) => {
                if text.contains(['*', '?', '|', '=', ',', '{', '}', '$']) {
                    return Err(syn::Error::new_spanned(
                        tenant,
                        "a tenant's key template may not hold `*`, `?`, `|`, `=`, `,`, `$` or braces \
                         in its text: they would be read as a policy pattern",
                    ));
                }
                pattern.push_str(text);
            }
            Part::Var(v) if *v == name && !seen => {
                pattern.push('|');
                seen = true;
            }
            // A wildcard before the tenant would let `ORG#acme` match a key ending in `#acme`
            // whatever tenant wrote it; after the tenant, the separating text bounds it (key
            // values never contain the text that follows them).
            Part::Var(_) if !seen => {
                return Err(syn::Error::new_spanned(
                    tenant,
                    "the tenant must be the first placeholder of the partition key's template",
                ));
            }
            Part::Var(_) => pattern.push('*'),
        }
    }
    Ok(pattern)
}

/// A piece of a key template: literal text, or a placeholder naming a field.
#[derive(Clone)]
enum Part {
    Lit(String),
    Var(String),
}

fn parse_template(lit: &LitStr) -> syn::Result<Vec<Part>> {
    let text = lit.value();
    let mut parts = Vec::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            Some(i) if rest.as_bytes()[i] == b'}' => {
                return Err(syn::Error::new_spanned(
                    lit,
                    "a `}` without its `{` in the template",
                ));
            }
            Some(i) => {
                if i > 0 {
                    parts.push(Part::Lit(rest[..i].to_owned()));
                }
                let close = rest[i..].find('}').ok_or_else(|| {
                    syn::Error::new_spanned(lit, "a `{` without its `}` in the template")
                })? + i;
                let name = rest[i + 1..close].trim();
                if name.is_empty() {
                    return Err(syn::Error::new_spanned(
                        lit,
                        "an empty `{}` in the template",
                    ));
                }
                if matches!(parts.last(), Some(Part::Var(_))) {
                    return Err(syn::Error::new_spanned(
                        lit,
                        "two placeholders need text between them, or the key cannot be read back",
                    ));
                }
                parts.push(Part::Var(name.to_owned()));
                rest = &rest[close + 1..];
            }
            None => {
                parts.push(Part::Lit(rest.to_owned()));
                rest = "";
            }
        }
    }
    Ok(parts)
}

/// A checked rendering of a template, reading placeholders from `owner.field` (or from locals
/// of the same names when `owner` is empty).
fn template_render(
    parts: &[Part],
    owner: Option<TokenStream2>,
    model: &str,
    field: &str,
) -> TokenStream2 {
    let values = parts.iter().filter_map(|p| match p {
        Part::Var(v) => {
            let i = Ident::new_raw(v, Span::call_site());
            Some(match &owner {
                Some(o) => quote! { ::std::string::ToString::to_string(&#o.#i) },
                None => quote! { ::std::string::ToString::to_string(&#i) },
            })
        }
        Part::Lit(_) => None,
    });
    let tpl = template_const(parts);
    quote! { ::dynox::model::render_template(#tpl, &[#(#values),*], #model, #field)? }
}

/// The template as `dynox::model::TemplatePart`s, for reading a key back.
fn template_const(parts: &[Part]) -> TokenStream2 {
    let items = parts.iter().map(|p| match p {
        Part::Lit(l) => quote! { ::dynox::model::TemplatePart::Text(#l) },
        Part::Var(_) => quote! { ::dynox::model::TemplatePart::Value },
    });
    quote! { &[#(#items),*] }
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Model)] does not support generic structs",
        ));
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            Span::call_site(),
            "#[derive(Model)] needs a struct with named fields",
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &data.fields,
            "#[derive(Model)] needs a struct with named fields",
        ));
    };

    let attrs = parse_struct_attrs(input)?;
    let table = attrs.table.clone();
    let mut fields = Vec::new();
    for f in &named.named {
        fields.push(parse_field(f)?);
    }
    check_fields(&input.ident, &fields)?;
    if let Some(f) = fields.iter().find(|f| f.extra)
        && attrs.unknown != "keep"
    {
        return Err(syn::Error::new_spanned(
            &f.ident,
            "an `extra` field holds unknown attributes: add #[dynox(unknown = \"keep\")] to the model",
        ));
    }
    if attrs.unknown == "keep" && !fields.iter().any(|f| f.extra) {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "unknown = \"keep\" needs a field to keep them in: #[dynox(extra)] extra: dynox::Item",
        ));
    }

    let model = &input.ident;
    let vis = &input.vis;
    let model_name = model.to_string();
    let key_ident = format_ident!("{}Key", model);
    let fields_ident = format_ident!("{}Fields", model);
    let pk = fields.iter().find(|f| f.partition_key).expect("checked");
    let sk = fields.iter().find(|f| f.sort_key);
    let keys: Vec<&Field> = std::iter::once(pk).chain(sk).collect();

    // Key templates: a key field built from other fields, which then make up the key type.
    let mut templates: std::collections::HashMap<String, (Vec<Part>, Vec<&Field>)> =
        std::collections::HashMap::new();
    for f in fields.iter().filter(|f| f.template.is_some()) {
        let lit = f.template.as_ref().expect("filtered");
        if !(f.partition_key || f.sort_key) {
            return Err(syn::Error::new_spanned(
                lit,
                "a template builds a key: put it on the partition or sort key",
            ));
        }
        if !matches!(&f.ty, Type::Path(p) if p.path.is_ident("String")) {
            return Err(syn::Error::new_spanned(
                &f.ty,
                "a templated key is a String",
            ));
        }
        let parts = parse_template(lit)?;
        let mut vars = Vec::new();
        for p in &parts {
            if let Part::Var(v) = p {
                let field = fields
                    .iter()
                    .find(|g| g.ident.unraw() == *v)
                    .ok_or_else(|| {
                        syn::Error::new_spanned(
                            lit,
                            format!("the template names `{v}`, which is not a field of `{model}`"),
                        )
                    })?;
                if field.skip || field.extra || field.template.is_some() || field.ident == f.ident {
                    return Err(syn::Error::new_spanned(
                        lit,
                        format!("`{v}` must be a stored field other than a templated key"),
                    ));
                }
                vars.push(field);
            }
        }
        templates.insert(f.ident.to_string(), (parts, vars));
    }
    // What the key type holds: each key field, or the fields its template names.
    let mut key_components: Vec<&Field> = Vec::new();
    for k in &keys {
        match templates.get(&k.ident.to_string()) {
            Some((_, vars)) => {
                for v in vars {
                    if !key_components.iter().any(|c| c.ident == v.ident) {
                        key_components.push(v);
                    }
                }
            }
            None => key_components.push(k),
        }
    }

    let key_attr = |f: &Field| {
        let name = &f.stored;
        let ty = &f.ty;
        let scalar = quote_spanned! {ty.span()=> <#ty as ::dynox::attr::KeyValue>::SCALAR };
        quote! { ::dynox::model::KeyAttribute { name: #name, scalar: #scalar } }
    };
    let pk_attr = key_attr(pk);
    let sk_attr = match sk {
        Some(f) => {
            let a = key_attr(f);
            quote! { ::core::option::Option::Some(#a) }
        }
        None => quote! { ::core::option::Option::None },
    };

    let codec_ty = codec_tokens;

    // The key type.
    let key_fields = key_components.iter().map(|f| {
        let (i, t) = (&f.ident, &f.ty);
        let doc = format!("The `{}` key value.", f.stored);
        quote! { #[doc = #doc] pub #i: #t }
    });
    let key_params = key_components.iter().map(|f| {
        let (i, t) = (&f.ident, &f.ty);
        quote! { #i: impl ::dynox::expr::IntoValue<#t> }
    });
    let key_inits = key_components.iter().map(|f| {
        let i = &f.ident;
        quote! { #i: ::dynox::expr::IntoValue::into_value(#i) }
    });
    let key_clone = key_components.iter().map(|f| {
        let i = &f.ident;
        quote! { #i: ::core::clone::Clone::clone(&self.#i) }
    });
    // Encodes a key field of `owner` (the model or its key type).
    let put_key_of = |f: &Field, owner: TokenStream2| {
        let (i, t, n, fname) = (&f.ident, &f.ty, &f.stored, f.ident.unraw().to_string());
        match templates.get(&f.ident.to_string()) {
            Some((parts, _)) => {
                let value = template_render(parts, Some(owner), &model_name, &fname);
                quote! {
                    ::dynox::model::put_key::<::std::string::String, ::dynox::attr::Native>(
                        &mut item, #n, &#value, #model_name, #fname)?;
                }
            }
            None => {
                let c = codec_ty(f);
                let call = quote_spanned! {t.span()=> ::dynox::model::put_key::<#t, #c> };
                quote! { #call(&mut item, #n, &#owner.#i, #model_name, #fname)?; }
            }
        }
    };
    let key_puts: Vec<TokenStream2> = keys
        .iter()
        .map(|f| put_key_of(f, quote! { self }))
        .collect();

    // Typed paths.
    let stored_fields: Vec<&Field> = fields.iter().filter(|f| !f.skip && !f.extra).collect();
    let path_fields = stored_fields.iter().map(|f| {
        let (i, t) = (&f.ident, &f.path_ty);
        let doc = format!("Path to `{}`.", f.stored);
        quote! { #[doc = #doc] pub #i: ::dynox::expr::Path<#t> }
    });
    let path_inits = stored_fields.iter().map(|f| {
        let (i, n) = (&f.ident, &f.stored);
        quote! { #i: ::dynox::expr::Path::new(#n) }
    });

    // Encoding and decoding.
    let checks = stored_fields
        .iter()
        .filter(|f| f.codec == Codec::Native)
        .map(|f| {
            let t = &f.ty;
            quote_spanned! {t.span()=> ::dynox::attr::assert_attribute::<#t>(); }
        });
    let puts = stored_fields.iter().map(|f| {
        let (i, t, n, fname) = (&f.ident, &f.ty, &f.stored, f.ident.unraw().to_string());
        let c = codec_ty(f);
        if f.partition_key || f.sort_key {
            put_key_of(f, quote! { self })
        } else {
            {
                let f = quote_spanned! {t.span()=> ::dynox::model::put_field::<#t, #c> };
                quote! { #f(&mut item, #n, &self.#i, #model_name, #fname)?; }
            }
        }
    });
    // Keys are encoded by reference first, then the other fields are moved out of `self`.
    let owned_puts = stored_fields
        .iter()
        .filter(|f| f.partition_key || f.sort_key)
        .chain(
            stored_fields
                .iter()
                .filter(|f| !(f.partition_key || f.sort_key)),
        )
        .map(|f| {
            let (i, t, n, fname) = (&f.ident, &f.ty, &f.stored, f.ident.unraw().to_string());
            let c = codec_ty(f);
            if f.partition_key || f.sort_key {
                put_key_of(f, quote! { self })
            } else {
                {
                    let f = quote_spanned! {t.span()=> ::dynox::model::put_field_owned::<#t, #c> };
                    quote! { #f(&mut item, #n, self.#i, #model_name, #fname)?; }
                }
            }
        });
    // Decoding: each field into a local, then what is left over (unknown attributes).
    let take_vars: Vec<Ident> = (0..fields.len())
        .map(|i| format_ident!("__f{}", i))
        .collect();
    // A placeholder field missing from an item is read back from its templated key.
    let key_captures: Vec<TokenStream2> = templates
        .keys()
        .map(|k| {
            let key_field = fields
                .iter()
                .find(|f| f.ident == k.as_str())
                .expect("a key field");
            let n = &key_field.stored;
            let var = format_ident!("__tpl_{}", k.trim_start_matches("r#"));
            quote! { let #var = ::dynox::model::string_of(&item, #n); }
        })
        .collect();
    let placeholder_of = |f: &Field| -> Option<(Ident, TokenStream2, usize)> {
        templates.iter().find_map(|(k, (parts, vars))| {
            let pos = vars.iter().position(|v| v.ident == f.ident)?;
            Some((
                format_ident!("__tpl_{}", k.trim_start_matches("r#")),
                template_const(parts),
                pos,
            ))
        })
    };
    let takes = fields.iter().zip(&take_vars).filter(|(f, _)| !f.extra).map(|(f, v)| {
        let (t, n, fname) = (&f.ty, &f.stored, f.ident.unraw().to_string());
        let c = codec_ty(f);
        if let Some((key_var, tpl, pos)) = placeholder_of(f) {
            let call = quote_spanned! {t.span()=> ::dynox::model::take_or_parse::<#t, #c> };
            return quote! {
                let #v = #call(&mut item, #n, #model_name, #fname, #key_var.as_deref(), #tpl, #pos)?;
            };
        }
        if f.skip {
            quote_spanned! {t.span()=> let #v = <#t as ::core::default::Default>::default(); }
        } else if f.default || f.version {
            // An item stored without a version (by an older writer) is at version 0.
            let call = quote_spanned! {t.span()=> ::dynox::model::take_field_or_default::<#t, #c> };
            quote! { let #v = #call(&mut item, #n, #model_name, #fname)?; }
        } else {
            let call = quote_spanned! {t.span()=> ::dynox::model::take_field::<#t, #c> };
            quote! { let #v = #call(&mut item, #n, #model_name, #fname)?; }
        }
    }).collect::<Vec<_>>();
    let extra_field = fields.iter().zip(&take_vars).find(|(f, _)| f.extra);
    let leftovers = match (attrs.unknown.as_str(), extra_field) {
        ("keep", Some((_, v))) => quote! { let #v = item; },
        ("error", _) => quote! { ::dynox::model::refuse_unknown(&item, #model_name)?; },
        _ => quote! {},
    };
    let inits = fields.iter().zip(&take_vars).map(|(f, v)| {
        let i = &f.ident;
        quote! { #i: #v }
    });
    let (discriminator_put, discriminator_take, entity_const) = match &attrs.entity {
        Some(e) => {
            let d = &attrs.discriminator;
            (
                quote! { ::dynox::model::put_entity(&mut item, #d, #e); },
                quote! { ::dynox::model::take_entity(&mut item, #d, #e, #model_name)?; },
                quote! {
                    const ENTITY: ::core::option::Option<&'static str> = ::core::option::Option::Some(#e);
                    const DISCRIMINATOR: &'static str = #d;
                },
            )
        }
        None => (quote! {}, quote! {}, quote! {}),
    };
    let extra_put = match extra_field {
        Some((f, _)) => {
            let i = &f.ident;
            quote! { ::dynox::model::put_extra(&mut item, &self.#i); }
        }
        None => quote! {},
    };
    let extra_put_owned = match extra_field {
        Some(_) => quote! { ::dynox::model::put_extra(&mut item, &extra); },
        None => quote! {},
    };
    let take_extra_owned = match extra_field {
        Some((f, _)) => {
            let i = &f.ident;
            quote! { let extra = ::core::mem::take(&mut self.#i); }
        }
        None => quote! {},
    };

    // Key schemas: the table itself, and one generated type per declared index.
    let find = |lit: &LitStr| -> syn::Result<&Field> {
        fields
            .iter()
            .find(|f| !f.skip && f.ident.unraw() == lit.value())
            .ok_or_else(|| {
                syn::Error::new_spanned(
                    lit,
                    format!("`{model}` has no stored field `{}`", lit.value()),
                )
            })
    };
    let key_inner = |f: &Field| -> Type { option_inner(&f.ty).unwrap_or(&f.ty).clone() };
    let key_attr_of = |f: &Field| {
        let name = &f.stored;
        let ty = key_inner(f);
        let scalar = quote_spanned! {ty.span()=> <#ty as ::dynox::attr::KeyValue>::SCALAR };
        quote! { ::dynox::model::KeyAttribute { name: #name, scalar: #scalar } }
    };
    let schema_impl = |target: TokenStream2,
                       index: TokenStream2,
                       global: bool,
                       part: &[&Field],
                       sort: &[&Field]| {
        // A templated partition key takes its placeholders' values and builds the string.
        let templated = (part.len() == 1)
            .then(|| templates.get(&part[0].ident.to_string()))
            .flatten();
        if let Some((parts, vars)) = templated {
            let tys: Vec<&Type> = vars.iter().map(|f| &f.ty).collect();
            let idents: Vec<&Ident> = vars.iter().map(|f| &f.ident).collect();
            let partition_ty = if tys.len() == 1 {
                let t = tys[0];
                quote! { #t }
            } else {
                quote! { (#(#tys,)*) }
            };
            let bind = if idents.len() == 1 {
                let v = idents[0];
                quote! { let #v = partition; }
            } else {
                quote! { let (#(#idents,)*) = partition; }
            };
            let value =
                template_render(parts, None, &model_name, &part[0].ident.unraw().to_string());
            let sort_ty = match sort.first() {
                Some(f) => f.path_ty.clone(),
                None => quote! { ::dynox::model::NoSortKey },
            };
            let pk_attrs = part.iter().map(|f| key_attr_of(f));
            let sk_attrs = sort.iter().map(|f| key_attr_of(f));
            return quote! {
                impl ::dynox::model::KeySchema for #target {
                    type Model = #model;
                    type Partition = #partition_ty;
                    type Sort = #sort_ty;
                    const INDEX: ::core::option::Option<&'static str> = #index;
                    const GLOBAL: bool = #global;
                    const PARTITION_KEY: &'static [::dynox::model::KeyAttribute] = &[#(#pk_attrs),*];
                    const SORT_KEY: &'static [::dynox::model::KeyAttribute] = &[#(#sk_attrs),*];
                    fn partition_values(partition: Self::Partition) -> ::dynox::Result<::std::vec::Vec<::dynox::AttributeValue>> {
                        #bind
                        ::core::result::Result::Ok(::std::vec![::dynox::AttributeValue::S(#value)])
                    }
                }
            };
        }
        let part_tys: Vec<Type> = part.iter().map(|f| key_inner(f)).collect();
        let partition_ty = if part_tys.len() == 1 {
            let t = &part_tys[0];
            quote! { #t }
        } else {
            quote! { (#(#part_tys,)*) }
        };
        let vars: Vec<Ident> = (0..part.len()).map(|i| format_ident!("__p{}", i)).collect();
        let bind = if part.len() == 1 {
            let v = &vars[0];
            quote! { let #v = partition; }
        } else {
            quote! { let (#(#vars,)*) = partition; }
        };
        let encodes = part.iter().zip(&vars).zip(&part_tys).map(|((f, v), t)| {
            let c = codec_ty(f);
            let fname = f.ident.unraw().to_string();
            quote! { ::dynox::model::key_value::<#t, #c>(&#v, #model_name, #fname)? }
        });
        let sort_ty = match sort.first() {
            Some(f) => f.path_ty.clone(),
            None => quote! { ::dynox::model::NoSortKey },
        };
        let pk_attrs = part.iter().map(|f| key_attr_of(f));
        let sk_attrs = sort.iter().map(|f| key_attr_of(f));
        quote! {
            impl ::dynox::model::KeySchema for #target {
                type Model = #model;
                type Partition = #partition_ty;
                type Sort = #sort_ty;
                const INDEX: ::core::option::Option<&'static str> = #index;
                const GLOBAL: bool = #global;
                const PARTITION_KEY: &'static [::dynox::model::KeyAttribute] = &[#(#pk_attrs),*];
                const SORT_KEY: &'static [::dynox::model::KeyAttribute] = &[#(#sk_attrs),*];
                fn partition_values(partition: Self::Partition) -> ::dynox::Result<::std::vec::Vec<::dynox::AttributeValue>> {
                    #bind
                    ::core::result::Result::Ok(::std::vec![#(#encodes),*])
                }
            }
        }
    };
    let table_schema = schema_impl(
        quote! { #model },
        quote! { ::core::option::Option::None },
        false,
        &[pk],
        &sk.into_iter().collect::<Vec<_>>(),
    );
    let mut index_items = Vec::new();
    let mut index_defs = Vec::new();
    for ix in &attrs.indexes {
        let part: Vec<&Field> = match ix.kind {
            IndexKind::Global => ix.partition.iter().map(&find).collect::<syn::Result<_>>()?,
            IndexKind::Local => {
                if sk.is_none() {
                    return Err(syn::Error::new_spanned(
                        &ix.name,
                        "a local index needs a table with a sort key",
                    ));
                }
                vec![pk]
            }
        };
        let sort: Vec<&Field> = ix.sort.iter().map(&find).collect::<syn::Result<_>>()?;
        let name = ix.name.value();
        let ident = ix
            .ident
            .clone()
            .unwrap_or_else(|| format_ident!("{}{}", model, camel(&name)));
        let doc = format!("The index `{name}` of [`{model}`], for typed queries and scans.");
        let global = ix.kind == IndexKind::Global;
        let schema = schema_impl(
            quote! { #ident },
            quote! { ::core::option::Option::Some(#name) },
            global,
            &part,
            &sort,
        );
        index_items.push(quote! {
            #[doc = #doc]
            #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
            #vis struct #ident;
            #schema
        });
        let kind = if global {
            quote! { ::dynox::model::IndexKind::Global }
        } else {
            quote! { ::dynox::model::IndexKind::Local }
        };
        let projection = projection_tokens(&ix.projection, &find)?;
        let pk_attrs = part.iter().map(|f| key_attr_of(f));
        let sk_attrs = sort.iter().map(|f| key_attr_of(f));
        index_defs.push(quote! {
            ::dynox::model::IndexDef {
                name: #name,
                kind: #kind,
                partition_key: &[#(#pk_attrs),*],
                sort_key: &[#(#sk_attrs),*],
                projection: #projection,
            }
        });
    }

    let mut vector_defs = Vec::new();
    for v in &attrs.vectors {
        let vector_field = find(&v.vector)?;
        let vector_name = &vector_field.stored;
        let name = v.name.value();
        let ident = v
            .ident
            .clone()
            .unwrap_or_else(|| format_ident!("{}{}", model, camel(&name)));
        let dims = &v.dimensions;
        let distance = match v.distance.value().as_str() {
            "cosine" => quote! { ::dynox::vector::Distance::Cosine },
            "euclidean" => quote! { ::dynox::vector::Distance::Euclidean },
            _ => quote! { ::dynox::vector::Distance::DotProduct },
        };
        let part = v.partition.as_ref().map(&find).transpose()?;
        let filters: Vec<&Field> = v.filters.iter().map(&find).collect::<syn::Result<_>>()?;
        let part_attr = match part {
            Some(f) => {
                let a = key_attr_of(f);
                quote! { ::core::option::Option::Some(#a) }
            }
            None => quote! { ::core::option::Option::None },
        };
        let (part_ty, part_fn) = match part {
            Some(f) => {
                let t = key_inner(f);
                let c = codec_ty(f);
                let fname = f.ident.unraw().to_string();
                (
                    quote! { #t },
                    quote! { ::core::option::Option::Some(::dynox::model::key_value::<#t, #c>(&partition, #model_name, #fname)) },
                )
            }
            None => (
                quote! { ::dynox::model::NoSortKey },
                quote! { match partition {} },
            ),
        };
        let filter_attrs: Vec<TokenStream2> = filters.iter().map(|f| key_attr_of(f)).collect();
        let projection = projection_tokens(&v.projection, &find)?;
        let def = quote! {
            ::dynox::vector::VectorIndexDef {
                name: #name,
                vector: #vector_name,
                dimensions: #dims,
                distance: #distance,
                partition: #part_attr,
                filters: &[#(#filter_attrs),*],
                projection: #projection,
            }
        };
        let doc = format!("The vector index `{name}` of [`{model}`], for typed similarity search.");
        index_items.push(quote! {
            #[doc = #doc]
            #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
            #vis struct #ident;
            impl ::dynox::vector::VectorIndex for #ident {
                type Model = #model;
                type Partition = #part_ty;
                const DEF: ::dynox::vector::VectorIndexDef = #def;
                fn partition_value(partition: Self::Partition) -> ::core::option::Option<::dynox::Result<::dynox::AttributeValue>> {
                    #part_fn
                }
            }
        });
        vector_defs.push(def);
    }

    // Time to live, version, generated values, hooks.
    let ttl_field = fields.iter().find(|f| f.ttl);
    let version_field = fields.iter().find(|f| f.version);
    let ttl_const = match ttl_field {
        Some(f) => {
            let n = &f.stored;
            quote! { ::core::option::Option::Some(#n) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let version_const = match version_field {
        Some(f) => {
            let n = &f.stored;
            quote! { ::core::option::Option::Some(#n) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let mut lifecycle_checks = Vec::new();
    let mut lifecycle_methods = Vec::new();
    if let Some(f) = ttl_field {
        let t = &f.ty;
        let n = &f.stored;
        lifecycle_checks.push(quote_spanned! {t.span()=> ::dynox::model::assert_ttl::<#t>(); });
        lifecycle_methods.push(quote! {
            fn after_create_table(
                client: &::dynox::Client,
            ) -> ::dynox::model::BoxFuture<'_, ::dynox::Result<()>> {
                ::std::boxed::Box::pin(::dynox::table::enable_ttl_when_active::<Self>(client, #n))
            }
        });
    }
    if let Some(f) = version_field {
        let (t, i) = (&f.ty, &f.ident);
        lifecycle_checks.push(quote_spanned! {t.span()=> ::dynox::model::assert_version::<#t>(); });
        let to = quote_spanned! {t.span()=> <#t as ::dynox::model::VersionNumber>::to_version };
        let from = quote_spanned! {t.span()=> <#t as ::dynox::model::VersionNumber>::from_version };
        lifecycle_methods.push(quote! {
            fn version(&self) -> ::core::option::Option<u64> {
                ::core::option::Option::Some(#to(self.#i))
            }
            fn set_version(&mut self, version: u64) {
                self.#i = #from(version);
            }
            fn max_version() -> u64 {
                <#t as ::dynox::model::VersionNumber>::MAX
            }
        });
    }
    let fills = fields.iter().filter_map(|f| {
        let (g, span) = f.generate.as_ref()?;
        let gen_ty = match g.as_str() {
            "uuid4" => "Uuid4",
            "uuid7" => "Uuid7",
            "ulid" => "Ulid",
            "ksuid" => "Ksuid",
            "epoch_seconds" => "EpochSeconds",
            "epoch_millis" => "EpochMillis",
            "iso8601" => "Iso8601",
            _ => "Now",
        };
        let gen_ty = Ident::new(gen_ty, *span);
        let (i, t) = (&f.ident, &f.ty);
        let call = if f.updated_at {
            quote_spanned! {t.span()=> ::dynox::generate::refresh::<#t, ::dynox::generate::#gen_ty> }
        } else {
            quote_spanned! {t.span()=> ::dynox::generate::fill::<#t, ::dynox::generate::#gen_ty> }
        };
        Some(quote! { #call(&mut self.#i); })
    }).collect::<Vec<_>>();
    if !fills.is_empty() {
        lifecycle_methods.push(quote! {
            fn prepare_save(&mut self) {
                #(#fills)*
            }
        });
    }
    if attrs.hooks {
        lifecycle_methods.push(quote! {
            fn before_save(&mut self) -> ::dynox::Result<()> {
                <Self as ::dynox::Hooks>::before_save(self)
            }
            fn after_save(&self) -> ::dynox::Result<()> {
                <Self as ::dynox::Hooks>::after_save(self)
            }
            fn after_load(&mut self) -> ::dynox::Result<()> {
                <Self as ::dynox::Hooks>::after_load(self)
            }
            fn before_update(key: &Self::Key) -> ::dynox::Result<()> {
                <Self as ::dynox::Hooks>::before_update(key)
            }
            fn after_update(key: &Self::Key) -> ::dynox::Result<()> {
                <Self as ::dynox::Hooks>::after_update(key)
            }
            fn before_delete(key: &Self::Key) -> ::dynox::Result<()> {
                <Self as ::dynox::Hooks>::before_delete(key)
            }
            fn after_delete(key: &Self::Key) -> ::dynox::Result<()> {
                <Self as ::dynox::Hooks>::after_delete(key)
            }
        });
    }
    // Encrypted fields: one declaration type each, sealed on write and unsealed on read as their
    // modes allow (a write-only field never links decryption, a read-only one never encryption).
    let mut enc_items = Vec::new();
    let mut seals = Vec::new();
    let mut unseals = Vec::new();
    let mut enc_names = Vec::new();
    let key_names: Vec<&String> = keys.iter().map(|f| &f.stored).collect();
    for f in fields.iter().filter(|f| f.encrypted.is_some()) {
        let spec = f.encrypted.as_ref().expect("filtered");
        let inner_opt = option_inner(&f.ty).unwrap_or(&f.ty);
        let Some(plain_ty) = generic_arg(inner_opt, "Secret") else {
            return Err(syn::Error::new_spanned(
                &f.ty,
                "an encrypted field is a dynox::attr::Secret<String> or Secret<Vec<u8>> (or an Option of one)",
            ));
        };
        let decl = format_ident!(
            "__DynoxEncrypted{}{}",
            model,
            camel(&f.ident.unraw().to_string())
        );
        let (k, n, version, bind) = (&spec.key, &f.stored, spec.version, spec.bind_item_key);
        let mode = match spec.mode {
            0 => quote! { ::dynox::encryption::Mode::ReadWrite },
            1 => quote! { ::dynox::encryption::Mode::WriteOnly },
            _ => quote! { ::dynox::encryption::Mode::ReadOnly },
        };
        let ctx = spec.context.iter().map(|(a, b)| quote! { (#a, #b) });
        let compression = match spec.compress.as_deref() {
            Some(c) => {
                let f = format_ident!("{}", c);
                quote! { ::core::option::Option::Some(::dynox::encryption::Compression::#f()) }
            }
            None => quote! { ::core::option::Option::None },
        };
        enc_items.push(quote! {
            #[doc(hidden)]
            #[derive(::core::fmt::Debug)]
            #vis struct #decl;
            impl ::dynox::encryption::EncryptedField for #decl {
                const KEY: &'static str = #k;
                const MODE: ::dynox::encryption::Mode = #mode;
                const VERSION: u8 = #version;
                const TABLE: &'static str = #table;
                const ATTRIBUTE: &'static str = #n;
                const CONTEXT: &'static [(&'static str, &'static str)] = &[#(#ctx),*];
                const BIND_ITEM_KEY: bool = #bind;
                const COMPRESSION: ::core::option::Option<::dynox::encryption::Compression> = #compression;
            }
        });
        enc_names.push(n.clone());
        match spec.mode {
            2 => seals.push(quote! { ::dynox::sealing::refuse_write::<#decl>(item)?; }),
            _ => seals.push(quote! { ::dynox::sealing::seal_field::<#decl, #plain_ty>(client, item, &key).await?; }),
        }
        match (spec.mode, spec.read_error) {
            (1, true) => unseals.push(quote! { ::dynox::sealing::refuse_read::<#decl>(item)?; }),
            (1, false) => {}
            _ => unseals.push(quote! { ::dynox::sealing::unseal_field::<#decl, #plain_ty>(client, item, &key).await?; }),
        }
    }
    if !seals.is_empty() {
        lifecycle_methods.push(quote! {
            const ENCRYPTED_ATTRIBUTES: &'static [&'static str] = &[#(#enc_names),*];
            #[allow(unused_variables)]
            fn seal<'a>(item: &'a mut ::dynox::Item, client: &'a ::dynox::Client) -> ::dynox::model::BoxFuture<'a, ::dynox::Result<()>> {
                ::std::boxed::Box::pin(async move {
                    let key = ::dynox::sealing::key_text(item, &[#(#key_names),*]);
                    #(#seals)*
                    ::core::result::Result::Ok(())
                })
            }
        });
    }
    let unseal_method = if enc_names.is_empty() {
        quote! {}
    } else {
        quote! {
            #[allow(unused_variables)]
            fn unseal<'a>(item: &'a mut ::dynox::Item, client: &'a ::dynox::Client) -> ::dynox::model::BoxFuture<'a, ::dynox::Result<()>> {
                ::std::boxed::Box::pin(async move {
                    let key = ::dynox::sealing::key_text(item, &[#(#key_names),*]);
                    #(#unseals)*
                    ::core::result::Result::Ok(())
                })
            }
        }
    };

    let mut attribute_names: Vec<String> = stored_fields.iter().map(|f| f.stored.clone()).collect();
    if attrs.entity.is_some() {
        attribute_names.push(attrs.discriminator.clone());
    }
    if !fields.iter().any(|f| f.extra) {
        lifecycle_methods.push(quote! {
            const ATTRIBUTES: ::core::option::Option<&'static [&'static str]> =
                ::core::option::Option::Some(&[#(#attribute_names),*]);
        });
    }

    let max_size = match &attrs.max_size {
        Some(n) => quote! { const MAX_SIZE: usize = #n; },
        None => quote! {},
    };
    let tenant_key = match &attrs.tenant {
        Some(t) => {
            let pattern = tenant_pattern(t, pk, templates.get(&pk.ident.to_string()))?;
            quote! { const TENANT_KEY: &'static [(&'static str, &'static str)] = &[("dynox:leading-key", #pattern)]; }
        }
        None => quote! {},
    };

    let key_doc = format!("The primary key of [`{model}`].");
    let fields_doc = format!("Typed attribute paths of [`{model}`], from `{model}::fields()`.");
    Ok(quote! {
        #[doc = #key_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis struct #key_ident {
            #(#key_fields,)*
        }

        impl ::dynox::ModelKey for #key_ident {
            fn to_key_item(&self) -> ::dynox::Result<::dynox::Item> {
                let mut item = ::dynox::Item::with_capacity(2);
                #(#key_puts)*
                ::core::result::Result::Ok(item)
            }
        }

        #[doc = #fields_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #fields_ident {
            #(#path_fields,)*
        }

        impl #model {
            /// Builds this model's primary key.
            #vis fn key(#(#key_params),*) -> #key_ident {
                #key_ident { #(#key_inits,)* }
            }

            /// Typed attribute paths, for conditions, updates and projections.
            #vis fn fields() -> #fields_ident {
                <Self as ::dynox::Model>::fields()
            }
        }

        impl ::dynox::FromItem for #model {
            #unseal_method
            fn from_item(mut item: ::dynox::Item) -> ::dynox::Result<Self> {
                #(#key_captures)*
                #discriminator_take
                #(#takes)*
                #leftovers
                ::core::result::Result::Ok(#model {
                    #(#inits,)*
                })
            }
        }

        #table_schema
        #(#index_items)*
        #(#enc_items)*

        impl ::dynox::Model for #model {
            const INDEXES: &'static [::dynox::model::IndexDef] = &[#(#index_defs),*];
            #entity_const
            const TTL_ATTRIBUTE: ::core::option::Option<&'static str> = #ttl_const;
            const VERSION_ATTRIBUTE: ::core::option::Option<&'static str> = #version_const;
            #max_size
            #tenant_key
            #(#lifecycle_methods)*
            const VECTOR_INDEXES: &'static [::dynox::vector::VectorIndexDef] = &[#(#vector_defs),*];
            const TABLE: &'static str = #table;
            const NAME: &'static str = #model_name;
            const PARTITION_KEY: ::dynox::model::KeyAttribute = #pk_attr;
            const SORT_KEY: ::core::option::Option<::dynox::model::KeyAttribute> = #sk_attr;
            type Key = #key_ident;
            type Fields = #fields_ident;

            fn fields() -> #fields_ident {
                #fields_ident { #(#path_inits,)* }
            }

            fn primary_key(&self) -> #key_ident {
                #key_ident { #(#key_clone,)* }
            }

            fn to_item(&self) -> ::dynox::Result<::dynox::Item> {
                #(#checks)*
                #(#lifecycle_checks)*
                let mut item = ::dynox::Item::new();
                #(#puts)*
                #discriminator_put
                #extra_put
                ::core::result::Result::Ok(item)
            }

            #[allow(unused_mut)]
            fn into_item(mut self) -> ::dynox::Result<::dynox::Item> {
                #take_extra_owned
                let mut item = ::dynox::Item::new();
                #(#owned_puts)*
                #discriminator_put
                #extra_put_owned
                ::core::result::Result::Ok(item)
            }
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum IndexKind {
    Global,
    Local,
}

enum Projection {
    All,
    KeysOnly,
    Include(Vec<LitStr>),
}

struct IndexAttr {
    name: LitStr,
    kind: IndexKind,
    ident: Option<Ident>,
    partition: Vec<LitStr>,
    sort: Vec<LitStr>,
    projection: Projection,
}

struct VectorAttr {
    name: LitStr,
    ident: Option<Ident>,
    vector: LitStr,
    dimensions: syn::LitInt,
    distance: LitStr,
    partition: Option<LitStr>,
    filters: Vec<LitStr>,
    projection: Projection,
}

struct StructAttrs {
    table: String,
    indexes: Vec<IndexAttr>,
    vectors: Vec<VectorAttr>,
    hooks: bool,
    max_size: Option<syn::LitInt>,
    /// `unknown = "ignore" | "error" | "keep"`
    unknown: String,
    /// `entity = "..."`: the discriminator value of this model in a shared table.
    entity: Option<LitStr>,
    /// `discriminator = "..."`: the attribute holding it (default `_type`).
    discriminator: String,
    /// `tenant = "field"`: the field that isolates tenants, for `dynamodb:LeadingKeys`.
    tenant: Option<LitStr>,
}

fn parse_vector_index(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<VectorAttr> {
    let (mut name, mut ident, mut vector, mut dimensions, mut distance) =
        (None, None, None, None, None);
    let mut partition = None;
    let mut filters = Vec::new();
    let mut projection = None;
    meta.parse_nested_meta(|m| {
        if m.path.is_ident("name") {
            name = Some(m.value()?.parse::<LitStr>()?);
        } else if m.path.is_ident("rust_name") {
            let l: LitStr = m.value()?.parse()?;
            ident = Some(l.parse::<Ident>()?);
        } else if m.path.is_ident("vector") {
            vector = Some(m.value()?.parse::<LitStr>()?);
        } else if m.path.is_ident("dimensions") {
            dimensions = Some(m.value()?.parse::<syn::LitInt>()?);
        } else if m.path.is_ident("distance") {
            let l: LitStr = m.value()?.parse()?;
            if !matches!(l.value().as_str(), "cosine" | "euclidean" | "dot_product") {
                return Err(syn::Error::new_spanned(
                    l,
                    "distance is \"cosine\", \"euclidean\" or \"dot_product\"",
                ));
            }
            distance = Some(l);
        } else if m.path.is_ident("partition") {
            partition = Some(m.value()?.parse::<LitStr>()?);
        } else if m.path.is_ident("filters") {
            filters = field_list(&m)?;
        } else if m.path.is_ident("projection") {
            let l: LitStr = m.value()?.parse()?;
            projection = Some(match l.value().as_str() {
                "all" => Projection::All,
                "keys_only" => Projection::KeysOnly,
                _ => {
                    return Err(syn::Error::new_spanned(
                        l,
                        "projection is \"all\" or \"keys_only\"; use include = [...] for a list",
                    ));
                }
            });
        } else if m.path.is_ident("include") {
            projection = Some(Projection::Include(field_list(&m)?));
        } else {
            return Err(m.error(format!(
                "unknown vector index attribute `{}`; expected `name`, `vector`, `dimensions`, \
                 `distance`, `partition`, `filters`, `projection`, `include` or `rust_name`",
                path_name(&m.path)
            )));
        }
        Ok(())
    })?;
    let missing = |what: &str| meta.error(format!("a vector index needs `{what}`"));
    let name = name.ok_or_else(|| missing("name = \"...\""))?;
    if !valid_name(&name.value()) {
        return Err(syn::Error::new_spanned(
            &name,
            "an index name has 3 to 255 characters: letters, digits, `_`, `-` and `.`",
        ));
    }
    let dimensions = dimensions.ok_or_else(|| missing("dimensions = N"))?;
    let d: u32 = dimensions.base10_parse()?;
    if d == 0 {
        return Err(syn::Error::new_spanned(
            &dimensions,
            "a vector has at least one dimension",
        ));
    }
    Ok(VectorAttr {
        name,
        ident,
        vector: vector.ok_or_else(|| missing("vector = \"field\""))?,
        dimensions,
        distance: distance.ok_or_else(|| missing("distance = \"cosine\""))?,
        partition,
        filters,
        projection: projection.unwrap_or(Projection::All),
    })
}

fn valid_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `"field"` or `["a", "b"]`.
fn field_list(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Vec<LitStr>> {
    let expr: syn::Expr = meta.value()?.parse()?;
    let lit = |e: &syn::Expr| match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            "expected a field name as a string, or a list of them: [\"a\", \"b\"]",
        )),
    };
    match &expr {
        syn::Expr::Array(a) => a.elems.iter().map(lit).collect(),
        other => Ok(vec![lit(other)?]),
    }
}

fn parse_index(meta: &syn::meta::ParseNestedMeta<'_>, kind: IndexKind) -> syn::Result<IndexAttr> {
    let mut name = None;
    let mut ident = None;
    let mut partition = Vec::new();
    let mut sort = Vec::new();
    let mut projection = None;
    meta.parse_nested_meta(|m| {
        if m.path.is_ident("name") {
            name = Some(m.value()?.parse::<LitStr>()?);
        } else if m.path.is_ident("rust_name") {
            let l: LitStr = m.value()?.parse()?;
            ident = Some(l.parse::<Ident>()?);
        } else if m.path.is_ident("partition_key") {
            if kind == IndexKind::Local {
                return Err(m.error(
                    "a local index shares the table's partition key: give only `sort_key`",
                ));
            }
            partition = field_list(&m)?;
        } else if m.path.is_ident("sort_key") {
            sort = field_list(&m)?;
        } else if m.path.is_ident("projection") {
            let l: LitStr = m.value()?.parse()?;
            projection = Some(match l.value().as_str() {
                "all" => Projection::All,
                "keys_only" => Projection::KeysOnly,
                _ => {
                    return Err(syn::Error::new_spanned(
                        l,
                        "projection is \"all\" or \"keys_only\"; use include = [...] for a list",
                    ));
                }
            });
        } else if m.path.is_ident("include") {
            projection = Some(Projection::Include(field_list(&m)?));
        } else {
            return Err(m.error(format!(
                "unknown index attribute `{}`; expected `name`, `partition_key`, `sort_key`, \
                 `projection`, `include` or `rust_name`",
                path_name(&m.path)
            )));
        }
        Ok(())
    })?;
    let name = name.ok_or_else(|| meta.error("an index needs `name = \"...\"`"))?;
    if !valid_name(&name.value()) {
        return Err(syn::Error::new_spanned(
            &name,
            "an index name has 3 to 255 characters: letters, digits, `_`, `-` and `.`",
        ));
    }
    let (max_pk, max_sk) = match kind {
        IndexKind::Global => (4, 4),
        IndexKind::Local => (0, 1),
    };
    if kind == IndexKind::Global && partition.is_empty() {
        return Err(syn::Error::new_spanned(
            &name,
            "a global index needs `partition_key`",
        ));
    }
    if kind == IndexKind::Local && sort.is_empty() {
        return Err(syn::Error::new_spanned(
            &name,
            "a local index needs `sort_key`",
        ));
    }
    if partition.len() > max_pk || sort.len() > max_sk {
        return Err(syn::Error::new_spanned(
            &name,
            format!(
                "this index kind takes at most {max_pk} partition and {max_sk} sort key attributes"
            ),
        ));
    }
    Ok(IndexAttr {
        name,
        kind,
        ident,
        partition,
        sort,
        projection: projection.unwrap_or(Projection::All),
    })
}

/// The codec type of a field, spanned at the field's type so that a type that cannot be stored
/// is reported there.
fn codec_tokens(f: &Field) -> TokenStream2 {
    match f.codec {
        Codec::Native => quote_spanned! {f.ty.span()=> ::dynox::attr::Native },
        Codec::Bytes => quote_spanned! {f.ty.span()=> ::dynox::attr::Bytes },
        Codec::EpochSeconds => quote_spanned! {f.ty.span()=> ::dynox::attr::EpochSeconds },
        Codec::EpochMillis => quote_spanned! {f.ty.span()=> ::dynox::attr::EpochMillis },
        Codec::Serde => quote_spanned! {f.ty.span()=> ::dynox::attr::SerdeValue },
        Codec::Json => quote_spanned! {f.ty.span()=> ::dynox::attr::Json },
        Codec::Compressed(a, l, m, r) => {
            quote_spanned! {f.ty.span()=> ::dynox::attr::Compressed<#a, #l, #m, #r> }
        }
        Codec::Encrypted => quote_spanned! {f.ty.span()=> ::dynox::attr::Encrypted },
    }
}

fn parse_struct_attrs(input: &DeriveInput) -> syn::Result<StructAttrs> {
    let mut table: Option<LitStr> = None;
    let mut indexes = Vec::new();
    let mut vectors = Vec::new();
    let mut hooks = false;
    let mut max_size: Option<syn::LitInt> = None;
    let mut unknown = "ignore".to_owned();
    let mut entity: Option<LitStr> = None;
    let mut discriminator = "_type".to_owned();
    let mut tenant: Option<LitStr> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("dynox")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                if table.is_some() {
                    return Err(meta.error("`table` is given twice"));
                }
                table = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("global_index") {
                indexes.push(parse_index(&meta, IndexKind::Global)?);
                Ok(())
            } else if meta.path.is_ident("local_index") {
                indexes.push(parse_index(&meta, IndexKind::Local)?);
                Ok(())
            } else if meta.path.is_ident("vector_index") {
                vectors.push(parse_vector_index(&meta)?);
                Ok(())
            } else if meta.path.is_ident("hooks") {
                hooks = true;
                Ok(())
            } else if meta.path.is_ident("unknown") {
                let lit: LitStr = meta.value()?.parse()?;
                if !matches!(lit.value().as_str(), "ignore" | "error" | "keep") {
                    return Err(syn::Error::new_spanned(
                        lit,
                        "unknown is \"ignore\", \"error\" or \"keep\" (with an #[dynox(extra)] field)",
                    ));
                }
                unknown = lit.value();
                Ok(())
            } else if meta.path.is_ident("entity") {
                entity = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("discriminator") {
                discriminator = meta.value()?.parse::<LitStr>()?.value();
                Ok(())
            } else if meta.path.is_ident("tenant") {
                tenant = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("max_size") {
                let lit: syn::LitInt = meta.value()?.parse()?;
                let n: usize = lit.base10_parse()?;
                if n == 0 || n > 400 * 1024 {
                    return Err(syn::Error::new_spanned(
                        lit,
                        "max_size is 1 to 409600 bytes (DynamoDB's 400 KB item limit)",
                    ));
                }
                max_size = Some(lit);
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown dynox attribute `{}` on a model; expected `table = \"...\"`, \
                     `global_index(...)`, `local_index(...)`, `vector_index(...)`, `hooks`, \
                     `max_size = N`, `unknown = \"...\"`, `entity = \"...\"`, \
                     `discriminator = \"...\"` or `tenant = \"field\"`",
                    path_name(&meta.path)
                )))
            }
        })?;
    }
    let table = table.ok_or_else(|| {
        syn::Error::new_spanned(
            &input.ident,
            "a model needs its table: add #[dynox(table = \"...\")]",
        )
    })?;
    if !valid_name(&table.value()) {
        return Err(syn::Error::new_spanned(
            &table,
            "a DynamoDB table name has 3 to 255 characters: letters, digits, `_`, `-` and `.`",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for ix in &indexes {
        if !seen.insert(ix.name.value()) {
            return Err(syn::Error::new_spanned(
                &ix.name,
                "two indexes have this name",
            ));
        }
    }
    let globals = indexes
        .iter()
        .filter(|i| i.kind == IndexKind::Global)
        .count();
    let locals = indexes.len() - globals;
    if globals > 20 || locals > 5 {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "DynamoDB allows at most 20 global and 5 local secondary indexes per table",
        ));
    }
    for v in &vectors {
        if !seen.insert(v.name.value()) {
            return Err(syn::Error::new_spanned(
                &v.name,
                "two indexes have this name",
            ));
        }
    }
    Ok(StructAttrs {
        table: table.value(),
        indexes,
        vectors,
        hooks,
        max_size,
        unknown,
        entity,
        discriminator,
        tenant,
    })
}

fn path_name(p: &syn::Path) -> String {
    p.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

fn parse_field(f: &syn::Field) -> syn::Result<Field> {
    let ident = f.ident.clone().expect("named field");
    let mut out = Field {
        stored: ident.unraw().to_string(),
        ident,
        renamed: false,
        ty: f.ty.clone(),
        partition_key: false,
        sort_key: false,
        skip: false,
        default: false,
        codec: Codec::Native,
        path_ty: TokenStream2::new(),
        ttl: false,
        version: false,
        generate: None,
        updated_at: false,
        extra: false,
        template: None,
        encrypted: None,
    };
    let mut codec: Option<Codec> = None;
    for attr in f.attrs.iter().filter(|a| a.path().is_ident("dynox")) {
        attr.parse_nested_meta(|meta| {
            let flag = |set: &mut bool, name: &str| {
                if *set {
                    Err(meta.error(format!("`{name}` is given twice")))
                } else {
                    *set = true;
                    Ok(())
                }
            };
            if meta.path.is_ident("partition_key") {
                flag(&mut out.partition_key, "partition_key")
            } else if meta.path.is_ident("sort_key") {
                flag(&mut out.sort_key, "sort_key")
            } else if meta.path.is_ident("skip") {
                flag(&mut out.skip, "skip")
            } else if meta.path.is_ident("default") {
                flag(&mut out.default, "default")
            } else if meta.path.is_ident("rename") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().is_empty() {
                    return Err(syn::Error::new_spanned(
                        lit,
                        "an attribute name cannot be empty",
                    ));
                }
                out.stored = lit.value();
                out.renamed = true;
                Ok(())
            } else if meta.path.is_ident("timestamp") {
                let lit: LitStr = meta.value()?.parse()?;
                let c = match lit.value().as_str() {
                    "iso8601" => Codec::Native,
                    "epoch_seconds" => Codec::EpochSeconds,
                    "epoch_millis" => Codec::EpochMillis,
                    _ => {
                        return Err(syn::Error::new_spanned(
                            lit,
                            "timestamp is \"iso8601\", \"epoch_seconds\" or \"epoch_millis\"",
                        ));
                    }
                };
                set_codec(&mut codec, c, &meta)
            } else if meta.path.is_ident("encrypted") {
                out.encrypted = Some(parse_encrypted(&meta)?);
                set_codec(&mut codec, Codec::Encrypted, &meta)
            } else if meta.path.is_ident("compress") {
                set_codec(&mut codec, parse_compress(&meta)?, &meta)
            } else if meta.path.is_ident("serde") {
                set_codec(&mut codec, Codec::Serde, &meta)
            } else if meta.path.is_ident("json") {
                set_codec(&mut codec, Codec::Json, &meta)
            } else if meta.path.is_ident("template") {
                out.template = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident("extra") {
                flag(&mut out.extra, "extra")
            } else if meta.path.is_ident("ttl") {
                flag(&mut out.ttl, "ttl")
            } else if meta.path.is_ident("version") {
                flag(&mut out.version, "version")
            } else if meta.path.is_ident("generate") {
                let lit: LitStr = meta.value()?.parse()?;
                if !GENERATORS.contains(&lit.value().as_str()) {
                    return Err(syn::Error::new_spanned(
                        &lit,
                        format!("generate is one of {}", GENERATORS.join(", ")),
                    ));
                }
                set_generator(&mut out.generate, lit.value(), lit.span(), &meta)
            } else if meta.path.is_ident("created_at") {
                set_generator(&mut out.generate, "now".into(), meta.path.span(), &meta)
            } else if meta.path.is_ident("updated_at") {
                set_generator(&mut out.generate, "now".into(), meta.path.span(), &meta)?;
                out.updated_at = true;
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown dynox attribute `{}` on a field; expected one of `partition_key`, \
                     `sort_key`, `rename = \"...\"`, `skip`, `default`, `timestamp = \"...\"`, \
                     `serde`, `json`, `compress`, `encrypted(...)`, `ttl`, `version`, `generate = \"...\"`, `created_at`, \
                     `updated_at`, `extra`, `template = \"...\"`",
                    path_name(&meta.path)
                )))
            }
        })?;
    }
    let (detected, path_ty) = classify(&out.ty);
    out.codec = codec.unwrap_or(detected);
    out.path_ty = match out.codec {
        Codec::Native | Codec::Bytes => path_ty,
        // Compared as the stored number.
        Codec::EpochSeconds | Codec::EpochMillis => quote! { i64 },
        // Reached untyped.
        Codec::Serde | Codec::Json => quote! { ::dynox::AttributeValue },
        // Stored compressed: compared as the stored text.
        Codec::Compressed(..) => quote! { ::std::string::String },
        // Ciphertext: reached untyped.
        Codec::Encrypted => quote! { ::dynox::AttributeValue },
    };
    Ok(out)
}

/// The value generators of `#[dynox(generate = "...")]`.
const GENERATORS: [&str; 7] = [
    "uuid4",
    "uuid7",
    "ulid",
    "ksuid",
    "epoch_seconds",
    "epoch_millis",
    "iso8601",
];

/// `compress = "zstd"` or `compress(algorithm = "gzip", level = 9, min_size = 64, max_ratio = 0.8)`.
fn parse_compress(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Codec> {
    let alg_of = |lit: &LitStr| match lit.value().as_str() {
        "zstd" => Ok((0u8, 3i32)),
        "lz4" => Ok((1, 0)),
        "gzip" => Ok((2, 6)),
        _ => Err(syn::Error::new_spanned(
            lit,
            "compress is \"zstd\", \"lz4\" or \"gzip\"",
        )),
    };
    if meta.input.peek(syn::Token![=]) {
        let lit: LitStr = meta.value()?.parse()?;
        let (a, l) = alg_of(&lit)?;
        return Ok(Codec::Compressed(a, l, 100, 90));
    }
    let (mut a, mut l, mut m, mut r) = (0u8, 3i32, 100usize, 90u32);
    let mut level_given = None;
    meta.parse_nested_meta(|m2| {
        if m2.path.is_ident("algorithm") {
            let lit: LitStr = m2.value()?.parse()?;
            let (aa, ll) = alg_of(&lit)?;
            a = aa;
            l = ll;
        } else if m2.path.is_ident("level") {
            level_given = Some(m2.value()?.parse::<syn::LitInt>()?.base10_parse::<i32>()?);
        } else if m2.path.is_ident("min_size") {
            m = m2.value()?.parse::<syn::LitInt>()?.base10_parse()?;
        } else if m2.path.is_ident("max_ratio") {
            let f: f64 = m2.value()?.parse::<syn::LitFloat>()?.base10_parse()?;
            if !(0.0..=1.0).contains(&f) {
                return Err(m2.error("max_ratio is between 0 and 1"));
            }
            r = (f * 100.0).round() as u32;
        } else {
            return Err(m2.error("compress takes `algorithm`, `level`, `min_size`, `max_ratio`"));
        }
        Ok(())
    })?;
    if let Some(level) = level_given {
        let ok = match a {
            0 => (1..=22).contains(&level),
            2 => (0..=9).contains(&level),
            _ => false,
        };
        if !ok {
            return Err(meta.error("level is 1 to 22 for zstd, 0 to 9 for gzip; lz4 takes none"));
        }
        l = level;
    }
    Ok(Codec::Compressed(a, l, m, r))
}

fn set_codec(
    slot: &mut Option<Codec>,
    c: Codec,
    meta: &syn::meta::ParseNestedMeta<'_>,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(
            meta.error("a field has one storage form: `timestamp`, `serde`, `json` or `compress`")
        );
    }
    *slot = Some(c);
    Ok(())
}

fn set_generator(
    slot: &mut Option<(String, Span)>,
    g: String,
    span: Span,
    meta: &syn::meta::ParseNestedMeta<'_>,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(
            meta.error("a field has one generated value: `generate`, `created_at` or `updated_at`")
        );
    }
    *slot = Some((g, span));
    Ok(())
}

/// `Some(inner)` when `ty` is `Option<inner>`.
fn option_inner(ty: &Type) -> Option<&Type> {
    generic_arg(ty, "Option")
}

fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

fn is_bytes(ty: &Type) -> bool {
    matches!(generic_arg(ty, "Vec"), Some(Type::Path(p)) if p.path.is_ident("u8"))
}

fn classify(ty: &Type) -> (Codec, TokenStream2) {
    let inner = option_inner(ty).unwrap_or(ty);
    if is_bytes(inner) {
        (Codec::Bytes, quote! { ::dynox::attr::Binary })
    } else {
        (Codec::Native, quote! { #inner })
    }
}

/// The `IndexProjection` of a declared index, with included fields by their stored names.
fn projection_tokens<'f>(
    p: &Projection,
    find: &impl Fn(&LitStr) -> syn::Result<&'f Field>,
) -> syn::Result<TokenStream2> {
    Ok(match p {
        Projection::All => quote! { ::dynox::model::IndexProjection::All },
        Projection::KeysOnly => quote! { ::dynox::model::IndexProjection::KeysOnly },
        Projection::Include(list) => {
            let names = list
                .iter()
                .map(|l| find(l).map(|f| f.stored.clone()))
                .collect::<syn::Result<Vec<_>>>()?;
            quote! { ::dynox::model::IndexProjection::Include(&[#(#names),*]) }
        }
    })
}

fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

fn check_fields(model: &Ident, fields: &[Field]) -> syn::Result<()> {
    let mut pk = None;
    let mut sk = None;
    for f in fields {
        if f.partition_key && f.sort_key {
            return Err(syn::Error::new_spanned(
                &f.ident,
                "a field cannot be both the partition key and the sort key",
            ));
        }
        if (f.partition_key || f.sort_key) && (f.skip || f.default || option_inner(&f.ty).is_some())
        {
            return Err(syn::Error::new_spanned(
                &f.ident,
                "a key field is always stored: it cannot be `skip`, `default` or an `Option`",
            ));
        }
        if f.skip && (f.default || f.renamed) {
            return Err(syn::Error::new_spanned(
                &f.ident,
                "a skipped field is not stored: `rename` and `default` do not apply",
            ));
        }
        if f.partition_key {
            if pk.is_some() {
                return Err(syn::Error::new_spanned(
                    &f.ident,
                    "a model has exactly one partition key, and this is a second one",
                ));
            }
            pk = Some(f);
        }
        if f.sort_key {
            if sk.is_some() {
                return Err(syn::Error::new_spanned(
                    &f.ident,
                    "a model has at most one sort key, and this is a second one",
                ));
            }
            sk = Some(f);
        }
    }
    if pk.is_none() {
        return Err(syn::Error::new_spanned(
            model,
            "a model needs a partition key: mark one field with #[dynox(partition_key)]",
        ));
    }
    let extras: Vec<&Field> = fields.iter().filter(|f| f.extra).collect();
    if let Some(second) = extras.get(1) {
        return Err(syn::Error::new_spanned(
            &second.ident,
            "a model has at most one `extra` field",
        ));
    }
    for (what, pick) in [("ttl", 0), ("version", 1)] {
        let marked: Vec<&Field> = fields
            .iter()
            .filter(|f| if pick == 0 { f.ttl } else { f.version })
            .collect();
        if let Some(second) = marked.get(1) {
            return Err(syn::Error::new_spanned(
                &second.ident,
                format!("a model has at most one `{what}` field, and this is a second one"),
            ));
        }
        if let Some(f) = marked.first()
            && (f.partition_key || f.sort_key || f.skip)
        {
            return Err(syn::Error::new_spanned(
                &f.ident,
                format!("a `{what}` field is stored and is not a key"),
            ));
        }
    }
    let mut seen = std::collections::HashMap::new();
    for f in fields.iter().filter(|f| !f.skip) {
        if let Some(prev) = seen.insert(f.stored.clone(), &f.ident) {
            return Err(syn::Error::new_spanned(
                &f.ident,
                format!(
                    "`{}` and `{prev}` are both stored as the attribute `{}`",
                    f.ident, f.stored
                ),
            ));
        }
    }
    Ok(())
}
