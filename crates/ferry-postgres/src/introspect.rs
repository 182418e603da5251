//! Describing a PostgreSQL database in ferry's neutral terms, from pg_catalog.
//!
//! The catalog queries live in `sql/*.sql`. Types keep `format_type()`'s text verbatim in
//! `Column::source_type` (a PostgreSQL target recreates them as they were) and map to neutral
//! types through ferry-schema's [`POSTGRES_RULES`](ferry_schema::source::postgres::POSTGRES_RULES).
//! Defaults stay PostgreSQL expressions; the translator gives them a neutral meaning for other
//! targets. Serial and identity columns become auto-increment columns.

use crate::conn::map_error;
use ferry_core::{
    Check, Column, DataType, DefaultValue, Dialect, ExtensionUse, ForeignKey, Index, IndexPart,
    Result, Schema, Table, UserType, UserTypeKind,
};
use ferry_schema::source::postgres::{is_serial_default, map_pg_type};
use std::collections::{HashMap, HashSet};
use tokio_postgres::types::Oid;
use tokio_postgres::Client;

const TABLES_SQL: &str = include_str!("../sql/tables.sql");
const COLUMNS_SQL: &str = include_str!("../sql/columns.sql");
const CONSTRAINTS_SQL: &str = include_str!("../sql/constraints.sql");
const INDEXES_SQL: &str = include_str!("../sql/indexes.sql");
const TYPES_SQL: &str = include_str!("../sql/types.sql");
const EXTENSIONS_SQL: &str = include_str!("../sql/extensions.sql");
const NOT_COPIED_SQL: &str = include_str!("../sql/not_copied.sql");
const EXTENSION_USES_SQL: &str = include_str!("../sql/extension_uses.sql");

/// A user type with its catalog oid, for finding the types tables use.
struct CatalogType {
    oid: Oid,
    /// The types this one is built on: a domain's base type, a composite's attribute types.
    deps: Vec<Oid>,
    ty: UserType,
}

/// Introspect the tables of `schemas` (every non-system schema when `None`) through
/// `client`, which should be inside the snapshot the rows are read in.
pub async fn introspect(client: &Client, schemas: Option<&[String]>) -> Result<Schema> {
    Ok(introspect_with_warnings(client, schemas).await?.0)
}

/// [`introspect`], with the lossy choices it made and the objects it leaves behind, as
/// warning lines: `table.column: ...` for types without an exact neutral equivalent, and
/// `view public.v is not copied` and the like for what ferry does not move.
pub async fn introspect_with_warnings(
    client: &Client,
    schemas: Option<&[String]>,
) -> Result<(Schema, Vec<String>)> {
    let mut warnings = Vec::new();
    let schemas: Option<Vec<String>> = schemas.map(<[String]>::to_vec);
    let mut cat = Tables::load(client, &schemas).await?;
    let types = load_types(client).await?;
    let mut used_types = cat.add_columns(client, &types, &mut warnings).await?;
    cat.add_keys_and_indexes(client).await?;

    let extensions: Vec<String> = client
        .query(EXTENSIONS_SQL, &[])
        .await
        .map_err(reading("extensions"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let types = used_user_types(types, &mut used_types);
    let extension_uses = cat.extension_uses(client).await?;
    for row in client
        .query(NOT_COPIED_SQL, &[&schemas])
        .await
        .map_err(reading("the objects ferry does not copy"))?
    {
        warnings.push(format!(
            "{} {} {}",
            row.get::<_, String>("kind"),
            row.get::<_, String>("name"),
            row.get::<_, String>("note")
        ));
    }

    Ok((
        Schema {
            tables: cat.tables,
            extensions,
            types,
            extension_uses,
        },
        warnings,
    ))
}

/// A catalog query's error, naming what was being read.
fn reading(what: &'static str) -> impl Fn(tokio_postgres::Error) -> ferry_core::Error {
    move |e| map_error(e).context(format!("reading {what}"))
}

/// The tables being introspected, by catalog OID.
struct Tables {
    tables: Vec<Table>,
    oids: Vec<Oid>,
    by_oid: HashMap<Oid, usize>,
}

impl Tables {
    async fn load(client: &Client, schemas: &Option<Vec<String>>) -> Result<Tables> {
        let rows = client
            .query(TABLES_SQL, &[schemas])
            .await
            .map_err(reading("the list of tables"))?;
        let mut cat = Tables {
            tables: Vec::with_capacity(rows.len()),
            oids: Vec::with_capacity(rows.len()),
            by_oid: HashMap::new(),
        };
        for row in &rows {
            let mut t = Table::new(row.get::<_, String>("table_name"));
            t.schema = Some(row.get("schema_name"));
            t.comment = row.get("comment");
            t.estimated_rows = Some(row.get::<_, i64>("estimated_rows").max(0) as u64);
            let oid: Oid = row.get("oid");
            cat.by_oid.insert(oid, cat.tables.len());
            cat.oids.push(oid);
            cat.tables.push(t);
        }
        Ok(cat)
    }

    /// The index of the table a catalog row (`table_oid`) belongs to.
    fn of(&self, row: &tokio_postgres::Row) -> Option<usize> {
        self.by_oid.get(&row.get::<_, Oid>("table_oid")).copied()
    }

    /// Add every table's columns; returns the type OIDs they use. A type without an exact
    /// neutral equivalent adds a warning.
    async fn add_columns(
        &mut self,
        client: &Client,
        types: &[CatalogType],
        warnings: &mut Vec<String>,
    ) -> Result<HashSet<Oid>> {
        let enum_labels: HashMap<Oid, (String, Vec<String>)> = types
            .iter()
            .filter_map(|t| match &t.ty.kind {
                UserTypeKind::Enum(labels) => Some((t.oid, (t.ty.name.clone(), labels.clone()))),
                UserTypeKind::Domain { .. } | UserTypeKind::Composite(_) => None,
            })
            .collect();
        let mut used_types: HashSet<Oid> = HashSet::new();
        let rows = client
            .query(COLUMNS_SQL, &[&self.oids])
            .await
            .map_err(reading("columns"))?;
        for row in &rows {
            let Some(ti) = self.of(row) else { continue };
            used_types.insert(row.get("type_oid"));
            used_types.insert(row.get("elem_oid"));
            let (col, lossy) = column_from_row(row, &enum_labels);
            if let Some(why) = lossy {
                warnings.push(format!(
                    "{}.{}: type {}: {why} for targets other than PostgreSQL (a PostgreSQL target keeps the type)",
                    self.tables[ti].display_name(),
                    col.name,
                    col.source_type
                ));
            }
            self.tables[ti].columns.push(col);
        }
        Ok(used_types)
    }

    async fn add_keys_and_indexes(&mut self, client: &Client) -> Result<()> {
        let rows = client
            .query(CONSTRAINTS_SQL, &[&self.oids])
            .await
            .map_err(reading("constraints"))?;
        for row in &rows {
            if let Some(ti) = self.of(row) {
                add_constraint(&mut self.tables[ti], row);
            }
        }
        let rows = client
            .query(INDEXES_SQL, &[&self.oids])
            .await
            .map_err(reading("indexes"))?;
        for row in &rows {
            if let Some(ti) = self.of(row) {
                self.tables[ti].indexes.push(index_from_row(row));
            }
        }
        Ok(())
    }

    async fn extension_uses(&self, client: &Client) -> Result<Vec<ExtensionUse>> {
        Ok(client
            .query(EXTENSION_USES_SQL, &[&self.oids])
            .await
            .map_err(reading("what the tables need from extensions"))?
            .iter()
            .filter_map(|row| {
                Some(ExtensionUse {
                    extension: row.get("extension"),
                    table: self.tables[self.of(row)?].display_name(),
                    what: row.get("what"),
                })
            })
            .collect())
    }
}

/// The user types the tables use, with the types those types are built on.
fn used_user_types(types: Vec<CatalogType>, used: &mut HashSet<Oid>) -> Vec<UserType> {
    let by_type_oid: HashMap<Oid, &CatalogType> = types.iter().map(|t| (t.oid, t)).collect();
    let mut pending: Vec<Oid> = used.iter().copied().collect();
    while let Some(oid) = pending.pop() {
        if let Some(t) = by_type_oid.get(&oid) {
            for &dep in &t.deps {
                if dep != 0 && used.insert(dep) {
                    pending.push(dep);
                }
            }
        }
    }
    types
        .into_iter()
        .filter(|t| used.contains(&t.oid))
        .map(|t| t.ty)
        .collect()
}

async fn load_types(client: &Client) -> Result<Vec<CatalogType>> {
    let rows = client
        .query(TYPES_SQL, &[])
        .await
        .map_err(|e| map_error(e).context("reading enum types, domains and composite types"))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let kind: String = row.get("kind");
        let mut deps: Vec<Oid> = vec![row.get("base_oid")];
        let ty_kind = if kind == "e" {
            UserTypeKind::Enum(row.get("labels"))
        } else if kind == "c" {
            deps = row.get("attr_type_oids");
            let names: Vec<String> = row.get("attr_names");
            let types: Vec<String> = row.get("attr_types");
            UserTypeKind::Composite(names.into_iter().zip(types).collect())
        } else {
            let names: Vec<String> = row.get("check_names");
            let exprs: Vec<String> = row.get("check_exprs");
            UserTypeKind::Domain {
                base_type: row
                    .get::<_, Option<String>>("base_type")
                    .unwrap_or_default(),
                not_null: row.get("not_null"),
                default: row.get("default_expr"),
                checks: names
                    .into_iter()
                    .zip(exprs)
                    .map(|(name, expression)| Check {
                        name: Some(name),
                        expression,
                        dialect: Dialect::Postgres,
                    })
                    .collect(),
            }
        };
        out.push(CatalogType {
            oid: row.get("oid"),
            deps,
            ty: UserType {
                schema: Some(row.get("schema_name")),
                name: row.get("type_name"),
                kind: ty_kind,
            },
        });
    }
    Ok(out)
}

/// A column, and the warning of the type rule that mapped it when the mapping is lossy.
fn column_from_row(
    row: &tokio_postgres::Row,
    enums: &HashMap<Oid, (String, Vec<String>)>,
) -> (Column, Option<&'static str>) {
    let type_name: String = row.get("type_name");
    let type_kind: String = row.get("type_kind");
    let type_oid: Oid = row.get("type_oid");
    let elem_oid: Oid = row.get("elem_oid");
    let enum_type = |oid: Oid| {
        enums.get(&oid).map(|(name, labels)| DataType::Enum {
            name: name.clone(),
            labels: labels.clone(),
        })
    };
    // A domain's values are its base type's (an enum's labels when it is over an enum); an
    // array of a domain is an array of the base type.
    let base_oid: Oid = row.get("domain_base_oid");
    let mut lossy = None;
    let mut mapped = |name: &str| {
        let (t, w) = map_pg_type(name);
        lossy = lossy.or(w);
        t
    };
    let data_type = match (
        type_kind.as_str(),
        row.get::<_, Option<String>>("domain_base"),
        row.get::<_, Option<String>>("elem_domain_base"),
    ) {
        ("e", _, _) => enum_type(type_oid).unwrap_or(DataType::Text),
        ("d", Some(base), _) => enum_type(base_oid).unwrap_or_else(|| mapped(&base)),
        (_, _, Some(elem_base)) => DataType::Array(Box::new(
            enum_type(base_oid).unwrap_or_else(|| mapped(&elem_base)),
        )),
        _ => match enum_type(elem_oid) {
            Some(e) => DataType::Array(Box::new(e)),
            None => mapped(&type_name),
        },
    };
    let mut col = Column::new(row.get::<_, String>("column_name"), type_name, data_type);
    col.nullable = !row.get::<_, bool>("not_null");
    col.comment = row.get("comment");
    col.collation = row.get("collation");
    let identity: String = row.get("identity");
    let generated: String = row.get("generated");
    let default: Option<String> = row.get("default_expr");
    if !identity.is_empty() {
        col.auto_increment = true;
    } else if generated == "s" {
        col.generated = default;
        col.generated_stored = true;
    } else if let Some(d) = default {
        if is_serial_default(&d) {
            col.auto_increment = true;
        } else {
            col.default = Some(DefaultValue::Expression {
                dialect: Dialect::Postgres,
                sql: d,
            });
        }
    }
    (col, lossy)
}

fn fk_action(code: &str) -> Option<String> {
    Some(
        match code {
            "c" => "CASCADE",
            "n" => "SET NULL",
            "d" => "SET DEFAULT",
            "r" => "RESTRICT",
            _ => return None, // 'a': NO ACTION
        }
        .to_string(),
    )
}

fn add_constraint(table: &mut Table, row: &tokio_postgres::Row) {
    let name: String = row.get("name");
    let kind: String = row.get("kind");
    let columns: Vec<String> = row.get("columns");
    match kind.as_str() {
        "p" => table.primary_key = columns,
        // Unique constraints arrive through their index (indexes.sql).
        "u" => {}
        "f" => {
            let ref_schema: Option<String> = row.get("ref_schema");
            let ref_name: String = row
                .get::<_, Option<String>>("ref_table")
                .unwrap_or_default();
            let ref_table = match ref_schema {
                Some(s) if Some(&s) != table.schema.as_ref() => format!("{s}.{ref_name}"),
                _ => ref_name,
            };
            table.foreign_keys.push(ForeignKey {
                name: Some(name),
                columns,
                ref_table,
                ref_columns: row.get("ref_columns"),
                on_delete: fk_action(&row.get::<_, String>("on_delete")),
                on_update: fk_action(&row.get::<_, String>("on_update")),
                // NOT VALID constraints may have rows that break them.
                enforced: row.get("validated"),
                deferrable: ferry_core::Deferrable::from_flags(
                    row.get("deferrable"),
                    row.get("deferred"),
                ),
            });
        }
        "x" => {
            if let Some(definition) = row.get::<_, Option<String>>("definition") {
                table.exclusions.push((name, definition));
            }
        }
        "c" => {
            if let Some(expression) = row.get::<_, Option<String>>("check_expr") {
                table.checks.push(Check {
                    name: Some(name),
                    expression,
                    dialect: Dialect::Postgres,
                });
            }
        }
        _ => {}
    }
}

fn index_from_row(row: &tokio_postgres::Row) -> Index {
    let columns: Vec<String> = row.get("columns");
    let defs: Vec<String> = row.get("part_defs");
    let descending: Vec<bool> = row.get("descending");
    let nulls_first: Vec<bool> = row.get("nulls_first");
    let opclasses: Vec<String> = row.get("opclasses");
    let collations: Vec<String> = row.get("collations");
    let some = |v: Option<&String>| v.filter(|s| !s.is_empty()).cloned();
    let parts = columns
        .iter()
        .zip(&defs)
        .enumerate()
        .map(|(k, (col, def))| {
            let desc = descending.get(k).copied().unwrap_or(false);
            // PostgreSQL's default: NULLs last ascending, first descending.
            let first = nulls_first.get(k).copied().unwrap_or(desc);
            IndexPart {
                column: (!col.is_empty()).then(|| col.clone()),
                expression: col.is_empty().then(|| def.clone()),
                prefix: None,
                descending: desc,
                nulls_first: (first != desc).then_some(first),
                opclass: some(opclasses.get(k)),
                collation: some(collations.get(k)),
            }
        })
        .collect();
    let method: String = row.get("method");
    Index {
        name: row.get("name"),
        parts,
        unique: row.get("is_unique"),
        predicate: row.get("predicate"),
        method: (method != "btree").then_some(method),
        include: row.get("include"),
        constraint: match row.get::<_, Option<String>>("constraint_kind").as_deref() {
            Some("u") => Some(ferry_core::Deferrable::from_flags(
                row.get("deferrable"),
                row.get("deferred"),
            )),
            _ => None,
        },
    }
}
