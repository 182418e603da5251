//! [`PgSink`]: PostgreSQL as a target, loading rows with binary COPY.

use crate::conn::{connect, map_error};
use crate::encode::{RowEncoder, COPY_HEADER};
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use ferry_core::{
    Batch, ChunkDone, ConnUrl, Dialect, Error, ProgressStore, RejectedRow, Result, Sink, StepDone,
    Table, TableWriter, WriteOutcome,
};
use futures::SinkExt;
use std::pin::Pin;
use tokio_postgres::{Client, CopyInSink};

/// A PostgreSQL database ferry writes to.
pub struct PgSink {
    url: ConnUrl,
    /// Set when the connection is plaintext to a host outside loopback.
    plaintext: Option<String>,
    /// The run this sink's sessions belong to ([`Sink::tag_sessions`]).
    tag: std::sync::Mutex<Option<String>>,
}

impl PgSink {
    /// Connect once to check the URL, credentials and database, then keep the URL for the
    /// connections each writer opens.
    pub async fn open(url: ConnUrl) -> Result<PgSink> {
        let (client, plaintext) = crate::conn::connect_noting(&url).await?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(|e| map_error(e).context(format!("{url}")))?;
        Ok(PgSink {
            url,
            plaintext,
            tag: std::sync::Mutex::new(None),
        })
    }

    /// Run a small query and return its rows as text (`None` for NULL).
    pub async fn query_text(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        let client = self.client().await?;
        let messages = client
            .simple_query(sql)
            .await
            .map_err(|e| map_error(e).context(statement_summary(sql)))?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    /// The role this sink connects as, quoted for a statement (`<user>` when the URL
    /// names none), for the GRANTs that permission errors name.
    pub(crate) fn role(&self) -> String {
        crate::privilege::role_name(self.url.user.as_deref())
    }

    /// A new connection to the target, named for the run ([`Sink::tag_sessions`]).
    pub async fn client(&self) -> Result<Client> {
        let client = connect(&self.url).await?;
        let tag = self.tag.lock().ok().and_then(|t| t.clone());
        if let Some(tag) = tag {
            let name = crate::objects::application_name(&tag);
            client
                .batch_execute(&format!("SET application_name = '{name}'"))
                .await
                .map_err(|e| map_error(e).context("naming the session"))?;
        }
        Ok(client)
    }
}

/// `schema.table` or `table`, quoted for PostgreSQL.
pub use ferry_schema::quote::pg_table as qualified;

#[async_trait]
impl Sink for PgSink {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn connection_warning(&self) -> Option<String> {
        self.plaintext.clone()
    }

    async fn existing_tables(&self, tables: &[Table]) -> Result<Vec<String>> {
        let client = self.client().await?;
        let mut found = Vec::new();
        for t in tables {
            let row = client
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified(t)])
                .await
                .map_err(map_error)?;
            if row.get::<_, bool>(0) {
                found.push(t.display_name());
            }
        }
        Ok(found)
    }

    async fn existing_objects(
        &self,
        objects: &[ferry_core::DbObject],
    ) -> Result<Vec<ferry_core::DbObject>> {
        crate::objects::existing(&self.client().await?, objects).await
    }

    async fn drop_objects(&self, objects: &[ferry_core::DbObject]) -> Result<()> {
        crate::objects::drop(&self.client().await?, objects).await
    }

    fn tag_sessions(&self, tag: &str) {
        if let Ok(mut t) = self.tag.lock() {
            *t = Some(tag.to_string());
        }
    }

    async fn end_tagged_sessions(&self, tag: &str, limit: std::time::Duration) -> Result<usize> {
        crate::objects::end_tagged(&self.client().await?, tag, limit).await
    }

    async fn execute(&self, statements: &[String]) -> Result<()> {
        if statements.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        for sql in statements {
            exec_one(&client, sql).await.map_err(|e| {
                map_error(e)
                    .naming_user(&self.role())
                    .context(statement_summary(sql))
            })?;
        }
        Ok(())
    }

    async fn missing_privileges(
        &self,
        needs: &ferry_core::TargetNeeds,
    ) -> Result<Vec<ferry_core::Error>> {
        let client = self.client().await?;
        crate::access::missing_privileges(&client, self.url.user.as_deref(), needs).await
    }

    fn load_method(&self) -> String {
        "binary COPY".to_string()
    }

    /// Each missing extension is looked up in `pg_available_extensions`, then created for
    /// real inside a transaction (under a savepoint, so one an extension requires is there
    /// for the next) that is rolled back: whatever stops `CREATE EXTENSION` shows here.
    async fn unavailable_extensions(&self, names: &[String]) -> Result<Vec<(String, String)>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let fail =
            |e: tokio_postgres::Error| map_error(e).context("checking extensions on the target");
        client.batch_execute("BEGIN").await.map_err(fail)?;
        let mut out = Vec::new();
        for name in names {
            let row = client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1), \
                            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1)",
                    &[name],
                )
                .await
                .map_err(fail)?;
            let (installed, available): (bool, bool) = (row.get(0), row.get(1));
            if installed {
                continue;
            }
            if !available {
                out.push((
                    name.clone(),
                    "the target server does not offer it: pg_available_extensions does not list it"
                        .to_string(),
                ));
                continue;
            }
            client
                .batch_execute("SAVEPOINT ferry_extension")
                .await
                .map_err(fail)?;
            let sql = format!("CREATE EXTENSION {}", ferry_schema::quote::pg_ident(name));
            match client.batch_execute(&sql).await {
                Ok(()) => {
                    client
                        .batch_execute("RELEASE SAVEPOINT ferry_extension")
                        .await
                }
                Err(e) => {
                    let why = match e.as_db_error() {
                        Some(db) => match db.hint() {
                            Some(h) => format!("{}; {h}", db.message()),
                            None => db.message().to_string(),
                        },
                        None => e.to_string(),
                    };
                    out.push((
                        name.clone(),
                        format!("the target role cannot create it: {why}"),
                    ));
                    client
                        .batch_execute("ROLLBACK TO SAVEPOINT ferry_extension")
                        .await
                }
            }
            .map_err(fail)?;
        }
        client.batch_execute("ROLLBACK").await.map_err(fail)?;
        Ok(out)
    }

    async fn open_writer(
        &self,
        table: &Table,
        reject_bad_rows: bool,
    ) -> Result<Box<dyn TableWriter>> {
        let client = self.client().await?;
        // One transaction per writer: the rows and the caller's record of them commit
        // together in `finish`.
        client.batch_execute("BEGIN").await.map_err(|e| {
            map_error(e).context(format!(
                "table `{}`: starting a transaction",
                table.display_name()
            ))
        })?;
        let columns: Vec<String> = table
            .copied_columns()
            .map(|c| ferry_schema::quote::pg_ident(&c.name))
            .collect();
        let sql = format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            qualified(table),
            columns.join(", ")
        );
        let copy = client.copy_in::<_, Bytes>(&sql).await.map_err(|e| {
            map_error(e).context(format!("table `{}`: starting COPY", table.display_name()))
        })?;
        let key: Vec<(usize, String)> = table
            .row_key()
            .into_iter()
            .filter_map(|k| {
                table
                    .copied_columns()
                    .position(|c| c.name == k)
                    .map(|i| (i, k))
            })
            .collect();
        let mut buf = BytesMut::with_capacity(1 << 20);
        buf.extend_from_slice(COPY_HEADER);
        Ok(Box::new(PgWriter {
            client,
            copy: Box::pin(copy),
            encoder: RowEncoder::new(table),
            table: table.display_name(),
            key,
            buf,
            rows_seen: 0,
            written: 0,
            reject: reject_bad_rows,
        }))
    }

    /// PostgreSQL's DDL is transactional: the statements and their record run in one
    /// transaction, each through [`exec_one`]. On an error the connection is dropped, which
    /// rolls the transaction back.
    async fn execute_recorded(&self, statements: &[String], done: &StepDone) -> Result<()> {
        let client = self.client().await?;
        let run = |sql: &'static str| exec_one(&client, sql);
        run("BEGIN").await.map_err(map_error)?;
        for sql in statements {
            exec_one(&client, sql)
                .await
                .map_err(|e| map_error(e).context(statement_summary(sql)))?;
        }
        crate::progress::record_step(&client, done).await?;
        run("COMMIT")
            .await
            .map_err(|e| map_error(e).context("COMMIT"))?;
        Ok(())
    }

    fn progress(&self) -> &dyn ProgressStore {
        self
    }

    async fn count_rows(&self, table: &Table) -> Result<u64> {
        let client = self.client().await?;
        let row = client
            .query_one(&format!("SELECT count(*) FROM {}", qualified(table)), &[])
            .await
            .map_err(|e| map_error(e).context(format!("counting `{}`", table.display_name())))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    async fn open_change_writer(
        &self,
        tables: &[ferry_core::ReplicatedTable],
    ) -> Result<Box<dyn ferry_core::ChangeWriter>> {
        Ok(Box::new(
            crate::apply::PgChangeWriter::open(&self.url, tables).await?,
        ))
    }

    async fn replication_status(&self) -> Result<Option<ferry_core::ReplicationStatus>> {
        crate::apply::status(&self.client().await?).await
    }

    async fn request_stop(&self, at: Option<&ferry_core::Position>) -> Result<()> {
        crate::apply::request_stop(&self.client().await?, at).await
    }
}

/// Run one statement that ferry built through the extended query protocol, which runs
/// exactly one statement: text that holds a second one fails to parse instead of running.
pub async fn exec_one(
    client: &Client,
    sql: &str,
) -> std::result::Result<u64, tokio_postgres::Error> {
    client.execute(sql, &[]).await
}

/// The first line of a statement, for error context.
pub fn statement_summary(sql: &str) -> String {
    let line = sql.lines().next().unwrap_or("").trim();
    let cut: String = line.chars().take(120).collect();
    if cut.len() < line.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

/// Loads one table through a single `COPY ... FROM STDIN (FORMAT binary)`.
pub struct PgWriter {
    client: Client,
    copy: Pin<Box<CopyInSink<Bytes>>>,
    encoder: RowEncoder,
    table: String,
    key: Vec<(usize, String)>,
    buf: BytesMut,
    rows_seen: u64,
    written: u64,
    reject: bool,
}

#[async_trait]
impl TableWriter for PgWriter {
    async fn write(&mut self, batch: Batch) -> Result<WriteOutcome> {
        let mut outcome = WriteOutcome::default();
        if let Some(raw) = &batch.raw {
            self.buf.extend_from_slice(raw);
            outcome.written = batch.raw_rows;
        } else {
            let key: Vec<(usize, &str)> = self.key.iter().map(|(i, n)| (*i, n.as_str())).collect();
            for i in 0..batch.rows() {
                let row = batch.row(i);
                if let Err(e) = self.encoder.encode_row(row, &mut self.buf) {
                    let locator = batch.locator(i, &key, self.rows_seen);
                    let column = self.encoder.column_name(e.column).to_string();
                    if !self.reject {
                        return Err(Error::data(format!(
                            "table `{}`, column `{column}`, {locator}: {}",
                            self.table, e.reason
                        )));
                    }
                    outcome.rejected.push(RejectedRow {
                        locator,
                        column,
                        reason: e.reason,
                        values: row.to_vec(),
                    });
                } else {
                    outcome.written += 1;
                }
            }
        }
        self.rows_seen += batch.rows() as u64;
        self.written += outcome.written;
        if self.buf.len() >= 256 * 1024 {
            let chunk = self.buf.split().freeze();
            self.copy
                .send(chunk)
                .await
                .map_err(|e| map_error(e).context(format!("table `{}`: COPY", self.table)))?;
        }
        Ok(outcome)
    }

    async fn finish(mut self: Box<Self>, done: Option<&ChunkDone>) -> Result<u64> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        let chunk = self.buf.split().freeze();
        self.copy
            .send(chunk)
            .await
            .map_err(|e| map_error(e).context(format!("table `{}`: COPY", self.table)))?;
        let rows =
            self.copy.as_mut().finish().await.map_err(|e| {
                map_error(e).context(format!("table `{}`: finishing COPY", self.table))
            })?;
        if rows != self.written {
            return Err(Error::other(format!(
                "table `{}`: PostgreSQL reports {rows} rows copied, ferry sent {}",
                self.table, self.written
            )));
        }
        if let Some(done) = done {
            crate::progress::record_chunk(&self.client, done).await?;
        }
        exec_one(&self.client, "COMMIT")
            .await
            .map_err(|e| map_error(e).context(format!("table `{}`: committing", self.table)))?;
        Ok(rows)
    }
}
