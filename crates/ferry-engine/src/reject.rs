//! Reject files: one JSON line per row that could not be moved, enough to reload it by hand.

use ferry_core::{Error, RejectedRow, Result, Table};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends rejected rows of one table to `<dir>/<table>.reject.jsonl`, created on first use.
pub struct RejectFile {
    path: PathBuf,
    columns: Vec<String>,
    table: String,
    out: Option<BufWriter<File>>,
    count: u64,
    append: bool,
}

impl RejectFile {
    /// A reject file for `table` under `dir`.
    pub fn new(dir: &Path, table: &Table) -> Self {
        let safe: String = table
            .display_name()
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        RejectFile {
            path: dir.join(format!("{safe}.reject.jsonl")),
            columns: table.copied_columns().map(|c| c.name.clone()).collect(),
            table: table.display_name(),
            out: None,
            count: 0,
            append: false,
        }
    }

    /// Keep the rows an earlier run wrote (a resumed run adds to them). Rows of a chunk
    /// that run did not commit appear again when the chunk is loaded again.
    pub fn append(&mut self) {
        self.append = true;
    }

    /// Where the rows go.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Append rows.
    pub fn write(&mut self, rows: &[RejectedRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if self.out.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(self.append)
                .truncate(!self.append)
                .open(&self.path)
                .map_err(|e| {
                    Error::other(format!(
                        "cannot create reject file `{}`: {e}",
                        self.path.display()
                    ))
                })?;
            self.out = Some(BufWriter::new(file));
        }
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        for r in rows {
            let mut row = serde_json::Map::new();
            for (name, v) in self.columns.iter().zip(&r.values) {
                row.insert(name.clone(), v.to_json());
            }
            let line = serde_json::json!({
                "table": self.table,
                "locator": r.locator,
                "column": r.column,
                "reason": r.reason,
                "row": row,
            });
            writeln!(out, "{line}")?;
            self.count += 1;
        }
        Ok(())
    }

    /// Flush to disk.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(out) = self.out.as_mut() {
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        Ok(())
    }
}
