//! Hashing rows for content verification: one pass over a row's normalised bytes gives the
//! hash of its key (which bucket it falls in) and two hashes of the whole row (the bucket's
//! order-independent sums).

use super::canonical::canonical;
use super::scan::RowRef;
use ferry_core::{DataType, Table, Value};
use std::hash::{DefaultHasher, Hasher};

/// One bucket's rows: how many, and two order-independent sums of their hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub(crate) rows: u64,
    pub(crate) sum1: u64,
    pub(crate) sum2: u64,
}

impl Bucket {
    /// Count a row with hashes `h`.
    pub(crate) fn add(&mut self, h: &RowHashes) {
        self.rows += 1;
        self.sum1 = self.sum1.wrapping_add(h.h1);
        self.sum2 = self.sum2.wrapping_add(h.h2);
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

/// The hashes of one row.
pub(crate) struct RowHashes {
    /// The key's hash (the whole row's for a keyless table): picks the bucket.
    pub(crate) key: u64,
    /// The whole row's hash.
    pub(crate) h1: u64,
    /// A second hash of the whole row, for the bucket's second sum.
    h2: u64,
}

impl RowHashes {
    fn new(key: Option<u64>, h1: u64) -> Self {
        RowHashes {
            key: key.unwrap_or(h1),
            h1,
            h2: remix(h1),
        }
    }
}

/// Hashes the rows of one table, decoded or raw (see [`RowRef`]).
pub(crate) struct RowHasher {
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

impl RowHasher {
    /// For `table`'s copied columns.
    pub(crate) fn new(table: &Table) -> Self {
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
        RowHasher {
            types: cols.iter().map(|c| c.data_type.clone()).collect(),
            key,
            is_key,
            key_span,
            buf: Vec::with_capacity(256),
            spans: Vec::new(),
        }
    }

    /// The hashes of one row as a scan hands it over.
    pub(crate) fn row(&mut self, row: &RowRef<'_>) -> RowHashes {
        match row {
            RowRef::Values(values) => self.decoded(values),
            RowRef::Raw { bytes, key } => self.raw(bytes, key),
        }
    }

    fn decoded(&mut self, row: &[Value]) -> RowHashes {
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
        let key = (!self.key.is_empty()).then(|| {
            let mut h = DefaultHasher::new();
            h.write_u8(3);
            // In key order, which may differ from column order.
            for &k in &self.key {
                let (a, b) = self.spans[self.key_span[k]];
                h.write(&self.buf[a..b]);
            }
            h.finish()
        });
        RowHashes::new(key, h1)
    }

    /// A raw row: the row hash over its bytes, the key hash over the key's canonical bytes
    /// (as [`RowHasher::decoded`] makes them), so a key lands in the same bucket either way.
    fn raw(&mut self, bytes: &[u8], key: &[Value]) -> RowHashes {
        let h1 = hash_bytes(1, bytes);
        let key = (!self.key.is_empty()).then(|| {
            let mut h = DefaultHasher::new();
            h.write_u8(3);
            for (v, &k) in key.iter().zip(&self.key) {
                self.buf.clear();
                canonical(v, &self.types[k], &mut self.buf);
                h.write(&self.buf);
            }
            h.finish()
        });
        RowHashes::new(key, h1)
    }

    /// One hash per column of a decoded row, to name the columns that differ.
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

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::Column;

    /// A key read from raw bytes lands in the same bucket as the same key decoded, so a
    /// bucket found by byte hashing is narrowed down by decoded values.
    #[test]
    fn raw_keys_hash_like_decoded_keys() {
        let mut t = Table::new("t");
        t.columns = vec![
            Column::new("v", "text", DataType::Text),
            Column::new("id", "int", DataType::Int32),
            Column::new("u", "uuid", DataType::Uuid),
        ];
        t.primary_key = vec!["u".into(), "id".into()];
        let mut hasher = RowHasher::new(&t);
        let row = [
            Value::Text("x".into()),
            Value::Int(-7),
            Value::Uuid([7u8; 16]),
        ];
        let decoded = hasher.row(&RowRef::Values(&row));
        let key = [Value::Uuid([7u8; 16]), Value::Int(-7)];
        let raw = hasher.row(&RowRef::Raw {
            bytes: b"anything",
            key: &key,
        });
        assert_eq!(decoded.key, raw.key);
        let other = [Value::Uuid([7u8; 16]), Value::Int(-8)];
        let moved = hasher.row(&RowRef::Raw {
            bytes: b"anything",
            key: &other,
        });
        assert_ne!(decoded.key, moved.key);
    }
}
