//! PostgreSQL as a source: its type rules, the neutral meaning of its column defaults, and the
//! statements a PostgreSQL target needs before the tables (schemas, extensions, enum types,
//! domains).
//!
//! Types are named as `format_type()` prints them (`character varying(64)`,
//! `timestamp(3) with time zone`, `integer[]`); [`pg_type_facts`] reduces such a name to a
//! base name and its arguments before the rules run.

pub mod deparse;

use crate::quote::pg_name as quote_ident;
use crate::rules::{map_type, ColumnFacts, DeclaredType, Guard, Mapped, Names, Target, TypeRule};
use crate::tokens::{matching_paren, tokenize, Token};
use ferry_core::{DataType, DefaultValue, Dialect, Schema, UserType, UserTypeKind};

const TEXT_LIKE: &[&str] = &[
    "TEXT", "CITEXT", "NAME", "BPCHAR", "\"CHAR\"", "XML", "INET", "CIDR", "MACADDR", "MACADDR8",
    "TSVECTOR", "TSQUERY", "LTREE", "HSTORE",
];

/// PostgreSQL's type rules, first match wins. Names are `format_type()`'s, upper-cased, with
/// arguments removed (`CHARACTER VARYING`, `TIMESTAMP WITH TIME ZONE`).
pub static POSTGRES_RULES: &[TypeRule] = &[
    TypeRule {
        names: Names::Exact(&["BOOLEAN"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Bool),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["SMALLINT"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int16),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["INTEGER"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int32),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["BIGINT", "OID", "XID8"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int64),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["REAL"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Float32),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["DOUBLE PRECISION"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Float64),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["NUMERIC"]),
        guard: Guard::Args(1),
        target: Target::DecimalFromArgs,
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["NUMERIC"]),
        guard: Guard::NoArgs,
        target: Target::Type(DataType::Decimal {
            precision: None,
            scale: None,
        }),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["MONEY"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Decimal {
            precision: Some(19),
            scale: Some(2),
        }),
        warning: Some("money becomes numeric(19,2); the currency symbol and locale are dropped"),
    },
    TypeRule {
        names: Names::Exact(&["CHARACTER VARYING"]),
        guard: Guard::Args(1),
        target: Target::VarCharFromArg,
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["CHARACTER VARYING"]),
        guard: Guard::NoArgs,
        target: Target::Type(DataType::Text),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["CHARACTER"]),
        guard: Guard::Args(1),
        target: Target::CharFromArg,
        warning: None,
    },
    TypeRule {
        names: Names::Exact(TEXT_LIKE),
        guard: Guard::Always,
        target: Target::Type(DataType::Text),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["BYTEA"]),
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
        names: Names::Exact(&["TIME WITHOUT TIME ZONE"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Time),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["TIME WITH TIME ZONE"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Time),
        warning: Some("time with time zone becomes a time of day in UTC; the offset is dropped"),
    },
    TypeRule {
        names: Names::Exact(&["TIMESTAMP WITHOUT TIME ZONE"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Timestamp),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["TIMESTAMP WITH TIME ZONE"]),
        guard: Guard::Always,
        target: Target::Type(DataType::TimestampTz),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["INTERVAL"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Interval),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["UUID"]),
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
        names: Names::Exact(&["BIT", "BIT VARYING"]),
        guard: Guard::Args(1),
        target: Target::BitFromArg,
        warning: None,
    },
    TypeRule {
        names: Names::Any,
        guard: Guard::Always,
        target: Target::Type(DataType::Text),
        warning: Some("no type rule for this PostgreSQL type; values are copied as text"),
    },
];

/// A `format_type()` name split for the rules: the element type's facts and how many array
/// dimensions wrap it (`integer[]` is `INTEGER` inside one array).
pub fn pg_type_facts(type_name: &str) -> (ColumnFacts, usize) {
    let mut text = type_name.trim();
    let mut dims = 0;
    while let Some(inner) = text.strip_suffix("[]") {
        text = inner.trim_end();
        dims += 1;
    }
    // `timestamp(3) with time zone`: the arguments sit in the middle of the name.
    let upper = text.to_ascii_uppercase();
    let mut base = String::new();
    let mut args = Vec::new();
    let mut rest = upper.as_str();
    while let Some(open) = rest.find('(') {
        base.push_str(&rest[..open]);
        let close = rest[open..].find(')').map_or(rest.len(), |c| open + c);
        args.extend(
            rest[open + 1..close]
                .split(',')
                .filter_map(|a| a.trim().parse::<u32>().ok()),
        );
        rest = rest.get(close + 1..).unwrap_or("");
    }
    base.push_str(rest);
    let mut base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    if base.starts_with("INTERVAL") {
        base = "INTERVAL".into(); // `interval year to month` and friends
    }
    // A schema-qualified name (`public.citext`) is matched by its last part.
    if let Some((_, last)) = base.rsplit_once('.') {
        if !last.is_empty() && !base.starts_with('"') {
            base = last.to_string();
        }
    }
    let facts = ColumnFacts {
        declared: DeclaredType {
            base,
            args,
            modifiers: String::new(),
        },
        rowid_alias: false,
        auto_increment: false,
        stored: None,
        only_zero_one: None,
    };
    (facts, dims)
}

/// The neutral type of a PostgreSQL type as `format_type()` names it, with the warning of the
/// rule that decided. Enum types are not named here; the introspection knows their labels.
pub fn map_pg_type(type_name: &str) -> (DataType, Option<&'static str>) {
    let (facts, dims) = pg_type_facts(type_name);
    let (mut t, warning) = match map_type(POSTGRES_RULES, &facts) {
        Mapped::Type(t, w) => (t, w),
        Mapped::NeedsValues => (DataType::Text, None),
    };
    if dims > 0 {
        t = DataType::Array(Box::new(t));
    }
    (t, warning)
}

/// Whether a default is a serial column's `nextval('seq'::regclass)`.
pub fn is_serial_default(text: &str) -> bool {
    text.trim_start()
        .to_ascii_lowercase()
        .starts_with("nextval(")
}

const NUMERIC_CASTS: &[&str] = &[
    "integer",
    "bigint",
    "smallint",
    "numeric",
    "real",
    "double precision",
    "money",
];

/// Strip one top-level `::type` cast, returning the expression and the cast's type text.
fn strip_cast(tokens: &[Token]) -> Option<(&[Token], String)> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Op(op) if op == "::" && depth == 0 => {
                // `'a'::text || 'b'::text` is no cast of the whole expression.
                let rest = &tokens[i + 1..];
                if rest.iter().any(|t| match t {
                    Token::Str(_) | Token::Blob(_) => true,
                    Token::Op(o) => !matches!(o.as_str(), "::" | "[" | "]" | "[]" | "."),
                    _ => false,
                }) {
                    return None;
                }
                let ty: Vec<String> = rest
                    .iter()
                    .map(|t| match t {
                        Token::Word(w) | Token::Quoted(w) => w.to_ascii_lowercase(),
                        Token::Number(n) => n.clone(),
                        Token::LParen => "(".into(),
                        Token::RParen => ")".into(),
                        Token::Comma => ",".into(),
                        Token::Op(o) => o.clone(),
                        Token::Str(s) | Token::Blob(s) => s.clone(),
                    })
                    .collect();
                return Some((&tokens[..i], ty.join(" ")));
            }
            _ => {}
        }
    }
    None
}

fn unwrap_parens(mut tokens: &[Token]) -> &[Token] {
    while tokens.first() == Some(&Token::LParen)
        && matching_paren(tokens, 0) == Some(tokens.len() - 1)
    {
        tokens = &tokens[1..tokens.len() - 1];
    }
    tokens
}

fn is_now(tokens: &[Token]) -> bool {
    match unwrap_parens(tokens) {
        [Token::Word(w)] => matches!(
            w.to_ascii_lowercase().as_str(),
            "current_timestamp" | "localtimestamp"
        ),
        [Token::Word(w), Token::LParen, Token::Number(_), Token::RParen] => matches!(
            w.to_ascii_lowercase().as_str(),
            "current_timestamp" | "localtimestamp"
        ),
        [Token::Word(w), Token::LParen, Token::RParen] => matches!(
            w.to_ascii_lowercase().as_str(),
            "now" | "transaction_timestamp" | "statement_timestamp" | "clock_timestamp"
        ),
        _ => false,
    }
}

/// `'now'::timestamp`, `('now'::text)::date`, `'today'::date`: PostgreSQL's special date/time
/// input strings cast to a date/time type mean the current date or time.
fn special_time_literal(tokens: &[Token], cast: Option<&str>) -> Option<DefaultValue> {
    let [Token::Str(s)] = tokens else {
        return None;
    };
    let ty = cast?.rsplit("::").next()?.trim();
    let word = s.trim().to_ascii_lowercase();
    let timestamp = ty.starts_with("timestamp");
    let date = ty == "date";
    let time = !timestamp && ty.starts_with("time");
    Some(match word.as_str() {
        "now" if timestamp => DefaultValue::CurrentTimestamp,
        "now" | "today" if date => DefaultValue::CurrentDate,
        "today" if timestamp => DefaultValue::CurrentDate,
        "now" if time => DefaultValue::CurrentTime,
        _ => return None,
    })
}

fn is_utc(t: &[Token]) -> bool {
    let t = unwrap_parens(t);
    let t = strip_cast(t).map_or(t, |(e, _)| e);
    matches!(t, [Token::Str(s)] if s.eq_ignore_ascii_case("utc"))
}

/// The neutral meaning of a column default as `pg_get_expr()` prints it (`now()`,
/// `CURRENT_TIMESTAMP`, `'x'::text`, `0`, `'-1'::integer`, `uuid_generate_v4()`,
/// `gen_random_uuid()`, `timezone('utc'::text, now())`, ...). Anything else stays an
/// [`DefaultValue::Expression`] in PostgreSQL's SQL. Serial defaults (`nextval(...)`) are not
/// defaults but auto-increment columns; see [`is_serial_default`].
pub fn parse_default(text: &str) -> DefaultValue {
    let raw = DefaultValue::Expression {
        dialect: Dialect::Postgres,
        sql: text.to_string(),
    };
    let Some(all) = tokenize(text) else {
        return raw;
    };
    let mut tokens: &[Token] = unwrap_parens(&all);
    let mut cast = None;
    while let Some((expr, ty)) = strip_cast(tokens) {
        cast.get_or_insert(ty);
        tokens = unwrap_parens(expr);
    }
    if is_now(tokens) {
        return DefaultValue::CurrentTimestamp;
    }
    if let Some(d) = special_time_literal(tokens, cast.as_deref()) {
        return d;
    }
    let numeric_cast = cast
        .as_deref()
        .is_some_and(|c| NUMERIC_CASTS.iter().any(|n| c.starts_with(n)));
    match tokens {
        [Token::Number(n)] => DefaultValue::Number(n.clone()),
        [Token::Op(m), Token::Number(n)] if m == "-" => DefaultValue::Number(format!("-{n}")),
        [Token::Str(s)] if numeric_cast => match ferry_core::value::canonical_decimal(s) {
            Some(_) => DefaultValue::Number(s.trim().to_string()),
            None => raw,
        },
        [Token::Str(s)] if cast.as_deref() == Some("boolean") => match s.as_str() {
            "t" | "true" => DefaultValue::Bool(true),
            "f" | "false" => DefaultValue::Bool(false),
            _ => raw,
        },
        [Token::Str(s)] => DefaultValue::Text(s.clone()),
        [Token::Word(w)] => match w.to_ascii_lowercase().as_str() {
            "null" => DefaultValue::Null,
            "true" => DefaultValue::Bool(true),
            "false" => DefaultValue::Bool(false),
            "current_date" => DefaultValue::CurrentDate,
            "current_time" | "localtime" => DefaultValue::CurrentTime,
            _ => raw,
        },
        [Token::Word(f), Token::LParen, Token::RParen]
            if matches!(
                f.to_ascii_lowercase().as_str(),
                "uuid_generate_v4" | "gen_random_uuid"
            ) =>
        {
            DefaultValue::GenerateUuid
        }
        // timezone('utc', now()) and now() AT TIME ZONE 'utc': the current time in UTC, which
        // is what the neutral CurrentTimestamp means for a column without a zone.
        [Token::Word(f), Token::LParen, args @ .., Token::RParen]
            if f.eq_ignore_ascii_case("timezone") =>
        {
            match args.iter().position(|t| *t == Token::Comma) {
                Some(c) if is_utc(&args[..c]) && is_now(&args[c + 1..]) => {
                    DefaultValue::CurrentTimestamp
                }
                _ => raw,
            }
        }
        _ => {
            let n = tokens.len();
            if n > 4
                && tokens[n - 4].is_word("AT")
                && tokens[n - 3].is_word("TIME")
                && tokens[n - 2].is_word("ZONE")
                && is_utc(&tokens[n - 1..])
                && is_now(&tokens[..n - 4])
            {
                return DefaultValue::CurrentTimestamp;
            }
            raw
        }
    }
}

/// Prepare a PostgreSQL schema for a target that is not PostgreSQL: every default expression
/// gets its neutral meaning, and columns of a domain take the domain's NOT NULL, default and
/// CHECKs (with `VALUE` replaced by the column), so the target renderer translates or reports
/// them instead of losing them with the domain. A PostgreSQL target keeps both verbatim.
pub fn neutral_defaults(schema: &mut Schema) {
    let types = schema.types.clone();
    for table in &mut schema.tables {
        let mut checks = Vec::new();
        for col in &mut table.columns {
            let domain = types.iter().find(|t| {
                let plain = col.source_type.trim_matches('"');
                t.name == plain
                    || t.schema.as_deref().is_some_and(|s| {
                        col.source_type == format!("{s}.{}", t.name)
                            || col.source_type
                                == format!("{}.{}", quote_ident(s), quote_ident(&t.name))
                    })
            });
            if let Some(UserType {
                kind:
                    UserTypeKind::Domain {
                        not_null,
                        default,
                        checks: domain_checks,
                        ..
                    },
                ..
            }) = domain
            {
                if *not_null {
                    col.nullable = false;
                }
                if col.default.is_none() {
                    col.default = default.as_ref().map(|sql| DefaultValue::Expression {
                        dialect: Dialect::Postgres,
                        sql: sql.clone(),
                    });
                }
                for c in domain_checks {
                    checks.push(ferry_core::Check {
                        name: c.name.as_ref().map(|n| format!("{}_{n}", col.name)),
                        expression: replace_value(&c.expression, &col.name),
                        dialect: Dialect::Postgres,
                    });
                }
            }
            if let Some(DefaultValue::Expression {
                dialect: Dialect::Postgres,
                sql,
            }) = &col.default
            {
                col.default = Some(parse_default(sql));
            }
        }
        table.checks.extend(checks);
    }
}

/// A domain CHECK's `VALUE` replaced by a (quoted) column name; text inside quotes is left
/// alone and nothing else is re-spaced.
fn replace_value(expression: &str, column: &str) -> String {
    let quoted = quote_ident(column);
    let mut out = String::with_capacity(expression.len() + quoted.len());
    let mut quote: Option<char> = None;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.eq_ignore_ascii_case("VALUE") {
            out.push_str(&quoted);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in expression.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c.is_alphanumeric() || c == '_' || c == '$' => word.push(c),
            None => {
                flush(&mut word, &mut out);
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests;
