//! `#[derive(Collection)]`: `FromItem` for an enum of models sharing a table, decoding each item
//! as the model its discriminator names.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;

use crate::ast::Collection;

pub(crate) fn collection(c: &Collection<'_>) -> TokenStream {
    let name = c.ident;
    let tys: Vec<_> = c.members.iter().map(|(_, ty)| *ty).collect();
    let checks = tys.iter().map(|ty| {
        quote_spanned! {ty.span()=>
            const _: () = ::core::assert!(
                <#ty as ::dynox::Model>::ENTITY.is_some(),
                "a collection member declares #[dynox(entity = \"...\")]"
            );
        }
    });
    let arms = c.members.iter().map(|(vi, ty)| {
        quote! {
            if ::dynox::model::is_entity::<#ty>(&item) {
                return ::core::result::Result::Ok(#name::#vi(<#ty as ::dynox::FromItem>::from_item(item)?));
            }
        }
    });
    let entities = tys
        .iter()
        .map(|ty| quote! { <#ty as ::dynox::Model>::ENTITY.unwrap_or_default() });
    let unseals = tys.iter().map(|ty| {
        quote! {
            if ::dynox::model::is_entity::<#ty>(item) {
                return <#ty as ::dynox::FromItem>::unseal(item, client).await;
            }
        }
    });
    let label = name.to_string();
    quote! {
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
    }
}
