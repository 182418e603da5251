//! [`Batch`]: the unit that travels through the bounded channel between a reader and a writer.

use crate::budget::BudgetPermit;
use crate::value::Value;
use bytes::Bytes;
use std::fmt;

/// Limits that close a batch: whichever is reached first.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Most rows in one batch.
    pub max_rows: usize,
    /// Most payload bytes in one batch.
    pub max_bytes: usize,
}

impl BatchLimits {
    /// Rows per batch by default (`--batch-rows`).
    pub const DEFAULT_MAX_ROWS: usize = 8192;
    /// Payload bytes per batch by default (`--batch-bytes`): 2 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 2 << 20;
}

/// ferry's one batch default: what `ferry migrate` and `ferry verify` read with unless told.
impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_rows: Self::DEFAULT_MAX_ROWS,
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }
}

/// Where a row sits in the source, for messages and reject files: its rowid when the source
/// has one (SQLite), else its key values, else its 1-based position in the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    /// `rowid 17`.
    RowId(i64),
    /// `id=5` or `a=1, b=x`: key columns and their values (long values cut).
    Key(Vec<(String, String)>),
    /// `row 1234`.
    Row(u64),
}

impl Locator {
    /// The locator of a row with `values` (in copied-column order): `row_id` when there is
    /// one, else the values of the `key` columns (positions and names) unless the row's bad
    /// value is one of them (`failed`), else `position` (1-based).
    pub fn of_row(
        row_id: Option<i64>,
        key: &[(usize, &str)],
        values: &[Value],
        failed: Option<usize>,
        position: u64,
    ) -> Locator {
        if let Some(id) = row_id {
            return Locator::RowId(id);
        }
        let usable = !key.is_empty()
            && key
                .iter()
                .all(|(i, _)| *i < values.len() && Some(*i) != failed);
        if usable {
            return Locator::Key(
                key.iter()
                    .map(|(i, name)| (name.to_string(), short_key_text(&values[*i])))
                    .collect(),
            );
        }
        Locator::Row(position)
    }
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locator::RowId(id) => write!(f, "rowid {id}"),
            Locator::Row(n) => write!(f, "row {n}"),
            Locator::Key(parts) => {
                for (i, (name, value)) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}={value}")?;
                }
                Ok(())
            }
        }
    }
}

impl serde::Serialize for Locator {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl PartialEq<&str> for Locator {
    fn eq(&self, other: &&str) -> bool {
        let shown: &str = &self.to_string();
        shown == *other
    }
}

/// A row the source or the sink could not move, with enough to reload it by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRow {
    /// Where the row is in the source.
    pub locator: Locator,
    /// The column whose value was refused.
    pub column: String,
    /// Why, without the value itself (values stay out of logs).
    pub reason: String,
    /// The row's values in table column order, as close to the source as can be shown.
    pub values: Vec<Value>,
}

/// Rows of one table, stored row-major in one flat vector so a batch is two allocations, not
/// one per row. The payload size is summed once while the batch is built.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Values per row (the number of copied columns).
    pub width: usize,
    /// `rows * width` values, row after row.
    pub values: Vec<Value>,
    /// A source row id per row where the source has one (SQLite rowid), else empty.
    pub row_ids: Vec<i64>,
    /// Rows the source could not convert; they are not in `values`.
    pub rejects: Vec<RejectedRow>,
    /// Payload bytes of `values` (and of `raw`).
    pub bytes: usize,
    /// A pre-encoded chunk in the sink's own wire format (same-dialect fast path); when set,
    /// `values` is empty and `raw_rows` says how many rows the chunk holds.
    pub raw: Option<Bytes>,
    /// Row count of `raw`.
    pub raw_rows: u64,
    /// The share of the run's [`crate::MemoryBudget`] this batch holds; it is given back when
    /// the batch is dropped (after the sink wrote it). `None` outside a budgeted run.
    pub permit: Option<BudgetPermit>,
}

impl Batch {
    /// Number of rows in the batch (decoded or raw), not counting rejects.
    pub fn rows(&self) -> usize {
        if self.raw.is_some() {
            self.raw_rows as usize
        } else {
            self.values.len().checked_div(self.width).unwrap_or(0)
        }
    }

    /// The values of row `i`.
    pub fn row(&self, i: usize) -> &[Value] {
        &self.values[i * self.width..(i + 1) * self.width]
    }

    /// Iterate over rows.
    pub fn iter_rows(&self) -> impl Iterator<Item = &[Value]> {
        self.values.chunks(self.width.max(1))
    }

    /// Where row `i` sits in the source, for messages: its rowid when the source has one
    /// (SQLite), else its key values, else its position `first_row + i + 1`.
    pub fn locator(&self, i: usize, key: &[(usize, &str)], first_row: u64) -> Locator {
        Locator::of_row(
            self.row_ids.get(i).copied(),
            key,
            self.row(i),
            None,
            first_row + i as u64 + 1,
        )
    }

    /// Memory the batch holds, as counted against a [`crate::MemoryBudget`]: the value
    /// slots it allocated, the payload they point to, row ids and rejects.
    pub fn held_bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<Value>()
            + self.bytes
            + self.row_ids.capacity() * std::mem::size_of::<i64>()
            + self.rejects.len() * std::mem::size_of::<RejectedRow>()
    }
}

/// Text of a key value for a message; keys identify rows and are shown, but long keys are cut.
fn short_key_text(v: &Value) -> String {
    let text = match v {
        Value::Text(s) | Value::Decimal(s) => s.clone(),
        Value::Bytes(b) => crate::value::hex(b),
        other => match other.to_json() {
            serde_json::Value::String(s) => s,
            j => j.to_string(),
        },
    };
    if text.chars().count() > 64 {
        let cut: String = text.chars().take(61).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// Builds batches under [`BatchLimits`], reusing nothing across batches so each batch can be
/// sent away whole.
#[derive(Debug)]
pub struct BatchBuilder {
    limits: BatchLimits,
    batch: Batch,
}

impl BatchBuilder {
    /// A builder for rows of `width` values.
    pub fn new(width: usize, limits: BatchLimits) -> Self {
        let mut b = BatchBuilder {
            limits,
            batch: Batch::default(),
        };
        b.batch.width = width;
        b.reserve();
        b
    }

    fn reserve(&mut self) {
        let rows = self.limits.max_rows.min(1024);
        self.batch.values.reserve(rows * self.batch.width);
    }

    /// Append one value of the current row.
    #[inline]
    pub fn push(&mut self, value: Value) {
        self.batch.bytes += value.byte_size();
        self.batch.values.push(value);
    }

    /// Record the source row id of the row being built.
    pub fn push_row_id(&mut self, id: i64) {
        self.batch.row_ids.push(id);
    }

    /// Throw away the values pushed for an unfinished row (after a conversion error).
    pub fn discard_partial_row(&mut self) {
        let keep = self.batch.values.len() / self.batch.width.max(1) * self.batch.width;
        for v in self.batch.values.drain(keep..) {
            self.batch.bytes -= v.byte_size();
        }
    }

    /// The values pushed so far for the unfinished row.
    pub fn partial_row(&self) -> &[Value] {
        let keep = self.batch.values.len() / self.batch.width.max(1) * self.batch.width;
        &self.batch.values[keep..]
    }

    /// Record a rejected row.
    pub fn reject(&mut self, row: RejectedRow) {
        self.batch.bytes += row.values.iter().map(Value::byte_size).sum::<usize>();
        self.batch.rejects.push(row);
    }

    /// Whether the batch reached a limit and should be sent.
    pub fn is_full(&self) -> bool {
        self.batch.values.len() >= self.limits.max_rows * self.batch.width.max(1)
            || self.batch.bytes >= self.limits.max_bytes
            || self.batch.rejects.len() >= self.limits.max_rows
    }

    /// Whether nothing was added since the last take.
    pub fn is_empty(&self) -> bool {
        self.batch.values.is_empty() && self.batch.rejects.is_empty()
    }

    /// Take the batch built so far and start a new one.
    pub fn take(&mut self) -> Batch {
        let width = self.batch.width;
        let mut next = Batch {
            width,
            ..Batch::default()
        };
        std::mem::swap(&mut next, &mut self.batch);
        self.reserve();
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_closes_on_rows_or_bytes() {
        let mut b = BatchBuilder::new(
            2,
            BatchLimits {
                max_rows: 3,
                max_bytes: 100,
            },
        );
        for i in 0..2 {
            b.push(Value::Int(i));
            b.push(Value::Text("x".into()));
        }
        assert!(!b.is_full());
        b.push(Value::Int(9));
        b.push(Value::Text("y".into()));
        assert!(b.is_full());
        let batch = b.take();
        assert_eq!(batch.rows(), 3);
        assert_eq!(batch.bytes, 27);
        assert!(b.is_empty());
        b.push(Value::Text("z".repeat(200)));
        assert!(b.is_full(), "byte limit closes the batch");
    }

    #[test]
    fn partial_rows_are_discarded() {
        let mut b = BatchBuilder::new(3, BatchLimits::default());
        b.push(Value::Int(1));
        b.push(Value::Int(2));
        b.push(Value::Int(3));
        b.push(Value::Int(4));
        b.discard_partial_row();
        let batch = b.take();
        assert_eq!(batch.rows(), 1);
        assert_eq!(batch.bytes, 24);
    }

    #[test]
    fn locator_names_rowid_then_key_then_position() {
        let mut b = BatchBuilder::new(2, BatchLimits::default());
        b.push(Value::Int(7));
        b.push(Value::Text("a".into()));
        b.push_row_id(70);
        let batch = b.take();
        assert_eq!(batch.locator(0, &[(0, "id")], 0), "rowid 70");
        let plain = Batch {
            width: 2,
            values: batch.values.clone(),
            ..Batch::default()
        };
        assert_eq!(plain.locator(0, &[(0, "id")], 41), "id=7");
        assert_eq!(plain.locator(0, &[], 41), "row 42");
    }
}
