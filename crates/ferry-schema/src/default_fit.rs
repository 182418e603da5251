//! Whether a literal column default fits its target column, shared by the target renderers.
//!
//! A default that does not fit makes `CREATE TABLE` fail on the target (MySQL error 1067,
//! PostgreSQL "invalid input syntax"), so each renderer checks literals here first and drops
//! (with a warning in the user's own SQL, [`shown`]) what would not load.

use crate::expr::translate_expression;
use crate::tokens::{render, tokenize, tokenize_postgres, Token};
use ferry_core::time::{format_date, format_time, format_timestamp, parse_time, parse_timestamp};
use ferry_core::value::canonical_decimal;
use ferry_core::{DataType, DefaultValue, Dialect, Table};

/// The default as SQL, the way the user wrote it (for warnings): `0`, `'abc'`,
/// `CURRENT_TIMESTAMP`, or the expression's own text.
pub fn shown(d: &DefaultValue) -> String {
    match d {
        DefaultValue::Null => "NULL".into(),
        DefaultValue::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        DefaultValue::Number(n) => n.clone(),
        DefaultValue::Text(s) => format!("'{}'", s.replace('\'', "''")),
        DefaultValue::CurrentTimestamp => "CURRENT_TIMESTAMP".into(),
        DefaultValue::CurrentDate => "CURRENT_DATE".into(),
        DefaultValue::CurrentTime => "CURRENT_TIME".into(),
        DefaultValue::UnixEpoch => "the current Unix time".into(),
        DefaultValue::GenerateUuid => "a generated UUID".into(),
        DefaultValue::Expression { sql, .. } => sql.clone(),
    }
}

/// Whether values of `t` are numbers (booleans included: both targets take 0/1 for them).
pub fn is_numeric(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Bool
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal { .. }
    )
}

/// A numeric literal as the column `t` stores it, or why it does not fit: integers must be
/// whole and in range, decimals within their precision, booleans 0 or 1.
pub fn number(text: &str, t: &DataType) -> Result<String, String> {
    let n = canonical_decimal(text).ok_or_else(|| "is not a number".to_string())?;
    let (int_part, frac) = n
        .trim_start_matches('-')
        .split_once('.')
        .unwrap_or((n.trim_start_matches('-'), ""));
    let whole = || -> Result<i128, String> {
        if !frac.is_empty() {
            return Err("is not a whole number".into());
        }
        n.parse::<i128>().map_err(|_| "is out of range".to_string())
    };
    let range = |lo: i128, hi: i128, name: &str| -> Result<String, String> {
        let v = whole()?;
        if v < lo || v > hi {
            return Err(format!("is out of range for {name}"));
        }
        Ok(n.clone())
    };
    match t {
        DataType::Bool => match whole()? {
            0 | 1 => Ok(n.clone()),
            _ => Err("is neither 0 nor 1".into()),
        },
        DataType::Int16 => range(i16::MIN.into(), i16::MAX.into(), "smallint"),
        DataType::Int32 => range(i32::MIN.into(), i32::MAX.into(), "integer"),
        DataType::Int64 => range(i64::MIN.into(), i64::MAX.into(), "bigint"),
        DataType::Decimal {
            precision: Some(p),
            scale,
        } => {
            let s = scale.unwrap_or(0);
            let digits = int_part.trim_start_matches('0').len() as u32;
            if digits > p.saturating_sub(s) {
                return Err(format!("has too many digits for numeric({p},{s})"));
            }
            Ok(n.clone())
        }
        _ => Ok(n.clone()),
    }
}

/// A boolean written as text (`'t'`, `'true'`, `'1'`, `'no'`, ...).
pub fn boolean_text(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "y" | "yes" | "on" => Some(true),
        "0" | "f" | "false" | "n" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A MySQL zero or partial date (`0000-00-00`, `2024-00-00 00:00:00`): MySQL stores it, no
/// other dialect can.
pub fn is_zero_date(s: &str) -> bool {
    let b = s.trim().as_bytes();
    b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..10]
            .iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (&b[0..4] == b"0000" || &b[5..7] == b"00" || &b[8..10] == b"00")
}

/// Date/time text normalised for a column of type `t` (`YYYY-MM-DD[ HH:MM:SS[.ffffff]]`,
/// UTC when the text has an offset), or why it does not fit. A date column refuses text
/// with a time of day other than midnight.
pub fn temporal(text: &str, t: &DataType) -> Result<String, String> {
    if *t == DataType::Time {
        return parse_time(text)
            .map(format_time)
            .ok_or_else(|| "is not a time of day".into());
    }
    let ts = parse_timestamp(text).ok_or_else(|| "is not a date or timestamp".to_string())?;
    if *t == DataType::Date {
        if ts.micros.rem_euclid(ferry_core::time::MICROS_PER_DAY) != 0 {
            return Err("has a time of day, which a date column cannot hold".into());
        }
        return Ok(format_date(
            ts.micros.div_euclid(ferry_core::time::MICROS_PER_DAY),
        ));
    }
    Ok(format_timestamp(ts.micros))
}

/// Whether `s` is a MySQL `SET` value of `labels` (comma-separated members, `''` empty).
pub fn set_members<'a>(s: &'a str, labels: &[String]) -> Result<Vec<&'a str>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let members: Vec<&str> = s.split(',').collect();
    match members.iter().find(|m| !labels.iter().any(|l| l == *m)) {
        Some(m) => Err(format!("member `{m}` is not one of the set's values")),
        None => Ok(members),
    }
}

/// A default expression with no neutral meaning, rewritten for `to` when it consists only of
/// literals, arithmetic and functions every dialect has with one meaning (`(1 + 2)`,
/// `lower('ABC')`), and its result is of the column's kind (numbers for numeric columns,
/// text for text columns). Division is left out: integers divide differently in MySQL.
pub fn portable_expression(sql: &str, from: Dialect, to: Dialect, t: &DataType) -> Option<String> {
    let tokens = if from == Dialect::Postgres {
        crate::source::postgres::deparse::portable(tokenize_postgres(sql)?).ok()?
    } else {
        tokenize(sql)?
    };
    let sql = render(&tokens, &|s| crate::quote::pg_ident(s));
    if tokens
        .iter()
        .any(|t| matches!(t, Token::Op(o) if o == "/" || o == "%" || o == "||"))
    {
        return None;
    }
    let has_text = tokens.iter().any(|t| matches!(t, Token::Str(_)));
    let fits = if has_text {
        t.is_text_like() && *t != DataType::Json
    } else {
        is_numeric(t) && *t != DataType::Bool
    };
    if !fits {
        return None;
    }
    let none = Table::new("");
    translate_expression(&sql, from, to, &none, &none, &|s| s.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_fit_their_column() {
        assert_eq!(number("5", &DataType::Int16).as_deref(), Ok("5"));
        assert!(number("1.5", &DataType::Int32).is_err());
        assert!(number("70000", &DataType::Int16).is_err());
        assert!(number("2", &DataType::Bool).is_err());
        assert!(number("abc", &DataType::Int64).is_err());
        let dec = DataType::Decimal {
            precision: Some(5),
            scale: Some(2),
        };
        assert_eq!(number("123.45", &dec).as_deref(), Ok("123.45"));
        assert!(number("1234.5", &dec).is_err());
    }

    #[test]
    fn dates_fit_or_say_why() {
        assert_eq!(
            temporal("2024-01-02T03:04:05Z", &DataType::Timestamp).as_deref(),
            Ok("2024-01-02 03:04:05")
        );
        assert_eq!(
            temporal("2024-01-02", &DataType::Date).as_deref(),
            Ok("2024-01-02")
        );
        assert!(temporal("0", &DataType::Timestamp).is_err());
        assert!(temporal("now", &DataType::Date).is_err());
        assert!(temporal("2024-00-00", &DataType::Date).is_err());
        assert!(temporal("2024-01-02 10:00", &DataType::Date).is_err());
        assert_eq!(
            temporal("10:11", &DataType::Time).as_deref(),
            Ok("10:11:00")
        );
        assert!(is_zero_date("0000-00-00 00:00:00"));
        assert!(is_zero_date("2024-00-00"));
        assert!(!is_zero_date("2024-01-01"));
    }

    #[test]
    fn warnings_show_sql() {
        assert_eq!(shown(&DefaultValue::Number("0".into())), "0");
        assert_eq!(shown(&DefaultValue::Text("it's".into())), "'it''s'");
    }

    #[test]
    fn only_portable_expressions_translate() {
        let to = |sql, t| portable_expression(sql, Dialect::Postgres, Dialect::Mysql, t);
        assert_eq!(to("(1 + 2)", &DataType::Int32).as_deref(), Some("(1 + 2)"));
        assert_eq!(
            to("lower('ABC')", &DataType::Text).as_deref(),
            Some("lower('ABC')")
        );
        assert_eq!(
            to("lower('ABC'::text)", &DataType::Text).as_deref(),
            Some("lower('ABC')")
        );
        assert_eq!(
            to("upper(('x'::character varying)::text)", &DataType::Text).as_deref(),
            Some("upper(('x'))")
        );
        assert_eq!(to("(7 / 2)", &DataType::Int32), None);
        assert_eq!(to("lower('ABC')", &DataType::Int32), None);
        assert_eq!(to("nextval('s')", &DataType::Int64), None);
        assert_eq!(to("other_col + 1", &DataType::Int64), None);
    }
}
