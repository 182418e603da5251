//! The one place where a name or a string from a source database becomes SQL text, per
//! target dialect. Every identifier and string literal ferry writes into SQL goes through
//! these functions, and the sessions that run the SQL are pinned so that their rules hold:
//!
//! - PostgreSQL: identifiers in double quotes with `"` doubled; string literals in single
//!   quotes with `'` doubled, and as `E'...'` with `\` doubled when they hold a backslash
//!   (as PostgreSQL's own `quote_literal` writes them), so a literal reads back the same
//!   whatever `standard_conforming_strings` says. ferry's sessions also set
//!   `standard_conforming_strings = on`, which the verbatim SQL of a PostgreSQL source
//!   (defaults, CHECKs, as `pg_get_expr` prints them) needs.
//! - MySQL/MariaDB: identifiers in backticks with `` ` `` doubled; string literals in single
//!   quotes with `'` doubled, `\` doubled and NUL as `\0`. ferry's sessions set their whole
//!   `sql_mode`, which never includes `NO_BACKSLASH_ESCAPES`: backslash escapes are on, as
//!   in the catalog text (`information_schema`, `SHOW CREATE TABLE`) that a MySQL-to-MySQL
//!   copy replays verbatim.
//!
//! Neither dialect can hold a NUL character in a name, and PostgreSQL cannot hold one in
//! text: [`check_text`] refuses such strings before any SQL is written.

use ferry_core::{DataType, DefaultValue, Dialect, Error, Result, Schema, Table};

/// A PostgreSQL identifier, always in double quotes (for SQL ferry runs; DDL that people
/// read uses [`pg_name`], which quotes only where PostgreSQL needs it).
pub fn pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// PostgreSQL's reserved key words (those that cannot be column or table names unquoted).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// Quote an identifier when PostgreSQL needs it: anything but lower-case letters, digits and
/// underscores (not leading with a digit), or a reserved word. Names keep their case.
pub fn pg_name(name: &str) -> String {
    let plain = !name.is_empty()
        && name.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_lowercase() || b == b'_' || (i > 0 && (b.is_ascii_digit() || b == b'$'))
        })
        && !RESERVED.contains(&name);
    if plain {
        name.to_string()
    } else {
        pg_ident(name)
    }
}

/// `schema.table` or `table` for DDL people read, each part quoted only where
/// PostgreSQL needs it ([`pg_name`]).
pub fn pg_qualified(table: &Table) -> String {
    match &table.schema {
        Some(s) => format!("{}.{}", pg_name(s), pg_name(&table.name)),
        None => pg_name(&table.name),
    }
}

/// `"schema"."name"` or `"name"`, always quoted ([`pg_ident`]), for SQL ferry runs.
pub fn pg_path(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", pg_ident(s), pg_ident(name)),
        None => pg_ident(name),
    }
}

/// A table's [`pg_path`].
pub fn pg_table(table: &Table) -> String {
    pg_path(table.schema.as_deref(), &table.name)
}

/// A PostgreSQL string literal that means `s` whatever `standard_conforming_strings` says.
pub fn pg_literal(s: &str) -> String {
    if s.contains('\\') {
        format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// A MySQL identifier in backticks.
pub fn mysql_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A MySQL string literal for a session with backslash escapes on (ferry's sessions: see
/// the module documentation).
pub fn mysql_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            other => out.push(other),
        }
    }
    out.push('\'');
    out
}

/// The statement that gives a session the literal rules of this module, for a script of
/// ferry's DDL that someone runs by hand (ferry's own sessions are set when they connect).
pub fn script_session(dialect: Dialect) -> Option<&'static str> {
    match dialect {
        Dialect::Postgres => Some("SET standard_conforming_strings = on"),
        Dialect::Mysql => {
            Some("SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
        }
        Dialect::Sqlite => None,
    }
}

/// A string literal for `dialect` (SQLite's rules are PostgreSQL's standard ones).
pub fn literal(dialect: Dialect, s: &str) -> String {
    match dialect {
        Dialect::Mysql => mysql_literal(s),
        Dialect::Postgres => pg_literal(s),
        Dialect::Sqlite => format!("'{}'", s.replace('\'', "''")),
    }
}

/// An identifier for `dialect`, always quoted.
pub fn ident(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Mysql => mysql_ident(name),
        Dialect::Postgres | Dialect::Sqlite => pg_ident(name),
    }
}

/// Refuse a name or text that holds a NUL character, which no target can store in a name
/// (nor PostgreSQL in text); `what` says where it was found (table, column, ...).
pub fn check_text(s: &str, what: impl FnOnce() -> String) -> Result<()> {
    if s.contains('\0') {
        return Err(Error::schema(format!(
            "{}: contains a NUL character, which the target cannot hold",
            what()
        )));
    }
    Ok(())
}

/// Refuse a schema with a NUL character in any name, label, comment, default or CHECK; the
/// error names the table and column.
pub fn check_schema(schema: &Schema) -> Result<()> {
    for t in &schema.tables {
        let table = t.display_name();
        let at = |what: &str| format!("table `{}`, {what}", table.escape_debug());
        check_text(&table, || at("its name"))?;
        for text in t.comment.iter() {
            check_text(text, || at("its comment"))?;
        }
        for c in &t.columns {
            let col = |what: &str| at(&format!("column `{}`: {what}", c.name.escape_debug()));
            check_text(&c.name, || col("its name"))?;
            for text in c.comment.iter().chain(c.generated.iter()) {
                check_text(text, || col("its comment or expression"))?;
            }
            if let Some(
                DefaultValue::Text(s)
                | DefaultValue::Number(s)
                | DefaultValue::Expression { sql: s, .. },
            ) = &c.default
            {
                check_text(s, || col("its default"))?;
            }
            if let DataType::Enum { labels, .. } | DataType::Set(labels) = &c.data_type {
                for l in labels {
                    check_text(l, || col("a label of its type"))?;
                }
            }
            if let DataType::Enum { name, .. } = &c.data_type {
                check_text(name, || col("its type's name"))?;
            }
        }
        for k in &t.checks {
            let name = k.name.as_deref().unwrap_or("");
            check_text(name, || at("a CHECK constraint's name"))?;
            check_text(&k.expression, || {
                at(&format!("CHECK `{}`", name.escape_debug()))
            })?;
        }
        for i in &t.indexes {
            check_text(&i.name, || at("an index name"))?;
            for p in &i.parts {
                for text in p.column.iter().chain(p.expression.iter()) {
                    check_text(text, || at(&format!("index `{}`", i.name.escape_debug())))?;
                }
            }
        }
        for fk in &t.foreign_keys {
            for text in fk
                .name
                .iter()
                .chain(fk.columns.iter())
                .chain(&fk.ref_columns)
            {
                check_text(text, || at("a foreign key"))?;
            }
            check_text(&fk.ref_table, || at("a foreign key"))?;
        }
    }
    for ty in &schema.types {
        check_text(&ty.name, || format!("type `{}`", ty.name.escape_debug()))?;
        match &ty.kind {
            ferry_core::UserTypeKind::Enum(labels) => {
                for l in labels {
                    check_text(l, || format!("type `{}`: a label", ty.name.escape_debug()))?;
                }
            }
            ferry_core::UserTypeKind::Composite(attributes) => {
                for (a, _) in attributes {
                    check_text(a, || {
                        format!("type `{}`: an attribute", ty.name.escape_debug())
                    })?;
                }
            }
            ferry_core::UserTypeKind::Domain { .. } => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_literals_double_quotes_and_backslashes() {
        assert_eq!(mysql_literal("\\"), r"'\\'");
        assert_eq!(mysql_literal("'"), "''''");
        assert_eq!(mysql_literal("\\'"), r"'\\'''");
        assert_eq!(mysql_literal("a\0b"), r"'a\0b'");
        assert_eq!(
            mysql_literal("')); DROP TABLE y; -- "),
            "''')); DROP TABLE y; -- '"
        );
        assert_eq!(mysql_literal("😀\n*/--;"), "'😀\n*/--;'");
    }

    #[test]
    fn postgres_literals_escape_backslashes_only_in_e_strings() {
        assert_eq!(pg_literal("it's"), "'it''s'");
        assert_eq!(pg_literal("\\"), r"E'\\'");
        assert_eq!(pg_literal("\\'"), r"E'\\'''");
        assert_eq!(pg_literal("😀\n"), "'😀\n'");
    }

    #[test]
    fn identifiers_double_their_quote() {
        assert_eq!(mysql_ident("a`b"), "`a``b`");
        assert_eq!(mysql_ident("**//"), "`**//`");
        assert_eq!(pg_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(ident(Dialect::Mysql, "x"), "`x`");
        assert_eq!(literal(Dialect::Sqlite, "a\\'"), "'a\\'''");
    }

    #[test]
    fn a_schema_with_nul_is_refused_naming_table_and_column() {
        let mut t = ferry_core::Table::new("t");
        t.columns
            .push(ferry_core::Column::new("c", "TEXT", DataType::Text));
        t.columns[0].default = Some(DefaultValue::Text("a\0b".into()));
        let schema = Schema {
            tables: vec![t],
            ..Default::default()
        };
        let e = crate::translate(
            &schema,
            Dialect::Sqlite,
            Dialect::Mysql,
            &crate::Overrides::default(),
        )
        .expect_err("nul");
        assert!(
            e.to_string().contains("table `t`, column `c`: its default"),
            "{e}"
        );
    }

    #[test]
    fn nul_is_refused_with_its_place() {
        let e = check_text("a\0b", || "table `t`, column `c`".into()).expect_err("nul");
        assert!(e.to_string().contains("table `t`, column `c`"), "{e}");
        assert!(check_text("fine", String::new).is_ok());
    }
}
