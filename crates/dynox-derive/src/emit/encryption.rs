//! Encrypted fields: one declaration type each, sealed on write and unsealed on read as their
//! modes allow (a write-only field never links decryption, a read-only one never encryption).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Model, camel, option};
use crate::ast::{EncryptionMode, Field, OnRead, generic_arg, option_inner};

/// What the encrypted fields add to a model.
pub(super) struct Encrypted {
    /// The declaration types.
    pub(super) items: Vec<TokenStream>,
    /// `ENCRYPTED_ATTRIBUTES` and `Model::seal`, when there are encrypted fields.
    pub(super) seal: Option<TokenStream>,
    /// `FromItem::unseal`, when there are encrypted fields.
    pub(super) unseal: TokenStream,
}

pub(super) fn encryption(m: &Model<'_>) -> Encrypted {
    let mut items = Vec::new();
    let mut seals = Vec::new();
    let mut unseals = Vec::new();
    let mut names = Vec::new();
    for f in m.c.fields.iter().filter(|f| f.attrs.encrypted.is_some()) {
        let spec = f.attrs.encrypted.as_ref().expect("filtered");
        let plain_ty =
            generic_arg(option_inner(&f.ty).unwrap_or(&f.ty), "Secret").expect("checked: a Secret");
        let decl = format_ident!("__DynoxEncrypted{}{}", m.c.ident, camel(&f.name()));
        items.push(declaration(m, f, &decl));
        names.push(&f.stored);
        seals.push(match spec.mode {
            EncryptionMode::ReadOnly => quote! { ::dynox::sealing::refuse_write::<#decl>(item)?; },
            _ => quote! { ::dynox::sealing::seal_field::<#decl, #plain_ty>(client, item, &key).await?; },
        });
        match (spec.mode, spec.on_read) {
            (EncryptionMode::WriteOnly, OnRead::Error) => {
                unseals.push(quote! { ::dynox::sealing::refuse_read::<#decl>(item)?; });
            }
            (EncryptionMode::WriteOnly, OnRead::Ciphertext) => {}
            _ => unseals.push(quote! { ::dynox::sealing::unseal_field::<#decl, #plain_ty>(client, item, &key).await?; }),
        }
    }
    if names.is_empty() {
        return Encrypted {
            items,
            seal: None,
            unseal: quote! {},
        };
    }
    let key_names: Vec<&String> = m.keys().into_iter().map(|f| &f.stored).collect();
    let seal = quote! {
        const ENCRYPTED_ATTRIBUTES: &'static [&'static str] = &[#(#names),*];
        #[allow(unused_variables)]
        fn seal<'a>(item: &'a mut ::dynox::Item, client: &'a ::dynox::Client) -> ::dynox::model::BoxFuture<'a, ::dynox::Result<()>> {
            ::std::boxed::Box::pin(async move {
                let key = ::dynox::sealing::key_text(item, &[#(#key_names),*]);
                #(#seals)*
                ::core::result::Result::Ok(())
            })
        }
    };
    let unseal = quote! {
        const SEALED: bool = true;
        #[allow(unused_variables)]
        fn unseal<'a>(item: &'a mut ::dynox::Item, client: &'a ::dynox::Client) -> ::dynox::model::BoxFuture<'a, ::dynox::Result<()>> {
            ::std::boxed::Box::pin(async move {
                let key = ::dynox::sealing::key_text(item, &[#(#key_names),*]);
                #(#unseals)*
                ::core::result::Result::Ok(())
            })
        }
    };
    Encrypted {
        items,
        seal: Some(seal),
        unseal,
    }
}

/// The `EncryptedField` type of one field: its key, mode, format, context and compression.
fn declaration(m: &Model<'_>, f: &Field, decl: &syn::Ident) -> TokenStream {
    let spec = f.attrs.encrypted.as_ref().expect("an encrypted field");
    let (vis, k, n) = (m.c.vis, &spec.key, &f.stored);
    let (version, bind) = (spec.version.number(), spec.bind_item_key);
    let table = m.c.attrs.table.as_ref().expect("checked: a table").value();
    let mode = match spec.mode {
        EncryptionMode::ReadWrite => quote! { ::dynox::encryption::Mode::ReadWrite },
        EncryptionMode::WriteOnly => quote! { ::dynox::encryption::Mode::WriteOnly },
        EncryptionMode::ReadOnly => quote! { ::dynox::encryption::Mode::ReadOnly },
    };
    let ctx = spec.context.iter().map(|(a, b)| quote! { (#a, #b) });
    let compression = option(spec.compress.map(|a| {
        let f = format_ident!("{}", a.name());
        quote! { ::dynox::encryption::Compression::#f() }
    }));
    quote! {
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
    }
}
