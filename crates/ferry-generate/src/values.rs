//! Cell values: a function of the seed, the table, the row's key and the column alone.

use crate::tables::{Gen, TableSpec};
use crate::{mix, Rng};
use ferry_core::Value;

pub(crate) const WORDS: &[&str] = &[
    "ferry",
    "harbour",
    "tide",
    "dock",
    "crane",
    "ship",
    "wave",
    "anchor",
    "cargo",
    "pier",
    "sail",
    "naïve",
    "Zürich",
    "Ålesund",
    "東京",
    "Москва",
    "🚢",
    "O'Brien",
    "line",
];

/// Pieces of hostile text: what breaks quoting, escaping and line-based formats.
pub(crate) const HOSTILE: &[&str] = &[
    "plain words ",
    "O'Brien's ",
    "\"double\" ",
    "back\\slash ",
    "\\N",
    "\t",
    "\n",
    "\r\n",
    "naïve café ",
    "東京 ",
    "Москва ",
    "🚢⚓ ",
    "a,b;c|d ",
    "100% _under_ ",
    "NULL",
    "''",
    "\\\\",
    "{\"k\": [1, 2]} ",
    "<tag attr='x'>",
    "\u{00a0}",
];

/// One cell's value: a function of the seed, the table, the key and the column only.
pub(crate) fn cell(seed: u64, table: &TableSpec, id: i64, column: usize) -> Value {
    let spec = &table.columns[column];
    let mut rng = Rng::new(mix(mix(
        seed ^ table.salt.wrapping_mul(0xA24B_AED4_963E_E407)
    ) ^ mix(id as u64)
        ^ (column as u64).wrapping_mul(0x9FB2_1C65_1E98_DF25)));
    if spec.null_pct > 0 && rng.below(100) < spec.null_pct {
        return Value::Null;
    }
    match spec.gen {
        Gen::Key => Value::Int(id),
        Gen::Int { lo, span } => Value::Int(lo + rng.below(span) as i64),
        Gen::AnyInt => Value::Int(rng.next_u64() as i64),
        Gen::Decimal { int_digits, scale } => Value::Decimal(decimal(&mut rng, int_digits, scale)),
        Gen::Float32 => Value::Float(f64::from(
            (rng.below(1 << 22) as f32 - (1 << 21) as f32) / 16.0,
        )),
        Gen::Float64 => {
            let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            Value::Float((unit - 0.5) * 2.0e9)
        }
        Gen::Bool => Value::Bool(rng.below(2) == 1),
        // 2000-01-01 is day 10957; 2000..=2030 spans 11323 days.
        Gen::Date => Value::Date(10_957 + rng.below(11_323) as i32),
        Gen::Time => Value::Time(rng.below(86_400_000_000) as i64),
        Gen::Timestamp => {
            Value::Timestamp(946_684_800_000_000 + rng.below(11_323 * 86_400_000_000) as i64)
        }
        Gen::Words { max_chars } => Value::Text(words(&mut rng, id, max_chars)),
        Gen::Code { chars } => Value::Text(
            (0..chars)
                .map(|_| char::from(b'A' + rng.below(26) as u8))
                .collect(),
        ),
        Gen::Uuid => {
            let mut u = [0u8; 16];
            u[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
            u[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
            u[6] = (u[6] & 0x0f) | 0x40;
            u[8] = (u[8] & 0x3f) | 0x80;
            Value::Uuid(u)
        }
        Gen::Json => Value::Json(format!(
            "{{\"n\": {}, \"ok\": {}, \"tag\": \"{}\", \"list\": [{}, {}]}}",
            rng.below(1_000_000),
            rng.below(2) == 1,
            WORDS[rng.below(11) as usize],
            rng.below(100),
            rng.below(100)
        )),
        Gen::Hostile { min, max } => Value::Text(hostile(&mut rng, min, max)),
        Gen::Bytes { min, max } => {
            let len = min + rng.below((max - min) as u64) as usize;
            let mut b = Vec::with_capacity(len + 8);
            while b.len() < len {
                b.extend_from_slice(&rng.next_u64().to_le_bytes());
            }
            b.truncate(len);
            Value::Bytes(b)
        }
    }
}

/// Decimal text with `int_digits` digits at most before the point and exactly `scale`
/// after it (as a database returns a `numeric(p, scale)`), canonical: no leading zeros,
/// no `-0`.
pub(crate) fn decimal(rng: &mut Rng, int_digits: u32, scale: u32) -> String {
    let digits = |rng: &mut Rng, n: u32| -> String {
        (0..n)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect()
    };
    let len = 1 + rng.below(u64::from(int_digits)) as u32;
    let int = digits(rng, len);
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = digits(rng, scale);
    let zero = int == "0" && frac.bytes().all(|b| b == b'0');
    let sign = if rng.below(4) == 0 && !zero { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// Words up to `max_chars` characters (at least one character), starting with the key so
/// values differ.
pub(crate) fn words(rng: &mut Rng, id: i64, max_chars: usize) -> String {
    let mut s = format!("{id}");
    let target = 1 + rng.below(max_chars as u64) as usize;
    let mut chars = s.chars().count();
    while chars < target {
        let w = WORDS[rng.below(WORDS.len() as u64) as usize];
        let n = w.chars().count() + 1;
        if chars + n > max_chars {
            break;
        }
        s.push(' ');
        s.push_str(w);
        chars += n;
    }
    s.chars().take(max_chars).collect()
}

/// Hostile text of about `min..max` bytes.
pub(crate) fn hostile(rng: &mut Rng, min: usize, max: usize) -> String {
    let target = min + rng.below((max - min) as u64) as usize;
    let mut s = String::with_capacity(target + 16);
    while s.len() < target {
        s.push_str(HOSTILE[rng.below(HOSTILE.len() as u64) as usize]);
    }
    s
}
