//! One column of a MySQL `CREATE TABLE`, built from structured parts: the declared type is
//! a field of its own (keys need it), never parsed back out of the rendered text.

use super::default::render_default;
use super::types::{column_type, comment_text, fsp};
use super::{quote_ident, quote_literal, same_dialect};
use crate::rules::DeclaredType;
use crate::target::Ctx;
use ferry_core::{Column, DataType, Table};
use std::collections::HashSet;

/// A column definition, clause by clause, in the order MySQL writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ColumnDef {
    /// Target column name (unquoted).
    pub name: String,
    /// The declared type: `varchar(64)`, `enum('a','b')`, `datetime(6)`.
    pub ty: String,
    pub charset: Option<String>,
    pub collation: Option<String>,
    /// `AS (expr)` of a generated column (MySQL to MySQL only); such a column has no
    /// NOT NULL, default or comment clauses.
    pub generated: Option<String>,
    /// `STORED` rather than `VIRTUAL`.
    pub stored: bool,
    pub not_null: bool,
    pub auto_increment: bool,
    /// The `DEFAULT` expression.
    pub default: Option<String>,
    /// Fractional-seconds precision of `ON UPDATE CURRENT_TIMESTAMP`, when the column has it.
    pub on_update: Option<u32>,
    pub comment: Option<String>,
    /// A column-level `CHECK (expr)` (MariaDB's, kept on a MySQL copy).
    pub check: Option<String>,
}

impl ColumnDef {
    /// The column as it appears in `CREATE TABLE`.
    pub fn sql(&self) -> String {
        let mut def = format!("{} {}", quote_ident(&self.name), self.ty);
        if let Some(cs) = &self.charset {
            def.push_str(&format!(" CHARACTER SET {cs}"));
        }
        if let Some(co) = &self.collation {
            def.push_str(&format!(" COLLATE {co}"));
        }
        if let Some(expr) = &self.generated {
            def.push_str(&format!(" AS ({expr})"));
            if self.stored {
                def.push_str(" STORED");
            }
        } else {
            self.push_attributes(&mut def);
        }
        if let Some(expr) = &self.check {
            def.push_str(&format!(" CHECK ({expr})"));
        }
        def
    }

    fn push_attributes(&self, def: &mut String) {
        if self.not_null {
            def.push_str(" NOT NULL");
        }
        if self.auto_increment {
            def.push_str(" AUTO_INCREMENT");
        } else if let Some(d) = &self.default {
            def.push_str(" DEFAULT ");
            def.push_str(d);
        }
        if let Some(p) = self.on_update {
            def.push_str(" ON UPDATE CURRENT_TIMESTAMP");
            if p > 0 {
                def.push_str(&format!("({p})"));
            }
        }
        if let Some(c) = &self.comment {
            def.push_str(&format!(" COMMENT {}", quote_literal(c)));
        }
    }
}

/// The definition of target column `tcol` (from source column `scol`), taking its
/// `varchar` bytes from the row's `budget`.
pub(super) fn column_def(
    ctx: &mut Ctx,
    src: &Table,
    scol: &Column,
    tcol: &Column,
    key_cols: &HashSet<String>,
    budget: &mut u32,
) -> ColumnDef {
    let ty = column_type(ctx, src, scol, tcol, key_cols, budget);
    let mut def = ColumnDef {
        name: tcol.name.clone(),
        ty,
        ..ColumnDef::default()
    };
    character_set(ctx, src, scol, tcol, &mut def);
    if let Some(expr) = tcol.generated.as_ref().filter(|_| same_dialect(ctx)) {
        def.generated = Some(expr.clone());
        def.stored = tcol.generated_stored;
        return def;
    }
    def.not_null = !tcol.nullable;
    def.auto_increment = tcol.auto_increment
        && matches!(
            tcol.data_type,
            DataType::Int16 | DataType::Int32 | DataType::Int64 | DataType::Decimal { .. }
        );
    if !def.auto_increment {
        def.default = scol
            .default
            .as_ref()
            .and_then(|d| render_default(ctx, src, tcol, &def.ty, d));
    }
    if tcol.on_update_current_timestamp {
        let d = DeclaredType::parse(&def.ty);
        if matches!(d.base.as_str(), "DATETIME" | "TIMESTAMP") {
            def.on_update = Some(fsp(&def.ty));
        }
    }
    def.comment = tcol
        .comment
        .as_ref()
        .map(|c| comment_text(ctx, src, Some(&scol.name), c));
    def
}

/// Character set and collation: a MySQL copy keeps the source's; from another dialect text
/// is utf8mb4 and a source collation is dropped with a warning.
fn character_set(ctx: &mut Ctx, src: &Table, scol: &Column, tcol: &Column, def: &mut ColumnDef) {
    if same_dialect(ctx) {
        def.charset = scol.charset.clone();
        def.collation = scol.collation.clone();
        return;
    }
    let texty = tcol.data_type.is_text_like()
        || matches!(tcol.data_type, DataType::Enum { .. } | DataType::Set(_));
    if texty && tcol.data_type != DataType::Json {
        def.charset = Some("utf8mb4".into());
    }
    if let Some(co) = &scol.collation {
        ctx.warn(
            src,
            Some(&scol.name),
            format!(
                "collation {co} not carried over; the column sorts and compares by the table's default collation"
            ),
        );
    }
}
