//! MySQL (and MariaDB, Aurora MySQL) as a target: types, defaults, and DDL by load phase.
//!
//! - From another MySQL server every column keeps its declared type, character set and
//!   collation verbatim (`Column.source_type`, `charset`, `collation`).
//! - From other dialects every neutral type has a MySQL rendering; `utf8mb4` throughout so
//!   4-byte characters survive.
//! - Tables are created with their primary key (InnoDB clusters rows on it, so adding it
//!   later would rebuild the table, and AUTO_INCREMENT needs a key); secondary indexes,
//!   unique keys and CHECKs come after the load in one `ALTER TABLE`, foreign keys last.

use crate::default_fit;
use crate::expr::{is_boolean_domain_check, translate_expression};
use crate::ident::{derived_name, Namer};
use crate::index_name;
use crate::rules::DeclaredType;
use crate::{Ctx, ForeignKeyDdl, TableDdl};
use ferry_core::{Check, Column, DataType, DefaultValue, Dialect, Table};
use std::collections::HashSet;

/// Longest index key InnoDB allows (DYNAMIC row format), in bytes.
pub const MAX_KEY_BYTES: u32 = 3072;
/// Bytes per character in utf8mb4.
pub const UTF8MB4: u32 = 4;
/// `varchar(n)` given to a text column that a primary or unique key needs whole, when the
/// config gives no length.
pub const DEFAULT_KEY_VARCHAR: u32 = 255;
/// Most bytes of `varchar` columns one row may declare before further long text columns
/// become `text` (MySQL's row size limit is 65,535 bytes).
const ROW_VARCHAR_BUDGET: u32 = 60_000;

/// How a foreign-key check statement starts (the MySQL sink recognises its error 1172 by
/// it). No name goes into the comment: the caller names the key.
pub const VALIDATE_FK_MARK: &str = "SELECT /* ferry:validate-fk */";

/// Quote an identifier with backticks (always: MySQL's reserved words change by version);
/// see [`crate::quote`].
pub fn quote_ident(name: &str) -> String {
    crate::quote::mysql_ident(name)
}

/// A MySQL string literal for ferry's sessions (backslash escapes on); see [`crate::quote`].
pub fn quote_literal(s: &str) -> String {
    crate::quote::mysql_literal(s)
}

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
fn comment_text(ctx: &mut Ctx, src: &Table, column: Option<&str>, c: &str) -> String {
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
fn whole_key_columns(tgt: &Table) -> HashSet<String> {
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

/// The columns of a schema that MySQL can only index with a length: text and blob columns
/// used by a primary key, unique key or index. The engine measures the longest stored value
/// of the text ones and passes `varchar(n)` through the `[columns]` overrides when it fits
/// [`key_char_limit`]; a text column left as text gets an index prefix (a warning says so
/// for keys), a blob key column `varbinary(255)`.
pub fn columns_needing_length(table: &Table) -> Vec<String> {
    let mut used: Vec<String> = table.primary_key.clone();
    for idx in &table.indexes {
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
fn fsp(ty: &str) -> u32 {
    DeclaredType::parse(ty).args.first().copied().unwrap_or(0)
}

/// The MySQL `DEFAULT` clause of `col` (declared as `ty`), or `None` with a warning when
/// the default does not fit the column: MySQL refuses such a `CREATE TABLE` (error 1067).
fn render_default(
    ctx: &mut Ctx,
    src: &Table,
    col: &Column,
    ty: &str,
    default: &DefaultValue,
) -> Option<String> {
    let d = DeclaredType::parse(ty);
    let base = d.base.as_str();
    let same = ctx.source == Dialect::Mysql;
    let is_time = matches!(base, "DATETIME" | "TIMESTAMP");
    let is_blobby = matches!(
        base,
        "TINYTEXT"
            | "TEXT"
            | "MEDIUMTEXT"
            | "LONGTEXT"
            | "TINYBLOB"
            | "BLOB"
            | "MEDIUMBLOB"
            | "LONGBLOB"
            | "JSON"
    ) || matches!(
        col.data_type,
        DataType::Text | DataType::Json | DataType::Bytes
    );
    let is_temporal = is_time
        || matches!(base, "DATE" | "TIME")
        || matches!(
            col.data_type,
            DataType::Date | DataType::Time | DataType::Timestamp | DataType::TimestampTz
        );
    let is_texty = col.data_type.is_text_like() || col.data_type == DataType::Uuid;
    let is_num = default_fit::is_numeric(&col.data_type);
    let wrap = |s: String| if is_blobby { format!("({s})") } else { s };
    let now = |p: u32| {
        if p > 0 {
            format!("CURRENT_TIMESTAMP({p})")
        } else {
            "CURRENT_TIMESTAMP".to_string()
        }
    };
    let drop = |ctx: &mut Ctx, why: &str| {
        let shown = default_fit::shown(default);
        unsupported(ctx, src, col, &format!("default {shown} {why}"))
    };
    Some(match default {
        DefaultValue::Null => {
            return if col.nullable {
                Some("NULL".into())
            } else {
                None
            }
        }
        DefaultValue::Bool(b) if is_num => u8::from(*b).to_string(),
        DefaultValue::Bool(b) if is_texty || is_blobby => {
            wrap(quote_literal(if *b { "1" } else { "0" }))
        }
        DefaultValue::Number(n) if base == "BIT" => match n.parse::<u64>() {
            Ok(v) if d.args.first().is_none_or(|w| *w >= 64 || v >> w == 0) => {
                format!("b'{v:b}'")
            }
            _ => return drop(ctx, "does not fit the bit column"),
        },
        // Another MySQL server accepted these for the same declared type.
        DefaultValue::Number(n) | DefaultValue::Text(n) if same && is_num => {
            match ferry_core::value::canonical_decimal(n) {
                Some(v) => v,
                None => return drop(ctx, "is not a number"),
            }
        }
        DefaultValue::Number(n) | DefaultValue::Text(n) if same => wrap(quote_literal(n)),
        DefaultValue::Number(n) if is_num => match default_fit::number(n, &col.data_type) {
            Ok(n) => n,
            Err(why) => return drop(ctx, &why),
        },
        DefaultValue::Number(n) if (is_texty || is_blobby) && !is_temporal => {
            if !fits_length(col, n) {
                return drop(ctx, &format!("is longer than {ty}"));
            }
            wrap(quote_literal(n))
        }
        DefaultValue::Text(s) if col.data_type == DataType::Bool => {
            match default_fit::boolean_text(s) {
                Some(b) => u8::from(b).to_string(),
                None => return drop(ctx, "is not a boolean"),
            }
        }
        DefaultValue::Text(s) if is_num => match default_fit::number(s, &col.data_type) {
            Ok(n) => n,
            Err(why) => return drop(ctx, &why),
        },
        DefaultValue::Text(s) if is_temporal => {
            if default_fit::is_zero_date(s) {
                return drop(ctx, "is a zero date, which only MySQL stores");
            }
            match default_fit::temporal(s, &col.data_type) {
                Ok(v) => quote_literal(&v),
                Err(why) => return drop(ctx, &why),
            }
        }
        DefaultValue::Text(s) => match &col.data_type {
            DataType::Enum { labels, .. } if !labels.contains(s) => {
                return drop(ctx, "is not one of the enum's values")
            }
            DataType::Set(labels) => match default_fit::set_members(s, labels) {
                Ok(_) => quote_literal(s),
                Err(why) => return drop(ctx, &why),
            },
            DataType::Uuid if ferry_core::value::parse_uuid(s).is_none() => {
                return drop(ctx, "is not a UUID")
            }
            DataType::Bit(_) | DataType::Array(_) | DataType::Interval => {
                return drop(ctx, &format!("does not fit a {ty} column"))
            }
            _ if !fits_length(col, s) => return drop(ctx, &format!("is longer than {ty}")),
            _ => wrap(quote_literal(s)),
        },
        DefaultValue::CurrentTimestamp if is_time => now(fsp(ty)),
        DefaultValue::CurrentTimestamp | DefaultValue::CurrentDate if base == "DATE" => {
            "(CURRENT_DATE)".into()
        }
        DefaultValue::CurrentDate if is_time => "(CURRENT_DATE)".into(),
        DefaultValue::CurrentTime if base == "TIME" => "(CURRENT_TIME)".into(),
        // Text columns get the time as SQLite and PostgreSQL targets write it (UTC).
        DefaultValue::CurrentTimestamp if is_texty || is_blobby => {
            "(DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:%i:%s'))".into()
        }
        DefaultValue::CurrentDate if is_texty || is_blobby => {
            "(DATE_FORMAT(UTC_DATE(), '%Y-%m-%d'))".into()
        }
        DefaultValue::CurrentTime if is_texty || is_blobby => {
            "(DATE_FORMAT(UTC_TIME(), '%H:%i:%s'))".into()
        }
        DefaultValue::UnixEpoch if is_num => "(UNIX_TIMESTAMP())".into(),
        DefaultValue::GenerateUuid if is_texty || is_blobby => "(UUID())".into(),
        DefaultValue::Expression {
            dialect: Dialect::Mysql,
            sql,
        } if same => format!("({sql})"),
        DefaultValue::Expression { sql, dialect } => {
            match default_fit::portable_expression(sql, *dialect, Dialect::Mysql, &col.data_type) {
                Some(expr) => format!("({expr})"),
                None => return drop(ctx, "has no MySQL equivalent"),
            }
        }
        _ => return drop(ctx, &format!("does not fit a {ty} column")),
    })
}

/// Whether text `s` fits the declared length of a `varchar(n)`/`char(n)` column.
fn fits_length(col: &Column, s: &str) -> bool {
    match col.data_type {
        DataType::VarChar(n) | DataType::Char(n) => s.chars().count() <= n as usize,
        _ => true,
    }
}

fn unsupported(ctx: &mut Ctx, src: &Table, col: &Column, why: &str) -> Option<String> {
    ctx.warn(
        src,
        Some(&col.name),
        format!("{why}; the default was not carried over"),
    );
    None
}

/// The declared MySQL type of a target column.
fn column_type(
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

fn column_def(
    ctx: &mut Ctx,
    src: &Table,
    scol: &Column,
    tcol: &Column,
    key_cols: &HashSet<String>,
    budget: &mut u32,
) -> String {
    let ty = column_type(ctx, src, scol, tcol, key_cols, budget);
    let mut def = format!("{} {ty}", quote_ident(&tcol.name));
    let same = ctx.source == Dialect::Mysql;
    let texty = tcol.data_type.is_text_like()
        || matches!(tcol.data_type, DataType::Enum { .. } | DataType::Set(_));
    if same {
        if let Some(cs) = &scol.charset {
            def.push_str(&format!(" CHARACTER SET {cs}"));
        }
        if let Some(co) = &scol.collation {
            def.push_str(&format!(" COLLATE {co}"));
        }
    } else {
        if texty && tcol.data_type != DataType::Json {
            def.push_str(" CHARACTER SET utf8mb4");
        }
        if let Some(co) = &scol.collation {
            ctx.warn(
                src,
                Some(&scol.name),
                format!(
                    "collation {co} not carried over; the column sorts and compares by the table's default collation"
                ),
            );
        }
    }
    if let Some(expr) = tcol.generated.as_ref().filter(|_| same) {
        def.push_str(&format!(" AS ({expr})"));
        return def;
    }
    if !tcol.nullable {
        def.push_str(" NOT NULL");
    }
    let auto = tcol.auto_increment
        && matches!(
            tcol.data_type,
            DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Decimal { .. }
        );
    if auto {
        def.push_str(" AUTO_INCREMENT");
    } else if let Some(d) = &scol.default {
        if let Some(text) = render_default(ctx, src, tcol, &ty, d) {
            def.push_str(" DEFAULT ");
            def.push_str(&text);
        }
    }
    if tcol.on_update_current_timestamp {
        let d = DeclaredType::parse(&ty);
        if matches!(d.base.as_str(), "DATETIME" | "TIMESTAMP") {
            def.push_str(" ON UPDATE CURRENT_TIMESTAMP");
            let p = fsp(&ty);
            if p > 0 {
                def.push_str(&format!("({p})"));
            }
        }
    }
    if let Some(c) = &tcol.comment {
        let c = comment_text(ctx, src, Some(&scol.name), c);
        def.push_str(&format!(" COMMENT {}", quote_literal(&c)));
    }
    def
}

/// Key parts as MySQL SQL, with a prefix where the column type needs one.
fn key_parts(
    ctx: &mut Ctx,
    src: &Table,
    tgt: &Table,
    types: &[String],
    idx: &ferry_core::Index,
) -> Option<String> {
    let mut parts = Vec::new();
    let n_parts = idx.parts.len().max(1) as u32;
    for part in &idx.parts {
        let Some(col) = &part.column else {
            ctx.warn(
                src,
                None,
                format!("index `{}` on an expression not translated", idx.name),
            );
            return None;
        };
        let mut text = quote_ident(col);
        let pos = tgt.columns.iter().position(|c| &c.name == col);
        let ty = pos
            .and_then(|i| types.get(i))
            .map(String::as_str)
            .unwrap_or("");
        let base = DeclaredType::parse(ty);
        let blob = matches!(
            base.base.as_str(),
            "TINYTEXT"
                | "TEXT"
                | "MEDIUMTEXT"
                | "LONGTEXT"
                | "TINYBLOB"
                | "BLOB"
                | "MEDIUMBLOB"
                | "LONGBLOB"
        );
        let long_varchar = matches!(base.base.as_str(), "VARCHAR" | "VARBINARY")
            && base
                .args
                .first()
                .is_some_and(|n| n * UTF8MB4 > MAX_KEY_BYTES / n_parts);
        let prefix = match part.prefix {
            Some(p) => Some(p),
            None if blob || long_varchar => {
                let p = MAX_KEY_BYTES / UTF8MB4 / n_parts;
                if idx.unique {
                    ctx.warn(
                        src,
                        Some(col),
                        format!(
                            "unique index `{}` can only cover the first {p} characters in MySQL",
                            idx.name
                        ),
                    );
                }
                Some(p)
            }
            None => None,
        };
        if let Some(p) = prefix {
            text.push_str(&format!("({p})"));
        }
        if part.descending {
            text.push_str(" DESC");
        }
        parts.push(text);
    }
    Some(parts.join(", "))
}

/// Warn about what a (PostgreSQL) index has that a MySQL index cannot: operator classes,
/// per-part collations, NULLS FIRST/LAST and INCLUDE columns. The index is built without them.
fn warn_index_details(ctx: &mut Ctx, src: &Table, idx: &ferry_core::Index) {
    for part in &idx.parts {
        let what = part
            .column
            .as_deref()
            .or(part.expression.as_deref())
            .unwrap_or("?");
        if let Some(o) = &part.opclass {
            ctx.warn(
                src,
                None,
                format!(
                    "index `{}`: operator class {o} on `{what}` not carried over; MySQL compares with the column's own rules",
                    idx.name
                ),
            );
        }
        if let Some(c) = &part.collation {
            ctx.warn(
                src,
                None,
                format!(
                    "index `{}`: COLLATE {c} on `{what}` not carried over; the index uses the column's collation",
                    idx.name
                ),
            );
        }
        if let Some(first) = part.nulls_first {
            ctx.warn(
                src,
                None,
                format!(
                    "index `{}`: NULLS {} on `{what}` not carried over; MySQL sorts NULLs first ascending and last descending",
                    idx.name,
                    if first { "FIRST" } else { "LAST" }
                ),
            );
        }
    }
    if !idx.include.is_empty() {
        ctx.warn(
            src,
            None,
            format!(
                "index `{}`: INCLUDE ({}) not carried over; the index holds only its key columns",
                idx.name,
                idx.include.join(", ")
            ),
        );
    }
}

/// Render one table's DDL for MySQL.
pub(crate) fn render_table(ctx: &mut Ctx, src: &Table, tgt: &Table) -> TableDdl {
    let name = quote_ident(&tgt.name);
    let mut ddl = TableDdl::default();
    let key_cols = whole_key_columns(tgt);
    let mut budget = ROW_VARCHAR_BUDGET;
    let mut types = Vec::new();
    let mut defs = Vec::new();
    let column_checks = column_checks(ctx, src);
    for (s, t) in src.columns.iter().zip(&tgt.columns) {
        let mut def = column_def(ctx, src, s, t, &key_cols, &mut budget);
        let ty = def[quote_ident(&t.name).len() + 1..]
            .split(" CHARACTER SET")
            .next()
            .unwrap_or("")
            .to_string();
        types.push(
            ty.split(" NOT NULL")
                .next()
                .unwrap_or("")
                .split(" AS (")
                .next()
                .unwrap_or("")
                .to_string(),
        );
        if let Some(expr) = column_checks
            .iter()
            .find_map(|(c, e)| (*c == s.name).then_some(e))
        {
            def.push_str(&format!(" CHECK ({expr})"));
        }
        defs.push(format!("    {def}"));
    }
    let auto_col = tgt
        .columns
        .iter()
        .find(|c| c.auto_increment)
        .map(|c| c.name.clone());
    let mut early_keys = Vec::new();
    if !tgt.primary_key.is_empty() {
        let pk = ferry_core::Index {
            name: "PRIMARY".into(),
            parts: tgt
                .primary_key
                .iter()
                .map(ferry_core::IndexPart::column)
                .collect(),
            unique: true,
            predicate: None,
            method: None,
            include: Vec::new(),
        };
        if let Some(parts) = key_parts(ctx, src, tgt, &types, &pk) {
            defs.push(format!("    PRIMARY KEY ({parts})"));
        }
    }
    let mut late = Vec::new();
    // Index names are per table in MySQL (foreign key names are per database), and the index
    // backing a foreign key usually carries the key's name.
    let mut index_names = Namer::new(64, true).mysql();
    index_names.reserve("PRIMARY");
    for (sidx, tidx) in src.indexes.iter().zip(&tgt.indexes) {
        if sidx.predicate.is_some() {
            ctx.warn(
                src,
                None,
                format!(
                    "partial index `{}` not translated: MySQL has no partial indexes",
                    sidx.name
                ),
            );
            continue;
        }
        let Some(parts) = key_parts(ctx, src, tgt, &types, tidx) else {
            continue;
        };
        warn_index_details(ctx, src, sidx);
        let iname = quote_ident(&index_names.name(&index_name(tgt, tidx)));
        let kind = match tidx
            .method
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("FULLTEXT") if same_dialect(ctx) => "FULLTEXT KEY",
            Some("SPATIAL") if same_dialect(ctx) => "SPATIAL KEY",
            Some(m) if m != "BTREE" => {
                ctx.warn(
                    src,
                    None,
                    format!(
                        "index `{}` method {m} not carried over; a btree index is built",
                        sidx.name
                    ),
                );
                if tidx.unique {
                    "UNIQUE KEY"
                } else {
                    "KEY"
                }
            }
            _ if tidx.unique => "UNIQUE KEY",
            _ => "KEY",
        };
        let clause = format!("{kind} {iname} ({parts})");
        // AUTO_INCREMENT needs a key at CREATE time; keep the first index starting with it.
        let first_col = tidx.parts.first().and_then(|p| p.column.clone());
        if tgt.primary_key.first() != auto_col.as_ref()
            && first_col == auto_col
            && early_keys.is_empty()
        {
            early_keys.push(format!("    {clause}"));
        } else {
            late.push(format!("ADD {clause}"));
        }
    }
    defs.extend(early_keys);
    let table_opts = if same_dialect(ctx) {
        // The table default matters beyond the columns (ALTER TABLE ADD, SHOW CREATE), so a
        // MySQL copy keeps the source's instead of taking the target database's.
        let mut opts = " ENGINE=InnoDB".to_string();
        if let Some(cs) = &src.charset {
            opts.push_str(&format!(" DEFAULT CHARSET={cs}"));
        }
        if let Some(co) = &src.collation {
            opts.push_str(&format!(" COLLATE={co}"));
        }
        opts
    } else {
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4".to_string()
    };
    let comment = tgt
        .comment
        .as_ref()
        .map(|c| {
            format!(
                " COMMENT={}",
                quote_literal(&comment_text(ctx, src, None, c))
            )
        })
        .unwrap_or_default();
    ddl.create.push(format!(
        "CREATE TABLE {name} (\n{}\n){table_opts}{comment}",
        defs.join(",\n")
    ));
    ddl.drop.push(format!("DROP TABLE IF EXISTS {name}"));
    ddl.truncate.push(format!("TRUNCATE TABLE {name}"));

    for check in &src.checks {
        if is_boolean_domain_check(&check.expression, src) || is_column_check(ctx, src, check) {
            continue;
        }
        match translate_expression(
            &check.expression,
            check.dialect,
            Dialect::Mysql,
            src,
            tgt,
            &|s| quote_ident(s),
        ) {
            Ok(expr) => {
                let wanted = check
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}_chk", tgt.name));
                let cname = ctx.constraint_names.name(&wanted);
                late.push(format!(
                    "ADD CONSTRAINT {} CHECK ({expr})",
                    quote_ident(&cname)
                ));
            }
            Err(why) => ctx.warn(
                src,
                None,
                format!("CHECK ({}) not translated: {why}", check.expression),
            ),
        }
    }
    if !late.is_empty() {
        ddl.post_load
            .push(format!("ALTER TABLE {name} {}", late.join(", ")));
    }
    for (sfk, tfk) in src.foreign_keys.iter().zip(&tgt.foreign_keys) {
        if let Some(fk) = render_foreign_key(ctx, src, tgt, sfk, tfk) {
            ddl.foreign_keys.push(fk);
        }
    }
    if auto_col.is_some() {
        // InnoDB moves the counter to MAX(col) + 1 when asked for anything lower.
        ddl.reset_sequences
            .push(format!("ALTER TABLE {name} AUTO_INCREMENT = 1"));
    }
    ddl
}

/// Whether `check` is a MariaDB column-level CHECK (`amount INT CHECK (amount >= 0)`),
/// which MariaDB names after its column. A MySQL copy declares it on the column again, so
/// the target's catalog matches the source's.
fn is_column_check(ctx: &Ctx, src: &Table, check: &Check) -> bool {
    same_dialect(ctx)
        && check
            .name
            .as_deref()
            .is_some_and(|n| src.columns.iter().any(|c| c.name.eq_ignore_ascii_case(n)))
}

/// The column-level CHECKs of `src` as (source column name, expression) pairs.
fn column_checks(ctx: &Ctx, src: &Table) -> Vec<(String, String)> {
    src.checks
        .iter()
        .filter(|k| is_column_check(ctx, src, k))
        .filter_map(|k| {
            let name = k.name.as_deref()?;
            let col = src
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))?;
            Some((col.name.clone(), k.expression.clone()))
        })
        .collect()
}

fn same_dialect(ctx: &Ctx) -> bool {
    ctx.source == Dialect::Mysql
}

fn render_foreign_key(
    ctx: &mut Ctx,
    src: &Table,
    tgt: &Table,
    sfk: &ferry_core::ForeignKey,
    tfk: &ferry_core::ForeignKey,
) -> Option<ForeignKeyDdl> {
    let (parent_tgt, ref_cols, _) = crate::resolve_foreign_key(ctx, src, sfk, tfk)?;
    let wanted = sfk
        .name
        .clone()
        .unwrap_or_else(|| derived_name(&tgt.name, &tfk.columns, "fkey"));
    let cname = quote_ident(&ctx.constraint_names.name(&wanted));
    let list = |cols: &[String]| {
        cols.iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut add = format!(
        "ALTER TABLE {} ADD CONSTRAINT {cname} FOREIGN KEY ({}) REFERENCES {} ({})",
        quote_ident(&tgt.name),
        list(&tfk.columns),
        quote_ident(&parent_tgt.name),
        list(&ref_cols)
    );
    for (kw, action) in [("ON DELETE", &sfk.on_delete), ("ON UPDATE", &sfk.on_update)] {
        if let Some(a) = action
            .as_deref()
            .filter(|a| !a.eq_ignore_ascii_case("NO ACTION") && !a.eq_ignore_ascii_case("RESTRICT"))
        {
            add.push_str(&format!(" {kw} {}", a.to_ascii_uppercase()));
        }
    }
    // MySQL adds foreign keys without checking rows only when foreign_key_checks=0 (which
    // ferry's sink sets; with checks on InnoDB would copy the whole table). Rows from another
    // MySQL server already satisfied the key; rows from other dialects are checked by a
    // statement that fails (error 1172: two rows selected INTO one variable) when an orphan
    // exists — the sink names the key —
    // unless the source enforced the key (`trusted`) and none of the parent's rows was
    // rejected (the engine decides that after the load).
    let validate = if same_dialect(ctx) {
        None
    } else {
        let on: Vec<String> = tfk
            .columns
            .iter()
            .zip(&ref_cols)
            .map(|(c, p)| format!("p.{} = c.{}", quote_ident(p), quote_ident(c)))
            .collect();
        let not_null: Vec<String> = tfk
            .columns
            .iter()
            .map(|c| format!("c.{} IS NOT NULL", quote_ident(c)))
            .collect();
        Some(format!(
            "{VALIDATE_FK_MARK} 1 FROM (SELECT 1 UNION ALL SELECT 2) AS two WHERE EXISTS (SELECT 1 FROM {} AS c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} AS p WHERE {})) INTO @ferry_fk",
            quote_ident(&tgt.name),
            not_null.join(" AND "),
            quote_ident(&parent_tgt.name),
            on.join(" AND ")
        ))
    };
    Some(ForeignKeyDdl {
        name: cname,
        ref_table: parent_tgt.name.clone(),
        add,
        validate,
        trusted: sfk.enforced,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_neutral_type_has_a_mysql_name() {
        assert_eq!(type_name(&DataType::Bool), "tinyint(1)");
        assert_eq!(type_name(&DataType::Int16), "smallint");
        assert_eq!(type_name(&DataType::Int32), "int");
        assert_eq!(type_name(&DataType::Int64), "bigint");
        assert_eq!(type_name(&DataType::Float32), "float");
        assert_eq!(type_name(&DataType::Float64), "double");
        assert_eq!(
            type_name(&DataType::Decimal {
                precision: Some(10),
                scale: Some(2)
            }),
            "decimal(10,2)"
        );
        assert_eq!(
            type_name(&DataType::Decimal {
                precision: None,
                scale: None
            }),
            "decimal(65,30)"
        );
        assert_eq!(
            type_name(&DataType::Decimal {
                precision: Some(100),
                scale: Some(40)
            }),
            "decimal(65,30)"
        );
        assert_eq!(type_name(&DataType::Text), "longtext");
        assert_eq!(type_name(&DataType::VarChar(64)), "varchar(64)");
        assert_eq!(type_name(&DataType::Char(2)), "char(2)");
        assert_eq!(type_name(&DataType::Bytes), "longblob");
        assert_eq!(type_name(&DataType::Date), "date");
        assert_eq!(type_name(&DataType::Time), "time(6)");
        assert_eq!(type_name(&DataType::Timestamp), "datetime(6)");
        assert_eq!(type_name(&DataType::TimestampTz), "datetime(6)");
        assert_eq!(type_name(&DataType::Uuid), "char(36)");
        assert_eq!(type_name(&DataType::Json), "json");
        assert_eq!(
            type_name(&DataType::Array(Box::new(DataType::Int32))),
            "json"
        );
        assert_eq!(
            type_name(&DataType::Enum {
                name: "m".into(),
                labels: vec!["a".into(), "it's".into()]
            }),
            "enum('a','it''s')"
        );
        assert_eq!(type_name(&DataType::Set(vec!["x".into()])), "set('x')");
        assert_eq!(type_name(&DataType::Bit(3)), "bit(3)");
        assert_eq!(type_name(&DataType::Interval), "varchar(64)");
    }

    fn keyed_table() -> Table {
        let mut t = Table::new("t");
        for c in ["a", "b", "c"] {
            t.columns.push(Column::new(c, "TEXT", DataType::Text));
        }
        t.columns.push(Column::new("d", "BLOB", DataType::Bytes));
        t.primary_key = vec!["a".into()];
        t.indexes.push(ferry_core::Index {
            name: "t_bc".into(),
            parts: vec![
                ferry_core::IndexPart::column("b"),
                ferry_core::IndexPart::column("c"),
            ],
            unique: true,
            predicate: None,
            method: None,
            include: Vec::new(),
        });
        t.indexes.push(ferry_core::Index {
            name: "t_c".into(),
            parts: vec![ferry_core::IndexPart::column("c")],
            unique: false,
            predicate: None,
            method: None,
            include: Vec::new(),
        });
        t
    }

    #[test]
    fn key_limits_are_shared_by_the_parts_of_a_key() {
        let t = keyed_table();
        assert_eq!(key_char_limit(&t, "a"), Some(768));
        assert_eq!(key_char_limit(&t, "b"), Some(384));
        // The tightest index that uses the column decides.
        assert_eq!(key_char_limit(&t, "c"), Some(384));
        assert_eq!(key_char_limit(&t, "d"), None);
        assert_eq!(columns_needing_length(&t), vec!["a", "b", "c"]);
    }

    #[test]
    fn text_left_in_a_key_stays_text_with_a_prefix() {
        let mut t = keyed_table();
        t.indexes.push(ferry_core::Index {
            name: "t_d".into(),
            parts: vec![ferry_core::IndexPart::column("d")],
            unique: true,
            predicate: None,
            method: None,
            include: Vec::new(),
        });
        let schema = ferry_core::Schema {
            tables: vec![t],
            ..Default::default()
        };
        let tr = crate::translate(
            &schema,
            Dialect::Sqlite,
            Dialect::Mysql,
            &crate::Overrides::default(),
        )
        .expect("translates");
        let ddl = &tr.tables[0].ddl;
        let create = &ddl.create[0];
        assert!(create.contains("`a` longtext"), "{create}");
        assert!(create.contains("PRIMARY KEY (`a`(768))"), "{create}");
        assert!(create.contains("`d` varbinary(255)"), "{create}");
        let post = ddl.post_load.join("\n");
        assert!(post.contains("`t_bc` (`b`(384), `c`(384))"), "{post}");
        assert!(post.contains("`t_c` (`c`(768))"), "{post}");
        let warnings: Vec<String> = tr.warnings.iter().map(ToString::to_string).collect();
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("t.a: unique index `PRIMARY` can only cover the first 768")),
            "{warnings:?}"
        );
    }

    /// Issue 13's examples: defaults MySQL would refuse are dropped with a warning quoting
    /// them; "today" written the PostgreSQL way becomes CURRENT_DATE.
    #[test]
    fn defaults_that_do_not_fit_are_dropped_and_today_translates() {
        let mut t = Table::new("t");
        let mut c = Column::new("created", "DATETIME", DataType::Timestamp);
        c.default = Some(crate::sqlite::parse_default("0"));
        t.columns.push(c);
        let mut c = Column::new("day", "date", DataType::Date);
        c.nullable = false;
        c.default = Some(crate::postgres_source::parse_default("('now'::text)::date"));
        t.columns.push(c);
        let mut c = Column::new("perms", "set", DataType::Set(vec!["read".into()]));
        c.default = Some(DefaultValue::Text("write".into()));
        t.columns.push(c);
        let schema = ferry_core::Schema {
            tables: vec![t],
            ..Default::default()
        };
        let tr = crate::translate(
            &schema,
            Dialect::Sqlite,
            Dialect::Mysql,
            &crate::Overrides::default(),
        )
        .expect("translates");
        let create = &tr.tables[0].ddl.create[0];
        assert!(create.contains("`created` datetime(6),"), "{create}");
        assert!(
            create.contains("`day` date NOT NULL DEFAULT (CURRENT_DATE)"),
            "{create}"
        );
        assert!(!create.contains("DEFAULT 'write'"), "{create}");
        let warnings: Vec<String> = tr.warnings.iter().map(ToString::to_string).collect();
        assert!(
            warnings.contains(
                &"t.created: default 0 does not fit a datetime(6) column; the default was not carried over"
                    .to_string()
            ),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("t.perms: default 'write' member `write`")),
            "{warnings:?}"
        );
    }

    /// The review's example: a SQLite CHECK whose literals end a MySQL string early when
    /// written in the standard style. Each literal stays one MySQL literal; the foreign-key
    /// check puts no source name in a comment.
    #[test]
    fn check_literals_are_written_by_mysql_rules() {
        let col = "c**//1; DROP TABLE y; /*";
        let mut t = Table::new("t");
        t.columns.push(Column::new("v", "TEXT", DataType::Text));
        t.columns.push(Column::new(col, "INTEGER", DataType::Int64));
        t.checks.push(Check {
            name: None,
            expression: r"v IN ('\', ')); DROP TABLE y; -- ')".into(),
            dialect: Dialect::Sqlite,
        });
        t.primary_key = vec!["v".into()];
        t.foreign_keys.push(ferry_core::ForeignKey {
            name: None,
            columns: vec![col.into()],
            ref_table: "t".into(),
            ref_columns: vec!["v".into()],
            on_delete: None,
            on_update: None,
            enforced: false,
        });
        let schema = ferry_core::Schema {
            tables: vec![t],
            ..Default::default()
        };
        let tr = |to| {
            crate::translate(&schema, Dialect::Sqlite, to, &crate::Overrides::default())
                .expect("translates")
        };
        let my = tr(Dialect::Mysql);
        let post = my.tables[0].ddl.post_load.join("\n");
        assert!(
            post.contains(r"CHECK (`v` IN ('\\', ')); DROP TABLE y; -- '))"),
            "{post}"
        );
        let fk = &my.tables[0].ddl.foreign_keys[0];
        let validate = fk.validate.as_deref().expect("checked");
        assert!(validate.starts_with(VALIDATE_FK_MARK), "{validate}");
        assert!(
            validate.starts_with("SELECT /* ferry:validate-fk */ 1 FROM (SELECT 1 UNION"),
            "{validate}"
        );
        assert!(
            validate.contains("`c**//1; DROP TABLE y; /*`"),
            "{validate}"
        );
        let pg = tr(Dialect::Postgres);
        let post = pg.tables[0].ddl.post_load.join("\n");
        assert!(
            post.contains(r"CHECK (v IN (E'\\', ')); DROP TABLE y; -- '))"),
            "{post}"
        );
    }

    #[test]
    fn enums_mysql_cannot_hold_become_varchar() {
        let mut t = Table::new("t");
        for (name, labels) in [
            ("plain", vec!["a", "it's"]),
            ("emoji", vec!["a😀", "b"]),
            ("space", vec!["a ", "b"]),
            ("case", vec!["a", "A"]),
        ] {
            let labels = labels.into_iter().map(String::from).collect();
            let ty = DataType::Enum {
                name: name.into(),
                labels,
            };
            t.columns.push(Column::new(name, "x", ty));
        }
        let schema = ferry_core::Schema {
            tables: vec![t],
            ..Default::default()
        };
        let tr = crate::translate(
            &schema,
            Dialect::Postgres,
            Dialect::Mysql,
            &crate::Overrides::default(),
        )
        .expect("translates");
        let create = &tr.tables[0].ddl.create[0];
        assert!(create.contains("`plain` enum('a','it''s')"), "{create}");
        for col in [
            "`emoji` varchar(2)",
            "`space` varchar(2)",
            "`case` varchar(1)",
        ] {
            assert!(create.contains(col), "{create}");
        }
        assert_eq!(tr.warnings.len(), 3, "{:?}", tr.warnings);
    }

    #[test]
    fn literals_and_identifiers_quote() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_literal("it's \\ ok"), "'it''s \\\\ ok'");
    }
}
