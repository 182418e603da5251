//! Indexes and foreign keys on a PostgreSQL target.

use super::{column_list, qualified, quote_ident};
use crate::expr::translate_expression;
use crate::ident::derived_name;
use crate::target::{index_name, resolve_foreign_key, Ctx};
use crate::ForeignKeyDdl;
use ferry_core::{DataType, Dialect, Table};

/// `CREATE INDEX` for one index; a UNIQUE constraint it backs goes into `constraint`, to
/// run after the index is built.
pub(super) fn render_index(
    ctx: &mut Ctx,
    src: &Table,
    tgt: &Table,
    sidx: &ferry_core::Index,
    tidx: &ferry_core::Index,
    constraint: &mut Vec<String>,
) -> Option<String> {
    if ctx.source != Dialect::Postgres {
        if let Some(why) = tidx.method.as_deref().and_then(not_as_btree) {
            ctx.warn(
                src,
                None,
                format!("index `{}` not carried over: {why}", sidx.name),
            );
            return None;
        }
    }
    // MySQL prefix parts on columns whose whole values a btree may refuse.
    let cuts: Vec<Option<String>> = tidx.parts.iter().map(|p| long_prefix(tgt, p)).collect();
    let any_cut = cuts.iter().any(Option::is_some);
    let as_hash = any_cut && !tidx.unique && tidx.parts.len() == 1;
    let parts = if as_hash {
        ctx.warn(
            src,
            None,
            format!(
                "index `{}` on a prefix of a long column becomes a hash index on the whole column (a PostgreSQL btree refuses values over 2,704 bytes): it serves equality, not ranges or LIKE",
                sidx.name
            ),
        );
        vec![quote_ident(
            tidx.parts[0].column.as_deref().unwrap_or_default(),
        )]
    } else {
        if any_cut {
            ctx.warn(
                src,
                None,
                format!(
                    "index `{}` covers prefixes of long columns, as on MySQL: it is built on left(column, n) (a PostgreSQL btree refuses whole values over 2,704 bytes), which queries reach through the same expression",
                    sidx.name
                ),
            );
        }
        tidx.parts
            .iter()
            .zip(&cuts)
            .map(|(part, cut)| index_part(ctx, src, sidx, part, cut.as_deref()))
            .collect::<Option<Vec<String>>>()?
    };
    let index = quote_ident(&ctx.constraint_names.name(&index_name(tgt, tidx)));
    let mut sql = format!(
        "CREATE {}INDEX {index} ON {}",
        if tidx.unique { "UNIQUE " } else { "" },
        qualified(tgt)
    );
    if as_hash {
        sql.push_str(" USING hash");
    }
    match tidx.method.as_deref() {
        Some(m) if ctx.source == Dialect::Postgres => {
            sql.push_str(&format!(" USING {}", quote_ident(m)));
        }
        Some(m) => ctx.warn(
            src,
            None,
            format!(
                "index `{}` method {m} not carried over; a btree index is built",
                sidx.name
            ),
        ),
        None => {}
    }
    sql.push_str(&format!(" ({})", parts.join(", ")));
    if !tidx.include.is_empty() {
        sql.push_str(&format!(" INCLUDE ({})", column_list(&tidx.include)));
    }
    if let Some(deferrable) = sidx.constraint.filter(|_| ctx.source == Dialect::Postgres) {
        // The source's UNIQUE constraint, made again on its index after the load.
        constraint.push(format!(
            "ALTER TABLE {} ADD CONSTRAINT {index} UNIQUE USING INDEX {index}{}",
            qualified(tgt),
            deferrable.clause()
        ));
    }
    if let Some(pred) = &sidx.predicate {
        match translate_expression(pred, ctx.source, Dialect::Postgres, src, tgt, &|s| {
            quote_ident(s)
        }) {
            Ok(p) => sql.push_str(&format!(" WHERE {p}")),
            Err(why) => {
                ctx.warn(
                    src,
                    None,
                    format!("partial index `{}` not translated: {why}", sidx.name),
                );
                return None;
            }
        }
    }
    Some(sql)
}

/// For a MySQL prefix part (`body(100)`) on a column whose values can be longer than a
/// PostgreSQL btree entry holds (2,704 bytes: text and bytes without a bound, or a
/// `varchar(n)` of over 650 characters of up to 4 bytes each), the expression that indexes
/// the same prefix: `(left("body", 100))`, or `(substring(...))` for bytes.
fn long_prefix(table: &Table, part: &ferry_core::IndexPart) -> Option<String> {
    let n = part.prefix?;
    let name = part.column.as_deref()?;
    let column = table.columns.iter().find(|c| c.name == name)?;
    let whole = quote_ident(name);
    match column.data_type {
        DataType::Bytes => Some(format!("(substring({whole}, 1, {n}))")),
        DataType::Text => Some(format!("(left({whole}, {n}))")),
        DataType::VarChar(len) | DataType::Char(len) if len > 650 => {
            Some(format!("(left({whole}, {n}))"))
        }
        _ => None,
    }
}

/// Why a MySQL index of `method` has no PostgreSQL counterpart that ferry could build: as a
/// btree it would find nothing its queries look for, and refuse values over ~2.7 kB.
fn not_as_btree(method: &str) -> Option<&'static str> {
    if method.eq_ignore_ascii_case("FULLTEXT") {
        Some("a FULLTEXT index (PostgreSQL searches text with a GIN index on to_tsvector(...) of the columns; create one after the migration)")
    } else if method.eq_ignore_ascii_case("SPATIAL") {
        Some("a SPATIAL index on a column that arrives as WKB bytes (with PostGIS, convert it to geometry and add a GiST index)")
    } else {
        None
    }
}

pub(super) fn render_foreign_key(
    ctx: &mut Ctx,
    src: &Table,
    tgt: &Table,
    sfk: &ferry_core::ForeignKey,
    tfk: &ferry_core::ForeignKey,
) -> Option<ForeignKeyDdl> {
    let (parent_tgt, ref_cols, ref_src_cols) = resolve_foreign_key(ctx, src, sfk, tfk)?;
    let is_key = |cols: &[String]| {
        let mut want: Vec<&String> = cols.iter().collect();
        want.sort();
        let mut pk: Vec<&String> = parent_tgt.primary_key.iter().collect();
        pk.sort();
        pk == want
            || parent_tgt
                .indexes
                .iter()
                .filter(|i| i.unique && i.predicate.is_none())
                .any(|i| {
                    let mut ic: Vec<&String> =
                        i.parts.iter().filter_map(|p| p.column.as_ref()).collect();
                    ic.sort();
                    ic == want && i.parts.iter().all(|p| p.column.is_some())
                })
    };
    if ref_cols.is_empty() || ref_cols.len() != tfk.columns.len() || !is_key(&ref_cols) {
        ctx.warn(
            src,
            None,
            format!(
                "foreign key ({}) -> {}({}) dropped: the referenced columns are not a primary or unique key",
                sfk.columns.join(", "),
                sfk.ref_table,
                ref_src_cols.join(", ")
            ),
        );
        return None;
    }
    let wanted = sfk
        .name
        .clone()
        .unwrap_or_else(|| derived_name(&tgt.name, &tfk.columns, "fkey"));
    let cname = quote_ident(&ctx.constraint_names.name(&wanted));
    let mut add = format!(
        "ALTER TABLE {} ADD CONSTRAINT {cname} FOREIGN KEY ({}) REFERENCES {} ({})",
        qualified(tgt),
        column_list(&tfk.columns),
        qualified(&parent_tgt),
        column_list(&ref_cols)
    );
    for (kw, action) in [("ON DELETE", &sfk.on_delete), ("ON UPDATE", &sfk.on_update)] {
        if let Some(a) = action
            .as_deref()
            .filter(|a| !a.eq_ignore_ascii_case("NO ACTION"))
        {
            add.push_str(&format!(" {kw} {}", a.to_ascii_uppercase()));
        }
    }
    add.push_str(sfk.deferrable.clause());
    add.push_str(" NOT VALID");
    Some(ForeignKeyDdl {
        name: cname.clone(),
        ref_table: parent_tgt.name.clone(),
        validate: Some(format!(
            "ALTER TABLE {} VALIDATE CONSTRAINT {cname}",
            qualified(tgt)
        )),
        add,
        trusted: false,
    })
}

/// One part of an index as PostgreSQL SQL (a column part as `prefix` when given, see
/// [`long_prefix`]); `None` (with a warning for an expression from another dialect) when it
/// cannot be translated.
fn index_part(
    ctx: &mut Ctx,
    src: &Table,
    sidx: &ferry_core::Index,
    part: &ferry_core::IndexPart,
    prefix: Option<&str>,
) -> Option<String> {
    let mut text = match (prefix, &part.column, &part.expression) {
        (Some(cut), Some(_), _) => cut.to_string(),
        (None, Some(c), _) => quote_ident(c),
        (_, None, Some(e)) if ctx.source == Dialect::Postgres => format!("({e})"),
        (_, None, Some(e)) => {
            ctx.warn(
                src,
                None,
                format!("index `{}` on expression `{e}` not translated", sidx.name),
            );
            return None;
        }
        (_, None, None) => return None,
    };
    if ctx.source == Dialect::Postgres {
        // Collation and operator class are PostgreSQL SQL, kept verbatim.
        if let Some(c) = &part.collation {
            text.push_str(&format!(" COLLATE {c}"));
        }
        if let Some(o) = &part.opclass {
            text.push_str(&format!(" {o}"));
        }
    }
    if part.descending {
        text.push_str(" DESC");
    }
    match part.nulls_first {
        Some(true) => text.push_str(" NULLS FIRST"),
        Some(false) => text.push_str(" NULLS LAST"),
        None => {}
    }
    Some(text)
}
