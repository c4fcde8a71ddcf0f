//! Code generation from a checked model. Each module emits one part; `model` assembles them in
//! the order they have always been emitted (the order errors about field types appear in).
//! Everything emitted calls only dynox's public API.

mod attribute;
mod collection;
mod convert;
mod encryption;
mod index;
mod key;
mod lifecycle;
mod paths;
mod s3;
mod template;

pub(crate) use attribute::attribute;
pub(crate) use collection::collection;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned as _;

use crate::ast::{Codec, Container, Field, Part};

/// A checked model with what every part needs resolved: its keys and their templates.
pub(crate) struct Model<'a> {
    pub(crate) c: &'a Container<'a>,
    /// The model's name, as `Model::NAME` and in messages.
    pub(crate) name: String,
    pub(crate) pk: &'a Field,
    pub(crate) sk: Option<&'a Field>,
    /// The templated keys, partition key first.
    pub(crate) templates: Vec<KeyTemplate<'a>>,
}

/// A key built from other fields.
pub(crate) struct KeyTemplate<'a> {
    pub(crate) key: &'a Field,
    pub(crate) parts: &'a [Part],
    /// The fields its placeholders name, in order.
    pub(crate) vars: Vec<&'a Field>,
}

impl<'a> Model<'a> {
    fn new(c: &'a Container<'a>) -> Self {
        let pk = c.partition_key().expect("checked: a partition key");
        let sk = c.sort_key();
        let templates = std::iter::once(pk)
            .chain(sk)
            .filter_map(|key| {
                let t = key.attrs.template.as_ref()?;
                let vars = t.placeholders();
                let vars = vars.map(|v| c.placeholder(v).expect("checked: a field"));
                Some(KeyTemplate {
                    key,
                    parts: t.parts.as_deref().expect("checked: a readable template"),
                    vars: vars.collect(),
                })
            })
            .collect();
        Model {
            c,
            name: c.ident.to_string(),
            pk,
            sk,
            templates,
        }
    }

    /// The partition key, then the sort key.
    fn keys(&self) -> Vec<&'a Field> {
        std::iter::once(self.pk).chain(self.sk).collect()
    }

    fn template_of(&self, f: &Field) -> Option<&KeyTemplate<'a>> {
        self.templates.iter().find(|t| t.key.ident == f.ident)
    }

    /// The fields stored as attributes of their own, in declaration order.
    fn stored(&self) -> impl Iterator<Item = &'a Field> {
        self.c.fields.iter().filter(|f| f.is_stored())
    }

    /// The local holding a decoded field.
    fn var(i: usize) -> Ident {
        format_ident!("__f{}", i)
    }
}

/// The code of a checked model.
pub(crate) fn model(c: &Container<'_>) -> TokenStream {
    let m = Model::new(c);
    let (model, name) = (m.c.ident, &m.name);
    let key_type = key::key_type(&m);
    let fields_type = paths::fields_type(&m);
    let constructors = key::constructors(&m);
    let enc = encryption::encryption(&m);
    let from_item = convert::from_item(&m, &enc.unseal);
    let table_schema = index::table_schema(&m);
    let (index_items, index_defs) = index::indexes(&m);
    let (vector_items, vector_defs) = index::vectors(&m);
    let enc_items = &enc.items;
    let s3 = s3::s3(&m);
    let s3_items = &s3.items;
    let consts = lifecycle::consts(&m);
    let mut methods = lifecycle::methods(&m);
    methods.extend(enc.seal);
    methods.extend(s3.methods);
    methods.extend(lifecycle::attribute_names(&m));
    let table = m.c.attrs.table.as_ref().expect("checked: a table").value();
    let (pk_attr, sk_attr) = key::schema_consts(&m);
    let key_ident = key::ident(&m);
    let fields_ident = paths::ident(&m);
    let path_inits = paths::inits(&m);
    let key_clone = key::clone_from_model(&m);
    let to_item = convert::to_item(&m);
    let into_item = convert::into_item(&m);
    quote! {
        #key_type
        #fields_type
        #constructors
        #from_item

        #table_schema
        #(#index_items)*
        #(#vector_items)*
        #(#enc_items)*
        #(#s3_items)*

        impl ::dynox::Model for #model {
            const INDEXES: &'static [::dynox::model::IndexDef] = &[#(#index_defs),*];
            #consts
            #(#methods)*
            const VECTOR_INDEXES: &'static [::dynox::vector::VectorIndexDef] = &[#(#vector_defs),*];
            const TABLE: &'static str = #table;
            const NAME: &'static str = #name;
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

            #to_item

            #into_item
        }
    }
}

/// The codec type of a field, spanned at the field's type so that a type that cannot be stored
/// is reported there.
pub(crate) fn codec_ty(f: &Field) -> TokenStream {
    let span = f.ty.span();
    match f.codec {
        Codec::Native => quote_spanned! {span=> ::dynox::attr::Native },
        Codec::Bytes => quote_spanned! {span=> ::dynox::attr::Bytes },
        Codec::EpochSeconds => quote_spanned! {span=> ::dynox::attr::EpochSeconds },
        Codec::EpochMillis => quote_spanned! {span=> ::dynox::attr::EpochMillis },
        Codec::Serde => quote_spanned! {span=> ::dynox::attr::SerdeValue },
        Codec::Json => quote_spanned! {span=> ::dynox::attr::Json },
        Codec::Compressed(c) => {
            let (a, l, m, r) = (c.algorithm.code(), c.level, c.min_size, c.max_ratio);
            quote_spanned! {span=> ::dynox::attr::Compressed<#a, #l, #m, #r> }
        }
        Codec::Encrypted => quote_spanned! {span=> ::dynox::attr::Encrypted },
        Codec::S3 => quote_spanned! {span=> ::dynox::attr::S3Stored },
    }
}

/// `Option::Some(tokens)` or `Option::None`.
fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(v) => quote! { ::core::option::Option::Some(#v) },
        None => quote! { ::core::option::Option::None },
    }
}

/// `CamelCase` of a name with `-`, `_` or `.` in it, for generated type names.
fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}
