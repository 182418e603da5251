//! Introspection from `information_schema`: tables, columns with their full types,
//! defaults, keys, indexes with prefix lengths, foreign keys and CHECK constraints. The
//! catalog queries live in `sql/*.sql`.

use crate::conn::map_error;
use ferry_core::{
    Check, Column, DataType, Dialect, ForeignKey, Index, IndexPart, Result, Schema, Table,
};
use ferry_schema::source::mysql::{is_tinyint1, map_column, on_update_now, parse_default};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use std::collections::BTreeMap;

const TABLES: &str = include_str!("sql/tables.sql");
const COLUMNS: &str = include_str!("sql/columns.sql");
const INDEXES: &str = include_str!("sql/indexes.sql");
const FOREIGN_KEYS: &str = include_str!("sql/foreign_keys.sql");
const CHECKS_MARIADB: &str = include_str!("sql/checks_mariadb.sql");
const CHECKS_MYSQL: &str = include_str!("sql/checks_mysql.sql");
const NOT_COPIED: &str = include_str!("sql/not_copied.sql");

fn text(row: &mut Row, i: usize) -> Option<String> {
    match row.take::<mysql_async::Value, _>(i)? {
        mysql_async::Value::NULL => None,
        mysql_async::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

fn number(row: &mut Row, i: usize) -> Option<u64> {
    text(row, i).and_then(|s| s.parse().ok())
}

async fn rows(conn: &mut Conn, sql: &str, db: &str, what: &str) -> Result<Vec<Row>> {
    conn.exec(sql, (db,))
        .await
        .map_err(|e| map_error(e, &format!("reading {what} of `{db}`")))
}

/// Describe every base table of `db` in neutral terms. `mariadb` selects the catalog
/// dialect for defaults and CHECKs.
pub async fn introspect(conn: &mut Conn, db: &str, mariadb: bool) -> Result<Schema> {
    let mut tables = read_tables(conn, db).await?;
    let tiny1 = read_columns(conn, db, mariadb, &mut tables).await?;
    read_indexes(conn, db, &mut tables).await?;
    read_foreign_keys(conn, db, &mut tables).await?;
    read_checks(conn, db, mariadb, &mut tables).await;
    narrow_tinyint1(conn, tiny1, &mut tables).await?;
    for t in tables.values_mut() {
        mariadb_json(t);
    }
    Ok(Schema {
        tables: tables.into_values().collect(),
        ..Schema::default()
    })
}

async fn read_tables(conn: &mut Conn, db: &str) -> Result<BTreeMap<String, Table>> {
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut partitioned = Vec::new();
    for mut r in rows(conn, TABLES, db, "tables").await? {
        let name = text(&mut r, 0).unwrap_or_default();
        let mut t = Table::new(name.clone());
        t.estimated_rows = number(&mut r, 1);
        t.comment = text(&mut r, 2).filter(|c| !c.is_empty());
        t.collation = text(&mut r, 4);
        // MariaDB 10.10+ lists UCA 14 collations under a short name (`uca1400_ai_ci`), so the
        // join misses `utf8mb4_uca1400_ai_ci`; character set names never hold `_`.
        t.charset = text(&mut r, 3).or_else(|| {
            let co = t.collation.as_deref()?;
            co.split_once('_').map(|(cs, _)| cs.to_string())
        });
        if number(&mut r, 5) == Some(1) {
            partitioned.push(name.clone());
        }
        tables.insert(name, t);
    }
    for name in partitioned {
        let sql = format!("SHOW CREATE TABLE {}.{}", quote(db), quote(&name));
        let row: Option<(String, String)> = conn
            .query_first(sql)
            .await
            .map_err(|e| map_error(e, &format!("reading how `{name}` is partitioned")))?;
        if let (Some((_, ddl)), Some(t)) = (row, tables.get_mut(&name)) {
            t.partition_by = partition_clause(&ddl);
        }
    }
    Ok(tables)
}

/// The `PARTITION BY ...` clause at the end of a `SHOW CREATE TABLE`, without the version
/// comment MySQL wraps it in (`/*!50100 PARTITION BY ... */`).
fn partition_clause(ddl: &str) -> Option<String> {
    // After the column list, whose `)` starts a line (strings inside it are escaped), so a
    // comment that mentions partitions is never taken for the clause.
    let options = ddl.find("\n)").unwrap_or(0);
    let at = options + ddl[options..].find("PARTITION BY ")?;
    let clause = ddl[at..].trim();
    let clause = clause.strip_suffix("*/").unwrap_or(clause).trim_end();
    Some(clause.to_string())
}

/// Add every table's columns; returns the `tinyint(1)` columns by table, which may be
/// booleans.
async fn read_columns(
    conn: &mut Conn,
    db: &str,
    mariadb: bool,
    tables: &mut BTreeMap<String, Table>,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut tiny1: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for mut r in rows(conn, COLUMNS, db, "columns").await? {
        let table = text(&mut r, 0).unwrap_or_default();
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        let name = text(&mut r, 1).unwrap_or_default();
        let default = text(&mut r, 2);
        let column_type = text(&mut r, 4).unwrap_or_default();
        let extra = text(&mut r, 7).unwrap_or_default();
        let (data_type, _) = map_column(&table, &name, &column_type, None);
        let mut c = Column::new(name.clone(), column_type.clone(), data_type);
        c.nullable = text(&mut r, 3).as_deref() == Some("YES");
        c.charset = text(&mut r, 5);
        c.collation = text(&mut r, 6);
        c.comment = text(&mut r, 8).filter(|s| !s.is_empty());
        let lower_extra = extra.to_ascii_lowercase();
        c.auto_increment = lower_extra.contains("auto_increment");
        c.on_update_current_timestamp = on_update_now(&extra);
        if lower_extra.contains("generated") && !lower_extra.contains("default_generated") {
            c.generated = text(&mut r, 9).filter(|g| !g.is_empty());
            c.generated_stored = lower_extra.contains("stored");
        }
        if c.generated.is_none() && !c.auto_increment {
            c.default = parse_default(default.as_deref(), mariadb, &extra, &c.data_type);
        }
        if is_tinyint1(&column_type) {
            tiny1.entry(table).or_default().push(name);
        }
        t.columns.push(c);
    }
    Ok(tiny1)
}

/// `tinyint(1)` becomes boolean only when the data holds nothing but 0, 1 and NULL.
async fn narrow_tinyint1(
    conn: &mut Conn,
    tiny1: BTreeMap<String, Vec<String>>,
    tables: &mut BTreeMap<String, Table>,
) -> Result<()> {
    for (table, cols) in tiny1 {
        let probe: Vec<String> = cols
            .iter()
            .map(|c| format!("MAX({q} NOT IN (0, 1))", q = quote(c)))
            .collect();
        let sql = format!("SELECT {} FROM {}", probe.join(", "), quote(&table));
        let row: Option<Row> = conn
            .query_first(sql)
            .await
            .map_err(|e| map_error(e, &format!("checking tinyint(1) columns of `{table}`")))?;
        let Some(mut row) = row else { continue };
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        for (i, name) in cols.iter().enumerate() {
            let only01 = number(&mut row, i).unwrap_or(0) == 0;
            if let Some(c) = t.columns.iter_mut().find(|c| &c.name == name) {
                c.data_type = map_column(&table, name, &c.source_type, Some(only01)).0;
            }
        }
    }
    Ok(())
}

/// MariaDB's JSON is longtext with a json_valid() CHECK named after the column: declare
/// it `json` again, so a MariaDB target recreates the same column check and a MySQL
/// target a real JSON column; the separate check goes.
fn mariadb_json(t: &mut Table) {
    let json_cols: Vec<String> = t
        .checks
        .iter()
        .filter_map(|k| {
            let e = k.expression.to_ascii_lowercase().replace(' ', "");
            let inner = e
                .strip_prefix("json_valid(")?
                .strip_suffix(')')?
                .trim_matches('`')
                .to_string();
            Some(inner)
        })
        .collect();
    for c in &mut t.columns {
        if c.data_type == DataType::Text
            && json_cols.iter().any(|j| j.eq_ignore_ascii_case(&c.name))
        {
            c.data_type = DataType::Json;
            c.source_type = "json".into();
            c.charset = None;
            c.collation = None;
            let name = c.name.to_ascii_lowercase();
            t.checks.retain(|k| {
                k.expression.to_ascii_lowercase().replace([' ', '`'], "")
                    != format!("json_valid({name})")
            });
        }
    }
}

/// What database `db` holds that ferry does not copy (views, triggers, procedures,
/// functions, events, sequences), one warning line each in the style of the PostgreSQL
/// source: ``view `v` is not copied``, ``trigger `t` on `orders` is not copied``.
pub async fn not_copied(conn: &mut Conn, db: &str) -> Result<Vec<String>> {
    let found: Vec<Row> = conn
        .exec(NOT_COPIED, (db, db, db, db))
        .await
        .map_err(|e| map_error(e, &format!("reading the views and routines of `{db}`")))?;
    Ok(found
        .into_iter()
        .map(|mut r| {
            let kind = text(&mut r, 0).unwrap_or_default();
            let name = quote(&text(&mut r, 1).unwrap_or_default());
            match text(&mut r, 2).filter(|t| !t.is_empty()) {
                Some(table) => format!("{kind} {name} on {} is not copied", quote(&table)),
                None => format!("{kind} {name} is not copied"),
            }
        })
        .collect())
}

/// Backquote an identifier.
pub use ferry_schema::quote::mysql_ident as quote;

async fn read_indexes(
    conn: &mut Conn,
    db: &str,
    tables: &mut BTreeMap<String, Table>,
) -> Result<()> {
    let mut current: Option<(String, Index)> = None;
    let mut finished: Vec<(String, Index)> = Vec::new();
    for mut r in rows(conn, INDEXES, db, "indexes").await? {
        let table = text(&mut r, 0).unwrap_or_default();
        let name = text(&mut r, 1).unwrap_or_default();
        let unique = number(&mut r, 2) == Some(0);
        let column = text(&mut r, 3);
        let prefix = number(&mut r, 4).map(|p| p as u32);
        let descending = text(&mut r, 5).as_deref() == Some("D");
        let method = text(&mut r, 6).filter(|m| m != "BTREE" && m != "HASH");
        let same = matches!(&current, Some((t, i)) if *t == table && i.name == name);
        if !same {
            if let Some(done) = current.take() {
                finished.push(done);
            }
            current = Some((
                table.clone(),
                Index {
                    name,
                    parts: Vec::new(),
                    unique,
                    predicate: None,
                    method,
                    include: Vec::new(),
                    constraint: None,
                },
            ));
        }
        if let Some((_, idx)) = current.as_mut() {
            idx.parts.push(IndexPart {
                column,
                expression: None,
                prefix,
                descending,
                nulls_first: None,
                opclass: None,
                collation: None,
            });
        }
    }
    finished.extend(current);
    for (table, idx) in finished {
        let Some(t) = tables.get_mut(&table) else {
            continue;
        };
        if idx.name == "PRIMARY" {
            t.primary_key = idx.parts.iter().filter_map(|p| p.column.clone()).collect();
        } else {
            t.indexes.push(idx);
        }
    }
    Ok(())
}

async fn read_foreign_keys(
    conn: &mut Conn,
    db: &str,
    tables: &mut BTreeMap<String, Table>,
) -> Result<()> {
    let mut fks: Vec<(String, ForeignKey)> = Vec::new();
    for mut r in rows(conn, FOREIGN_KEYS, db, "foreign keys").await? {
        let table = text(&mut r, 0).unwrap_or_default();
        let name = text(&mut r, 1);
        let column = text(&mut r, 2).unwrap_or_default();
        let ref_table = text(&mut r, 3).unwrap_or_default();
        let ref_column = text(&mut r, 4).unwrap_or_default();
        let on_update = text(&mut r, 5).filter(|a| a != "NO ACTION" && a != "RESTRICT");
        let on_delete = text(&mut r, 6).filter(|a| a != "NO ACTION" && a != "RESTRICT");
        match fks.last_mut() {
            Some((t, fk)) if *t == table && fk.name == name => {
                fk.columns.push(column);
                fk.ref_columns.push(ref_column);
            }
            _ => fks.push((
                table,
                ForeignKey {
                    name,
                    columns: vec![column],
                    ref_table,
                    ref_columns: vec![ref_column],
                    on_delete,
                    on_update,
                    // Listed foreign keys are InnoDB's, which it checks on every write.
                    enforced: true,
                    deferrable: ferry_core::Deferrable::No,
                },
            )),
        }
    }
    for (table, fk) in fks {
        if let Some(t) = tables.get_mut(&table) {
            t.foreign_keys.push(fk);
        }
    }
    Ok(())
}

/// CHECK constraints, where the server has them (MariaDB 10.2+, MySQL 8.0.16+); older
/// servers have none to read.
async fn read_checks(
    conn: &mut Conn,
    db: &str,
    mariadb: bool,
    tables: &mut BTreeMap<String, Table>,
) {
    let sql = if mariadb {
        CHECKS_MARIADB
    } else {
        CHECKS_MYSQL
    };
    let Ok(found) = rows(conn, sql, db, "checks").await else {
        return;
    };
    for mut r in found {
        let table = text(&mut r, 0).unwrap_or_default();
        let name = text(&mut r, 1);
        let expression = text(&mut r, 2).unwrap_or_default();
        if let Some(t) = tables.get_mut(&table) {
            t.checks.push(Check {
                name,
                expression,
                dialect: Dialect::Mysql,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::partition_clause;

    #[test]
    fn partition_clauses_come_out_of_both_servers_show_create_table() {
        // MariaDB 10.11, as its SHOW CREATE TABLE prints it.
        let mariadb = "CREATE TABLE `p` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB DEFAULT CHARSET=latin1\n PARTITION BY HASH (`id`)\nPARTITIONS 4";
        assert_eq!(
            partition_clause(mariadb).as_deref(),
            Some("PARTITION BY HASH (`id`)\nPARTITIONS 4")
        );
        // MySQL 8 wraps it in a version comment.
        let mysql = "CREATE TABLE `p` (\n  `id` int NOT NULL\n) ENGINE=InnoDB\n/*!50100 PARTITION BY RANGE (`id`)\n(PARTITION p0 VALUES LESS THAN (10) ENGINE = InnoDB) */";
        assert_eq!(
            partition_clause(mysql).as_deref(),
            Some("PARTITION BY RANGE (`id`)\n(PARTITION p0 VALUES LESS THAN (10) ENGINE = InnoDB)")
        );
        assert_eq!(partition_clause("CREATE TABLE `t` (`id` int)"), None);
        let commented =
            "CREATE TABLE `t` (\n  `id` int COMMENT 'PARTITION BY nothing'\n) ENGINE=InnoDB";
        assert_eq!(partition_clause(commented), None);
    }
}
