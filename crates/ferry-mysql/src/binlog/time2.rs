//! `TIME(1)` and `TIME(2)` in the binlog, read by ferry itself.
//!
//! The driver (mysql_common 0.37) decodes a negative one with a fraction by an unsigned
//! subtraction: a panic in a debug build, a wrong value in a release build. Such a value is
//! 4 bytes (3 of packed whole seconds, 1 of hundredths), the size of a `TIMESTAMP(0)`, whose
//! table-map metadata is also one byte (its fractional digits). So for a table with such
//! columns the table map is rewritten to call them `TIMESTAMP(0)`: the driver then hands the
//! 4 bytes over, unchanged, as a number of seconds, and [`cell`] decodes them as the server
//! does (`my_time_packed_from_binary`). Nothing else about the event changes, and a column
//! that is not what ferry expects (the old `TIME` format, other metadata) is left as it is.

use mysql_async::binlog::events::{Event, TableMapEvent};
use mysql_async::binlog::BinlogVersion;

/// Binlog type codes (`enum_field_types`).
const MYSQL_TYPE_TIME2: u8 = 0x13;
const MYSQL_TYPE_TIMESTAMP2: u8 = 0x11;
/// A binlog event's common header, before its data.
const HEADER_LEN: usize = 19;
/// The offset the server adds to the packed whole part (`TIMEF_INT_OFS`).
const TIMEF_INT_OFS: i64 = 0x80_0000;

/// Where `inner` starts inside `outer`, when it is a part of it.
fn offset_in(outer: &[u8], inner: &[u8]) -> Option<usize> {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    (i >= o && i + inner.len() <= o + outer.len()).then(|| i - o)
}

/// Bytes of a length-encoded integer.
fn lenenc_len(n: u64) -> usize {
    match n {
        0..=250 => 1,
        251..=0xffff => 3,
        0x1_0000..=0xff_ffff => 4,
        _ => 9,
    }
}

/// `tme` (read from `event`) with each of `columns` that the server logged as a `TIME2` with
/// 1 or 2 fractional digits relabelled `TIMESTAMP2` with none; `None` when there is none to
/// relabel.
pub fn relabel(
    event: &Event,
    tme: &TableMapEvent<'_>,
    columns: &[usize],
) -> Result<Option<TableMapEvent<'static>>, String> {
    let data = event.data();
    let names_end = offset_in(data, tme.table_name_raw())
        .ok_or("the table map's name is not inside its event")?
        + tme.table_name_raw().len()
        + 1;
    let types_at = names_end + lenenc_len(tme.columns_count());
    let mut patches = Vec::new();
    for &c in columns {
        let Some(meta) = tme.get_column_metadata(c) else {
            continue;
        };
        let Some(meta_at) = offset_in(data, meta) else {
            continue;
        };
        if data.get(types_at + c) == Some(&MYSQL_TYPE_TIME2) && matches!(meta, [1] | [2]) {
            patches.push((types_at + c, meta_at));
        }
    }
    if patches.is_empty() {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(HEADER_LEN + data.len() + 4);
    event
        .write(BinlogVersion::Version4, &mut bytes)
        .map_err(|e| format!("re-reading a table map: {e}"))?;
    for (type_at, meta_at) in patches {
        bytes[HEADER_LEN + type_at] = MYSQL_TYPE_TIMESTAMP2;
        bytes[HEADER_LEN + meta_at] = 0;
    }
    let relabelled =
        Event::read(event.fde(), &bytes[..]).map_err(|e| format!("re-reading a table map: {e}"))?;
    let tme = relabelled
        .read_event::<TableMapEvent<'_>>()
        .map_err(|e| format!("re-reading a table map: {e}"))?
        .into_owned();
    Ok(Some(tme))
}

/// The text-protocol cell of a relabelled `TIME(1|2)` value, from the number of seconds the
/// driver read its 4 bytes as.
pub fn cell(seconds: &[u8]) -> Result<Vec<u8>, String> {
    // The driver reads the 4 bytes big-endian as a signed number.
    let n: i32 = std::str::from_utf8(seconds)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("a TIME(1|2) value that is not 4 bytes")?;
    let b = n.to_be_bytes();
    let mut int_part =
        (i64::from(b[0]) << 16 | i64::from(b[1]) << 8 | i64::from(b[2])) - TIMEF_INT_OFS;
    let mut frac = i64::from(b[3]);
    if int_part < 0 && frac != 0 {
        int_part += 1;
        frac -= 0x100;
    }
    let packed = (int_part << 24) + frac * 10_000;
    let sign = if packed < 0 { "-" } else { "" };
    let packed = packed.unsigned_abs();
    let hms = packed >> 24;
    let micros = packed % (1 << 24);
    let (h, m, s) = (
        (hms >> 12) % (1 << 10),
        (hms >> 6) % (1 << 6),
        hms % (1 << 6),
    );
    Ok(format!("{sign}{h:02}:{m:02}:{s:02}.{micros:06}").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's `my_time_packed_to_binary` for 1 or 2 digits, of `±h:m:s.cc`.
    fn stored(neg: bool, h: i64, m: i64, s: i64, hundredths: i64) -> u32 {
        let packed = ((h << 12 | m << 6 | s) << 24) + hundredths * 10_000;
        let packed = if neg { -packed } else { packed };
        let int_part = packed >> 24;
        let frac = (packed % (1 << 24)) / 10_000;
        let whole = (TIMEF_INT_OFS + int_part) as u32;
        (whole << 8) | u32::from(frac as i8 as u8)
    }

    fn text(neg: bool, h: i64, m: i64, s: i64, cc: i64) -> String {
        let seconds = stored(neg, h, m, s, cc) as i32;
        let cell = cell(seconds.to_string().as_bytes()).expect("a 4-byte TIME(2)");
        String::from_utf8(cell).expect("ASCII")
    }

    #[test]
    fn negative_times_with_a_fraction_borrow_from_the_seconds() {
        assert_eq!(text(true, 0, 0, 0, 50), "-00:00:00.500000");
        assert_eq!(text(true, 1, 2, 3, 75), "-01:02:03.750000");
        assert_eq!(text(true, 838, 59, 59, 99), "-838:59:59.990000");
        assert_eq!(text(true, 838, 59, 59, 0), "-838:59:59.000000");
        assert_eq!(text(false, 838, 59, 59, 99), "838:59:59.990000");
        assert_eq!(text(false, 0, 0, 0, 0), "00:00:00.000000");
        assert_eq!(text(false, 12, 0, 1, 1), "12:00:01.010000");
    }

    #[test]
    fn a_value_that_is_not_a_number_is_refused() {
        assert!(cell(b"4294967295").is_err());
        assert!(cell(b"12:00").is_err());
    }
}
