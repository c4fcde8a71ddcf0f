//! Parsing of `#[dynox(...)]` attributes into the values of `ast`. A mistake in one attribute
//! is recorded and parsing goes on with the next, so that independent mistakes are all reported;
//! only tokens that cannot be read at all end the list they are in.

mod codec;
mod field;
mod index;
mod model;

pub(crate) use field::{field_attrs, variant_rename};
pub(crate) use model::{model_attrs, nested_tag};

use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr};

use crate::errors::Errors;

/// Runs `parse` on every item of every `#[dynox(...)]` in `attrs`, recording what fails.
fn each_dynox(
    attrs: &[Attribute],
    errors: &Errors,
    mut parse: impl FnMut(&ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("dynox")) {
        errors.ok(attr.parse_nested_meta(|meta| parse(&meta)));
    }
}

/// Records that `meta` is not an attribute this place takes, and steps over its value so that
/// the items after it are still read.
fn unknown(meta: &ParseNestedMeta<'_>, errors: &Errors, message: String) -> syn::Result<()> {
    errors.push(meta.error(message));
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

/// `name = "..."`.
fn lit_str(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    meta.value()?.parse()
}

/// Sets a flag, recording an error when it was already set.
fn flag(slot: &mut bool, name: &str, meta: &ParseNestedMeta<'_>, errors: &Errors) {
    if *slot {
        errors.push(meta.error(format!("`{name}` is given twice")));
    }
    *slot = true;
}

/// Reads the value of `meta` as one of `choices` by name; an unknown name is recorded with
/// `message` at the literal.
fn choice<T: Copy>(
    meta: &ParseNestedMeta<'_>,
    errors: &Errors,
    choices: &[(&str, T)],
    message: &str,
) -> syn::Result<Option<T>> {
    let lit = lit_str(meta)?;
    let found = choices
        .iter()
        .find(|(name, _)| lit.value() == *name)
        .map(|(_, v)| *v);
    if found.is_none() {
        errors.at(&lit, message);
    }
    Ok(found)
}

/// `"field"` or `["a", "b"]`.
fn field_list(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<LitStr>> {
    let expr: syn::Expr = meta.value()?.parse()?;
    let lit = |e: &syn::Expr| match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            "expected a field name as a string, or a list of them: [\"a\", \"b\"]",
        )),
    };
    match &expr {
        syn::Expr::Array(a) => a.elems.iter().map(lit).collect(),
        other => Ok(vec![lit(other)?]),
    }
}

/// A path as written, for messages.
fn path_name(p: &syn::Path) -> String {
    p.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}
