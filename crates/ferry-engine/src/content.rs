//! Content verification: every value of every table, compared across dialects.
//!
//! Both sides are read through their `Source` with the same column types the copy used, so
//! each value arrives in the same neutral form; it is then normalized per type (decimals to
//! the column's scale, JSON to sorted keys, fixed-length text without trailing blanks) and
//! hashed. Rows fall into buckets by the hash of their key (by the hash of the whole row when
//! the table has no key); each bucket keeps an order-independent sum of row hashes and a
//! count, so no sort, no key order and no memory beyond the buckets is needed. Buckets that
//! differ are read again and narrowed to the exact keys and columns.

use crate::report::Verification;
use ferry_core::{
    BatchLimits, DataType, Dialect, Error, ReadOptions, Result, Source, Table, Value,
};
use std::hash::{DefaultHasher, Hasher};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Rows per bucket aimed at: a differing bucket is read again whole.
const ROWS_PER_BUCKET: u64 = 1024;

/// How content is compared.
#[derive(Debug, Clone, Copy)]
pub struct ContentOptions {
    /// Put the differing values into the report (they may be sensitive).
    pub show_values: bool,
    /// Batch limits for reading.
    pub batch: BatchLimits,
}

/// One bucket's rows: how many, and two order-independent sums of their hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub(crate) rows: u64,
    pub(crate) sum1: u64,
    pub(crate) sum2: u64,
}

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
        Value::Float(f) => {
            out.push(4);
            let f = if *t == DataType::Float32 {
                f64::from(*f as f32)
            } else {
                *f
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
        Value::Decimal(d) => decimal(d, t, out),
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
        Value::Time(us) => {
            out.push(9);
            out.extend_from_slice(&us.to_le_bytes());
        }
        Value::Uuid(u) => {
            out.push(10);
            out.extend_from_slice(u);
        }
        Value::Interval(iv) => {
            out.push(11);
            out.extend_from_slice(&iv.months.to_le_bytes());
            out.extend_from_slice(&iv.days.to_le_bytes());
            out.extend_from_slice(&iv.micros.to_le_bytes());
        }
        // An array column compares as the JSON array it is on a MySQL target (`to_json` is
        // what the MySQL writer stores), so both sides meet whichever form they read as.
        Value::Array(items) if matches!(t, DataType::Array(_)) => canonical(
            &Value::Json(Value::Array(items.clone()).to_json().to_string()),
            t,
            out,
        ),
        Value::Array(items) => {
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

/// A second row hash for the multiset sums, from the first through a bijective mixer
/// (splitmix64's finalizer): two multisets with equal counts and equal sums of `h` rarely
/// also have equal sums of `remix(h)`, and it costs no second pass over the row.
fn remix(h: u64) -> u64 {
    let mut z = h ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash_bytes(salt: u8, bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    h.write_u8(salt);
    h.write(bytes);
    h.finish()
}

/// Hashes of one row: (bucket hash input, whole-row hash 1, whole-row hash 2, key text).
pub(crate) struct RowHashes {
    pub(crate) key: u64,
    pub(crate) h1: u64,
    h2: u64,
}

pub(crate) struct Hashing {
    types: Vec<DataType>,
    /// Positions of the key's columns, in key order.
    pub(crate) key: Vec<usize>,
    /// Whether each column is part of the key.
    is_key: Vec<bool>,
    /// For a key column: the index of its span among the row's key spans (column order).
    key_span: Vec<usize>,
    buf: Vec<u8>,
    /// Byte ranges of the key columns in `buf`, in column order.
    spans: Vec<(usize, usize)>,
}

impl Hashing {
    fn new(table: &Table) -> Self {
        let cols: Vec<&ferry_core::Column> = table.copied_columns().collect();
        let key: Vec<usize> = table
            .row_key()
            .iter()
            .filter_map(|k| cols.iter().position(|c| c.name == *k))
            .collect();
        let is_key: Vec<bool> = (0..cols.len()).map(|i| key.contains(&i)).collect();
        let key_span = is_key
            .iter()
            .scan(0, |n, &k| {
                let at = *n;
                *n += usize::from(k);
                Some(at)
            })
            .collect();
        Hashing {
            types: cols.iter().map(|c| c.data_type.clone()).collect(),
            key,
            is_key,
            key_span,
            buf: Vec::with_capacity(256),
            spans: Vec::new(),
        }
    }

    fn row(&mut self, row: &[Value]) -> RowHashes {
        // One pass over the row's canonical bytes; the key's bytes are hashed from where
        // they lie in that buffer, so nothing is encoded or allocated twice.
        self.buf.clear();
        self.spans.clear();
        for (i, (v, t)) in row.iter().zip(&self.types).enumerate() {
            let start = self.buf.len();
            canonical(v, t, &mut self.buf);
            if self.is_key[i] {
                self.spans.push((start, self.buf.len()));
            }
        }
        let h1 = hash_bytes(1, &self.buf);
        let key = if self.key.is_empty() {
            h1
        } else {
            let mut h = DefaultHasher::new();
            h.write_u8(3);
            // In key order, which may differ from column order.
            for &k in &self.key {
                let (a, b) = self.spans[self.key_span[k]];
                h.write(&self.buf[a..b]);
            }
            h.finish()
        };
        RowHashes {
            key,
            h1,
            h2: remix(h1),
        }
    }

    pub(crate) fn column_hashes(&mut self, row: &[Value]) -> Vec<u64> {
        row.iter()
            .zip(&self.types)
            .map(|(v, t)| {
                self.buf.clear();
                canonical(v, t, &mut self.buf);
                hash_bytes(4, &self.buf)
            })
            .collect()
    }
}

/// How rows are hashed: decoded to values and normalized (every pair of dialects), or,
/// between two PostgreSQL databases whose columns have the same types, straight from the
/// binary COPY bytes. The same-dialect copy forwards those bytes undecoded, so a correct
/// copy reads back byte for byte; hashing them skips decoding every value on both sides.
/// The key still hashes to the same bucket in both modes, so a differing bucket is
/// narrowed down with decoded values either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Decoded,
    PgBinary,
    /// Decoded, MySQL on both sides: zero dates compare as the text they are stored as.
    MysqlExact,
}

impl Mode {
    fn choose(
        source: Dialect,
        target: Dialect,
        src: &Table,
        tgt: &Table,
        opts: &ContentOptions,
    ) -> Mode {
        let same_types = src
            .copied_columns()
            .map(|c| &c.data_type)
            .eq(tgt.copied_columns().map(|c| &c.data_type));
        let keys_readable = src.row_key().iter().all(|k| {
            src.copied_columns()
                .find(|c| c.name == *k)
                .is_some_and(|c| RawKey::of(&c.data_type).is_some())
        });
        if crate::connect::raw_pass_through(source, target)
            && same_types
            && keys_readable
            && !opts.show_values
        {
            Mode::PgBinary
        } else if crate::connect::mysql_to_mysql(source, target) {
            Mode::MysqlExact
        } else {
            Mode::Decoded
        }
    }
}

/// A key column read from PostgreSQL's binary form into the bytes `canonical` gives its
/// decoded value.
#[derive(Debug, Clone, Copy)]
enum RawKey {
    Int,
    Text,
    Uuid,
}

impl RawKey {
    fn of(t: &DataType) -> Option<RawKey> {
        match t {
            DataType::Int16 | DataType::Int32 | DataType::Int64 => Some(RawKey::Int),
            DataType::Text | DataType::VarChar(_) => Some(RawKey::Text),
            DataType::Uuid => Some(RawKey::Uuid),
            _ => None,
        }
    }

    fn canonical(self, field: Option<&[u8]>, out: &mut Vec<u8>) -> Result<()> {
        let Some(b) = field else {
            out.push(0);
            return Ok(());
        };
        let bad = || Error::other("unexpected binary key value in COPY data");
        match self {
            RawKey::Int => {
                let i = match b.len() {
                    2 => i64::from(i16::from_be_bytes([b[0], b[1]])),
                    4 => i64::from(i32::from_be_bytes(b.try_into().map_err(|_| bad())?)),
                    8 => i64::from_be_bytes(b.try_into().map_err(|_| bad())?),
                    _ => return Err(bad()),
                };
                canonical(&Value::Int(i), &DataType::Int64, out);
            }
            RawKey::Text => text_bytes(b, out),
            RawKey::Uuid => {
                if b.len() != 16 {
                    return Err(bad());
                }
                out.push(10);
                out.extend_from_slice(b);
            }
        }
        Ok(())
    }
}

/// Hashes of binary COPY tuples: the row hash over the tuple's bytes, the key hash over
/// the key's canonical bytes (as [`Hashing::row`] makes them).
struct RawHashing {
    /// (position among the copied columns, how to read it), in key order.
    key: Vec<(usize, RawKey)>,
    /// Positions of array columns: their binary form names the element type's OID, which
    /// differs between databases for enums and domains, so those four bytes are not hashed.
    arrays: Vec<usize>,
    buf: Vec<u8>,
    row_buf: Vec<u8>,
}

impl RawHashing {
    fn new(table: &Table) -> Self {
        let cols: Vec<&ferry_core::Column> = table.copied_columns().collect();
        let key = table
            .row_key()
            .iter()
            .filter_map(|k| {
                let i = cols.iter().position(|c| c.name == *k)?;
                Some((i, RawKey::of(&cols[i].data_type)?))
            })
            .collect();
        let arrays = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.data_type, DataType::Array(_)))
            .map(|(i, _)| i)
            .collect();
        RawHashing {
            key,
            arrays,
            buf: Vec::with_capacity(64),
            row_buf: Vec::new(),
        }
    }

    fn row(&mut self, tuple: &[u8]) -> Result<RowHashes> {
        let h1 = if self.arrays.is_empty() {
            hash_bytes(1, tuple)
        } else {
            self.row_buf.clear();
            self.row_buf.extend_from_slice(tuple);
            let base = tuple.as_ptr() as usize;
            for (i, field) in ferry_postgres::decode::tuple_fields(tuple).enumerate() {
                if let (true, Some(f)) = (self.arrays.contains(&i), field) {
                    // ndim, has-nulls flag, then the element type's OID.
                    let at = f.as_ptr() as usize - base;
                    if f.len() >= 12 {
                        self.row_buf[at + 8..at + 12].fill(0);
                    }
                }
            }
            hash_bytes(1, &self.row_buf)
        };
        let key = if self.key.is_empty() {
            h1
        } else {
            let mut h = DefaultHasher::new();
            h.write_u8(3);
            for &(i, how) in &self.key {
                self.buf.clear();
                let field = ferry_postgres::decode::tuple_fields(tuple).nth(i).flatten();
                how.canonical(field, &mut self.buf)?;
                h.write(&self.buf);
            }
            h.finish()
        };
        Ok(RowHashes {
            key,
            h1,
            h2: remix(h1),
        })
    }
}

/// One row as a scan hands it over: decoded values, or a binary COPY tuple.
pub(crate) enum RowRef<'a> {
    Values(&'a [Value]),
    Tuple(&'a [u8]),
}

/// Stream one side of a table through `visit`, decoded or (in [`Mode::PgBinary`]) as
/// binary COPY tuples.
pub(crate) async fn scan(
    source: &dyn Source,
    table: &Table,
    batch: BatchLimits,
    mode: Mode,
    mut visit: impl FnMut(RowRef<'_>) -> Result<()>,
) -> Result<u64> {
    let (tx, mut rx) = mpsc::channel(2);
    let opts = ReadOptions {
        limits: batch,
        reject_bad_rows: true,
        raw_pg_copy: mode == Mode::PgBinary,
        keep_zero_dates: mode == Mode::MysqlExact,
        ..ReadOptions::default()
    };
    let reader = source.read_table(table, &opts, tx);
    let consume = async {
        let mut rows = 0u64;
        let mut rejected = 0u64;
        while let Some(b) = rx.recv().await {
            if let Some(raw) = &b.raw {
                for tuple in ferry_postgres::decode::tuples(raw) {
                    visit(RowRef::Tuple(tuple))?;
                    rows += 1;
                }
            }
            for row in b.iter_rows() {
                visit(RowRef::Values(row))?;
                rows += 1;
            }
            rejected += b.rejects.len() as u64;
        }
        Ok::<_, Error>((rows, rejected))
    };
    let (read, consumed) = tokio::join!(reader, consume);
    // A failed visit drops the receiver, which stops the reader: report the visit's error.
    let (rows, rejected) = consumed?;
    read?;
    if rejected > 0 {
        return Err(Error::data(format!(
            "table `{}`: {rejected} rows cannot be read in the copied types",
            table.display_name()
        )));
    }
    Ok(rows)
}

/// Both kinds of row hashing, as the mode says.
pub(crate) struct Hashers {
    pub(crate) decoded: Hashing,
    raw: RawHashing,
}

impl Hashers {
    pub(crate) fn new(table: &Table) -> Self {
        Hashers {
            decoded: Hashing::new(table),
            raw: RawHashing::new(table),
        }
    }

    pub(crate) fn row(&mut self, row: &RowRef<'_>) -> Result<RowHashes> {
        match row {
            RowRef::Values(v) => Ok(self.decoded.row(v)),
            RowRef::Tuple(t) => self.raw.row(t),
        }
    }
}

async fn bucket_sums(
    source: Arc<dyn Source>,
    table: Table,
    n: usize,
    batch: BatchLimits,
    mode: Mode,
) -> Result<Vec<Bucket>> {
    let mut hashing = Hashers::new(&table);
    let mut buckets = vec![Bucket::default(); n];
    scan(source.as_ref(), &table, batch, mode, |row| {
        let h = hashing.row(&row)?;
        let b = &mut buckets[(h.key % n as u64) as usize];
        b.rows += 1;
        b.sum1 = b.sum1.wrapping_add(h.h1);
        b.sum2 = b.sum2.wrapping_add(h.h2);
        Ok(())
    })
    .await?;
    Ok(buckets)
}

/// Compare every value of one table; fills `v.content` and `v.differences`.
pub async fn compare_table(
    source: &Arc<dyn Source>,
    target: &Arc<dyn Source>,
    src_table: &Table,
    tgt_table: &Table,
    opts: ContentOptions,
    v: &mut Verification,
) -> Result<()> {
    let rows = real_rows(source.as_ref(), src_table, v).await?;
    let n = bucket_count(rows);
    let mode = Mode::choose(
        source.dialect(),
        target.dialect(),
        src_table,
        tgt_table,
        &opts,
    );
    // Each side reads, decodes and hashes in its own task, so the two sides (and the
    // tables compared at once) spread over every core.
    let side = |s: &Arc<dyn Source>, t: &Table| {
        tokio::spawn(bucket_sums(Arc::clone(s), t.clone(), n, opts.batch, mode))
    };
    let (s, t) = tokio::join!(side(source, src_table), side(target, tgt_table));
    let joined = |r: std::result::Result<Result<Vec<Bucket>>, tokio::task::JoinError>| {
        r.map_err(|e| Error::other(format!("content hashing stopped: {e}")))?
    };
    let (s, t) = (joined(s)?, joined(t)?);
    if s == t {
        v.content = "ok".into();
        return Ok(());
    }
    v.content = "differs".into();
    v.differences.extend(
        name_differences(source, target, src_table, tgt_table, opts, mode, (&s, &t)).await?,
    );
    Ok(())
}

/// The table's real row count: the larger of the two sides' counts when the count check
/// ran, else the source's count. Never the planner's estimate, which is 0 for a table
/// PostgreSQL has not analysed.
async fn real_rows(source: &dyn Source, table: &Table, v: &Verification) -> Result<u64> {
    match (v.source_rows, v.target_rows) {
        (Some(s), t) => Ok(s.max(t.unwrap_or(0))),
        (None, _) => source.count_rows(table).await,
    }
}

/// Buckets for a table of `rows` rows: about [`ROWS_PER_BUCKET`] rows each.
pub(crate) fn bucket_count(rows: u64) -> usize {
    (rows / ROWS_PER_BUCKET).clamp(16, 1 << 20) as usize
}

/// Read the differing buckets of both sides again (within the memory budgets of
/// [`crate::narrow`]) and describe what differs: the first keys, and how many rows in all.
#[allow(clippy::too_many_arguments)]
async fn name_differences(
    source: &Arc<dyn Source>,
    target: &Arc<dyn Source>,
    src_table: &Table,
    tgt_table: &Table,
    opts: ContentOptions,
    mode: Mode,
    (s, t): (&[Bucket], &[Bucket]),
) -> Result<Vec<String>> {
    use crate::narrow;
    let sel = narrow::select(s, t);
    let show = opts.show_values;
    let (ns, nt) = tokio::join!(
        narrow::narrow(source.as_ref(), src_table, &sel, opts.batch, mode, show),
        narrow::narrow(target.as_ref(), tgt_table, &sel, opts.batch, mode, show)
    );
    let (mut ns, mut nt) = (ns?, nt?);
    let names: Vec<String> = tgt_table.copied_columns().map(|c| c.name.clone()).collect();
    let keyless = src_table.row_key().is_empty();
    let mut diffs = narrow::describe(&ns, &mut nt, &names, keyless, show);
    let overflow = ns.overflow() + nt.overflow();
    let counted = narrow::count_differences(ns.pairs_mut(), nt.pairs_mut(), keyless);
    let listed = diffs.len();
    if let Some(line) = narrow::summary(&sel, s.len(), counted, listed, overflow) {
        diffs.push(line);
    }
    if listed == 0 && counted == 0 {
        diffs.push("row hashes differ but no single row could be named (hash collision or concurrent writes)".into());
    }
    Ok(diffs)
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
        assert_eq!(round_decimal("-9.995", 2), "-10.00");
        assert_eq!(round_decimal("0.004", 2), "0.00");
    }

    /// A key read from binary COPY bytes lands in the same bucket as the same key decoded,
    /// so a bucket found by byte hashing is narrowed down by decoded values.
    #[test]
    fn binary_keys_hash_like_decoded_keys() {
        let raw = |how: RawKey, field: Option<&[u8]>| {
            let mut b = Vec::new();
            how.canonical(field, &mut b).expect("key");
            b
        };
        assert_eq!(
            raw(RawKey::Int, Some(&(-7i16).to_be_bytes())),
            bytes(&Value::Int(-7), &DataType::Int16)
        );
        assert_eq!(
            raw(RawKey::Int, Some(&123_456i32.to_be_bytes())),
            bytes(&Value::Int(123_456), &DataType::Int32)
        );
        assert_eq!(
            raw(RawKey::Int, Some(&i64::MIN.to_be_bytes())),
            bytes(&Value::Int(i64::MIN), &DataType::Int64)
        );
        assert_eq!(
            raw(RawKey::Text, Some("naïve 🚢".as_bytes())),
            bytes(&Value::Text("naïve 🚢".into()), &DataType::VarChar(20))
        );
        let u = [7u8; 16];
        assert_eq!(
            raw(RawKey::Uuid, Some(&u)),
            bytes(&Value::Uuid(u), &DataType::Uuid)
        );
        assert_eq!(
            raw(RawKey::Text, None),
            bytes(&Value::Null, &DataType::Text)
        );
        assert!(RawKey::Int
            .canonical(Some(&[1, 2, 3]), &mut Vec::new())
            .is_err());
        assert!(
            RawKey::of(&DataType::Char(3)).is_none(),
            "char keys are trimmed"
        );
    }
}
