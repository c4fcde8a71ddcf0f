//! Where a PartiQL statement names its table: the verb, the table (and index), and the table's
//! place in the text.
//!
//! IAM authorizes a statement by its verb (`dynamodb:PartiQLSelect`, ...) on the table or index it
//! names, so both the client's renaming (logical to deployed names) and the testing backend's
//! authorization need exactly this, and nothing more, from the statement.

use std::ops::Range;

/// The statement kinds, one IAM action each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// `SELECT` (and `EXISTS(SELECT ...)` in transactions).
    Select,
    /// `INSERT INTO`.
    Insert,
    /// `UPDATE`.
    Update,
    /// `DELETE FROM`.
    Delete,
}

impl Verb {
    /// The IAM action of the verb.
    pub fn action(self) -> &'static str {
        match self {
            Verb::Select => crate::actions::dynamodb::PARTIQL_SELECT,
            Verb::Insert => crate::actions::dynamodb::PARTIQL_INSERT,
            Verb::Update => crate::actions::dynamodb::PARTIQL_UPDATE,
            Verb::Delete => crate::actions::dynamodb::PARTIQL_DELETE,
        }
    }
}

/// What a statement names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The verb.
    pub verb: Verb,
    /// The table, unquoted.
    pub table: String,
    /// The index, for `SELECT ... FROM "table"."index"`.
    pub index: Option<String>,
    /// Where the table token (with its quotes) is in the text.
    pub table_span: Range<usize>,
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Word(&'a str),
    Quoted(String),
    Punct(u8),
}

/// Tokens with their spans; strings, comments and whitespace are skipped.
fn tokens(text: &str) -> Option<Vec<(Token<'_>, Range<usize>)>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/")?;
            i += 2 + end + 2;
        } else if c == b'\'' || c == b'"' {
            let start = i;
            let mut value = String::new();
            i += 1;
            loop {
                let at = i;
                let rel = text[at..].find(c as char)?;
                value.push_str(&text[at..at + rel]);
                i = at + rel + 1;
                if b.get(i) == Some(&c) {
                    value.push(c as char);
                    i += 1;
                } else {
                    break;
                }
            }
            if c == b'"' {
                out.push((Token::Quoted(value), start..i));
            }
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((Token::Word(&text[start..i]), start..i));
        } else {
            out.push((Token::Punct(c), i..i + 1));
            i += 1;
        }
    }
    Some(out)
}

/// Words that end or follow a table reference, never a bare table name.
const KEYWORDS: [&str; 8] = [
    "WHERE",
    "SET",
    "VALUE",
    "REMOVE",
    "FROM",
    "SELECT",
    "RETURNING",
    "AND",
];

/// Finds the verb and the table of `text`; `None` when it is not a statement this understands.
pub fn locate(text: &str) -> Option<Located> {
    let toks = tokens(text)?;
    let word = |t: &Token<'_>, w: &str| matches!(t, Token::Word(x) if x.eq_ignore_ascii_case(w));
    let name = |t: &Token<'_>| match t {
        Token::Word(w) => Some((*w).to_owned()),
        Token::Quoted(q) => Some(q.clone()),
        Token::Punct(_) => None,
    };
    let mut at = 0;
    let first = &toks.first()?.0;
    let verb = if word(first, "EXISTS") {
        // EXISTS(SELECT ... FROM t ...)
        if toks.get(1).map(|t| &t.0) != Some(&Token::Punct(b'('))
            || !word(&toks.get(2)?.0, "SELECT")
        {
            return None;
        }
        at = 2;
        Verb::Select
    } else if word(first, "SELECT") {
        Verb::Select
    } else if word(first, "INSERT") {
        Verb::Insert
    } else if word(first, "UPDATE") {
        Verb::Update
    } else if word(first, "DELETE") {
        Verb::Delete
    } else {
        return None;
    };
    let table_at = match verb {
        Verb::Select => {
            let from = toks[at..].iter().position(|(t, _)| word(t, "FROM"))?;
            at + from + 1
        }
        Verb::Insert if word(&toks.get(1)?.0, "INTO") => 2,
        Verb::Delete if word(&toks.get(1)?.0, "FROM") => 2,
        Verb::Update => 1,
        Verb::Insert | Verb::Delete => return None,
    };
    let (tok, span) = toks.get(table_at)?;
    // A bare keyword where the table belongs means the table is missing.
    if let Token::Word(w) = tok
        && KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k))
    {
        return None;
    }
    let table = name(tok)?;
    let index = match (toks.get(table_at + 1), toks.get(table_at + 2)) {
        (Some((Token::Punct(b'.'), _)), Some((t, _))) if verb == Verb::Select => Some(name(t)?),
        _ => None,
    };
    Some(Located {
        verb,
        table,
        index,
        table_span: span.clone(),
    })
}

/// `text` with its table replaced by `table` (quoted), or `None` when no table was found.
pub fn with_table(text: &str, table: &str) -> Option<String> {
    let found = locate(text)?;
    let quoted = format!("\"{}\"", table.replace('"', "\"\""));
    let mut out = String::with_capacity(text.len() + quoted.len());
    out.push_str(&text[..found.table_span.start]);
    out.push_str(&quoted);
    out.push_str(&text[found.table_span.end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_verb_table_and_index() {
        for (text, verb, table, index) in [
            (
                "SELECT * FROM \"users\" WHERE id = ?",
                Verb::Select,
                "users",
                None,
            ),
            (
                "select name from \"users\".\"by-email\" where email = ?",
                Verb::Select,
                "users",
                Some("by-email"),
            ),
            (
                "SELECT a FROM users.byx",
                Verb::Select,
                "users",
                Some("byx"),
            ),
            (
                "-- who\n/* FROM x */ SELECT 'FROM y' FROM \"t\"\"q\"",
                Verb::Select,
                "t\"q",
                None,
            ),
            (
                "INSERT INTO \"orders\" VALUE {'id': ?}",
                Verb::Insert,
                "orders",
                None,
            ),
            (
                "UPDATE orders SET a = 1 WHERE id = ?",
                Verb::Update,
                "orders",
                None,
            ),
            (
                "DELETE FROM \"orders\" WHERE id = ?",
                Verb::Delete,
                "orders",
                None,
            ),
            (
                "EXISTS(SELECT * FROM \"orders\" WHERE id = ?)",
                Verb::Select,
                "orders",
                None,
            ),
        ] {
            let l = locate(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(
                (l.verb, l.table.as_str(), l.index.as_deref()),
                (verb, table, index),
                "{text}"
            );
        }
        for bad in [
            "",
            "DROP TABLE x",
            "INSERT \"x\"",
            "SELECT * WHERE",
            "SELECT 'open",
        ] {
            assert_eq!(locate(bad), None, "{bad}");
        }
    }

    #[test]
    fn replaces_only_the_table() {
        assert_eq!(
            with_table(
                "SELECT * FROM \"users\".\"by-email\" WHERE users = ?",
                "prod-users"
            )
            .unwrap(),
            "SELECT * FROM \"prod-users\".\"by-email\" WHERE users = ?"
        );
        assert_eq!(
            with_table("UPDATE users SET a = 'users'", "p-users").unwrap(),
            "UPDATE \"p-users\" SET a = 'users'"
        );
    }
}
