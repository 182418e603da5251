//! DEFAULT clauses on a MySQL target.

use super::quote_literal;
use super::types::fsp;
use crate::default_fit;
use crate::rules::DeclaredType;
use crate::target::Ctx;
use ferry_core::{Column, DataType, DefaultValue, Dialect, Table};

/// What a default must fit: the column and its declared MySQL type, in the terms the
/// rendering rules ask about.
struct Slot<'a> {
    col: &'a Column,
    /// The declared type (`varchar(10)`, `datetime(3)`).
    ty: &'a str,
    /// Its base name, upper case (`VARCHAR`).
    base: String,
    /// Its first argument (`bit(n)`'s width).
    width: Option<u32>,
    /// MySQL to MySQL: the source server accepted the default for the same type.
    same: bool,
    is_time: bool,
    is_blobby: bool,
    is_temporal: bool,
    is_texty: bool,
    is_num: bool,
}

impl<'a> Slot<'a> {
    fn new(col: &'a Column, ty: &'a str, source: Dialect) -> Slot<'a> {
        let d = DeclaredType::parse(ty);
        let base = d.base.as_str();
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
        Slot {
            col,
            ty,
            base: d.base.clone(),
            width: d.args.first().copied(),
            same: source == Dialect::Mysql,
            is_time,
            is_blobby,
            is_temporal,
            is_texty: col.data_type.is_text_like() || col.data_type == DataType::Uuid,
            is_num: default_fit::is_numeric(&col.data_type),
        }
    }

    /// A text or blob column takes its default as an expression in parentheses.
    fn wrap(&self, s: String) -> String {
        if self.is_blobby {
            format!("({s})")
        } else {
            s
        }
    }
}

/// The MySQL `DEFAULT` clause of `col` (declared as `ty`), or `None` with a warning when
/// the default does not fit the column: MySQL refuses such a `CREATE TABLE` (error 1067).
pub(super) fn render_default(
    ctx: &mut Ctx,
    src: &Table,
    col: &Column,
    ty: &str,
    default: &DefaultValue,
) -> Option<String> {
    let slot = Slot::new(col, ty, ctx.source);
    let rendered = match default {
        DefaultValue::Null => return col.nullable.then(|| "NULL".to_string()),
        DefaultValue::Bool(_) | DefaultValue::Number(_) | DefaultValue::Text(_) => {
            literal_default(&slot, default)
        }
        _ => computed_default(&slot, default),
    };
    match rendered {
        Ok(sql) => Some(sql),
        Err(why) => {
            let shown = default_fit::shown(default);
            ctx.warn(
                src,
                Some(&col.name),
                format!("default {shown} {why}; the default was not carried over"),
            );
            None
        }
    }
}

/// A boolean, number or text default, or why it does not fit.
fn literal_default(slot: &Slot<'_>, default: &DefaultValue) -> Result<String, String> {
    let Slot {
        col,
        ty,
        same,
        is_blobby,
        is_temporal,
        is_texty,
        is_num,
        ..
    } = *slot;
    let base = slot.base.as_str();
    let wrap = |s: String| slot.wrap(s);
    Ok(match default {
        DefaultValue::Bool(b) if is_num => u8::from(*b).to_string(),
        DefaultValue::Bool(b) if is_texty || is_blobby => {
            wrap(quote_literal(if *b { "1" } else { "0" }))
        }
        DefaultValue::Number(n) if base == "BIT" => match n.parse::<u64>() {
            Ok(v) if slot.width.is_none_or(|w| w >= 64 || v >> w == 0) => {
                format!("b'{v:b}'")
            }
            _ => return Err("does not fit the bit column".into()),
        },
        // Another MySQL server accepted these for the same declared type.
        DefaultValue::Number(n) | DefaultValue::Text(n) if same && is_num => {
            match ferry_core::value::canonical_decimal(n) {
                Some(v) => v,
                None => return Err("is not a number".into()),
            }
        }
        DefaultValue::Number(n) | DefaultValue::Text(n) if same => wrap(quote_literal(n)),
        DefaultValue::Number(n) if is_num => default_fit::number(n, &col.data_type)?,
        DefaultValue::Number(n) if (is_texty || is_blobby) && !is_temporal => {
            if !fits_length(col, n) {
                return Err(format!("is longer than {ty}"));
            }
            wrap(quote_literal(n))
        }
        DefaultValue::Text(s) if col.data_type == DataType::Bool => {
            match default_fit::boolean_text(s) {
                Some(b) => u8::from(b).to_string(),
                None => return Err("is not a boolean".into()),
            }
        }
        DefaultValue::Text(s) if is_num => default_fit::number(s, &col.data_type)?,
        DefaultValue::Text(s) if is_temporal => {
            if default_fit::is_zero_date(s) {
                return Err("is a zero date, which only MySQL stores".into());
            }
            match default_fit::temporal(s, &col.data_type) {
                Ok(v) => quote_literal(&v),
                Err(why) => return Err(why),
            }
        }
        DefaultValue::Text(s) => match &col.data_type {
            DataType::Enum { labels, .. } if !labels.contains(s) => {
                return Err("is not one of the enum's values".into())
            }
            DataType::Set(labels) => match default_fit::set_members(s, labels) {
                Ok(_) => quote_literal(s),
                Err(why) => return Err(why),
            },
            DataType::Uuid if ferry_core::value::parse_uuid(s).is_none() => {
                return Err("is not a UUID".into())
            }
            DataType::Bit(_) | DataType::Array(_) | DataType::Interval => {
                return Err(format!("does not fit a {ty} column"))
            }
            _ if !fits_length(col, s) => return Err(format!("is longer than {ty}")),
            _ => wrap(quote_literal(s)),
        },
        _ => return Err(format!("does not fit a {ty} column")),
    })
}

/// A default computed by the server (current time, a generated UUID, an expression), or why
/// it has no MySQL equivalent.
fn computed_default(slot: &Slot<'_>, default: &DefaultValue) -> Result<String, String> {
    let Slot {
        col,
        ty,
        same,
        is_time,
        is_blobby,
        is_texty,
        is_num,
        ..
    } = *slot;
    let base = slot.base.as_str();
    let now = |p: u32| {
        if p > 0 {
            format!("CURRENT_TIMESTAMP({p})")
        } else {
            "CURRENT_TIMESTAMP".to_string()
        }
    };
    Ok(match default {
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
                None => return Err("has no MySQL equivalent".into()),
            }
        }
        _ => return Err(format!("does not fit a {ty} column")),
    })
}

/// Whether text `s` fits the declared length of a `varchar(n)`/`char(n)` column.
fn fits_length(col: &Column, s: &str) -> bool {
    match col.data_type {
        DataType::VarChar(n) | DataType::Char(n) => s.chars().count() <= n as usize,
        _ => true,
    }
}
