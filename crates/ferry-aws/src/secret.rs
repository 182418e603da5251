//! The RDS secret JSON (the shape RDS rotation functions use) and `secret://` resolution.

use crate::client::AwsClients;
use crate::error::{AwsError, Result};
use ferry_core::schema::Dialect;
use ferry_core::url::Secret;
use ferry_core::ConnUrl;
use serde_json::{Map, Value as Json};

/// Test-only: `HOST:PORT` that replaces the host and port read from a secret, honoured only
/// when the AWS endpoint is on loopback (an emulator such as moto, whose RDS endpoints resolve
/// nowhere). Lets the end-to-end test of `ferry up` reach a local server with the secret's
/// real credentials. Ignored against real AWS.
pub const TEST_ENDPOINT_OVERRIDE_ENV: &str = "FERRY_TEST_ENDPOINT_OVERRIDE";

/// A database connection secret as RDS stores it:
/// `{"engine","host","port","username","password","dbname","dbInstanceIdentifier"|"dbClusterIdentifier"}`.
/// `Debug` never shows the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsSecret {
    /// `postgres` or `mysql` (also accepted: `aurora-postgresql`, `aurora-mysql`, `mariadb`, ...).
    pub engine: String,
    /// Endpoint host; empty until the database is available.
    pub host: String,
    /// Endpoint port.
    pub port: u16,
    /// Master user name.
    pub username: String,
    /// Master password.
    pub password: Secret,
    /// Database name.
    pub dbname: Option<String>,
    /// The DB instance the secret belongs to (RDS).
    pub db_instance_identifier: Option<String>,
    /// The DB cluster the secret belongs to (Aurora).
    pub db_cluster_identifier: Option<String>,
}

impl RdsSecret {
    /// The JSON text stored in Secrets Manager. This is the one place the password is
    /// written out, and the text goes only to `CreateSecret` / `PutSecretValue`.
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("engine".into(), Json::from(self.engine.clone()));
        m.insert("host".into(), Json::from(self.host.clone()));
        m.insert("port".into(), Json::from(self.port));
        m.insert("username".into(), Json::from(self.username.clone()));
        m.insert("password".into(), Json::from(self.password.expose()));
        if let Some(db) = &self.dbname {
            m.insert("dbname".into(), Json::from(db.clone()));
        }
        if let Some(id) = &self.db_instance_identifier {
            m.insert("dbInstanceIdentifier".into(), Json::from(id.clone()));
        }
        if let Some(id) = &self.db_cluster_identifier {
            m.insert("dbClusterIdentifier".into(), Json::from(id.clone()));
        }
        Json::Object(m).to_string()
    }

    /// Parse a secret's JSON text; errors name the missing field of secret `id`, never a value.
    pub fn parse(id: &str, text: &str) -> Result<RdsSecret> {
        let f = SecretFields::parse(id, text)?;
        let engine = f.engine.ok_or_else(|| AwsError::MalformedSecret {
            secret: id.to_string(),
            reason: "field `engine` is missing".into(),
        })?;
        let port = f.port.unwrap_or(match engine_dialect(&engine) {
            Some(Dialect::Mysql) => 3306,
            _ => 5432,
        });
        Ok(RdsSecret {
            engine,
            host: f.host.unwrap_or_default(),
            port,
            username: f.username,
            password: f.password,
            dbname: f.dbname,
            db_instance_identifier: f.db_instance_identifier,
            db_cluster_identifier: f.db_cluster_identifier,
        })
    }

    /// The SQL dialect of the secret's engine.
    pub fn dialect(&self) -> Option<Dialect> {
        engine_dialect(&self.engine)
    }

    /// The connection URL this secret describes (password included, redacted in output).
    pub fn to_url(&self, id: &str) -> Result<ConnUrl> {
        let dialect = self.dialect().ok_or_else(|| AwsError::MalformedSecret {
            secret: id.to_string(),
            reason: "field `engine` is unknown".into(),
        })?;
        if self.host.is_empty() {
            return Err(AwsError::MalformedSecret {
                secret: id.to_string(),
                reason: "field `host` is empty (is the database still being created? run `ferry provision` again to finish)".into(),
            });
        }
        Ok(ConnUrl::server(
            dialect,
            &self.host,
            Some(self.port),
            Some(&self.username),
            Some(self.password.clone()),
            self.dbname.as_deref(),
        ))
    }
}

/// The fields of a database secret, any of which but the user name and password may be
/// missing: an RDS-managed master secret (`rds!db-...`) holds only those two. `Debug` never
/// shows the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFields {
    /// `engine`, when present (checked to be one ferry knows).
    pub engine: Option<String>,
    /// `host`, when present and not empty.
    pub host: Option<String>,
    /// `port`, when present.
    pub port: Option<u16>,
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: Secret,
    /// `dbname`.
    pub dbname: Option<String>,
    /// `dbInstanceIdentifier`.
    pub db_instance_identifier: Option<String>,
    /// `dbClusterIdentifier`.
    pub db_cluster_identifier: Option<String>,
}

impl SecretFields {
    /// Parse a secret's JSON text; errors name the field of secret `id`, never a value.
    pub fn parse(id: &str, text: &str) -> Result<SecretFields> {
        let bad = |reason: &str| AwsError::MalformedSecret {
            secret: id.to_string(),
            reason: reason.to_string(),
        };
        // serde_json's own messages can quote the text, so they are not passed on.
        let json: Json =
            serde_json::from_str(text).map_err(|_| bad("its value is not a JSON object"))?;
        let obj = json
            .as_object()
            .ok_or_else(|| bad("its value is not a JSON object"))?;
        let text_field = |key: &str| -> Result<Option<String>> {
            match obj.get(key) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(&format!("field `{key}` is not a string"))),
            }
        };
        let required = |key: &str| -> Result<String> {
            text_field(key)?.ok_or_else(|| bad(&format!("field `{key}` is missing")))
        };
        let port = match obj.get("port") {
            None | Some(Json::Null) => None,
            Some(Json::Number(n)) => Some(
                n.as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| bad("field `port` is not a port number"))?,
            ),
            Some(Json::String(s)) if s.is_empty() => None,
            Some(Json::String(s)) => Some(
                s.parse::<u16>()
                    .map_err(|_| bad("field `port` is not a port number"))?,
            ),
            Some(_) => return Err(bad("field `port` is not a port number")),
        };
        let engine = text_field("engine")?;
        if engine
            .as_deref()
            .is_some_and(|e| engine_dialect(e).is_none())
        {
            return Err(bad(
                "field `engine` is not postgres, mysql, mariadb, aurora-postgresql or aurora-mysql",
            ));
        }
        Ok(SecretFields {
            engine,
            host: text_field("host")?.filter(|h| !h.is_empty()),
            port,
            username: required("username")?,
            password: Secret::new(required("password")?),
            dbname: text_field("dbname")?,
            db_instance_identifier: text_field("dbInstanceIdentifier")?,
            db_cluster_identifier: text_field("dbClusterIdentifier")?,
        })
    }
}

/// The dialect of an RDS engine name as secrets carry it.
pub fn engine_dialect(engine: &str) -> Option<Dialect> {
    match engine.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" | "aurora-postgresql" => Some(Dialect::Postgres),
        "mysql" | "mariadb" | "aurora-mysql" | "aurora" => Some(Dialect::Mysql),
        _ => None,
    }
}

/// Read secret `id` (name or ARN) and parse it.
pub async fn read_secret(clients: &AwsClients, id: &str) -> Result<RdsSecret> {
    let (_, text) = read_secret_text(clients, id).await?;
    RdsSecret::parse(id, &text)
}

/// Secret `id`'s ARN and its JSON text (which holds a password: parse it, never print it).
pub async fn read_secret_text(clients: &AwsClients, id: &str) -> Result<(String, String)> {
    let out = clients
        .secrets
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| match AwsError::from_sdk("GetSecretValue", e) {
            AwsError::Api { code, .. } if code == "ResourceNotFoundException" => {
                AwsError::NotFound(format!("secret `{id}` does not exist"))
            }
            other => other,
        })?;
    let text = out
        .secret_string()
        .ok_or_else(|| AwsError::MalformedSecret {
            secret: id.to_string(),
            reason: "it holds binary data, not a JSON string".into(),
        })?;
    Ok((out.arn().unwrap_or(id).to_string(), text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RdsSecret {
        RdsSecret {
            engine: "postgres".into(),
            host: "shop.abc.us-east-1.rds.amazonaws.com".into(),
            port: 5432,
            username: "ferry_admin".into(),
            password: Secret::new("Pa55-w0rd!xyz"),
            dbname: Some("shop".into()),
            db_instance_identifier: Some("shop".into()),
            db_cluster_identifier: None,
        }
    }

    #[test]
    fn round_trips_the_rds_shape() {
        let s = sample();
        let json = s.to_json();
        let v: Json = serde_json::from_str(&json).expect("json");
        for key in [
            "engine",
            "host",
            "port",
            "username",
            "password",
            "dbname",
            "dbInstanceIdentifier",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["port"], 5432);
        assert_eq!(RdsSecret::parse("x", &json).expect("parses"), s);
    }

    #[test]
    fn debug_and_url_never_show_the_password() {
        let s = sample();
        let url = s.to_url("ferry/shop").expect("url");
        assert_eq!(url.password().map(Secret::expose), Some("Pa55-w0rd!xyz"));
        let shown = format!("{s:?} {url} {url:?}");
        assert!(!shown.contains("Pa55"), "{shown}");
        assert_eq!(
            url.to_string(),
            "postgres://ferry_admin:***@shop.abc.us-east-1.rds.amazonaws.com:5432/shop"
        );
    }

    #[test]
    fn malformed_secrets_name_the_field_not_the_value() {
        let cases = [
            ("not json at all Pa55-w0rd", "not a JSON object"),
            (r#"["Pa55-w0rd"]"#, "not a JSON object"),
            (
                r#"{"engine":"postgres","username":"u"}"#,
                "`password` is missing",
            ),
            (
                r#"{"engine":"oracle","username":"u","password":"Pa55-w0rd"}"#,
                "`engine`",
            ),
            (
                r#"{"engine":"mysql","username":"u","password":"Pa55-w0rd","port":"x"}"#,
                "`port`",
            ),
            (
                r#"{"engine":"mysql","username":"u","password":12}"#,
                "`password` is not a string",
            ),
        ];
        for (text, want) in cases {
            let err = RdsSecret::parse("ferry/shop", text).expect_err(text);
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(want), "{shown}");
            assert!(!shown.contains("Pa55"), "{shown}");
        }
        let no_host = RdsSecret::parse(
            "ferry/shop",
            r#"{"engine":"mysql","host":"","username":"u","password":"Pa55-w0rd"}"#,
        )
        .expect("parses");
        assert_eq!(no_host.port, 3306);
        let err = no_host.to_url("ferry/shop").expect_err("no host");
        assert!(!format!("{err:?}").contains("Pa55"));
    }
}
