//! Value conversion both ways: MySQL text-protocol cells to neutral [`Value`]s (reader) and
//! neutral values to the text MySQL loads, checked against the target column first so a bad
//! value is reported by table, column and key instead of as a server error (writer).

use ferry_core::time::{days_from_civil, days_in_month, MICROS_PER_DAY};
use ferry_core::value::{canonical_decimal, parse_uuid};
use ferry_core::{DataType, Value};
use ferry_schema::rules::DeclaredType;

mod render;
pub use render::{escape_into, render, Cell, WriteCol};

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
        Ok(match &self.data_type {
            DataType::Bool => match self.int(&raw)? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => {
                    return Err(Bad::Invalid(
                        "value other than 0 or 1 in a boolean column".into(),
                    ))
                }
            },
            DataType::Int16 => ranged(
                self.int(&raw)?,
                i16::MIN.into(),
                i16::MAX.into(),
                "smallint",
            )?,
            DataType::Int32 => {
                ranged(self.int(&raw)?, i32::MIN.into(), i32::MAX.into(), "integer")?
            }
            DataType::Int64 => ranged(self.int(&raw)?, i64::MIN.into(), i64::MAX.into(), "bigint")?,
            DataType::Float64 => Value::Float(
                text(raw)?
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| Bad::Invalid("not a number".into()))?,
            ),
            // The single the column stores, widened: the copy reads it in full as a double
            // (`col + 0e0`), the binlog as its shortest text; both become the same value.
            DataType::Float32 => {
                let wide = text(raw)?
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| Bad::Invalid("not a number".into()))?;
                let single = wide as f32;
                if wide.is_finite() && !single.is_finite() {
                    return Err(Bad::Invalid(
                        "out of range for a single-precision float".into(),
                    ));
                }
                Value::Float(f64::from(single))
            }
            DataType::Decimal { .. } if self.base == "BIT" => {
                Value::Decimal(self.int(&raw)?.to_string())
            }
            DataType::Decimal { .. } => Value::Decimal(
                canonical_decimal(&text(raw)?)
                    .ok_or_else(|| Bad::Invalid("not a decimal number".into()))?,
            ),
            // A TIME mapped to interval (a duration, as MySQL means it): its microseconds.
            DataType::Interval if self.base == "TIME" => {
                Value::Time(parse_time(&raw).ok_or_else(|| Bad::Invalid("not a time".into()))?)
            }
            DataType::Text
            | DataType::VarChar(_)
            | DataType::Char(_)
            | DataType::Enum { .. }
            | DataType::Interval => Value::Text(text(raw)?),
            DataType::Json | DataType::Array(_) => Value::Json(text(raw)?),
            // MySQL stores spatial values as a 4-byte SRID followed by WKB; WKB is what travels.
            DataType::Bytes if ferry_schema::source::mysql::is_spatial(&self.base) => {
                Value::Bytes(raw.get(4..).unwrap_or_default().to_vec())
            }
            DataType::Bytes | DataType::Bit(_) => Value::Bytes(raw),
            DataType::Date | DataType::Timestamp | DataType::TimestampTz | DataType::Time => {
                self.decode_temporal(raw)?
            }
            DataType::Uuid => decode_uuid(raw)?,
            DataType::Set(_) => {
                let s = text(raw)?;
                let items: Vec<Value> = if s.is_empty() {
                    Vec::new()
                } else {
                    s.split(',').map(|p| Value::Text(p.to_string())).collect()
                };
                Value::Array(Box::new(items))
            }
        })
    }

    /// An integer cell (a `BIT` column's cell is its big-endian bytes).
    fn int(&self, raw: &[u8]) -> Result<i128, Bad> {
        if self.base == "BIT" {
            return Ok(raw.iter().fold(0i128, |acc, b| (acc << 8) | i128::from(*b)));
        }
        std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.trim().parse::<i128>().ok())
            .ok_or_else(|| Bad::Invalid("not an integer".into()))
    }

    /// A date, timestamp or time cell; a zero date stays text when the codec keeps them.
    fn decode_temporal(&self, raw: Vec<u8>) -> Result<Value, Bad> {
        if self.keep_zero_dates && self.data_type != DataType::Time && is_zero_date(&raw) {
            return Ok(Value::Text(text(raw)?));
        }
        Ok(match &self.data_type {
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
            _ => Value::Time(parse_time(&raw).ok_or_else(|| Bad::Invalid("not a time".into()))?),
        })
    }
}

/// A cell as UTF-8 text.
fn text(raw: Vec<u8>) -> Result<String, Bad> {
    String::from_utf8(raw).map_err(|_| Bad::Invalid("text is not valid UTF-8".into()))
}

/// `v` as an integer value when it lies in `[lo, hi]`.
fn ranged(v: i128, lo: i128, hi: i128, name: &str) -> Result<Value, Bad> {
    if v < lo || v > hi {
        Err(Bad::Invalid(format!("integer out of range for {name}")))
    } else {
        Ok(Value::Int(v as i64))
    }
}

/// A UUID from its 16 bytes (`binary(16)`) or its text.
fn decode_uuid(raw: Vec<u8>) -> Result<Value, Bad> {
    let u = if raw.len() == 16 {
        let mut u = [0u8; 16];
        u.copy_from_slice(&raw);
        u
    } else {
        parse_uuid(&text(raw)?).ok_or_else(|| Bad::Invalid("not a UUID".into()))?
    };
    Ok(Value::Uuid(u))
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

/// Why a zero date in NOT NULL column `column` of `table` cannot go to a target without
/// zero dates, and the two ways on.
pub fn zero_date_refusal(table: &str, column: &str) -> String {
    format!(
        "zero date in NOT NULL column `{column}`, which the target cannot store; keep such values as written with `[columns] \"{table}.{column}\" = \"text\"` in the config, or set their rows aside with --on-error reject"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(t: &str, dt: DataType, nullable: bool) -> ReadCodec {
        ReadCodec::new(t, dt, nullable)
    }

    #[test]
    fn a_float_is_the_stored_single_however_it_was_printed() {
        let c = codec("float", DataType::Float32, true);
        let single = Ok(Value::Float(f64::from(1.1f32)));
        // The copy's full double, and the binlog's shortest text of the same single.
        assert_eq!(c.decode(Some(b"1.100000023841858".to_vec())), single);
        assert_eq!(c.decode(Some(b"1.1".to_vec())), single);
        assert_eq!(
            c.decode(Some(b"16777216".to_vec())),
            Ok(Value::Float(16_777_216.0))
        );
        assert!(matches!(
            c.decode(Some(b"1e39".to_vec())),
            Err(Bad::Invalid(_))
        ));
        let c = codec("double", DataType::Float64, true);
        assert_eq!(c.decode(Some(b"1.1".to_vec())), Ok(Value::Float(1.1)));
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
