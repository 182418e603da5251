//! MySQL and MariaDB as a source: the type rules (MySQL -> neutral, chosen so that a
//! PostgreSQL target gets the types of issue 3), default expressions as
//! `information_schema.COLUMNS` reports them, and ENUM/SET label lists.

use crate::rules::{map_type, ColumnFacts, Guard, Mapped, Names, Target, TypeRule};
use ferry_core::{Column, DataType, DefaultValue, Dialect, Schema, Table};

const SPATIAL: &[&str] = &[
    "GEOMETRY",
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
    "GEOMCOLLECTION",
];

/// Warning for a `tinyint(1)` column that holds values other than 0 and 1.
pub const TINYINT_NOT_BOOLEAN: &str =
    "tinyint(1) holds values other than 0, 1 and NULL; it becomes smallint, not boolean";

/// Warning for spatial columns.
pub const SPATIAL_AS_BYTES: &str = "spatial type becomes bytes holding WKB (the SRID is not kept)";

/// MySQL's type rules, first match wins. Unsigned types widen to the next signed type that
/// holds their maximum; `tinyint(1)` becomes boolean only when the data holds nothing but 0,
/// 1 and NULL. ENUM and SET get their labels from [`enum_labels`] after matching.
pub static MYSQL_RULES: &[TypeRule] = &[
    TypeRule {
        names: Names::Exact(&["TINYINT", "BOOL", "BOOLEAN"]),
        guard: Guard::OnlyZeroOne,
        target: Target::Type(DataType::Bool),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["TINYINT"]),
        guard: Guard::FirstArg(1),
        target: Target::Type(DataType::Int16),
        warning: Some(TINYINT_NOT_BOOLEAN),
    },
    TypeRule {
        names: Names::Exact(&["BOOL", "BOOLEAN"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int16),
        warning: Some(TINYINT_NOT_BOOLEAN),
    },
    TypeRule {
        names: Names::Exact(&["TINYINT"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int16),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["SMALLINT"]),
        guard: Guard::Unsigned,
        target: Target::Type(DataType::Int32),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["SMALLINT"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int16),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["MEDIUMINT"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int32),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["INT", "INTEGER"]),
        guard: Guard::Unsigned,
        target: Target::Type(DataType::Int64),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["INT", "INTEGER"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int32),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["BIGINT"]),
        guard: Guard::Unsigned,
        target: Target::Type(DataType::Decimal {
            precision: Some(20),
            scale: Some(0),
        }),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["BIGINT"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int64),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["YEAR"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Int16),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["BIT"]),
        guard: Guard::FirstArg(1),
        target: Target::Type(DataType::Bool),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["BIT"]),
        guard: Guard::Always,
        target: Target::BitFromArg,
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["FLOAT"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Float32),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["DOUBLE", "DOUBLE PRECISION", "REAL"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Float64),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["DECIMAL", "NUMERIC", "DEC", "FIXED"]),
        guard: Guard::Args(1),
        target: Target::DecimalFromArgs,
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["DECIMAL", "NUMERIC", "DEC", "FIXED"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Decimal {
            precision: Some(10),
            scale: Some(0),
        }),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["CHAR", "NCHAR"]),
        guard: Guard::Args(1),
        target: Target::CharFromArg,
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["VARCHAR", "NVARCHAR"]),
        guard: Guard::Args(1),
        target: Target::VarCharFromArg,
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["CHAR", "NCHAR"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Char(1)),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&[
            "TINYTEXT",
            "TEXT",
            "MEDIUMTEXT",
            "LONGTEXT",
            "LONG",
            "LONG VARCHAR",
        ]),
        guard: Guard::Always,
        target: Target::Type(DataType::Text),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&[
            "BINARY",
            "VARBINARY",
            "TINYBLOB",
            "BLOB",
            "MEDIUMBLOB",
            "LONGBLOB",
            "LONG VARBINARY",
        ]),
        guard: Guard::Always,
        target: Target::Type(DataType::Bytes),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["JSON"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Json),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["DATE"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Date),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["DATETIME"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Timestamp),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["TIMESTAMP"]),
        guard: Guard::Always,
        target: Target::Type(DataType::TimestampTz),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["TIME"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Time),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["UUID"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Uuid),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["INET4", "INET6"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Text),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["ENUM"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Enum {
            name: String::new(),
            labels: Vec::new(),
        }),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(&["SET"]),
        guard: Guard::Always,
        target: Target::Type(DataType::Set(Vec::new())),
        warning: None,
    },
    TypeRule {
        names: Names::Exact(SPATIAL),
        guard: Guard::Always,
        target: Target::Type(DataType::Bytes),
        warning: Some(SPATIAL_AS_BYTES),
    },
    TypeRule {
        names: Names::Any,
        guard: Guard::Always,
        target: Target::Type(DataType::Text),
        warning: Some("unknown MySQL type; the column becomes text"),
    },
];

/// Whether a MySQL column type is a spatial type.
pub fn is_spatial(column_type: &str) -> bool {
    let d = crate::rules::DeclaredType::parse(column_type);
    SPATIAL.contains(&d.base.as_str())
}

/// Whether a declared MySQL type is `tinyint(1)` / `bool`, the columns whose data decides
/// between boolean and smallint.
pub fn is_tinyint1(column_type: &str) -> bool {
    let d = crate::rules::DeclaredType::parse(column_type);
    (d.base == "TINYINT" && d.args.first() == Some(&1)) || d.base == "BOOL" || d.base == "BOOLEAN"
}

/// Map one MySQL column to its neutral type. `column_type` is `information_schema.COLUMNS.
/// COLUMN_TYPE` (`int(10) unsigned`, `enum('a','b')`); `only_zero_one` says, for
/// `tinyint(1)` columns, whether the data holds only 0, 1 and NULL. ENUM types are named
/// `{table}_{column}`. Returns the type and the rule's warning.
pub fn map_column(
    table: &str,
    column: &str,
    column_type: &str,
    only_zero_one: Option<bool>,
) -> (DataType, Option<&'static str>) {
    let mut facts = ColumnFacts::declared(column_type);
    facts.only_zero_one = only_zero_one;
    let (ty, warning) = match map_type(MYSQL_RULES, &facts) {
        Mapped::Type(t, w) => (t, w),
        Mapped::NeedsValues => (DataType::Text, None),
    };
    let ty = match ty {
        DataType::Enum { .. } => DataType::Enum {
            name: format!("{table}_{column}"),
            labels: enum_labels(column_type),
        },
        DataType::Set(_) => DataType::Set(enum_labels(column_type)),
        other => other,
    };
    (ty, warning)
}

/// The labels of `enum('a','b''c')` or `set(...)`, unescaped, in declaration order.
pub fn enum_labels(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return Vec::new();
    };
    let bytes = column_type.as_bytes();
    let mut labels = Vec::new();
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => {
                let mut label = Vec::new();
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\'' if bytes.get(i + 1) == Some(&b'\'') => {
                            label.push(b'\'');
                            i += 2;
                        }
                        b'\'' => break,
                        b'\\' if i + 1 < bytes.len() => {
                            // MySQL prints NUL, LF, CR and Ctrl-Z in labels as escapes.
                            label.push(match bytes[i + 1] {
                                b'0' => 0,
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 8,
                                b'Z' => 26,
                                other => other,
                            });
                            i += 2;
                        }
                        b => {
                            label.push(b);
                            i += 1;
                        }
                    }
                }
                labels.push(String::from_utf8_lossy(&label).into_owned());
                i += 1;
            }
            b')' => break,
            _ => i += 1,
        }
    }
    labels
}

/// The neutral meaning of `information_schema.COLUMNS.COLUMN_DEFAULT`. MariaDB (10.2.7+)
/// reports defaults as SQL (`'abc'`, `NULL`, `current_timestamp()`, `1`); MySQL reports the
/// bare literal (`abc`) and marks expressions with `DEFAULT_GENERATED` in `EXTRA`.
/// `default` is `None` when the column has no default (SQL NULL in the catalog).
pub fn parse_default(
    default: Option<&str>,
    mariadb: bool,
    extra: &str,
    data_type: &DataType,
) -> Option<DefaultValue> {
    let text = default?;
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    let is_now = |s: &str| {
        let s = s.trim_end_matches("()");
        let base = s.split('(').next().unwrap_or(s);
        matches!(
            base,
            "current_timestamp" | "now" | "localtimestamp" | "localtime"
        )
    };
    if is_now(&lower) {
        return Some(DefaultValue::CurrentTimestamp);
    }
    if lower == "curdate()" || lower == "current_date" || lower == "current_date()" {
        return Some(DefaultValue::CurrentDate);
    }
    if lower == "uuid()" {
        return Some(DefaultValue::GenerateUuid);
    }
    let expression = || DefaultValue::Expression {
        dialect: Dialect::Mysql,
        sql: trimmed.to_string(),
    };
    if mariadb {
        if lower == "null" {
            return Some(DefaultValue::Null);
        }
        if let Some(inner) = trimmed
            .strip_prefix('\'')
            .and_then(|s| s.strip_suffix('\''))
        {
            return Some(literal(&unescape_mariadb(inner), data_type));
        }
        if ferry_core::value::canonical_decimal(trimmed).is_some() {
            return Some(DefaultValue::Number(trimmed.to_string()));
        }
        if trimmed.starts_with("b'") {
            return Some(bit_literal(trimmed).unwrap_or_else(expression));
        }
        return Some(expression());
    }
    if extra.to_ascii_uppercase().contains("DEFAULT_GENERATED") {
        return Some(expression());
    }
    if trimmed.starts_with("b'") {
        if let Some(v) = bit_literal(trimmed) {
            return Some(v);
        }
    }
    Some(literal(text, data_type))
}

fn bit_literal(text: &str) -> Option<DefaultValue> {
    let digits = text.strip_prefix("b'")?.strip_suffix('\'')?;
    let v = u64::from_str_radix(digits, 2).ok()?;
    Some(DefaultValue::Number(v.to_string()))
}

/// A literal default: numbers stay numbers for numeric columns, everything else is text.
fn literal(text: &str, data_type: &DataType) -> DefaultValue {
    let numeric = matches!(
        data_type,
        DataType::Bool
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal { .. }
    );
    if numeric && ferry_core::value::canonical_decimal(text).is_some() {
        DefaultValue::Number(text.trim().to_string())
    } else {
        DefaultValue::Text(text.to_string())
    }
}

/// Undo MariaDB's quoting inside a string default (`''` and backslash escapes).
fn unescape_mariadb(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

/// Whether `EXTRA` marks a column `ON UPDATE CURRENT_TIMESTAMP`.
pub fn on_update_now(extra: &str) -> bool {
    extra
        .to_ascii_lowercase()
        .contains("on update current_timestamp")
}

/// Warnings for a MySQL source table whose types cannot be carried to another dialect
/// exactly (the rules' own warnings, re-derived from the declared types).
pub fn lossy_columns(table: &Table) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in &table.columns {
        if is_tinyint1(&c.source_type) && c.data_type != DataType::Bool {
            out.push((c.name.clone(), TINYINT_NOT_BOOLEAN.to_string()));
        }
        if is_spatial(&c.source_type) {
            out.push((c.name.clone(), SPATIAL_AS_BYTES.to_string()));
        }
        if c.source_type.to_ascii_lowercase().contains("zerofill") {
            out.push((
                c.name.clone(),
                "ZEROFILL display padding is not kept".to_string(),
            ));
        }
    }
    out
}

/// What changes in a MySQL schema bound for another database, as (table, column, warning):
/// [`nullable_zero_date_columns`] and [`identity_from_unsigned_bigint`].
pub fn for_other_targets(schema: &mut Schema) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for table in &mut schema.tables {
        let name = table.display_name();
        for (column, message) in nullable_zero_date_columns(table) {
            out.push((name.clone(), column, message));
        }
    }
    out.extend(identity_from_unsigned_bigint(schema));
    out
}

fn is_unsigned_bigint(c: &Column) -> bool {
    let t = c.source_type.to_ascii_lowercase();
    t.starts_with("bigint")
        && t.contains("unsigned")
        && matches!(c.data_type, DataType::Decimal { .. })
}

/// A `bigint unsigned AUTO_INCREMENT` column (every WordPress table's key) widens to
/// `numeric(20,0)` by the type rules, which can be no identity: it becomes a signed
/// `bigint`, so the target generates its keys, and so do the `bigint unsigned` columns of
/// foreign keys that reference it (PostgreSQL joins no numeric key to a bigint one). A
/// value above 9223372036854775807 is then refused by name, which no counter reaches in
/// practice.
pub fn identity_from_unsigned_bigint(schema: &mut Schema) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut identities = Vec::new();
    for table in &mut schema.tables {
        let shown = table.display_name();
        for c in &mut table.columns {
            if c.auto_increment && is_unsigned_bigint(c) {
                c.data_type = DataType::Int64;
                identities.push((table.name.clone(), c.name.clone()));
                out.push((
                    shown.clone(),
                    c.name.clone(),
                    "bigint unsigned AUTO_INCREMENT becomes a bigint identity; a value above 9223372036854775807 would be refused".to_string(),
                ));
            }
        }
    }
    for table in &mut schema.tables {
        let mut follow = Vec::new();
        for fk in &table.foreign_keys {
            for (col, parent) in fk.columns.iter().zip(&fk.ref_columns) {
                if identities.contains(&(fk.ref_table.clone(), parent.clone())) {
                    follow.push((col.clone(), format!("{}.{parent}", fk.ref_table)));
                }
            }
        }
        for (col, parent) in follow {
            if let Some(c) = table.columns.iter_mut().find(|c| c.name == col) {
                if is_unsigned_bigint(c) {
                    c.data_type = DataType::Int64;
                    out.push((
                        table.display_name(),
                        col,
                        format!("bigint unsigned becomes bigint, as the key it references ({parent}) does; a value above 9223372036854775807 would be refused"),
                    ));
                }
            }
        }
    }
    out
}

/// For a target other than MySQL, which has no zero dates: a NOT NULL date or datetime
/// column whose default is a zero date (`post_date datetime NOT NULL DEFAULT '0000-00-00
/// 00:00:00'`, WordPress and many older schemas) is where zero dates are stored on purpose.
/// Such a column becomes nullable, so its zero dates arrive as NULL as they do in nullable
/// columns, instead of stopping the run (pgloader's default cast does the same). A key
/// column stays NOT NULL, and a zero date in it stays an error naming the row. Returns a
/// warning per column changed.
pub fn nullable_zero_date_columns(table: &mut Table) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let key = table.primary_key.clone();
    for c in &mut table.columns {
        let temporal = matches!(
            c.data_type,
            DataType::Date | DataType::Timestamp | DataType::TimestampTz
        );
        let zero_default = matches!(&c.default, Some(DefaultValue::Text(s)) if crate::default_fit::is_zero_date(s));
        if temporal && zero_default && !c.nullable && !key.contains(&c.name) {
            c.nullable = true;
            out.push((
                c.name.clone(),
                "NOT NULL with a zero-date default: the column is nullable on the target and its zero dates arrive as NULL".to_string(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
