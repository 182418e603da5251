//! What a MySQL target already has of the tables a run creates, and dropping exactly the
//! ones asked for. MySQL has no types and no `CASCADE` that does anything; what can break
//! when a table goes is a foreign key of another table that references it, so such keys
//! are looked for first and refuse the drop.

use crate::conn::map_error;
use crate::introspect::quote;
use ferry_core::{DbObject, Error, ErrorKind, ObjectKind, Result};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// Which of `objects` the current database has a table or view named like, with its kind.
pub async fn existing(conn: &mut Conn, objects: &[DbObject]) -> Result<Vec<DbObject>> {
    let found: Vec<(String, String)> = conn
        .exec(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
            (),
        )
        .await
        .map_err(|e| map_error(e, "listing the target's tables"))?;
    Ok(objects
        .iter()
        .filter_map(|o| {
            let (_, ty) = found
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&o.name))?;
            let kind = match ty.as_str() {
                "BASE TABLE" => ObjectKind::Table,
                "VIEW" => ObjectKind::View,
                "SEQUENCE" => ObjectKind::Sequence,
                _ => ObjectKind::Other,
            };
            Some(DbObject { kind, ..o.clone() })
        })
        .collect())
}

/// Drop the tables `objects` in one statement, unless a foreign key of a table that is not
/// among them references one of them: then nothing is dropped and the error names it.
pub async fn drop(conn: &mut Conn, objects: &[DbObject]) -> Result<()> {
    if let Some(o) = objects.iter().find(|o| o.kind != ObjectKind::Table) {
        return Err(Error::config(format!(
            "ferry drops only tables in a MySQL target, not the {o}"
        )));
    }
    if objects.is_empty() {
        return Ok(());
    }
    let inside = |name: &str| objects.iter().any(|o| o.name.eq_ignore_ascii_case(name));
    let keys: Vec<(String, String, String)> = conn
        .exec(
            "SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME \
             FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()",
            (),
        )
        .await
        .map_err(|e| map_error(e, "listing the target's foreign keys"))?;
    let dependents: Vec<String> = keys
        .iter()
        .filter(|(_, child, parent)| inside(parent) && !inside(child))
        .map(|(name, child, parent)| {
            format!("foreign key `{name}` of table `{child}` references table `{parent}`")
        })
        .collect();
    if !dependents.is_empty() {
        return Err(Error::new(
            ErrorKind::Schema,
            format!(
                "other objects of the target depend on what ferry would drop, so nothing was dropped: {}",
                dependents.join("; ")
            ),
        ));
    }
    let names: Vec<String> = objects.iter().map(|o| quote(&o.name)).collect();
    let sql = format!("DROP TABLE IF EXISTS {}", names.join(", "));
    conn.query_drop(sql.as_str()).await.map_err(|e| {
        map_error(
            e,
            &format!("dropping {}", ferry_core::objects::list(objects)),
        )
    })
}
