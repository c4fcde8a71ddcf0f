//! Key schemas: the table's own, one `KeySchema` type per secondary index with its `IndexDef`,
//! and one `VectorIndex` type per vector index.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Ident, LitStr, Type};

use super::{Model, camel, codec_ty, option, paths, template};
use crate::ast::{Distance, Field, IndexKind, Projection, option_inner};

/// A field an index names (checked to exist).
fn field<'a>(m: &Model<'a>, lit: &LitStr) -> &'a Field {
    m.c.field(&lit.value())
        .expect("checked: an index names stored fields")
}

fn fields<'a>(m: &Model<'a>, lits: &[LitStr]) -> Vec<&'a Field> {
    lits.iter().map(|l| field(m, l)).collect()
}

/// A key value's type: the field's, `Option` stripped.
fn key_inner(f: &Field) -> Type {
    option_inner(&f.ty).unwrap_or(&f.ty).clone()
}

/// A key attribute of an index: its stored name and scalar type.
fn attribute(f: &Field) -> TokenStream {
    let name = &f.stored;
    let ty = key_inner(f);
    let scalar = quote_spanned! {ty.span()=> <#ty as ::dynox::attr::KeyValue>::SCALAR };
    quote! { ::dynox::model::KeyAttribute { name: #name, scalar: #scalar } }
}

/// One type, or a tuple of several.
fn one_or_tuple(tys: &[impl quote::ToTokens]) -> TokenStream {
    match tys {
        [t] => quote! { #t },
        _ => quote! { (#(#tys,)*) },
    }
}

/// Binds the partition value to one name, or destructures a tuple into several.
fn bind(names: &[&Ident]) -> TokenStream {
    match names {
        [v] => quote! { let #v = partition; },
        _ => quote! { let (#(#names,)*) = partition; },
    }
}

/// Where a schema is, and which key attributes it has.
struct Schema<'a> {
    target: TokenStream,
    index: TokenStream,
    global: bool,
    part: &'a [&'a Field],
    sort: &'a [&'a Field],
}

/// The type and encoding of a schema's partition value: a templated partition key takes its
/// placeholders' values and renders the key; any other takes each key attribute's value.
fn partition(m: &Model<'_>, part: &[&Field]) -> (TokenStream, TokenStream) {
    if let [key] = part
        && let Some(t) = m.template_of(key)
    {
        let tys: Vec<&Type> = t.vars.iter().map(|f| &f.ty).collect();
        let idents: Vec<&Ident> = t.vars.iter().map(|f| &f.ident).collect();
        let value = template::render(t.parts, None, &m.name, &key.name());
        let bind = bind(&idents);
        let body = quote! {
            #bind
            ::core::result::Result::Ok(::std::vec![::dynox::AttributeValue::S(#value)])
        };
        return (one_or_tuple(&tys), body);
    }
    let tys: Vec<Type> = part.iter().map(|f| key_inner(f)).collect();
    let vars: Vec<Ident> = (0..part.len()).map(|i| format_ident!("__p{}", i)).collect();
    let bind = bind(&vars.iter().collect::<Vec<_>>());
    let encodes = part.iter().zip(&vars).zip(&tys).map(|((f, v), t)| {
        let (c, fname, model) = (codec_ty(f), f.name(), &m.name);
        quote! { ::dynox::model::key_value::<#t, #c>(&#v, #model, #fname)? }
    });
    let body = quote! {
        #bind
        ::core::result::Result::Ok(::std::vec![#(#encodes),*])
    };
    (one_or_tuple(&tys), body)
}

fn schema_impl(m: &Model<'_>, s: &Schema<'_>) -> TokenStream {
    let (model, target, index, global) = (m.c.ident, &s.target, &s.index, s.global);
    let (partition_ty, partition_values) = partition(m, s.part);
    let sort_ty = match s.sort.first() {
        Some(f) => paths::path_ty(f),
        None => quote! { ::dynox::model::NoSortKey },
    };
    let pk_attrs = s.part.iter().map(|f| attribute(f));
    let sk_attrs = s.sort.iter().map(|f| attribute(f));
    quote! {
        impl ::dynox::model::KeySchema for #target {
            type Model = #model;
            type Partition = #partition_ty;
            type Sort = #sort_ty;
            const INDEX: ::core::option::Option<&'static str> = #index;
            const GLOBAL: bool = #global;
            const PARTITION_KEY: &'static [::dynox::model::KeyAttribute] = &[#(#pk_attrs),*];
            const SORT_KEY: &'static [::dynox::model::KeyAttribute] = &[#(#sk_attrs),*];
            fn partition_values(partition: Self::Partition) -> ::dynox::Result<::std::vec::Vec<::dynox::AttributeValue>> {
                #partition_values
            }
        }
    }
}

/// The model's own `KeySchema`: the table's keys.
pub(super) fn table_schema(m: &Model<'_>) -> TokenStream {
    let model = m.c.ident;
    let schema = Schema {
        target: quote! { #model },
        index: quote! { ::core::option::Option::None },
        global: false,
        part: &[m.pk],
        sort: &m.sk.into_iter().collect::<Vec<_>>(),
    };
    schema_impl(m, &schema)
}

/// The `IndexProjection` of a declared index, with included fields by their stored names.
fn projection(m: &Model<'_>, p: &Projection) -> TokenStream {
    match p {
        Projection::All => quote! { ::dynox::model::IndexProjection::All },
        Projection::KeysOnly => quote! { ::dynox::model::IndexProjection::KeysOnly },
        Projection::Include(list) => {
            let names = list.iter().map(|l| &field(m, l).stored);
            quote! { ::dynox::model::IndexProjection::Include(&[#(#names),*]) }
        }
    }
}

/// The generated type of an index: its `rust_name`, or the model's name and the index's.
fn index_ident(m: &Model<'_>, rust_name: Option<&Ident>, name: &str) -> Ident {
    rust_name
        .cloned()
        .unwrap_or_else(|| format_ident!("{}{}", m.c.ident, camel(name)))
}

/// Each secondary index's type with its `KeySchema`, and its `IndexDef`.
pub(super) fn indexes(m: &Model<'_>) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let (model, vis) = (m.c.ident, m.c.vis);
    let mut items = Vec::new();
    let mut defs = Vec::new();
    for ix in &m.c.attrs.indexes {
        let part = match ix.kind {
            IndexKind::Global => fields(m, &ix.partition),
            IndexKind::Local => vec![m.pk],
        };
        let sort = fields(m, &ix.sort);
        let name = ix.name.value();
        let ident = index_ident(m, ix.rust_name.as_ref(), &name);
        let doc = format!("The index `{name}` of [`{model}`], for typed queries and scans.");
        let global = ix.kind == IndexKind::Global;
        let schema = Schema {
            target: quote! { #ident },
            index: quote! { ::core::option::Option::Some(#name) },
            global,
            part: &part,
            sort: &sort,
        };
        let schema = schema_impl(m, &schema);
        items.push(quote! {
            #[doc = #doc]
            #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
            #vis struct #ident;
            #schema
        });
        let kind = if global {
            quote! { ::dynox::model::IndexKind::Global }
        } else {
            quote! { ::dynox::model::IndexKind::Local }
        };
        let projection = projection(m, &ix.projection);
        let pk_attrs = part.iter().map(|f| attribute(f));
        let sk_attrs = sort.iter().map(|f| attribute(f));
        defs.push(quote! {
            ::dynox::model::IndexDef {
                name: #name,
                kind: #kind,
                partition_key: &[#(#pk_attrs),*],
                sort_key: &[#(#sk_attrs),*],
                projection: #projection,
            }
        });
    }
    (items, defs)
}

fn distance(d: Distance) -> TokenStream {
    match d {
        Distance::Cosine => quote! { ::dynox::vector::Distance::Cosine },
        Distance::Euclidean => quote! { ::dynox::vector::Distance::Euclidean },
        Distance::DotProduct => quote! { ::dynox::vector::Distance::DotProduct },
    }
}

/// Each vector index's type with its `VectorIndex`, and its `VectorIndexDef`.
pub(super) fn vectors(m: &Model<'_>) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let (model, vis) = (m.c.ident, m.c.vis);
    let mut items = Vec::new();
    let mut defs = Vec::new();
    for v in &m.c.attrs.vectors {
        let vector_name = &field(m, &v.vector).stored;
        let name = v.name.value();
        let ident = index_ident(m, v.rust_name.as_ref(), &name);
        let (dims, distance) = (&v.dimensions, distance(v.distance));
        let part = v.partition.as_ref().map(|l| field(m, l));
        let part_attr = option(part.map(attribute));
        let (part_ty, part_fn) = match part {
            Some(f) => {
                let (t, c, fname, model) = (key_inner(f), codec_ty(f), f.name(), &m.name);
                (
                    quote! { #t },
                    quote! { ::core::option::Option::Some(::dynox::model::key_value::<#t, #c>(&partition, #model, #fname)) },
                )
            }
            None => (
                quote! { ::dynox::model::NoSortKey },
                quote! { match partition {} },
            ),
        };
        let filter_attrs = fields(m, &v.filters).into_iter().map(attribute);
        let projection = projection(m, &v.projection);
        let def = quote! {
            ::dynox::vector::VectorIndexDef {
                name: #name,
                vector: #vector_name,
                dimensions: #dims,
                distance: #distance,
                partition: #part_attr,
                filters: &[#(#filter_attrs),*],
                projection: #projection,
            }
        };
        let doc = format!("The vector index `{name}` of [`{model}`], for typed similarity search.");
        items.push(quote! {
            #[doc = #doc]
            #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
            #vis struct #ident;
            impl ::dynox::vector::VectorIndex for #ident {
                type Model = #model;
                type Partition = #part_ty;
                const DEF: ::dynox::vector::VectorIndexDef = #def;
                fn partition_value(partition: Self::Partition) -> ::core::option::Option<::dynox::Result<::dynox::AttributeValue>> {
                    #part_fn
                }
            }
        });
        defs.push(def);
    }
    (items, defs)
}
