//! The application's own login on PostgreSQL (`ferry grant`, `--app-user`): a role that may
//! connect to this one database, read and write every table of its non-system schemas, use
//! their sequences, and the same on tables the granting role creates later (default
//! privileges) — and nothing else: no CREATE on any schema or the database, no other role
//! memberships, no privileged attributes.
//!
//! Everything runs in one transaction, so a failure leaves the role as it was. Running it
//! again resets the role's rights to exactly this set. The password is sent as a SCRAM
//! verifier computed here, so the clear text reaches neither the server nor its statement log.

use crate::conn::{connect, map_error};
use ferry_core::app_user::{scrub, validate_app_user};
use ferry_core::{AppAuth, AppUserReport, AppUserSpec, ConnUrl, Error, ErrorKind, Result};
use ferry_schema::quote::{pg_ident, pg_literal};
use tokio_postgres::Transaction;

/// The four table rights an application needs.
pub const TABLE_RIGHTS: &str = "SELECT, INSERT, UPDATE, DELETE";
/// The sequence rights `nextval` (a serial or identity default) needs.
pub const SEQUENCE_RIGHTS: &str = "USAGE, SELECT";

/// Create (or reset) the app user on the database `url` names, connected as `url`'s user.
pub async fn grant_app_user(url: &ConnUrl, spec: &AppUserSpec) -> Result<AppUserReport> {
    let mut client = connect(url).await?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| map_error(e).context("starting the grant transaction"))?;
    let mut run = Run {
        tx: &tx,
        spec,
        report: AppUserReport::default(),
    };
    let out = run.all().await;
    let report = run.report;
    match out {
        Ok(()) => {
            tx.commit()
                .await
                .map_err(|e| map_error(e).context("committing the grants"))?;
            Ok(report)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(Error::new(e.kind(), scrub(&e.full_message(), &spec.auth))
                .context(format!("app user {}", spec.name)))
        }
    }
}

struct Run<'a> {
    tx: &'a Transaction<'a>,
    spec: &'a AppUserSpec,
    report: AppUserReport,
}

impl Run<'_> {
    /// Run one statement; `shown` is what the report records (the password as `***`).
    async fn exec(&mut self, sql: &str, shown: &str) -> Result<()> {
        self.report.statements.push(shown.to_string());
        self.tx.batch_execute(sql).await.map_err(|e| {
            let mut err = map_error(e);
            if err.message().contains("permission denied to create role")
                || err.message().contains("permission denied to alter role")
            {
                err = Error::new(
                    ErrorKind::Auth,
                    format!(
                        "{}: the login running the grant needs CREATEROLE (the RDS master user has it): ALTER ROLE <user> CREATEROLE",
                        err.message()
                    ),
                );
            }
            err.context(format!("`{shown}`"))
        })
    }

    async fn run(&mut self, sql: String) -> Result<()> {
        let shown = sql.clone();
        self.exec(&sql, &shown).await
    }

    async fn all(&mut self) -> Result<()> {
        let (admin, database): (String, String) = {
            let row = self
                .tx
                .query_one("SELECT current_user::text, current_database()::text", &[])
                .await
                .map_err(map_error)?;
            (row.get(0), row.get(1))
        };
        validate_app_user(&self.spec.name, Some(&admin))?;
        self.report.database.clone_from(&database);
        let user = pg_ident(&self.spec.name);

        self.login(&user).await?;
        self.memberships(&user).await?;
        let schemas = self.database_and_schemas(&database, &user).await?;
        self.check_rights(&admin, &schemas).await?;
        self.report.schemas = schemas;
        Ok(())
    }

    /// Create or reset the login, refusing a role with powers an app must not have.
    async fn login(&mut self, user: &str) -> Result<()> {
        // The login itself.
        let existing = self
            .tx
            .query_opt(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls \
                 FROM pg_roles WHERE rolname = $1",
                &[&self.spec.name],
            )
            .await
            .map_err(map_error)?;
        if let Some(row) = &existing {
            let flags = [
                "SUPERUSER",
                "CREATEDB",
                "CREATEROLE",
                "REPLICATION",
                "BYPASSRLS",
            ];
            let held: Vec<&str> = flags
                .iter()
                .enumerate()
                .filter(|(i, _)| row.get::<_, bool>(*i))
                .map(|(_, f)| *f)
                .collect();
            if !held.is_empty() {
                return Err(Error::config(format!(
                    "role `{}` exists with {}: ferry will not turn a privileged role into the app user; choose another --app-user",
                    self.spec.name,
                    held.join(", ")
                )));
            }
        }
        self.report.created = existing.is_none();
        let verb = if existing.is_some() {
            "ALTER"
        } else {
            "CREATE"
        };
        match &self.spec.auth {
            AppAuth::Password(pw) => {
                let verifier = postgres_protocol::password::scram_sha_256(pw.expose().as_bytes());
                let sql = format!(
                    "{verb} ROLE {user} LOGIN PASSWORD {}",
                    pg_literal(&verifier)
                );
                let shown = format!("{verb} ROLE {user} LOGIN PASSWORD '***'");
                self.exec(&sql, &shown).await?;
            }
            AppAuth::Iam => {
                self.run(format!("{verb} ROLE {user} LOGIN PASSWORD NULL"))
                    .await?;
            }
        }

        Ok(())
    }

    /// Memberships: none but rds_iam, and that only with IAM.
    async fn memberships(&mut self, user: &str) -> Result<()> {
        let member_of: Vec<String> = self
            .tx
            .query(
                "SELECT r.rolname::text FROM pg_auth_members m \
                 JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member \
                 WHERE u.rolname = $1 ORDER BY 1",
                &[&self.spec.name],
            )
            .await
            .map_err(map_error)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let iam = matches!(self.spec.auth, AppAuth::Iam);
        for role in &member_of {
            if !(iam && role == "rds_iam") {
                self.run(format!("REVOKE {} FROM {user}", pg_ident(role)))
                    .await?;
            }
        }
        if iam && !member_of.iter().any(|r| r == "rds_iam") {
            let has_rds_iam = self
                .tx
                .query_opt("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'", &[])
                .await
                .map_err(map_error)?
                .is_some();
            if !has_rds_iam {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("GRANT rds_iam TO {user}: this server has no role `rds_iam`, which exists only on RDS and Aurora PostgreSQL; IAM database authentication cannot be given here (leave out --app-iam for a password)"),
                ));
            }
            self.run(format!("GRANT rds_iam TO {user}")).await?;
        }

        Ok(())
    }

    /// CONNECT on the database; on every non-system schema USAGE, the four table rights,
    /// sequence use, and the same by default on what the granting role creates later.
    /// Returns the schemas.
    async fn database_and_schemas(&mut self, database: &str, user: &str) -> Result<Vec<String>> {
        let db = pg_ident(database);
        self.run(format!("REVOKE ALL ON DATABASE {db} FROM {user}"))
            .await?;
        self.run(format!("GRANT CONNECT ON DATABASE {db} TO {user}"))
            .await?;

        // Every non-system schema: USAGE, the four table rights, sequence use, and the same
        // by default on what the granting role creates there later.
        let schemas: Vec<String> = self
            .tx
            .query(
                "SELECT nspname::text FROM pg_namespace \
                 WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
                &[],
            )
            .await
            .map_err(map_error)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for schema in &schemas {
            let s = pg_ident(schema);
            for sql in [
                format!("REVOKE ALL ON SCHEMA {s} FROM {user}"),
                format!("GRANT USAGE ON SCHEMA {s} TO {user}"),
                format!("REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {user}"),
                format!("GRANT {TABLE_RIGHTS} ON ALL TABLES IN SCHEMA {s} TO {user}"),
                format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {user}"),
                format!("GRANT {SEQUENCE_RIGHTS} ON ALL SEQUENCES IN SCHEMA {s} TO {user}"),
                format!("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {s} FROM {user}"),
                format!("ALTER DEFAULT PRIVILEGES IN SCHEMA {s} REVOKE ALL ON TABLES FROM {user}"),
                format!(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT {TABLE_RIGHTS} ON TABLES TO {user}"
                ),
                format!(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA {s} REVOKE ALL ON SEQUENCES FROM {user}"
                ),
                format!(
                    "ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT {SEQUENCE_RIGHTS} ON SEQUENCES TO {user}"
                ),
            ] {
                self.run(sql).await?;
            }
        }
        // ferry's own bookkeeping is not the app's.
        let progress: Vec<String> = self
            .tx
            .query(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relname = $1 AND n.nspname = ANY($2)",
                &[&ferry_core::PROGRESS_TABLE, &schemas],
            )
            .await
            .map_err(map_error)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for table in progress {
            self.run(format!("REVOKE ALL ON TABLE {table} FROM {user}"))
                .await?;
        }

        Ok(schemas)
    }

    /// Every table really carries the four rights, and what PUBLIC gives is said.
    async fn check_rights(&mut self, admin: &str, schemas: &[String]) -> Result<()> {
        // A GRANT on a table the granting role neither owns nor may pass on is only a
        // warning in PostgreSQL: check every table really carries the four rights.
        let missing: Vec<String> = self
            .tx
            .query(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($2) AND c.relname <> $3 \
                   AND NOT has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE') \
                 ORDER BY 1",
                &[&self.spec.name, &schemas, &ferry_core::PROGRESS_TABLE],
            )
            .await
            .map_err(map_error)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !missing.is_empty() {
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "`{admin}` may not pass on rights to {} table(s) ({}): run ferry grant as the tables' owner, or have it granted with GRANT {TABLE_RIGHTS} ON ALL TABLES IN SCHEMA <schema> TO {admin} WITH GRANT OPTION",
                    missing.len(),
                    missing.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let tables: i64 = self
            .tx
            .query_one(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND c.relname <> $2",
                &[&schemas, &ferry_core::PROGRESS_TABLE],
            )
            .await
            .map_err(map_error)?
            .get(0);
        self.report.tables = usize::try_from(tables).unwrap_or(0);

        // What the app user gets through PUBLIC is not ferry's to take away from everyone,
        // but it is said: CREATE on a schema (PostgreSQL 14 and older give it on `public`).
        let public_create: Vec<String> = self
            .tx
            .query(
                "SELECT nspname::text FROM pg_namespace WHERE nspname = ANY($2) \
                 AND has_schema_privilege($1, oid, 'CREATE') ORDER BY 1",
                &[&self.spec.name, &schemas],
            )
            .await
            .map_err(map_error)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for schema in public_create {
            let s = pg_ident(&schema);
            self.report.warnings.push(format!(
                "every role (PUBLIC) may create tables in schema {schema}, so the app user can too (PostgreSQL 14 and older give this by default); take it away with REVOKE CREATE ON SCHEMA {s} FROM PUBLIC"
            ));
        }
        Ok(())
    }
}
