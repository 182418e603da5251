//! ferry's migration engine: plan, parallel copy with backpressure, keys and indexes after
//! the load, verification, replication, and the report.
//!
//! The engine speaks only the contracts of `ferry-core` and the translator of
//! `ferry-schema`: it depends on no driver, and gets its sources and sinks from the
//! [`ferry_core::Connector`] it is handed (`ferry-drivers`). It never draws anything: it
//! emits [`events::Event`]s and returns a [`report::Report`]. See ARCHITECTURE.md for the
//! map of modules.

pub mod check;
pub mod chunk_load;
pub mod chunking;
pub mod config;
pub mod content;
mod copy;
pub mod defaults;
pub mod dialect_pair;
pub mod events;
pub mod files;
mod foreign_keys;
pub mod migrate;
pub mod plan;
pub mod progress;
pub mod reject;
pub mod replicate;
pub mod report;
mod start;
mod target;
pub mod verify;

pub use config::Config;
pub use events::{Event, EventHandler};
pub use migrate::{migrate, migrate_until, MigrateOptions, OnError};
pub use plan::plan;
pub use report::{Outcome, Report, RunStatus, TableReport, TableStatus};
pub use verify::{verify, VerifyOptions};
