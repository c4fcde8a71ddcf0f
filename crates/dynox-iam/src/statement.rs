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
    /// `SELECT` (and `EXISTS(SELECT ...)` in transactions): `dynamodb:PartiQLSelect`.
    Select,
    /// `INSERT INTO`: `dynamodb:PartiQLInsert`.
    Insert,
    /// `UPDATE`: `dynamodb:PartiQLUpdate`.
    Update,
    /// `DELETE FROM`: `dynamodb:PartiQLDelete`.
    Delete,
}

impl Verb {
    /// The IAM action of the verb.
    pub const fn action(self) -> &'static str {
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
    /// How many `?` parameters the text has (outside strings, names and comments).
    pub parameters: usize,
}

/// Why a text is not a statement this reader understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementError(&'static str);

impl std::fmt::Display for StatementError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for StatementError {}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Word(&'a str),
    Quoted(String),
    Param,
    Punct(u8),
}

/// Tokens with their spans; strings, comments (`-- line`, `/* block */`) and whitespace are
/// skipped wherever they are.
fn tokens(text: &str) -> Result<Vec<(Token<'_>, Range<usize>)>, StatementError> {
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
            let end = text[i + 2..]
                .find("*/")
                .ok_or(StatementError("a /* comment */ is not closed"))?;
            i += 2 + end + 2;
        } else if c == b'\'' || c == b'"' {
            let start = i;
            let mut value = String::new();
            i += 1;
            loop {
                let at = i;
                let rel = text[at..]
                    .find(c as char)
                    .ok_or(StatementError(if c == b'"' {
                        "a double-quoted name is not closed"
                    } else {
                        "a string literal is not closed"
                    }))?;
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
        } else if c == b'?' {
            out.push((Token::Param, i..i + 1));
            i += 1;
        } else {
            // Any other character, one UTF-8 sequence at a time.
            let len = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push((Token::Punct(c), i..i + len));
            i += len;
        }
    }
    Ok(out)
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

/// Reads the verb, table, index and parameter count of `text`: the one reader of statements,
/// shared by `partiql!`, the client's check of a statement's declared verb and table, its
/// renaming and the testing gateway.
pub fn read(text: &str) -> Result<Located, StatementError> {
    let toks = tokens(text)?;
    let parameters = toks.iter().filter(|(t, _)| *t == Token::Param).count();
    let word = |t: &Token<'_>, w: &str| matches!(t, Token::Word(x) if x.eq_ignore_ascii_case(w));
    let name = |t: &Token<'_>| match t {
        Token::Word(w) => Some((*w).to_owned()),
        Token::Quoted(q) => Some(q.clone()),
        Token::Param | Token::Punct(_) => None,
    };
    let nth = |n: usize| toks.get(n).map(|(t, _)| t);
    const NO_VERB: StatementError =
        StatementError("a statement starts with SELECT, INSERT INTO, UPDATE or DELETE FROM");
    // `EXISTS(SELECT ...)` is the condition check of a statement transaction: a read.
    let at = if nth(0).is_some_and(|t| word(t, "EXISTS")) {
        if nth(1) != Some(&Token::Punct(b'(')) || !nth(2).is_some_and(|t| word(t, "SELECT")) {
            return Err(StatementError("EXISTS takes a (SELECT ...)"));
        }
        2
    } else {
        0
    };
    let first = nth(at).ok_or(NO_VERB)?;
    let (verb, table_at) = if word(first, "SELECT") {
        let from = toks[at..]
            .iter()
            .position(|(t, _)| word(t, "FROM"))
            .ok_or(StatementError("a SELECT needs FROM"))?;
        (Verb::Select, at + from + 1)
    } else if word(first, "INSERT") && nth(at + 1).is_some_and(|t| word(t, "INTO")) {
        (Verb::Insert, at + 2)
    } else if word(first, "UPDATE") {
        (Verb::Update, at + 1)
    } else if word(first, "DELETE") && nth(at + 1).is_some_and(|t| word(t, "FROM")) {
        (Verb::Delete, at + 2)
    } else {
        return Err(NO_VERB);
    };
    if at > 0 && verb != Verb::Select {
        return Err(StatementError("EXISTS takes a (SELECT ...)"));
    }
    const NO_TABLE: StatementError = StatementError("the table name is missing");
    let (tok, span) = toks.get(table_at).ok_or(NO_TABLE)?;
    // A bare keyword where a name belongs means the name is missing.
    let name = |t: &Token<'_>| match t {
        Token::Word(w) if KEYWORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) => None,
        other => name(other),
    };
    let table = name(tok).ok_or(NO_TABLE)?;
    let index = if nth(table_at + 1) == Some(&Token::Punct(b'.')) {
        if verb != Verb::Select {
            return Err(StatementError("only a SELECT can read an index"));
        }
        Some(
            nth(table_at + 2)
                .and_then(name)
                .ok_or(StatementError("the index name is missing after `.`"))?,
        )
    } else {
        None
    };
    Ok(Located {
        verb,
        table,
        index,
        table_span: span.clone(),
        parameters,
    })
}

/// [`read`], for callers that only need to know whether the text is understood.
pub fn locate(text: &str) -> Option<Located> {
    read(text).ok()
}

/// Whether `name` is a valid DynamoDB table or index name: 3 to 255 of `a-z A-Z 0-9 _ - .`.
pub fn is_valid_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
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
            (
                "-- leading\n/* and a\nblock */\nSELECT /* inline */ * -- more\nFROM -- x\n\"orders\" /* c */ WHERE id = ? -- trailing",
                Verb::Select,
                "orders",
                None,
            ),
            (
                "/* only a block */DELETE/**/FROM/**/orders--",
                Verb::Delete,
                "orders",
                None,
            ),
            (
                "  \n-- x\nUPDATE /* t */ \"a\" -- y\n SET b = '--' WHERE c = '/*'",
                Verb::Update,
                "a",
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
        for (bad, why) in [
            (
                "",
                "a statement starts with SELECT, INSERT INTO, UPDATE or DELETE FROM",
            ),
            (
                "-- only a comment",
                "a statement starts with SELECT, INSERT INTO, UPDATE or DELETE FROM",
            ),
            (
                "DROP TABLE x",
                "a statement starts with SELECT, INSERT INTO, UPDATE or DELETE FROM",
            ),
            (
                "INSERT \"x\"",
                "a statement starts with SELECT, INSERT INTO, UPDATE or DELETE FROM",
            ),
            ("SELECT * WHERE", "a SELECT needs FROM"),
            ("SELECT * FROM WHERE a = 1", "the table name is missing"),
            ("SELECT 'open", "a string literal is not closed"),
            ("SELECT * FROM \"open", "a double-quoted name is not closed"),
            ("/* SELECT * FROM t", "a /* comment */ is not closed"),
            (
                "UPDATE \"t\".\"i\" SET a = 1",
                "only a SELECT can read an index",
            ),
            ("EXISTS(DELETE FROM t)", "EXISTS takes a (SELECT ...)"),
            (
                "SELECT * FROM t. WHERE",
                "the index name is missing after `.`",
            ),
        ] {
            assert_eq!(
                read(bad).map_err(|e| e.to_string()),
                Err(why.to_owned()),
                "{bad}"
            );
            assert_eq!(locate(bad), None, "{bad}");
        }
    }

    #[test]
    fn counts_parameters_outside_strings_names_and_comments() {
        let l =
            read("SELECT * FROM \"t?\" WHERE a = ? AND b = '?' -- ?\n AND c = ? /* ? */").unwrap();
        assert_eq!(l.parameters, 2);
        assert_eq!(
            read("SELECT é FROM \"t\" WHERE x = 'ü'").unwrap().table,
            "t"
        );
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
