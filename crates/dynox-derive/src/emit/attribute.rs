//! `#[derive(Attribute)]`: nested structs as maps, enums as strings (unit variants) or as maps
//! with a tag attribute (struct variants).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned as _;

use super::{codec_ty, paths};
use crate::ast::{Field, Nested, NestedBody, Variant};

pub(crate) fn attribute(n: &Nested<'_>) -> TokenStream {
    match &n.body {
        NestedBody::Struct(fields) => nested_struct(n, fields),
        NestedBody::Enum { tag, variants } => nested_enum(n.ident, tag, variants),
    }
}

fn stored(fields: &[Field]) -> impl Iterator<Item = &Field> {
    fields.iter().filter(|f| !f.attrs.skip)
}

/// A new map sized for `n` entries.
fn new_map(n: usize) -> TokenStream {
    quote! { let mut map = ::dynox::Item::with_capacity(#n); }
}

/// Encoding of the stored fields (bound by name) into `map`.
fn puts(fields: &[Field]) -> Vec<TokenStream> {
    stored(fields)
        .map(|f| {
            let (i, t, n) = (&f.ident, &f.ty, &f.stored);
            let c = codec_ty(f);
            let call = quote_spanned! {t.span()=> ::dynox::attr::put_nested::<#t, #c> };
            quote! { #call(&mut map, #n, #i)?; }
        })
        .collect()
}

/// Decoding of every field from `map`, as struct field initializers.
fn takes(fields: &[Field]) -> Vec<TokenStream> {
    fields
        .iter()
        .map(|f| {
            let (i, t, n) = (&f.ident, &f.ty, &f.stored);
            let c = codec_ty(f);
            if f.attrs.skip {
                quote_spanned! {t.span()=> #i: <#t as ::core::default::Default>::default() }
            } else if f.attrs.default {
                let call =
                    quote_spanned! {t.span()=> ::dynox::attr::take_nested_or_default::<#t, #c> };
                quote! { #i: #call(&mut map, #n)? }
            } else {
                let call = quote_spanned! {t.span()=> ::dynox::attr::take_nested::<#t, #c> };
                quote! { #i: #call(&mut map, #n)? }
            }
        })
        .collect()
}

fn nested_struct(n: &Nested<'_>, fields: &[Field]) -> TokenStream {
    let (name, vis) = (n.ident, n.vis);
    let (puts, takes) = (puts(fields), takes(fields));
    let new_map = new_map(stored(fields).count());
    let bindings = stored(fields).map(|f| &f.ident);
    let fields_ident = format_ident!("{}Fields", name);
    let path_fields = stored(fields).map(|f| {
        let (i, t) = (&f.ident, paths::path_ty(f));
        quote! { pub #i: ::dynox::expr::Path<#t> }
    });
    let path_inits = stored(fields).map(|f| {
        let (i, n) = (&f.ident, &f.stored);
        quote! { #i: base.field(#n) }
    });
    let doc = format!("Typed paths to the fields of a nested [`{name}`].");
    quote! {
        impl ::dynox::attr::Attribute for #name {
            fn to_attribute(&self) -> ::core::result::Result<::core::option::Option<::dynox::AttributeValue>, ::dynox::attr::ValueError> {
                let #name { #(#bindings,)* .. } = self;
                #new_map
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
    }
}

/// One variant's arm of `to_attribute` and of `from_attribute`'s match on its name.
fn variant_arms(
    name: &Ident,
    tag: &str,
    unit_only: bool,
    v: &Variant,
) -> (TokenStream, TokenStream) {
    let (vi, name_stored) = (&v.ident, &v.stored);
    match &v.fields {
        None if unit_only => (
            quote! { #name::#vi => ::dynox::AttributeValue::S(#name_stored.to_owned()) },
            quote! { #name_stored => #name::#vi },
        ),
        None => {
            let new_map = new_map(1);
            let to = quote! { #name::#vi => {
                #new_map
                map.insert(#tag.to_owned(), ::dynox::AttributeValue::S(#name_stored.to_owned()));
                ::dynox::AttributeValue::M(map)
            } };
            (to, quote! { #name_stored => #name::#vi })
        }
        Some(fields) => {
            let (puts, takes) = (puts(fields), takes(fields));
            let new_map = new_map(1 + stored(fields).count());
            let bindings = stored(fields).map(|f| &f.ident);
            let to = quote! { #name::#vi { #(#bindings,)* .. } => {
                #new_map
                map.insert(#tag.to_owned(), ::dynox::AttributeValue::S(#name_stored.to_owned()));
                #(#puts)*
                ::dynox::AttributeValue::M(map)
            } };
            (to, quote! { #name_stored => #name::#vi { #(#takes,)* } })
        }
    }
}

fn nested_enum(name: &Ident, tag: &str, variants: &[Variant]) -> TokenStream {
    let unit_only = variants.iter().all(|v| v.fields.is_none());
    let arms = variants
        .iter()
        .map(|v| variant_arms(name, tag, unit_only, v));
    let (to_arms, from_arms): (Vec<_>, Vec<_>) = arms.unzip();
    let names: Vec<&str> = variants.iter().map(|v| v.stored.as_str()).collect();
    let expected = names.join(", ");
    let unknown = quote! {
        other => return ::core::result::Result::Err(::dynox::attr::ValueError::Invalid(
            ::std::format!("`{other}` is not one of {}", #expected))),
    };
    let from_body = if unit_only {
        quote! {
            let s = ::dynox::attr::expect_string(value)?;
            ::core::result::Result::Ok(match s.as_str() {
                #(#from_arms,)*
                #unknown
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
                #unknown
            })
        }
    };
    quote! {
        impl ::dynox::attr::Attribute for #name {
            fn to_attribute(&self) -> ::core::result::Result<::core::option::Option<::dynox::AttributeValue>, ::dynox::attr::ValueError> {
                ::core::result::Result::Ok(::core::option::Option::Some(match self { #(#to_arms,)* }))
            }
            #[allow(unused_mut)]
            fn from_attribute(value: ::dynox::AttributeValue) -> ::core::result::Result<Self, ::dynox::attr::ValueError> {
                #from_body
            }
        }
    }
}
