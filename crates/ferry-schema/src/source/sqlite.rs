//! SQLite as a source: its type rules, its default expressions and the CHECK constraints in
//! its `CREATE TABLE` text.

use crate::rules::{Guard, Names, Target, TypeRule};
use crate::tokens::{matching_paren, tokenize, Token};
use ferry_core::{Check, DataType, DefaultValue, Dialect};

const INTEGER_NAMES: &[&str] = &[
    "INT",
    "INTEGER",
    "BIGINT",
    "INT8",
    "INT4",
    "INT2",
    "SMALLINT",
    "TINYINT",
    "MEDIUMINT",
    "UNSIGNED BIG INT",
];
const CHAR_NAMES: &[&str] = &[
    "VARCHAR",
    "NVARCHAR",
    "NCHAR",
    "CHAR",
    "CHARACTER",
    "VARYING CHARACTER",
    "NATIVE CHARACTER",
    "CHARACTER VARYING",
];

/// SQLite's type rules, first match wins. SQLite stores any value in any column, so integer
/// types all widen to bigint (the config can narrow them) and the reader checks every value.
pub static SQLITE_RULES: &[TypeRule] = &[
    TypeRule {
        names: Names::Exact(&["INTEGER"]),
        guard: Guard::RowidAlias,
        target: Target::Type(DataType::Int64),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["BOOLEAN", "BOOL"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Bool),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(INTEGER_NAMES),
        guard: Guard::Always,
        target: Target::Type(DataType::Int64),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(CHAR_NAMES),
        guard: Guard::Args(1),
        target: Target::VarCharFromArg,
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&[
            "TEXT",
            "CLOB",
            "STRING",
            "VARCHAR",
            "NVARCHAR",
            "CHAR",
            "NCHAR",
            "CHARACTER",
        ]),
        guard: Guard::Always,
        target: Target::Type(DataType::Text),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["REAL", "DOUBLE", "DOUBLE PRECISION", "FLOAT", "FLOAT8"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Float64),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["NUMERIC", "DECIMAL"]),
        guard: Guard::Args(1),
        target: Target::DecimalFromArgs,
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["NUMERIC", "DECIMAL"]),
        guard: Guard::NoArgs,
        target: Target::Type(DataType::Decimal {
            precision: None,
            scale: None,
        }),
        warning: None,
    },
    // SQL Server's money types, common in databases ported from it (Northwind): exact
    // decimals, not floats.
    TypeRule {
        names: Names::Exact(&["MONEY", "SMALLMONEY", "CURRENCY"]),
        guard: Guard::NoArgs,
        target: Target::Type(DataType::Decimal {
            precision: None,
            scale: None,
        }),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["BLOB", "BINARY", "VARBINARY", "IMAGE"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Bytes),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["DATE"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Date),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["DATETIME", "TIMESTAMP", "DATETIME2", "SMALLDATETIME"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Timestamp),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["TIME"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Time),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["UUID", "GUID"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Uuid),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["JSON", "JSONB"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Json),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&[""]),
        guard: Guard::Always,
        target: Target::InferFromValues,
        warning: None,
    },
    // SQLite's own affinity rules (https://sqlite.org/datatype3.html, 3.1) for any other name.
    TypeRule {
        names: Names::Contains(&["INT"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int64),
        warning: None,
    },
    TypeRule {
        names: Names::Contains(&["CHAR", "CLOB", "TEXT"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Text),
        warning: None,
    },
    TypeRule {
        names: Names::Contains(&["BLOB"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Bytes),
        warning: None,
    },
    TypeRule {
        names: Names::Contains(&["REAL", "FLOA", "DOUB"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Float64),
        warning: None,
    },
    TypeRule {
        names: Names::Any,
        guard: Guard::Always,
        target: Target::InferFromValues,
        warning: Some("unknown declared type; the target type was chosen from the stored values"),
    },
];

/// The neutral meaning of a default as `PRAGMA table_info` reports it (`'abc'`, `0`,
/// `CURRENT_TIMESTAMP`, `datetime('now')`, `(strftime('%s','now'))`, ...).
pub fn parse_default(text: &str) -> DefaultValue {
    let raw = DefaultValue::Expression {
        dialect: Dialect::Sqlite,
        sql: text.to_string(),
    };
    let Some(mut tokens) = tokenize(text) else {
        return raw;
    };
    while tokens.first() == Some(&Token::LParen)
        && matching_paren(&tokens, 0) == Some(tokens.len() - 1)
    {
        tokens = tokens[1..tokens.len() - 1].to_vec();
    }
    let sign = match tokens.first() {
        Some(Token::Op(op)) if op == "-" || op == "+" => {
            let s = op.clone();
            tokens.remove(0);
            s
        }
        _ => String::new(),
    };
    match tokens.as_slice() {
        [Token::Number(n)] => {
            DefaultValue::Number(format!("{}{n}", if sign == "-" { "-" } else { "" }))
        }
        [Token::Str(s)] if sign.is_empty() => DefaultValue::Text(s.clone()),
        [Token::Word(w)] if sign.is_empty() => match w.to_ascii_uppercase().as_str() {
            "NULL" => DefaultValue::Null,
            "TRUE" => DefaultValue::Bool(true),
            "FALSE" => DefaultValue::Bool(false),
            "CURRENT_TIMESTAMP" => DefaultValue::CurrentTimestamp,
            "CURRENT_DATE" => DefaultValue::CurrentDate,
            "CURRENT_TIME" => DefaultValue::CurrentTime,
            _ => raw,
        },
        [Token::Word(f), Token::LParen, args @ .., Token::RParen] if sign.is_empty() => {
            let strs: Vec<&str> = args
                .iter()
                .filter_map(|t| match t {
                    Token::Str(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect();
            let only_strings = args
                .iter()
                .all(|t| matches!(t, Token::Str(_) | Token::Comma));
            let func = f.to_ascii_lowercase();
            if func == "unixepoch" && (args.is_empty() || strs == ["now"]) {
                return DefaultValue::UnixEpoch;
            }
            if !only_strings || !strs.iter().any(|s| s.eq_ignore_ascii_case("now")) {
                return raw;
            }
            // Modifiers other than 'now' (and 'utc', a no-op on 'now') change the value.
            let modifiers: Vec<&&str> = strs
                .iter()
                .filter(|s| !s.eq_ignore_ascii_case("now") && !s.eq_ignore_ascii_case("utc"))
                .collect();
            match (func.as_str(), modifiers.as_slice()) {
                ("datetime", []) => DefaultValue::CurrentTimestamp,
                ("date", []) => DefaultValue::CurrentDate,
                ("time", []) => DefaultValue::CurrentTime,
                ("strftime", [fmt]) if **fmt == "%s" => DefaultValue::UnixEpoch,
                ("strftime", [fmt]) if fmt.starts_with("%Y-%m-%d") && fmt.contains("%H") => {
                    DefaultValue::CurrentTimestamp
                }
                ("strftime", [fmt]) if **fmt == "%Y-%m-%d" => DefaultValue::CurrentDate,
                _ => raw,
            }
        }
        _ => raw,
    }
}

/// Whether the `CREATE TABLE` text declares `AUTOINCREMENT`.
pub fn has_autoincrement(create_sql: &str) -> bool {
    tokenize(create_sql).is_some_and(|t| t.iter().any(|t| t.is_word("AUTOINCREMENT")))
}

/// When each foreign key of a `CREATE TABLE` statement is checked, in declaration order
/// (one entry per `REFERENCES` clause, column-level or table-level, which is the order of
/// `PRAGMA foreign_key_list` reversed): `DEFERRABLE INITIALLY DEFERRED` (Django's keys),
/// `DEFERRABLE [INITIALLY IMMEDIATE]`, or neither (also `NOT DEFERRABLE ...`).
pub fn deferrable_references(create_sql: &str) -> Vec<ferry_core::Deferrable> {
    use ferry_core::Deferrable;
    let Some(tokens) = tokenize(create_sql) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if !t.is_word("REFERENCES") {
            continue;
        }
        // The clause runs to the comma or `)` that ends its definition.
        let mut depth = 0usize;
        let mut end = tokens.len();
        for (j, u) in tokens.iter().enumerate().skip(i + 1) {
            match u {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => {
                    end = j;
                    break;
                }
                Token::RParen => depth -= 1,
                Token::Comma if depth == 0 => {
                    end = j;
                    break;
                }
                _ => {}
            }
        }
        let clause = &tokens[i + 1..end];
        let at = clause.iter().position(|u| u.is_word("DEFERRABLE"));
        let negated = at.is_some_and(|k| k > 0 && clause[k - 1].is_word("NOT"));
        let deferred = clause
            .windows(2)
            .any(|w| w[0].is_word("INITIALLY") && w[1].is_word("DEFERRED"));
        out.push(match (at, negated, deferred) {
            (Some(_), false, true) => Deferrable::Deferred,
            (Some(_), false, false) => Deferrable::Immediate,
            _ => Deferrable::No,
        });
    }
    out
}

/// The CHECK constraints in a `CREATE TABLE` statement, column-level and table-level, as
/// SQLite SQL text.
pub fn extract_checks(create_sql: &str) -> Vec<Check> {
    let Some(tokens) = tokenize(create_sql) else {
        return Vec::new();
    };
    let Some(open) = tokens.iter().position(|t| *t == Token::LParen) else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    let mut i = open + 1;
    let mut pending_name: Option<String> = None;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is_word("CONSTRAINT") {
            pending_name = tokens.get(i + 1).and_then(Token::ident).map(str::to_string);
            i += 2;
            continue;
        }
        if t.is_word("CHECK") && tokens.get(i + 1) == Some(&Token::LParen) {
            if let Some(close) = matching_paren(&tokens, i + 1) {
                let expr =
                    crate::tokens::render(&tokens[i + 2..close], &|s| crate::quote::pg_ident(s));
                checks.push(Check {
                    name: pending_name.take(),
                    expression: expr,
                    dialect: Dialect::Sqlite,
                });
                i = close + 1;
                continue;
            }
        }
        if *t == Token::LParen {
            // Skip nested parentheses that are not CHECKs (type args, defaults, FK columns).
            i = matching_paren(&tokens, i).map_or(tokens.len(), |c| c + 1);
            continue;
        }
        if *t == Token::Comma {
            pending_name = None;
        }
        i += 1;
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{map_type, ColumnFacts, Mapped, StoredClasses};

    fn map(declared: &str) -> DataType {
        match map_type(SQLITE_RULES, &ColumnFacts::declared(declared)) {
            Mapped::Type(t, _) => t,
            Mapped::NeedsValues => panic!("{declared} needs values"),
        }
    }

    #[test]
    fn every_sqlite_type_rule() {
        let mut pk = ColumnFacts::declared("INTEGER");
        pk.rowid_alias = true;
        assert_eq!(
            map_type(SQLITE_RULES, &pk),
            Mapped::Type(DataType::Int64, None)
        );
        for int in [
            "INT",
            "integer",
            "BIGINT",
            "SMALLINT",
            "TINYINT",
            "MEDIUMINT",
            "INT8",
            "UNSIGNED BIG INT",
        ] {
            assert_eq!(map(int), DataType::Int64, "{int}");
        }
        assert_eq!(map("BOOLEAN"), DataType::Bool);
        assert_eq!(map("bool"), DataType::Bool);
        assert_eq!(map("TEXT"), DataType::Text);
        assert_eq!(map("CLOB"), DataType::Text);
        assert_eq!(map("VARCHAR(64)"), DataType::VarChar(64));
        assert_eq!(map("NVARCHAR(160)"), DataType::VarChar(160));
        assert_eq!(map("CHAR(2)"), DataType::VarChar(2));
        assert_eq!(map("NCHAR(10)"), DataType::VarChar(10));
        assert_eq!(map("VARCHAR"), DataType::Text);
        assert_eq!(map("REAL"), DataType::Float64);
        assert_eq!(map("DOUBLE"), DataType::Float64);
        assert_eq!(map("double precision"), DataType::Float64);
        assert_eq!(map("FLOAT"), DataType::Float64);
        assert_eq!(
            map("NUMERIC(10,2)"),
            DataType::Decimal {
                precision: Some(10),
                scale: Some(2)
            }
        );
        assert_eq!(
            map("DECIMAL(5)"),
            DataType::Decimal {
                precision: Some(5),
                scale: Some(0)
            }
        );
        assert_eq!(
            map("NUMERIC"),
            DataType::Decimal {
                precision: None,
                scale: None
            }
        );
        assert_eq!(map("BLOB"), DataType::Bytes);
        assert_eq!(map("DATE"), DataType::Date);
        assert_eq!(map("DATETIME"), DataType::Timestamp);
        assert_eq!(map("TIMESTAMP"), DataType::Timestamp);
        assert_eq!(map("TIME"), DataType::Time);
        assert_eq!(map("UUID"), DataType::Uuid);
        assert_eq!(map("JSON"), DataType::Json);
        // Types of databases ported from SQL Server.
        let exact = DataType::Decimal {
            precision: None,
            scale: None,
        };
        assert_eq!(map("money"), exact);
        assert_eq!(map("SMALLMONEY"), exact);
        assert_eq!(map("image"), DataType::Bytes);
        assert_eq!(map("DATETIME2"), DataType::Timestamp);
        assert_eq!(map("smalldatetime"), DataType::Timestamp);
        // Affinity fallbacks.
        assert_eq!(map("BIGSERIALINT"), DataType::Int64);
        assert_eq!(map("LONGTEXT"), DataType::Text);
        assert_eq!(map("MEDIUMBLOB"), DataType::Bytes);
        assert_eq!(map("FLOATY"), DataType::Float64);
    }

    #[test]
    fn deferrable_references_in_declaration_order() {
        use ferry_core::Deferrable;
        let sql = "CREATE TABLE \"shop_item\" (\"id\" integer NOT NULL PRIMARY KEY, \
                   \"owner_id\" integer NOT NULL REFERENCES \"auth_user\" (\"id\") DEFERRABLE INITIALLY DEFERRED, \
                   \"kind_id\" integer REFERENCES kind(id) ON DELETE CASCADE, \
                   a int, b int, \
                   FOREIGN KEY (a, b) REFERENCES pair (x, y) DEFERRABLE, \
                   FOREIGN KEY (b) REFERENCES other (z) NOT DEFERRABLE INITIALLY DEFERRED)";
        assert_eq!(
            deferrable_references(sql),
            vec![
                Deferrable::Deferred,
                Deferrable::No,
                Deferrable::Immediate,
                Deferrable::No
            ]
        );
    }

    #[test]
    fn untyped_and_unknown_columns_look_at_values() {
        let mut facts = ColumnFacts::declared("");
        assert_eq!(map_type(SQLITE_RULES, &facts), Mapped::NeedsValues);
        facts.stored = Some(StoredClasses {
            integer: 5,
            ..Default::default()
        });
        assert_eq!(
            map_type(SQLITE_RULES, &facts),
            Mapped::Type(DataType::Int64, None)
        );
        let mut money = ColumnFacts::declared("WIDGET");
        money.stored = Some(StoredClasses {
            integer: 1,
            real: 2,
            ..Default::default()
        });
        match map_type(SQLITE_RULES, &money) {
            Mapped::Type(DataType::Float64, Some(w)) => {
                assert!(w.contains("unknown declared type"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_become_neutral() {
        assert_eq!(parse_default("'abc'"), DefaultValue::Text("abc".into()));
        assert_eq!(parse_default("0"), DefaultValue::Number("0".into()));
        assert_eq!(parse_default("-1.5"), DefaultValue::Number("-1.5".into()));
        assert_eq!(parse_default("NULL"), DefaultValue::Null);
        assert_eq!(
            parse_default("CURRENT_TIMESTAMP"),
            DefaultValue::CurrentTimestamp
        );
        assert_eq!(
            parse_default("datetime('now')"),
            DefaultValue::CurrentTimestamp
        );
        assert_eq!(
            parse_default("(datetime('now', 'utc'))"),
            DefaultValue::CurrentTimestamp
        );
        assert_eq!(
            parse_default("(strftime('%Y-%m-%d %H:%M:%f','now'))"),
            DefaultValue::CurrentTimestamp
        );
        assert_eq!(
            parse_default("(strftime('%s','now'))"),
            DefaultValue::UnixEpoch
        );
        assert_eq!(parse_default("date('now')"), DefaultValue::CurrentDate);
        assert_eq!(parse_default("TRUE"), DefaultValue::Bool(true));
        assert!(matches!(
            parse_default("datetime('now','localtime')"),
            DefaultValue::Expression { .. }
        ));
        assert!(matches!(
            parse_default("random()"),
            DefaultValue::Expression { .. }
        ));
    }

    #[test]
    fn checks_are_found_at_column_and_table_level() {
        let sql = r#"CREATE TABLE t (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            qty INT NOT NULL CHECK (qty >= 0),
            kind TEXT DEFAULT ('a') CONSTRAINT kind_ok CHECK(kind IN ('a','b')),
            price NUMERIC(10,2),
            CHECK (price > 0 OR price IS NULL)
        )"#;
        let checks = extract_checks(sql);
        assert_eq!(checks.len(), 3);
        assert_eq!(checks[0].expression, "qty >= 0");
        assert_eq!(checks[1].name.as_deref(), Some("kind_ok"));
        assert_eq!(checks[1].expression, "kind IN ('a', 'b')");
        assert_eq!(checks[2].expression, "price > 0 OR price IS NULL");
        assert!(has_autoincrement(sql));
        assert!(!has_autoincrement(
            "CREATE TABLE x (id INTEGER PRIMARY KEY)"
        ));
    }
}
