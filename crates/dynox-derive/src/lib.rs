//! `#[derive(Model)]` for dynox: a struct becomes a DynamoDB model, with a key type, typed
//! attribute paths and conversion straight to and from attribute maps.
//!
//! The generated code calls only dynox's public API (`dynox::model`, `dynox::attr`,
//! `dynox::expr`), so anything the derive does can be written by hand. Use it through
//! `dynox::Model`, not this crate directly.
//!
//! Each derive is a pipeline: `ast` reads the input (with `attr` parsing every
//! `#[dynox(...)]` into typed values), `check` validates the whole of it, and `emit` writes the
//! code of an input that passed. Mistakes are gathered in `errors::Errors` along the way, so that
//! every independent mistake shows in one compile.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use syn::DeriveInput;

mod ast;
mod attr;
mod check;
mod emit;
mod errors;
mod partiql;

use errors::Errors;

/// Derives `dynox::FromItem` for an enum of models that share a table, one variant per model
/// (`User(User)`): each item decodes as the model its discriminator names, so one query returns
/// a typed result per model. Each model declares `#[dynox(entity = "...")]`.
#[proc_macro_derive(Collection)]
pub fn derive_collection(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    // A collection's only rules are its shape, which reading it checks.
    run(
        &input,
        ast::Collection::from_ast,
        |_, _| {},
        emit::collection,
    )
    .into()
}

/// Derives `dynox::attr::Attribute` for a nested type: a struct becomes a map, an enum of unit
/// variants a string, an enum with struct variants a map with a tag attribute (`type`, or
/// `#[dynox(tag = "...")]`). Fields take the same `rename`, `skip`, `default`, `timestamp`,
/// `serde` and `json` attributes as a model's.
#[proc_macro_derive(Attribute, attributes(dynox))]
pub fn derive_attribute(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    run(
        &input,
        ast::Nested::from_ast,
        check::nested,
        emit::attribute,
    )
    .into()
}

/// Reads a literal PartiQL statement at compile time (verb, table, index, parameter count), so
/// that the permission it needs is exact. Use it as `dynox::partiql!("SELECT ...")`.
#[proc_macro]
pub fn partiql(input: TokenStream) -> TokenStream {
    match partiql::expand(input.into()) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Derives `dynox::Model`. See the dynox documentation for the `#[dynox(...)]` attributes.
#[proc_macro_derive(Model, attributes(dynox))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    run(&input, ast::Container::from_ast, check::model, emit::model).into()
}

/// Parse, check, emit: the code when the input has no mistake, else all its mistakes.
fn run<'a, T>(
    input: &'a DeriveInput,
    parse: impl FnOnce(&'a DeriveInput, &Errors) -> Option<T>,
    check: impl FnOnce(&T, &Errors),
    emit: impl FnOnce(&T) -> TokenStream2,
) -> TokenStream2 {
    let errors = Errors::new();
    let parsed = parse(input, &errors);
    if let Some(parsed) = &parsed {
        check(parsed, &errors);
    }
    let result = errors.finish().map(|()| {
        let parsed = parsed.expect("no errors: the input was read");
        emit(&parsed)
    });
    result.unwrap_or_else(|e| e.to_compile_error())
}
