//! What a run needs of a MySQL/MariaDB target that the connected user lacks (`--check`),
//! read from `information_schema`'s privilege views (global and database grants, the
//! current user's only); nothing is created or locked.
//!
//! Privileges that come only from a role are not seen there, so a user whose rights are all
//! in a role is told what to grant directly; the run itself may still go ahead.

use crate::conn::{map_error, Target};
use ferry_core::{Error, Result, TargetNeeds};
use mysql_async::prelude::Queryable;
use std::collections::BTreeSet;

/// The current user's global and database-level privileges that apply to `database`
/// (database grants may name it through `%` and `_` patterns), and the user as MySQL
/// quotes it in a GRANT (`'app'@'%'`).
const PRIVILEGES_SQL: &str = include_str!("sql/current_privileges.sql");

/// Each privilege `needs` calls for that the current user lacks on the target database,
/// as one error naming all of them and the GRANT that gives them; and with
/// `infile_required`, the server's `local_infile` when it is off.
pub async fn missing_privileges(
    target: &Target,
    needs: &TargetNeeds,
    infile_required: bool,
) -> Result<Vec<Error>> {
    let mut conn = target.connect().await?;
    let fail = |e| map_error(e, "reading the target's privileges");
    let rows: Vec<(String, String)> = conn
        .exec(PRIVILEGES_SQL, (target.database.as_str(),))
        .await
        .map_err(fail)?;
    let user: Option<String> = conn
        .query_first(
            "SELECT CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', \
                    SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
        )
        .await
        .map_err(fail)?;
    let infile: Option<i64> = conn
        .query_first("SELECT @@GLOBAL.local_infile")
        .await
        .map_err(fail)?;
    drop(conn.disconnect().await);
    let has: BTreeSet<String> = rows
        .into_iter()
        .map(|(_, privilege)| privilege.to_ascii_uppercase())
        .collect();
    let user = user.unwrap_or_else(|| "<user>".to_string());
    let all = has.contains("ALL PRIVILEGES") || has.contains("ALL");
    let mut wanted: Vec<&str> = Vec::new();
    let creates = !needs.create.is_empty();
    if creates || !needs.write_existing.is_empty() || !needs.read.is_empty() {
        wanted.push("SELECT");
    }
    if creates || !needs.write_existing.is_empty() {
        // Rows, and ferry's progress table (written, updated, dropped at the end).
        wanted.extend(["INSERT", "UPDATE", "CREATE", "DROP"]);
    }
    if creates {
        // Keys and indexes are added after the load.
        wanted.extend(["ALTER", "INDEX"]);
    }
    if creates && needs.foreign_keys {
        wanted.push("REFERENCES");
    }
    if !needs.write_existing.is_empty() {
        wanted.push("DELETE");
    }
    if !needs.drop_existing.is_empty() && !wanted.contains(&"DROP") {
        wanted.push("DROP");
    }
    let missing: Vec<&str> = if all {
        Vec::new()
    } else {
        wanted.into_iter().filter(|p| !has.contains(*p)).collect()
    };
    let db = format!("`{}`", target.database.replace('`', "``"));
    let mut out = Vec::new();
    if !missing.is_empty() {
        let list = missing.join(", ");
        out.push(Error::permission(
            format!("no {list} on database {db}"),
            format!("{list} on database {db}"),
            format!("GRANT {list} ON {db}.* TO {user};"),
        ));
    }
    if infile_required && infile.unwrap_or(0) != 1 {
        out.push(Error::permission(
            "the server has local_infile=0",
            "LOAD DATA LOCAL INFILE (--mysql-load infile)",
            "SET GLOBAL local_infile = 1;  -- on RDS/Aurora: local_infile = 1 in the DB \
             parameter group; or load with --mysql-load insert",
        ));
    }
    Ok(out)
}
