//! Normalising values for content verification: the bytes of a value that equal those of
//! the same value read from any other dialect (decimals to the column's scale, JSON with
//! sorted keys, fixed-length text without trailing blanks, sets in order).

use ferry_core::{DataType, Value};

/// Append the normalized bytes of one value of a column of type `t`.
pub fn canonical(v: &Value, t: &DataType, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        Value::Int(i) if matches!(t, DataType::Decimal { .. }) => decimal(&i.to_string(), t, out),
        Value::UInt(u) if matches!(t, DataType::Decimal { .. }) => decimal(&u.to_string(), t, out),
        Value::Int(i) if matches!(t, DataType::Bool) => {
            out.extend_from_slice(&[1, u8::from(*i != 0)])
        }
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::UInt(u) => match i64::try_from(*u) {
            Ok(i) => canonical(&Value::Int(i), t, out),
            Err(_) => {
                out.push(3);
                out.extend_from_slice(&u.to_le_bytes());
            }
        },
        Value::Float(f) if matches!(t, DataType::Decimal { .. }) => decimal(&f.to_string(), t, out),
        Value::Float(f) => float(*f, t, out),
        Value::Decimal(d) => decimal(d, t, out),
        // A MySQL target stores an interval as the text the copy writes for it
        // (PostgreSQL's own form, `1 year 2 mons 3 days 04:05:06`): it meets the interval
        // read from PostgreSQL.
        // Text in any other form stays text, so it differs from every interval.
        Value::Text(s) if matches!(t, DataType::Interval) => {
            match ferry_core::time::parse_interval(s) {
                Some((months, days, micros)) => interval(months, days, micros, out),
                None => text(s, t, out),
            }
        }
        Value::Text(s) => text(s, t, out),
        Value::Json(s) => match serde_json::from_str::<serde_json::Value>(s) {
            // serde_json's map keeps keys sorted: jsonb's reordering compares equal.
            Ok(j) => {
                out.push(6);
                out.extend_from_slice(j.to_string().as_bytes());
                out.push(0xff);
            }
            Err(_) => text(s, t, out),
        },
        Value::Bytes(b) => {
            out.push(7);
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        }
        Value::Date(d) => {
            out.push(8);
            out.extend_from_slice(
                &(i64::from(*d) * ferry_core::time::MICROS_PER_DAY).to_le_bytes(),
            );
        }
        Value::Timestamp(us) | Value::TimestampTz(us) => {
            out.push(8);
            out.extend_from_slice(&us.to_le_bytes());
        }
        // A time (of day, or a MySQL TIME's duration) is that many microseconds: it meets
        // the interval a TIME column mapped to interval is read back as.
        Value::Time(us) => interval(0, 0, *us, out),
        Value::Uuid(u) => {
            out.push(10);
            out.extend_from_slice(u);
        }
        Value::Interval(iv) => interval(iv.months, iv.days, iv.micros, out),
        // An array column compares as the JSON array it is on a MySQL target (`to_json` is
        // what the MySQL writer stores), so both sides meet whichever form they read as.
        Value::Array(items) if matches!(t, DataType::Array(_)) => canonical(
            &Value::Json(Value::Array(items.clone()).to_json().to_string()),
            t,
            out,
        ),
        Value::Array(items) => array(items, t, out),
    }
}

fn interval(months: i32, days: i32, micros: i64, out: &mut Vec<u8>) {
    out.push(11);
    out.extend_from_slice(&months.to_le_bytes());
    out.extend_from_slice(&days.to_le_bytes());
    out.extend_from_slice(&micros.to_le_bytes());
}

fn float(f: f64, t: &DataType, out: &mut Vec<u8>) {
    out.push(4);
    let f = if *t == DataType::Float32 {
        f64::from(f as f32)
    } else {
        f
    };
    let bits = if f == 0.0 {
        0
    } else if f.is_nan() {
        u64::MAX
    } else {
        f.to_bits()
    };
    out.extend_from_slice(&bits.to_le_bytes());
}

/// An array's items in order (a set's members sorted), each normalised as its element type.
fn array(items: &[Value], t: &DataType, out: &mut Vec<u8>) {
    out.push(12);
    let inner = match t {
        DataType::Array(inner) => inner.as_ref().clone(),
        _ => DataType::Text,
    };
    let mut parts: Vec<Vec<u8>> = items
        .iter()
        .map(|i| {
            let mut b = Vec::new();
            canonical(i, &inner, &mut b);
            b
        })
        .collect();
    if matches!(t, DataType::Set(_)) {
        parts.sort();
    }
    out.extend_from_slice(&(parts.len() as u64).to_le_bytes());
    for p in parts {
        out.extend_from_slice(&p);
    }
}

fn text(s: &str, t: &DataType, out: &mut Vec<u8>) {
    if let DataType::Set(_) = t {
        let mut members: Vec<&str> = s.split(',').filter(|m| !m.is_empty()).collect();
        members.sort_unstable();
        let items: Vec<Value> = members
            .into_iter()
            .map(|m| Value::Text(m.to_string()))
            .collect();
        return canonical(&Value::Array(Box::new(items)), t, out);
    }
    let s = if matches!(t, DataType::Char(_)) {
        s.trim_end_matches(' ')
    } else {
        s
    };
    text_bytes(s.as_bytes(), out);
}

/// The canonical bytes of text (already trimmed as its type asks).
fn text_bytes(s: &[u8], out: &mut Vec<u8>) {
    out.push(5);
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s);
}

/// Decimal text rounded half away from zero to the column's scale, trailing zeros dropped.
fn decimal(d: &str, t: &DataType, out: &mut Vec<u8>) {
    let text = ferry_core::value::canonical_decimal(d).unwrap_or_else(|| d.to_string());
    let scale = match t {
        DataType::Decimal {
            scale: Some(s),
            precision: Some(_),
        } => Some(*s as usize),
        _ => None,
    };
    let rounded = match scale {
        Some(s) => round_decimal(&text, s),
        None => text,
    };
    let normalized = match rounded.split_once('.') {
        Some((i, f)) => {
            let f = f.trim_end_matches('0');
            let v = if f.is_empty() {
                i.to_string()
            } else {
                format!("{i}.{f}")
            };
            if v == "-0" {
                "0".to_string()
            } else {
                v
            }
        }
        None => rounded,
    };
    out.push(13);
    out.extend_from_slice(normalized.as_bytes());
    out.push(0xff);
}

fn round_decimal(text: &str, scale: usize) -> String {
    let (neg, body) = text.strip_prefix('-').map_or((false, text), |b| (true, b));
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if frac.len() <= scale {
        return text.to_string();
    }
    let mut digits: Vec<u8> = format!("{int}{}", &frac[..scale]).into_bytes();
    if frac.as_bytes()[scale] >= b'5' {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, b'1');
                break;
            }
            i -= 1;
            if digits[i] == b'9' {
                digits[i] = b'0';
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let s = String::from_utf8(digits).unwrap_or_default();
    let (i, f) = s.split_at(s.len() - scale);
    let i = if i.is_empty() { "0" } else { i };
    let body = if scale == 0 {
        i.to_string()
    } else {
        format!("{i}.{f}")
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &Value, t: &DataType) -> Vec<u8> {
        let mut b = Vec::new();
        canonical(v, t, &mut b);
        b
    }

    #[test]
    fn equal_values_in_different_dress_hash_the_same() {
        let dec = DataType::Decimal {
            precision: Some(10),
            scale: Some(2),
        };
        assert_eq!(
            bytes(&Value::Float(12.5), &dec),
            bytes(&Value::Decimal("12.50".into()), &dec)
        );
        assert_eq!(
            bytes(&Value::Int(3), &dec),
            bytes(&Value::Decimal("3.00".into()), &dec)
        );
        assert_eq!(
            bytes(&Value::Decimal("0.125".into()), &dec),
            bytes(&Value::Decimal("0.13".into()), &dec)
        );
        assert_ne!(
            bytes(&Value::Decimal("0.12".into()), &dec),
            bytes(&Value::Decimal("0.13".into()), &dec)
        );
        assert_eq!(
            bytes(&Value::Timestamp(5), &DataType::Timestamp),
            bytes(&Value::TimestampTz(5), &DataType::Timestamp)
        );
        assert_eq!(
            bytes(
                &Value::Json("{\"b\": 1, \"a\": [1,2]}".into()),
                &DataType::Json
            ),
            bytes(
                &Value::Json("{\"a\":[1,2],\"b\":1}".into()),
                &DataType::Json
            )
        );
        assert_eq!(
            bytes(&Value::Text("ab  ".into()), &DataType::Char(4)),
            bytes(&Value::Text("ab".into()), &DataType::Char(4))
        );
        assert_ne!(
            bytes(&Value::Text("ab ".into()), &DataType::Text),
            bytes(&Value::Text("ab".into()), &DataType::Text)
        );
        assert_eq!(
            bytes(&Value::Int(1), &DataType::Bool),
            bytes(&Value::Bool(true), &DataType::Bool)
        );
        assert_eq!(
            bytes(&Value::Text("b,a".into()), &DataType::Set(vec![])),
            bytes(&Value::Text("a,b".into()), &DataType::Set(vec![]))
        );
        assert_ne!(
            bytes(&Value::Null, &DataType::Text),
            bytes(&Value::Text(String::new()), &DataType::Text)
        );
        // An array read from PostgreSQL meets the JSON array a MySQL target stores.
        let ints = DataType::Array(Box::new(DataType::Int32));
        let array = Value::Array(Box::new(vec![Value::Int(1), Value::Null, Value::Int(3)]));
        assert_eq!(
            bytes(&array, &ints),
            bytes(&Value::Json("[1, null, 3]".into()), &ints)
        );
        assert_ne!(
            bytes(&array, &ints),
            bytes(&Value::Json("[1, 3]".into()), &ints)
        );
        assert_ne!(
            bytes(&Value::Array(Box::default()), &ints),
            bytes(&Value::Null, &ints)
        );
        // An interval read from PostgreSQL meets the text a MySQL target stores for it; a
        // different interval, or text of another form, does not.
        let iv = |months, days, micros| {
            Value::Interval(Box::new(ferry_core::value::Interval {
                months,
                days,
                micros,
            }))
        };
        let stored = |s: &str| bytes(&Value::Text(s.into()), &DataType::Interval);
        let pg = bytes(&iv(14, 3, 14_706_700_000), &DataType::Interval);
        assert_eq!(pg, stored("1 year 2 mons 3 days 04:05:06.7"));
        // The form ferry wrote before keeps comparing equal.
        assert_eq!(pg, stored("14 months 3 days 14706700000 microseconds"));
        assert_eq!(bytes(&iv(0, -1, 0), &DataType::Interval), stored("-1 days"));
        for other in [
            "1 year 2 mons 3 days 04:05:06.700001",
            "1 year 2 mons 4 days 04:05:06.7",
            "1 year 3 mons 3 days 04:05:06.7",
            "1 year 2 mons 3 days 04:05:06.7 extra",
            "1 year 2 mons 3 days",
            "",
        ] {
            assert_ne!(pg, stored(other), "{other}");
        }
        assert_ne!(pg, bytes(&Value::Null, &DataType::Interval));
        assert_eq!(round_decimal("-9.995", 2), "-10.00");
        assert_eq!(round_decimal("0.004", 2), "0.00");
    }
}
