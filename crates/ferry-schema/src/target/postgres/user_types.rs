//! The types and schemas a PostgreSQL target needs before its tables: the enum types of
//! translated columns, or, from a PostgreSQL source, the source's own schemas, extensions,
//! enum types and domains.

use super::quote_ident;
use crate::quote::pg_literal as quote_literal;
use crate::target::Ctx;
use ferry_core::{DataType, DbObject, ObjectKind, Schema, Table, UserType, UserTypeKind};

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

/// The statement that creates extension `name` on a PostgreSQL target when it is missing.
pub fn create_extension(name: &str) -> String {
    // Extension names like uuid-ossp always need quotes.
    format!(
        "CREATE EXTENSION IF NOT EXISTS {}",
        crate::quote::pg_ident(name)
    )
}

fn qualified_type(t: &UserType) -> String {
    match &t.schema {
        Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&t.name)),
        None => quote_ident(&t.name),
    }
}

/// What a PostgreSQL target needs before the tables of a PostgreSQL source: the schemas the
/// tables and types live in, the extensions, the enum types and the domains, and their drops
/// (for `--if-exists drop`). Every statement works for a role that is not a superuser but
/// owns (or may create in) the target database, as the RDS master user does; extensions that
/// RDS does not allow fail with PostgreSQL's own message naming the extension.
pub fn render_pre(schema: &Schema) -> (Vec<String>, Vec<String>) {
    let mut create = Vec::new();
    let mut drop = Vec::new();
    let mut schemas: Vec<&str> = schema
        .tables
        .iter()
        .filter_map(|t| t.schema.as_deref())
        .chain(schema.types.iter().filter_map(|t| t.schema.as_deref()))
        .filter(|s| *s != "public")
        .collect();
    schemas.sort_unstable();
    schemas.dedup();
    for s in schemas {
        create.push(format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(s)));
    }
    for ext in &schema.extensions {
        create.push(create_extension(ext));
    }
    for t in &schema.types {
        let name = qualified_type(t);
        match &t.kind {
            UserTypeKind::Enum(labels) => {
                let labels: Vec<String> = labels.iter().map(|l| quote_literal(l)).collect();
                create.push(format!(
                    "CREATE TYPE {name} AS ENUM ({})",
                    labels.join(", ")
                ));
                drop.push(format!("DROP TYPE IF EXISTS {name}"));
            }
            UserTypeKind::Domain {
                base_type,
                not_null,
                default,
                checks,
            } => {
                let mut sql = format!("CREATE DOMAIN {name} AS {base_type}");
                if let Some(d) = default {
                    sql.push_str(&format!(" DEFAULT {d}"));
                }
                if *not_null {
                    sql.push_str(" NOT NULL");
                }
                for c in checks {
                    if let Some(n) = &c.name {
                        sql.push_str(&format!(" CONSTRAINT {}", quote_ident(n)));
                    }
                    sql.push_str(&format!(" CHECK ({})", c.expression));
                }
                create.push(sql);
                drop.push(format!("DROP DOMAIN IF EXISTS {name}"));
            }
            UserTypeKind::Composite(attributes) => {
                let attributes: Vec<String> = attributes
                    .iter()
                    .map(|(a, ty)| format!("{} {ty}", quote_ident(a)))
                    .collect();
                create.push(format!("CREATE TYPE {name} AS ({})", attributes.join(", ")));
                drop.push(format!("DROP TYPE IF EXISTS {name}"));
            }
        }
    }
    // Types are dropped in reverse: a domain may be over an enum.
    drop.reverse();
    (create, drop)
}

/// The named objects [`render_pre`] creates: the schemas it may create (other than
/// `public`), the enum types and the domains.
pub fn pre_objects(schema: &Schema) -> Vec<DbObject> {
    let mut schemas: Vec<&str> = schema
        .tables
        .iter()
        .filter_map(|t| t.schema.as_deref())
        .chain(schema.types.iter().filter_map(|t| t.schema.as_deref()))
        .filter(|s| *s != "public")
        .collect();
    schemas.sort_unstable();
    schemas.dedup();
    let mut out: Vec<DbObject> = schemas
        .into_iter()
        .map(|s| DbObject::new(ObjectKind::Schema, None, s))
        .collect();
    out.extend(schema.types.iter().map(|t| {
        let kind = match t.kind {
            UserTypeKind::Enum(_) | UserTypeKind::Composite(_) => ObjectKind::Type,
            UserTypeKind::Domain { .. } => ObjectKind::Domain,
        };
        DbObject::new(kind, t.schema.as_deref(), &t.name)
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::{Check, Dialect};

    #[test]
    fn pre_statements_create_schemas_extensions_enums_and_domains() {
        let mut schema = Schema::default();
        let mut t = ferry_core::Table::new("users");
        t.schema = Some("app".into());
        schema.tables.push(t);
        schema.extensions = vec!["uuid-ossp".into(), "citext".into()];
        schema.types.push(UserType {
            schema: Some("public".into()),
            name: "mood".into(),
            kind: UserTypeKind::Enum(vec!["sad".into(), "it's ok".into()]),
        });
        schema.types.push(UserType {
            schema: Some("app".into()),
            name: "Email".into(),
            kind: UserTypeKind::Domain {
                base_type: "citext".into(),
                not_null: true,
                default: None,
                checks: vec![Check {
                    name: Some("email_at".into()),
                    expression: "VALUE ~~ '%@%'::citext".into(),
                    dialect: Dialect::Postgres,
                }],
            },
        });
        schema.types.push(UserType {
            schema: Some("app".into()),
            name: "Address".into(),
            kind: UserTypeKind::Composite(vec![
                ("street".into(), "text".into()),
                ("Zip".into(), "app.\"Email\"".into()),
            ]),
        });
        let (create, drop) = render_pre(&schema);
        assert_eq!(
            pre_objects(&schema)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec![
                "schema app",
                "type public.mood",
                "domain app.Email",
                "type app.Address"
            ]
        );
        assert_eq!(
            create,
            vec![
                "CREATE SCHEMA IF NOT EXISTS app",
                "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"",
                "CREATE EXTENSION IF NOT EXISTS \"citext\"",
                "CREATE TYPE public.mood AS ENUM ('sad', 'it''s ok')",
                "CREATE DOMAIN app.\"Email\" AS citext NOT NULL CONSTRAINT email_at CHECK (VALUE ~~ '%@%'::citext)",
                "CREATE TYPE app.\"Address\" AS (street text, \"Zip\" app.\"Email\")",
            ]
        );
        assert_eq!(
            drop,
            vec![
                "DROP TYPE IF EXISTS app.\"Address\"",
                "DROP DOMAIN IF EXISTS app.\"Email\"",
                "DROP TYPE IF EXISTS public.mood",
            ]
        );
    }
}
