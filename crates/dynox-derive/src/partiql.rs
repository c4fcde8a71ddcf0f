//! `partiql!("...")`: reads a literal PartiQL statement at compile time, so its IAM verb and
//! table are known when the binary is built.

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

struct Parsed {
    verb: &'static str,
    table: String,
    index: Option<String>,
    params: usize,
}

/// The statement as dynox-iam's reader sees it (the same reader checks it again at run time and
/// renames its table), plus DynamoDB's name rules, which only a literal can meet at compile time.
fn parse(text: &str) -> Result<Parsed, String> {
    use dynox_iam::statement::{Verb, is_valid_name, read};
    let found = read(text).map_err(|e| e.to_string())?;
    if !is_valid_name(&found.table) || found.index.as_deref().is_some_and(|i| !is_valid_name(i)) {
        return Err(format!(
            "`{}` is not a valid table or index name",
            found.table
        ));
    }
    let verb = match found.verb {
        Verb::Select => "Select",
        Verb::Insert => "Insert",
        Verb::Update => "Update",
        Verb::Delete => "Delete",
    };
    Ok(Parsed {
        verb,
        table: found.table,
        index: found.index,
        params: found.parameters,
    })
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let lit: LitStr = syn::parse2(input)?;
    let text = lit.value();
    let p = parse(&text).map_err(|m| syn::Error::new_spanned(&lit, format!("partiql!: {m}")))?;
    let verb = syn::Ident::new(p.verb, lit.span());
    let table = p.table;
    let index = match p.index {
        Some(i) => quote! { ::core::option::Option::Some(#i) },
        None => quote! { ::core::option::Option::None },
    };
    // At most 160 bytes, cut at a character boundary: the marker record has a fixed size.
    let mut label = String::new();
    for c in text.chars() {
        if label.len() + c.len_utf8() > 160 {
            break;
        }
        label.push(c);
    }
    let params = p.params;
    Ok(quote! {
        {
            #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
            struct __DynoxStatement;
            impl ::dynox::partiql::Statement for __DynoxStatement {
                const VERB: ::dynox::partiql::Verb = ::dynox::partiql::Verb::#verb;
                const TABLE: &'static str = #table;
                const INDEX: ::core::option::Option<&'static str> = #index;
                const TEXT: &'static str = #text;
                const LABEL: &'static str = #label;
                const PARAMETERS: usize = #params;
            }
            __DynoxStatement
        }
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn verbs_tables_indexes_and_parameters() {
        let p = parse(r#"SELECT * FROM "users"."by-email" WHERE email = ? AND x = 'a?b'"#).unwrap();
        assert_eq!(
            (p.verb, p.table.as_str(), p.index.as_deref(), p.params),
            ("Select", "users", Some("by-email"), 1)
        );
        let p = parse("insert into orders value {'id': ?, 'n': ?}").unwrap();
        assert_eq!(
            (p.verb, p.table.as_str(), p.params),
            ("Insert", "orders", 2)
        );
        let p = parse(r#"UPDATE "my""table" SET a = 1 WHERE id = ?"#);
        assert!(p.is_err(), "quotes inside names are not valid table names");
        let p = parse(r#"DELETE FROM "orders" WHERE id = ?"#).unwrap();
        assert_eq!(p.verb, "Delete");
        for bad in [
            "",
            "EXISTS(SELECT * FROM t)",
            "SELECT *",
            "UPDATE \"t\".\"i\" SET a = 1",
            "SELECT * FROM \"ab",
            "-- only a comment",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comments_of_both_kinds_anywhere() {
        for text in [
            "-- leading\nSELECT * FROM \"users\" WHERE id = ?",
            "/* leading */ SELECT * FROM \"users\" WHERE id = ?",
            "SELECT /* ? */ * FROM -- ?\n \"users\" WHERE id = ? -- trailing ?",
            "SELECT * FROM \"users\" WHERE id = ? /* trailing ? */",
        ] {
            let p = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (p.verb, p.table.as_str(), p.params),
                ("Select", "users", 1),
                "{text}"
            );
        }
    }
}
