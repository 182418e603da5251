//! Content verification: every value of every table, compared across dialects.
//!
//! Both sides are read through their `Source` with the same column types the copy used, so
//! each value arrives in the same neutral form; it is then normalized per type
//! ([`canonical`]) and hashed ([`hashing`]). Rows fall into buckets by the hash of their key
//! (by the hash of the whole row when the table has no key); each bucket keeps an
//! order-independent sum of row hashes and a count, so no sort, no key order and no memory
//! beyond the buckets is needed. Buckets that differ are read again and narrowed to the
//! exact keys and columns ([`narrow`]).

pub mod canonical;
mod hashing;
mod narrow;
mod scan;

pub use canonical::canonical;

use crate::report::{Outcome, Verification};
use ferry_core::{BatchLimits, Error, Result, Source, Table};
use hashing::{Bucket, RowHasher};
use std::sync::Arc;

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

/// How rows are read for hashing: decoded to values and normalized (every pair of
/// dialects), or, between two databases of a dialect whose copy forwards raw rows
/// (PostgreSQL's binary COPY) and whose columns have the same types, as those raw bytes: a
/// correct copy reads back byte for byte, and hashing them skips decoding every value on
/// both sides. The key still hashes to the same bucket in both modes, so a differing bucket
/// is narrowed down with decoded values either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Decoded,
    Raw,
    /// Decoded, MySQL on both sides: zero dates compare as the text they are stored as.
    MysqlExact,
}

impl Mode {
    fn choose(
        source: &dyn Source,
        target: &dyn Source,
        src: &Table,
        tgt: &Table,
        show: bool,
    ) -> Mode {
        let same_types = src
            .copied_columns()
            .map(|c| &c.data_type)
            .eq(tgt.copied_columns().map(|c| &c.data_type));
        let pair = crate::dialect_pair::DialectPair::new(source.dialect(), target.dialect());
        if pair.raw_pass_through()
            && same_types
            && !show
            && source.raw_rows(src).is_some()
            && target.raw_rows(tgt).is_some()
        {
            Mode::Raw
        } else if pair.keeps_zero_dates() {
            Mode::MysqlExact
        } else {
            Mode::Decoded
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
    let mut hasher = RowHasher::new(&table);
    let mut buckets = vec![Bucket::default(); n];
    scan::scan(source.as_ref(), &table, batch, mode, |row| {
        let h = hasher.row(&row);
        buckets[(h.key % n as u64) as usize].add(&h);
        Ok(())
    })
    .await?;
    Ok(buckets)
}

/// One table on both sides.
pub struct TablePair<'a> {
    /// The source.
    pub source: &'a Arc<dyn Source>,
    /// The target, read as a source.
    pub target: &'a Arc<dyn Source>,
    /// The table in the source.
    pub src_table: &'a Table,
    /// The table in the target.
    pub tgt_table: &'a Table,
}

/// Compare every value of one table; fills `v.content` and `v.differences`.
pub async fn compare_table(
    pair: &TablePair<'_>,
    opts: ContentOptions,
    v: &mut Verification,
) -> Result<()> {
    let rows = real_rows(pair.source.as_ref(), pair.src_table, v).await?;
    let n = bucket_count(rows);
    let mode = Mode::choose(
        pair.source.as_ref(),
        pair.target.as_ref(),
        pair.src_table,
        pair.tgt_table,
        opts.show_values,
    );
    // Each side reads, decodes and hashes in its own task, so the two sides (and the
    // tables compared at once) spread over every core.
    let side = |s: &Arc<dyn Source>, t: &Table| {
        tokio::spawn(bucket_sums(Arc::clone(s), t.clone(), n, opts.batch, mode))
    };
    let (s, t) = tokio::join!(
        side(pair.source, pair.src_table),
        side(pair.target, pair.tgt_table)
    );
    let joined = |r: std::result::Result<Result<Vec<Bucket>>, tokio::task::JoinError>| {
        r.map_err(|e| Error::other(format!("content hashing stopped: {e}")))?
    };
    let (s, t) = (joined(s)?, joined(t)?);
    if s == t {
        v.content = Outcome::Match;
        return Ok(());
    }
    v.content = Outcome::Differs;
    v.differences
        .extend(name_differences(pair, opts, mode, (&s, &t)).await?);
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
/// [`narrow`]) and describe what differs: the first keys, and how many rows in all.
async fn name_differences(
    pair: &TablePair<'_>,
    opts: ContentOptions,
    mode: Mode,
    (s, t): (&[Bucket], &[Bucket]),
) -> Result<Vec<String>> {
    let sel = narrow::select(s, t);
    let show = opts.show_values;
    let (ns, nt) = tokio::join!(
        narrow::narrow(
            pair.source.as_ref(),
            pair.src_table,
            &sel,
            opts.batch,
            mode,
            show
        ),
        narrow::narrow(
            pair.target.as_ref(),
            pair.tgt_table,
            &sel,
            opts.batch,
            mode,
            show
        )
    );
    let (mut ns, mut nt) = (ns?, nt?);
    let names: Vec<String> = pair
        .tgt_table
        .copied_columns()
        .map(|c| c.name.clone())
        .collect();
    let keyless = pair.src_table.row_key().is_empty();
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
