//! Binlog row values to the cells the text protocol would have sent for the same row, so the
//! copy's [`ReadCodec`](crate::types::ReadCodec) converts both and a replicated row equals a
//! copied one (zero dates, ENUM, SET, BIT, DECIMAL, fractional seconds, unsigned integers,
//! character sets).

use ferry_core::time::civil_from_days;
use ferry_core::Column;
use ferry_schema::rules::DeclaredType;
use mysql_async::binlog::value::BinlogValue;
use mysql_async::Value as MyValue;

/// How one column's binlog values become text-protocol cells.
#[derive(Debug, Clone)]
pub struct CellShape {
    /// The declared base type, upper-case (`ENUM`, `SET`, `TINYINT`, ...).
    base: String,
    /// Bits of an unsigned integer column (the binlog may send it as signed when the server
    /// logs no signedness metadata).
    unsigned_bits: Option<u32>,
    /// ENUM and SET members, in declaration order.
    members: Vec<String>,
    /// The column's bytes are latin1 (MySQL's cp1252) and must become UTF-8.
    latin1: bool,
}

impl CellShape {
    /// The shape of `column` from its declared type and character set.
    pub fn new(column: &Column) -> CellShape {
        let declared = DeclaredType::parse(&column.source_type);
        let lower = column.source_type.to_ascii_lowercase();
        let unsigned = lower.contains("unsigned");
        let unsigned_bits = match declared.base.as_str() {
            "TINYINT" if unsigned => Some(8),
            "SMALLINT" if unsigned => Some(16),
            "MEDIUMINT" if unsigned => Some(24),
            "INT" | "INTEGER" if unsigned => Some(32),
            "BIGINT" if unsigned => Some(64),
            _ => None,
        };
        let members = match declared.base.as_str() {
            "ENUM" | "SET" => parse_members(&column.source_type),
            _ => Vec::new(),
        };
        let latin1 = column
            .charset
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("latin1"));
        CellShape {
            base: declared.base,
            unsigned_bits,
            members,
            latin1,
        }
    }

    /// The text-protocol cell for one binlog value (`None` is SQL NULL).
    pub fn cell(&self, value: BinlogValue<'_>) -> Result<Option<Vec<u8>>, String> {
        let value = match value {
            BinlogValue::Value(v) => v,
            BinlogValue::Jsonb(j) => {
                let json = serde_json::Value::try_from(j)
                    .map_err(|e| format!("binary JSON that does not convert: {e}"))?;
                return Ok(Some(json.to_string().into_bytes()));
            }
            BinlogValue::JsonDiff(_) => {
                return Err("a partial JSON update (set binlog_row_value_options='' on the source so updates log whole JSON documents)".into())
            }
        };
        Ok(Some(match value {
            MyValue::NULL => return Ok(None),
            MyValue::Int(i) => match self.base.as_str() {
                "ENUM" => self.enum_label(i)?,
                "TIMESTAMP" => timestamp_text(i, 0),
                _ => match self.unsigned_bits {
                    Some(bits) if i < 0 && bits < 64 => (i + (1i64 << bits)).to_string(),
                    Some(64) if i < 0 => (i as u64).to_string(),
                    _ => i.to_string(),
                }
                .into_bytes(),
            },
            MyValue::UInt(u) => u.to_string().into_bytes(),
            // Shortest text that reads back as the same number, as the server prints it.
            MyValue::Float(f) => f.to_string().into_bytes(),
            MyValue::Double(f) => f.to_string().into_bytes(),
            // A DATE prints as the date alone, as the text protocol sends it.
            MyValue::Date(y, mo, d, 0, 0, 0, 0) if self.base == "DATE" => {
                format!("{y:04}-{mo:02}-{d:02}").into_bytes()
            }
            MyValue::Date(y, mo, d, h, mi, s, us) => {
                let mut t = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
                if us != 0 {
                    t.push_str(&format!(".{us:06}"));
                }
                t.into_bytes()
            }
            MyValue::Time(neg, days, h, mi, s, us) => {
                let hours = u64::from(days) * 24 + u64::from(h);
                let sign = if neg { "-" } else { "" };
                let mut t = format!("{sign}{hours:02}:{mi:02}:{s:02}");
                if us != 0 {
                    t.push_str(&format!(".{us:06}"));
                }
                t.into_bytes()
            }
            MyValue::Bytes(b) => match self.base.as_str() {
                "SET" => self.set_text(&b)?,
                // Only a relabelled TIME(1|2) arrives as bytes (`super::time2`).
                "TIME" => super::time2::cell(&b)?,
                "TIMESTAMP" => {
                    let text = String::from_utf8_lossy(&b);
                    let (secs, frac) = text.split_once('.').unwrap_or((&text, "0"));
                    let secs: i64 = secs
                        .parse()
                        .map_err(|_| "a TIMESTAMP that is not a number of seconds")?;
                    let micros: i64 = format!("{frac:0<6}")[..6]
                        .parse()
                        .map_err(|_| "a TIMESTAMP with a bad fraction")?;
                    timestamp_text(secs, micros)
                }
                _ if self.latin1 => latin1_to_utf8(&b).into_bytes(),
                _ => b,
            },
        }))
    }

    fn enum_label(&self, index: i64) -> Result<Vec<u8>, String> {
        if index == 0 {
            // The "invalid value" index a non-strict server stores; the text protocol sends ''.
            return Ok(Vec::new());
        }
        usize::try_from(index - 1)
            .ok()
            .and_then(|i| self.members.get(i))
            .map(|m| m.clone().into_bytes())
            .ok_or_else(|| format!("ENUM index {index} beyond the column's members"))
    }

    fn set_text(&self, mask: &[u8]) -> Result<Vec<u8>, String> {
        let mut bits: u64 = 0;
        for (i, b) in mask.iter().enumerate().take(8) {
            bits |= u64::from(*b) << (8 * i);
        }
        let mut out: Vec<&str> = Vec::new();
        for (i, member) in self.members.iter().enumerate() {
            if bits & (1u64 << i) != 0 {
                out.push(member);
            }
        }
        if self.members.len() < 64 && bits >> self.members.len() != 0 {
            return Err("SET bits beyond the column's members".into());
        }
        Ok(out.join(",").into_bytes())
    }
}

/// `'a','b''c'` members of `enum(...)`/`set(...)`, unquoted.
fn parse_members(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return Vec::new();
    };
    let body = &column_type[open + 1..column_type.rfind(')').unwrap_or(column_type.len())];
    let mut members = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut m = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    m.push('\'');
                }
                '\'' => break,
                '\\' => match chars.next() {
                    Some('n') => m.push('\n'),
                    Some('t') => m.push('\t'),
                    Some('r') => m.push('\r'),
                    Some('0') => m.push('\0'),
                    Some('Z') => m.push('\x1a'),
                    Some(o) => m.push(o),
                    None => {}
                },
                other => m.push(other),
            }
        }
        members.push(m);
    }
    members
}

/// Seconds (and microseconds) since the epoch as the UTC datetime text a `time_zone='+00:00'`
/// session prints; 0 is the zero timestamp.
fn timestamp_text(secs: i64, micros: i64) -> Vec<u8> {
    if secs == 0 && micros == 0 {
        return b"0000-00-00 00:00:00".to_vec();
    }
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut t = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if micros != 0 {
        t.push_str(&format!(".{micros:06}"));
    }
    t.into_bytes()
}

/// MySQL's latin1 is Windows-1252; its 0x80..0x9F differ from ISO-8859-1.
fn latin1_to_utf8(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{0081}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{008D}',
        '\u{017D}', '\u{008F}', '\u{0090}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}',
        '\u{2022}', '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}',
        '\u{0153}', '\u{009D}', '\u{017E}', '\u{0178}',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_unquote_like_the_server() {
        assert_eq!(
            parse_members("enum('a','b''c','d\\\\e')"),
            vec!["a".to_string(), "b'c".into(), "d\\e".into()]
        );
        assert_eq!(parse_members("set('')"), vec![String::new()]);
    }

    #[test]
    fn timestamps_print_in_utc() {
        assert_eq!(timestamp_text(0, 0), b"0000-00-00 00:00:00".to_vec());
        assert_eq!(
            timestamp_text(1_700_000_000, 120),
            b"2023-11-14 22:13:20.000120".to_vec()
        );
    }

    #[test]
    fn latin1_is_cp1252() {
        assert_eq!(latin1_to_utf8(b"caf\xe9 \x80"), "café €");
    }
}
