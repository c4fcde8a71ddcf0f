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

    let table = parse_struct_attrs(input)?;
    let mut fields = Vec::new();
    for f in &named.named {
        fields.push(parse_field(f)?);
    }
    check_fields(&input.ident, &fields)?;

    let model = &input.ident;
    let vis = &input.vis;
    let model_name = model.to_string();
    let key_ident = format_ident!("{}Key", model);
    let fields_ident = format_ident!("{}Fields", model);
    let pk = fields.iter().find(|f| f.partition_key).expect("checked");
    let sk = fields.iter().find(|f| f.sort_key);
    let keys: Vec<&Field> = std::iter::once(pk).chain(sk).collect();

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

    // Spanned at the field's type, so a type that cannot be stored is reported there.
    let codec_ty = |f: &Field| match f.codec {
        Codec::Native => quote_spanned! {f.ty.span()=> ::dynox::attr::Native },
        Codec::Bytes => quote_spanned! {f.ty.span()=> ::dynox::attr::Bytes },
    };

    // The key type.
    let key_fields = keys.iter().map(|f| {
        let (i, t) = (&f.ident, &f.ty);
        quote! { pub #i: #t }
    });
    let key_params = keys.iter().map(|f| {
        let (i, t) = (&f.ident, &f.ty);
        quote! { #i: impl ::dynox::expr::IntoValue<#t> }
    });
    let key_inits = keys.iter().map(|f| {
        let i = &f.ident;
        quote! { #i: ::dynox::expr::IntoValue::into_value(#i) }
    });
    let key_clone = keys.iter().map(|f| {
        let i = &f.ident;
        quote! { #i: ::core::clone::Clone::clone(&self.#i) }
    });
    let key_puts = keys.iter().map(|f| {
        let (i, t, n, fname) = (&f.ident, &f.ty, &f.stored, f.ident.unraw().to_string());
        let c = codec_ty(f);
        quote_spanned! {t.span()=> ::dynox::model::put_key::<#t, #c>(&mut item, #n, &self.#i, #model_name, #fname)?; }
    });

    // Typed paths.
    let stored_fields: Vec<&Field> = fields.iter().filter(|f| !f.skip).collect();
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
            quote_spanned! {t.span()=> ::dynox::model::put_key::<#t, #c>(&mut item, #n, &self.#i, #model_name, #fname)?; }
        } else {
            quote_spanned! {t.span()=> ::dynox::model::put_field::<#t, #c>(&mut item, #n, &self.#i, #model_name, #fname)?; }
        }
    });
    // Keys are encoded by reference first, then the other fields are moved out of `self`.
    let owned_puts = stored_fields
        .iter()
        .filter(|f| f.partition_key || f.sort_key)
        .chain(stored_fields.iter().filter(|f| !(f.partition_key || f.sort_key)))
        .map(|f| {
            let (i, t, n, fname) = (&f.ident, &f.ty, &f.stored, f.ident.unraw().to_string());
            let c = codec_ty(f);
            if f.partition_key || f.sort_key {
                quote_spanned! {t.span()=> ::dynox::model::put_key::<#t, #c>(&mut item, #n, &self.#i, #model_name, #fname)?; }
            } else {
                quote_spanned! {t.span()=> ::dynox::model::put_field_owned::<#t, #c>(&mut item, #n, self.#i, #model_name, #fname)?; }
            }
        });
    let takes = fields.iter().map(|f| {
        let (i, t, n, fname) = (&f.ident, &f.ty, &f.stored, f.ident.unraw().to_string());
        let c = codec_ty(f);
        if f.skip {
            quote_spanned! {t.span()=> #i: <#t as ::core::default::Default>::default() }
        } else if f.default {
            quote_spanned! {t.span()=> #i: ::dynox::model::take_field_or_default::<#t, #c>(&mut item, #n, #model_name, #fname)? }
        } else {
            quote_spanned! {t.span()=> #i: ::dynox::model::take_field::<#t, #c>(&mut item, #n, #model_name, #fname)? }
        }
    });

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
            fn from_item(mut item: ::dynox::Item) -> ::dynox::Result<Self> {
                ::core::result::Result::Ok(#model {
                    #(#takes,)*
                })
            }
        }

        impl ::dynox::Model for #model {
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
                let mut item = ::dynox::Item::new();
                #(#puts)*
                ::core::result::Result::Ok(item)
            }

            fn into_item(self) -> ::dynox::Result<::dynox::Item> {
                let mut item = ::dynox::Item::new();
                #(#owned_puts)*
                ::core::result::Result::Ok(item)
            }
        }
    })
}

fn parse_struct_attrs(input: &DeriveInput) -> syn::Result<String> {
    let mut table: Option<LitStr> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("dynox")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                if table.is_some() {
                    return Err(meta.error("`table` is given twice"));
                }
                table = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown dynox attribute `{}` on a model; expected `table = \"...\"`",
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
    let name = table.value();
    let valid = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !valid {
        return Err(syn::Error::new_spanned(
            &table,
            "a DynamoDB table name has 3 to 255 characters: letters, digits, `_`, `-` and `.`",
        ));
    }
    Ok(name)
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
    };
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
            } else {
                Err(meta.error(format!(
                    "unknown dynox attribute `{}` on a field; expected one of `partition_key`, \
                     `sort_key`, `rename = \"...\"`, `skip`, `default`",
                    path_name(&meta.path)
                )))
            }
        })?;
    }
    let (codec, path_ty) = classify(&out.ty);
    out.codec = codec;
    out.path_ty = path_ty;
    Ok(out)
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
