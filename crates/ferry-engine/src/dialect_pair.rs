//! What a source and target dialect allow together: the engine's only decisions by
//! dialect, made on the [`Dialect`] values the drivers report, never on a driver.

use ferry_core::Dialect;

/// A source dialect and a target dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialectPair {
    /// Where rows come from.
    pub source: Dialect,
    /// Where rows go.
    pub target: Dialect,
}

impl DialectPair {
    /// The pair `source` -> `target`.
    pub fn new(source: Dialect, target: Dialect) -> Self {
        DialectPair { source, target }
    }

    /// Whether rows may travel as raw binary COPY chunks, undecoded: only PostgreSQL to
    /// PostgreSQL, where the translator keeps every column's source type verbatim.
    pub fn raw_pass_through(self) -> bool {
        self.source == Dialect::Postgres && self.target == Dialect::Postgres
    }

    /// Whether values may keep what only MySQL stores (zero and partial dates): MySQL to
    /// MySQL.
    pub fn keeps_zero_dates(self) -> bool {
        self.source == Dialect::Mysql && self.target == Dialect::Mysql
    }
}
