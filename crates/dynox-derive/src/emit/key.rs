//! The key type (`UserKey`), `Model::key`, and encoding keys into items.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned as _;

use super::{Model, codec_ty, paths, template};
use crate::ast::Field;

pub(super) fn ident(m: &Model<'_>) -> Ident {
    format_ident!("{}Key", m.c.ident)
}

/// What the key type holds: each key field, or the fields its template names.
fn components<'a>(m: &Model<'a>) -> Vec<&'a Field> {
    let mut out: Vec<&Field> = Vec::new();
    for k in m.keys() {
        match m.template_of(k) {
            Some(t) => {
                for v in &t.vars {
                    if !out.iter().any(|c| c.ident == v.ident) {
                        out.push(v);
                    }
                }
            }
            None => out.push(k),
        }
    }
    out
}

/// The key struct and its `ModelKey` implementation.
pub(super) fn key_type(m: &Model<'_>) -> TokenStream {
    let (key_ident, vis) = (ident(m), m.c.vis);
    let components = components(m);
    let key_fields = components.iter().map(|f| {
        let (i, t) = (&f.ident, &f.ty);
        let doc = format!("The `{}` key value.", f.stored);
        quote! { #[doc = #doc] pub #i: #t }
    });
    let keys = m.keys();
    let capacity = keys.len();
    let puts = keys.iter().map(|f| put(m, f, &quote! { self }));
    let doc = format!("The primary key of [`{}`].", m.c.ident);
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis struct #key_ident {
            #(#key_fields,)*
        }

        impl ::dynox::ModelKey for #key_ident {
            fn to_key_item(&self) -> ::dynox::Result<::dynox::Item> {
                let mut item = ::dynox::Item::with_capacity(#capacity);
                #(#puts)*
                ::core::result::Result::Ok(item)
            }
        }
    }
}

/// Encodes a key field of `owner` (the model or its key type) into `item`.
pub(super) fn put(m: &Model<'_>, f: &Field, owner: &TokenStream) -> TokenStream {
    let (i, t, n, fname, model) = (&f.ident, &f.ty, &f.stored, f.name(), &m.name);
    match m.template_of(f) {
        Some(tpl) => {
            let value = template::render(tpl.parts, Some(owner), model, &fname);
            quote! {
                ::dynox::model::put_key::<::std::string::String, ::dynox::attr::Native>(
                    &mut item, #n, &#value, #model, #fname)?;
            }
        }
        None => {
            let c = codec_ty(f);
            let call = quote_spanned! {t.span()=> ::dynox::model::put_key::<#t, #c> };
            quote! { #call(&mut item, #n, &#owner.#i, #model, #fname)?; }
        }
    }
}

/// `Model::key(...)` and `Model::fields()` as inherent functions.
pub(super) fn constructors(m: &Model<'_>) -> TokenStream {
    let (model, vis, key_ident) = (m.c.ident, m.c.vis, ident(m));
    let fields_ident = paths::ident(m);
    let components = components(m);
    let params = components.iter().map(|f| {
        let (i, t) = (&f.ident, &f.ty);
        quote! { #i: impl ::dynox::expr::IntoValue<#t> }
    });
    let inits = components.iter().map(|f| {
        let i = &f.ident;
        quote! { #i: ::dynox::expr::IntoValue::into_value(#i) }
    });
    quote! {
        impl #model {
            /// Builds this model's primary key.
            #vis fn key(#(#params),*) -> #key_ident {
                #key_ident { #(#inits,)* }
            }

            /// Typed attribute paths, for conditions, updates and projections.
            #vis fn fields() -> #fields_ident {
                <Self as ::dynox::Model>::fields()
            }
        }
    }
}

/// The key type's fields, cloned from the model (`Model::primary_key`).
pub(super) fn clone_from_model(m: &Model<'_>) -> Vec<TokenStream> {
    components(m)
        .iter()
        .map(|f| {
            let i = &f.ident;
            quote! { #i: ::core::clone::Clone::clone(&self.#i) }
        })
        .collect()
}

/// A key attribute of the table: its stored name and scalar type.
fn attribute(f: &Field) -> TokenStream {
    let name = &f.stored;
    let ty = &f.ty;
    let scalar = quote_spanned! {ty.span()=> <#ty as ::dynox::attr::KeyValue>::SCALAR };
    quote! { ::dynox::model::KeyAttribute { name: #name, scalar: #scalar } }
}

/// `Model::PARTITION_KEY` and `Model::SORT_KEY`.
pub(super) fn schema_consts(m: &Model<'_>) -> (TokenStream, TokenStream) {
    (attribute(m.pk), super::option(m.sk.map(attribute)))
}
