//! [`Connection`]: what apps need to reach a provisioned database, in the environment-variable
//! convention they already read. It holds the secret's ARN, never the password.

use crate::spec::Engine;
use serde_json::{Map, Value as Json};

/// Where a provisioned database is and where its credentials live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The engine.
    pub engine: Engine,
    /// Writer endpoint host.
    pub host: String,
    /// Writer endpoint port.
    pub port: u16,
    /// Database name.
    pub database: String,
    /// ARN of the Secrets Manager secret holding the credentials.
    pub secret_arn: String,
    /// Reader endpoint (read replica or Aurora reader endpoint), when there is a reader.
    pub reader: Option<(String, u16)>,
    /// The app's own login (`--app-user`), when one was made.
    pub app: Option<AppLogin>,
}

/// The application's own login, as the env output names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLogin {
    /// Its user name.
    pub user: String,
    /// ARN of its secret; `None` with IAM database authentication (no password).
    pub secret_arn: Option<String>,
}

impl Connection {
    /// The `secret://ARN` reference ferry itself accepts as `--from` / `--to`.
    pub fn secret_url(&self) -> String {
        format!("secret://{}", self.secret_arn)
    }

    /// `PG_*` or `MYSQL_*` variables plus `FERRY_URL`, in a stable order. With an app user,
    /// `*_CREDENTIALS_SECRET` names the app user's secret and the master's is
    /// `*_ADMIN_CREDENTIALS_SECRET`; an IAM app user has `*_USER` and `*_IAM_AUTH=true`
    /// instead of a secret. `FERRY_URL` always names the master's: ferry needs DDL.
    pub fn env_pairs(&self) -> Vec<(String, String)> {
        let p = self.engine.env_prefix();
        let mut out = vec![
            (format!("{p}_HOST"), self.host.clone()),
            (format!("{p}_PORT"), self.port.to_string()),
            (format!("{p}_DATABASE"), self.database.clone()),
        ];
        match &self.app {
            None => out.push((format!("{p}_CREDENTIALS_SECRET"), self.secret_arn.clone())),
            Some(app) => {
                match &app.secret_arn {
                    Some(arn) => out.push((format!("{p}_CREDENTIALS_SECRET"), arn.clone())),
                    None => {
                        out.push((format!("{p}_USER"), app.user.clone()));
                        out.push((format!("{p}_IAM_AUTH"), "true".to_string()));
                    }
                }
                out.push((
                    format!("{p}_ADMIN_CREDENTIALS_SECRET"),
                    self.secret_arn.clone(),
                ));
            }
        }
        if let Some((host, port)) = &self.reader {
            out.push((format!("{p}_READER_HOST"), host.clone()));
            out.push((format!("{p}_READER_PORT"), port.to_string()));
        }
        out.push(("FERRY_URL".to_string(), self.secret_url()));
        out
    }

    /// `KEY=value` lines, one per variable, ending in a newline.
    pub fn to_env(&self) -> String {
        self.env_pairs()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect()
    }

    /// The same variables as a JSON object, plus `engine`; ports are numbers and
    /// `*_IAM_AUTH` a boolean.
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("engine".into(), Json::from(self.engine.rds_name()));
        for (k, v) in self.env_pairs() {
            let value = if k.ends_with("_PORT") {
                v.parse::<u16>().map_or_else(|_| Json::from(v), Json::from)
            } else if k.ends_with("_IAM_AUTH") {
                Json::from(v == "true")
            } else {
                Json::from(v)
            };
            m.insert(k, value);
        }
        Json::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_follow_the_convention() {
        let c = Connection {
            engine: Engine::AuroraMysql,
            host: "shop.cluster-x.us-east-1.rds.amazonaws.com".into(),
            port: 3306,
            database: "shop".into(),
            secret_arn: "arn:aws:secretsmanager:us-east-1:1:secret:ferry/shop-AbC".into(),
            reader: Some(("shop.cluster-ro-x.us-east-1.rds.amazonaws.com".into(), 3306)),
            app: None,
        };
        let env = c.to_env();
        assert!(env.starts_with(
            "MYSQL_HOST=shop.cluster-x.us-east-1.rds.amazonaws.com\nMYSQL_PORT=3306\n"
        ));
        assert!(env.contains("MYSQL_DATABASE=shop\n"));
        assert!(env.contains(
            "MYSQL_CREDENTIALS_SECRET=arn:aws:secretsmanager:us-east-1:1:secret:ferry/shop-AbC\n"
        ));
        assert!(env.contains("MYSQL_READER_HOST=shop.cluster-ro-x"));
        assert!(env.contains("MYSQL_READER_PORT=3306\n"));
        assert!(env.ends_with(
            "FERRY_URL=secret://arn:aws:secretsmanager:us-east-1:1:secret:ferry/shop-AbC\n"
        ));
        assert_eq!(c.to_json()["MYSQL_PORT"], 3306, "a number");
        assert_eq!(c.to_json()["MYSQL_READER_PORT"], 3306, "a number");
        assert!(!env.contains("ADMIN"), "no app user: one secret");
        let pg = Connection {
            engine: Engine::Postgres,
            reader: None,
            ..c
        };
        assert!(pg.to_env().starts_with("PG_HOST="));
        assert!(!pg.to_env().contains("READER"));

        let with_app = Connection {
            app: Some(AppLogin {
                user: "shop_app".into(),
                secret_arn: Some(
                    "arn:aws:secretsmanager:us-east-1:1:secret:ferry/shop/app-XyZ".into(),
                ),
            }),
            ..pg.clone()
        };
        let env = with_app.to_env();
        assert!(env.contains("PG_CREDENTIALS_SECRET=arn:aws:secretsmanager:us-east-1:1:secret:ferry/shop/app-XyZ\n"), "{env}");
        assert!(env.contains("PG_ADMIN_CREDENTIALS_SECRET=arn:aws:secretsmanager:us-east-1:1:secret:ferry/shop-AbC\n"), "{env}");
        assert!(
            env.ends_with(
                "FERRY_URL=secret://arn:aws:secretsmanager:us-east-1:1:secret:ferry/shop-AbC\n"
            ),
            "{env}"
        );
        let iam = Connection {
            app: Some(AppLogin {
                user: "shop_app".into(),
                secret_arn: None,
            }),
            ..pg
        };
        let json = iam.to_json();
        assert_eq!(json["PG_USER"], "shop_app");
        assert_eq!(json["PG_IAM_AUTH"], true);
        assert!(json.get("PG_CREDENTIALS_SECRET").is_none(), "{json}");
        assert!(json["PG_ADMIN_CREDENTIALS_SECRET"].is_string());
    }
}
