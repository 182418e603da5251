//! Reject files: one JSON line per row that could not be moved, enough to reload it by hand.
//!
//! A table's rows are loaded in chunks, each committed on its own, and a chunk may be tried
//! again (after a transient error, or by a resumed run). So the rows a chunk rejects go to a
//! part file of that chunk, started afresh by every attempt and synced before the chunk
//! commits. The table's reject file is put together from the parts of the committed chunks,
//! in key order: a row rejected by an attempt that did not commit never appears, and one
//! rejected by a committed chunk appears once, however many runs it took.
//!
//! Reject files hold row data: every file is created 0600, never through a symlink, and a
//! table's reject file replaces only a reject file ferry wrote for the same table (see
//! [`RejectFile::check`]).

use crate::files;
use crate::progress::Chunk;
use ferry_core::{Error, RejectedRow, Result, Table};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The reject file of one table, `<dir>/<table>.reject.jsonl`, and its chunks' parts.
pub struct RejectFile {
    dir: PathBuf,
    stem: String,
    columns: Vec<String>,
    table: String,
}

impl RejectFile {
    /// The reject file for `table` under `dir`.
    pub fn new(dir: &Path, table: &Table) -> Self {
        let stem: String = table
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
            dir: dir.to_path_buf(),
            stem,
            columns: table.copied_columns().map(|c| c.name.clone()).collect(),
            table: table.display_name(),
        }
    }

    /// Where the rows go.
    pub fn path(&self) -> PathBuf {
        self.dir.join(format!("{}.reject.jsonl", self.stem))
    }

    fn part_path(&self, chunk: Chunk) -> PathBuf {
        self.dir.join(format!(
            ".{}.reject.{}-{}.part",
            self.stem, chunk.lo, chunk.hi
        ))
    }

    /// A fresh part for one attempt at `chunk`: whatever an earlier attempt wrote is gone.
    pub fn part(&self, chunk: Chunk) -> Result<RejectPart<'_>> {
        let path = self.part_path(chunk);
        remove_if_there(&path)?;
        Ok(RejectPart {
            file: self,
            path,
            out: None,
        })
    }

    /// Put the reject file together from the parts of `chunks` (all committed), in order,
    /// and return how many rows it holds. With `complete` (every chunk of the table is
    /// committed) the parts are removed afterwards; otherwise they stay for a resume.
    /// Without parts, a run that `loaded` chunks rejected nothing (a reject file left by an
    /// earlier run is removed), and one that loaded none keeps the file an earlier run
    /// assembled.
    pub fn assemble(&self, chunks: &[Chunk], complete: bool, loaded: bool) -> Result<u64> {
        let path = self.path();
        let parts: Vec<PathBuf> = chunks
            .iter()
            .map(|c| self.part_path(*c))
            .filter(|p| p.exists())
            .collect();
        if parts.is_empty() {
            if loaded {
                if path.exists() {
                    self.check()?;
                    remove_if_there(&path)?;
                }
                return Ok(0);
            }
            return match File::open(&path) {
                Ok(f) => Ok(BufReader::new(f).split(b'\n').count() as u64),
                Err(_) => Ok(0),
            };
        }
        let mut count = 0u64;
        // The finished file replaces the old one in one step: a crash leaves either.
        files::replace_private(
            &path,
            "reject file",
            |p| self.is_ours(p),
            |out| {
                for part in &parts {
                    let reader = BufReader::new(File::open(part)?);
                    for line in reader.split(b'\n') {
                        let line = line?;
                        if line.is_empty() {
                            continue;
                        }
                        out.write_all(&line)?;
                        out.write_all(b"\n")?;
                        count += 1;
                    }
                }
                Ok(())
            },
        )?;
        if complete {
            for part in &parts {
                remove_if_there(part)?;
            }
        }
        Ok(count)
    }

    /// Refuse to run when the reject file's name is taken by anything but a reject file
    /// ferry wrote for this table (a symlink, a directory, someone else's file). Called
    /// before any row moves, and again before the file is replaced.
    pub fn check(&self) -> Result<()> {
        files::check_replaceable(&self.path(), "reject file", |p| self.is_ours(p))
    }

    /// Whether `path` is a reject file of this table: its first line is one of ferry's
    /// reject lines (a JSON object with this table's name, a locator and a reason).
    fn is_ours(&self, path: &Path) -> bool {
        let Some(line) = files::first_line(path, 16 << 20) else {
            return false;
        };
        let Ok(serde_json::Value::Object(v)) = serde_json::from_slice(&line) else {
            return false;
        };
        v.get("table").and_then(|t| t.as_str()) == Some(self.table.as_str())
            && v.contains_key("locator")
            && v.contains_key("reason")
            && v.contains_key("row")
    }

    fn line(&self, r: &RejectedRow) -> serde_json::Value {
        let mut row = serde_json::Map::new();
        for (name, v) in self.columns.iter().zip(&r.values) {
            row.insert(name.clone(), v.to_json());
        }
        serde_json::json!({
            "table": self.table,
            "locator": r.locator,
            "column": r.column,
            "reason": r.reason,
            "row": row,
        })
    }
}

/// The rejected rows of one attempt at one chunk.
pub struct RejectPart<'a> {
    file: &'a RejectFile,
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl RejectPart<'_> {
    /// Append rows.
    pub fn write(&mut self, rows: &[RejectedRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if self.out.is_none() {
            std::fs::create_dir_all(&self.file.dir)?;
            self.out = Some(BufWriter::new(create(&self.path)?));
        }
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        for r in rows {
            writeln!(out, "{}", self.file.line(r))?;
        }
        Ok(())
    }

    /// Make the part durable; called before the chunk commits.
    pub fn sync(&mut self) -> Result<()> {
        if let Some(out) = self.out.as_mut() {
            out.flush()?;
            out.get_ref().sync_all()?;
        }
        Ok(())
    }
}

fn create(path: &Path) -> Result<File> {
    files::create_private(path).map_err(|e| {
        Error::other(format!(
            "cannot create reject file `{}`: {e}",
            path.display()
        ))
    })
}

fn remove_if_there(path: &Path) -> Result<()> {
    files::remove_if_there(path)
}
