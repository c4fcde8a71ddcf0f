//! What `save` and the table calls need beyond the item: entity, TTL, version, size limit and
//! tenant constants; the TTL and version methods, generated values, hooks and the attribute list.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned as _;

use super::{Model, option};
use crate::ast::{Codec, Field, Generator};

fn ttl_field<'a>(m: &Model<'a>) -> Option<&'a Field> {
    m.c.fields.iter().find(|f| f.attrs.ttl)
}

fn version_field<'a>(m: &Model<'a>) -> Option<&'a Field> {
    m.c.fields.iter().find(|f| f.attrs.version)
}

/// The constants of `Model` that describe the model's attributes and limits.
pub(super) fn consts(m: &Model<'_>) -> TokenStream {
    let a = &m.c.attrs;
    let entity = a.entity.as_ref().map(|e| {
        let d = &a.discriminator;
        quote! {
            const ENTITY: ::core::option::Option<&'static str> = ::core::option::Option::Some(#e);
            const DISCRIMINATOR: &'static str = #d;
        }
    });
    let stored_name = |f: &Field| {
        let n = &f.stored;
        quote! { #n }
    };
    let ttl = option(ttl_field(m).map(stored_name));
    let version = option(version_field(m).map(stored_name));
    let max_size = a
        .max_size
        .as_ref()
        .map(|n| quote! { const MAX_SIZE: usize = #n; });
    let tenant = a.tenant.as_ref().map(|t| {
        let pattern = m.c.tenant_pattern(&t.value());
        let pattern = pattern.ok().flatten().expect("checked: a tenant pattern");
        quote! { const TENANT_KEY: &'static [(&'static str, &'static str)] = &[("dynox:leading-key", #pattern)]; }
    });
    quote! {
        #entity
        const TTL_ATTRIBUTE: ::core::option::Option<&'static str> = #ttl;
        const VERSION_ATTRIBUTE: ::core::option::Option<&'static str> = #version;
        #max_size
        #tenant
    }
}

/// Compile-time checks of the TTL and version fields' types, at the start of `to_item`.
pub(super) fn checks(m: &Model<'_>) -> Vec<TokenStream> {
    let ttl = ttl_field(m).map(|f| {
        let t = &f.ty;
        quote_spanned! {t.span()=> ::dynox::model::assert_ttl::<#t>(); }
    });
    let version = version_field(m).map(|f| {
        let t = &f.ty;
        quote_spanned! {t.span()=> ::dynox::model::assert_version::<#t>(); }
    });
    ttl.into_iter().chain(version).collect()
}

/// The lifecycle methods of `Model`: enabling TTL, the version, generated values and hooks.
pub(super) fn methods(m: &Model<'_>) -> Vec<TokenStream> {
    let mut out = Vec::new();
    if let Some(f) = ttl_field(m) {
        let n = &f.stored;
        out.push(quote! {
            fn after_create_table(
                client: &::dynox::Client,
            ) -> ::dynox::model::BoxFuture<'_, ::dynox::Result<()>> {
                ::std::boxed::Box::pin(::dynox::table::enable_ttl_when_active::<Self>(client, #n))
            }
        });
    }
    out.extend(version_field(m).map(version_methods));
    out.extend(prepare_save(m));
    if m.c.attrs.hooks {
        out.push(hooks());
    }
    out
}

fn version_methods(f: &Field) -> TokenStream {
    let (t, i) = (&f.ty, &f.ident);
    let to = quote_spanned! {t.span()=> <#t as ::dynox::model::VersionNumber>::to_version };
    let from = quote_spanned! {t.span()=> <#t as ::dynox::model::VersionNumber>::from_version };
    quote! {
        fn version(&self) -> ::core::option::Option<u64> {
            ::core::option::Option::Some(#to(self.#i))
        }
        fn set_version(&mut self, version: u64) {
            self.#i = #from(version);
        }
        fn max_version() -> u64 {
            <#t as ::dynox::model::VersionNumber>::MAX
        }
    }
}

/// `prepare_save`: fills the generated values, when some field has one.
fn prepare_save(m: &Model<'_>) -> Option<TokenStream> {
    let fills: Vec<TokenStream> =
        m.c.fields
            .iter()
            .filter_map(|f| {
                let g = f.attrs.generate.as_ref()?;
                let (i, t) = (&f.ident, &f.ty);
                let gen_ty = match (g.generator, f.codec) {
                    // "Now" in the unit an epoch timestamp declares: the instant for a `DateTime`,
                    // the number of seconds or milliseconds for an integer.
                    (Generator::Now, Codec::EpochSeconds | Codec::EpochMillis) => {
                        let codec = super::codec_ty(f);
                        quote_spanned! {t.span()=> <#codec as ::dynox::attr::EpochNumber<#t>>::Now }
                    }
                    (generator, _) => {
                        let name = Ident::new(generator.type_name(), g.span);
                        quote_spanned! {t.span()=> ::dynox::generate::#name }
                    }
                };
                let call = if g.refresh {
                    quote_spanned! {t.span()=> ::dynox::generate::refresh::<#t, #gen_ty> }
                } else {
                    quote_spanned! {t.span()=> ::dynox::generate::fill::<#t, #gen_ty> }
                };
                Some(quote! { #call(&mut self.#i); })
            })
            .collect();
    (!fills.is_empty()).then(|| {
        quote! {
            fn prepare_save(&mut self) {
                #(#fills)*
            }
        }
    })
}

/// `#[dynox(hooks)]`: the model's `Hooks` implementation runs around saves, loads, updates and
/// deletes.
fn hooks() -> TokenStream {
    quote! {
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
    }
}

/// `ATTRIBUTES`: every attribute the model stores, unless an `extra` field keeps others.
pub(super) fn attribute_names(m: &Model<'_>) -> Option<TokenStream> {
    if m.c.extra().is_some() {
        return None;
    }
    let mut names: Vec<&str> = m.stored().map(|f| f.stored.as_str()).collect();
    if m.c.attrs.entity.is_some() {
        names.push(&m.c.attrs.discriminator);
    }
    Some(quote! {
        const ATTRIBUTES: ::core::option::Option<&'static [&'static str]> =
            ::core::option::Option::Some(&[#(#names),*]);
    })
}
