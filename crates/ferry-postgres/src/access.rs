//! What a run needs of a PostgreSQL target that the connected role lacks (`--check`), read
//! from the catalog's privilege functions; nothing is created or locked.

use crate::conn::map_error;
use ferry_core::{Error, Result, Table, TargetNeeds};
use ferry_schema::quote::pg_name;
use std::collections::BTreeSet;
use tokio_postgres::Client;

/// Each privilege `needs` calls for that the current role lacks, with the statement that
/// grants it. `user` is the role as the URL names it (for the statements).
pub async fn missing_privileges(
    client: &Client,
    user: Option<&str>,
    needs: &TargetNeeds,
) -> Result<Vec<Error>> {
    let row = client
        .query_one(
            "SELECT current_user::text, current_database()::text, current_schema()::text, \
                    has_database_privilege(current_database(), 'CREATE')",
            &[],
        )
        .await
        .map_err(fail)?;
    let current: String = row.get(0);
    let who = pg_name(user.unwrap_or(&current));
    let database: String = row.get(1);
    let default_schema: Option<String> = row.get(2);
    let db_create: bool = row.get(3);
    let mut out = Vec::new();

    // Creating tables: USAGE and CREATE on each target schema, or CREATE on the database
    // for a schema that is not there yet.
    let schemas: BTreeSet<Option<String>> = needs
        .create
        .iter()
        .map(|t| t.schema.clone().or_else(|| default_schema.clone()))
        .collect();
    schema_privileges(client, &who, &database, db_create, schemas, &mut out).await?;

    // Tables that are there: loading or emptying them, dropping them, reading them.
    table_privileges(client, &who, default_schema.as_deref(), needs, &mut out).await?;
    Ok(out)
}

fn fail(e: tokio_postgres::Error) -> Error {
    map_error(e).context("reading the target's privileges")
}

/// USAGE and CREATE on each schema tables are created in, or CREATE on the database for
/// one that is not there yet.
async fn schema_privileges(
    client: &Client,
    who: &str,
    database: &str,
    db_create: bool,
    schemas: BTreeSet<Option<String>>,
    out: &mut Vec<Error>,
) -> Result<()> {
    for schema in schemas {
        let Some(schema) = schema else {
            out.push(Error::permission(
                "no schema to create tables in (search_path names none that exists)",
                "a schema on its search_path",
                format!("ALTER ROLE {who} SET search_path = public;"),
            ));
            continue;
        };
        let row = client
            .query_opt(
                "SELECT has_schema_privilege(oid, 'USAGE'), has_schema_privilege(oid, 'CREATE') \
                 FROM pg_namespace WHERE nspname = $1",
                &[&schema],
            )
            .await
            .map_err(fail)?;
        let shown = pg_name(&schema);
        match row {
            None if !db_create => out.push(Error::permission(
                format!("schema {shown} does not exist and cannot be created"),
                format!("CREATE on database {}", pg_name(database)),
                format!("GRANT CREATE ON DATABASE {} TO {who};", pg_name(database)),
            )),
            None => {}
            Some(r) => {
                let (usage, create): (bool, bool) = (r.get(0), r.get(1));
                if !usage {
                    out.push(Error::permission(
                        format!("no USAGE on schema {shown}"),
                        format!("USAGE on schema {shown}"),
                        format!("GRANT USAGE ON SCHEMA {shown} TO {who};"),
                    ));
                }
                if !create {
                    out.push(Error::permission(
                        format!("no CREATE on schema {shown}"),
                        format!(
                            "CREATE on schema {shown} (PostgreSQL 15 and later give it only to \
                             the schema's owner; GRANT ALL ON DATABASE does not include it)"
                        ),
                        format!("GRANT CREATE ON SCHEMA {shown} TO {who};"),
                    ));
                }
            }
        }
    }

    Ok(())
}

/// The rights on tables that are there: loading or emptying, reading, or (ownership)
/// dropping them.
async fn table_privileges(
    client: &Client,
    who: &str,
    default_schema: Option<&str>,
    needs: &TargetNeeds,
    out: &mut Vec<Error>,
) -> Result<()> {
    let groups: [(&[Table], &[&str], bool); 3] = [
        (&needs.write_existing, &["INSERT", "TRUNCATE"], false),
        (&needs.read, &["SELECT"], false),
        (&needs.drop_existing, &[], true),
    ];
    for (tables, privileges, dropped) in groups {
        for t in tables {
            let schema = t
                .schema
                .clone()
                .or_else(|| default_schema.map(str::to_string));
            let row = client
                .query_opt(
                    "SELECT c.oid::bigint, pg_has_role(c.relowner, 'USAGE'), \
                            pg_get_userbyid(c.relowner)::text \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relname = $2",
                    &[&schema, &t.name],
                )
                .await
                .map_err(fail)?;
            let Some(row) = row else { continue };
            let (oid, owns, owner): (i64, bool, String) = (row.get(0), row.get(1), row.get(2));
            let name = match &schema {
                Some(s) => format!("{}.{}", pg_name(s), pg_name(&t.name)),
                None => pg_name(&t.name),
            };
            if dropped && !owns {
                out.push(Error::permission(
                    format!("table {name} belongs to {}", pg_name(&owner)),
                    format!("ownership of table {name} (--if-exists drop drops it)"),
                    format!(
                        "ALTER TABLE {name} OWNER TO {who};  -- run by {}",
                        pg_name(&owner)
                    ),
                ));
                continue;
            }
            let mut lacking = Vec::new();
            for privilege in privileges {
                let has: bool = client
                    .query_one(
                        "SELECT has_table_privilege($1::bigint::oid, $2)",
                        &[&oid, privilege],
                    )
                    .await
                    .map_err(fail)?
                    .get(0);
                if !has {
                    lacking.push(*privilege);
                }
            }
            if !lacking.is_empty() {
                let list = lacking.join(", ");
                out.push(Error::permission(
                    format!("no {list} on table {name}"),
                    format!("{list} on table {name}"),
                    format!("GRANT {list} ON TABLE {name} TO {who};"),
                ));
            }
        }
    }
    Ok(())
}
