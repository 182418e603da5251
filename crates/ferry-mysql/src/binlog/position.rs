//! Binlog positions: `file:offset` plus the GTID set at that point, read while the copy's
//! snapshot is pinned, and the server settings replication needs, checked up front.

use crate::conn::map_error;
use ferry_core::{Error, ErrorKind, Position, Result};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// A point in the binlog: the file, the offset just past the last event read, and the GTID
/// set executed up to there where the server has GTIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogPosition {
    /// `mysql-bin.000003`.
    pub file: String,
    /// Byte offset in `file`.
    pub offset: u64,
    /// `@@gtid_binlog_pos` (MariaDB) or `@@gtid_executed` (MySQL) at this point, if known.
    pub gtid: Option<String>,
}

impl BinlogPosition {
    /// The stored form: `mysql-bin.000003:4711` or `mysql-bin.000003:4711 gtid=0-1-55`.
    pub fn to_position(&self) -> Position {
        Position(match &self.gtid {
            Some(g) if !g.is_empty() => format!("{}:{} gtid={g}", self.file, self.offset),
            _ => format!("{}:{}", self.file, self.offset),
        })
    }

    /// Read back what [`BinlogPosition::to_position`] wrote.
    pub fn parse(position: &Position) -> Result<BinlogPosition> {
        let bad = || {
            Error::config(format!(
                "`{position}` is not a MySQL binlog position (FILE:OFFSET [gtid=SET])"
            ))
        };
        let (head, gtid) = match position.0.split_once(" gtid=") {
            Some((h, g)) => (h, Some(g.to_string())),
            None => (position.0.as_str(), None),
        };
        let (file, offset) = head.rsplit_once(':').ok_or_else(bad)?;
        if file.is_empty() {
            return Err(bad());
        }
        Ok(BinlogPosition {
            file: file.to_string(),
            offset: offset.parse().map_err(|_| bad())?,
            gtid,
        })
    }

    /// Whether `self` is at or past `other` (same or later file, then offset). Binlog file
    /// names carry a zero-padded sequence number, so they order as text.
    pub fn reached(&self, other: &BinlogPosition) -> bool {
        (self.file.as_str(), self.offset) >= (other.file.as_str(), other.offset)
    }
}

/// The server's current binlog position (`SHOW MASTER STATUS` and the GTID set), or `None`
/// when binary logging is off.
pub async fn current(conn: &mut Conn) -> Result<Option<BinlogPosition>> {
    let ctx =
        "reading the binlog position (needs the REPLICATION CLIENT or BINLOG MONITOR privilege)";
    let row: Option<mysql_async::Row> = match conn.query_first("SHOW MASTER STATUS").await {
        Ok(r) => r,
        // MySQL 8.4 renamed it.
        Err(_) => conn
            .query_first("SHOW BINARY LOG STATUS")
            .await
            .map_err(|e| map_error(e, ctx))?,
    };
    let Some(row) = row else {
        return Ok(None);
    };
    let file: Option<String> = row.get(0);
    let offset: Option<u64> = row.get(1);
    let (Some(file), Some(offset)) = (file, offset) else {
        return Ok(None);
    };
    Ok(Some(BinlogPosition {
        file,
        offset,
        gtid: gtid_set(conn).await?,
    }))
}

/// The executed GTID set: MariaDB's `@@gtid_binlog_pos`, MySQL's `@@gtid_executed`.
async fn gtid_set(conn: &mut Conn) -> Result<Option<String>> {
    if let Ok(Some(g)) = conn
        .query_first::<Option<String>, _>("SELECT @@GLOBAL.gtid_binlog_pos")
        .await
    {
        return Ok(g.filter(|g| !g.is_empty()));
    }
    match conn
        .query_first::<Option<String>, _>("SELECT @@GLOBAL.gtid_executed")
        .await
    {
        Ok(Some(g)) => Ok(g.map(|g| g.replace('\n', "")).filter(|g| !g.is_empty())),
        _ => Ok(None),
    }
}

/// Every server setting binlog replication needs, each missing one named with its fix
/// (self-managed and RDS), before anything is copied or streamed.
pub async fn check_preconditions(conn: &mut Conn) -> Result<()> {
    let mut problems: Vec<String> = Vec::new();
    let get = |rows: &[(String, String)], name: &str| {
        rows.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let rows: Vec<(String, String)> = conn
        .query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN \
             ('log_bin','binlog_format','binlog_row_image','binlog_row_value_options','expire_logs_days','binlog_expire_logs_seconds','log_bin_compress','binlog_transaction_compression')",
        )
        .await
        .map_err(|e| map_error(e, "reading the binlog settings"))?;
    if !get(&rows, "log_bin").is_some_and(|v| v.eq_ignore_ascii_case("ON") || v == "1") {
        problems.push(
            "binary logging is off: start the server with --log-bin (on RDS/Aurora: enable automated backups, which turns the binlog on, and for Aurora set binlog_format in the cluster parameter group)".into(),
        );
    }
    if !get(&rows, "binlog_format").is_some_and(|v| v.eq_ignore_ascii_case("ROW")) {
        problems.push(
            "binlog_format is not ROW: set binlog_format=ROW (server option, or the parameter group on RDS/Aurora)".into(),
        );
    }
    if get(&rows, "binlog_row_image").is_some_and(|v| !v.eq_ignore_ascii_case("FULL")) {
        problems.push(
            "binlog_row_image is not FULL: set binlog_row_image=FULL (server option, or the parameter group on RDS/Aurora)".into(),
        );
    }
    if get(&rows, "binlog_row_value_options").is_some_and(|v| !v.is_empty()) {
        problems.push(
            "binlog_row_value_options logs partial JSON updates: set it to '' (empty)".into(),
        );
    }
    // Compressed row events are not read: MariaDB's log_bin_compress, MySQL 8's
    // binlog_transaction_compression.
    for name in ["log_bin_compress", "binlog_transaction_compression"] {
        if get(&rows, name).is_some_and(|v| v.eq_ignore_ascii_case("ON") || v == "1") {
            problems.push(format!(
                "{name} is ON: ferry does not read compressed binlog events; SET GLOBAL {name} = OFF (server option, or the parameter group on RDS/Aurora)"
            ));
        }
    }
    let privileges: Vec<String> = conn
        .query("SHOW GRANTS")
        .await
        .map_err(|e| map_error(e, "reading the grants of the source user"))?;
    let granted = |p: &str| {
        privileges.iter().any(|g| {
            let g = g.to_ascii_uppercase();
            g.contains("ALL PRIVILEGES ON *.*") || g.contains(p)
        })
    };
    if !granted("REPLICATION SLAVE") && !granted("REPLICATION REPLICA") {
        problems.push(
            "the source user lacks REPLICATION SLAVE: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO <user>".into(),
        );
    }
    if !granted("REPLICATION CLIENT") && !granted("BINLOG MONITOR") {
        problems.push(
            "the source user lacks REPLICATION CLIENT: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO <user>".into(),
        );
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Config,
        format!(
            "the source cannot be replicated from:\n  - {}",
            problems.join("\n  - ")
        ),
    ))
}

/// Whether the binlog file `file` still exists on the server (a purged position cannot be
/// resumed: the user has to copy again).
pub async fn still_available(conn: &mut Conn, file: &str) -> Result<bool> {
    let logs: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(|e| map_error(e, "listing the source's binary logs"))?;
    Ok(logs
        .iter()
        .any(|r| r.get::<String, _>(0).as_deref() == Some(file)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_order() {
        let p = BinlogPosition {
            file: "mysql-bin.000003".into(),
            offset: 4711,
            gtid: Some("0-11-42".into()),
        };
        assert_eq!(p.to_position().0, "mysql-bin.000003:4711 gtid=0-11-42");
        assert_eq!(BinlogPosition::parse(&p.to_position()).unwrap(), p);
        let q = BinlogPosition::parse(&Position("mysql-bin.000004:4".into())).unwrap();
        assert!(q.reached(&p) && !p.reached(&q) && p.reached(&p));
        assert!(BinlogPosition::parse(&Position("nonsense".into())).is_err());
    }
}
