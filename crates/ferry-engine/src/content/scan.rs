//! Reading one side of a table for content verification, decoded or raw.

use super::Mode;
use ferry_core::{BatchLimits, Error, ReadOptions, Result, Source, Table, Value};
use tokio::sync::mpsc;

/// One row as a scan hands it over: decoded values, or (in [`Mode::Raw`]) the row's raw
/// bytes with its key decoded.
pub(crate) enum RowRef<'a> {
    /// Every copied column, decoded.
    Values(&'a [Value]),
    /// The bytes the source sent, and the key's values in key order.
    Raw { bytes: &'a [u8], key: &'a [Value] },
}

/// Stream one side of a table through `visit`, decoded or (in [`Mode::Raw`]) as the
/// source's raw rows.
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
        raw_pg_copy: mode == Mode::Raw,
        keep_zero_dates: mode == Mode::MysqlExact,
        ..ReadOptions::default()
    };
    let mut raw_rows = if mode == Mode::Raw {
        source.raw_rows(table)
    } else {
        None
    };
    let reader = source.read_table(table, &opts, tx);
    let consume = async {
        let mut rows = 0u64;
        let mut rejected = 0u64;
        while let Some(b) = rx.recv().await {
            if let Some(raw) = &b.raw {
                let split = raw_rows.as_mut().ok_or_else(|| {
                    Error::other("the source sent raw rows it cannot split for comparison")
                })?;
                split.rows(raw, &mut |bytes, key| {
                    rows += 1;
                    visit(RowRef::Raw { bytes, key })
                })?;
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
