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

#[cfg(test)]
mod tests {
    use super::*;

    fn model_errors(input: DeriveInput) -> Vec<String> {
        let errors = Errors::new();
        if let Some(c) = ast::Container::from_ast(&input, &errors) {
            check::model(&c, &errors);
        }
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn independent_mistakes_are_all_reported() {
        let found = model_errors(syn::parse_quote! {
            #[dynox(table = "t", unknown = "drop")]
            struct Thing {
                #[dynox(partition_key, timestamp = "unix")]
                id: Option<String>,
                #[dynox(rename = "id", bogus)]
                copy: String,
            }
        });
        assert_eq!(found.len(), 6, "{found:#?}");
        for part in [
            "unknown is",
            "timestamp is",
            "`bogus`",
            "table name",
            "key field",
            "both stored",
        ] {
            assert!(found.iter().any(|e| e.contains(part)), "{part}: {found:#?}");
        }
    }

    #[test]
    fn an_unreadable_attribute_silences_what_it_may_have_declared() {
        let found = model_errors(syn::parse_quote! {
            #[dynox(table = "things", unknown = "keep", local_index(name = "by-n", sort_key = "n"))]
            struct Thing {
                #[dynox(partitionkey)]
                id: String,
                #[dynox(extr)]
                more: dynox::Item,
                n: u32,
            }
        });
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found
                .iter()
                .all(|e| e.starts_with("unknown dynox attribute"))
        );
    }

    #[test]
    fn a_generated_epoch_time_must_be_in_the_declared_unit() {
        let found = model_errors(syn::parse_quote! {
            #[dynox(table = "events")]
            struct Event {
                #[dynox(partition_key)]
                id: String,
                #[dynox(generate = "epoch_millis", timestamp = "epoch_seconds")]
                a: u64,
                #[dynox(timestamp = "epoch_millis", generate = "epoch_seconds")]
                b: i64,
                #[dynox(generate = "epoch_millis", timestamp = "epoch_millis")]
                c: u64,
                #[dynox(created_at, timestamp = "epoch_seconds")]
                d: u64,
            }
        });
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].contains(r#"`generate = "epoch_millis"` on a `timestamp = "epoch_seconds"`"#)
        );
        assert!(
            found[1].contains(r#"`generate = "epoch_seconds"` on a `timestamp = "epoch_millis"`"#)
        );
    }

    #[test]
    fn integer_epoch_fields_compare_and_fill_in_their_own_type() {
        let input: DeriveInput = syn::parse_quote! {
            #[dynox(table = "events")]
            struct Event {
                #[dynox(partition_key)]
                id: String,
                #[dynox(updated_at, timestamp = "epoch_millis")]
                at: u64,
                #[dynox(created_at)]
                plain: u64,
            }
        };
        let code = run(&input, ast::Container::from_ast, check::model, emit::model).to_string();
        assert!(!code.contains("compile_error"), "{code}");
        // The path is the codec's number for the field's type, not a fixed i64.
        assert!(
            code.contains("Path < < :: dynox :: attr :: EpochMillis as :: dynox :: attr :: EpochNumber < u64 >> :: Number >"),
            "{code}"
        );
        // "Now" in the declared unit; an undeclared field keeps `Now`.
        assert!(code.contains(
            "refresh :: < u64 , < :: dynox :: attr :: EpochMillis as :: dynox :: attr :: EpochNumber < u64 >> :: Now >"
        ));
        assert!(code.contains("fill :: < u64 , :: dynox :: generate :: Now >"));
    }

    #[test]
    fn a_checked_model_is_emitted_with_sized_items() {
        let input: DeriveInput = syn::parse_quote! {
            #[dynox(table = "things", entity = "Thing", unknown = "keep")]
            struct Thing {
                #[dynox(partition_key)]
                id: String,
                #[dynox(skip)]
                cache: u8,
                name: String,
                #[dynox(extra)]
                more: dynox::Item,
            }
        };
        let code = run(&input, ast::Container::from_ast, check::model, emit::model).to_string();
        assert!(!code.contains("compile_error"), "{code}");
        // `id`, `name` and the discriminator, and what `more` holds.
        assert!(code.contains("with_capacity (3usize + :: dynox :: Item :: len (& self . more))"));
        assert!(code.contains("with_capacity (3usize + :: dynox :: Item :: len (& extra))"));
        assert!(!code.contains("Item :: new"));
    }
}
