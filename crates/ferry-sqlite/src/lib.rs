//! SQLite for ferry: introspection and the reader.
//!
//! `introspect` turns `sqlite_master` and the `PRAGMA`s into the neutral model, choosing a
//! type for every column through ferry-schema's SQLite rule table (looking at the stored
//! values where the declared type says nothing). `read` streams a table on a blocking thread
//! into the bounded batch channel. `convert` checks and converts every stored value against
//! its column's target type: SQLite keeps any value in any column, so this is where text in
//! an INTEGER column or a date no parser understands is caught and named.

pub mod convert;
pub mod introspect;
pub mod read;

pub use read::SqliteSource;
