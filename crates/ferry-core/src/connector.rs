//! The [`Connector`] contract: how the engine gets a driver for a URL without knowing any.
//!
//! The engine is written against [`Source`] and [`Sink`] only; the one place that maps a
//! URL (or a target dialect) to a concrete driver implements this trait (`ferry-drivers`)
//! and is handed to the engine by the binary.

use crate::error::Result;
use crate::schema::{Dialect, Schema, Table};
use crate::sink::Sink;
use crate::source::Source;
use crate::url::ConnUrl;
use async_trait::async_trait;
use std::sync::Arc;

/// Opens the databases URLs name, and gives each target dialect's planning rules.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Open the database a source URL names (its snapshot starts with the first read).
    async fn open_source(&self, url: &ConnUrl) -> Result<Arc<dyn Source>>;

    /// Open the database a target URL names.
    async fn open_sink(&self, url: &ConnUrl) -> Result<Arc<dyn Sink>>;

    /// The choices a target of `target` makes from the source's data before translation;
    /// works without a connection to the target (`ferry schema`).
    fn planner(&self, target: Dialect) -> Arc<dyn TargetPlanner>;
}

/// A text column a target needs a declared length for (a key it must index whole),
/// measured from the source's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizedColumn {
    /// The table (display name).
    pub table: String,
    /// The column.
    pub column: String,
    /// The type to give it (e.g. `varchar(48)`), or `None` when it keeps its type.
    pub data_type: Option<String>,
    /// Why, for the run's warnings.
    pub message: String,
}

/// Target-specific choices made from the source's data before the plan is translated.
#[async_trait]
pub trait TargetPlanner: Send + Sync {
    /// Text columns of `typed` (the source schema with the config's types applied; its
    /// tables in the order of `schema`'s) that the target must size from the longest value
    /// `source` stores, skipping the ones `set_by_user(table, column)` says the config
    /// types. The default sizes nothing.
    async fn size_key_columns(
        &self,
        source: &dyn Source,
        schema: &Schema,
        typed: &Schema,
        set_by_user: &(dyn for<'t, 'c> Fn(&'t Table, &'c str) -> bool + Send + Sync),
    ) -> Result<Vec<SizedColumn>> {
        let _ = (source, schema, typed, set_by_user);
        Ok(Vec::new())
    }
}

/// A target that sizes nothing from the data.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPlanning;

impl TargetPlanner for NoPlanning {}
