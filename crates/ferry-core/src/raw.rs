//! The [`RawRows`] contract: reading back the raw chunks a same-dialect copy forwards.

use crate::error::Result;
use crate::value::Value;

/// Called with each raw row: its comparable bytes and its key's values (see [`RawRows`]).
pub type RawRowVisitor<'a> = dyn FnMut(&[u8], &[Value]) -> Result<()> + 'a;

/// Splits the raw chunks a source sends ([`Batch::raw`](crate::Batch::raw)) into rows, so
/// that content verification can compare two databases of the same dialect without decoding
/// every value. Given by [`Source::raw_rows`](crate::Source::raw_rows).
pub trait RawRows: Send {
    /// Call `visit` with each row of `raw`, in order: bytes that are equal exactly when the
    /// rows' values are (database-specific parts such as type OIDs blanked), and the row's
    /// key values decoded, in key order, as a decoded read would give them.
    fn rows(&mut self, raw: &[u8], visit: &mut RawRowVisitor<'_>) -> Result<()>;
}
