//! ferry's migration engine: plan, parallel copy with backpressure, keys and indexes after
//! the load, verification, and the report.
//!
//! The engine knows dialects only to pick a driver for a URL ([`connect`]); it never draws
//! anything: it emits [`events::Event`]s and returns a [`report::Report`].

pub mod chunking;
pub mod config;
pub mod connect;
pub mod content;
pub mod events;
pub mod files;
mod measure;
pub mod migrate;
mod narrow;
pub mod progress;
pub mod reject;
pub mod replicate;
pub mod report;
mod target;
pub mod verify;

pub use config::Config;
pub use events::{Event, EventHandler};
pub use migrate::{migrate, MigrateOptions, OnError};
pub use report::{Report, RunStatus, TableReport, TableStatus};
pub use verify::{verify, VerifyOptions};
