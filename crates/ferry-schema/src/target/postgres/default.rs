//! DEFAULT clauses on a PostgreSQL target.

use super::type_name;
use crate::default_fit;
use crate::quote::pg_literal as quote_literal;
use crate::target::Ctx;
use ferry_core::{Column, DataType, DefaultValue, Dialect, Table};

/// The PostgreSQL `DEFAULT` expression of `col`, or `None` with a warning when the default
/// does not fit the column (PostgreSQL checks literal defaults at `CREATE TABLE`).
pub(super) fn render_default(
    ctx: &mut Ctx,
    src: &Table,
    col: &Column,
    default: &DefaultValue,
) -> Option<String> {
    let t = &col.data_type;
    let rendered = match default {
        DefaultValue::Null => return None,
        DefaultValue::Bool(_) | DefaultValue::Number(_) | DefaultValue::Text(_) => {
            literal_default(default, t)
        }
        _ => computed_default(ctx.source, default, t),
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

fn is_num(t: &DataType) -> bool {
    default_fit::is_numeric(t) && *t != DataType::Bool
}

/// A boolean, number or text default for a column of type `t`, or why it does not fit.
fn literal_default(default: &DefaultValue, t: &DataType) -> Result<String, String> {
    let is_num = is_num(t);
    let is_temporal = matches!(
        t,
        DataType::Date | DataType::Time | DataType::Timestamp | DataType::TimestampTz
    );
    Ok(match (default, t) {
        (DefaultValue::Bool(b), DataType::Bool) => b.to_string(),
        (DefaultValue::Bool(b), _) if is_num => u8::from(*b).to_string(),
        (DefaultValue::Number(n), DataType::Bool) => match default_fit::number(n, t) {
            Ok(n) => (n == "1").to_string(),
            Err(why) => return Err(why),
        },
        (DefaultValue::Number(n), DataType::Bit(w)) => match n.parse::<u64>() {
            // MySQL's bit(n) values arrive as n bits: the default gets the same width.
            Ok(v) if *w >= 64 || v >> w == 0 => format!("B'{v:0width$b}'", width = *w as usize),
            _ => return Err("does not fit the bit column".into()),
        },
        (DefaultValue::Number(n) | DefaultValue::Text(n), _) if is_num => {
            default_fit::number(n, t)?
        }
        (DefaultValue::Number(n), DataType::Text | DataType::VarChar(_) | DataType::Char(_)) => {
            if !fits_length(t, n) {
                return Err(format!("is longer than {}", type_name(t)));
            }
            quote_literal(n)
        }
        (DefaultValue::Text(s), DataType::Bool) => match default_fit::boolean_text(s) {
            Some(b) => b.to_string(),
            None => return Err("is not a boolean".into()),
        },
        (DefaultValue::Text(s), _) if is_temporal => {
            if default_fit::is_zero_date(s) {
                return Err("is a zero date, which only MySQL stores".into());
            }
            match default_fit::temporal(s, t) {
                Ok(v) => quote_literal(&v),
                Err(why) => return Err(why),
            }
        }
        (DefaultValue::Text(s), DataType::Enum { labels, .. }) if !labels.contains(s) => {
            return Err("is not one of the enum's values".into())
        }
        (DefaultValue::Text(s), DataType::Set(labels)) => {
            match default_fit::set_members(s, labels) {
                Ok(members) if members.is_empty() => "'{}'::text[]".into(),
                Ok(members) => {
                    let items: Vec<String> = members.iter().map(|m| quote_literal(m)).collect();
                    format!("ARRAY[{}]::text[]", items.join(", "))
                }
                Err(why) => return Err(why),
            }
        }
        (DefaultValue::Text(s), DataType::Uuid) if ferry_core::value::parse_uuid(s).is_none() => {
            return Err("is not a UUID".into())
        }
        (DefaultValue::Text(s), DataType::VarChar(_) | DataType::Char(_)) if !fits_length(t, s) => {
            return Err(format!("is longer than {}", type_name(t)))
        }
        (
            DefaultValue::Text(_),
            DataType::Bit(_) | DataType::Interval | DataType::Array(_) | DataType::Bytes,
        ) => return Err(format!("does not fit a {} column", type_name(t))),
        (DefaultValue::Text(s), _) => quote_literal(s),
        _ => return Err(format!("does not fit a {} column", type_name(t))),
    })
}

/// A default computed by the server (current time, a generated UUID, an expression) for a
/// column of type `t`, or why it has no PostgreSQL equivalent.
pub(super) fn computed_default(
    source: Dialect,
    default: &DefaultValue,
    t: &DataType,
) -> Result<String, String> {
    let is_num = is_num(t);
    let utc_now = "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')";
    Ok(match (default, t) {
        (DefaultValue::CurrentTimestamp, DataType::Timestamp) => utc_now.into(),
        (DefaultValue::CurrentTimestamp, DataType::TimestampTz) => "CURRENT_TIMESTAMP".into(),
        (DefaultValue::CurrentTimestamp | DefaultValue::CurrentDate, DataType::Date) => {
            "CURRENT_DATE".into()
        }
        (DefaultValue::CurrentTimestamp, DataType::Text | DataType::VarChar(_)) => {
            format!("to_char({utc_now}, 'YYYY-MM-DD HH24:MI:SS')")
        }
        (DefaultValue::CurrentDate, DataType::Text | DataType::VarChar(_)) => {
            format!("to_char({utc_now}, 'YYYY-MM-DD')")
        }
        (DefaultValue::CurrentDate, DataType::Timestamp | DataType::TimestampTz) => {
            "CURRENT_DATE".into()
        }
        (DefaultValue::CurrentTime, DataType::Time) => format!("{utc_now}::time"),
        (DefaultValue::CurrentTime, DataType::Text | DataType::VarChar(_)) => {
            format!("to_char({utc_now}, 'HH24:MI:SS')")
        }
        (DefaultValue::UnixEpoch, _) if is_num => {
            "(extract(epoch from CURRENT_TIMESTAMP))::bigint".into()
        }
        (DefaultValue::GenerateUuid, DataType::Uuid) => "gen_random_uuid()".into(),
        (DefaultValue::GenerateUuid, DataType::Text | DataType::VarChar(_) | DataType::Char(_)) => {
            "gen_random_uuid()::text".into()
        }
        (
            DefaultValue::Expression {
                dialect: Dialect::Postgres,
                sql,
            },
            _,
        ) if source == Dialect::Postgres => sql.clone(),
        (DefaultValue::Expression { sql, dialect }, _) => {
            match default_fit::portable_expression(sql, *dialect, Dialect::Postgres, t) {
                Some(expr) => expr,
                None => return Err("has no PostgreSQL equivalent".into()),
            }
        }
        _ => return Err(format!("does not fit a {} column", type_name(t))),
    })
}

/// Whether text `s` fits the declared length of a `varchar(n)`/`char(n)` type.
fn fits_length(t: &DataType, s: &str) -> bool {
    match t {
        DataType::VarChar(n) | DataType::Char(n) => s.chars().count() <= *n as usize,
        _ => true,
    }
}
