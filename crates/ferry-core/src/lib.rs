//! ferry's core contracts.
//!
//! Everything every other crate agrees on lives here: the [`Value`] a cell holds on its way
//! from a source to a sink, the [`Batch`] that carries rows through a bounded channel, the
//! neutral [`schema`] model that sources describe and the translator rewrites, the
//! [`Source`] and [`Sink`] traits, error kinds, and [`ConnUrl`], a connection string that
//! never prints its password.
//!
//! This crate knows no driver, no SQL dialect's text, no terminal and no cloud.

pub mod app_user;
pub mod batch;
pub mod budget;
pub mod change;
pub mod connector;
pub mod error;
pub mod objects;
pub mod progress;
pub mod raw;
pub mod read_loop;
pub mod schema;
pub mod sink;
pub mod source;
pub mod time;
pub mod url;
pub mod url_check;
pub mod value;

pub use app_user::{AppAuth, AppUserReport, AppUserSpec};
pub use batch::{Batch, BatchBuilder, BatchLimits, Locator, RejectedRow};
pub use budget::{BudgetPermit, MemoryBudget};
pub use change::{
    Change, ChangeKind, ChangeStream, ChangeWriter, Position, ReplicatedTable, ReplicationStatus,
    StreamEvent,
};
pub use connector::{Connector, NoPlanning, SizedColumn, TargetPlanner};
pub use error::{Error, ErrorKind, Result};
pub use objects::{DbObject, ObjectKind};
pub use progress::{
    Chunk, ChunkDone, ProgressRow, ProgressStore, RecordedRun, RunStart, Step, StepDone,
    PROGRESS_TABLE,
};
pub use raw::RawRows;
pub use read_loop::{BadRow, RowLoop, RowOut};
pub use schema::{
    Check, Column, DataType, DefaultValue, Deferrable, Dialect, ExtensionUse, ForeignKey, Index,
    IndexPart, Schema, Table, Unsupported, UserType, UserTypeKind,
};
pub use sink::{IfExists, Sink, TableWriter, TargetNeeds, WriteOutcome};
pub use source::{BatchSender, ReadOptions, ReadStats, Source};
pub use url::ConnUrl;
pub use value::Value;
