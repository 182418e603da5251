//! How a table is cut into load chunks: from its real row count and key bounds, never from
//! an estimate, and never into more than [`MAX_CHUNKS`] ranges.
//!
//! A chunk is a key range committed on its own, so its rows are all a resume can have to
//! load again. The plan keeps every chunk at or under `piece` rows (half of `--chunk-rows`,
//! see `migrate::LANES`):
//!
//! - A table whose key spans at most `piece` values, or that counts at most `piece` rows,
//!   is one chunk. The key is unique, so its span bounds its row count without a count.
//! - Dense keys (the ranges of `piece` key values are at most twice as many as the chunks
//!   the row count needs) are cut into equal key ranges of at most `piece` values: no row
//!   is read to plan them, and none can hold more than `piece` rows.
//! - Sparse keys (epoch-millisecond ids, big gaps) are cut where the rows are: the source
//!   steps through its key index `piece` rows at a time ([`Source::key_cuts`]), so each
//!   range holds exactly `piece` rows and none is empty, however far apart the keys lie.
//!
//! The trade-off: a table of more than `MAX_CHUNKS * piece` rows (1.25 billion with the
//! default `--chunk-rows`) gets wider chunks, `rows / MAX_CHUNKS` rows each, rather than
//! more of them, and the run warns that a resume may repeat that many. That keeps the
//! progress records, the chunk list and the per-chunk statements of any table bounded,
//! while smaller tables keep the `--chunk-rows` promise exactly.

use crate::progress::Chunk;
use ferry_core::{Result, Source, Table};

/// Most chunks one table is cut into.
pub const MAX_CHUNKS: u64 = 10_000;

/// A table's plan: its chunks, and the rows each holds at most when that is more than the
/// `piece` asked for (the table was too big for [`MAX_CHUNKS`] chunks of `piece` rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlan {
    /// The key ranges, in key order, covering the key's bounds without gaps.
    pub chunks: Vec<Chunk>,
    /// Rows per chunk when widened beyond `piece`.
    pub widened: Option<u64>,
}

impl ChunkPlan {
    fn whole() -> Self {
        ChunkPlan {
            chunks: vec![Chunk::WHOLE],
            widened: None,
        }
    }
}

/// Plan the chunks of `table` so that each holds at most `piece` rows (see the module
/// documentation for how, and for the cap).
pub async fn plan_table(source: &dyn Source, table: &Table, piece: u64) -> Result<ChunkPlan> {
    let piece = piece.max(1);
    if !source.supports_key_ranges() {
        return Ok(ChunkPlan::whole());
    }
    let Some((lo, hi)) = source.key_bounds(table).await? else {
        return Ok(ChunkPlan::whole());
    };
    if key_span(lo, hi) <= u128::from(piece) || hi == i64::MAX {
        return Ok(ChunkPlan::whole());
    }
    let rows = source.count_rows(table).await?;
    let per = rows_per_chunk(rows, piece);
    if rows <= per {
        return Ok(ChunkPlan::whole());
    }
    let widened = (per > piece).then_some(per);
    if let Some(chunks) = split_dense((lo, hi), rows, per) {
        return Ok(ChunkPlan { chunks, widened });
    }
    let max = usize::try_from(MAX_CHUNKS - 1).unwrap_or(usize::MAX);
    let cuts = source.key_cuts(table, per, max).await?;
    Ok(ChunkPlan {
        chunks: between_cuts((lo, hi), &cuts),
        widened,
    })
}

/// How many key values `[lo, hi]` holds.
fn key_span(lo: i64, hi: i64) -> u128 {
    (i128::from(hi) - i128::from(lo) + 1).max(0) as u128
}

/// Rows per chunk: `piece`, or more when `piece` would need more than [`MAX_CHUNKS`].
pub fn rows_per_chunk(rows: u64, piece: u64) -> u64 {
    piece.max(1).max(rows.div_ceil(MAX_CHUNKS))
}

/// Equal key ranges of at most `per` key values each (so at most `per` rows, the key
/// being unique), when the keys are dense enough that these are at most twice the chunks
/// `rows` needs; `None` for sparse keys.
pub fn split_dense((lo, hi): (i64, i64), rows: u64, per: u64) -> Option<Vec<Chunk>> {
    if hi == i64::MAX || hi < lo {
        return None;
    }
    let per = per.max(1);
    let span = key_span(lo, hi);
    let n = span.div_ceil(u128::from(per));
    let needed = u128::from(rows.div_ceil(per).max(1));
    if n > 2 * needed || n > u128::from(MAX_CHUNKS) {
        return None;
    }
    let (n, span, lo) = (n as i128, span as i128, i128::from(lo));
    // Cuts spread evenly: each range is span/n rounded either way, at most `per` values.
    let cut = |k: i128| (lo + span * k / n) as i64;
    Some(
        (0..n)
            .map(|k| Chunk {
                lo: cut(k),
                hi: cut(k + 1),
            })
            .collect(),
    )
}

/// The ranges between `cuts` (ascending keys inside `(lo, hi]`), from `lo` to `hi`
/// inclusive: `[lo, c1), [c1, c2), ..., [ck, hi + 1)`.
pub fn between_cuts((lo, hi): (i64, i64), cuts: &[i64]) -> Vec<Chunk> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = lo;
    for &c in cuts.iter().filter(|&&c| c > lo && c <= hi) {
        if c > start {
            out.push(Chunk { lo: start, hi: c });
            start = c;
        }
    }
    out.push(Chunk {
        lo: start,
        hi: hi.saturating_add(1),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contiguous(c: &[Chunk], lo: i64, end: i64) {
        assert_eq!(c[0].lo, lo);
        assert_eq!(c[c.len() - 1].hi, end);
        for w in c.windows(2) {
            assert_eq!(w[0].hi, w[1].lo);
        }
        assert!(c.iter().all(|c| c.range().is_some()));
    }

    #[test]
    fn dense_keys_split_into_ranges_no_wider_than_a_piece() {
        let c = split_dense((1, 80_000), 80_000, 5_000).expect("dense");
        assert_eq!(c.len(), 16);
        contiguous(&c, 1, 80_001);
        assert!(c.iter().all(|c| c.hi - c.lo <= 5_000));
        // Half the keys deleted: still dense enough, twice the chunks.
        let c = split_dense((1, 80_000), 40_000, 5_000).expect("dense");
        assert_eq!(c.len(), 16);
        // Extreme bounds do not overflow.
        let c = split_dense((i64::MIN, i64::MIN + 99), 100, 10).expect("dense");
        assert_eq!(c.len(), 10);
        contiguous(&c, i64::MIN, i64::MIN + 100);
    }

    #[test]
    fn sparse_keys_are_not_split_by_key_range() {
        // Three epoch-millisecond ids: planned from the key range, millions of chunks.
        assert_eq!(split_dense((1, 1_800_000_000_000), 3, 125_000), None);
        // A quarter of the key range used: four times the chunks needed.
        assert_eq!(split_dense((1, 4_000_000), 1_000_000, 125_000), None);
        assert_eq!(split_dense((0, i64::MAX), 1_000, 10), None);
    }

    #[test]
    fn ranges_between_cuts_cover_the_bounds() {
        let c = between_cuts((1, 1_800_000_000_000), &[1_700_000_000_000]);
        assert_eq!(
            c,
            vec![
                Chunk {
                    lo: 1,
                    hi: 1_700_000_000_000
                },
                Chunk {
                    lo: 1_700_000_000_000,
                    hi: 1_800_000_000_001
                }
            ]
        );
        let c = between_cuts((-50, 10), &[-40, -40, 0, 10, 99]);
        contiguous(&c, -50, 11);
        assert_eq!(c.len(), 4);
        assert_eq!(between_cuts((5, 5), &[]), vec![Chunk { lo: 5, hi: 6 }]);
    }

    #[test]
    fn the_chunk_count_is_capped() {
        assert_eq!(rows_per_chunk(1_000_000, 125_000), 125_000);
        let per = rows_per_chunk(5_000_000_000, 125_000);
        assert_eq!(per, 500_000);
        assert!(5_000_000_000u64.div_ceil(per) <= MAX_CHUNKS);
        let c = split_dense((1, 5_000_000_000), 5_000_000_000, per).expect("dense");
        assert_eq!(c.len() as u64, MAX_CHUNKS);
        assert_eq!(rows_per_chunk(10, 0), 1);
    }
}
