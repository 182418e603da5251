//! PostgreSQL's binary COPY format to neutral values, and the tuple framing both the decoding
//! reader and the raw pass-through need.
//!
//! A stream is a header (`PGCOPY\n\xff\r\n\0`, flags, extension area), tuples (an `i16` field
//! count, then per field an `i32` length, `-1` for NULL, and that many bytes) and a trailer
//! (`i16` -1).

use crate::encode::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use ferry_core::value::Interval;
use ferry_core::{DataType, Value};

/// How the values of one column travel (the type after resolving domains).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    /// `bool`
    Bool,
    /// `int2`
    Int2,
    /// `int4`
    Int4,
    /// `int8`
    Int8,
    /// `float4`
    Float4,
    /// `float8`
    Float8,
    /// `numeric`
    Numeric,
    /// Text on the wire: `text`, `varchar`, `bpchar`, `name`, `citext`, enum labels.
    Text,
    /// `bytea`
    Bytea,
    /// `date`
    Date,
    /// `time`
    Time,
    /// `timestamp`
    Timestamp,
    /// `timestamptz`
    TimestampTz,
    /// `interval`
    Interval,
    /// `uuid`
    Uuid,
    /// `json` (text)
    Json,
    /// `jsonb` (a version byte, then text)
    Jsonb,
    /// `bit` / `varbit`
    Bits,
    /// A one-dimensional array of another wire type.
    Array(Box<Wire>),
    /// Anything else; read through a cast.
    Other,
}

impl Wire {
    /// The wire form of a catalog type (`pg_type.typname`, `typtype`), with the element
    /// type's name and kind for arrays.
    pub fn from_catalog(name: &str, kind: &str, elem: &str, elem_kind: &str) -> Wire {
        if kind == "e" {
            return Wire::Text;
        }
        if !elem.is_empty() {
            let inner = Wire::from_catalog(elem, elem_kind, "", "");
            return match inner {
                Wire::Other | Wire::Array(_) => Wire::Other,
                w => Wire::Array(Box::new(w)),
            };
        }
        match name {
            "bool" => Wire::Bool,
            "int2" => Wire::Int2,
            "int4" => Wire::Int4,
            "int8" => Wire::Int8,
            "float4" => Wire::Float4,
            "float8" => Wire::Float8,
            "numeric" => Wire::Numeric,
            "text" | "varchar" | "bpchar" | "name" | "citext" => Wire::Text,
            "bytea" => Wire::Bytea,
            "date" => Wire::Date,
            "time" => Wire::Time,
            "timestamp" => Wire::Timestamp,
            "timestamptz" => Wire::TimestampTz,
            "interval" => Wire::Interval,
            "uuid" => Wire::Uuid,
            "json" => Wire::Json,
            "jsonb" => Wire::Jsonb,
            "bit" | "varbit" => Wire::Bits,
            _ => Wire::Other,
        }
    }

    /// The wire form a column of neutral type `t` is decoded from, and the PostgreSQL type
    /// to cast to when the column's own wire form differs.
    pub fn for_type(t: &DataType) -> (Wire, String) {
        let (w, cast) = match t {
            DataType::Bool => (Wire::Bool, "boolean"),
            DataType::Int16 => (Wire::Int2, "smallint"),
            DataType::Int32 => (Wire::Int4, "integer"),
            DataType::Int64 => (Wire::Int8, "bigint"),
            DataType::Float32 => (Wire::Float4, "real"),
            DataType::Float64 => (Wire::Float8, "double precision"),
            DataType::Decimal { .. } => (Wire::Numeric, "numeric"),
            DataType::Text | DataType::VarChar(_) | DataType::Char(_) | DataType::Enum { .. } => {
                (Wire::Text, "text")
            }
            DataType::Bytes => (Wire::Bytea, "bytea"),
            DataType::Date => (Wire::Date, "date"),
            DataType::Time => (Wire::Time, "time"),
            DataType::Timestamp => (Wire::Timestamp, "timestamp"),
            DataType::TimestampTz => (Wire::TimestampTz, "timestamptz"),
            DataType::Interval => (Wire::Interval, "interval"),
            DataType::Uuid => (Wire::Uuid, "uuid"),
            DataType::Json => (Wire::Jsonb, "jsonb"),
            DataType::Bit(_) => (Wire::Bits, "varbit"),
            DataType::Set(_) => (Wire::Array(Box::new(Wire::Text)), "text[]"),
            DataType::Array(inner) => {
                let (w, cast) = Wire::for_type(inner);
                return (Wire::Array(Box::new(w)), format!("{cast}[]"));
            }
        };
        (w, cast.to_string())
    }

    /// Whether values of wire form `self` can be decoded as `wanted` without a cast.
    pub fn serves(&self, wanted: &Wire) -> bool {
        match (self, wanted) {
            (Wire::Json, Wire::Jsonb) => true,
            (Wire::Array(a), Wire::Array(b)) => a.serves(b),
            (Wire::Other, _) => false,
            (a, b) => a == b,
        }
    }
}

/// Why a field could not be decoded, without the value.
pub type DecodeError = String;

fn be<const N: usize>(b: &[u8]) -> Result<[u8; N], DecodeError> {
    b.get(..N)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or_else(|| format!("field of {} bytes is shorter than {N}", b.len()))
}

fn i32_at(b: &[u8], at: usize) -> Result<i32, DecodeError> {
    Ok(i32::from_be_bytes(be::<4>(b.get(at..).unwrap_or(&[]))?))
}

/// Decode one non-NULL field of wire form `w`.
pub fn decode(w: &Wire, b: &[u8]) -> Result<Value, DecodeError> {
    Ok(match w {
        Wire::Bool => Value::Bool(be::<1>(b)?[0] != 0),
        Wire::Int2 => Value::Int(i64::from(i16::from_be_bytes(be(b)?))),
        Wire::Int4 => Value::Int(i64::from(i32::from_be_bytes(be(b)?))),
        Wire::Int8 => Value::Int(i64::from_be_bytes(be(b)?)),
        Wire::Float4 => Value::Float(f64::from(f32::from_be_bytes(be(b)?))),
        Wire::Float8 => Value::Float(f64::from_be_bytes(be(b)?)),
        Wire::Numeric => Value::Decimal(decode_numeric(b)?),
        Wire::Text | Wire::Json | Wire::Other => {
            let s = std::str::from_utf8(b).map_err(|_| "text is not valid UTF-8".to_string())?;
            if *w == Wire::Json {
                Value::Json(s.to_string())
            } else {
                Value::Text(s.to_string())
            }
        }
        Wire::Jsonb => match b.split_first() {
            Some((1, rest)) => Value::Json(
                std::str::from_utf8(rest)
                    .map_err(|_| "jsonb is not valid UTF-8".to_string())?
                    .to_string(),
            ),
            _ => return Err("unknown jsonb binary version".into()),
        },
        Wire::Bytea => Value::Bytes(b.to_vec()),
        Wire::Date => {
            let d = i32::from_be_bytes(be(b)?);
            if d == i32::MAX || d == i32::MIN {
                return Err("infinite date has no neutral form".into());
            }
            Value::Date(
                d.checked_add(PG_EPOCH_DAYS)
                    .ok_or("date out of range".to_string())?,
            )
        }
        Wire::Time => Value::Time(i64::from_be_bytes(be(b)?)),
        Wire::Timestamp | Wire::TimestampTz => {
            let us = i64::from_be_bytes(be(b)?);
            if us == i64::MAX || us == i64::MIN {
                return Err("infinite timestamp has no neutral form".into());
            }
            let us = us
                .checked_add(PG_EPOCH_MICROS)
                .ok_or("timestamp out of range".to_string())?;
            if *w == Wire::Timestamp {
                Value::Timestamp(us)
            } else {
                Value::TimestampTz(us)
            }
        }
        Wire::Interval => {
            let raw = be::<16>(b)?;
            let micros = i64::from_be_bytes(be(&raw[0..8])?);
            let days = i32::from_be_bytes(be(&raw[8..12])?);
            let months = i32::from_be_bytes(be(&raw[12..16])?);
            Value::Interval(Box::new(Interval {
                months,
                days,
                micros,
            }))
        }
        Wire::Uuid => Value::Uuid(be::<16>(b)?),
        Wire::Bits => decode_bits(b)?,
        Wire::Array(inner) => decode_array(inner, b)?,
    })
}

/// Bits arrive left-aligned after a bit count; the neutral form (as MySQL's BIT) is the value
/// right-aligned in big-endian bytes.
fn decode_bits(b: &[u8]) -> Result<Value, DecodeError> {
    let bits = i32_at(b, 0)?;
    if !(0..=64).contains(&bits) {
        return Err("bit strings over 64 bits are not supported".into());
    }
    let data = &b[4..];
    let mut v: u64 = 0;
    for (i, byte) in data.iter().take(8).enumerate() {
        v |= u64::from(*byte) << (56 - 8 * i);
    }
    let v = if bits == 0 { 0 } else { v >> (64 - bits) };
    let nbytes = (bits as usize).div_ceil(8).max(1);
    Ok(Value::Bytes(v.to_be_bytes()[8 - nbytes..].to_vec()))
}

fn decode_array(inner: &Wire, b: &[u8]) -> Result<Value, DecodeError> {
    let ndim = i32_at(b, 0)?;
    if ndim == 0 {
        return Ok(Value::Array(Box::default()));
    }
    if ndim != 1 {
        return Err("multi-dimensional arrays are not supported".into());
    }
    let len = i32_at(b, 12)?;
    let mut pos = 20usize;
    let mut items = Vec::with_capacity(len.clamp(0, 1 << 16) as usize);
    for _ in 0..len {
        let n = i32_at(b, pos)?;
        pos += 4;
        if n < 0 {
            items.push(Value::Null);
            continue;
        }
        let end = pos + n as usize;
        let field = b.get(pos..end).ok_or("array element runs past its field")?;
        items.push(decode(inner, field)?);
        pos = end;
    }
    Ok(Value::Array(Box::new(items)))
}

/// PostgreSQL's binary numeric (base-10000 digit groups, weight, sign, display scale) as
/// canonical decimal text.
pub fn decode_numeric(b: &[u8]) -> Result<String, DecodeError> {
    let head = be::<8>(b)?;
    let ndigits = i16::from_be_bytes([head[0], head[1]]).max(0) as usize;
    let weight = i32::from(i16::from_be_bytes([head[2], head[3]]));
    let sign = u16::from_be_bytes([head[4], head[5]]);
    let dscale = usize::from(u16::from_be_bytes([head[6], head[7]]));
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("NaN has no exact decimal form".into()),
        _ => return Err("infinity has no exact decimal form".into()),
    }
    let groups = b
        .get(8..8 + 2 * ndigits)
        .ok_or("numeric digits run past the field")?;
    let digit = |i: i32| -> u16 {
        if i < 0 || i as usize >= ndigits {
            0
        } else {
            let at = 2 * i as usize;
            u16::from_be_bytes([groups[at], groups[at + 1]])
        }
    };
    let mut out = String::with_capacity(ndigits * 4 + dscale + 2);
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for g in 0..=weight {
            let d = digit(g);
            if g == 0 {
                out.push_str(&d.to_string());
            } else {
                out.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut frac = String::with_capacity(dscale + 4);
        let mut g = weight + 1;
        while frac.len() < dscale {
            frac.push_str(&format!("{:04}", digit(g)));
            g += 1;
        }
        frac.truncate(dscale);
        out.push_str(&frac);
    }
    if out == "-0" || (out.starts_with('-') && out[1..].bytes().all(|c| c == b'0' || c == b'.')) {
        out.remove(0);
    }
    Ok(out)
}

/// Where one stream stands: the header is consumed once, then tuples until the trailer.
#[derive(Debug, Default)]
pub struct Framer {
    header_done: bool,
    /// Whether the trailer (`-1`) was seen.
    pub finished: bool,
}

/// What [`Framer::next_tuple`] found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete tuple of this many bytes (field count included).
    Tuple(usize),
    /// The header (or the trailer) of this many bytes, to skip.
    Skip(usize),
    /// More bytes are needed.
    Incomplete,
}

impl Framer {
    /// Look at the start of `buf`: the header, a complete tuple, the trailer, or too little.
    pub fn next_frame(&mut self, buf: &[u8]) -> Result<Frame, DecodeError> {
        if !self.header_done {
            if buf.len() < 19 {
                return Ok(Frame::Incomplete);
            }
            if &buf[..11] != b"PGCOPY\n\xff\r\n\0" {
                return Err("COPY stream does not start with the binary signature".into());
            }
            let ext = i32_at(buf, 15)?;
            let total = 19 + ext.max(0) as usize;
            if buf.len() < total {
                return Ok(Frame::Incomplete);
            }
            self.header_done = true;
            return Ok(Frame::Skip(total));
        }
        if buf.len() < 2 {
            return Ok(Frame::Incomplete);
        }
        if i16::from_be_bytes([buf[0], buf[1]]) == -1 {
            self.finished = true;
            return Ok(Frame::Skip(2));
        }
        Ok(tuple_len(buf).map_or(Frame::Incomplete, Frame::Tuple))
    }
}

/// The length of the tuple at the start of `buf` (field count included), `None` when
/// `buf` does not hold all of it.
fn tuple_len(buf: &[u8]) -> Option<usize> {
    let fields = i16::from_be_bytes([*buf.first()?, *buf.get(1)?]);
    let mut pos = 2usize;
    for _ in 0..fields.max(0) {
        let n = i32::from_be_bytes(buf.get(pos..pos + 4)?.try_into().ok()?);
        pos += 4 + n.max(0) as usize;
        if buf.len() < pos {
            return None;
        }
    }
    Some(pos)
}

/// The complete tuples of a raw batch (as the reader's raw mode sends them), one by one.
pub fn tuples(mut chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let n = tuple_len(chunk)?;
        let (tuple, rest) = chunk.split_at(n);
        chunk = rest;
        Some(tuple)
    })
}

/// The fields of one complete tuple: `None` for NULL.
pub fn tuple_fields(tuple: &[u8]) -> impl Iterator<Item = Option<&[u8]>> {
    let fields = tuple
        .get(..2)
        .map_or(0, |b| i16::from_be_bytes([b[0], b[1]]).max(0));
    let mut pos = 2usize;
    (0..fields).map(move |_| {
        let n = i32_at(tuple, pos).unwrap_or(-1);
        pos += 4;
        if n < 0 {
            None
        } else {
            let start = pos;
            pos += n as usize;
            tuple.get(start..pos)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::encode_numeric;
    use bytes::BytesMut;

    fn numeric_round_trip(text: &str) -> String {
        let mut buf = BytesMut::new();
        encode_numeric(text, None, &mut buf).expect("encodes");
        decode_numeric(&buf[4..]).expect("decodes")
    }

    #[test]
    fn numerics_round_trip_through_the_encoder() {
        for t in [
            "0",
            "1",
            "-1",
            "0.99",
            "12345.678",
            "-0.0001",
            "10000",
            "100000000.5",
            "1.10",
            "0.000000012",
            "99999999999999999999.123456789",
        ] {
            assert_eq!(numeric_round_trip(t), t, "{t}");
        }
    }

    #[test]
    fn bits_become_right_aligned_bytes() {
        // bit(3) '101': 3 bits, left-aligned 0b1010_0000.
        let b = [0, 0, 0, 3, 0b1010_0000];
        assert_eq!(decode_bits(&b), Ok(Value::Bytes(vec![5])));
    }

    #[test]
    fn framer_skips_header_and_finds_tuples_and_trailer() {
        let mut s = Vec::new();
        s.extend_from_slice(crate::encode::COPY_HEADER);
        s.extend_from_slice(&2i16.to_be_bytes());
        s.extend_from_slice(&4i32.to_be_bytes());
        s.extend_from_slice(&7i32.to_be_bytes());
        s.extend_from_slice(&(-1i32).to_be_bytes());
        s.extend_from_slice(&(-1i16).to_be_bytes());
        let mut f = Framer::default();
        assert_eq!(f.next_frame(&s[..10]), Ok(Frame::Incomplete));
        assert_eq!(f.next_frame(&s), Ok(Frame::Skip(19)));
        let rest = &s[19..];
        assert_eq!(f.next_frame(&rest[..5]), Ok(Frame::Incomplete));
        assert_eq!(f.next_frame(rest), Ok(Frame::Tuple(14)));
        let fields: Vec<_> = tuple_fields(&rest[..14]).collect();
        assert_eq!(fields, vec![Some(&7i32.to_be_bytes()[..]), None]);
        assert_eq!(f.next_frame(&rest[14..]), Ok(Frame::Skip(2)));
        assert!(f.finished);
    }

    #[test]
    fn casts_only_when_the_wire_differs() {
        let (want, cast) = Wire::for_type(&DataType::Json);
        assert!(Wire::Json.serves(&want));
        assert_eq!(cast, "jsonb");
        let (want, cast) = Wire::for_type(&DataType::Text);
        assert!(!Wire::Int4.serves(&want));
        assert_eq!(cast, "text");
        assert_eq!(Wire::from_catalog("mood", "e", "", ""), Wire::Text);
        assert_eq!(
            Wire::from_catalog("_int4", "b", "int4", "b"),
            Wire::Array(Box::new(Wire::Int4))
        );
        assert_eq!(Wire::from_catalog("point", "b", "", ""), Wire::Other);
    }
}
