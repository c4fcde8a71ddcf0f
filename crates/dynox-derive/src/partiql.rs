//! `partiql!("...")`: reads a literal PartiQL statement at compile time, so its IAM verb and
//! table are known when the binary is built.

use proc_macro2::TokenStream;
use quote::quote;
use syn::LitStr;

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Param,
    Other(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        Some('/') if prev == '*' => break,
                        Some(c) => prev = c,
                        None => return Err("a /* comment */ is not closed".into()),
                    }
                }
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            s.push('"');
                        }
                        Some('"') => break,
                        Some(c) => s.push(c),
                        None => return Err("a double-quoted name is not closed".into()),
                    }
                }
                out.push(Token::Quoted(s));
            }
            '\'' => loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                    }
                    Some('\'') => break,
                    Some(_) => {}
                    None => return Err("a string literal is not closed".into()),
                }
            },
            '?' => out.push(Token::Param),
            c if c.is_alphanumeric() || c == '_' => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' {
                        s.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(s));
            }
            other => out.push(Token::Other(other)),
        }
    }
    Ok(out)
}

fn is_kw(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
}

fn name(t: Option<&Token>) -> Option<String> {
    match t {
        Some(Token::Word(w)) | Some(Token::Quoted(w)) => Some(w.clone()),
        _ => None,
    }
}

struct Parsed {
    verb: &'static str,
    table: String,
    index: Option<String>,
    params: usize,
}

fn parse(text: &str) -> Result<Parsed, String> {
    let tokens = tokenize(text)?;
    let params = tokens.iter().filter(|t| **t == Token::Param).count();
    // `EXISTS(SELECT ...)` is the condition check of a statement transaction: a read.
    let tokens: Vec<Token> = if is_kw(tokens.first(), "EXISTS")
        && tokens.get(1) == Some(&Token::Other('('))
        && is_kw(tokens.get(2), "SELECT")
    {
        tokens.into_iter().skip(2).collect()
    } else {
        tokens
    };
    let first = tokens.first();
    let (verb, at) = if is_kw(first, "SELECT") {
        let from = tokens
            .iter()
            .position(|t| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("FROM")))
            .ok_or("a SELECT needs FROM")?;
        ("Select", from + 1)
    } else if is_kw(first, "INSERT") && is_kw(tokens.get(1), "INTO") {
        ("Insert", 2)
    } else if is_kw(first, "UPDATE") {
        ("Update", 1)
    } else if is_kw(first, "DELETE") && is_kw(tokens.get(1), "FROM") {
        ("Delete", 2)
    } else {
        return Err("a statement starts with SELECT, INSERT INTO, UPDATE or DELETE FROM".into());
    };
    let table = name(tokens.get(at)).ok_or("the table name is missing")?;
    let index = if tokens.get(at + 1) == Some(&Token::Other('.')) {
        if verb != "Select" {
            return Err("only a SELECT can read an index".into());
        }
        Some(name(tokens.get(at + 2)).ok_or("the index name is missing after `.`")?)
    } else {
        None
    };
    let valid = |n: &str| {
        (3..=255).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    if !valid(&table) || index.as_deref().is_some_and(|i| !valid(i)) {
        return Err(format!("`{table}` is not a valid table or index name"));
    }
    Ok(Parsed {
        verb,
        table,
        index,
        params,
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
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
