//! Target names of tables and columns, within the target's identifier limits.

use crate::ident::Namer;
use crate::target::Ctx;
use crate::Warning;
use ferry_core::{Dialect, Schema, Table};
use std::collections::HashMap;

/// Limits and habits of a target dialect that naming needs.
pub(crate) struct Naming {
    max_ident: usize,
    columns_case_insensitive: bool,
    mysql: bool,
}

impl Naming {
    /// Table names: case-insensitive on MySQL, where they are file names too.
    pub(crate) fn table_namer(&self) -> Namer {
        if self.mysql {
            Namer::new(self.max_ident, true).mysql_tables()
        } else {
            Namer::new(self.max_ident, false)
        }
    }

    pub(crate) fn namer(&self, case_insensitive: bool) -> Namer {
        let n = Namer::new(self.max_ident, case_insensitive);
        if self.mysql {
            n.mysql()
        } else {
            n
        }
    }
}

pub(crate) fn naming(target: Dialect) -> Naming {
    match target {
        Dialect::Postgres => Naming {
            max_ident: 63,
            columns_case_insensitive: false,
            mysql: false,
        },
        Dialect::Mysql => Naming {
            max_ident: 64,
            columns_case_insensitive: true,
            mysql: true,
        },
        Dialect::Sqlite => Naming {
            max_ident: 1024,
            columns_case_insensitive: true,
            mysql: false,
        },
    }
}

/// Pass 1 of a translation: each source table (generated columns made plain when the
/// target is another dialect) paired with its target form, named within the target's
/// limits. Every rename is a warning; `ctx` learns both sides for foreign-key resolution.
pub(crate) fn name_tables(
    schema: &Schema,
    source: Dialect,
    target: Dialect,
    ctx: &mut Ctx,
) -> Vec<(Table, Table)> {
    let naming = naming(target);
    let keep_schemas = source == Dialect::Postgres && target == Dialect::Postgres;
    let mut table_names: HashMap<Option<String>, Namer> = HashMap::new();
    let mut pairs = Vec::new();
    for src in &schema.tables {
        let mut src = src.clone();
        if source != target {
            plain_generated_columns(&mut src, ctx);
        }
        let schema_name = if keep_schemas {
            src.schema.clone()
        } else {
            None
        };
        let namer = table_names
            .entry(schema_name.clone())
            .or_insert_with(|| naming.table_namer());
        let mut tgt = src.clone();
        tgt.schema = schema_name;
        tgt.name = namer.name(&src.name);
        if tgt.name != src.name {
            ctx.warn(
                &src,
                None,
                format!(
                    "table renamed to `{}` (identifier limit or clash)",
                    tgt.name
                ),
            );
        }
        name_columns(&src, &mut tgt, &naming, ctx);
        ctx.constraint_names.reserve(&tgt.name);
        ctx.sources.insert(src.display_name(), src.clone());
        pairs.push((src, tgt));
    }
    for (src, tgt) in &pairs {
        ctx.targets.insert(src.display_name(), tgt.clone());
    }
    pairs
}

/// A generated column becomes a plain one holding the copied values (another dialect
/// cannot be trusted to compute the same expression).
fn plain_generated_columns(src: &mut Table, ctx: &mut Ctx) {
    let display = src.display_name();
    for col in src.columns.iter_mut().filter(|c| c.generated.is_some()) {
        col.generated = None;
        ctx.warnings.push(Warning {
            table: Some(display.clone()),
            column: Some(col.name.clone()),
            message: "generated column becomes a plain column holding the copied values".into(),
        });
    }
}

/// Name `tgt`'s columns within the target's limits and carry the renames into its keys,
/// indexes and foreign keys.
fn name_columns(src: &Table, tgt: &mut Table, naming: &Naming, ctx: &mut Ctx) {
    let mut columns = naming.namer(naming.columns_case_insensitive);
    let mut renames = HashMap::new();
    for col in &mut tgt.columns {
        let new = columns.name(&col.name);
        if new != col.name {
            ctx.warn(
                src,
                Some(&col.name),
                format!("column renamed to `{new}` (identifier limit or clash)"),
            );
            renames.insert(col.name.clone(), new.clone());
            col.name = new;
        }
    }
    let rename = |c: &String| renames.get(c).cloned().unwrap_or_else(|| c.clone());
    tgt.primary_key = tgt.primary_key.iter().map(rename).collect();
    for idx in &mut tgt.indexes {
        for part in &mut idx.parts {
            part.column = part.column.as_ref().map(rename);
        }
        idx.include = idx.include.iter().map(rename).collect();
    }
    for fk in &mut tgt.foreign_keys {
        fk.columns = fk.columns.iter().map(rename).collect();
    }
}
