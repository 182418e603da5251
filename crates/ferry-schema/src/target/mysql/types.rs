//! MySQL column types: neutral types rendered, what MySQL stores with a loss, and how much
//! of a text column a key can hold.

use super::{quote_literal, DEFAULT_KEY_VARCHAR, MAX_KEY_BYTES, UTF8MB4};
use crate::rules::DeclaredType;
use crate::target::Ctx;
use ferry_core::{Column, DataType, Dialect, Table};
use std::collections::HashSet;

/// The MySQL type of a neutral type, for columns that come from another dialect.
pub fn type_name(t: &DataType) -> String {
    match t {
        DataType::Bool => "tinyint(1)".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal {
            precision: Some(p),
            scale,
        } => {
            let p = (*p).clamp(1, 65);
            let s = scale.unwrap_or(0).min(30).min(p);
            format!("decimal({p},{s})")
        }
        DataType::Decimal {
            precision: None, ..
        } => "decimal(65,30)".into(),
        DataType::Text => "longtext".into(),
        DataType::VarChar(n) => format!("varchar({n})"),
        DataType::Char(n) if *n <= 255 => format!("char({n})"),
        DataType::Char(n) => format!("varchar({n})"),
        DataType::Bytes => "longblob".into(),
        DataType::Date => "date".into(),
        DataType::Time => "time(6)".into(),
        DataType::Timestamp | DataType::TimestampTz => "datetime(6)".into(),
        DataType::Interval => "varchar(64)".into(),
        DataType::Uuid => "char(36)".into(),
        DataType::Json | DataType::Array(_) => "json".into(),
        DataType::Enum { labels, .. } => format!("enum({})", label_list(labels)),
        DataType::Set(labels) => format!("set({})", label_list(labels)),
        DataType::Bit(n) if *n <= 64 => format!("bit({n})"),
        DataType::Bit(_) => "varbinary(1024)".into(),
    }
}

fn label_list(labels: &[String]) -> String {
    labels
        .iter()
        .map(|l| quote_literal(l))
        .collect::<Vec<_>>()
        .join(",")
}

/// Why MySQL's ENUM cannot hold these labels as they are, if it cannot: it keeps labels in
/// a 3-byte character set (a 4-byte character becomes `?`), strips their trailing spaces,
/// and refuses two that differ only in case.
fn enum_unfit(labels: &[String]) -> Option<&'static str> {
    if labels
        .iter()
        .any(|l| l.chars().any(|c| u32::from(c) > 0xFFFF))
    {
        return Some("a label holds a character beyond the Basic Multilingual Plane, which MySQL's ENUM cannot store");
    }
    if labels.iter().any(|l| l.ends_with(' ')) {
        return Some("a label ends with a space, which MySQL's ENUM strips");
    }
    let mut seen = HashSet::new();
    if !labels.iter().all(|l| seen.insert(l.to_lowercase())) {
        return Some("two labels differ only in case, which MySQL's ENUM refuses");
    }
    None
}

/// A comment as MySQL keeps it: in a 3-byte character set, so a character beyond the Basic
/// Multilingual Plane becomes `?` (said in a warning) instead of being mangled silently.
pub(super) fn comment_text(ctx: &mut Ctx, src: &Table, column: Option<&str>, c: &str) -> String {
    if !c.chars().any(|c| u32::from(c) > 0xFFFF) {
        return c.to_string();
    }
    ctx.warn(
        src,
        column,
        "the comment's characters beyond the Basic Multilingual Plane become `?` (MySQL keeps comments in utf8mb3)",
    );
    c.chars()
        .map(|c| if u32::from(c) > 0xFFFF { '?' } else { c })
        .collect()
}

/// Warnings for neutral types that MySQL stores with a loss.
fn type_warning(t: &DataType) -> Option<String> {
    Some(match t {
        DataType::Decimal {
            precision: None, ..
        } => {
            "numeric without precision becomes decimal(65,30); values with more digits are refused"
                .into()
        }
        DataType::Decimal {
            precision: Some(p),
            scale,
        } if *p > 65 || scale.unwrap_or(0) > 30 => {
            format!(
                "numeric({p}) exceeds MySQL's decimal(65,30); it becomes {}",
                type_name(t)
            )
        }
        DataType::TimestampTz => "timestamptz becomes datetime(6) holding UTC".into(),
        DataType::Interval => "interval becomes varchar(64) text".into(),
        DataType::Array(_) => "array becomes a JSON array".into(),
        DataType::Bit(n) if *n > 64 => {
            format!("bit({n}) exceeds MySQL's bit(64); it becomes varbinary")
        }
        _ => return None,
    })
}

/// Whether values of this neutral type are text or bytes that an index needs a length for.
fn needs_key_length(t: &DataType) -> bool {
    matches!(t, DataType::Text | DataType::Bytes | DataType::Json)
}

/// Columns (target names) a primary or unique key needs whole.
pub(super) fn whole_key_columns(tgt: &Table) -> HashSet<String> {
    let mut out: HashSet<String> = tgt.primary_key.iter().cloned().collect();
    for idx in tgt.indexes.iter().filter(|i| i.unique) {
        out.extend(
            idx.parts
                .iter()
                .filter(|p| p.prefix.is_none())
                .filter_map(|p| p.column.clone()),
        );
    }
    out
}

/// The method of an index MySQL has no counterpart for (PostgreSQL's GIN, GiST and SP-GiST,
/// which serve arrays, JSON, full text, ranges and geometry): a btree on the same columns
/// would answer none of its queries and would force text columns into short varchars, so
/// such an index is left out, with a warning.
pub fn no_mysql_counterpart(idx: &ferry_core::Index) -> Option<&'static str> {
    let method = idx.method.as_deref()?;
    ["GIN", "GIST", "SPGIST"]
        .into_iter()
        .find(|m| method.eq_ignore_ascii_case(m))
}

/// The columns of a schema that a MySQL key needs whole: text and blob columns of the
/// primary key or a unique key. The engine measures the longest stored value of the text
/// ones and passes `varchar(n)` through the `[columns]` overrides when it fits
/// [`key_char_limit`]; a text column left as text gets an index prefix (a warning says so),
/// a blob key column `varbinary(255)`. A plain index needs no whole value: its text and
/// blob columns keep their type (no length that later, longer values would break) and the
/// index covers a prefix of them.
pub fn columns_needing_length(table: &Table) -> Vec<String> {
    let mut used: Vec<String> = table.primary_key.clone();
    for idx in table
        .indexes
        .iter()
        .filter(|i| i.unique && no_mysql_counterpart(i).is_none())
    {
        used.extend(idx.parts.iter().filter_map(|p| p.column.clone()));
    }
    let mut out = Vec::new();
    for name in used {
        if let Some(c) = table.column(&name) {
            if needs_key_length(&c.data_type) && !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The most characters of `column` that every index of `table` using it (primary key
/// included) can hold whole in utf8mb4: an index part of a longer `varchar` gets a prefix.
/// `None` when no index uses the column.
pub fn key_char_limit(table: &Table, column: &str) -> Option<u32> {
    let pk = (!table.primary_key.is_empty()).then_some(table.primary_key.len());
    let parts = table.indexes.iter().filter_map(|i| {
        if no_mysql_counterpart(i).is_some() {
            return None;
        }
        i.parts
            .iter()
            .any(|p| p.column.as_deref() == Some(column) && p.prefix.is_none())
            .then_some(i.parts.len())
    });
    pk.filter(|_| table.primary_key.iter().any(|c| c == column))
        .into_iter()
        .chain(parts)
        .map(|n| MAX_KEY_BYTES / UTF8MB4 / (n.max(1) as u32))
        .min()
}

/// The fractional-seconds precision of a declared `datetime(n)`/`timestamp(n)`/`time(n)`.
pub(super) fn fsp(ty: &str) -> u32 {
    DeclaredType::parse(ty).args.first().copied().unwrap_or(0)
}

/// The declared MySQL type of a target column.
pub(super) fn column_type(
    ctx: &mut Ctx,
    src: &Table,
    scol: &Column,
    tcol: &Column,
    key_cols: &HashSet<String>,
    budget: &mut u32,
) -> String {
    if ctx.source == Dialect::Mysql
        && !scol.source_type.is_empty()
        && scol.data_type == tcol.data_type
    {
        return scol.source_type.clone();
    }
    // A text key column arrives here as text only when its longest value is too long for a
    // whole-column key (the engine sized the others as varchar): it stays text and the key
    // covers a prefix (key_parts warns). Blobs are not measured.
    if tcol.data_type == DataType::Bytes && key_cols.contains(&tcol.name) {
        ctx.warn(
            src,
            Some(&scol.name),
            format!(
                "a key needs this column whole, so it becomes varbinary({DEFAULT_KEY_VARCHAR}); longer values are refused — set a length in the config's [columns] to change it"
            ),
        );
        return format!("varbinary({DEFAULT_KEY_VARCHAR})");
    }
    if let Some(w) = type_warning(&tcol.data_type) {
        ctx.warn(src, Some(&scol.name), w);
    }
    if let DataType::Enum { labels, .. } = &tcol.data_type {
        if let Some(why) = enum_unfit(labels) {
            let n = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
            ctx.warn(
                src,
                Some(&scol.name),
                format!("{why}, so the enum becomes varchar({})", n.max(1)),
            );
            return format!("varchar({})", n.max(1));
        }
    }
    match tcol.data_type {
        DataType::VarChar(n) => {
            let bytes = n.saturating_mul(UTF8MB4);
            if n > 16_383 || bytes > *budget {
                ctx.warn(
                    src,
                    Some(&scol.name),
                    format!("varchar({n}) does not fit MySQL's row size; it becomes text"),
                );
                return "mediumtext".into();
            }
            *budget -= bytes;
            format!("varchar({n})")
        }
        _ => type_name(&tcol.data_type),
    }
}
