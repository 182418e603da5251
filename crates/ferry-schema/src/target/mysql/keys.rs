//! Keys, indexes, CHECKs and foreign keys on a MySQL target.

use super::{quote_ident, same_dialect, MAX_KEY_BYTES, UTF8MB4, VALIDATE_FK_MARK};
use crate::expr::{is_type_domain_check, translate_expression};
use crate::ident::{derived_name, Namer};
use crate::rules::DeclaredType;
use crate::target::{index_name, resolve_foreign_key, Ctx};
use crate::ForeignKeyDdl;
use ferry_core::{Check, Dialect, Table};

/// Key parts as MySQL SQL, with a prefix where the column type needs one.
fn key_parts(
    ctx: &mut Ctx,
    src: &Table,
    tgt: &Table,
    types: &[String],
    idx: &ferry_core::Index,
) -> Option<String> {
    let mut parts = Vec::new();
    let n_parts = idx.parts.len().max(1) as u32;
    // A FULLTEXT or SPATIAL key covers whole columns: MySQL refuses a prefix on either (the
    // server reports one for a spatial key, which must not travel).
    let whole = same_dialect(ctx)
        && idx.method.as_deref().is_some_and(|m| {
            m.eq_ignore_ascii_case("FULLTEXT") || m.eq_ignore_ascii_case("SPATIAL")
        });
    for part in &idx.parts {
        let Some(col) = &part.column else {
            ctx.warn(
                src,
                None,
                format!("index `{}` on an expression not translated", idx.name),
            );
            return None;
        };
        let mut text = quote_ident(col);
        let pos = tgt.columns.iter().position(|c| &c.name == col);
        let ty = pos
            .and_then(|i| types.get(i))
            .map(String::as_str)
            .unwrap_or("");
        let base = DeclaredType::parse(ty);
        let blob = matches!(
            base.base.as_str(),
            "TINYTEXT"
                | "TEXT"
                | "MEDIUMTEXT"
                | "LONGTEXT"
                | "TINYBLOB"
                | "BLOB"
                | "MEDIUMBLOB"
                | "LONGBLOB"
        );
        let long_varchar = matches!(base.base.as_str(), "VARCHAR" | "VARBINARY")
            && base
                .args
                .first()
                .is_some_and(|n| n * UTF8MB4 > MAX_KEY_BYTES / n_parts);
        let prefix = match part.prefix {
            _ if whole => None,
            Some(p) => Some(p),
            None if blob || long_varchar => {
                let p = MAX_KEY_BYTES / UTF8MB4 / n_parts;
                if idx.unique {
                    ctx.warn(
                        src,
                        Some(col),
                        format!(
                            "unique index `{}` can only cover the first {p} characters in MySQL",
                            idx.name
                        ),
                    );
                }
                Some(p)
            }
            None => None,
        };
        if let Some(p) = prefix {
            text.push_str(&format!("({p})"));
        }
        if part.descending {
            text.push_str(" DESC");
        }
        parts.push(text);
    }
    Some(parts.join(", "))
}

/// Warn about what a (PostgreSQL) index has that a MySQL index cannot: operator classes,
/// per-part collations, NULLS FIRST/LAST and INCLUDE columns. The index is built without them.
fn warn_index_details(ctx: &mut Ctx, src: &Table, idx: &ferry_core::Index) {
    for part in &idx.parts {
        let what = part
            .column
            .as_deref()
            .or(part.expression.as_deref())
            .unwrap_or("?");
        if let Some(o) = &part.opclass {
            ctx.warn(
                src,
                None,
                format!(
                    "index `{}`: operator class {o} on `{what}` not carried over; MySQL compares with the column's own rules",
                    idx.name
                ),
            );
        }
        if let Some(c) = &part.collation {
            ctx.warn(
                src,
                None,
                format!(
                    "index `{}`: COLLATE {c} on `{what}` not carried over; the index uses the column's collation",
                    idx.name
                ),
            );
        }
        if let Some(first) = part.nulls_first {
            ctx.warn(
                src,
                None,
                format!(
                    "index `{}`: NULLS {} on `{what}` not carried over; MySQL sorts NULLs first ascending and last descending",
                    idx.name,
                    if first { "FIRST" } else { "LAST" }
                ),
            );
        }
    }
    if !idx.include.is_empty() {
        ctx.warn(
            src,
            None,
            format!(
                "index `{}`: INCLUDE ({}) not carried over; the index holds only its key columns",
                idx.name,
                idx.include.join(", ")
            ),
        );
    }
}

/// The primary key's parts, or `None` when the table has none (or it cannot be built).
pub(super) fn primary_key_parts(
    ctx: &mut Ctx,
    src: &Table,
    tgt: &Table,
    types: &[String],
) -> Option<String> {
    if tgt.primary_key.is_empty() {
        return None;
    }
    let pk = ferry_core::Index {
        name: "PRIMARY".into(),
        parts: tgt
            .primary_key
            .iter()
            .map(ferry_core::IndexPart::column)
            .collect(),
        unique: true,
        predicate: None,
        method: None,
        include: Vec::new(),
        constraint: None,
    };
    key_parts(ctx, src, tgt, types, &pk)
}

/// The table's indexes as `KEY ...` clauses: those `CREATE TABLE` needs (AUTO_INCREMENT
/// needs a key at creation: the first index starting with its column, when the primary key
/// does not), and `ADD ...` clauses for after the load.
pub(super) fn index_clauses(
    ctx: &mut Ctx,
    src: &Table,
    tgt: &Table,
    types: &[String],
    auto_col: Option<&String>,
) -> (Vec<String>, Vec<String>) {
    let (mut early, mut late) = (Vec::new(), Vec::new());
    // Index names are per table in MySQL (foreign key names are per database), and the index
    // backing a foreign key usually carries the key's name.
    let mut index_names = Namer::new(64, true).mysql();
    index_names.reserve("PRIMARY");
    for (sidx, tidx) in src.indexes.iter().zip(&tgt.indexes) {
        if sidx.predicate.is_some() {
            ctx.warn(
                src,
                None,
                format!(
                    "partial index `{}` not translated: MySQL has no partial indexes",
                    sidx.name
                ),
            );
            continue;
        }
        if let Some(m) = super::types::no_mysql_counterpart(tidx) {
            ctx.warn(
                src,
                None,
                format!(
                    "index `{}` ({m}) not carried over: MySQL has no counterpart, and a btree on its columns would serve none of its queries",
                    sidx.name
                ),
            );
            continue;
        }
        let Some(parts) = key_parts(ctx, src, tgt, types, tidx) else {
            continue;
        };
        warn_index_details(ctx, src, sidx);
        let iname = quote_ident(&index_names.name(&index_name(tgt, tidx)));
        let clause = format!("{} {iname} ({parts})", index_kind(ctx, src, sidx, tidx));
        let first_col = tidx.parts.first().and_then(|p| p.column.as_ref());
        if tgt.primary_key.first() != auto_col && first_col == auto_col && early.is_empty() {
            early.push(clause);
        } else {
            late.push(format!("ADD {clause}"));
        }
    }
    // InnoDB refuses an AUTO_INCREMENT column that leads no key (a PostgreSQL serial second in
    // its primary key, as in a table partitioned by date): give it one.
    if let Some(col) = auto_col.filter(|c| tgt.primary_key.first() != Some(*c)) {
        if early.is_empty() {
            let name = index_names.name(&format!("{}_{col}_auto", tgt.name));
            ctx.warn(
                src,
                Some(col),
                format!("index `{name}` added: MySQL needs an AUTO_INCREMENT column to lead a key"),
            );
            early.push(format!("KEY {} ({})", quote_ident(&name), quote_ident(col)));
        }
    }
    (early, late)
}

/// `KEY`, `UNIQUE KEY`, or (MySQL to MySQL) `FULLTEXT KEY` / `SPATIAL KEY`; another method
/// becomes a btree index with a warning.
fn index_kind(
    ctx: &mut Ctx,
    src: &Table,
    sidx: &ferry_core::Index,
    tidx: &ferry_core::Index,
) -> &'static str {
    let method = tidx.method.as_deref().map(str::to_ascii_uppercase);
    match method.as_deref() {
        Some("FULLTEXT") if same_dialect(ctx) => "FULLTEXT KEY",
        Some("SPATIAL") if same_dialect(ctx) => "SPATIAL KEY",
        Some(m) if m != "BTREE" => {
            ctx.warn(
                src,
                None,
                format!(
                    "index `{}` method {m} not carried over; a btree index is built",
                    sidx.name
                ),
            );
            if tidx.unique {
                "UNIQUE KEY"
            } else {
                "KEY"
            }
        }
        _ if tidx.unique => "UNIQUE KEY",
        _ => "KEY",
    }
}

/// `ADD CONSTRAINT ... CHECK` clauses for the table-level CHECKs that translate.
pub(super) fn check_clauses(ctx: &mut Ctx, src: &Table, tgt: &Table) -> Vec<String> {
    let mut out = Vec::new();
    for check in &src.checks {
        if is_type_domain_check(&check.expression, src) || is_column_check(ctx, src, check) {
            continue;
        }
        match translate_expression(
            &check.expression,
            check.dialect,
            Dialect::Mysql,
            src,
            tgt,
            &|s| quote_ident(s),
        ) {
            Ok(expr) => {
                let wanted = check
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}_chk", tgt.name));
                let cname = ctx.constraint_names.name(&wanted);
                out.push(format!(
                    "ADD CONSTRAINT {} CHECK ({expr})",
                    quote_ident(&cname)
                ));
            }
            Err(why) => ctx.warn(
                src,
                None,
                format!("CHECK ({}) not translated: {why}", check.expression),
            ),
        }
    }
    out
}

/// Whether `check` is a MariaDB column-level CHECK (`amount INT CHECK (amount >= 0)`),
/// which MariaDB names after its column. A MySQL copy declares it on the column again, so
/// the target's catalog matches the source's.
fn is_column_check(ctx: &Ctx, src: &Table, check: &Check) -> bool {
    same_dialect(ctx)
        && check
            .name
            .as_deref()
            .is_some_and(|n| src.columns.iter().any(|c| c.name.eq_ignore_ascii_case(n)))
}

/// The column-level CHECKs of `src` as (source column name, expression) pairs.
pub(super) fn column_checks(ctx: &Ctx, src: &Table) -> Vec<(String, String)> {
    src.checks
        .iter()
        .filter(|k| is_column_check(ctx, src, k))
        .filter_map(|k| {
            let name = k.name.as_deref()?;
            let col = src
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))?;
            Some((col.name.clone(), k.expression.clone()))
        })
        .collect()
}

pub(super) fn render_foreign_key(
    ctx: &mut Ctx,
    src: &Table,
    tgt: &Table,
    sfk: &ferry_core::ForeignKey,
    tfk: &ferry_core::ForeignKey,
) -> Option<ForeignKeyDdl> {
    let (parent_tgt, ref_cols, _) = resolve_foreign_key(ctx, src, sfk, tfk)?;
    let wanted = sfk
        .name
        .clone()
        .unwrap_or_else(|| derived_name(&tgt.name, &tfk.columns, "fkey"));
    let cname = quote_ident(&ctx.constraint_names.name(&wanted));
    if sfk.deferrable != ferry_core::Deferrable::No {
        ctx.warn(
            src,
            None,
            format!("foreign key {cname} is DEFERRABLE in the source; MySQL checks it at each statement"),
        );
    }
    let list = |cols: &[String]| {
        cols.iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut add = format!(
        "ALTER TABLE {} ADD CONSTRAINT {cname} FOREIGN KEY ({}) REFERENCES {} ({})",
        quote_ident(&tgt.name),
        list(&tfk.columns),
        quote_ident(&parent_tgt.name),
        list(&ref_cols)
    );
    for (kw, action) in [("ON DELETE", &sfk.on_delete), ("ON UPDATE", &sfk.on_update)] {
        if let Some(a) = action
            .as_deref()
            .filter(|a| !a.eq_ignore_ascii_case("NO ACTION") && !a.eq_ignore_ascii_case("RESTRICT"))
        {
            add.push_str(&format!(" {kw} {}", a.to_ascii_uppercase()));
        }
    }
    // MySQL adds foreign keys without checking rows only when foreign_key_checks=0 (which
    // ferry's sink sets; with checks on InnoDB would copy the whole table). Rows from another
    // MySQL server already satisfied the key; rows from other dialects are checked by a
    // statement that fails (error 1172: two rows selected INTO one variable) when an orphan
    // exists — the sink names the key —
    // unless the source enforced the key (`trusted`) and none of the parent's rows was
    // rejected (the engine decides that after the load).
    let validate = if same_dialect(ctx) {
        None
    } else {
        let on: Vec<String> = tfk
            .columns
            .iter()
            .zip(&ref_cols)
            .map(|(c, p)| format!("p.{} = c.{}", quote_ident(p), quote_ident(c)))
            .collect();
        let not_null: Vec<String> = tfk
            .columns
            .iter()
            .map(|c| format!("c.{} IS NOT NULL", quote_ident(c)))
            .collect();
        Some(format!(
            "{VALIDATE_FK_MARK} 1 FROM (SELECT 1 UNION ALL SELECT 2) AS two WHERE EXISTS (SELECT 1 FROM {} AS c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} AS p WHERE {})) INTO @ferry_fk",
            quote_ident(&tgt.name),
            not_null.join(" AND "),
            quote_ident(&parent_tgt.name),
            on.join(" AND ")
        ))
    };
    Some(ForeignKeyDdl {
        name: cname,
        ref_table: parent_tgt.name.clone(),
        add,
        validate,
        trusted: sfk.enforced,
    })
}
