//! The generated [`Source`] and the [`Connector`] that pairs it with the real drivers' sinks.

use crate::tables::TableSpec;
use crate::values::cell;
use crate::Profile;
use async_trait::async_trait;
use ferry_core::read_loop::{BadRow, RowLoop};
use ferry_core::{
    BatchSender, ConnUrl, Connector, Dialect, Error, ReadOptions, ReadStats, Result, Schema, Sink,
    Source, Table, TargetPlanner, Value,
};
use std::sync::Arc;

/// A generated dataset as a [`Source`]: `profile`'s tables, `rows` rows each, from `seed`.
#[derive(Debug, Clone)]
pub struct GeneratedSource {
    profile: Profile,
    pub(crate) rows: u64,
    seed: u64,
    pub(crate) tables: Vec<TableSpec>,
}

impl GeneratedSource {
    /// `rows` rows in each of `profile`'s tables, made from `seed`.
    pub fn new(profile: Profile, rows: u64, seed: u64) -> Result<Self> {
        if rows > i64::MAX as u64 {
            return Err(Error::config(format!(
                "--rows {rows} is more than a key can hold"
            )));
        }
        Ok(GeneratedSource {
            profile,
            rows,
            seed,
            tables: profile.tables(),
        })
    }

    /// How the source is named in reports: `generated:wide?rows=N&seed=S`.
    pub fn label(&self) -> String {
        format!(
            "generated:{}?rows={}&seed={}",
            self.profile.name(),
            self.rows,
            self.seed
        )
    }

    /// Rows in each table.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Rows over all tables.
    pub fn total_rows(&self) -> u64 {
        self.rows * self.tables.len() as u64
    }

    fn spec(&self, table: &Table) -> Result<&TableSpec> {
        self.tables
            .iter()
            .find(|t| t.name == table.name)
            .ok_or_else(|| {
                Error::config(format!(
                    "table `{}` is not part of the generated `{}` profile",
                    table.display_name(),
                    self.profile.name()
                ))
            })
    }

    /// For each column of `table` to read (copied columns, in order): its position in the
    /// generator's spec. A column whose type the caller changed is refused by name: the
    /// generator makes values of its own types only.
    fn plan_columns(&self, spec: &TableSpec, table: &Table) -> Result<Vec<usize>> {
        table
            .copied_columns()
            .map(|c| {
                let i = spec
                    .columns
                    .iter()
                    .position(|s| s.name == c.name)
                    .ok_or_else(|| {
                        Error::config(format!(
                            "table `{}`: the generator has no column `{}`",
                            spec.name, c.name
                        ))
                    })?;
                if (spec.columns[i].data_type)() != c.data_type {
                    return Err(Error::config(format!(
                        "table `{}`, column `{}`: the generator makes {:?} values, not {:?}",
                        spec.name,
                        c.name,
                        (spec.columns[i].data_type)(),
                        c.data_type
                    )));
                }
                Ok(i)
            })
            .collect()
    }

    /// The values of row `id` of `table` (every column, in order): what a read sends.
    pub fn row(&self, table: &str, id: i64) -> Option<Vec<Value>> {
        let spec = self.tables.iter().find(|t| t.name == table)?;
        (id >= 1 && id as u64 <= self.rows).then(|| {
            (0..spec.columns.len())
                .map(|c| cell(self.seed, spec, id, c))
                .collect()
        })
    }
}

#[async_trait]
impl Source for GeneratedSource {
    fn dialect(&self) -> Dialect {
        // Neutral types only: the translator maps every column from its `data_type`, as
        // for SQLite (a PostgreSQL or MySQL source would keep `source_type` verbatim on a
        // target of its own kind).
        Dialect::Sqlite
    }

    async fn schema(&self) -> Result<Schema> {
        Ok(Schema {
            tables: self.tables.iter().map(|t| t.table(self.rows)).collect(),
            ..Schema::default()
        })
    }

    async fn read_table(
        &self,
        table: &Table,
        options: &ReadOptions,
        tx: BatchSender,
    ) -> Result<ReadStats> {
        let spec = self.spec(table)?;
        let columns = self.plan_columns(spec, table)?;
        let (lo, hi) = options.key_range.unwrap_or((i64::MIN, i64::MAX));
        let first = lo.max(1);
        // `hi` is exclusive; the last key is `rows`.
        let last = (hi.saturating_sub(1)).min(self.rows as i64);
        let mut rows = RowLoop::new(table, options, tx);
        let mut id = first;
        while id <= last {
            rows.row(|out| {
                for &c in &columns {
                    out.push(cell(self.seed, spec, id, c));
                }
                Ok::<(), BadRow>(())
            })
            .await?;
            id += 1;
        }
        rows.finish().await
    }

    async fn count_rows(&self, table: &Table) -> Result<u64> {
        self.spec(table)?;
        Ok(self.rows)
    }

    fn supports_key_ranges(&self) -> bool {
        true
    }

    async fn key_bounds(&self, table: &Table) -> Result<Option<(i64, i64)>> {
        self.spec(table)?;
        Ok((self.rows > 0).then_some((1, self.rows as i64)))
    }

    async fn key_cuts(&self, table: &Table, every: u64, max: usize) -> Result<Vec<i64>> {
        self.spec(table)?;
        let every = every.max(1);
        // Keys are 1..=rows, so the key at 0-based position p is p + 1.
        Ok((1..)
            .map_while(|k: u64| k.checked_mul(every))
            .take_while(|p| *p < self.rows)
            .take(max)
            .map(|p| p as i64 + 1)
            .collect())
    }
}

/// A [`Connector`] whose source at [`GeneratedConnector::placeholder_url`] is a
/// [`GeneratedSource`]; every other URL (the target, which verification also reads as a
/// source) and planning go to `inner` (the real drivers).
pub struct GeneratedConnector {
    source: Arc<GeneratedSource>,
    inner: Arc<dyn Connector>,
}

impl GeneratedConnector {
    /// `source` for reading, `inner` for everything else.
    pub fn new(source: GeneratedSource, inner: Arc<dyn Connector>) -> Self {
        GeneratedConnector {
            source: Arc::new(source),
            inner,
        }
    }

    /// The URL to hand the engine as the run's source: the one this connector opens as the
    /// generated source (the report names it with [`GeneratedSource::label`]).
    pub fn placeholder_url() -> Result<ConnUrl> {
        ConnUrl::parse("sqlite:generated")
    }
}

#[async_trait]
impl Connector for GeneratedConnector {
    async fn open_source(&self, url: &ConnUrl) -> Result<Arc<dyn Source>> {
        if *url == Self::placeholder_url()? {
            return Ok(self.source.clone());
        }
        self.inner.open_source(url).await
    }

    async fn open_sink(&self, url: &ConnUrl) -> Result<Arc<dyn Sink>> {
        self.inner.open_sink(url).await
    }

    fn planner(&self, target: Dialect) -> Arc<dyn TargetPlanner> {
        self.inner.planner(target)
    }
}
