//! The application's own login on MySQL / MariaDB (`ferry grant`, `--app-user`):
//! `'NAME'@'%'` (any host: on RDS the network is limited by security groups, and the app's
//! address is not known here) with SELECT, INSERT, UPDATE, DELETE on the one database —
//! a database-level grant, so tables created there later are covered too, MySQL's
//! counterpart of PostgreSQL's default privileges — and nothing else: no DDL, no other
//! database, no GRANT OPTION. Running it again resets the user's rights to exactly this set.

use crate::conn::{map_error, Target};
use ferry_core::app_user::{password_literal, scrub, validate_app_user};
use ferry_core::{AppAuth, AppUserReport, AppUserSpec, ConnUrl, Error, ErrorKind, Result};
use ferry_schema::quote::mysql_ident;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// The host part of the app user: any host (see the module documentation).
pub const APP_USER_HOST: &str = "%";

/// The four table rights an application needs.
pub const TABLE_RIGHTS: &str = "SELECT, INSERT, UPDATE, DELETE";

/// Create (or reset) the app user for the database `url` names, connected as `url`'s user.
pub async fn grant_app_user(url: &ConnUrl, spec: &AppUserSpec) -> Result<AppUserReport> {
    let target = Target::from_url(url)?;
    let mut conn = target.connect().await?;
    let mut report = AppUserReport {
        database: target.database.clone(),
        ..AppUserReport::default()
    };
    let out = run(&mut conn, spec, &mut report).await;
    let _ = conn.disconnect().await;
    out.map_err(|e| {
        Error::new(e.kind(), scrub(&e.full_message(), &spec.auth))
            .context(format!("app user {}", spec.name))
    })?;
    Ok(report)
}

async fn exec(conn: &mut Conn, report: &mut AppUserReport, sql: &str, shown: &str) -> Result<()> {
    report.statements.push(shown.to_string());
    conn.query_drop(sql)
        .await
        .map_err(|e| explain(map_error(e, &format!("`{shown}`"))))
}

/// The server's refusal of the AWS authentication plugin, said plainly.
fn explain(e: Error) -> Error {
    let text = e.full_message();
    if text.contains("AWSAuthenticationPlugin") {
        return Error::new(
            ErrorKind::Config,
            format!("{text}: the AWS authentication plugin exists only on RDS and Aurora MySQL; this server cannot give the app user IAM login (leave out --app-iam for a password)"),
        );
    }
    e
}

async fn run(conn: &mut Conn, spec: &AppUserSpec, report: &mut AppUserReport) -> Result<()> {
    let current: Option<String> = conn
        .query_first("SELECT CURRENT_USER()")
        .await
        .map_err(|e| map_error(e, "reading the current user"))?;
    let admin = current
        .as_deref()
        .and_then(|c| c.rsplit_once('@'))
        .map(|(u, _)| u.to_string());
    validate_app_user(&spec.name, admin.as_deref())?;
    let user = format!("'{}'@'{APP_USER_HOST}'", spec.name);
    let db = mysql_ident(&report.database);

    let (auth_sql, auth_shown) = match &spec.auth {
        AppAuth::Password(pw) => (
            format!("IDENTIFIED BY {}", password_literal(pw)?),
            "IDENTIFIED BY '***'".to_string(),
        ),
        AppAuth::Iam => {
            let s = "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL".to_string();
            (s.clone(), s)
        }
    };
    // Whether the user is there (None: mysql.user is not readable to this login).
    let existed: Option<bool> = conn
        .exec_first::<i64, _, _>(
            "SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?",
            (&spec.name, APP_USER_HOST),
        )
        .await
        .ok()
        .flatten()
        .map(|n| n > 0);
    exec(
        conn,
        report,
        &format!("CREATE USER IF NOT EXISTS {user} {auth_sql}"),
        &format!("CREATE USER IF NOT EXISTS {user} {auth_shown}"),
    )
    .await?;
    // A user that was already there gets a note instead of being created.
    report.created = existed.map_or(conn.get_warnings() == 0, |e| !e);
    if existed != Some(false) {
        exec(
            conn,
            report,
            &format!("ALTER USER {user} {auth_sql}"),
            &format!("ALTER USER {user} {auth_shown}"),
        )
        .await?;
    }
    let revoke = format!("REVOKE ALL PRIVILEGES, GRANT OPTION FROM {user}");
    exec(conn, report, &revoke, &revoke).await?;
    let grant = format!("GRANT {TABLE_RIGHTS} ON {db}.* TO {user}");
    exec(conn, report, &grant, &grant).await?;

    let tables: Option<i64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = ? AND table_type = 'BASE TABLE' AND table_name <> ?",
            (&report.database, ferry_core::PROGRESS_TABLE),
        )
        .await
        .map_err(|e| map_error(e, "counting the tables"))?;
    report.tables = usize::try_from(tables.unwrap_or(0)).unwrap_or(0);
    if tables.is_some_and(|n| n > 0) {
        let progress: Option<i64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                (&report.database, ferry_core::PROGRESS_TABLE),
            )
            .await
            .map_err(|e| map_error(e, "looking for the progress table"))?;
        if progress.is_some_and(|n| n > 0) {
            report.warnings.push(format!(
                "the grant is on the whole database, so it includes ferry's progress table {}; drop it once the migration is done",
                ferry_core::PROGRESS_TABLE
            ));
        }
    }
    Ok(())
}
