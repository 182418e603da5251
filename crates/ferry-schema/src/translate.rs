//! [`translate()`]: a source's neutral schema becomes a [`Translation`] for a target dialect.
//!
//! Pass 1 names every table and column within the target's limits ([`crate::naming`]);
//! pass 2 renders the types a target needs first and then each table's DDL
//! ([`crate::target`]).

use crate::naming::{self, name_tables};
use crate::source;
use crate::target::{self, postgres, Ctx};
use crate::{apply_overrides, quote, Overrides, TablePlan, Translation};
use ferry_core::{DbObject, Dialect, ExtensionUse, Result, Schema, Table};
use std::collections::HashMap;

/// Translate `schema` (from a `source` database, with `overrides` applied) into DDL for
/// `target`.
pub fn translate(
    schema: &Schema,
    source: Dialect,
    target: Dialect,
    overrides: &Overrides,
) -> Result<Translation> {
    overrides.validate()?;
    quote::check_schema(schema)?;
    let mut schema = apply_overrides(schema, overrides);
    if source == Dialect::Postgres && target != Dialect::Postgres {
        // A PostgreSQL target keeps PostgreSQL defaults verbatim; others need their meaning.
        source::postgres::neutral_defaults(&mut schema);
    }
    let mut mysql_changes = Vec::new();
    if source == Dialect::Mysql && target != Dialect::Mysql {
        for (table, column, message) in source::mysql::for_other_targets(&mut schema) {
            mysql_changes.push(crate::Warning {
                table: Some(table),
                column: Some(column),
                message,
            });
        }
    }
    let mut ctx = Ctx {
        source,
        warnings: Vec::new(),
        targets: HashMap::new(),
        sources: HashMap::new(),
        constraint_names: naming::naming(target).namer(false),
    };
    ctx.warnings.extend(mysql_changes);
    let pairs = name_tables(&schema, source, target, &mut ctx);
    if source == Dialect::Mysql && target != Dialect::Mysql {
        for src in &schema.tables {
            for (column, message) in source::mysql::lossy_columns(src) {
                ctx.warn(src, Some(&column), message);
            }
        }
    }
    let (pre, drop_pre, pre_objects) = render_pre(&mut ctx, &schema, target, &pairs);
    let mut tables = Vec::new();
    for (src, tgt) in pairs {
        let ddl = target::render_table(&mut ctx, target, &src, &tgt)?;
        tables.push(TablePlan {
            source: src,
            target: tgt,
            ddl,
        });
    }
    let (extensions, extension_uses) = extensions(&schema, source, target, &tables);
    Ok(Translation {
        source,
        target,
        pre,
        drop_pre,
        pre_objects,
        tables,
        warnings: ctx.warnings,
        extensions,
        extension_uses,
    })
}

/// What a target needs before its tables: statements, their drops, and the named objects
/// they create.
fn render_pre(
    ctx: &mut Ctx,
    schema: &Schema,
    target: Dialect,
    pairs: &[(Table, Table)],
) -> (Vec<String>, Vec<String>, Vec<DbObject>) {
    match target {
        Dialect::Postgres if ctx.source == Dialect::Postgres => {
            let (pre, drop) = postgres::render_pre(schema);
            (pre, drop, postgres::pre_objects(schema))
        }
        Dialect::Postgres => {
            let (pre, drop) = postgres::render_types(ctx, pairs);
            (pre, drop, postgres::type_objects(pairs))
        }
        Dialect::Mysql | Dialect::Sqlite => (Vec::new(), Vec::new(), Vec::new()),
    }
}

/// The extensions a target creates, and what in the translated tables uses them: only a
/// PostgreSQL target of a PostgreSQL source creates the source's extensions.
fn extensions(
    schema: &Schema,
    source: Dialect,
    target: Dialect,
    tables: &[TablePlan],
) -> (Vec<String>, Vec<ExtensionUse>) {
    if source != Dialect::Postgres || target != Dialect::Postgres {
        return (Vec::new(), Vec::new());
    }
    let uses = schema
        .extension_uses
        .iter()
        .filter(|u| tables.iter().any(|t| t.source.display_name() == u.table))
        .cloned()
        .collect();
    (schema.extensions.clone(), uses)
}
