//! `#[derive(Attribute)]`: nested structs as maps, enums as strings (unit variants) or as maps
//! with a tag attribute (struct variants).

use crate::{Field, codec_tokens, parse_field, path_name};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{Data, DeriveInput, Fields, LitStr};

fn rename_of(attrs: &[syn::Attribute], what: &str) -> syn::Result<Option<LitStr>> {
    let mut out = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("dynox")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                out = Some(meta.value()?.parse()?);
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown dynox attribute `{}` on {what}; expected `rename = \"...\"`",
                    path_name(&meta.path)
                )))
            }
        })?;
    }
    Ok(out)
}

fn tag_of(input: &DeriveInput) -> syn::Result<String> {
    let mut tag = "type".to_owned();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("dynox")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("tag") {
                tag = meta.value()?.parse::<LitStr>()?.value();
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown dynox attribute `{}` on a nested type; expected `tag = \"...\"` (enums)",
                    path_name(&meta.path)
                )))
            }
        })?;
    }
    Ok(tag)
}

fn check_nested_fields(fields: &[Field]) -> syn::Result<()> {
    for f in fields {
        if f.partition_key
            || f.sort_key
            || f.ttl
            || f.version
            || f.generate.is_some()
            || f.encrypted.is_some()
            || f.template.is_some()
            || f.extra
        {
            return Err(syn::Error::new_spanned(
                &f.ident,
                "keys, templates, ttl, version, generated values, encryption and extra belong on \
                 a model, not a nested type",
            ));
        }
    }
    Ok(())
}

/// Encoding and decoding of named fields into `map`.
fn field_code(fields: &[Field]) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let puts = fields
        .iter()
        .filter(|f| !f.skip)
        .map(|f| {
            let (i, t, n) = (&f.ident, &f.ty, &f.stored);
            let c = codec_tokens(f);
            let call = quote_spanned! {t.span()=> ::dynox::attr::put_nested::<#t, #c> };
            quote! { #call(&mut map, #n, #i)?; }
        })
        .collect();
    let takes = fields
        .iter()
        .map(|f| {
            let (i, t, n) = (&f.ident, &f.ty, &f.stored);
            let c = codec_tokens(f);
            if f.skip {
                quote_spanned! {t.span()=> #i: <#t as ::core::default::Default>::default() }
            } else if f.default {
                let call =
                    quote_spanned! {t.span()=> ::dynox::attr::take_nested_or_default::<#t, #c> };
                quote! { #i: #call(&mut map, #n)? }
            } else {
                let call = quote_spanned! {t.span()=> ::dynox::attr::take_nested::<#t, #c> };
                quote! { #i: #call(&mut map, #n)? }
            }
        })
        .collect();
    (puts, takes)
}

fn named_fields(fields: &Fields, what: &str) -> syn::Result<Vec<Field>> {
    let Fields::Named(named) = fields else {
        return Err(syn::Error::new_spanned(
            fields,
            format!("#[derive(Attribute)] needs named fields on {what}"),
        ));
    };
    let parsed = named
        .named
        .iter()
        .map(parse_field)
        .collect::<syn::Result<Vec<_>>>()?;
    check_nested_fields(&parsed)?;
    Ok(parsed)
}

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Attribute)] does not support generic types",
        ));
    }
    let name = &input.ident;
    match &input.data {
        Data::Struct(data) => {
            tag_of(input)?;
            let fields = named_fields(&data.fields, "a struct")?;
            let (puts, takes) = field_code(&fields);
            let bindings = fields.iter().filter(|f| !f.skip).map(|f| &f.ident);
            let fields_ident = format_ident!("{}Fields", name);
            let vis = &input.vis;
            let path_fields = fields.iter().filter(|f| !f.skip).map(|f| {
                let (i, t) = (&f.ident, &f.path_ty);
                quote! { pub #i: ::dynox::expr::Path<#t> }
            });
            let path_inits = fields.iter().filter(|f| !f.skip).map(|f| {
                let (i, n) = (&f.ident, &f.stored);
                quote! { #i: base.field(#n) }
            });
            let doc = format!("Typed paths to the fields of a nested [`{name}`].");
            Ok(quote! {
                impl ::dynox::attr::Attribute for #name {
                    fn to_attribute(&self) -> ::core::result::Result<::core::option::Option<::dynox::AttributeValue>, ::dynox::attr::ValueError> {
                        let #name { #(#bindings,)* .. } = self;
                        let mut map = ::dynox::Item::new();
                        #(#puts)*
                        ::core::result::Result::Ok(::core::option::Option::Some(::dynox::AttributeValue::M(map)))
                    }
                    fn from_attribute(value: ::dynox::AttributeValue) -> ::core::result::Result<Self, ::dynox::attr::ValueError> {
                        let mut map = ::dynox::attr::expect_map(value)?;
                        ::core::result::Result::Ok(#name { #(#takes,)* })
                    }
                }

                #[doc = #doc]
                #[derive(::core::clone::Clone, ::core::fmt::Debug)]
                #vis struct #fields_ident {
                    #(#[allow(missing_docs)] #path_fields,)*
                }

                impl ::dynox::expr::HasFields for #name {
                    type Fields = #fields_ident;
                    fn fields_under(base: &::dynox::expr::Path<Self>) -> #fields_ident {
                        #fields_ident { #(#path_inits,)* }
                    }
                }
            })
        }
        Data::Enum(data) => {
            let tag = tag_of(input)?;
            let unit_only = data
                .variants
                .iter()
                .all(|v| matches!(v.fields, Fields::Unit));
            let mut to_arms = Vec::new();
            let mut from_arms = Vec::new();
            let mut names = Vec::new();
            for v in &data.variants {
                let vi = &v.ident;
                let stored = rename_of(&v.attrs, "a variant")?
                    .map_or_else(|| vi.unraw().to_string(), |l| l.value());
                names.push(stored.clone());
                match (&v.fields, unit_only) {
                    (Fields::Unit, true) => {
                        to_arms.push(
                            quote! { #name::#vi => ::dynox::AttributeValue::S(#stored.to_owned()) },
                        );
                        from_arms.push(quote! { #stored => #name::#vi });
                    }
                    (Fields::Unit, false) => {
                        to_arms.push(quote! { #name::#vi => {
                            let mut map = ::dynox::Item::new();
                            map.insert(#tag.to_owned(), ::dynox::AttributeValue::S(#stored.to_owned()));
                            ::dynox::AttributeValue::M(map)
                        } });
                        from_arms.push(quote! { #stored => #name::#vi });
                    }
                    (Fields::Named(_), _) => {
                        let fields = named_fields(&v.fields, "a variant")?;
                        if let Some(f) = fields.iter().find(|f| f.stored == tag) {
                            return Err(syn::Error::new_spanned(
                                &f.ident,
                                format!("this field is stored as `{tag}`, the enum's tag"),
                            ));
                        }
                        let (puts, takes) = field_code(&fields);
                        let bindings: Vec<_> = fields
                            .iter()
                            .filter(|f| !f.skip)
                            .map(|f| &f.ident)
                            .collect();
                        to_arms.push(quote! { #name::#vi { #(#bindings,)* .. } => {
                            let mut map = ::dynox::Item::new();
                            map.insert(#tag.to_owned(), ::dynox::AttributeValue::S(#stored.to_owned()));
                            #(#puts)*
                            ::dynox::AttributeValue::M(map)
                        } });
                        from_arms.push(quote! { #stored => #name::#vi { #(#takes,)* } });
                    }
                    (Fields::Unnamed(_), _) => {
                        return Err(syn::Error::new_spanned(
                            &v.fields,
                            "#[derive(Attribute)] stores unit and struct variants; give this variant named fields",
                        ));
                    }
                }
            }
            let expected = names.join(", ");
            let from_body = if unit_only {
                quote! {
                    let s = ::dynox::attr::expect_string(value)?;
                    ::core::result::Result::Ok(match s.as_str() {
                        #(#from_arms,)*
                        other => return ::core::result::Result::Err(::dynox::attr::ValueError::Invalid(
                            ::std::format!("`{other}` is not one of {}", #expected))),
                    })
                }
            } else {
                quote! {
                    let mut map = ::dynox::attr::expect_map(value)?;
                    let tag = match map.remove(#tag) {
                        ::core::option::Option::Some(v) => ::dynox::attr::expect_string(v)?,
                        ::core::option::Option::None => return ::core::result::Result::Err(
                            ::dynox::attr::ValueError::Invalid(::std::format!("the tag `{}` is missing", #tag))),
                    };
                    ::core::result::Result::Ok(match tag.as_str() {
                        #(#from_arms,)*
                        other => return ::core::result::Result::Err(::dynox::attr::ValueError::Invalid(
                            ::std::format!("`{other}` is not one of {}", #expected))),
                    })
                }
            };
            let to_body = quote! {
                ::core::result::Result::Ok(::core::option::Option::Some(match self { #(#to_arms,)* }))
            };
            Ok(quote! {
                impl ::dynox::attr::Attribute for #name {
                    fn to_attribute(&self) -> ::core::result::Result<::core::option::Option<::dynox::AttributeValue>, ::dynox::attr::ValueError> {
                        #to_body
                    }
                    #[allow(unused_mut)]
                    fn from_attribute(value: ::dynox::AttributeValue) -> ::core::result::Result<Self, ::dynox::attr::ValueError> {
                        #from_body
                    }
                }
            })
        }
        Data::Union(_) => Err(syn::Error::new_spanned(
            name,
            "#[derive(Attribute)] works on structs and enums",
        )),
    }
}
