//! SQLite values to neutral values, checked against the column's target type.

use ferry_core::time::{self, MICROS_PER_DAY, MICROS_PER_SECOND};
use ferry_core::value::{canonical_decimal, parse_uuid};
use ferry_core::{DataType, Value};
use rusqlite::types::ValueRef;

/// Convert one stored value for a column of type `t`. The error says what was found and
/// why it does not fit, without the value itself.
pub fn convert(v: ValueRef<'_>, t: &DataType) -> Result<Value, String> {
    if let ValueRef::Null = v {
        return Ok(Value::Null);
    }
    match t {
        DataType::Int16 | DataType::Int32 | DataType::Int64 => to_int(v),
        DataType::Bool => to_bool(v),
        DataType::Float32 | DataType::Float64 => to_float(v),
        DataType::Decimal { .. } => to_decimal(v),
        DataType::Text | DataType::VarChar(_) | DataType::Char(_) | DataType::Enum { .. } => {
            to_text(v).map(Value::Text)
        }
        DataType::Json => to_text(v).map(Value::Json),
        DataType::Bytes => Ok(Value::Bytes(match v {
            ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
            ValueRef::Integer(i) => i.to_string().into_bytes(),
            ValueRef::Real(f) => real_text(f).into_bytes(),
            ValueRef::Null => unreachable!("handled above"),
        })),
        DataType::Timestamp | DataType::TimestampTz => {
            let micros = to_timestamp(v)?;
            Ok(if *t == DataType::Timestamp {
                Value::Timestamp(micros)
            } else {
                Value::TimestampTz(micros)
            })
        }
        DataType::Date => {
            let micros = to_timestamp(v)?;
            if micros.rem_euclid(MICROS_PER_DAY) != 0 {
                return Err(
                    "timestamp with a time of day in a DATE column (the time would be lost)".into(),
                );
            }
            i32::try_from(micros.div_euclid(MICROS_PER_DAY))
                .map(Value::Date)
                .map_err(|_| "date out of range".into())
        }
        DataType::Time => match v {
            ValueRef::Text(b) => std::str::from_utf8(b)
                .ok()
                .and_then(time::parse_time)
                .map(Value::Time)
                .ok_or_else(|| "text is not a time of day (HH:MM[:SS[.fff]])".into()),
            other => Err(format!("{} in a TIME column", class(other))),
        },
        DataType::Uuid => match v {
            ValueRef::Blob(b) if b.len() == 16 => {
                let mut u = [0u8; 16];
                u.copy_from_slice(b);
                Ok(Value::Uuid(u))
            }
            ValueRef::Text(b) => std::str::from_utf8(b)
                .ok()
                .and_then(parse_uuid)
                .map(Value::Uuid)
                .ok_or_else(|| "text is not a UUID".into()),
            other => Err(format!("{} in a UUID column", class(other))),
        },
        other => match v {
            ValueRef::Text(_) => to_text(v).map(Value::Text),
            _ => Err(format!("{} cannot become {other:?}", class(v))),
        },
    }
}

/// A loose conversion for reject files: keep what was stored, as close as JSON can show.
pub fn raw(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(b) => match std::str::from_utf8(b) {
            Ok(s) => Value::Text(s.to_string()),
            Err(_) => Value::Bytes(b.to_vec()),
        },
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

fn class(v: ValueRef<'_>) -> &'static str {
    match v {
        ValueRef::Null => "NULL",
        ValueRef::Integer(_) => "an integer",
        ValueRef::Real(_) => "a real number",
        ValueRef::Text(_) => "text",
        ValueRef::Blob(_) => "a blob",
    }
}

fn text_of(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))
}

fn to_int(v: ValueRef<'_>) -> Result<Value, String> {
    match v {
        ValueRef::Integer(i) => Ok(Value::Int(i)),
        ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(Value::Int(f as i64)),
        ValueRef::Real(_) => Err("a real number with a fraction in an integer column".into()),
        ValueRef::Text(b) => text_of(b)?
            .trim()
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| "text that is not an integer in an integer column".into()),
        other => Err(format!("{} in an integer column", class(other))),
    }
}

fn to_bool(v: ValueRef<'_>) -> Result<Value, String> {
    match v {
        ValueRef::Integer(0) => Ok(Value::Bool(false)),
        ValueRef::Integer(1) => Ok(Value::Bool(true)),
        ValueRef::Real(f) if f == 0.0 || f == 1.0 => Ok(Value::Bool(f == 1.0)),
        ValueRef::Text(b) => match text_of(b)?.trim().to_ascii_lowercase().as_str() {
            "1" | "t" | "true" | "y" | "yes" | "on" => Ok(Value::Bool(true)),
            "0" | "f" | "false" | "n" | "no" | "off" => Ok(Value::Bool(false)),
            _ => Err("text that is not a boolean in a BOOLEAN column".into()),
        },
        ValueRef::Integer(_) | ValueRef::Real(_) => {
            Err("a number other than 0 or 1 in a BOOLEAN column".into())
        }
        other => Err(format!("{} in a BOOLEAN column", class(other))),
    }
}

fn to_float(v: ValueRef<'_>) -> Result<Value, String> {
    match v {
        ValueRef::Integer(i) => Ok(Value::Float(i as f64)),
        ValueRef::Real(f) => Ok(Value::Float(f)),
        ValueRef::Text(b) => text_of(b)?
            .trim()
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|_| "text that is not a number in a floating-point column".into()),
        other => Err(format!("{} in a floating-point column", class(other))),
    }
}

fn to_decimal(v: ValueRef<'_>) -> Result<Value, String> {
    match v {
        ValueRef::Integer(i) => Ok(Value::Decimal(i.to_string())),
        ValueRef::Real(f) if f.is_finite() => canonical_decimal(&f.to_string())
            .map(Value::Decimal)
            .ok_or_else(|| "real number cannot be written as a decimal".into()),
        ValueRef::Real(_) => Err("NaN or infinity in a decimal column".into()),
        ValueRef::Text(b) => canonical_decimal(text_of(b)?)
            .map(Value::Decimal)
            .ok_or_else(|| "text that is not a number in a decimal column".into()),
        other => Err(format!("{} in a decimal column", class(other))),
    }
}

/// SQLite's own text form of a real: `1.0`, `0.5`, `1.0e+20`-style values stay readable.
fn real_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

fn to_text(v: ValueRef<'_>) -> Result<String, String> {
    match v {
        ValueRef::Text(b) => text_of(b)
            .map(str::to_owned)
            .map_err(|e| format!("{e} in a text column")),
        ValueRef::Integer(i) => Ok(i.to_string()),
        ValueRef::Real(f) => Ok(real_text(f)),
        ValueRef::Blob(b) => std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| "a blob that is not UTF-8 text in a text column".into()),
        ValueRef::Null => unreachable!("handled by convert"),
    }
}

/// Seconds, milliseconds or microseconds since the epoch, told apart by magnitude: seconds
/// reach 1e11 only in the year 5138, milliseconds reach 1e14 in the year 5138.
fn epoch_to_micros(i: i64) -> Result<i64, String> {
    let a = i.unsigned_abs();
    if a < 100_000_000_000 {
        Ok(i * MICROS_PER_SECOND)
    } else if a < 100_000_000_000_000 {
        Ok(i * 1000)
    } else if a < 100_000_000_000_000_000 {
        Ok(i)
    } else {
        Err("integer too large to be a Unix time in seconds, milliseconds or microseconds".into())
    }
}

/// A real is a Julian day when it lies in the Julian-day range of plausible dates
/// (year 0 to 9999), else Unix seconds with a fraction.
fn real_to_micros(f: f64) -> Result<i64, String> {
    if (1_721_059.5..=5_373_484.5).contains(&f) {
        time::julian_day_to_micros(f).ok_or_else(|| "real is not a valid Julian day".into())
    } else if f.is_finite() && f.abs() < 1e11 && f.abs() >= 1e8 {
        Ok((f * 1e6).round() as i64)
    } else {
        Err("a real number that is neither a Julian day nor a Unix time".into())
    }
}

fn to_timestamp(v: ValueRef<'_>) -> Result<i64, String> {
    match v {
        ValueRef::Integer(i) => epoch_to_micros(i),
        ValueRef::Real(f) => real_to_micros(f),
        ValueRef::Text(b) => {
            let s = text_of(b)?;
            if let Some(ts) = time::parse_timestamp(s) {
                return Ok(ts.micros);
            }
            let t = s.trim();
            if let Ok(i) = t.parse::<i64>() {
                return epoch_to_micros(i);
            }
            if let Ok(f) = t.parse::<f64>() {
                return real_to_micros(f);
            }
            Err("text that is not an ISO-8601 date/time, a Julian day or a Unix time".into())
        }
        other => Err(format!("{} in a date/time column", class(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::time::days_from_civil;

    fn ts(y: i64, m: u32, d: u32, h: i64, mi: i64, s: i64) -> i64 {
        days_from_civil(y, m, d) * MICROS_PER_DAY + ((h * 60 + mi) * 60 + s) * MICROS_PER_SECOND
    }

    #[test]
    fn dates_in_every_sqlite_habit() {
        let want = ts(2023, 11, 14, 22, 13, 20);
        let t = DataType::Timestamp;
        assert_eq!(
            convert(ValueRef::Text(b"2023-11-14 22:13:20"), &t),
            Ok(Value::Timestamp(want))
        );
        assert_eq!(
            convert(ValueRef::Text(b"2023-11-14T22:13:20Z"), &t),
            Ok(Value::Timestamp(want))
        );
        assert_eq!(
            convert(ValueRef::Integer(1_700_000_000), &t),
            Ok(Value::Timestamp(want))
        );
        assert_eq!(
            convert(ValueRef::Integer(1_700_000_000_000), &t),
            Ok(Value::Timestamp(want))
        );
        assert_eq!(
            convert(ValueRef::Text(b"1700000000"), &t),
            Ok(Value::Timestamp(want))
        );
        // julianday('2023-11-14 22:13:20') = 2460263.425925926
        assert_eq!(
            convert(ValueRef::Real(2_460_263.425_925_926), &t),
            Ok(Value::Timestamp(want))
        );
        assert!(convert(ValueRef::Text(b"next tuesday"), &t).is_err());
        assert!(convert(ValueRef::Blob(b"x"), &t).is_err());
        let d = DataType::Date;
        assert_eq!(
            convert(ValueRef::Text(b"2023-11-14"), &d),
            Ok(Value::Date(days_from_civil(2023, 11, 14) as i32))
        );
        assert!(convert(ValueRef::Text(b"2023-11-14 10:00:00"), &d).is_err());
    }

    #[test]
    fn loose_affinity_is_checked() {
        assert_eq!(
            convert(ValueRef::Text(b" 42 "), &DataType::Int64),
            Ok(Value::Int(42))
        );
        assert_eq!(
            convert(ValueRef::Real(3.0), &DataType::Int64),
            Ok(Value::Int(3))
        );
        assert!(convert(ValueRef::Text(b"forty-two"), &DataType::Int64)
            .expect_err("text")
            .contains("integer column"));
        assert!(convert(ValueRef::Real(2.5), &DataType::Int64).is_err());
        assert!(convert(ValueRef::Text(b"\xff\xfe"), &DataType::Text)
            .expect_err("utf8")
            .contains("invalid UTF-8"));
        assert_eq!(
            convert(ValueRef::Integer(7), &DataType::Text),
            Ok(Value::Text("7".into()))
        );
        assert_eq!(
            convert(
                ValueRef::Real(0.99),
                &DataType::Decimal {
                    precision: Some(10),
                    scale: Some(2)
                }
            ),
            Ok(Value::Decimal("0.99".into()))
        );
        assert_eq!(
            convert(ValueRef::Text(b"t"), &DataType::Bool),
            Ok(Value::Bool(true))
        );
        assert!(convert(ValueRef::Integer(2), &DataType::Bool).is_err());
        assert_eq!(convert(ValueRef::Null, &DataType::Int64), Ok(Value::Null));
    }

    #[test]
    fn raw_keeps_invalid_text_as_bytes() {
        assert_eq!(raw(ValueRef::Text(b"\xff")), Value::Bytes(vec![0xff]));
        assert_eq!(raw(ValueRef::Text(b"ok")), Value::Text("ok".into()));
    }
}
