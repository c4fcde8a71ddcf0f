//! Typed attribute paths: the fields struct (`UserFields`) of `Model::fields()`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

use super::Model;
use crate::ast::{Codec, Field, is_bytes, option_inner};

pub(super) fn ident(m: &Model<'_>) -> Ident {
    format_ident!("{}Fields", m.c.ident)
}

/// The value type of a field's path: `Option` stripped, `Vec<u8>` as `Binary`, and what the
/// stored form compares as for the other codecs.
pub(crate) fn path_ty(f: &Field) -> TokenStream {
    match f.codec {
        Codec::Native | Codec::Bytes => {
            let inner = option_inner(&f.ty).unwrap_or(&f.ty);
            if is_bytes(inner) {
                quote! { ::dynox::attr::Binary }
            } else {
                quote! { #inner }
            }
        }
        // Compared as the stored number: `i64` for a `DateTime<Utc>`, an integer field's own type.
        Codec::EpochSeconds | Codec::EpochMillis => {
            let (codec, ty) = (super::codec_ty(f), &f.ty);
            quote! { <#codec as ::dynox::attr::EpochNumber<#ty>>::Number }
        }
        // Reached untyped.
        Codec::Serde | Codec::Json => quote! { ::dynox::AttributeValue },
        // Stored compressed: compared as the stored text.
        Codec::Compressed(..) => quote! { ::std::string::String },
        // Ciphertext: reached untyped.
        Codec::Encrypted => quote! { ::dynox::AttributeValue },
        // The object's metadata map: reached untyped.
        Codec::S3 => quote! { ::dynox::AttributeValue },
    }
}

/// The fields struct, one path per stored field.
pub(super) fn fields_type(m: &Model<'_>) -> TokenStream {
    let (fields_ident, vis) = (ident(m), m.c.vis);
    let paths = m.stored().map(|f| {
        let (i, t) = (&f.ident, path_ty(f));
        let doc = format!("Path to `{}`.", f.stored);
        quote! { #[doc = #doc] pub #i: ::dynox::expr::Path<#t> }
    });
    let doc = format!(
        "Typed attribute paths of [`{0}`], from `{0}::fields()`.",
        m.c.ident
    );
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #fields_ident {
            #(#paths,)*
        }
    }
}

/// The fields struct's value (`Model::fields()`).
pub(super) fn inits(m: &Model<'_>) -> Vec<TokenStream> {
    m.stored()
        .map(|f| {
            let (i, n) = (&f.ident, &f.stored);
            quote! { #i: ::dynox::expr::Path::new(#n) }
        })
        .collect()
}
