//! Conversions between the model and its item: `FromItem::from_item`, `Model::to_item` and
//! `Model::into_item`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned as _;

use super::{Model, codec_ty, key, lifecycle, template};
use crate::ast::{Codec, Field, Unknown};

/// The `FromItem` implementation, with the encrypted fields' `unseal` when there are some.
pub(super) fn from_item(m: &Model<'_>, unseal: &TokenStream) -> TokenStream {
    let model = m.c.ident;
    // A placeholder field missing from an item is read back from its templated key.
    let captures = m.templates.iter().map(|t| {
        let (var, n) = (capture_var(t.key), &t.key.stored);
        quote! { let #var = ::dynox::model::string_of(&item, #n); }
    });
    let discriminator = m.c.attrs.entity.as_ref().map(|e| {
        let (d, name) = (&m.c.attrs.discriminator, &m.name);
        quote! { ::dynox::model::take_entity(&mut item, #d, #e, #name)?; }
    });
    let takes =
        m.c.fields
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.attrs.extra);
    let takes: Vec<TokenStream> = takes.map(|(i, f)| take(m, f, &Model::var(i))).collect();
    let extra = m.c.fields.iter().position(|f| f.attrs.extra);
    let leftovers = match (m.c.attrs.unknown, extra) {
        (Unknown::Keep, Some(i)) => {
            let v = Model::var(i);
            quote! { let #v = item; }
        }
        (Unknown::Error, _) => {
            let name = &m.name;
            quote! { ::dynox::model::refuse_unknown(&item, #name)?; }
        }
        _ => quote! {},
    };
    let inits = m.c.fields.iter().enumerate().map(|(i, f)| {
        let (ident, v) = (&f.ident, Model::var(i));
        quote! { #ident: #v }
    });
    quote! {
        impl ::dynox::FromItem for #model {
            #unseal
            fn from_item(mut item: ::dynox::Item) -> ::dynox::Result<Self> {
                #(#captures)*
                #discriminator
                #(#takes)*
                #leftovers
                ::core::result::Result::Ok(#model {
                    #(#inits,)*
                })
            }
        }
    }
}

/// The local holding the text of a templated key, read before its placeholders.
fn capture_var(key: &Field) -> Ident {
    format_ident!("__tpl_{}", key.ident.to_string().trim_start_matches("r#"))
}

/// Decodes one field into the local `v`.
fn take(m: &Model<'_>, f: &Field, v: &Ident) -> TokenStream {
    let (t, n, fname, model) = (&f.ty, &f.stored, f.name(), &m.name);
    let c = codec_ty(f);
    let placeholder = m.templates.iter().find_map(|tpl| {
        let pos = tpl.vars.iter().position(|g| g.ident == f.ident)?;
        Some((capture_var(tpl.key), template::parts_const(tpl.parts), pos))
    });
    if let Some((key_var, tpl, pos)) = placeholder {
        let call = quote_spanned! {t.span()=> ::dynox::model::take_or_parse::<#t, #c> };
        return quote! {
            let #v = #call(&mut item, #n, #model, #fname, #key_var.as_deref(), #tpl, #pos)?;
        };
    }
    if f.attrs.skip {
        quote_spanned! {t.span()=> let #v = <#t as ::core::default::Default>::default(); }
    } else if f.attrs.default || f.attrs.version {
        // An item stored without a version (by an older writer) is at version 0.
        let call = quote_spanned! {t.span()=> ::dynox::model::take_field_or_default::<#t, #c> };
        quote! { let #v = #call(&mut item, #n, #model, #fname)?; }
    } else {
        let call = quote_spanned! {t.span()=> ::dynox::model::take_field::<#t, #c> };
        quote! { let #v = #call(&mut item, #n, #model, #fname)?; }
    }
}

/// The new item, sized for every attribute the model stores: its fields, the discriminator,
/// and the entries of the `extra` map (`extra`, a `dynox::Item`), when there is one.
fn new_item(m: &Model<'_>, extra: Option<TokenStream>) -> TokenStream {
    let fixed = m.stored().count() + usize::from(m.c.attrs.entity.is_some());
    match extra {
        Some(map) => {
            quote! { let mut item = ::dynox::Item::with_capacity(#fixed + ::dynox::Item::len(#map)); }
        }
        None => quote! { let mut item = ::dynox::Item::with_capacity(#fixed); },
    }
}

fn put_entity(m: &Model<'_>) -> Option<TokenStream> {
    let e = m.c.attrs.entity.as_ref()?;
    let d = &m.c.attrs.discriminator;
    Some(quote! { ::dynox::model::put_entity(&mut item, #d, #e); })
}

/// `Model::to_item`: every field encoded by reference.
pub(super) fn to_item(m: &Model<'_>) -> TokenStream {
    let checks = m.stored().filter(|f| f.codec == Codec::Native).map(|f| {
        let t = &f.ty;
        quote_spanned! {t.span()=> ::dynox::attr::assert_attribute::<#t>(); }
    });
    let lifecycle_checks = lifecycle::checks(m);
    let extra = m.c.extra().map(|f| &f.ident);
    let new_item = new_item(m, extra.map(|i| quote! { &self.#i }));
    let puts = m.stored().map(|f| {
        if f.is_key() {
            return key::put(m, f, &quote! { self });
        }
        let (i, t, n, fname, model) = (&f.ident, &f.ty, &f.stored, f.name(), &m.name);
        let c = codec_ty(f);
        let call = quote_spanned! {t.span()=> ::dynox::model::put_field::<#t, #c> };
        quote! { #call(&mut item, #n, &self.#i, #model, #fname)?; }
    });
    let entity = put_entity(m);
    let extra_put = extra.map(|i| quote! { ::dynox::model::put_extra(&mut item, &self.#i); });
    quote! {
        fn to_item(&self) -> ::dynox::Result<::dynox::Item> {
            #(#checks)*
            #(#lifecycle_checks)*
            #new_item
            #(#puts)*
            #entity
            #extra_put
            ::core::result::Result::Ok(item)
        }
    }
}

/// `Model::into_item`: keys encoded by reference first, then the other fields moved out.
pub(super) fn into_item(m: &Model<'_>) -> TokenStream {
    let extra = m.c.extra().map(|f| {
        let i = &f.ident;
        quote! { let extra = ::core::mem::take(&mut self.#i); }
    });
    let new_item = new_item(m, extra.as_ref().map(|_| quote! { &extra }));
    let keys = m.stored().filter(|f| f.is_key());
    let keys = keys.map(|f| key::put(m, f, &quote! { self }));
    let others = m.stored().filter(|f| !f.is_key()).map(|f| {
        let (i, t, n, fname, model) = (&f.ident, &f.ty, &f.stored, f.name(), &m.name);
        let c = codec_ty(f);
        let call = quote_spanned! {t.span()=> ::dynox::model::put_field_owned::<#t, #c> };
        quote! { #call(&mut item, #n, self.#i, #model, #fname)?; }
    });
    let entity = put_entity(m);
    let extra_put = extra
        .as_ref()
        .map(|_| quote! { ::dynox::model::put_extra(&mut item, &extra); });
    quote! {
        #[allow(unused_mut)]
        fn into_item(mut self) -> ::dynox::Result<::dynox::Item> {
            #extra
            #new_item
            #(#keys)*
            #(#others)*
            #entity
            #extra_put
            ::core::result::Result::Ok(item)
        }
    }
}
