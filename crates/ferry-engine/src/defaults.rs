//! ferry's defaults, in one place: [`crate::MigrateOptions::new`], the CLI's flags and
//! `ferry verify` all read these.

use ferry_core::BatchLimits;

/// Tables copied (or compared) at once (`--jobs`).
pub const JOBS: usize = 4;
/// Most rows per batch (`--batch-rows`).
pub const BATCH_ROWS: usize = BatchLimits::DEFAULT_MAX_ROWS;
/// Most payload bytes per batch (`--batch-bytes`).
pub const BATCH_BYTES: usize = BatchLimits::DEFAULT_MAX_BYTES;
/// Rows per committed key-range chunk (`--chunk-rows`).
pub const CHUNK_ROWS: u64 = 250_000;
/// Batches buffered per chunk between its reader and its writer.
pub const CHANNEL_BATCHES: usize = 2;
/// Bytes of batches in flight between all readers and writers of a run together
/// ([`ferry_core::MemoryBudget`]), whatever the number of tables and chunks loading at once.
pub const MEMORY_BUDGET: usize = 32 << 20;
/// Where reject files go (`--reject-dir`).
pub const REJECT_DIR: &str = ".";
