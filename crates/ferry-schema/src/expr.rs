//! Rewriting simple SQL expressions (CHECK constraints, partial-index predicates) from one
//! dialect to another. Only a reviewed whitelist of tokens is rewritten; anything else makes
//! the expression untranslatable, and the caller reports it instead of guessing.

use crate::tokens::{render_for, tokenize, tokenize_postgres, Token};
use ferry_core::{DataType, Dialect, Table};

/// Words that mean the same in SQLite, PostgreSQL and MySQL.
const PORTABLE_WORDS: &[&str] = &[
    "AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "LIKE", "CASE", "WHEN", "THEN", "ELSE",
    "END", "TRUE", "FALSE",
];

/// Functions that exist with the same meaning in every target, mapped by dialect.
fn function_name(name: &str, to: Dialect) -> Option<&'static str> {
    Some(match (name.to_ascii_lowercase().as_str(), to) {
        ("length" | "char_length", Dialect::Mysql) => "CHAR_LENGTH",
        ("length" | "char_length", _) => "length",
        // MariaDB prints lower()/upper() in defaults and CHECKs as lcase()/ucase().
        ("lower" | "lcase", _) => "lower",
        ("upper" | "ucase", _) => "upper",
        ("abs", _) => "abs",
        ("trim", _) => "trim",
        ("ltrim", _) => "ltrim",
        ("rtrim", _) => "rtrim",
        ("coalesce" | "ifnull", _) => "coalesce",
        ("substr" | "substring", _) => "substr",
        ("round", _) => "round",
        _ => return None,
    })
}

/// Why an expression was not translated.
pub type Untranslatable = String;

/// Rewrite `sql`, written in `from`, for `to`, renaming columns through `table` (source
/// names) to `target` (target names), identifiers through `quote` and string literals by
/// `to`'s rules ([`crate::quote::literal`]). Same dialect: returned as is (the source
/// server's own SQL, for a session with the same rules).
pub fn translate_expression(
    sql: &str,
    from: Dialect,
    to: Dialect,
    table: &Table,
    target: &Table,
    quote: &dyn Fn(&str) -> String,
) -> Result<String, Untranslatable> {
    if from == to {
        return Ok(sql.to_string());
    }
    let tokens = if from == Dialect::Postgres {
        let tokens = tokenize_postgres(sql).ok_or("unbalanced quotes")?;
        crate::source::postgres::deparse::portable(tokens)?
    } else {
        tokenize(sql).ok_or("unbalanced quotes")?
    };
    let mut out = Vec::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        let next_is_paren = tokens.get(i + 1) == Some(&Token::LParen);
        let rewritten = match t {
            Token::Word(w) | Token::Quoted(w) if !next_is_paren => {
                if let Some(idx) = find_column(table, w) {
                    Token::Quoted(target.columns[idx].name.clone())
                } else if matches!(t, Token::Word(_))
                    && PORTABLE_WORDS.iter().any(|k| k.eq_ignore_ascii_case(w))
                {
                    Token::Word(w.to_ascii_uppercase())
                } else {
                    return Err(format!("`{w}` is neither a column nor a portable keyword"));
                }
            }
            Token::Word(w) => match function_name(w, to) {
                Some(f) => Token::Word(f.to_string()),
                None if PORTABLE_WORDS.iter().any(|k| k.eq_ignore_ascii_case(w)) => {
                    Token::Word(w.to_ascii_uppercase())
                }
                None => return Err(format!("function `{w}` has no known equivalent")),
            },
            Token::Quoted(w) => return Err(format!("`{w}(...)` is not a known function")),
            Token::Op(op) => match op.as_str() {
                "==" => Token::Op("=".into()),
                "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%" => {
                    t.clone()
                }
                "||" if to == Dialect::Postgres => t.clone(),
                other => return Err(format!("operator `{other}` is not portable")),
            },
            Token::Blob(_) => return Err("blob literal".into()),
            Token::Str(_) | Token::Number(_) | Token::LParen | Token::RParen | Token::Comma => {
                t.clone()
            }
        };
        out.push(rewritten);
    }
    Ok(render_for(&out, quote, &|s| crate::quote::literal(to, s)))
}

/// The position of column `name`: exact match first, then ignoring ASCII case (SQLite and
/// MySQL compare column names that way).
pub fn find_column(table: &Table, name: &str) -> Option<usize> {
    table.column_index(name).or_else(|| {
        table
            .columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    })
}

/// Whether a CHECK only restates what a boolean column already guarantees
/// (`flag IN (0, 1)`, the constraint SQLAlchemy writes for every Boolean on SQLite).
pub fn is_boolean_domain_check(sql: &str, table: &Table) -> bool {
    let Some(t) = tokenize(sql) else { return false };
    let is_bool_col = |tok: &Token| {
        tok.ident()
            .and_then(|n| find_column(table, n))
            .is_some_and(|i| table.columns[i].data_type == DataType::Bool)
    };
    match t.as_slice() {
        [col, Token::Word(kw), Token::LParen, Token::Number(a), Token::Comma, Token::Number(b), Token::RParen]
            if kw.eq_ignore_ascii_case("IN") && is_bool_col(col) =>
        {
            let mut v = [a.as_str(), b.as_str()];
            v.sort_unstable();
            v == ["0", "1"]
        }
        _ => false,
    }
}

/// The column a CHECK declares to hold JSON: `JSON_VALID(col)`, optionally `OR col IS
/// NULL`, in any parentheses (Django's JSONField on SQLite, MariaDB's JSON alias). A column
/// of the JSON type needs no such CHECK on any target.
pub fn json_validity_column(sql: &str) -> Option<String> {
    let tokens: Vec<Token> = tokenize(sql)?
        .into_iter()
        .filter(|t| !matches!(t, Token::LParen | Token::RParen))
        .collect();
    let column = match tokens.as_slice() {
        [f, c] if f.is_word("JSON_VALID") => c.ident()?,
        [f, c, or, c2, is, null]
            if f.is_word("JSON_VALID")
                && or.is_word("OR")
                && is.is_word("IS")
                && null.is_word("NULL")
                && c.ident() == c2.ident() =>
        {
            c.ident()?
        }
        _ => return None,
    };
    Some(column.to_string())
}

/// Whether a CHECK only restates what a column's type already guarantees on every target:
/// [`is_boolean_domain_check`], or [`json_validity_column`] on a JSON column.
pub fn is_type_domain_check(sql: &str, table: &Table) -> bool {
    is_boolean_domain_check(sql, table)
        || json_validity_column(sql)
            .and_then(|c| find_column(table, &c))
            .is_some_and(|i| table.columns[i].data_type == DataType::Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::Column;

    fn table() -> Table {
        let mut t = Table::new("t");
        t.columns.push(Column::new("qty", "INT", DataType::Int64));
        t.columns.push(Column::new("Kind", "TEXT", DataType::Text));
        t.columns
            .push(Column::new("active", "BOOLEAN", DataType::Bool));
        t
    }

    fn q(s: &str) -> String {
        format!("\"{s}\"")
    }

    #[test]
    fn simple_checks_translate() {
        let t = table();
        let pg = |sql| translate_expression(sql, Dialect::Sqlite, Dialect::Postgres, &t, &t, &q);
        assert_eq!(pg("qty >= 0").as_deref(), Ok("\"qty\" >= 0"));
        assert_eq!(
            pg("length(Kind) > 0 and kind == 'x'").as_deref(),
            Ok("length(\"Kind\") > 0 AND \"Kind\" = 'x'")
        );
        assert_eq!(
            pg("Kind IN ('a','b') OR Kind IS NULL").as_deref(),
            Ok("\"Kind\" IN ('a', 'b') OR \"Kind\" IS NULL")
        );
        assert!(pg("typeof(qty) = 'integer'").is_err());
        assert!(pg("qty GLOB '[0-9]'").is_err());
        let my = translate_expression(
            "length(Kind) > 0",
            Dialect::Sqlite,
            Dialect::Mysql,
            &t,
            &t,
            &q,
        );
        assert_eq!(my.as_deref(), Ok("CHAR_LENGTH(\"Kind\") > 0"));
    }

    #[test]
    fn json_validity_checks_are_recognised() {
        assert_eq!(
            json_validity_column("(JSON_VALID(\"data\") OR \"data\" IS NULL)").as_deref(),
            Some("data")
        );
        assert_eq!(
            json_validity_column("json_valid(`doc`)").as_deref(),
            Some("doc")
        );
        assert_eq!(json_validity_column("JSON_VALID(a) OR b IS NULL"), None);
        assert_eq!(json_validity_column("JSON_VALID(a) AND a IS NULL"), None);
        assert_eq!(json_validity_column("length(a) > 0"), None);
        let mut t = table();
        t.columns.push(Column::new("doc", "TEXT", DataType::Json));
        assert!(is_type_domain_check("JSON_VALID(doc) OR doc IS NULL", &t));
        assert!(!is_type_domain_check("JSON_VALID(Kind)", &t));
    }

    #[test]
    fn boolean_domain_checks_are_recognised() {
        let t = table();
        assert!(is_boolean_domain_check("active IN (0, 1)", &t));
        assert!(is_boolean_domain_check("\"active\" IN (1,0)", &t));
        assert!(!is_boolean_domain_check("qty IN (0, 1)", &t));
        assert!(!is_boolean_domain_check("active IN (0, 2)", &t));
    }
}
