//! Narrowing the differing buckets of content verification down to rows, in bounded memory.
//!
//! Once the bucket sums of both sides are compared, both sides are read once more. Rows of
//! the first differing buckets, up to [`MAX_DETAILED_ROWS`] per side, are held whole enough
//! to name them (key, column hashes, values only with `--show-values`); rows of further
//! differing buckets, up to [`MAX_COUNTED_ROWS`] per side, only as a (key hash, row hash)
//! pair, 16 bytes, to count the differences exactly. Buckets beyond both budgets are only
//! summed up (how many, and how many rows they hold). So a table whose every row differs is
//! reported with a bounded list of keys, the exact number of differing rows when it fits
//! the counting budget (a lower bound otherwise), and memory that does not grow with it.

use super::hashing::{Bucket, RowHasher};
use super::scan::{scan, RowRef};
use super::Mode;
use ferry_core::{BatchLimits, Result, Source, Table, Value};
use std::collections::HashMap;

/// Most rows per side held with their key and column hashes, to name differences.
pub const MAX_DETAILED_ROWS: u64 = 10_000;
/// Most rows per side held as (key hash, row hash) pairs, to count differences.
pub const MAX_COUNTED_ROWS: u64 = 1 << 20;
/// Most differences listed per table.
pub const MAX_DIFFERENCES: usize = 1000;

/// What each differing bucket gets in the narrowing pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Not read again (only summed up in the report).
    Skip,
    /// Rows counted as (key hash, row hash) pairs.
    Count,
    /// Rows held to be named, and counted.
    Detail,
}

/// Which differing buckets are narrowed how, by their row counts.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Per bucket (all `n` of them).
    pub depth: Vec<Depth>,
    /// Differing buckets in all.
    pub differing: usize,
    /// Differing buckets not read again.
    pub skipped: usize,
    /// Rows of the skipped buckets: (source, target).
    pub skipped_rows: (u64, u64),
}

/// Choose, in bucket order, the differing buckets to name rows of and to count rows of,
/// each within its budget of rows per side (a bucket's size is the larger of its two sides).
pub fn select(source: &[Bucket], target: &[Bucket]) -> Selection {
    let mut sel = Selection {
        depth: vec![Depth::Skip; source.len()],
        differing: 0,
        skipped: 0,
        skipped_rows: (0, 0),
    };
    let (mut detailed, mut counted) = (0u64, 0u64);
    for (i, (s, t)) in source.iter().zip(target).enumerate() {
        if s == t {
            continue;
        }
        sel.differing += 1;
        let rows = s.rows.max(t.rows);
        if detailed + rows <= MAX_DETAILED_ROWS || detailed == 0 {
            detailed += rows;
            counted += rows;
            sel.depth[i] = Depth::Detail;
        } else if counted + rows <= MAX_COUNTED_ROWS {
            counted += rows;
            sel.depth[i] = Depth::Count;
        } else {
            sel.skipped += 1;
            sel.skipped_rows.0 += s.rows;
            sel.skipped_rows.1 += t.rows;
        }
    }
    sel
}

/// One named row of a side: row hash, column hashes, values (with `--show-values`), and
/// how many times it occurs (keyless tables).
pub struct NamedRow {
    hash: u64,
    columns: Vec<u64>,
    values: Vec<Value>,
    count: u64,
}

/// One side's rows of the narrowed buckets.
#[derive(Default)]
pub struct Narrowed {
    /// Rows of the detailed buckets by label (key text, or row hash for keyless tables).
    named: HashMap<String, NamedRow>,
    /// (key hash, row hash) of every row of the detailed and counted buckets.
    pairs: Vec<(u64, u64)>,
    /// Rows of detailed buckets left out because the bucket was bigger than the budget.
    overflow: u64,
}

/// Read one side again and keep the rows of the buckets `sel` chose. A keyed table is read
/// decoded (its key lands in the same bucket in both modes), so rows are named by key and
/// columns; a keyless table is read in the mode its buckets were summed in, and its rows
/// are named by row hash.
pub async fn narrow(
    source: &dyn Source,
    table: &Table,
    sel: &Selection,
    batch: BatchLimits,
    mode: Mode,
    show_values: bool,
) -> Result<Narrowed> {
    let n = sel.depth.len() as u64;
    let mut hashing = RowHasher::new(table);
    let names: Vec<String> = table.copied_columns().map(|c| c.name.clone()).collect();
    let key_idx = hashing.key.clone();
    let mode = if key_idx.is_empty() || mode != Mode::Raw {
        mode
    } else {
        Mode::Decoded
    };
    let mut out = Narrowed::default();
    scan(source, table, batch, mode, |row| {
        let h = hashing.row(&row);
        let depth = sel.depth[(h.key % n) as usize];
        if depth == Depth::Skip {
            return Ok(());
        }
        if out.pairs.len() as u64 >= 2 * MAX_COUNTED_ROWS {
            out.overflow += 1;
            return Ok(());
        }
        out.pairs.push((h.key, h.h1));
        if depth == Depth::Count {
            return Ok(());
        }
        let label = match row {
            RowRef::Values(values) if !key_idx.is_empty() => key_label(&key_idx, &names, values),
            _ => format!("row hash {:016x}", h.h1),
        };
        if let Some(entry) = out.named.get_mut(&label) {
            entry.count += 1;
            return Ok(());
        }
        if out.named.len() as u64 >= 2 * MAX_DETAILED_ROWS {
            out.overflow += 1;
            return Ok(());
        }
        let (columns, values) = match row {
            RowRef::Values(values) => (
                hashing.column_hashes(values),
                if show_values {
                    values.to_vec()
                } else {
                    Vec::new()
                },
            ),
            RowRef::Raw { .. } => (Vec::new(), Vec::new()),
        };
        out.named.insert(
            label,
            NamedRow {
                hash: h.h1,
                columns,
                values,
                count: 1,
            },
        );
        Ok(())
    })
    .await?;
    Ok(out)
}

/// `col=value, ...` of a row's key.
fn key_label(key_idx: &[usize], names: &[String], row: &[Value]) -> String {
    key_idx
        .iter()
        .map(|&k| {
            let v = match row[k].to_json() {
                serde_json::Value::String(s) => s,
                j => j.to_string(),
            };
            format!("{}={v}", names[k])
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows that differ between two sides' (key hash, row hash) pairs: for a keyed table each
/// key whose rows differ counts once; for a keyless table (key hash = row hash) each copy
/// of a row more on one side than the other counts.
pub fn count_differences(
    source: &mut [(u64, u64)],
    target: &mut [(u64, u64)],
    keyless: bool,
) -> u64 {
    source.sort_unstable();
    target.sort_unstable();
    let (mut i, mut j, mut diff) = (0, 0, 0u64);
    while i < source.len() || j < target.len() {
        let key = match (source.get(i), target.get(j)) {
            (Some(a), Some(b)) => a.0.min(b.0),
            (Some(a), None) => a.0,
            (None, Some(b)) => b.0,
            (None, None) => break,
        };
        let (si, tj) = (i, j);
        while source.get(i).is_some_and(|p| p.0 == key) {
            i += 1;
        }
        while target.get(j).is_some_and(|p| p.0 == key) {
            j += 1;
        }
        let (s, t) = (&source[si..i], &target[tj..j]);
        if keyless {
            diff += s.len().abs_diff(t.len()) as u64;
        } else if s != t {
            diff += 1;
        }
    }
    diff
}

/// The lines naming the differences of the detailed buckets, sorted by key, at most
/// [`MAX_DIFFERENCES`].
pub fn describe(
    source: &Narrowed,
    target: &mut Narrowed,
    names: &[String],
    keyless: bool,
    show_values: bool,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut keys: Vec<&String> = source.named.keys().collect();
    keys.sort();
    let show = |vals: &[Value]| -> String {
        vals.iter()
            .map(|v| v.to_json().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for key in keys {
        let s = &source.named[key];
        match target.named.remove(key) {
            None if keyless => diffs.push(format!("{key}: {} in source, 0 in target", s.count)),
            None => diffs.push(format!("{key}: missing in target")),
            Some(t) => {
                if keyless && s.count != t.count {
                    diffs.push(format!(
                        "{key}: {} in source, {} in target",
                        s.count, t.count
                    ));
                } else if !keyless && t.hash != s.hash {
                    let differ: Vec<usize> = (0..s.columns.len())
                        .filter(|&i| s.columns.get(i) != t.columns.get(i))
                        .collect();
                    let cols_named: Vec<&str> = differ.iter().map(|&i| names[i].as_str()).collect();
                    let mut line = format!("{key}: differs in {}", cols_named.join(", "));
                    if show_values {
                        for &i in &differ {
                            let (Some(sv), Some(tv)) = (s.values.get(i), t.values.get(i)) else {
                                continue;
                            };
                            line.push_str(&format!(
                                "; {}: source {} target {}",
                                names[i],
                                sv.to_json(),
                                tv.to_json()
                            ));
                        }
                    }
                    diffs.push(line);
                } else if !keyless && t.count > 1 {
                    diffs.push(format!("{key}: {} rows in target", t.count));
                }
            }
        }
        if diffs.len() >= MAX_DIFFERENCES {
            return diffs;
        }
    }
    let mut extra: Vec<(&String, &NamedRow)> = target.named.iter().collect();
    extra.sort_by(|a, b| a.0.cmp(b.0));
    for (key, t) in extra.into_iter().take(MAX_DIFFERENCES - diffs.len()) {
        let mut line = if keyless {
            format!("{key}: 0 in source, {} in target", t.count)
        } else {
            format!("{key}: only in target")
        };
        if show_values {
            line.push_str(&format!(" ({})", show(&t.values)));
        }
        diffs.push(line);
    }
    diffs
}

/// The closing line: how many rows differ in all (exactly, or at least), and how much of
/// that the list shows.
pub fn summary(
    sel: &Selection,
    n: usize,
    counted: u64,
    listed: usize,
    overflow: u64,
) -> Option<String> {
    if sel.skipped == 0 && overflow == 0 {
        return (counted as usize > listed)
            .then(|| format!("{counted} rows differ in all ({} of {n} row groups); the first {listed} are listed", sel.differing));
    }
    let (s, t) = sel.skipped_rows;
    Some(format!(
        "at least {} rows differ ({} of {n} row groups): {counted} counted row by row, {} more row groups ({s} source rows, {t} target rows) differ but were not compared row by row to bound memory; the first {listed} are listed",
        counted + sel.skipped as u64,
        sel.differing,
        sel.skipped
    ))
}

impl Narrowed {
    /// The (key hash, row hash) pairs, for [`count_differences`].
    pub fn pairs_mut(&mut self) -> &mut Vec<(u64, u64)> {
        &mut self.pairs
    }

    /// Rows left out of the budgets.
    pub fn overflow(&self) -> u64 {
        self.overflow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(rows: u64, sum: u64) -> Bucket {
        Bucket {
            rows,
            sum1: sum,
            sum2: sum,
        }
    }

    #[test]
    fn differing_buckets_fill_the_budgets_in_order() {
        let rows = MAX_DETAILED_ROWS / 2;
        let mut s = vec![bucket(rows, 1); 10];
        let t = vec![bucket(rows, 2); 10];
        s[3] = t[3];
        let sel = select(&s, &t);
        assert_eq!(sel.differing, 9);
        assert_eq!(sel.depth[0], Depth::Detail);
        assert_eq!(sel.depth[1], Depth::Detail);
        assert_eq!(sel.depth[2], Depth::Count);
        assert_eq!(sel.depth[3], Depth::Skip);
        assert_eq!(sel.skipped, 0);
        // Buckets too big for either budget are summed up, except a first one to name.
        let s = vec![bucket(MAX_COUNTED_ROWS, 1); 3];
        let t = vec![bucket(MAX_COUNTED_ROWS + 1, 2); 3];
        let sel = select(&s, &t);
        assert_eq!(sel.depth[0], Depth::Detail);
        assert_eq!(sel.skipped, 2);
        assert_eq!(
            sel.skipped_rows,
            (2 * MAX_COUNTED_ROWS, 2 * MAX_COUNTED_ROWS + 2)
        );
    }

    #[test]
    fn differences_are_counted_per_key_or_per_copy() {
        let mut s = vec![(1, 10), (2, 20), (3, 30), (4, 40)];
        let mut t = vec![(4, 40), (2, 21), (1, 10), (5, 50)];
        // Key 2 changed, 3 missing, 5 extra.
        assert_eq!(count_differences(&mut s, &mut t, false), 3);
        // Keyless: row 7 twice in the source, three times in the target; row 8 gone.
        let mut s = vec![(7, 7), (7, 7), (8, 8)];
        let mut t = vec![(7, 7), (7, 7), (7, 7)];
        assert_eq!(count_differences(&mut s, &mut t, true), 2);
        assert_eq!(count_differences(&mut [], &mut [], true), 0);
    }
}
