//! Key templates: rendering a key from its placeholders' values, and the template as data for
//! reading a key back.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

use crate::ast::Part;

/// A checked rendering of a template, reading placeholders from `owner.field` (or from locals
/// of the same names when `owner` is `None`).
pub(super) fn render(
    parts: &[Part],
    owner: Option<&TokenStream>,
    model: &str,
    field: &str,
) -> TokenStream {
    let values = parts.iter().filter_map(|p| match p {
        Part::Value(v) => {
            let i = Ident::new_raw(v, Span::call_site());
            Some(match owner {
                Some(o) => quote! { ::std::string::ToString::to_string(&#o.#i) },
                None => quote! { ::std::string::ToString::to_string(&#i) },
            })
        }
        Part::Text(_) => None,
    });
    let tpl = parts_const(parts);
    quote! { ::dynox::model::render_template(#tpl, &[#(#values),*], #model, #field)? }
}

/// The template as `dynox::model::TemplatePart`s, for reading a key back.
pub(super) fn parts_const(parts: &[Part]) -> TokenStream {
    let items = parts.iter().map(|p| match p {
        Part::Text(l) => quote! { ::dynox::model::TemplatePart::Text(#l) },
        Part::Value(_) => quote! { ::dynox::model::TemplatePart::Value },
    });
    quote! { &[#(#items),*] }
}
