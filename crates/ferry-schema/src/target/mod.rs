//! Target side: DDL per target dialect ([`postgres`], [`mysql`]) from a pair of tables, the
//! source's and its named target form.

pub mod mysql;
pub mod postgres;

use crate::ident::{self, Namer};
use crate::{expr, TableDdl, Warning};
use ferry_core::{Dialect, Error, Result, Table};
use std::collections::HashMap;

/// Render one table's DDL for `target`.
pub(crate) fn render_table(
    ctx: &mut Ctx,
    target: Dialect,
    src: &Table,
    tgt: &Table,
) -> Result<TableDdl> {
    match target {
        Dialect::Postgres => Ok(postgres::render_table(ctx, src, tgt)),
        Dialect::Mysql => Ok(mysql::render_table(ctx, src, tgt)),
        other => Err(Error::schema(format!(
            "{other} is not supported as a target dialect yet"
        ))),
    }
}

/// Shared state while rendering one translation.
pub(crate) struct Ctx {
    pub source: Dialect,
    pub warnings: Vec<Warning>,
    /// Source display name -> (target table name, target table) for FK resolution.
    pub targets: HashMap<String, Table>,
    /// Source display name -> source table.
    pub sources: HashMap<String, Table>,
    pub constraint_names: Namer,
}

impl Ctx {
    pub fn warn(&mut self, table: &Table, column: Option<&str>, message: impl Into<String>) {
        self.warnings.push(Warning {
            table: Some(table.display_name()),
            column: column.map(str::to_string),
            message: message.into(),
        });
    }
}

/// The name of an index in the target: its source name, or one derived from the table and
/// columns for SQLite's automatic and unnamed indexes.
pub(crate) fn index_name(tgt: &Table, idx: &ferry_core::Index) -> String {
    if idx.name.is_empty() || idx.name.starts_with("sqlite_autoindex_") {
        let cols: Vec<String> = idx.parts.iter().filter_map(|p| p.column.clone()).collect();
        ident::derived_name(&tgt.name, &cols, if idx.unique { "key" } else { "idx" })
    } else {
        idx.name.clone()
    }
}

/// The referenced side of a foreign key: the parent table in target terms, the target names
/// of the referenced columns, and their source names (the parent's primary key when the
/// source named none).
/// `None`, with a warning naming the key, when the parent is not migrated, a column is
/// missing, or the column counts differ.
pub(crate) fn resolve_foreign_key(
    ctx: &mut Ctx,
    src: &Table,
    sfk: &ferry_core::ForeignKey,
    tfk: &ferry_core::ForeignKey,
) -> Option<(Table, Vec<String>, Vec<String>)> {
    let parent_key = match (&src.schema, sfk.ref_table.contains('.')) {
        (Some(s), false) => format!("{s}.{}", sfk.ref_table),
        _ => sfk.ref_table.clone(),
    };
    let parent_src = ctx
        .sources
        .get(&parent_key)
        .or_else(|| ctx.sources.get(&sfk.ref_table))
        .cloned();
    let parent_tgt = ctx
        .targets
        .get(&parent_key)
        .or_else(|| ctx.targets.get(&sfk.ref_table))
        .cloned();
    let (Some(parent_src), Some(parent_tgt)) = (parent_src, parent_tgt) else {
        ctx.warn(
            src,
            None,
            format!(
                "foreign key to `{}` dropped: that table is not part of the migration",
                sfk.ref_table
            ),
        );
        return None;
    };
    let ref_src_cols = if sfk.ref_columns.is_empty() {
        &parent_src.primary_key
    } else {
        &sfk.ref_columns
    };
    let mut ref_cols = Vec::new();
    for c in ref_src_cols {
        match expr::find_column(&parent_src, c) {
            Some(i) => ref_cols.push(parent_tgt.columns[i].name.clone()),
            None => {
                ctx.warn(
                    src,
                    None,
                    format!(
                        "foreign key to `{}`({c}) dropped: no such column",
                        sfk.ref_table
                    ),
                );
                return None;
            }
        }
    }
    if ref_cols.is_empty() || ref_cols.len() != tfk.columns.len() {
        ctx.warn(
            src,
            None,
            format!(
                "foreign key ({}) -> {} dropped: column counts differ",
                sfk.columns.join(", "),
                sfk.ref_table
            ),
        );
        return None;
    }
    let ref_src_cols = ref_src_cols.clone();
    Some((parent_tgt, ref_cols, ref_src_cols))
}
