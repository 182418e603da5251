//! Neutral values to the text MySQL loads, checked against the target column first so a bad
//! value is reported by table, column and key instead of as a server error (writer).

use super::{is_zero_date, parse_time};
use ferry_core::time::{civil_from_days, MICROS_PER_DAY};
use ferry_core::value::{canonical_decimal, format_uuid};
use ferry_core::Value;
use ferry_schema::rules::DeclaredType;
use std::io::Write as _;

/// The target's view of one column, read from its catalog when a writer opens.
#[derive(Debug, Clone)]
pub struct WriteCol {
    /// Column name.
    pub name: String,
    /// Declared base type, upper-case.
    pub base: String,
    /// Type arguments (`varchar(64)` -> 64).
    pub args: Vec<u32>,
    /// `UNSIGNED` was declared.
    pub unsigned: bool,
    /// NULL is allowed, or the column fills itself (AUTO_INCREMENT).
    pub accepts_null: bool,
    /// ENUM or SET labels.
    pub labels: Vec<String>,
}

impl WriteCol {
    /// A column from its `COLUMN_TYPE`, nullability and `EXTRA`.
    pub fn new(name: String, column_type: &str, nullable: bool, extra: &str) -> Self {
        let d = DeclaredType::parse(column_type);
        let labels = if matches!(d.base.as_str(), "ENUM" | "SET") {
            ferry_schema::source::mysql::enum_labels(column_type)
        } else {
            Vec::new()
        };
        let unsigned =
            d.has_modifier("UNSIGNED") || column_type.to_ascii_lowercase().contains("unsigned");
        WriteCol {
            name,
            accepts_null: nullable || extra.to_ascii_lowercase().contains("auto_increment"),
            unsigned,
            args: if labels.is_empty() {
                d.args
            } else {
                Vec::new()
            },
            base: d.base,
            labels,
        }
    }

    /// Whether values go through a conversion function in SQL (`BIT` as a number).
    pub fn sql_wrapper(&self) -> Option<&'static str> {
        match self.base.as_str() {
            "BIT" => Some("CAST(? AS UNSIGNED)"),
            _ => None,
        }
    }

    fn int_range(&self) -> Option<(i128, i128)> {
        let (lo, hi): (i128, i128) = match self.base.as_str() {
            "TINYINT" | "BOOL" | "BOOLEAN" => (-128, 127),
            "SMALLINT" => (i16::MIN.into(), i16::MAX.into()),
            "MEDIUMINT" => (-8_388_608, 8_388_607),
            "INT" | "INTEGER" => (i32::MIN.into(), i32::MAX.into()),
            "BIGINT" => (i64::MIN.into(), i64::MAX.into()),
            _ => return None,
        };
        Some(if self.unsigned {
            (0, hi * 2 + 1)
        } else {
            (lo, hi)
        })
    }

    fn max_len(&self) -> Option<(usize, bool)> {
        // (limit, counted in characters)
        Some(match self.base.as_str() {
            "CHAR" | "VARCHAR" | "NCHAR" | "NVARCHAR" => {
                (self.args.first().copied().unwrap_or(1) as usize, true)
            }
            "BINARY" | "VARBINARY" => (self.args.first().copied().unwrap_or(1) as usize, false),
            "TINYTEXT" | "TINYBLOB" => (255, false),
            "TEXT" | "BLOB" => (65_535, false),
            "MEDIUMTEXT" | "MEDIUMBLOB" => (16_777_215, false),
            _ => return None,
        })
    }
}

/// What [`render`] produced for one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// The text or bytes left in the buffer.
    Data,
}

/// Check `v` against `col` and write the form MySQL loads into `buf` (cleared first):
/// text for most types, raw bytes for binary columns, a decimal number for `BIT`.
pub fn render(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<Cell, String> {
    buf.clear();
    if v.is_null() {
        return if col.accepts_null {
            Ok(Cell::Null)
        } else {
            Err("NULL in a NOT NULL column".into())
        };
    }
    let base = col.base.as_str();
    if let Some(range) = col.int_range() {
        render_int(v, col, range, buf)?;
        return Ok(Cell::Data);
    }
    let render_as = match base {
        "BIT" => render_bit,
        "FLOAT" | "DOUBLE" | "REAL" | "DOUBLE PRECISION" => render_float,
        "DECIMAL" | "NUMERIC" | "DEC" | "FIXED" => render_decimal,
        "YEAR" => render_year,
        // A zero date read from another MySQL server goes back as it was; the session's
        // sql_mode (no NO_ZERO_DATE/NO_ZERO_IN_DATE) lets the server store it.
        "DATE" | "DATETIME" | "TIMESTAMP"
            if matches!(v, Value::Text(s) if is_zero_date(s.as_bytes())
                && (base != "DATE" || s.len() == 10)) =>
        {
            render_zero_date
        }
        "DATE" => render_date,
        "DATETIME" | "TIMESTAMP" => render_datetime,
        "TIME" => render_time,
        "ENUM" => render_enum,
        "SET" => render_set,
        "JSON" => render_json,
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => render_binary,
        b if ferry_schema::source::mysql::is_spatial(b) => render_spatial,
        _ => render_text,
    };
    render_as(v, col, buf)?;
    Ok(Cell::Data)
}

/// An integer column (`range`: the type's bounds).
fn render_int(
    v: &Value,
    col: &WriteCol,
    (lo, hi): (i128, i128),
    buf: &mut Vec<u8>,
) -> Result<(), String> {
    let n = as_int(v)?;
    if n < lo || n > hi {
        return Err(format!(
            "{n} is out of range for {}{}",
            col.base.to_ascii_lowercase(),
            if col.unsigned { " unsigned" } else { "" }
        ));
    }
    let _ = write!(buf, "{n}");
    Ok(())
}

/// `BIT(n)`: the number, from bytes, a bit string or an integer.
fn render_bit(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    let n = match v {
        Value::Bytes(b) if b.len() <= 8 => b.iter().fold(0i128, |a, x| (a << 8) | i128::from(*x)),
        Value::Text(s) if !s.is_empty() && s.bytes().all(|c| c == b'0' || c == b'1') => {
            i128::from_str_radix(s, 2).map_err(|_| "bit string too long")?
        }
        other => as_int(other)?,
    };
    let bits = col.args.first().copied().unwrap_or(1).min(64);
    if n < 0 || n >= (1i128 << bits) {
        return Err(format!("value does not fit bit({bits})"));
    }
    let _ = write!(buf, "{n}");
    Ok(())
}

/// `FLOAT` / `DOUBLE`: finite numbers only.
fn render_float(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    let base = col.base.as_str();
    let f = match v {
        Value::Float(f) => *f,
        Value::Int(i) => *i as f64,
        Value::UInt(u) => *u as f64,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Decimal(s) | Value::Text(s) => s.trim().parse().map_err(|_| "not a number")?,
        other => return Err(mismatch(other, base)),
    };
    if !f.is_finite() {
        return Err("NaN or infinity cannot be stored in MySQL".into());
    }
    if base == "FLOAT" && f.abs() > f64::from(f32::MAX) {
        return Err("out of range for float".into());
    }
    let _ = write!(buf, "{f:?}");
    Ok(())
}

/// `DECIMAL(p,s)`: canonical text whose integer digits fit.
fn render_decimal(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    let base = col.base.as_str();
    let text = match v {
        Value::Decimal(s) | Value::Text(s) => canonical_decimal(s).ok_or("not a decimal number")?,
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Float(f) if f.is_finite() => {
            canonical_decimal(&f.to_string()).ok_or("not a number")?
        }
        Value::Float(_) => return Err("NaN or infinity cannot be stored in MySQL".into()),
        other => return Err(mismatch(other, base)),
    };
    let p = col.args.first().copied().unwrap_or(10);
    let s = col.args.get(1).copied().unwrap_or(0);
    let int_digits = text
        .trim_start_matches('-')
        .split('.')
        .next()
        .unwrap_or("")
        .trim_start_matches('0')
        .len();
    if int_digits as u32 > p.saturating_sub(s) {
        return Err(format!(
            "{int_digits} integer digits do not fit decimal({p},{s})"
        ));
    }
    if col.unsigned && text.starts_with('-') {
        return Err("negative value in an unsigned column".into());
    }
    buf.extend_from_slice(text.as_bytes());
    Ok(())
}

/// `YEAR`: 0 or 1901-2155.
fn render_year(v: &Value, _col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    let n = as_int(v)?;
    if n != 0 && !(1901..=2155).contains(&n) {
        return Err(format!("{n} is not a YEAR (1901-2155)"));
    }
    let _ = write!(buf, "{n}");
    Ok(())
}

/// A zero date (`0000-00-00`) as it was read.
fn render_zero_date(v: &Value, _col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    if let Value::Text(s) = v {
        buf.extend_from_slice(s.as_bytes());
    }
    Ok(())
}

/// `DATE`.
fn render_date(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    let base = col.base.as_str();
    let days = match v {
        Value::Date(d) => i64::from(*d),
        Value::Timestamp(t) | Value::TimestampTz(t) if t.rem_euclid(MICROS_PER_DAY) == 0 => {
            t.div_euclid(MICROS_PER_DAY)
        }
        Value::Text(s) => ferry_core::time::parse_date(s)
            .map(i64::from)
            .ok_or("text is not a date")?,
        other => return Err(mismatch(other, base)),
    };
    write_date(days, buf)?;
    Ok(())
}

/// `DATETIME` / `TIMESTAMP` (whose range is 1970-2038).
fn render_datetime(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    let base = col.base.as_str();
    let us = match v {
        Value::Timestamp(t) | Value::TimestampTz(t) => *t,
        Value::Date(d) => i64::from(*d) * MICROS_PER_DAY,
        Value::Text(s) => ferry_core::time::parse_timestamp(s)
            .map(|p| p.micros)
            .ok_or("text is not a timestamp")?,
        other => return Err(mismatch(other, base)),
    };
    if base == "TIMESTAMP" && !(1_000_000..2_147_483_648_000_000).contains(&us) {
        return Err("instant outside MySQL TIMESTAMP's range (1970-01-01 00:00:01 to 2038-01-19 03:14:07 UTC)".into());
    }
    write_date(us.div_euclid(MICROS_PER_DAY), buf)?;
    buf.push(b' ');
    write_time(us.rem_euclid(MICROS_PER_DAY), buf);
    Ok(())
}

/// `TIME`: ±838:59:59.
fn render_time(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    let base = col.base.as_str();
    let us = match v {
        Value::Time(t) => *t,
        Value::Text(s) => parse_time(s.as_bytes()).ok_or("text is not a time")?,
        other => return Err(mismatch(other, base)),
    };
    if us.abs() > 838 * 3_600_000_000 + 59 * 60_000_000 + 59_999_999 {
        return Err("time outside MySQL's range (±838:59:59)".into());
    }
    write_time(us, buf);
    Ok(())
}

/// `ENUM`: one of the labels, as the column spells it.
fn render_enum(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    let s = text_of(v)?;
    let label = col
        .labels
        .iter()
        .find(|l| l.eq_ignore_ascii_case(&s))
        .ok_or("value is not one of the ENUM labels")?;
    buf.extend_from_slice(label.as_bytes());
    Ok(())
}

/// `SET`: members of the labels, comma-separated.
fn render_set(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    let items: Vec<String> = match v {
        Value::Array(items) => items.iter().map(text_of).collect::<Result<_, _>>()?,
        other => {
            let s = text_of(other)?;
            if s.is_empty() {
                Vec::new()
            } else {
                s.split(',').map(str::to_string).collect()
            }
        }
    };
    for (i, item) in items.iter().enumerate() {
        let label = col
            .labels
            .iter()
            .find(|l| l.eq_ignore_ascii_case(item))
            .ok_or("value is not a member of the SET")?;
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(label.as_bytes());
    }
    Ok(())
}

/// `JSON`: valid JSON text.
fn render_json(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    let base = col.base.as_str();
    let s = match v {
        Value::Json(s) | Value::Text(s) => s.clone(),
        Value::Array(_) => v.to_json().to_string(),
        other => return Err(mismatch(other, base)),
    };
    if serde_json::from_str::<serde::de::IgnoredAny>(&s).is_err() {
        return Err("text is not valid JSON".into());
    }
    buf.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Binary strings and blobs: bytes that fit the length.
fn render_binary(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    match v {
        Value::Bytes(b) => buf.extend_from_slice(b),
        Value::Uuid(u) if col.args.first() == Some(&16) => buf.extend_from_slice(u),
        other => buf.extend_from_slice(text_of(other)?.as_bytes()),
    }
    check_len(col, buf, false)?;
    Ok(())
}

/// Spatial types: WKB in, MySQL's internal form out (SRID 0, then the WKB).
fn render_spatial(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    match v {
        Value::Bytes(b) => {
            buf.extend_from_slice(&[0, 0, 0, 0]);
            buf.extend_from_slice(b);
            Ok(())
        }
        other => Err(mismatch(other, &col.base)),
    }
}

/// Text types: valid UTF-8 that fits the length in characters.
fn render_text(v: &Value, col: &WriteCol, buf: &mut Vec<u8>) -> Result<(), String> {
    match v {
        Value::Bytes(b) => {
            std::str::from_utf8(b).map_err(|_| "bytes are not valid UTF-8 text")?;
            buf.extend_from_slice(b);
        }
        other => buf.extend_from_slice(text_of(other)?.as_bytes()),
    }
    check_len(col, buf, true)?;
    Ok(())
}

fn check_len(col: &WriteCol, buf: &[u8], text: bool) -> Result<(), String> {
    if let Some((max, chars)) = col.max_len() {
        let len = if chars && text {
            String::from_utf8_lossy(buf).chars().count()
        } else {
            buf.len()
        };
        if len > max {
            let unit = if chars && text { "characters" } else { "bytes" };
            return Err(format!(
                "{len} {unit} do not fit {}({max})",
                col.base.to_ascii_lowercase()
            ));
        }
    }
    Ok(())
}

fn mismatch(v: &Value, base: &str) -> String {
    format!(
        "a {} value cannot be stored in a {} column",
        v.kind_name(),
        base.to_ascii_lowercase()
    )
}

fn as_int(v: &Value) -> Result<i128, String> {
    Ok(match v {
        Value::Int(i) => i128::from(*i),
        Value::UInt(u) => i128::from(*u),
        Value::Bool(b) => i128::from(u8::from(*b)),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e38 => *f as i128,
        Value::Decimal(s) | Value::Text(s) => {
            let c = canonical_decimal(s).ok_or("not an integer")?;
            c.parse::<i128>().map_err(|_| "not an integer")?
        }
        other => return Err(format!("a {} value is not an integer", other.kind_name())),
    })
}

fn text_of(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Text(s) | Value::Json(s) | Value::Decimal(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Uuid(u) => format_uuid(u),
        Value::Date(_)
        | Value::Time(_)
        | Value::Timestamp(_)
        | Value::TimestampTz(_)
        | Value::Array(_) => match v.to_json() {
            serde_json::Value::String(s) if !matches!(v, Value::Array(_)) => {
                s.trim_end_matches('Z').to_string()
            }
            j => j.to_string(),
        },
        Value::Bytes(b) => {
            String::from_utf8(b.clone()).map_err(|_| "bytes are not valid UTF-8 text")?
        }
        Value::Interval(iv) => ferry_core::time::format_interval(iv.months, iv.days, iv.micros),
        Value::Null => String::new(),
    })
}

fn write_date(days: i64, buf: &mut Vec<u8>) -> Result<(), String> {
    let (y, m, d) = civil_from_days(days);
    if !(1..=9999).contains(&y) {
        return Err(format!("year {y} is outside MySQL's range (1-9999)"));
    }
    let _ = write!(buf, "{y:04}-{m:02}-{d:02}");
    Ok(())
}

fn write_time(us: i64, buf: &mut Vec<u8>) {
    let neg = us < 0;
    let us = us.unsigned_abs();
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    if neg {
        buf.push(b'-');
    }
    let _ = write!(
        buf,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let _ = write!(buf, ".{frac:06}");
    }
}

/// Append `data` to a `LOAD DATA` stream escaped for `FIELDS ESCAPED BY '\\'`: backslash,
/// tab, newline, carriage return and NUL get a backslash so they survive as data.
pub fn escape_into(data: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, b) in data.iter().enumerate() {
        let esc = match b {
            b'\\' => b'\\',
            b'\t' => b't',
            b'\n' => b'n',
            b'\r' => b'r',
            0 => b'0',
            _ => continue,
        };
        out.extend_from_slice(&data[start..i]);
        out.push(b'\\');
        out.push(esc);
        start = i + 1;
    }
    out.extend_from_slice(&data[start..]);
}
