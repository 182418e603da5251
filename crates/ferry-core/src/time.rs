//! Calendar arithmetic for the date and time values ferry moves.
//!
//! Dates are days since 1970-01-01, times are microseconds since midnight, timestamps are
//! microseconds since 1970-01-01 00:00:00 UTC (proleptic Gregorian calendar). Every driver
//! converts to and from these, so no calendar crate is needed on the hot path.

/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Microseconds in one second.
pub const MICROS_PER_SECOND: i64 = 1_000_000;
/// The Julian day number of 1970-01-01 00:00:00 UTC.
pub const UNIX_EPOCH_JULIAN_DAY: f64 = 2_440_587.5;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in a month, or 0 for a month outside 1..=12.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// A timestamp parsed from text: microseconds since the epoch, already shifted to UTC when
/// the text carried an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedTimestamp {
    /// Microseconds since 1970-01-01 00:00:00 UTC.
    pub micros: i64,
    /// Whether the text had a time part (false for a bare date).
    pub has_time: bool,
    /// Whether the text carried a `Z` or `±HH:MM` offset.
    pub has_offset: bool,
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let start = self.pos;
        let mut value: i64 = 0;
        while self.pos < self.s.len() && self.pos - start < max && self.s[self.pos].is_ascii_digit()
        {
            value = value * 10 + i64::from(self.s[self.pos] - b'0');
            self.pos += 1;
        }
        let n = self.pos - start;
        (n >= min).then_some((value, n))
    }
    fn eat(&mut self, byte: u8) -> bool {
        if self.s.get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn done(&self) -> bool {
        self.pos == self.s.len()
    }
}

/// Parse `YYYY-MM-DD` into days since the epoch.
pub fn parse_date(text: &str) -> Option<i32> {
    let ts = parse_timestamp(text)?;
    if ts.has_time {
        return None;
    }
    i32::try_from(ts.micros.div_euclid(MICROS_PER_DAY)).ok()
}

/// Parse `HH:MM[:SS[.ffffff]]` into microseconds since midnight.
pub fn parse_time(text: &str) -> Option<i64> {
    let mut c = Cursor {
        s: text.trim().as_bytes(),
        pos: 0,
    };
    let micros = time_part(&mut c)?;
    c.done().then_some(micros)
}

fn time_part(c: &mut Cursor<'_>) -> Option<i64> {
    let (h, _) = c.digits(2, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let (mi, _) = c.digits(2, 2)?;
    let mut sec = 0;
    let mut frac_micros = 0;
    if c.eat(b':') {
        sec = c.digits(2, 2)?.0;
        if c.eat(b'.') || c.eat(b',') {
            let start = c.pos;
            let mut scale = 100_000;
            let mut round_up = false;
            while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
                let digit = i64::from(b - b'0');
                if scale >= 1 {
                    frac_micros += digit * scale;
                } else if c.pos - start == 6 {
                    round_up = digit >= 5;
                }
                scale /= 10;
                c.pos += 1;
            }
            if c.pos == start {
                return None;
            }
            if round_up {
                frac_micros += 1;
            }
        }
    }
    if h > 24 || mi > 59 || sec > 59 || (h == 24 && (mi > 0 || sec > 0 || frac_micros > 0)) {
        return None;
    }
    Some(((h * 60 + mi) * 60 + sec) * MICROS_PER_SECOND + frac_micros)
}

/// Parse an ISO-8601 date or timestamp as SQLite, MySQL and PostgreSQL write them:
/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS[.fff]]`, with a space or `T` between, and an optional
/// `Z` or `±HH[:MM]` offset (then converted to UTC). Returns `None` for anything else,
/// including impossible dates such as February 30.
pub fn parse_timestamp(text: &str) -> Option<ParsedTimestamp> {
    let mut c = Cursor {
        s: text.trim().as_bytes(),
        pos: 0,
    };
    let (year, _) = c.digits(4, 4)?;
    if !c.eat(b'-') {
        return None;
    }
    let (month, _) = c.digits(1, 2)?;
    if !c.eat(b'-') {
        return None;
    }
    let (day, _) = c.digits(1, 2)?;
    let (month, day) = (month as u32, day as u32);
    if month == 0 || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut micros = days_from_civil(year, month, day) * MICROS_PER_DAY;
    let mut has_time = false;
    let mut has_offset = false;
    if c.eat(b' ') || c.eat(b'T') || c.eat(b't') {
        while c.eat(b' ') {}
        micros += time_part(&mut c)?;
        has_time = true;
        while c.eat(b' ') {}
    }
    if c.eat(b'Z') || c.eat(b'z') {
        has_offset = true;
    } else if let Some(sign @ (b'+' | b'-')) = c.peek() {
        if !has_time {
            return None;
        }
        c.pos += 1;
        let (oh, _) = c.digits(2, 2)?;
        c.eat(b':');
        let om = c.digits(2, 2).map_or(0, |(v, _)| v);
        if oh > 15 || om > 59 {
            return None;
        }
        let offset = (oh * 60 + om) * 60 * MICROS_PER_SECOND;
        micros += if sign == b'+' { -offset } else { offset };
        has_offset = true;
    }
    c.done().then_some(ParsedTimestamp {
        micros,
        has_time,
        has_offset,
    })
}

/// Microseconds since the epoch of a Julian day number (SQLite's `julianday()`), rounded to
/// the millisecond that SQLite itself keeps.
pub fn julian_day_to_micros(jd: f64) -> Option<i64> {
    if !jd.is_finite() || !(0.0..=5_373_484.5).contains(&jd) {
        return None;
    }
    let millis = ((jd - UNIX_EPOCH_JULIAN_DAY) * 86_400_000.0).round();
    Some(millis as i64 * 1000)
}

/// Format days since the epoch as `YYYY-MM-DD`.
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Format microseconds since midnight as `HH:MM:SS[.ffffff]`; a negative or longer span (a
/// MySQL TIME is a duration) as `-HHH:MM:SS[.ffffff]`.
pub fn format_time(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let micros = micros.unsigned_abs();
    let per_second = MICROS_PER_SECOND.unsigned_abs();
    let (secs, frac) = (micros / per_second, micros % per_second);
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        format!("{sign}{h:02}:{mi:02}:{s:02}")
    } else {
        format!("{sign}{h:02}:{mi:02}:{s:02}.{frac:06}")
    }
}

/// Format microseconds since the epoch as `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rest = micros.rem_euclid(MICROS_PER_DAY);
    format!("{} {}", format_date(days), format_time(rest))
}

/// Format an interval the way PostgreSQL prints it by default (IntervalStyle `postgres`):
/// `1 year 2 mons 3 days 04:05:06.789`, `-1 days +02:00:00`, `00:00:00`. Months split into
/// years and months, microseconds into hours (not days), as PostgreSQL does.
pub fn format_interval(months: i32, days: i32, micros: i64) -> String {
    let mut out = String::new();
    // Whether anything was printed yet, and whether the last part printed was negative: a
    // positive part after a negative one carries an explicit `+`.
    let (mut empty, mut after_negative) = (true, false);
    let mut part = |out: &mut String, n: i64, unit: &str| {
        if n == 0 {
            return;
        }
        let sep = if empty { "" } else { " " };
        let plus = if after_negative && n > 0 { "+" } else { "" };
        let plural = if n == 1 { "" } else { "s" };
        out.push_str(&format!("{sep}{plus}{n} {unit}{plural}"));
        after_negative = n < 0;
        empty = false;
    };
    part(&mut out, i64::from(months / 12), "year");
    part(&mut out, i64::from(months % 12), "mon");
    part(&mut out, i64::from(days), "day");
    if empty || micros != 0 {
        let sign = if micros < 0 {
            "-"
        } else if after_negative {
            "+"
        } else {
            ""
        };
        let abs = micros.unsigned_abs();
        let per_second = MICROS_PER_SECOND.unsigned_abs();
        let (secs, frac) = (abs / per_second, abs % per_second);
        let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if !empty {
            out.push(' ');
        }
        out.push_str(&format!("{sign}{h:02}:{mi:02}:{s:02}"));
        if frac != 0 {
            let digits = format!("{frac:06}");
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
    }
    out
}

/// Parse an interval as [`format_interval`] writes it (also PostgreSQL's plural and
/// abbreviated units: `years`, `mon`, `months`, `days`, and ferry's older
/// `N months N days N microseconds`) into (months, days, microseconds).
pub fn parse_interval(text: &str) -> Option<(i32, i32, i64)> {
    let (mut months, mut days, mut micros) = (0i64, 0i64, 0i64);
    let mut words = text.split_whitespace().peekable();
    words.peek()?;
    while let Some(w) = words.next() {
        if w.contains(':') {
            micros = micros.checked_add(parse_clock(w)?)?;
            continue;
        }
        let n: i64 = w.strip_prefix('+').unwrap_or(w).parse().ok()?;
        match words.next()? {
            "year" | "years" => months = months.checked_add(n.checked_mul(12)?)?,
            "mon" | "mons" | "month" | "months" => months = months.checked_add(n)?,
            "day" | "days" => days = days.checked_add(n)?,
            "microsecond" | "microseconds" => micros = micros.checked_add(n)?,
            _ => return None,
        }
    }
    Some((
        i32::try_from(months).ok()?,
        i32::try_from(days).ok()?,
        micros,
    ))
}

/// `[+-]H+:MM:SS[.f+]` as signed microseconds.
fn parse_clock(w: &str) -> Option<i64> {
    let (negative, rest) = match w.as_bytes().first()? {
        b'-' => (true, &w[1..]),
        b'+' => (false, &w[1..]),
        _ => (false, w),
    };
    let mut parts = rest.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || m.len() != 2 || !h.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.len() != 2 || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m, secs): (i64, i64, i64) = (h.parse().ok()?, m.parse().ok()?, secs.parse().ok()?);
    if m > 59 || secs > 59 {
        return None;
    }
    let frac: i64 = format!("{frac:0<6}").parse().ok()?;
    let total = h
        .checked_mul(3600)?
        .checked_add(m * 60 + secs)?
        .checked_mul(MICROS_PER_SECOND)?
        .checked_add(frac)?;
    Some(if negative { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_print_as_postgresql_does_and_parse_back() {
        let cases: &[((i32, i32, i64), &str)] = &[
            ((0, 0, 0), "00:00:00"),
            ((14, 3, 14_706_789_000), "1 year 2 mons 3 days 04:05:06.789"),
            ((1, 1, 0), "1 mon 1 day"),
            ((24, 0, 0), "2 years"),
            ((0, -1, 7_200_000_000), "-1 days +02:00:00"),
            ((-14, 0, -1), "-1 years -2 mons -00:00:00.000001"),
            ((0, 0, 90_000_000_000), "25:00:00"),
            ((-1, 2, 0), "-1 mons +2 days"),
        ];
        for ((months, days, micros), text) in cases {
            assert_eq!(format_interval(*months, *days, *micros), *text);
            assert_eq!(
                parse_interval(text),
                Some((*months, *days, *micros)),
                "{text}"
            );
        }
        assert_eq!(
            parse_interval("14 months 3 days 14706700000 microseconds"),
            Some((14, 3, 14_706_700_000))
        );
        for bad in [
            "",
            "1",
            "1 fortnight",
            "1:2:3",
            "00:60:00",
            "1 day extra",
            "x days",
        ] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_round_trips_across_eras() {
        for days in [-800_000, -719_468, -1, 0, 1, 10_957, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(2000, 1, 1), 10_957);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn parses_the_iso_forms_sqlite_writes() {
        let base = days_from_civil(2024, 2, 29) * MICROS_PER_DAY;
        let ts = parse_timestamp("2024-02-29 13:45:10").expect("parses");
        assert_eq!(
            ts.micros,
            base + (13 * 3600 + 45 * 60 + 10) * MICROS_PER_SECOND
        );
        assert!(ts.has_time && !ts.has_offset);
        let t = parse_timestamp("2024-02-29T13:45:10.123Z").expect("parses");
        assert_eq!(t.micros, ts.micros + 123_000);
        assert!(t.has_offset);
        let o = parse_timestamp("2024-02-29 15:45:10+02:00").expect("parses");
        assert_eq!(o.micros, ts.micros);
        assert_eq!(
            parse_timestamp("2024-02-29 13:45").expect("parses").micros,
            ts.micros - 10 * MICROS_PER_SECOND
        );
        assert_eq!(parse_date("2024-02-29"), Some(19_782));
        assert_eq!(
            parse_timestamp("2024-02-29 13:45:10.1234567")
                .expect("parses")
                .micros,
            ts.micros + 123_457
        );
    }

    #[test]
    fn rejects_what_is_not_a_date() {
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "yesterday",
            "2024-01-01 25:00",
            "2024-01-01x",
            "",
            "20240101",
            "2024-01-01 10:00:00 junk",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
        assert!(parse_date("2024-01-01 10:00").is_none());
    }

    #[test]
    fn julian_days_map_to_sqlite_instants() {
        assert_eq!(julian_day_to_micros(2_440_587.5), Some(0));
        // SELECT julianday('2024-01-01 12:00:00') = 2460311.0
        assert_eq!(
            julian_day_to_micros(2_460_311.0),
            Some((days_from_civil(2024, 1, 1) * 86_400 + 12 * 3600) * MICROS_PER_SECOND)
        );
        assert_eq!(julian_day_to_micros(f64::NAN), None);
    }

    #[test]
    fn formats_match_iso() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999999");
        assert_eq!(format_time(3_723_000_001), "01:02:03.000001");
        assert_eq!(format_time(-500_000), "-00:00:00.500000");
        assert_eq!(
            format_time(-(838 * 3600 + 59 * 60 + 59) * 1_000_000),
            "-838:59:59"
        );
        assert_eq!(format_date(19_782), "2024-02-29");
    }
}
