//! A missing privilege (MySQL errors 1044, 1142, 1143, 1227, 1370, 1410, 1419 ...) as an
//! error that names the privilege, the object, and the GRANT (or server setting) that
//! gives it.
//!
//! MySQL names the user in most of these messages (`'app'@'%'`); where it does not (1227),
//! the statement says `<user>`.

use ferry_core::Error;

/// The error for MySQL server error `code` with `message`, when it is a missing privilege
/// or a server setting that refuses what ferry asked for; `None` for other errors.
/// `database` is the database the connection uses, for messages that do not name one.
pub fn permission_error(code: u16, message: &str, database: Option<&str>) -> Option<Error> {
    let server = format!("MySQL error {code}: {message}");
    let (missing, fix) = missing_grant(code, message, database)?;
    Some(Error::permission(server, missing, fix))
}

/// `err` with its GRANT addressed to the account the session runs as (`'app'@'%'`, what
/// `CURRENT_USER()` says) rather than to the user as the server's message names it
/// (`'app'@'127.0.0.1'`, the host it connected from), asked on `conn`, which the refusal
/// left usable. Other errors, and a question that fails, leave it as it is.
pub async fn naming_account(conn: &mut mysql_async::Conn, err: Error) -> Error {
    use mysql_async::prelude::Queryable;
    let Some(named) = err
        .fix()
        .and_then(|f| f.split_once(" TO "))
        .and_then(|(_, rest)| rest.split(';').next())
        .map(|u| u.trim().to_string())
        .filter(|u| u.starts_with('\''))
    else {
        return err;
    };
    let account: Option<String> = conn
        .query_first(
            "SELECT CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', \
                    SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
        )
        .await
        .ok()
        .flatten();
    match account {
        Some(account) => err.renaming_grantee(&named, &account),
        None => err,
    }
}

fn missing_grant(code: u16, message: &str, database: Option<&str>) -> Option<(String, String)> {
    let db_of = |qualified: Option<String>| {
        qualified
            .or_else(|| database.map(ident))
            .unwrap_or_else(|| "<database>".to_string())
    };
    Some(match code {
        // ER_TABLEACCESS_DENIED_ERROR: `CREATE command denied to user 'u'@'h' for table
        // `db`.`t`` (MariaDB) or `... for table 't'` (MySQL 8).
        1142 => {
            let (privilege, rest) = message.split_once(" command denied to user ")?;
            let (user, table) = rest.split_once(" for table ")?;
            let db = db_of(qualified_db(table));
            (
                format!("{privilege} on database {db} (table {table})"),
                format!("GRANT {privilege} ON {db}.* TO {user};"),
            )
        }
        // ER_COLUMNACCESS_DENIED_ERROR: `SELECT command denied to user 'u'@'h' for column
        // 'c' in table 't'`.
        1143 => {
            let (privilege, rest) = message.split_once(" command denied to user ")?;
            let (user, place) = rest.split_once(" for column ")?;
            let table = place.split_once(" in table ").map_or(place, |(_, t)| t);
            let db = db_of(qualified_db(table));
            (
                format!("{privilege} on every column of table {table}"),
                format!("GRANT {privilege} ON {db}.* TO {user};"),
            )
        }
        // ER_DBACCESS_DENIED_ERROR: `Access denied for user 'u'@'h' to database 'db'`.
        1044 => {
            let rest = message.strip_prefix("Access denied for user ")?;
            let (user, db) = rest.split_once(" to database ")?;
            let db = ident(db.trim_matches(|c| c == '\'' || c == '`'));
            (
                format!(
                    "privileges on database {db} (a source needs SELECT; a target SELECT, \
                     INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX and REFERENCES)"
                ),
                format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, \
                     REFERENCES ON {db}.* TO {user};"
                ),
            )
        }
        // ER_SPECIFIC_ACCESS_DENIED_ERROR: `Access denied; you need (at least one of) the
        // REPLICATION SLAVE privilege(s) for this operation`.
        1227 => return global_denied(message),
        // ER_PROCACCESS_DENIED_ERROR: `EXECUTE command denied to user 'u'@'h' for routine
        // 'db.f'`.
        1370 => {
            let (privilege, rest) = message.split_once(" command denied to user ")?;
            let (user, routine) = rest.split_once(" for routine ")?;
            let routine = routine.trim_matches(|c| c == '\'' || c == '`');
            let db = match routine.split_once('.') {
                Some((db, _)) => ident(db),
                None => db_of(None),
            };
            (
                format!("{privilege} on routine {routine}"),
                format!("GRANT {privilege} ON {db}.* TO {user};"),
            )
        }
        // ER_CANT_CREATE_USER_WITH_GRANT / ER_CANT_CREATE_USER: creating a login.
        1410 | 1211 => (
            "CREATE USER (and GRANT OPTION to give it rights)".to_string(),
            "GRANT CREATE USER ON *.* TO <user> WITH GRANT OPTION;".to_string(),
        ),
        // ER_BINLOG_CREATE_ROUTINE_NEED_SUPER: triggers and functions with binary logging on.
        1419 => (
            "SUPER, or log_bin_trust_function_creators on (to create triggers and functions \
             while binary logging is on)"
                .to_string(),
            "SET GLOBAL log_bin_trust_function_creators = 1;  -- on RDS/Aurora: set it in the \
             DB parameter group"
                .to_string(),
        ),
        // ER_NOT_ALLOWED_COMMAND (MariaDB, MySQL 5.7) and ER_CLIENT_LOCAL_FILES_DISABLED
        // (MySQL 8): the server refuses LOAD DATA LOCAL INFILE.
        1148 | 3948 => (
            "LOAD DATA LOCAL INFILE (the server's local_infile is off)".to_string(),
            "SET GLOBAL local_infile = 1;  -- on RDS/Aurora: local_infile = 1 in the DB \
             parameter group; or load with --mysql-load insert"
                .to_string(),
        ),
        _ => return None,
    })
}

/// ER_SPECIFIC_ACCESS_DENIED_ERROR: `Access denied; you need (at least one of) the
/// REPLICATION SLAVE privilege(s) for this operation`.
fn global_denied(message: &str) -> Option<(String, String)> {
    let privileges = message
        .split_once(" the ")
        .and_then(|(_, rest)| rest.split_once(" privilege"))
        .map(|(p, _)| p.trim().to_string())?;
    let first = privileges.split(',').next().unwrap_or(&privileges).trim();
    let grant = if first.starts_with("REPLICATION") || first == "BINLOG MONITOR" {
        // Reading the binlog needs both (MariaDB names the second BINLOG MONITOR).
        "REPLICATION SLAVE, REPLICATION CLIENT".to_string()
    } else {
        first.to_string()
    };
    Some((
        format!("the global {privileges} privilege"),
        format!(
            "GRANT {grant} ON *.* TO <user>;  -- on RDS/Aurora the master user has \
             what RDS allows; SUPER is never available there"
        ),
    ))
}

/// `` `db` `` from a table as a message quotes it: `` `db`.`t` `` or `'db.t'`.
fn qualified_db(table: &str) -> Option<String> {
    if let Some((db, _)) = table.split_once("`.`") {
        return Some(format!("{db}`"));
    }
    let bare = table.trim_matches('\'');
    bare.split_once('.').map(|(db, _)| ident(db))
}

fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::ErrorKind;

    fn fix(code: u16, message: &str) -> String {
        let err = permission_error(code, message, Some("shop")).expect("a permission error");
        assert_eq!(err.kind(), ErrorKind::Permission);
        err.fix().expect("a fix").to_string()
    }

    #[test]
    fn each_refusal_names_its_grant() {
        assert_eq!(
            fix(
                1142,
                "CREATE command denied to user 'app'@'localhost' for table `shop`.`orders`"
            ),
            "GRANT CREATE ON `shop`.* TO 'app'@'localhost';"
        );
        // MySQL 8 does not name the database: the connection's is used.
        assert_eq!(
            fix(
                1142,
                "INSERT command denied to user 'app'@'%' for table 'orders'"
            ),
            "GRANT INSERT ON `shop`.* TO 'app'@'%';"
        );
        assert_eq!(
            fix(
                1143,
                "SELECT command denied to user 'app'@'%' for column 'pw' in table 'users'"
            ),
            "GRANT SELECT ON `shop`.* TO 'app'@'%';"
        );
        assert!(
            fix(1044, "Access denied for user 'app'@'%' to database 'other'")
                .starts_with("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE")
        );
        assert!(
            fix(1044, "Access denied for user 'app'@'%' to database 'other'")
                .ends_with("ON `other`.* TO 'app'@'%';")
        );
        assert!(fix(
            1227,
            "Access denied; you need (at least one of) the REPLICATION SLAVE privilege(s) for this operation"
        )
        .starts_with("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO <user>;"));
        assert!(fix(
            1227,
            "Access denied; you need (at least one of) the RELOAD privilege(s) for this operation"
        )
        .starts_with("GRANT RELOAD ON *.* TO <user>;"));
        assert_eq!(
            fix(
                1370,
                "EXECUTE command denied to user 'app'@'%' for routine 'shop.total'"
            ),
            "GRANT EXECUTE ON `shop`.* TO 'app'@'%';"
        );
        assert!(fix(
            1148,
            "The used command is not allowed with this MariaDB version"
        )
        .starts_with("SET GLOBAL local_infile = 1;"));
        assert!(permission_error(1062, "Duplicate entry", None).is_none());
    }
}
