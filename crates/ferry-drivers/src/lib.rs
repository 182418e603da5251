//! The one place that picks a driver: a URL to the [`Source`] or [`Sink`] of its dialect,
//! and a target dialect to its planning rules. The engine never names a driver; the binary
//! hands it [`Drivers`] as its [`Connector`].

use async_trait::async_trait;
use ferry_core::url::UrlKind;
use ferry_core::{
    ConnUrl, Connector, Dialect, Error, NoPlanning, Result, Sink, Source, TargetPlanner,
};
use std::sync::Arc;

pub use ferry_mysql::LoadMethod;

/// Every driver of this build, with the choices made for this run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Drivers {
    /// How rows go into a MySQL target (`--mysql-load`); `None` reads `?mysql-load=` on
    /// the target URL, else [`LoadMethod::Auto`].
    pub mysql_load: Option<LoadMethod>,
}

impl Drivers {
    /// The drivers with `--mysql-load` set to `method`.
    pub fn with_mysql_load(method: Option<LoadMethod>) -> Self {
        Drivers { mysql_load: method }
    }

    fn mysql_load_for(&self, url: &ConnUrl) -> Result<LoadMethod> {
        if let Some(m) = self.mysql_load {
            return Ok(m);
        }
        match url.param("mysql-load") {
            Some(m) => LoadMethod::parse(m).ok_or_else(|| {
                Error::config(format!("mysql-load={m}: expected auto, infile or insert"))
            }),
            None => Ok(LoadMethod::Auto),
        }
    }
}

#[async_trait]
impl Connector for Drivers {
    async fn open_source(&self, url: &ConnUrl) -> Result<Arc<dyn Source>> {
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

    async fn open_sink(&self, url: &ConnUrl) -> Result<Arc<dyn Sink>> {
        match url.kind {
            UrlKind::Database(Dialect::Postgres) => {
                Ok(Arc::new(ferry_postgres::PgSink::open(url.clone()).await?))
            }
            UrlKind::Database(Dialect::Mysql) => {
                let method = self.mysql_load_for(url)?;
                Ok(Arc::new(ferry_mysql::MySqlSink::open(url, method).await?))
            }
            UrlKind::Database(d) => Err(Error::config(format!(
                "{d} is not supported as a target in this build yet"
            ))),
            UrlKind::Secret => Err(unresolved(url)),
        }
    }

    fn planner(&self, target: Dialect) -> Arc<dyn TargetPlanner> {
        match target {
            Dialect::Mysql => Arc::new(ferry_mysql::keys::MySqlPlanner),
            Dialect::Postgres | Dialect::Sqlite => Arc::new(NoPlanning),
        }
    }
}

/// Create (or reset to exactly its rights) the application's own login on the database
/// `url` names, connected as `url`'s user: see `ferry_postgres::app_user` and
/// `ferry_mysql::app_user` for what each dialect grants.
pub async fn grant_app_user(
    url: &ConnUrl,
    spec: &ferry_core::AppUserSpec,
) -> Result<ferry_core::AppUserReport> {
    match url.kind {
        UrlKind::Database(Dialect::Postgres) => {
            ferry_postgres::app_user::grant_app_user(url, spec).await
        }
        UrlKind::Database(Dialect::Mysql) => ferry_mysql::app_user::grant_app_user(url, spec).await,
        UrlKind::Database(d) => Err(Error::config(format!(
            "an app user can be made on PostgreSQL and MySQL targets, not {d}"
        ))),
        UrlKind::Secret => Err(unresolved(url)),
    }
}

fn unresolved(url: &ConnUrl) -> Error {
    Error::config(format!(
        "{url} must be resolved through Secrets Manager before it is opened"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_over_the_url_and_the_url_over_the_default() {
        let url = ConnUrl::parse("mysql://u@127.0.0.1:1/db?mysql-load=insert").expect("url");
        let plain = ConnUrl::parse("mysql://u@127.0.0.1:1/db").expect("url");
        let flag = Drivers::with_mysql_load(Some(LoadMethod::Infile));
        assert_eq!(flag.mysql_load_for(&url).ok(), Some(LoadMethod::Infile));
        let none = Drivers::default();
        assert_eq!(none.mysql_load_for(&url).ok(), Some(LoadMethod::Insert));
        assert_eq!(none.mysql_load_for(&plain).ok(), Some(LoadMethod::Auto));
        let bad = ConnUrl::parse("mysql://u@127.0.0.1:1/db?mysql-load=fast").expect("url");
        assert!(none.mysql_load_for(&bad).is_err());
    }
}
