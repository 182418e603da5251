//! MySQL (and MariaDB, Aurora MySQL) as a target: types, defaults, and DDL by load phase.
//!
//! - From another MySQL server every column keeps its declared type, character set and
//!   collation verbatim (`Column.source_type`, `charset`, `collation`).
//! - From other dialects every neutral type has a MySQL rendering; `utf8mb4` throughout so
//!   4-byte characters survive.
//! - Tables are created with their primary key (InnoDB clusters rows on it, so adding it
//!   later would rebuild the table, and AUTO_INCREMENT needs a key); secondary indexes,
//!   unique keys and CHECKs come after the load in one `ALTER TABLE`, foreign keys last.

mod column;
mod default;
mod keys;
#[cfg(test)]
mod tests;
mod types;

pub use types::{columns_needing_length, key_char_limit, no_mysql_counterpart, type_name};

use crate::target::Ctx;
use crate::TableDdl;
use column::{column_def, ColumnDef};
use ferry_core::{Dialect, Table};
use types::{comment_text, whole_key_columns};

/// Longest index key InnoDB allows (DYNAMIC row format), in bytes.
pub const MAX_KEY_BYTES: u32 = 3072;
/// Bytes per character in utf8mb4.
pub const UTF8MB4: u32 = 4;
/// `varchar(n)` given to a text column that a primary or unique key needs whole, when the
/// config gives no length.
pub const DEFAULT_KEY_VARCHAR: u32 = 255;
/// Most bytes of `varchar` columns one row may declare before further long text columns
/// become `text` (MySQL's row size limit is 65,535 bytes).
const ROW_VARCHAR_BUDGET: u32 = 60_000;

/// How a foreign-key check statement starts (the MySQL sink recognises its error 1172 by
/// it). No name goes into the comment: the caller names the key.
pub const VALIDATE_FK_MARK: &str = "SELECT /* ferry:validate-fk */";

/// Identifiers in backticks (always: MySQL's reserved words change by version) and string
/// literals for ferry's sessions (backslash escapes on); see [`crate::quote`].
pub use crate::quote::{mysql_ident as quote_ident, mysql_literal as quote_literal};

/// Render one table's DDL for MySQL.
pub(crate) fn render_table(ctx: &mut Ctx, src: &Table, tgt: &Table) -> TableDdl {
    let name = quote_ident(&tgt.name);
    let mut ddl = TableDdl::default();
    let columns = column_defs(ctx, src, tgt);
    let types: Vec<String> = columns.iter().map(|c| c.ty.clone()).collect();
    let mut defs: Vec<String> = columns.iter().map(|c| format!("    {}", c.sql())).collect();
    if let Some(parts) = keys::primary_key_parts(ctx, src, tgt, &types) {
        defs.push(format!("    PRIMARY KEY ({parts})"));
    }
    let auto_col = tgt
        .columns
        .iter()
        .find(|c| c.auto_increment)
        .map(|c| c.name.clone());
    let (early, mut late) = keys::index_clauses(ctx, src, tgt, &types, auto_col.as_ref());
    defs.extend(early.into_iter().map(|clause| format!("    {clause}")));
    let partitions = match &src.partition_by {
        Some(p) if same_dialect(ctx) => format!("\n{p}"),
        _ => String::new(),
    };
    ddl.create.push(format!(
        "CREATE TABLE {name} (\n{}\n){}{}{partitions}",
        defs.join(",\n"),
        table_options(ctx, src),
        table_comment(ctx, src, tgt)
    ));
    ddl.drop.push(format!("DROP TABLE IF EXISTS {name}"));
    ddl.truncate.push(format!("TRUNCATE TABLE {name}"));
    late.extend(keys::check_clauses(ctx, src, tgt));
    for idx in &src.indexes {
        if matches!(
            idx.constraint,
            Some(ferry_core::Deferrable::Immediate | ferry_core::Deferrable::Deferred)
        ) {
            ctx.warn(
                src,
                None,
                format!(
                    "unique constraint `{}` is DEFERRABLE in the source; MySQL checks it at each row",
                    idx.name
                ),
            );
        }
    }
    for (constraint, definition) in &src.exclusions {
        ctx.warn(
            src,
            None,
            format!("exclusion constraint `{constraint}` ({definition}) not carried over: MySQL has no exclusion constraints"),
        );
    }
    if !late.is_empty() {
        ddl.post_load
            .push(format!("ALTER TABLE {name} {}", late.join(", ")));
    }
    for (sfk, tfk) in src.foreign_keys.iter().zip(&tgt.foreign_keys) {
        if let Some(fk) = keys::render_foreign_key(ctx, src, tgt, sfk, tfk) {
            ddl.foreign_keys.push(fk);
        }
    }
    if auto_col.is_some() {
        // InnoDB moves the counter to MAX(col) + 1 when asked for anything lower.
        ddl.reset_sequences
            .push(format!("ALTER TABLE {name} AUTO_INCREMENT = 1"));
    }
    ddl
}

/// The column definitions of `tgt`, with MariaDB's column-level CHECKs back on their
/// columns.
fn column_defs(ctx: &mut Ctx, src: &Table, tgt: &Table) -> Vec<ColumnDef> {
    let key_cols = whole_key_columns(tgt);
    let mut budget = ROW_VARCHAR_BUDGET;
    let column_checks = keys::column_checks(ctx, src);
    src.columns
        .iter()
        .zip(&tgt.columns)
        .map(|(s, t)| {
            let mut def = column_def(ctx, src, s, t, &key_cols, &mut budget);
            def.check = column_checks
                .iter()
                .find_map(|(c, e)| (*c == s.name).then(|| e.clone()));
            def
        })
        .collect()
}

/// `ENGINE=InnoDB` and the table's default character set.
fn table_options(ctx: &Ctx, src: &Table) -> String {
    if !same_dialect(ctx) {
        return " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4".to_string();
    }
    // The table default matters beyond the columns (ALTER TABLE ADD, SHOW CREATE), so a
    // MySQL copy keeps the source's instead of taking the target database's.
    let mut opts = " ENGINE=InnoDB".to_string();
    if let Some(cs) = &src.charset {
        opts.push_str(&format!(" DEFAULT CHARSET={cs}"));
    }
    if let Some(co) = &src.collation {
        opts.push_str(&format!(" COLLATE={co}"));
    }
    opts
}

/// ` COMMENT='...'` of the table, or nothing.
fn table_comment(ctx: &mut Ctx, src: &Table, tgt: &Table) -> String {
    tgt.comment
        .as_ref()
        .map(|c| {
            format!(
                " COMMENT={}",
                quote_literal(&comment_text(ctx, src, None, c))
            )
        })
        .unwrap_or_default()
}

fn same_dialect(ctx: &Ctx) -> bool {
    ctx.source == Dialect::Mysql
}
