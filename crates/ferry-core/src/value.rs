//! [`Value`]: one cell on its way from a source to a sink.

use crate::time;

/// One cell, already converted by the source into the neutral form of its column's
/// [`DataType`](crate::DataType). The enum stays small (32 bytes, asserted in a test) because
/// millions of them pass through every batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any signed integer up to 64 bits.
    Int(i64),
    /// An unsigned integer that does not fit `i64` (MySQL `BIGINT UNSIGNED`).
    UInt(u64),
    /// A binary floating-point number.
    Float(f64),
    /// An exact decimal number as canonical text: optional `-`, digits, optional `.digits`.
    Decimal(String),
    /// Valid UTF-8 text.
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since 1970-01-01 00:00:00, without a time zone.
    Timestamp(i64),
    /// Microseconds since 1970-01-01 00:00:00 UTC, an instant.
    TimestampTz(i64),
    /// A UUID's 16 bytes.
    Uuid([u8; 16]),
    /// A JSON document as text.
    Json(String),
    /// A time span (PostgreSQL `interval`).
    Interval(Box<Interval>),
    /// A one-dimensional array (PostgreSQL arrays, MySQL `SET` members).
    Array(Box<Vec<Value>>),
}

/// A PostgreSQL-style interval: months, days and microseconds are kept apart because a
/// month has no fixed length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Whole months.
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

impl Value {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The number of payload bytes this value carries, used to bound batches by memory.
    pub fn byte_size(&self) -> usize {
        match self {
            Value::Null | Value::Bool(_) => 1,
            Value::Int(_)
            | Value::UInt(_)
            | Value::Float(_)
            | Value::Time(_)
            | Value::Timestamp(_)
            | Value::TimestampTz(_) => 8,
            Value::Date(_) => 4,
            Value::Uuid(_) | Value::Interval(_) => 16,
            Value::Decimal(s) | Value::Text(s) | Value::Json(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::Array(items) => items.iter().map(Value::byte_size).sum::<usize>() + 8,
        }
    }

    /// A short name of the value's kind for error messages ("text", "integer", ...), which
    /// says what was found without showing the user's data.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::UInt(_) => "integer",
            Value::Float(_) => "floating-point number",
            Value::Decimal(_) => "decimal",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::Timestamp(_) => "timestamp",
            Value::TimestampTz(_) => "timestamp with time zone",
            Value::Uuid(_) => "uuid",
            Value::Json(_) => "json",
            Value::Interval(_) => "interval",
            Value::Array(_) => "array",
        }
    }

    /// The value as JSON, for reject files: numbers stay numbers, bytes become
    /// `{"hex": "..."}`, dates and times ISO text.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::UInt(u) => J::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or_else(|| J::String(f.to_string())),
            Value::Decimal(s) | Value::Text(s) | Value::Json(s) => J::String(s.clone()),
            Value::Bytes(b) => serde_json::json!({ "hex": hex(b) }),
            Value::Date(d) => J::String(time::format_date(i64::from(*d))),
            Value::Time(t) => J::String(time::format_time(*t)),
            Value::Timestamp(t) => J::String(time::format_timestamp(*t)),
            Value::TimestampTz(t) => J::String(format!("{}Z", time::format_timestamp(*t))),
            Value::Uuid(u) => J::String(format_uuid(u)),
            Value::Interval(iv) => serde_json::json!({
                "months": iv.months, "days": iv.days, "micros": iv.micros
            }),
            Value::Array(items) => J::Array(items.iter().map(Value::to_json).collect()),
        }
    }
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// The canonical 8-4-4-4-12 text form of a UUID.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let h = hex(u);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Parse a UUID from its text form (with or without dashes or braces).
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let digits: Vec<u8> = text
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .bytes()
        .filter(|b| *b != b'-')
        .collect();
    if digits.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in digits.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Normalise decimal text to ferry's canonical form: optional `-`, no leading `+`, no
/// superfluous leading zeros, exponent notation expanded. Returns `None` for text that is
/// not a finite number.
pub fn canonical_decimal(text: &str) -> Option<String> {
    let t = text.trim();
    let (neg, t) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
        || exp.abs() > 1000
    {
        return None;
    }
    let mut digits: String = format!("{int_part}{frac_part}");
    let mut point = int_part.len() as i64 + i64::from(exp);
    if point < 0 {
        digits.insert_str(0, &"0".repeat((-point) as usize));
        point = 0;
    }
    if point as usize > digits.len() {
        digits.push_str(&"0".repeat(point as usize - digits.len()));
    }
    let (i, f) = digits.split_at(point as usize);
    let i = i.trim_start_matches('0');
    let i = if i.is_empty() { "0" } else { i };
    let mut out = String::with_capacity(digits.len() + 2);
    let is_zero = i == "0" && f.bytes().all(|b| b == b'0');
    if neg && !is_zero {
        out.push('-');
    }
    out.push_str(i);
    if !f.is_empty() {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_stays_small() {
        assert_eq!(std::mem::size_of::<Value>(), 32);
    }

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(canonical_decimal("0.99").as_deref(), Some("0.99"));
        assert_eq!(canonical_decimal("+007.50").as_deref(), Some("7.50"));
        assert_eq!(canonical_decimal("-0").as_deref(), Some("0"));
        assert_eq!(canonical_decimal("1e3").as_deref(), Some("1000"));
        assert_eq!(canonical_decimal("1.5E-3").as_deref(), Some("0.0015"));
        assert_eq!(canonical_decimal(".5").as_deref(), Some("0.5"));
        assert_eq!(canonical_decimal("abc"), None);
        assert_eq!(canonical_decimal("1.2.3"), None);
        assert_eq!(canonical_decimal(""), None);
    }

    #[test]
    fn uuids_round_trip() {
        let text = "550e8400-e29b-41d4-a716-446655440000";
        let u = parse_uuid(text).expect("valid uuid");
        assert_eq!(format_uuid(&u), text);
        assert!(parse_uuid("not-a-uuid").is_none());
    }

    #[test]
    fn json_form_of_bytes_and_times() {
        assert_eq!(
            Value::Bytes(vec![0, 255]).to_json(),
            serde_json::json!({"hex": "00ff"})
        );
        assert_eq!(
            Value::Timestamp(0).to_json(),
            serde_json::json!("1970-01-01 00:00:00")
        );
        assert_eq!(Value::Float(f64::NAN).to_json(), serde_json::json!("NaN"));
    }
}
