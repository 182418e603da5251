//! SQLite's catalog to the neutral model.

use ferry_core::{
    Column, DataType, Error, ForeignKey, Index, IndexPart, Result, Schema, Table, Unsupported,
};
use ferry_schema::rules::{map_type, ColumnFacts, Mapped, StoredClasses};
use ferry_schema::source::sqlite::{extract_checks, parse_default, SQLITE_RULES};
use ferry_schema::tokens::{matching_paren, render, tokenize, Token};
use rusqlite::Connection;

/// A lossy mapping noticed while introspecting (reported with the translation's warnings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Table.
    pub table: String,
    /// Column.
    pub column: String,
    /// What happened.
    pub message: String,
}

fn sql_err(e: rusqlite::Error) -> Error {
    crate::read::map_error(e)
}

/// Quote an SQLite identifier (SQLite's quoting is PostgreSQL's).
pub use ferry_schema::quote::pg_ident as quote;

/// Describe every user table of the database. A virtual table (FTS, R*Tree, ...) and its
/// shadow tables are listed as [`Unsupported`]: the run refuses them unless the config
/// excludes the virtual table (which excludes its shadow tables with it).
pub fn schema(conn: &Connection) -> Result<(Schema, Vec<Note>)> {
    let mut notes = Vec::new();
    let mut stmt = conn
        .prepare(include_str!("../sql/tables.sql"))
        .map_err(sql_err)?;
    let tables: Vec<(String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            ))
        })
        .map_err(sql_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql_err)?;
    let is_virtual = |sql: &str| {
        tokenize(sql)
            .is_some_and(|t| t.len() > 1 && t[0].is_word("CREATE") && t[1].is_word("VIRTUAL"))
    };
    let virtuals: Vec<String> = tables
        .iter()
        .filter(|(_, sql)| is_virtual(sql))
        .map(|(name, _)| name.clone())
        .collect();
    let shadows = shadow_tables(conn)?;
    let mut schema = Schema::default();
    for (name, create_sql) in tables {
        if virtuals.contains(&name) {
            let mut t = Table::new(name);
            t.unsupported = Some(Unsupported {
                reason: "is a virtual table (FTS, R*Tree or another module): exclude it in the config's [tables] and move it by hand".into(),
                belongs_to: None,
            });
            schema.tables.push(t);
        } else if shadows.contains(&name) {
            // The longest virtual table name that, with `_`, starts the shadow table's name.
            let owner = virtuals
                .iter()
                .filter(|v| {
                    name.len() > v.len() + 1
                        && name.starts_with(v.as_str())
                        && name[v.len()..].starts_with('_')
                })
                .max_by_key(|v| v.len())
                .cloned();
            let reason = match &owner {
                Some(o) => format!("is a shadow table of virtual table `{o}`: exclude `{o}` in the config's [tables]"),
                None => "is a shadow table of a virtual table: exclude it in the config's [tables]".into(),
            };
            let mut t = Table::new(name);
            t.unsupported = Some(Unsupported {
                reason,
                belongs_to: owner,
            });
            schema.tables.push(t);
        } else {
            schema
                .tables
                .push(table(conn, &name, &create_sql, &mut notes)?);
        }
    }
    Ok((schema, notes))
}

/// The tables SQLite marks as shadow tables of a virtual table (`PRAGMA table_list`).
fn shadow_tables(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")
        .map_err(sql_err)?;
    let names = stmt
        .query_map([], |r| r.get(0))
        .map_err(sql_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql_err)?;
    Ok(names)
}

/// What the database holds that ferry does not copy (views and triggers), one warning line
/// each, in the style of the PostgreSQL source: `view "v" is not copied`.
pub fn not_copied(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare(include_str!("../sql/not_copied.sql"))
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| {
            let kind: String = r.get(0)?;
            let name: String = r.get(1)?;
            let table: String = r.get(2)?;
            Ok(if kind == "trigger" {
                format!(
                    "trigger {} on {} is not copied",
                    quote(&name),
                    quote(&table)
                )
            } else {
                format!("{kind} {} is not copied", quote(&name))
            })
        })
        .map_err(sql_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql_err)?;
    Ok(rows)
}

fn table(conn: &Connection, name: &str, create_sql: &str, notes: &mut Vec<Note>) -> Result<Table> {
    let mut t = Table::new(name);
    let without_rowid = tokenize(create_sql).is_some_and(|toks| {
        toks.windows(2)
            .any(|w| w[0].is_word("WITHOUT") && w[1].is_word("ROWID"))
    });
    let mut stmt = conn
        .prepare(include_str!("../sql/columns.sql"))
        .map_err(sql_err)?;
    let rows: Vec<(String, String, bool, Option<String>, i64, i64)> = stmt
        .query_map([name], |r| {
            Ok((
                r.get(1)?,
                r.get(2)?,
                r.get::<_, i64>(3)? != 0,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(sql_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql_err)?;
    let mut pk: Vec<(i64, String)> = rows
        .iter()
        .filter(|r| r.4 > 0)
        .map(|r| (r.4, r.0.clone()))
        .collect();
    pk.sort();
    t.primary_key = pk.into_iter().map(|(_, n)| n).collect();
    for (col_name, declared, notnull, default, pk_pos, hidden) in rows {
        let rowid_alias = !without_rowid
            && pk_pos == 1
            && t.primary_key.len() == 1
            && declared.trim().eq_ignore_ascii_case("INTEGER");
        let mut facts = ColumnFacts::declared(&declared);
        facts.rowid_alias = rowid_alias;
        facts.auto_increment = rowid_alias;
        let mut mapped = map_type(SQLITE_RULES, &facts);
        if mapped == Mapped::NeedsValues {
            facts.stored = Some(stored_classes(conn, name, &col_name)?);
            mapped = map_type(SQLITE_RULES, &facts);
        }
        let Mapped::Type(data_type, warning) = mapped else {
            return Err(Error::schema(format!(
                "table `{name}`, column `{col_name}`: no type chosen"
            )));
        };
        if let Some(w) = warning {
            notes.push(Note {
                table: name.into(),
                column: col_name.clone(),
                message: format!("{w} ({})", type_label(&declared, &data_type)),
            });
        } else if declared.trim().is_empty() {
            notes.push(Note {
                table: name.into(),
                column: col_name.clone(),
                message: format!("no declared type; chose {data_type:?} from the stored values"),
            });
        } else if data_type == DataType::VarChar(32) && looks_like_uuid_name(&col_name) {
            // Django keeps a UUIDField as 32 hex digits on SQLite and as uuid elsewhere.
            notes.push(Note {
                table: name.into(),
                column: col_name.clone(),
                message: format!(
                    "declared `{declared}`: if it holds UUIDs as 32 hex digits (Django's UUIDField on SQLite), map it with `[columns] \"{name}.{col_name}\" = \"uuid\"`"
                ),
            });
        }
        let mut col = Column::new(col_name, declared, data_type);
        // A rowid alias is never NULL even when not declared NOT NULL. Other PRIMARY KEY
        // columns of rowid tables may hold NULL in SQLite, but the target's key cannot: they
        // are NOT NULL there, and the reader stops (or rejects) a row holding NULL in one.
        col.nullable = !(notnull || rowid_alias || pk_pos > 0);
        col.default = default.as_deref().map(parse_default);
        col.auto_increment = rowid_alias;
        if hidden == 2 || hidden == 3 {
            col.generated = Some(generated_expression(create_sql, &col.name).unwrap_or_default());
            // table_xinfo: 2 is a VIRTUAL generated column, 3 a STORED one.
            col.generated_stored = hidden == 3;
        }
        t.columns.push(col);
    }
    t.indexes = indexes(conn, name)?;
    t.foreign_keys = foreign_keys(conn, name)?;
    let deferrable = ferry_schema::source::sqlite::deferrable_references(create_sql);
    if deferrable.len() == t.foreign_keys.len() {
        for (fk, d) in t.foreign_keys.iter_mut().zip(deferrable) {
            fk.deferrable = d;
        }
    }
    t.checks = extract_checks(create_sql);
    // A text column whose CHECK says it holds JSON (Django's JSONField) is a JSON column.
    for check in &t.checks {
        let column = ferry_schema::expr::json_validity_column(&check.expression)
            .and_then(|c| ferry_schema::expr::find_column(&t, &c));
        if let Some(i) = column {
            if t.columns[i].data_type.is_text_like() && t.columns[i].data_type != DataType::Json {
                t.columns[i].data_type = DataType::Json;
            }
        }
    }
    t.estimated_rows = estimate_rows(conn, name, without_rowid).ok();
    Ok(t)
}

/// Whether a column's name says it holds UUIDs (`uuid`, `external_guid`, `uuid_key`).
fn looks_like_uuid_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("uuid") || n.contains("guid")
}

fn type_label(declared: &str, t: &DataType) -> String {
    format!("declared `{declared}`, became {t:?}")
}

fn stored_classes(conn: &Connection, table: &str, column: &str) -> Result<StoredClasses> {
    let sql = format!(
        "SELECT typeof({c}), count(*) FROM {t} GROUP BY 1",
        c = quote(column),
        t = quote(table)
    );
    let mut stmt = conn.prepare(&sql).map_err(sql_err)?;
    let mut classes = StoredClasses::default();
    let mut rows = stmt.query([]).map_err(sql_err)?;
    while let Some(r) = rows.next().map_err(sql_err)? {
        let n: i64 = r.get(1).map_err(sql_err)?;
        match r.get::<_, String>(0).map_err(sql_err)?.as_str() {
            "integer" => classes.integer = n as u64,
            "real" => classes.real = n as u64,
            "text" => classes.text = n as u64,
            "blob" => classes.blob = n as u64,
            _ => {}
        }
    }
    Ok(classes)
}

fn estimate_rows(conn: &Connection, table: &str, without_rowid: bool) -> rusqlite::Result<u64> {
    let sql = if without_rowid {
        format!("SELECT count(*) FROM {}", quote(table))
    } else {
        // max(rowid) is instant and close to the count for tables that rarely delete.
        format!("SELECT coalesce(max(rowid), 0) FROM {}", quote(table))
    };
    conn.query_row(&sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
}

fn indexes(conn: &Connection, table: &str) -> Result<Vec<Index>> {
    let mut stmt = conn
        .prepare(include_str!("../sql/indexes.sql"))
        .map_err(sql_err)?;
    let list: Vec<(String, bool, Option<String>)> = stmt
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? != 0, r.get(4)?))
        })
        .map_err(sql_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for (name, unique, sql) in list {
        let mut cols = conn
            .prepare(include_str!("../sql/index_columns.sql"))
            .map_err(sql_err)?;
        let parts: Vec<(i64, Option<String>, bool)> = cols
            .query_map([&name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0))
            })
            .map_err(sql_err)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sql_err)?;
        let (exprs, predicate) = sql.as_deref().map(index_sql_parts).unwrap_or_default();
        let parts = parts
            .into_iter()
            .enumerate()
            .map(|(i, (cid, col, desc))| IndexPart {
                column: if cid >= 0 { col } else { None },
                expression: if cid == -2 {
                    exprs.get(i).cloned()
                } else {
                    None
                },
                prefix: None,
                descending: desc,
                nulls_first: None,
                opclass: None,
                collation: None,
            })
            .collect();
        out.push(Index {
            name,
            parts,
            unique,
            predicate,
            method: None,
            include: Vec::new(),
            constraint: None,
        });
    }
    Ok(out)
}

/// The key expressions and the WHERE predicate of a `CREATE INDEX` statement.
fn index_sql_parts(sql: &str) -> (Vec<String>, Option<String>) {
    let Some(tokens) = tokenize(sql) else {
        return (Vec::new(), None);
    };
    let Some(open) = tokens.iter().position(|t| *t == Token::LParen) else {
        return (Vec::new(), None);
    };
    let Some(close) = matching_paren(&tokens, open) else {
        return (Vec::new(), None);
    };
    let q = |s: &str| quote(s);
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = open + 1;
    for i in open + 1..=close {
        match &tokens[i] {
            Token::LParen => depth += 1,
            Token::RParen if depth > 0 => depth -= 1,
            Token::Comma | Token::RParen if depth == 0 => {
                let mut part = &tokens[start..i];
                if part
                    .last()
                    .is_some_and(|t| t.is_word("DESC") || t.is_word("ASC"))
                {
                    part = &part[..part.len() - 1];
                }
                parts.push(render(part, &q));
                start = i + 1;
            }
            _ => {}
        }
    }
    let predicate = tokens
        .get(close + 1)
        .filter(|t| t.is_word("WHERE"))
        .map(|_| render(&tokens[close + 2..], &q));
    (parts, predicate)
}

fn generated_expression(create_sql: &str, column: &str) -> Option<String> {
    let tokens = tokenize(create_sql)?;
    let start = tokens
        .iter()
        .position(|t| t.ident().is_some_and(|n| n.eq_ignore_ascii_case(column)))?;
    let as_pos = (start..tokens.len())
        .find(|&i| tokens[i].is_word("AS") && tokens.get(i + 1) == Some(&Token::LParen))?;
    let close = matching_paren(&tokens, as_pos + 1)?;
    Some(render(&tokens[as_pos + 2..close], &|s| quote(s)))
}

fn foreign_keys(conn: &Connection, table: &str) -> Result<Vec<ForeignKey>> {
    let mut stmt = conn
        .prepare(include_str!("../sql/foreign_keys.sql"))
        .map_err(sql_err)?;
    type FkRow = (i64, String, String, Option<String>, String, String);
    let rows: Vec<FkRow> = stmt
        .query_map([table], |r| {
            Ok((
                r.get(0)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(sql_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql_err)?;
    let mut out: Vec<(i64, ForeignKey)> = Vec::new();
    for (id, parent, from, to, on_update, on_delete) in rows {
        let action = |a: String| (!a.eq_ignore_ascii_case("NO ACTION")).then_some(a);
        match out.last_mut() {
            Some((last, fk)) if *last == id => {
                fk.columns.push(from);
                if let Some(to) = to {
                    fk.ref_columns.push(to);
                }
            }
            _ => out.push((
                id,
                ForeignKey {
                    name: None,
                    columns: vec![from],
                    ref_table: parent,
                    ref_columns: to.into_iter().collect(),
                    on_delete: action(on_delete),
                    on_update: action(on_update),
                    // SQLite checks foreign keys only on connections that ask for it.
                    enforced: false,
                    // From the CREATE statement (the pragma does not say).
                    deferrable: ferry_core::Deferrable::No,
                },
            )),
        }
    }
    // PRAGMA lists foreign keys last-declared first; keep declaration order.
    out.reverse();
    Ok(out.into_iter().map(|(_, fk)| fk).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_sql_gives_expressions_and_predicate() {
        let (parts, pred) =
            index_sql_parts("CREATE INDEX i ON t (lower(name), id DESC) WHERE deleted = 0");
        assert_eq!(parts, vec!["lower(name)".to_string(), "id".to_string()]);
        assert_eq!(pred.as_deref(), Some("deleted = 0"));
    }
}
