//! Value conversion both ways: MySQL text-protocol cells to neutral [`Value`]s (reader) and
//! neutral values to the text MySQL loads, checked against the target column first so a bad
//! value is reported by table, column and key instead of as a server error (writer).

use ferry_core::time::{civil_from_days, days_from_civil, days_in_month, MICROS_PER_DAY};
use ferry_core::value::{canonical_decimal, format_uuid, parse_uuid};
use ferry_core::{DataType, Value};
use ferry_schema::rules::DeclaredType;
use std::io::Write as _;

/// How the reader turns one column's cells into values.
#[derive(Debug, Clone)]
pub struct ReadCodec {
    /// The neutral type to produce.
    pub data_type: DataType,
    /// The column's declared MySQL base type, upper-case (`BIT`, `SET`, `TIMESTAMP`, ...).
    pub base: String,
    /// Whether NULL is allowed (zero dates become NULL only then).
    pub nullable: bool,
    /// Zero and partial dates decode to their text as stored (MySQL -> MySQL) instead of
    /// [`Bad::ZeroDate`].
    pub keep_zero_dates: bool,
}

/// Why a cell could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bad {
    /// A zero date (`0000-00-00`, or a zero month or day).
    ZeroDate,
    /// Anything else, with the reason (never the value).
    Invalid(String),
}

impl ReadCodec {
    /// A codec for a column declared as `column_type` and mapped to `data_type`.
    pub fn new(column_type: &str, data_type: DataType, nullable: bool) -> Self {
        ReadCodec {
            data_type,
            base: DeclaredType::parse(column_type).base,
            nullable,
            keep_zero_dates: false,
        }
    }

    /// Convert one cell (`None` is SQL NULL).
    pub fn decode(&self, cell: Option<Vec<u8>>) -> Result<Value, Bad> {
        let Some(raw) = cell else {
            return Ok(Value::Null);
        };
        let bit = self.base == "BIT";
        let text = |raw: Vec<u8>| {
            String::from_utf8(raw).map_err(|_| Bad::Invalid("text is not valid UTF-8".into()))
        };
        let int = |raw: &[u8]| -> Result<i128, Bad> {
            if bit {
                return Ok(raw.iter().fold(0i128, |acc, b| (acc << 8) | i128::from(*b)));
            }
            std::str::from_utf8(raw)
                .ok()
                .and_then(|s| s.trim().parse::<i128>().ok())
                .ok_or_else(|| Bad::Invalid("not an integer".into()))
        };
        let ranged = |v: i128, lo: i128, hi: i128, name: &str| -> Result<Value, Bad> {
            if v < lo || v > hi {
                Err(Bad::Invalid(format!("integer out of range for {name}")))
            } else {
                Ok(Value::Int(v as i64))
            }
        };
        Ok(match &self.data_type {
            DataType::Bool => match int(&raw)? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => {
                    return Err(Bad::Invalid(
                        "value other than 0 or 1 in a boolean column".into(),
                    ))
                }
            },
            DataType::Int16 => ranged(int(&raw)?, i16::MIN.into(), i16::MAX.into(), "smallint")?,
            DataType::Int32 => ranged(int(&raw)?, i32::MIN.into(), i32::MAX.into(), "integer")?,
            DataType::Int64 => ranged(int(&raw)?, i64::MIN.into(), i64::MAX.into(), "bigint")?,
            DataType::Float32 | DataType::Float64 => {
                let s = text(raw)?;
                Value::Float(
                    s.trim()
                        .parse::<f64>()
                        .map_err(|_| Bad::Invalid("not a number".into()))?,
                )
            }
            DataType::Decimal { .. } => {
                if bit {
                    Value::Decimal(int(&raw)?.to_string())
                } else {
                    let s = text(raw)?;
                    Value::Decimal(
                        canonical_decimal(&s)
                            .ok_or_else(|| Bad::Invalid("not a decimal number".into()))?,
                    )
                }
            }
            DataType::Text
            | DataType::VarChar(_)
            | DataType::Char(_)
            | DataType::Enum { .. }
            | DataType::Interval => Value::Text(text(raw)?),
            DataType::Json => Value::Json(text(raw)?),
            // MySQL stores spatial values as a 4-byte SRID followed by WKB; WKB is what travels.
            DataType::Bytes if ferry_schema::mysql::is_spatial(&self.base) => {
                Value::Bytes(raw.get(4..).unwrap_or_default().to_vec())
            }
            DataType::Bytes | DataType::Bit(_) => Value::Bytes(raw),
            DataType::Date | DataType::Timestamp | DataType::TimestampTz
                if self.keep_zero_dates && is_zero_date(&raw) =>
            {
                Value::Text(text(raw)?)
            }
            DataType::Date => match parse_datetime(&raw)? {
                (d, 0) => Value::Date(d),
                _ => return Err(Bad::Invalid("date has a time part".into())),
            },
            DataType::Timestamp => {
                let (d, us) = parse_datetime(&raw)?;
                Value::Timestamp(i64::from(d) * MICROS_PER_DAY + us)
            }
            DataType::TimestampTz => {
                let (d, us) = parse_datetime(&raw)?;
                Value::TimestampTz(i64::from(d) * MICROS_PER_DAY + us)
            }
            DataType::Time => {
                Value::Time(parse_time(&raw).ok_or_else(|| Bad::Invalid("not a time".into()))?)
            }
            DataType::Uuid => {
                let u = if raw.len() == 16 {
                    let mut u = [0u8; 16];
                    u.copy_from_slice(&raw);
                    u
                } else {
                    parse_uuid(&text(raw)?).ok_or_else(|| Bad::Invalid("not a UUID".into()))?
                };
                Value::Uuid(u)
            }
            DataType::Set(_) => {
                let s = text(raw)?;
                let items: Vec<Value> = if s.is_empty() {
                    Vec::new()
                } else {
                    s.split(',').map(|p| Value::Text(p.to_string())).collect()
                };
                Value::Array(Box::new(items))
            }
            DataType::Array(_) => Value::Json(text(raw)?),
        })
    }
}

/// `YYYY-MM-DD[ HH:MM:SS[.ffffff]]` into (days since 1970, micros into the day). Zero dates
/// (year, month or day zero) are [`Bad::ZeroDate`].
pub fn parse_datetime(raw: &[u8]) -> Result<(i32, i64), Bad> {
    let bad = || Bad::Invalid("not a date".into());
    let num = |s: &[u8]| -> Option<u32> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        s.iter().try_fold(0u32, |a, b| {
            a.checked_mul(10)?.checked_add(u32::from(b - b'0'))
        })
    };
    if raw.len() < 10 || raw[4] != b'-' || raw[7] != b'-' {
        return Err(bad());
    }
    let (y, m, d) = (
        num(&raw[0..4]).ok_or_else(bad)?,
        num(&raw[5..7]).ok_or_else(bad)?,
        num(&raw[8..10]).ok_or_else(bad)?,
    );
    if y == 0 || m == 0 || d == 0 {
        return Err(Bad::ZeroDate);
    }
    if m > 12 || d > days_in_month(i64::from(y), m) {
        return Err(bad());
    }
    let days = days_from_civil(i64::from(y), m, d) as i32;
    let micros = if raw.len() > 10 {
        parse_time(&raw[11..]).ok_or_else(bad)?
    } else {
        0
    };
    Ok((days, micros))
}

/// Whether `raw` is a well-formed MySQL zero or partial date (`0000-00-00`,
/// `2024-00-00 00:00:00`, `2024-05-00 10:11:12.5`): year, month or day zero, the rest valid.
pub fn is_zero_date(raw: &[u8]) -> bool {
    parse_datetime(raw) == Err(Bad::ZeroDate)
        && raw[5..7] <= b"12"[..]
        && raw[8..10] <= b"31"[..]
        && (raw.len() == 10 || (raw[10] == b' ' && parse_time(&raw[11..]).is_some()))
}

/// `[-]H+:MM:SS[.ffffff]` into signed microseconds (MySQL TIME spans ±838 hours).
pub fn parse_time(raw: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(raw).ok()?.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut it = hms.split(':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec: i64 = it.next().unwrap_or("0").parse().ok()?;
    if m > 59 || sec > 59 || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let us: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    let total = ((h * 60 + m) * 60 + sec) * 1_000_000 + us;
    Some(if neg { -total } else { total })
}

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
            ferry_schema::mysql::enum_labels(column_type)
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
    if let Some((lo, hi)) = col.int_range() {
        let n = as_int(v)?;
        if n < lo || n > hi {
            return Err(format!(
                "{n} is out of range for {}{}",
                base.to_ascii_lowercase(),
                if col.unsigned { " unsigned" } else { "" }
            ));
        }
        let _ = write!(buf, "{n}");
        return Ok(Cell::Data);
    }
    match base {
        "BIT" => {
            let n = match v {
                Value::Bytes(b) if b.len() <= 8 => {
                    b.iter().fold(0i128, |a, x| (a << 8) | i128::from(*x))
                }
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
        }
        "FLOAT" | "DOUBLE" | "REAL" | "DOUBLE PRECISION" => {
            let f = match v {
                Value::Float(f) => *f,
                Value::Int(i) => *i as f64,
                Value::UInt(u) => *u as f64,
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::Decimal(s) | Value::Text(s) => {
                    s.trim().parse().map_err(|_| "not a number")?
                }
                other => return Err(mismatch(other, base)),
            };
            if !f.is_finite() {
                return Err("NaN or infinity cannot be stored in MySQL".into());
            }
            if base == "FLOAT" && f.abs() > f64::from(f32::MAX) {
                return Err("out of range for float".into());
            }
            let _ = write!(buf, "{f:?}");
        }
        "DECIMAL" | "NUMERIC" | "DEC" | "FIXED" => {
            let text = match v {
                Value::Decimal(s) | Value::Text(s) => {
                    canonical_decimal(s).ok_or("not a decimal number")?
                }
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
        }
        "YEAR" => {
            let n = as_int(v)?;
            if n != 0 && !(1901..=2155).contains(&n) {
                return Err(format!("{n} is not a YEAR (1901-2155)"));
            }
            let _ = write!(buf, "{n}");
        }
        // A zero date read from another MySQL server goes back as it was; the session's
        // sql_mode (no NO_ZERO_DATE/NO_ZERO_IN_DATE) lets the server store it.
        "DATE" | "DATETIME" | "TIMESTAMP"
            if matches!(v, Value::Text(s) if is_zero_date(s.as_bytes())
                && (base != "DATE" || s.len() == 10)) =>
        {
            if let Value::Text(s) = v {
                buf.extend_from_slice(s.as_bytes());
            }
        }
        "DATE" => {
            let days = match v {
                Value::Date(d) => i64::from(*d),
                Value::Timestamp(t) | Value::TimestampTz(t)
                    if t.rem_euclid(MICROS_PER_DAY) == 0 =>
                {
                    t.div_euclid(MICROS_PER_DAY)
                }
                Value::Text(s) => ferry_core::time::parse_date(s)
                    .map(i64::from)
                    .ok_or("text is not a date")?,
                other => return Err(mismatch(other, base)),
            };
            write_date(days, buf)?;
        }
        "DATETIME" | "TIMESTAMP" => {
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
        }
        "TIME" => {
            let us = match v {
                Value::Time(t) => *t,
                Value::Text(s) => parse_time(s.as_bytes()).ok_or("text is not a time")?,
                other => return Err(mismatch(other, base)),
            };
            if us.abs() > 838 * 3_600_000_000 + 59 * 60_000_000 + 59_999_999 {
                return Err("time outside MySQL's range (±838:59:59)".into());
            }
            write_time(us, buf);
        }
        "ENUM" => {
            let s = text_of(v)?;
            let label = col
                .labels
                .iter()
                .find(|l| l.eq_ignore_ascii_case(&s))
                .ok_or("value is not one of the ENUM labels")?;
            buf.extend_from_slice(label.as_bytes());
        }
        "SET" => {
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
        }
        "JSON" => {
            let s = match v {
                Value::Json(s) | Value::Text(s) => s.clone(),
                Value::Array(_) => v.to_json().to_string(),
                other => return Err(mismatch(other, base)),
            };
            if serde_json::from_str::<serde::de::IgnoredAny>(&s).is_err() {
                return Err("text is not valid JSON".into());
            }
            buf.extend_from_slice(s.as_bytes());
        }
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
            match v {
                Value::Bytes(b) => buf.extend_from_slice(b),
                Value::Uuid(u) if col.args.first() == Some(&16) => buf.extend_from_slice(u),
                other => buf.extend_from_slice(text_of(other)?.as_bytes()),
            }
            check_len(col, buf, false)?;
        }
        b if ferry_schema::mysql::is_spatial(b) => match v {
            // WKB in, MySQL's internal form out: SRID 0, then the WKB.
            Value::Bytes(b) => {
                buf.extend_from_slice(&[0, 0, 0, 0]);
                buf.extend_from_slice(b);
            }
            other => return Err(mismatch(other, base)),
        },
        _ => {
            match v {
                Value::Bytes(b) => {
                    std::str::from_utf8(b).map_err(|_| "bytes are not valid UTF-8 text")?;
                    buf.extend_from_slice(b);
                }
                other => buf.extend_from_slice(text_of(other)?.as_bytes()),
            }
            check_len(col, buf, true)?;
        }
    }
    Ok(Cell::Data)
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
        Value::Interval(iv) => format!(
            "{} months {} days {} microseconds",
            iv.months, iv.days, iv.micros
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(t: &str, dt: DataType, nullable: bool) -> ReadCodec {
        ReadCodec::new(t, dt, nullable)
    }

    #[test]
    fn cells_decode_by_type() {
        let c = codec(
            "bigint(20) unsigned",
            DataType::Decimal {
                precision: Some(20),
                scale: Some(0),
            },
            true,
        );
        assert_eq!(
            c.decode(Some(b"18446744073709551615".to_vec())),
            Ok(Value::Decimal("18446744073709551615".into()))
        );
        let c = codec("int(10) unsigned", DataType::Int64, true);
        assert_eq!(
            c.decode(Some(b"4294967295".to_vec())),
            Ok(Value::Int(4_294_967_295))
        );
        let c = codec("bit(1)", DataType::Bool, true);
        assert_eq!(c.decode(Some(vec![1])), Ok(Value::Bool(true)));
        let c = codec("date", DataType::Date, true);
        assert_eq!(c.decode(Some(b"0000-00-00".to_vec())), Err(Bad::ZeroDate));
        let keep = ReadCodec {
            keep_zero_dates: true,
            ..c.clone()
        };
        assert_eq!(
            keep.decode(Some(b"2024-00-00".to_vec())),
            Ok(Value::Text("2024-00-00".into()))
        );
        assert!(is_zero_date(b"0000-00-00 00:00:00.000"));
        assert!(!is_zero_date(b"2024-13-00"));
        assert!(!is_zero_date(b"2024-01-01"));
        assert!(!is_zero_date(b"0000-00-00 10:99"));
        assert_eq!(c.decode(Some(b"2020-00-15".to_vec())), Err(Bad::ZeroDate));
        assert_eq!(c.decode(Some(b"1970-01-02".to_vec())), Ok(Value::Date(1)));
        let c = codec("datetime(6)", DataType::Timestamp, true);
        assert_eq!(
            c.decode(Some(b"1970-01-01 00:00:01.5".to_vec())),
            Ok(Value::Timestamp(1_500_000))
        );
        let c = codec("time", DataType::Time, true);
        assert_eq!(
            c.decode(Some(b"-838:59:59".to_vec())),
            Ok(Value::Time(-(838 * 3600 + 59 * 60 + 59) * 1_000_000))
        );
        let c = codec("set('a','b')", DataType::Set(vec![]), true);
        assert_eq!(
            c.decode(Some(b"a,b".to_vec())),
            Ok(Value::Array(Box::new(vec![
                Value::Text("a".into()),
                Value::Text("b".into())
            ])))
        );
        let c = codec("tinyint(1)", DataType::Bool, true);
        assert!(matches!(
            c.decode(Some(b"2".to_vec())),
            Err(Bad::Invalid(_))
        ));
    }

    #[test]
    fn values_are_checked_against_the_target_column() {
        let mut buf = Vec::new();
        let tiny_u = WriteCol::new("a".into(), "tinyint(3) unsigned", false, "");
        assert_eq!(render(&Value::Int(255), &tiny_u, &mut buf), Ok(Cell::Data));
        assert!(render(&Value::Int(256), &tiny_u, &mut buf).is_err());
        assert!(render(&Value::Int(-1), &tiny_u, &mut buf).is_err());
        assert!(render(&Value::Null, &tiny_u, &mut buf).is_err());
        let big_u = WriteCol::new("b".into(), "bigint(20) unsigned", true, "");
        render(
            &Value::Decimal("18446744073709551615".into()),
            &big_u,
            &mut buf,
        )
        .expect("max fits");
        assert_eq!(buf, b"18446744073709551615");
        let vc = WriteCol::new("c".into(), "varchar(3)", true, "");
        assert!(render(&Value::Text("😀😀😀".into()), &vc, &mut buf).is_ok());
        assert!(render(&Value::Text("abcd".into()), &vc, &mut buf).is_err());
        let e = WriteCol::new("e".into(), "enum('x','y')", true, "");
        assert!(render(&Value::Text("z".into()), &e, &mut buf).is_err());
        let ts = WriteCol::new("t".into(), "timestamp", true, "");
        assert!(render(&Value::TimestampTz(0), &ts, &mut buf).is_err());
        let dt = WriteCol::new("d".into(), "datetime(6)", true, "");
        render(&Value::Timestamp(1_500_000), &dt, &mut buf).expect("fits");
        assert_eq!(buf, b"1970-01-01 00:00:01.500000");
        let dec = WriteCol::new("m".into(), "decimal(5,2)", true, "");
        assert!(render(&Value::Decimal("1234.5".into()), &dec, &mut buf).is_err());
        render(&Value::Decimal("-123.45".into()), &dec, &mut buf).expect("fits");
    }

    #[test]
    fn load_data_escaping() {
        let mut out = Vec::new();
        escape_into(b"a\tb\\c\nd\0", &mut out);
        assert_eq!(out, b"a\\tb\\\\c\\nd\\0");
    }
}
