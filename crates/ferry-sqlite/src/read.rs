//! [`SqliteSource`]: reads a SQLite file.

use crate::convert::{convert, raw};
use crate::introspect::{self, quote, Note};
use async_trait::async_trait;
use ferry_core::{
    BadRow, BatchSender, DataType, Dialect, Error, ErrorKind, ReadOptions, ReadStats, Result,
    RowLoop, RowOut, Schema, Source, Table, Value,
};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A SQLite database file opened read-only.
///
/// Consistency: the source holds a read transaction open on its own connection for as long
/// as it lives. In rollback-journal mode that shared lock keeps every writer from committing,
/// so all parallel readers see one state of the file. In WAL mode writers can still commit;
/// each reader then sees the file as of its own start (stop the application, or use
/// `--jobs 1`, for one point in time).
pub struct SqliteSource {
    path: PathBuf,
    /// Holds the shared lock; also used for introspection and counts.
    conn: Arc<Mutex<Connection>>,
    notes: Mutex<Vec<Note>>,
    /// Views and triggers, which are not copied (warning lines).
    not_copied: Mutex<Vec<String>>,
}

/// Classify an SQLite error.
pub fn map_error(e: rusqlite::Error) -> Error {
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            rusqlite::ErrorCode::NotADatabase => ErrorKind::Config,
            rusqlite::ErrorCode::CannotOpen => ErrorKind::NotFound,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                ErrorKind::Transient
            }
            _ => ErrorKind::Other,
        },
        _ => ErrorKind::Other,
    };
    Error::new(kind, e.to_string()).with_source(e)
}

/// The first 16 bytes of every SQLite 3 database file.
const HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Refuse a file that is not an SQLite database before SQLite sees it: SQLite takes an empty
/// file for an empty database, which would make a run of zero tables.
fn check_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let shown = path.display();
    let mut head = Vec::with_capacity(HEADER.len());
    std::fs::File::open(path)
        .and_then(|f| f.take(HEADER.len() as u64).read_to_end(&mut head))
        .map_err(|e| Error::config(format!("cannot read SQLite file `{shown}`: {e}")))?;
    if head.is_empty() {
        return Err(Error::config(format!(
            "`{shown}` is empty (0 bytes), not an SQLite database"
        )));
    }
    if head != HEADER {
        return Err(Error::config(format!(
            "`{shown}` is not an SQLite database (it does not start with the SQLite 3 header)"
        )));
    }
    Ok(())
}

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| map_error(e).context(format!("cannot open SQLite file `{}`", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(map_error)?;
    Ok(conn)
}

impl SqliteSource {
    /// Open `path` read-only and start the snapshot. A missing file, or one that is not an
    /// SQLite database, gives a one-line error.
    pub fn open(path: &Path) -> Result<SqliteSource> {
        if !path.exists() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("SQLite file `{}` does not exist", path.display()),
            ));
        }
        if path.is_dir() {
            return Err(Error::config(format!(
                "`{}` is a directory, not an SQLite file",
                path.display()
            )));
        }
        check_header(path)?;
        let conn = open(path)?;
        conn.execute_batch("BEGIN DEFERRED")
            .and_then(|_| {
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .map_err(|e| {
                let kind = map_error(e).kind();
                if kind == ErrorKind::Config {
                    Error::config(format!("`{}` is not an SQLite database", path.display()))
                } else {
                    Error::new(
                        kind,
                        format!("cannot read SQLite file `{}`", path.display()),
                    )
                }
            })?;
        Ok(SqliteSource {
            path: path.to_path_buf(),
            conn: Arc::new(Mutex::new(conn)),
            notes: Mutex::new(Vec::new()),
            not_copied: Mutex::new(Vec::new()),
        })
    }

    /// Lossy choices made while introspecting (untyped columns and unknown types).
    pub fn notes(&self) -> Vec<Note> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    /// Run `f` on the snapshot connection on a blocking thread.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| Error::other("SQLite connection lock poisoned"))?;
            f(&conn)
        })
        .await
        .map_err(|e| Error::other(format!("SQLite thread failed: {e}")))?
    }
}

#[async_trait]
impl Source for SqliteSource {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn schema(&self) -> Result<Schema> {
        let (schema, notes, not_copied) = self
            .with_conn(|c| {
                let (schema, notes) = introspect::schema(c)?;
                Ok((schema, notes, introspect::not_copied(c)?))
            })
            .await?;
        if let Ok(mut n) = self.notes.lock() {
            *n = notes;
        }
        if let Ok(mut n) = self.not_copied.lock() {
            *n = not_copied;
        }
        Ok(schema)
    }

    async fn read_table(
        &self,
        table: &Table,
        options: &ReadOptions,
        tx: BatchSender,
    ) -> Result<ReadStats> {
        let path = self.path.clone();
        let table = table.clone();
        let options = options.clone();
        tokio::task::spawn_blocking(move || read_blocking(&path, &table, &options, &tx))
            .await
            .map_err(|e| Error::other(format!("SQLite reader thread failed: {e}")))?
    }

    fn supports_key_ranges(&self) -> bool {
        true
    }

    async fn key_bounds(&self, table: &Table) -> Result<Option<(i64, i64)>> {
        let name = table.name.clone();
        self.with_conn(move |c| {
            if !rowid_available(c, &name) {
                return Ok(None);
            }
            let sql = format!("SELECT min(rowid), max(rowid) FROM {}", quote(&name));
            c.query_row(&sql, [], |r| {
                Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
            })
            .map(|(lo, hi)| lo.zip(hi))
            .map_err(map_error)
        })
        .await
    }

    async fn key_cuts(&self, table: &Table, every: u64, max: usize) -> Result<Vec<i64>> {
        let sql = format!(
            "SELECT rowid FROM {} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1 OFFSET ?2",
            quote(&table.name)
        );
        let name = table.name.clone();
        let every = i64::try_from(every.max(1)).unwrap_or(i64::MAX);
        self.with_conn(move |c| {
            let mut stmt = c.prepare(&sql).map_err(map_error)?;
            let mut cuts = Vec::new();
            let mut from = i64::MIN;
            while cuts.len() < max {
                let next = stmt
                    .query_row([from, every], |r| r.get::<_, i64>(0))
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(map_error(e)),
                    })?;
                let Some(key) = next else { break };
                cuts.push(key);
                from = key;
            }
            Ok(cuts)
        })
        .await
        .map_err(|e| e.context(format!("table `{name}`: stepping through the rowid")))
    }

    async fn max_char_lengths(
        &self,
        table: &Table,
        columns: &[String],
    ) -> Result<Vec<Option<u64>>> {
        if columns.is_empty() {
            return Ok(Vec::new());
        }
        // length() of text counts characters; a value stored as a number or a blob in a
        // text column is measured as the text the reader makes of it.
        let list: Vec<String> = columns
            .iter()
            .map(|c| format!("max(length(CAST({} AS TEXT)))", quote(c)))
            .collect();
        let sql = format!("SELECT {} FROM {}", list.join(", "), quote(&table.name));
        let n = columns.len();
        let name = table.name.clone();
        self.with_conn(move |c| {
            c.query_row(&sql, [], |r| {
                (0..n)
                    .map(|i| Ok(r.get::<_, Option<i64>>(i)?.map(|v| v.max(0) as u64)))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(map_error)
        })
        .await
        .map_err(|e| e.context(format!("table `{name}`: measuring the longest text values")))
    }

    fn warnings(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .notes()
            .into_iter()
            .map(|n| format!("{}.{}: {}", n.table, n.column, n.message))
            .collect();
        if let Ok(n) = self.not_copied.lock() {
            lines.extend(n.iter().cloned());
        }
        lines
    }

    async fn count_rows(&self, table: &Table) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM {}", quote(&table.name));
        self.with_conn(move |c| {
            c.query_row(&sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(map_error)
        })
        .await
        .map_err(|e| e.context(format!("counting `{}`", table.name)))
    }
}

fn read_blocking(
    path: &Path,
    table: &Table,
    options: &ReadOptions,
    tx: &BatchSender,
) -> Result<ReadStats> {
    let conn = open(path)?;
    let columns: Vec<(&str, &DataType)> = table
        .copied_columns()
        .map(|c| (c.name.as_str(), &c.data_type))
        .collect();
    // SQLite itself keeps NULL out of NOT NULL columns, but not out of PRIMARY KEY columns
    // (other than INTEGER PRIMARY KEY), which the introspection declares NOT NULL.
    let not_null: Vec<Option<&'static str>> = table
        .copied_columns()
        .map(
            |c| match (c.nullable, table.primary_key.contains(&c.name)) {
                (true, _) => None,
                (false, true) => Some(
                    "NULL in a PRIMARY KEY column (SQLite allows it, the target's key does not)",
                ),
                (false, false) => Some("NULL in a NOT NULL column"),
            },
        )
        .collect();
    let has_rowid = rowid_available(&conn, &table.name);
    let select_list: Vec<String> = columns.iter().map(|(n, _)| quote(n)).collect();
    let mut sql = format!(
        "SELECT {}{} FROM {}",
        if has_rowid { "rowid, " } else { "" },
        select_list.join(", "),
        quote(&table.name)
    );
    if let Some((lo, hi)) = options.key_range {
        if !has_rowid {
            return Err(Error::other(format!(
                "table `{}` has no rowid to split into ranges",
                table.name
            )));
        }
        sql.push_str(&format!(
            " WHERE rowid >= {lo} AND rowid < {hi} ORDER BY rowid"
        ));
    }
    let mut stmt = conn
        .prepare(&sql)
        .map_err(|e| map_error(e).context(format!("reading `{}`", table.name)))?;
    let mut rows = stmt.query([]).map_err(map_error)?;
    let offset = usize::from(has_rowid);
    let mut out = RowLoop::new(table, options, tx.clone());
    while let Some(row) = rows
        .next()
        .map_err(|e| map_error(e).context(format!("reading `{}`", table.name)))?
    {
        out.row_blocking(|values| {
            if has_rowid {
                if let Ok(id) = row.get::<_, i64>(0) {
                    values.row_id(id);
                }
            }
            decode_row(row, offset, &columns, &not_null, values)
        })?;
    }
    out.finish_blocking()
}

/// Convert one SQLite row's cells (from `offset` on) to the columns' types.
fn decode_row(
    row: &rusqlite::Row<'_>,
    offset: usize,
    columns: &[(&str, &DataType)],
    not_null: &[Option<&'static str>],
    values: &mut RowOut<'_>,
) -> std::result::Result<(), BadRow> {
    let cell = |i: usize| row.get_ref(i + offset);
    for (i, (_, t)) in columns.iter().enumerate() {
        let failed = |reason: String| BadRow {
            column: i,
            reason,
            values: (0..columns.len())
                .map(|i| cell(i).map(raw).unwrap_or(Value::Null))
                .collect(),
        };
        let v = cell(i).map_err(|e| failed(e.to_string()))?;
        if let (rusqlite::types::ValueRef::Null, Some(why)) = (v, not_null[i]) {
            return Err(failed(why.to_string()));
        }
        values.push(convert(v, t).map_err(failed)?);
    }
    Ok(())
}

fn rowid_available(conn: &Connection, table: &str) -> bool {
    conn.prepare(&format!("SELECT rowid FROM {} LIMIT 0", quote(table)))
        .is_ok()
}
