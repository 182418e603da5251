//! URL to driver: the only place the engine names a concrete dialect.

use ferry_core::url::UrlKind;
use ferry_core::{ConnUrl, Dialect, Error, Result, Sink, Source};
use std::sync::Arc;

/// Open the database a source URL names.
pub async fn open_source(url: &ConnUrl) -> Result<Arc<dyn Source>> {
    match url.kind {
        UrlKind::Database(Dialect::Sqlite) => {
            let path = url
                .path
                .clone()
                .ok_or_else(|| Error::config("sqlite URL has no path"))?;
            Ok(Arc::new(ferry_sqlite::SqliteSource::open(&path)?))
        }
        UrlKind::Database(Dialect::Mysql) => Ok(Arc::new(
            ferry_mysql::MySqlSource::open(url, ferry_mysql::DEFAULT_READERS).await?,
        )),
        UrlKind::Database(Dialect::Postgres) => Ok(Arc::new(
            ferry_postgres::PgSource::open(url.clone(), None).await?,
        )),
        UrlKind::Secret => Err(unresolved(url)),
    }
}

/// Open the database a target URL names.
pub async fn open_sink(url: &ConnUrl) -> Result<Arc<dyn Sink>> {
    match url.kind {
        UrlKind::Database(Dialect::Postgres) => {
            Ok(Arc::new(ferry_postgres::PgSink::open(url.clone()).await?))
        }
        UrlKind::Database(Dialect::Mysql) => {
            // `?mysql-load=insert|infile|auto` on the target URL forces a load method.
            let method = match url.param("mysql-load") {
                Some(m) => ferry_mysql::LoadMethod::parse(m).ok_or_else(|| {
                    Error::config(format!("mysql-load={m}: expected auto, infile or insert"))
                })?,
                None => ferry_mysql::LoadMethod::Auto,
            };
            Ok(Arc::new(ferry_mysql::MySqlSink::open(url, method).await?))
        }
        UrlKind::Database(d) => Err(Error::config(format!(
            "{d} is not supported as a target in this build yet"
        ))),
        UrlKind::Secret => Err(unresolved(url)),
    }
}

/// The warnings for unencrypted connections to hosts outside loopback, one line per host.
pub fn connection_warnings(source: &dyn Source, sink: &dyn Sink) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in [source.connection_warning(), sink.connection_warning()]
        .into_iter()
        .flatten()
    {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

fn unresolved(url: &ConnUrl) -> Error {
    Error::config(format!(
        "{url} must be resolved through Secrets Manager before it is opened"
    ))
}

/// Whether rows may travel as raw binary COPY chunks, undecoded: only PostgreSQL to
/// PostgreSQL, where the translator keeps every column's source type verbatim.
pub fn raw_pass_through(source: Dialect, target: Dialect) -> bool {
    source == Dialect::Postgres && target == Dialect::Postgres
}

/// Whether values may keep what only MySQL stores (zero and partial dates): MySQL to MySQL.
pub fn mysql_to_mysql(source: Dialect, target: Dialect) -> bool {
    source == Dialect::Mysql && target == Dialect::Mysql
}
