//! Neutral values to PostgreSQL's binary COPY format, checked per row so that a value the
//! server would refuse becomes a clear error (or a reject) naming the column, never an
//! obscure server error halfway through a COPY.

use bytes::{BufMut, BytesMut};
use ferry_core::{Column, DataType, Table, Value};

mod wire;
pub use wire::encode_numeric;
use wire::{encode_array, encode_varbit};

/// The 19-byte header that starts every binary COPY stream.
pub const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between 1970-01-01 and 2000-01-01.
pub const PG_EPOCH_DAYS: i32 = 10_957;

/// How one column is written.
#[derive(Debug, Clone)]
struct ColumnCodec {
    data_type: DataType,
    nullable: bool,
    /// Character limit of varchar(n)/char(n).
    max_chars: Option<usize>,
    /// Integer digits numeric(p,s) allows.
    max_int_digits: Option<usize>,
}

/// Encodes rows of one table.
#[derive(Debug, Clone)]
pub struct RowEncoder {
    columns: Vec<ColumnCodec>,
    names: Vec<String>,
}

/// Why a value was refused: the column index and a reason without the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// Index of the column among the copied columns.
    pub column: usize,
    /// What is wrong, without the value itself.
    pub reason: String,
}

type Refusal = String;

impl RowEncoder {
    /// An encoder for `table`'s copied columns.
    pub fn new(table: &Table) -> Self {
        let columns: Vec<&Column> = table.copied_columns().collect();
        RowEncoder {
            names: columns.iter().map(|c| c.name.clone()).collect(),
            columns: columns
                .iter()
                .map(|c| ColumnCodec {
                    data_type: c.data_type.clone(),
                    nullable: c.nullable,
                    max_chars: match c.data_type {
                        DataType::VarChar(n) | DataType::Char(n) => Some(n as usize),
                        _ => None,
                    },
                    max_int_digits: match c.data_type {
                        DataType::Decimal {
                            precision: Some(p),
                            scale,
                        } => Some(p.saturating_sub(scale.unwrap_or(0)) as usize),
                        _ => None,
                    },
                })
                .collect(),
        }
    }

    /// The name of column `i`.
    pub fn column_name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Append one row to `buf`. On a refused value, `buf` is left exactly as it was.
    pub fn encode_row(&self, row: &[Value], buf: &mut BytesMut) -> Result<(), ValueError> {
        self.encode_row_except(row, &[], buf)
    }

    /// [`RowEncoder::encode_row`], with the columns in `absent` written as NULL whatever
    /// they hold: placeholders for values a replicated change did not carry (an unchanged
    /// TOAST value, a non-key column of an old key), never bound by the caller.
    pub fn encode_row_except(
        &self,
        row: &[Value],
        absent: &[usize],
        buf: &mut BytesMut,
    ) -> Result<(), ValueError> {
        let start = buf.len();
        buf.put_i16(self.columns.len() as i16);
        for (i, (codec, value)) in self.columns.iter().zip(row).enumerate() {
            if absent.contains(&i) {
                buf.put_i32(-1);
                continue;
            }
            if let Err(reason) = encode_value(codec, value, buf) {
                buf.truncate(start);
                return Err(ValueError { column: i, reason });
            }
        }
        Ok(())
    }
}

fn put_len_prefixed(buf: &mut BytesMut, bytes: &[u8]) {
    buf.put_i32(bytes.len() as i32);
    buf.put_slice(bytes);
}

fn check_text(codec: &ColumnCodec, s: &str) -> Result<(), Refusal> {
    if memchr::memchr(0, s.as_bytes()).is_some() {
        return Err("text contains a NUL byte (0x00), which PostgreSQL text cannot store".into());
    }
    if let Some(max) = codec.max_chars {
        // Characters never outnumber bytes, so only long values need counting.
        if s.len() > max {
            let n = s.chars().count();
            if n > max {
                return Err(format!(
                    "text of {n} characters is longer than the column's limit of {max}"
                ));
            }
        }
    }
    Ok(())
}

fn encode_value(codec: &ColumnCodec, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    if let Value::Null = value {
        if !codec.nullable {
            return Err("NULL in a NOT NULL column".into());
        }
        buf.put_i32(-1);
        return Ok(());
    }
    encode_typed(codec, &codec.data_type, value, buf)
}

fn int_value(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(*i),
        Value::UInt(u) => i64::try_from(*u).ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn mismatch(t: &DataType, v: &Value) -> Refusal {
    format!(
        "a {} value cannot be written to a {t:?} column",
        v.kind_name()
    )
}

/// Append `value` in PostgreSQL's binary form of `t` (length-prefixed), or say why it does
/// not fit.
fn encode_typed(
    codec: &ColumnCodec,
    t: &DataType,
    value: &Value,
    buf: &mut BytesMut,
) -> Result<(), Refusal> {
    match t {
        DataType::Bool => encode_bool(t, value, buf),
        DataType::Int16 | DataType::Int32 | DataType::Int64 => encode_int(t, value, buf),
        DataType::Float32 | DataType::Float64 => encode_float(t, value, buf),
        DataType::Decimal { .. } => encode_decimal(codec, t, value, buf),
        DataType::Text | DataType::VarChar(_) | DataType::Char(_) | DataType::Enum { .. } => {
            encode_text(codec, t, value, buf)
        }
        DataType::Json => encode_json(t, value, buf),
        DataType::Bytes => match value {
            Value::Bytes(b) => {
                put_len_prefixed(buf, b);
                Ok(())
            }
            Value::Text(s) => {
                put_len_prefixed(buf, s.as_bytes());
                Ok(())
            }
            _ => Err(mismatch(t, value)),
        },
        DataType::Date => encode_date(t, value, buf),
        DataType::Time => encode_time(t, value, buf),
        DataType::Timestamp | DataType::TimestampTz => encode_timestamp(t, value, buf),
        DataType::Interval => encode_interval(t, value, buf),
        DataType::Uuid => encode_uuid(t, value, buf),
        DataType::Bit(n) => encode_bit(*n, t, value, buf),
        DataType::Set(_) => encode_set(t, value, buf),
        DataType::Array(inner) => encode_array_value(inner, t, value, buf),
    }
}

/// A boolean.
fn encode_bool(t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    let b = match value {
        Value::Bool(b) => *b,
        Value::Int(0) => false,
        Value::Int(1) => true,
        _ => return Err(mismatch(t, value)),
    };
    buf.put_i32(1);
    buf.put_u8(u8::from(b));
    Ok(())
}

/// An integer that fits the column's width.
fn encode_int(t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    let v = int_value(value).ok_or_else(|| match value {
        Value::UInt(_) => "integer is larger than bigint allows".to_string(),
        _ => mismatch(t, value),
    })?;
    match t {
        DataType::Int16 => {
            let v = i16::try_from(v).map_err(|_| "integer out of range for smallint")?;
            buf.put_i32(2);
            buf.put_i16(v);
        }
        DataType::Int32 => {
            let v = i32::try_from(v).map_err(|_| "integer out of range for integer")?;
            buf.put_i32(4);
            buf.put_i32(v);
        }
        _ => {
            buf.put_i32(8);
            buf.put_i64(v);
        }
    }
    Ok(())
}

/// A floating-point number.
fn encode_float(t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    let f = match value {
        Value::Float(f) => *f,
        Value::Int(i) => *i as f64,
        Value::UInt(u) => *u as f64,
        Value::Decimal(d) => d.parse().map_err(|_| mismatch(t, value))?,
        _ => return Err(mismatch(t, value)),
    };
    if *t == DataType::Float32 {
        buf.put_i32(4);
        buf.put_f32(f as f32);
    } else {
        buf.put_i32(8);
        buf.put_f64(f);
    }
    Ok(())
}

/// A numeric whose integer digits fit the column.
fn encode_decimal(
    codec: &ColumnCodec,
    t: &DataType,
    value: &Value,
    buf: &mut BytesMut,
) -> Result<(), Refusal> {
    let text;
    let d: &str = match value {
        Value::Decimal(d) => d,
        Value::Int(i) => {
            text = i.to_string();
            &text
        }
        Value::UInt(u) => {
            text = u.to_string();
            &text
        }
        Value::Float(f) if f.is_finite() => {
            text = ferry_core::value::canonical_decimal(&f.to_string()).ok_or("not a number")?;
            &text
        }
        Value::Float(_) => {
            return Err("NaN or infinity cannot be stored in a numeric column here".into())
        }
        _ => return Err(mismatch(t, value)),
    };
    encode_numeric(d, codec.max_int_digits, buf)?;
    Ok(())
}

/// Text (also enum labels) that fits the column.
fn encode_text(
    codec: &ColumnCodec,
    t: &DataType,
    value: &Value,
    buf: &mut BytesMut,
) -> Result<(), Refusal> {
    let text;
    let s: &str = match value {
        Value::Text(s) | Value::Json(s) | Value::Decimal(s) => s,
        Value::Int(i) => {
            text = i.to_string();
            &text
        }
        Value::Float(f) => {
            text = f.to_string();
            &text
        }
        _ => return Err(mismatch(t, value)),
    };
    check_text(codec, s)?;
    if let DataType::Enum { labels, .. } = t {
        // PostgreSQL would refuse the whole COPY without naming the row.
        if !labels.is_empty() && !labels.iter().any(|l| l == s) {
            return Err(if s.is_empty() {
                "'' is not one of the enum's labels: it is MySQL's error value, stored for an invalid value outside strict mode; keep such values with `[columns] \"table.column\" = \"text\"`, or set the rows aside with --on-error reject".into()
            } else {
                "the value is not one of the enum's labels".into()
            });
        }
    }
    put_len_prefixed(buf, s.as_bytes());
    Ok(())
}

/// jsonb: valid JSON without NUL.
fn encode_json(t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    let s = match value {
        Value::Json(s) | Value::Text(s) => s,
        _ => return Err(mismatch(t, value)),
    };
    if memchr::memchr(0, s.as_bytes()).is_some() {
        return Err("JSON contains a NUL byte, which PostgreSQL cannot store".into());
    }
    if serde_json::from_str::<serde::de::IgnoredAny>(s).is_err() {
        return Err("text is not valid JSON".into());
    }
    // jsonb binary format: a version byte, then the JSON text.
    buf.put_i32(s.len() as i32 + 1);
    buf.put_u8(1);
    buf.put_slice(s.as_bytes());
    Ok(())
}

/// A date.
fn encode_date(t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    let d = match value {
        Value::Date(d) => *d,
        Value::Timestamp(ts) | Value::TimestampTz(ts) => {
            i32::try_from(ts.div_euclid(ferry_core::time::MICROS_PER_DAY))
                .map_err(|_| "date out of range")?
        }
        _ => return Err(mismatch(t, value)),
    };
    buf.put_i32(4);
    buf.put_i32(d - PG_EPOCH_DAYS);
    Ok(())
}

/// A time of day.
fn encode_time(t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    let Value::Time(us) = value else {
        return Err(mismatch(t, value));
    };
    if !(0..=ferry_core::time::MICROS_PER_DAY).contains(us) {
        // A MySQL TIME is a duration (-838:59:59 to 838:59:59); PostgreSQL's time is a time
        // of day, and would refuse the whole COPY without naming the row.
        return Err(format!(
            "{} is not a time of day (PostgreSQL's time holds 00:00:00 to 24:00:00; a MySQL TIME is a duration): map the column to interval in the config's [columns] or [types] to keep it",
            ferry_core::time::format_time(*us)
        ));
    }
    buf.put_i32(8);
    buf.put_i64(*us);
    Ok(())
}

/// A timestamp (a date is its midnight).
fn encode_timestamp(t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    let us = match value {
        Value::Timestamp(us) | Value::TimestampTz(us) => *us,
        Value::Date(d) => i64::from(*d) * ferry_core::time::MICROS_PER_DAY,
        _ => return Err(mismatch(t, value)),
    };
    buf.put_i32(8);
    buf.put_i64(us - PG_EPOCH_MICROS);
    Ok(())
}

/// An interval.
fn encode_interval(t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    if let Value::Time(us) = value {
        // A MySQL TIME (a duration) mapped to interval: that many microseconds.
        buf.put_i32(16);
        buf.put_i64(*us);
        buf.put_i32(0);
        buf.put_i32(0);
        return Ok(());
    }
    let Value::Interval(iv) = value else {
        return Err(mismatch(t, value));
    };
    buf.put_i32(16);
    buf.put_i64(iv.micros);
    buf.put_i32(iv.days);
    buf.put_i32(iv.months);
    Ok(())
}

/// A UUID, from its bytes or its text.
fn encode_uuid(t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    let u = match value {
        Value::Uuid(u) => *u,
        Value::Text(s) => ferry_core::value::parse_uuid(s).ok_or("text is not a UUID")?,
        _ => return Err(mismatch(t, value)),
    };
    buf.put_i32(16);
    buf.put_slice(&u);
    Ok(())
}

/// A MySQL SET as a text array.
fn encode_set(t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    let items: Vec<Value> = match value {
        Value::Array(items) => items.to_vec(),
        Value::Text(s) if s.is_empty() => Vec::new(),
        Value::Text(s) => s.split(',').map(|p| Value::Text(p.to_string())).collect(),
        _ => return Err(mismatch(t, value)),
    };
    encode_array(&DataType::Text, &items, buf)?;
    Ok(())
}

/// A bit string of `n` bits.
fn encode_bit(n: u32, t: &DataType, value: &Value, buf: &mut BytesMut) -> Result<(), Refusal> {
    let bytes = match value {
        Value::Bytes(b) => b.clone(),
        Value::Int(i) => i.to_be_bytes().to_vec(),
        Value::Bool(b) => vec![u8::from(*b)],
        _ => return Err(mismatch(t, value)),
    };
    encode_varbit(&bytes, n, buf)?;
    Ok(())
}

/// An array of `inner` values.
fn encode_array_value(
    inner: &DataType,
    t: &DataType,
    value: &Value,
    buf: &mut BytesMut,
) -> Result<(), Refusal> {
    let Value::Array(items) = value else {
        return Err(mismatch(t, value));
    };
    encode_array(inner, items, buf)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(text: &str) -> Vec<u8> {
        let mut b = BytesMut::new();
        encode_numeric(text, None, &mut b).expect("valid");
        b.to_vec()
    }

    #[test]
    fn numeric_groups_weight_sign_scale() {
        // 12345.678 = groups [1, 2345, 6780], weight 1, dscale 3
        assert_eq!(
            numeric("12345.678"),
            [0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
        );
        // 0.0001 = groups [1], weight -1
        assert_eq!(
            numeric("0.0001"),
            [0, 0, 0, 10, 0, 1, 0xff, 0xff, 0, 0, 0, 4, 0, 1]
        );
        // zero keeps its scale, no groups
        assert_eq!(numeric("0.00"), [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2]);
        // negative
        assert_eq!(
            numeric("-10000"),
            [0, 0, 0, 10, 0, 1, 0, 1, 0x40, 0, 0, 0, 0, 1]
        );
        let mut b = BytesMut::new();
        assert!(encode_numeric("123456789.1", Some(8), &mut b).is_err());
        assert!(encode_numeric("12.x", None, &mut b).is_err());
    }

    #[test]
    fn refused_values_leave_the_buffer_untouched() {
        let mut t = Table::new("t");
        let mut id = Column::new("id", "INTEGER", DataType::Int64);
        id.nullable = false;
        t.columns.push(id);
        t.columns
            .push(Column::new("name", "VARCHAR(3)", DataType::VarChar(3)));
        let enc = RowEncoder::new(&t);
        let mut buf = BytesMut::new();
        enc.encode_row(&[Value::Int(1), Value::Text("abc".into())], &mut buf)
            .expect("fits");
        let len = buf.len();
        let err = enc
            .encode_row(&[Value::Int(2), Value::Text("a\0b".into())], &mut buf)
            .expect_err("NUL");
        assert_eq!(err.column, 1);
        assert!(err.reason.contains("NUL"));
        let err = enc
            .encode_row(&[Value::Int(2), Value::Text("abcd".into())], &mut buf)
            .expect_err("too long");
        assert!(err.reason.contains("4 characters"));
        assert!(
            enc.encode_row(&[Value::Int(2), Value::Text("äöü".into())], &mut buf)
                .is_ok(),
            "3 chars, 6 bytes fit"
        );
        let err = enc
            .encode_row(&[Value::Null, Value::Null], &mut buf)
            .expect_err("not null");
        assert_eq!(err.column, 0);
        assert_eq!(buf.len(), len + 2 + 4 + 8 + 4 + 6);
    }

    #[test]
    fn varbit_is_left_aligned() {
        let mut b = BytesMut::new();
        encode_varbit(&[0b101], 3, &mut b).expect("fits");
        assert_eq!(b.to_vec(), [0, 0, 0, 5, 0, 0, 0, 3, 0b1010_0000]);
        assert!(encode_varbit(&[0b1000], 3, &mut BytesMut::new()).is_err());
    }
}
