//! PostgreSQL as a target: types, defaults, and DDL by load phase.

use crate::default_fit;
use crate::expr::{is_boolean_domain_check, translate_expression};
use crate::ident::derived_name;
use crate::index_name;
use crate::quote::pg_literal as quote_literal;
use crate::{Ctx, ForeignKeyDdl, TableDdl};
use ferry_core::{Column, DataType, DbObject, DefaultValue, Dialect, ObjectKind, Table};

/// PostgreSQL's reserved key words (those that cannot be column or table names unquoted).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// Quote an identifier when PostgreSQL needs it: anything but lower-case letters, digits and
/// underscores (not leading with a digit), or a reserved word. Names keep their case.
pub fn quote_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_lowercase() || b == b'_' || (i > 0 && (b.is_ascii_digit() || b == b'$'))
        })
        && !RESERVED.contains(&name);
    if plain {
        name.to_string()
    } else {
        crate::quote::pg_ident(name)
    }
}

/// `schema.table` or `table`, quoted.
pub fn qualified(table: &Table) -> String {
    match &table.schema {
        Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&table.name)),
        None => quote_ident(&table.name),
    }
}

/// The PostgreSQL type of a neutral type.
pub fn type_name(t: &DataType) -> String {
    match t {
        DataType::Bool => "boolean".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "integer".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float32 => "real".into(),
        DataType::Float64 => "double precision".into(),
        DataType::Decimal {
            precision: Some(p),
            scale: Some(s),
        } => format!("numeric({p},{s})"),
        DataType::Decimal {
            precision: Some(p),
            scale: None,
        } => format!("numeric({p})"),
        DataType::Decimal { .. } => "numeric".into(),
        DataType::Text => "text".into(),
        DataType::VarChar(n) => format!("varchar({n})"),
        DataType::Char(n) => format!("char({n})"),
        DataType::Bytes => "bytea".into(),
        DataType::Date => "date".into(),
        DataType::Time => "time".into(),
        DataType::Timestamp => "timestamp".into(),
        DataType::TimestampTz => "timestamptz".into(),
        DataType::Interval => "interval".into(),
        DataType::Uuid => "uuid".into(),
        DataType::Json => "jsonb".into(),
        DataType::Enum { name, .. } => quote_ident(name),
        DataType::Set(_) => "text[]".into(),
        DataType::Bit(n) => format!("bit varying({n})"),
        DataType::Array(inner) => format!("{}[]", type_name(inner)),
    }
}

/// `CREATE TYPE` for every enum the tables use, and their drops.
pub(crate) fn render_types(_ctx: &mut Ctx, pairs: &[(Table, Table)]) -> (Vec<String>, Vec<String>) {
    let mut seen = std::collections::BTreeMap::new();
    for (_, tgt) in pairs {
        for c in &tgt.columns {
            if let DataType::Enum { name, labels } = &c.data_type {
                seen.entry(name.clone()).or_insert_with(|| labels.clone());
            }
        }
    }
    let create = seen
        .iter()
        .map(|(name, labels)| {
            let labels: Vec<String> = labels.iter().map(|l| quote_literal(l)).collect();
            format!(
                "CREATE TYPE {} AS ENUM ({})",
                quote_ident(name),
                labels.join(", ")
            )
        })
        .collect();
    let drop = seen
        .keys()
        .map(|name| format!("DROP TYPE IF EXISTS {}", quote_ident(name)))
        .collect();
    (create, drop)
}

/// The enum types [`render_types`] creates, in the session's default schema.
pub(crate) fn type_objects(pairs: &[(Table, Table)]) -> Vec<DbObject> {
    let mut names: Vec<&str> = pairs
        .iter()
        .flat_map(|(_, tgt)| &tgt.columns)
        .filter_map(|c| match &c.data_type {
            DataType::Enum { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|n| DbObject::new(ObjectKind::Type, None, n))
        .collect()
}

/// The PostgreSQL `DEFAULT` expression of `col`, or `None` with a warning when the default
/// does not fit the column (PostgreSQL checks literal defaults at `CREATE TABLE`).
fn render_default(
    ctx: &mut Ctx,
    src: &Table,
    col: &Column,
    default: &DefaultValue,
) -> Option<String> {
    let t = &col.data_type;
    let is_num = default_fit::is_numeric(t) && *t != DataType::Bool;
    let is_temporal = matches!(
        t,
        DataType::Date | DataType::Time | DataType::Timestamp | DataType::TimestampTz
    );
    let drop = |ctx: &mut Ctx, why: &str| {
        let shown = default_fit::shown(default);
        unsupported(ctx, src, col, &format!("default {shown} {why}"))
    };
    let utc_now = "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')";
    let out = match (default, t) {
        (DefaultValue::Null, _) => return None,
        (DefaultValue::Bool(b), DataType::Bool) => b.to_string(),
        (DefaultValue::Bool(b), _) if is_num => u8::from(*b).to_string(),
        (DefaultValue::Number(n), DataType::Bool) => match default_fit::number(n, t) {
            Ok(n) => (n == "1").to_string(),
            Err(why) => return drop(ctx, &why),
        },
        (DefaultValue::Number(n), DataType::Bit(w)) => match n.parse::<u64>() {
            // MySQL's bit(n) values arrive as n bits: the default gets the same width.
            Ok(v) if *w >= 64 || v >> w == 0 => format!("B'{v:0width$b}'", width = *w as usize),
            _ => return drop(ctx, "does not fit the bit column"),
        },
        (DefaultValue::Number(n) | DefaultValue::Text(n), _) if is_num => {
            match default_fit::number(n, t) {
                Ok(n) => n,
                Err(why) => return drop(ctx, &why),
            }
        }
        (DefaultValue::Number(n), DataType::Text | DataType::VarChar(_) | DataType::Char(_)) => {
            if !fits_length(t, n) {
                return drop(ctx, &format!("is longer than {}", type_name(t)));
            }
            quote_literal(n)
        }
        (DefaultValue::Text(s), DataType::Bool) => match default_fit::boolean_text(s) {
            Some(b) => b.to_string(),
            None => return drop(ctx, "is not a boolean"),
        },
        (DefaultValue::Text(s), _) if is_temporal => {
            if default_fit::is_zero_date(s) {
                return drop(ctx, "is a zero date, which only MySQL stores");
            }
            match default_fit::temporal(s, t) {
                Ok(v) => quote_literal(&v),
                Err(why) => return drop(ctx, &why),
            }
        }
        (DefaultValue::Text(s), DataType::Enum { labels, .. }) if !labels.contains(s) => {
            return drop(ctx, "is not one of the enum's values")
        }
        (DefaultValue::Text(s), DataType::Set(labels)) => {
            match default_fit::set_members(s, labels) {
                Ok(members) if members.is_empty() => "'{}'::text[]".into(),
                Ok(members) => {
                    let items: Vec<String> = members.iter().map(|m| quote_literal(m)).collect();
                    format!("ARRAY[{}]::text[]", items.join(", "))
                }
                Err(why) => return drop(ctx, &why),
            }
        }
        (DefaultValue::Text(s), DataType::Uuid) if ferry_core::value::parse_uuid(s).is_none() => {
            return drop(ctx, "is not a UUID")
        }
        (DefaultValue::Text(s), DataType::VarChar(_) | DataType::Char(_)) if !fits_length(t, s) => {
            return drop(ctx, &format!("is longer than {}", type_name(t)))
        }
        (
            DefaultValue::Text(_),
            DataType::Bit(_) | DataType::Interval | DataType::Array(_) | DataType::Bytes,
        ) => return drop(ctx, &format!("does not fit a {} column", type_name(t))),
        (DefaultValue::Text(s), _) => quote_literal(s),
        (DefaultValue::CurrentTimestamp, DataType::Timestamp) => utc_now.into(),
        (DefaultValue::CurrentTimestamp, DataType::TimestampTz) => "CURRENT_TIMESTAMP".into(),
        (DefaultValue::CurrentTimestamp | DefaultValue::CurrentDate, DataType::Date) => {
            "CURRENT_DATE".into()
        }
        (DefaultValue::CurrentTimestamp, DataType::Text | DataType::VarChar(_)) => {
            format!("to_char({utc_now}, 'YYYY-MM-DD HH24:MI:SS')")
        }
        (DefaultValue::CurrentDate, DataType::Text | DataType::VarChar(_)) => {
            format!("to_char({utc_now}, 'YYYY-MM-DD')")
        }
        (DefaultValue::CurrentDate, DataType::Timestamp | DataType::TimestampTz) => {
            "CURRENT_DATE".into()
        }
        (DefaultValue::CurrentTime, DataType::Time) => format!("{utc_now}::time"),
        (DefaultValue::CurrentTime, DataType::Text | DataType::VarChar(_)) => {
            format!("to_char({utc_now}, 'HH24:MI:SS')")
        }
        (DefaultValue::UnixEpoch, _) if is_num => {
            "(extract(epoch from CURRENT_TIMESTAMP))::bigint".into()
        }
        (DefaultValue::GenerateUuid, DataType::Uuid) => "gen_random_uuid()".into(),
        (DefaultValue::GenerateUuid, DataType::Text | DataType::VarChar(_) | DataType::Char(_)) => {
            "gen_random_uuid()::text".into()
        }
        (
            DefaultValue::Expression {
                dialect: Dialect::Postgres,
                sql,
            },
            _,
        ) if ctx.source == Dialect::Postgres => sql.clone(),
        (DefaultValue::Expression { sql, dialect }, _) => {
            match default_fit::portable_expression(sql, *dialect, Dialect::Postgres, t) {
                Some(expr) => expr,
                None => return drop(ctx, "has no PostgreSQL equivalent"),
            }
        }
        _ => return drop(ctx, &format!("does not fit a {} column", type_name(t))),
    };
    Some(out)
}

/// Whether text `s` fits the declared length of a `varchar(n)`/`char(n)` type.
fn fits_length(t: &DataType, s: &str) -> bool {
    match t {
        DataType::VarChar(n) | DataType::Char(n) => s.chars().count() <= *n as usize,
        _ => true,
    }
}

fn unsupported(ctx: &mut Ctx, src: &Table, col: &Column, why: &str) -> Option<String> {
    ctx.warn(
        src,
        Some(&col.name),
        format!("{why}; the default was not carried over"),
    );
    None
}

fn column_def(ctx: &mut Ctx, src: &Table, scol: &Column, tcol: &Column) -> String {
    let same = ctx.source == Dialect::Postgres;
    let ty = if same && !scol.source_type.is_empty() {
        scol.source_type.clone()
    } else {
        type_name(&tcol.data_type)
    };
    let mut def = format!("{} {ty}", quote_ident(&tcol.name));
    if let Some(c) = scol.collation.as_ref().filter(|_| same) {
        // The source's own SQL (`"C"`, `public.ci`), as PostgreSQL printed it.
        def.push_str(&format!(" COLLATE {c}"));
    }
    if let Some(expr) = &tcol.generated {
        def.push_str(&format!(" GENERATED ALWAYS AS ({expr}) STORED"));
    } else if tcol.auto_increment
        && matches!(
            tcol.data_type,
            DataType::Int16 | DataType::Int32 | DataType::Int64
        )
    {
        def.push_str(" GENERATED BY DEFAULT AS IDENTITY");
    } else if let Some(d) = &scol.default {
        if let Some(text) = render_default(ctx, src, tcol, d) {
            def.push_str(" DEFAULT ");
            def.push_str(&text);
        }
    }
    if !tcol.nullable {
        def.push_str(" NOT NULL");
    }
    def
}

fn column_list(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Render one table's DDL for PostgreSQL.
pub(crate) fn render_table(ctx: &mut Ctx, src: &Table, tgt: &Table) -> TableDdl {
    let name = qualified(tgt);
    let mut ddl = TableDdl::default();
    let defs: Vec<String> = src
        .columns
        .iter()
        .zip(&tgt.columns)
        .map(|(s, t)| format!("    {}", column_def(ctx, src, s, t)))
        .collect();
    ddl.create
        .push(format!("CREATE TABLE {name} (\n{}\n)", defs.join(",\n")));
    if let Some(comment) = &tgt.comment {
        ddl.create.push(format!(
            "COMMENT ON TABLE {name} IS {}",
            quote_literal(comment)
        ));
    }
    ddl.drop.push(format!("DROP TABLE IF EXISTS {name}"));
    ddl.truncate.push(format!("TRUNCATE TABLE {name}"));

    if !tgt.primary_key.is_empty() {
        // The key's index is built like any other index (in parallel with them), then
        // attached as the primary key, which only needs a moment's exclusive lock.
        let pk = quote_ident(&ctx.constraint_names.name(&format!("{}_pkey", tgt.name)));
        ddl.indexes.push(format!(
            "CREATE UNIQUE INDEX {pk} ON {name} ({})",
            column_list(&tgt.primary_key)
        ));
        ddl.post_load.push(format!(
            "ALTER TABLE {name} ADD CONSTRAINT {pk} PRIMARY KEY USING INDEX {pk}"
        ));
    }
    for (sidx, tidx) in src.indexes.iter().zip(&tgt.indexes) {
        if let Some(sql) = render_index(ctx, src, tgt, sidx, tidx) {
            ddl.indexes.push(sql);
        }
    }
    for check in &src.checks {
        if is_boolean_domain_check(&check.expression, src) {
            continue; // the boolean type already allows only true/false
        }
        match translate_expression(
            &check.expression,
            check.dialect,
            Dialect::Postgres,
            src,
            tgt,
            &|s| quote_ident(s),
        ) {
            Ok(expr) => {
                let wanted = check
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}_check", tgt.name));
                let cname = ctx.constraint_names.name(&wanted);
                ddl.post_load.push(format!(
                    "ALTER TABLE {name} ADD CONSTRAINT {} CHECK ({expr})",
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
    for (sfk, tfk) in src.foreign_keys.iter().zip(&tgt.foreign_keys) {
        if let Some(fk) = render_foreign_key(ctx, src, tgt, sfk, tfk) {
            ddl.foreign_keys.push(fk);
        }
    }
    for col in tgt.columns.iter().filter(|c| c.auto_increment) {
        if matches!(
            col.data_type,
            DataType::Int16 | DataType::Int32 | DataType::Int64
        ) {
            let q = quote_ident(&col.name);
            ddl.reset_sequences.push(format!(
                "SELECT setval(pg_get_serial_sequence({}, {}), COALESCE(MAX({q}), 1), MAX({q}) IS NOT NULL) FROM {name}",
                quote_literal(&name),
                quote_literal(&col.name),
            ));
        }
    }
    ddl
}

fn render_index(
    ctx: &mut Ctx,
    src: &Table,
    tgt: &Table,
    sidx: &ferry_core::Index,
    tidx: &ferry_core::Index,
) -> Option<String> {
    let mut parts = Vec::new();
    for part in &tidx.parts {
        let text = match (&part.column, &part.expression) {
            (Some(c), _) => quote_ident(c),
            (None, Some(e)) if ctx.source == Dialect::Postgres => format!("({e})"),
            (None, Some(e)) => {
                ctx.warn(
                    src,
                    None,
                    format!("index `{}` on expression `{e}` not translated", sidx.name),
                );
                return None;
            }
            (None, None) => return None,
        };
        let mut text = text;
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
        parts.push(text);
    }
    let mut sql = format!(
        "CREATE {}INDEX {} ON {}",
        if tidx.unique { "UNIQUE " } else { "" },
        quote_ident(&ctx.constraint_names.name(&index_name(tgt, tidx))),
        qualified(tgt)
    );
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

fn render_foreign_key(
    ctx: &mut Ctx,
    src: &Table,
    tgt: &Table,
    sfk: &ferry_core::ForeignKey,
    tfk: &ferry_core::ForeignKey,
) -> Option<ForeignKeyDdl> {
    let (parent_tgt, ref_cols, ref_src_cols) = crate::resolve_foreign_key(ctx, src, sfk, tfk)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_names_as_written() {
        assert_eq!(quote_ident("users"), "users");
        assert_eq!(quote_ident("InvoiceId"), "\"InvoiceId\"");
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("first name"), "\"first name\"");
        assert_eq!(quote_ident("9lives"), "\"9lives\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("col_2"), "col_2");
    }

    #[test]
    fn every_neutral_type_has_a_postgres_name() {
        assert_eq!(type_name(&DataType::Int64), "bigint");
        assert_eq!(
            type_name(&DataType::Decimal {
                precision: Some(10),
                scale: Some(2)
            }),
            "numeric(10,2)"
        );
        assert_eq!(type_name(&DataType::VarChar(64)), "varchar(64)");
        assert_eq!(type_name(&DataType::Json), "jsonb");
        assert_eq!(type_name(&DataType::Set(vec!["a".into()])), "text[]");
        assert_eq!(
            type_name(&DataType::Array(Box::new(DataType::Int32))),
            "integer[]"
        );
        assert_eq!(type_name(&DataType::Bit(3)), "bit varying(3)");
        assert_eq!(
            type_name(&DataType::Enum {
                name: "Mood".into(),
                labels: vec![]
            }),
            "\"Mood\""
        );
    }
}
