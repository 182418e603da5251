//! ferry's dialect translation: a source's neutral schema becomes DDL for a target dialect.
//!
//! - [`source`]: what each source dialect's catalog means in neutral terms. Source type
//!   rules are ordered tables, first match wins ([`rules`], [`source::sqlite`]).
//! - [`translate()`] applies the user's [`Overrides`], names every object within the
//!   target's identifier limits ([`ident`], [`naming`]), and renders DDL per target dialect
//!   ([`target::postgres`], [`target::mysql`]) into a [`Translation`], in the phases a bulk
//!   load needs: create, load, then keys and indexes, then foreign keys, then sequences.
//! - [`quote`]: the one place a name or string becomes SQL text, per dialect.
//! - Anything that cannot be carried over is listed as a [`Warning`], never dropped silently.
//!
//! This crate does no I/O.

pub mod default_fit;
pub mod expr;
pub mod ident;
pub mod naming;
pub mod overrides;
pub mod quote;
pub mod rules;
pub mod source;
pub mod target;
pub mod tokens;
pub mod translate;
pub mod translation;

pub use overrides::{apply_overrides, Overrides};
pub use translate::translate;
pub use translation::{truncate_all, ForeignKeyDdl, TableDdl, TablePlan, Translation};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Something the translation could not carry over exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Source table, if the warning is about one.
    pub table: Option<String>,
    /// Source column, if the warning is about one.
    pub column: Option<String>,
    /// What was lost or changed, and what was done instead.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.table, &self.column) {
            (Some(t), Some(c)) => write!(f, "{t}.{c}: {}", self.message),
            (Some(t), None) => write!(f, "{t}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}
