//! S3-backed fields: one declaration type each (its bucket and prefix are the markers'
//! resource), the model's upload and delete steps, and a `<field>_object()` handle per field.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{Model, camel, option};
use crate::ast::Field;

/// What the S3-backed fields add to a model.
pub(super) struct S3 {
    /// The declaration types and the handles' inherent methods.
    pub(super) items: Vec<TokenStream>,
    /// `S3_ATTRIBUTES`, `upload`, `take_uploaded`, `DELETES_OBJECTS` and `delete_objects`.
    pub(super) methods: Option<TokenStream>,
}

pub(super) fn s3(m: &Model<'_>) -> S3 {
    let model = m.c.ident;
    let vis = m.c.vis;
    let mut items = Vec::new();
    let (mut names, mut takes, mut deletes, mut handles) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for f in m.c.fields.iter().filter(|f| f.attrs.s3.is_some()) {
        let spec = f.attrs.s3.as_ref().expect("filtered");
        let decl = format_ident!("__DynoxS3{}{}", m.c.ident, camel(&f.name()));
        items.push(declaration(m, f, &decl));
        let (n, i, ty) = (&f.stored, &f.ident, &f.ty);
        names.push(n);
        takes.push(quote! {
            if let ::core::option::Option::Some(v) = written.get(#n)
                && let ::core::result::Result::Ok(x) =
                    <::dynox::attr::S3Stored as ::dynox::attr::Codec<#ty>>::decode(v.clone())
            {
                self.#i = x;
            }
        });
        if spec.delete_with_item {
            deletes.push(quote! {
                if let ::core::result::Result::Err(e) = ::dynox::s3::delete_with_item::<#decl>(client, old).await {
                    first.get_or_insert(e);
                }
            });
        }
        let method = format_ident!("{}_object", f.ident);
        let doc = format!(
            "The S3 object of `{}`: download it, stream it, save it to a file or presign a URL.",
            f.ident
        );
        handles.push(quote! {
            #[doc = #doc]
            #vis fn #method(&self) -> ::dynox::s3::Object<'_, #decl> {
                ::dynox::s3::Object::new(&self.#i)
            }
        });
    }
    if names.is_empty() {
        return S3 {
            items,
            methods: None,
        };
    }
    // An object's key is named by the item's key attributes.
    let key_names: Vec<&String> = m.keys().into_iter().map(|f| &f.stored).collect();
    let uploads = m.c.fields.iter().filter(|f| f.attrs.s3.is_some()).map(|f| {
        let spec = f.attrs.s3.as_ref().expect("filtered");
        let decl = format_ident!("__DynoxS3{}{}", m.c.ident, camel(&f.name()));
        let upload = if spec.multipart_threshold.is_some() {
            quote! { ::dynox::s3::upload_field_multipart::<#decl> }
        } else {
            quote! { ::dynox::s3::upload_field::<#decl> }
        };
        quote! { #upload(client, item, &[#(#key_names),*], uploads).await?; }
    });
    let deletes_objects = !deletes.is_empty();
    let delete_fn = deletes_objects.then(|| {
        quote! {
            fn delete_objects<'a>(old: &'a ::dynox::Item, client: &'a ::dynox::Client) -> ::dynox::model::BoxFuture<'a, ::dynox::Result<()>> {
                ::std::boxed::Box::pin(async move {
                    // Every field's object is tried; the first failure is reported.
                    let mut first: ::core::option::Option<::dynox::Error> = ::core::option::Option::None;
                    #(#deletes)*
                    match first {
                        ::core::option::Option::Some(e) => ::core::result::Result::Err(e),
                        ::core::option::Option::None => ::core::result::Result::Ok(()),
                    }
                })
            }
        }
    });
    items.push(quote! {
        impl #model {
            #(#handles)*
        }
    });
    S3 {
        items,
        methods: Some(quote! {
            const S3_ATTRIBUTES: &'static [&'static str] = &[#(#names),*];
            const DELETES_OBJECTS: bool = #deletes_objects;
            fn upload<'a>(item: &'a mut ::dynox::Item, client: &'a ::dynox::Client, uploads: &'a mut ::dynox::s3::Uploads) -> ::dynox::model::BoxFuture<'a, ::dynox::Result<()>> {
                ::std::boxed::Box::pin(async move {
                    #(#uploads)*
                    ::core::result::Result::Ok(())
                })
            }
            fn take_uploaded(&mut self, written: &::dynox::Item) {
                #(#takes)*
            }
            #delete_fn
        }),
    }
}

/// The `S3Field` type of one field: its bucket, prefix and options.
fn declaration(m: &Model<'_>, f: &Field, decl: &syn::Ident) -> TokenStream {
    let spec = f.attrs.s3.as_ref().expect("an S3-backed field");
    let (vis, model, n) = (m.c.vis, &m.name, &f.stored);
    let table = m.c.attrs.table.as_ref().expect("checked: a table").value();
    let (bucket, prefix) = (&spec.bucket, &spec.prefix);
    let content_type = option(spec.content_type.as_ref().map(|c| quote! { #c }));
    let threshold = option(spec.multipart_threshold.map(|t| quote! { #t }));
    let part_size = spec
        .part_size
        .map(|p| quote! { const PART_SIZE: u64 = #p; });
    let delete = spec.delete_with_item;
    quote! {
        #[doc(hidden)]
        #[derive(::core::fmt::Debug)]
        #vis struct #decl;
        impl ::dynox::s3::S3Field for #decl {
            const MODEL: &'static str = #model;
            const TABLE: &'static str = #table;
            const ATTRIBUTE: &'static str = #n;
            const BUCKET: &'static str = #bucket;
            const PREFIX: &'static str = #prefix;
            const CONTENT_TYPE: ::core::option::Option<&'static str> = #content_type;
            const MULTIPART_THRESHOLD: ::core::option::Option<u64> = #threshold;
            #part_size
            const DELETE_WITH_ITEM: bool = #delete;
        }
    }
}
