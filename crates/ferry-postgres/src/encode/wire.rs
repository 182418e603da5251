//! PostgreSQL's binary forms that are more than a fixed-width number: numeric, bit strings
//! and arrays.

use super::{encode_typed, ColumnCodec, Refusal};
use bytes::{BufMut, BytesMut};
use ferry_core::{DataType, Value};

fn element_oid(t: &DataType) -> Option<u32> {
    Some(match t {
        DataType::Bool => 16,
        DataType::Int16 => 21,
        DataType::Int32 => 23,
        DataType::Int64 => 20,
        DataType::Float32 => 700,
        DataType::Float64 => 701,
        DataType::Decimal { .. } => 1700,
        DataType::Text => 25,
        DataType::VarChar(_) => 1043,
        DataType::Char(_) => 1042,
        DataType::Bytes => 17,
        DataType::Date => 1082,
        DataType::Time => 1083,
        DataType::Timestamp => 1114,
        DataType::TimestampTz => 1184,
        DataType::Interval => 1186,
        DataType::Uuid => 2950,
        DataType::Json => 3802,
        _ => return None,
    })
}

pub(super) fn encode_array(
    inner: &DataType,
    items: &[Value],
    buf: &mut BytesMut,
) -> Result<(), Refusal> {
    let oid = element_oid(inner).ok_or_else(|| format!("arrays of {inner:?} are not supported"))?;
    let len_pos = buf.len();
    buf.put_i32(0);
    let has_null = items.iter().any(Value::is_null);
    buf.put_i32(1);
    buf.put_i32(i32::from(has_null));
    buf.put_u32(oid);
    buf.put_i32(items.len() as i32);
    buf.put_i32(1);
    let elem = ColumnCodec {
        data_type: inner.clone(),
        nullable: true,
        max_chars: None,
        max_int_digits: None,
    };
    for item in items {
        if item.is_null() {
            buf.put_i32(-1);
        } else {
            encode_typed(&elem, inner, item, buf)?;
        }
    }
    let total = (buf.len() - len_pos - 4) as i32;
    buf[len_pos..len_pos + 4].copy_from_slice(&total.to_be_bytes());
    Ok(())
}

pub(super) fn encode_varbit(bytes: &[u8], bits: u32, buf: &mut BytesMut) -> Result<(), Refusal> {
    // Source bytes hold the value right-aligned (MySQL BIT(n)); PostgreSQL wants the n bits
    // left-aligned.
    if bits > 64 {
        return Err("bit strings over 64 bits are not supported".into());
    }
    let mut v: u64 = 0;
    for b in bytes.iter().skip(bytes.len().saturating_sub(8)) {
        v = (v << 8) | u64::from(*b);
    }
    if bits < 64 && v >> bits != 0 {
        return Err(format!("value does not fit in {bits} bits"));
    }
    let nbytes = bits.div_ceil(8) as usize;
    let shifted = if bits == 0 { 0 } else { v << (64 - bits) };
    buf.put_i32(4 + nbytes as i32);
    buf.put_i32(bits as i32);
    buf.put_slice(&shifted.to_be_bytes()[..nbytes]);
    Ok(())
}

/// Encode canonical decimal text (`-12.3400`) in PostgreSQL's binary numeric format:
/// base-10000 digit groups with a weight, a sign and the display scale.
pub fn encode_numeric(
    text: &str,
    max_int_digits: Option<usize>,
    buf: &mut BytesMut,
) -> Result<(), Refusal> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("text is not a decimal number".into());
    }
    let int_part = int_part.trim_start_matches('0');
    if let Some(max) = max_int_digits {
        if int_part.len() > max {
            return Err(format!(
                "number has {} digits before the decimal point; the column allows {max}",
                int_part.len()
            ));
        }
    }
    let dscale = frac_part.len();
    // Left-pad the integer part and right-pad the fraction to whole groups of four.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let mut digits: Vec<u8> = Vec::with_capacity(int_part.len() + frac_part.len() + 8);
    digits.extend(std::iter::repeat_n(b'0', int_pad));
    digits.extend_from_slice(int_part.as_bytes());
    digits.extend_from_slice(frac_part.as_bytes());
    digits.extend(std::iter::repeat_n(b'0', frac_pad));
    let mut groups: Vec<i16> = digits
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0')))
        .collect();
    let mut weight = ((int_part.len() + int_pad) / 4) as i32 - 1;
    // Strip leading and trailing zero groups.
    let lead = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..lead);
    weight -= lead as i32;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign: u16 = if neg && !groups.is_empty() { 0x4000 } else { 0 };
    buf.put_i32(8 + 2 * groups.len() as i32);
    buf.put_i16(groups.len() as i16);
    buf.put_i16(weight as i16);
    buf.put_u16(sign);
    buf.put_u16(dscale as u16);
    for g in groups {
        buf.put_i16(g);
    }
    Ok(())
}
