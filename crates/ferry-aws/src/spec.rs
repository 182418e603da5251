//! What to provision: the engine, the name and the user's choices, checked before any call,
//! and the names and tags every resource gets.

use crate::error::{AwsError, Result};
use ferry_core::schema::Dialect;
use std::fmt;

/// A database engine ferry can provision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// RDS for PostgreSQL (one DB instance).
    Postgres,
    /// RDS for MySQL (one DB instance).
    Mysql,
    /// Aurora PostgreSQL (a cluster plus instances).
    AuroraPostgresql,
    /// Aurora MySQL (a cluster plus instances).
    AuroraMysql,
}

impl Engine {
    /// Every engine, in the order the help text lists them.
    pub const ALL: [Engine; 4] = [
        Engine::Postgres,
        Engine::Mysql,
        Engine::AuroraPostgresql,
        Engine::AuroraMysql,
    ];

    /// Parse an engine as written on the command line.
    pub fn parse(text: &str) -> Result<Engine> {
        match text.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(Engine::Postgres),
            "mysql" => Ok(Engine::Mysql),
            "aurora-postgresql" | "aurora-postgres" => Ok(Engine::AuroraPostgresql),
            "aurora-mysql" => Ok(Engine::AuroraMysql),
            other => Err(AwsError::Invalid(format!(
                "unknown engine `{other}`; expected postgres, mysql, aurora-postgresql or aurora-mysql"
            ))),
        }
    }

    /// The engine name RDS uses (`Engine` parameter).
    pub fn rds_name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::AuroraPostgresql => "aurora-postgresql",
            Engine::AuroraMysql => "aurora-mysql",
        }
    }

    /// Whether this is an Aurora engine (cluster + instances).
    pub fn is_aurora(self) -> bool {
        matches!(self, Engine::AuroraPostgresql | Engine::AuroraMysql)
    }

    /// The SQL dialect ferry speaks to it.
    pub fn dialect(self) -> Dialect {
        match self {
            Engine::Postgres | Engine::AuroraPostgresql => Dialect::Postgres,
            Engine::Mysql | Engine::AuroraMysql => Dialect::Mysql,
        }
    }

    /// The engine's usual port.
    pub fn default_port(self) -> u16 {
        match self.dialect() {
            Dialect::Mysql => 3306,
            _ => 5432,
        }
    }

    /// The `engine` value of the RDS secret JSON (what RDS rotation functions expect).
    pub fn secret_engine(self) -> &'static str {
        match self.dialect() {
            Dialect::Mysql => "mysql",
            _ => "postgres",
        }
    }

    /// The prefix of the environment variables apps read (`PG` or `MYSQL`).
    pub fn env_prefix(self) -> &'static str {
        match self.dialect() {
            Dialect::Mysql => "MYSQL",
            _ => "PG",
        }
    }

    /// The generated password's length: MySQL engines accept at most 41 characters.
    pub fn password_length(self) -> i64 {
        match self.dialect() {
            Dialect::Mysql => 41,
            _ => 64,
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rds_name())
    }
}

/// An Aurora Serverless v2 capacity range in ACUs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerlessRange {
    /// Minimum capacity (0 to 256, in steps of 0.5).
    pub min: f64,
    /// Maximum capacity (1 to 256, in steps of 0.5).
    pub max: f64,
}

impl ServerlessRange {
    /// Parse `MIN-MAX`, e.g. `0.5-8`.
    pub fn parse(text: &str) -> Result<ServerlessRange> {
        let bad = || {
            AwsError::Invalid(format!(
                "--serverless-v2 `{text}`: expected MIN-MAX in ACUs, e.g. 0.5-8 (0 to 256, steps of 0.5, MIN <= MAX)"
            ))
        };
        let (min, max) = text.split_once('-').ok_or_else(bad)?;
        let min: f64 = min.trim().parse().map_err(|_| bad())?;
        let max: f64 = max.trim().parse().map_err(|_| bad())?;
        let half_steps = |v: f64| (v * 2.0).fract() == 0.0;
        if !(0.0..=256.0).contains(&min)
            || !(1.0..=256.0).contains(&max)
            || min > max
            || !half_steps(min)
            || !half_steps(max)
        {
            return Err(bad());
        }
        Ok(ServerlessRange { min, max })
    }
}

/// The default backup retention, and the least ferry accepts.
pub const MIN_BACKUP_RETENTION_DAYS: i32 = 7;

/// The master user ferry creates.
pub const MASTER_USERNAME: &str = "ferry_admin";

/// Tag key naming the ferry deployment a resource belongs to.
pub const TAG_NAME: &str = "ferry:name";
/// Tag key marking a resource as created by ferry.
pub const TAG_MANAGED: &str = "ferry:managed-by";
/// Tag key naming the resource's role (`secret`, `instance`, `cluster`, `writer`, `reader`).
pub const TAG_ROLE: &str = "ferry:role";

/// Everything `ferry provision` was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvisionSpec {
    /// The deployment's name: the DB instance or cluster identifier.
    pub name: String,
    /// The engine.
    pub engine: Engine,
    /// The database to create (default: the name with `-` as `_`).
    pub db_name: Option<String>,
    /// Engine version (default: RDS's default for the engine).
    pub engine_version: Option<String>,
    /// Instance class (default: `db.t4g.micro`, Aurora `db.t4g.medium`, Serverless v2 `db.serverless`).
    pub instance_class: Option<String>,
    /// Allocated storage in GiB for RDS instances (default 20; Aurora grows by itself).
    pub storage_gb: Option<i32>,
    /// Serverless v2 capacity (Aurora only).
    pub serverless_v2: Option<ServerlessRange>,
    /// Add a read replica (RDS) or reader instance (Aurora).
    pub read_replica: bool,
    /// DB subnet group (default: the account's default VPC).
    pub subnet_group: Option<String>,
    /// VPC security group IDs (default: the VPC's default group). Never modified by ferry.
    pub security_groups: Vec<String>,
    /// KMS key for storage encryption (default: the AWS managed `aws/rds` key).
    pub kms_key: Option<String>,
    /// Backup retention in days (at least 7).
    pub backup_retention_days: i32,
    /// A standby in a second Availability Zone (RDS Multi-AZ); on Aurora, a reader instance
    /// (Aurora places it in another zone and fails over to it).
    pub multi_az: bool,
    /// The Availability Zone of the instance (Aurora: of the writer).
    pub availability_zone: Option<String>,
    /// The port the database listens on (default: the engine's, 5432 or 3306).
    pub port: Option<u16>,
    /// Turn Performance Insights on (on every instance).
    pub performance_insights: bool,
    /// The DB parameter group (RDS instances) or DB cluster parameter group (Aurora).
    pub parameter_group: Option<String>,
}

impl ProvisionSpec {
    /// A spec with defaults for everything optional.
    pub fn new(name: impl Into<String>, engine: Engine) -> ProvisionSpec {
        ProvisionSpec {
            name: name.into(),
            engine,
            db_name: None,
            engine_version: None,
            instance_class: None,
            storage_gb: None,
            serverless_v2: None,
            read_replica: false,
            subnet_group: None,
            security_groups: Vec::new(),
            kms_key: None,
            backup_retention_days: MIN_BACKUP_RETENTION_DAYS,
            multi_az: false,
            availability_zone: None,
            port: None,
            performance_insights: false,
            parameter_group: None,
        }
    }

    /// The port the database listens on.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.engine.default_port())
    }

    /// Whether a reader is made: `--read-replica`, or `--multi-az` on Aurora.
    pub fn has_reader(&self) -> bool {
        self.read_replica || (self.multi_az && self.engine.is_aurora())
    }

    /// The app user's secret of this deployment.
    pub fn app_secret_name(&self) -> String {
        app_secret_name(&self.name)
    }

    /// Check every choice before any call is made; the error names the flag.
    pub fn validate(&self) -> Result<()> {
        validate_name(&self.name)?;
        if self.serverless_v2.is_some() && !self.engine.is_aurora() {
            return Err(AwsError::Invalid(format!(
                "--serverless-v2 needs an Aurora engine (aurora-postgresql or aurora-mysql), not {}",
                self.engine
            )));
        }
        if self.storage_gb.is_some() && self.engine.is_aurora() {
            return Err(AwsError::Invalid(
                "--storage-gb applies to RDS instances only; Aurora storage grows by itself".into(),
            ));
        }
        if let Some(gb) = self.storage_gb {
            if !(20..=65536).contains(&gb) {
                return Err(AwsError::Invalid(format!(
                    "--storage-gb {gb}: expected 20 to 65536"
                )));
            }
        }
        if self.backup_retention_days < MIN_BACKUP_RETENTION_DAYS || self.backup_retention_days > 35
        {
            return Err(AwsError::Invalid(format!(
                "backup retention {} days: ferry keeps 7 to 35",
                self.backup_retention_days
            )));
        }
        let db = self.database();
        let db_ok = db.len() <= 63
            && db.starts_with(|c: char| c.is_ascii_alphabetic())
            && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !db_ok {
            return Err(AwsError::Invalid(format!(
                "--db-name `{db}`: use a letter then letters, digits or `_` (at most 63)"
            )));
        }
        for sg in &self.security_groups {
            if !sg.starts_with("sg-") {
                return Err(AwsError::Invalid(format!(
                    "--security-group `{sg}`: expected a VPC security group ID (sg-...)"
                )));
            }
        }
        self.validate_placement()?;
        if self
            .instance_class
            .as_deref()
            .is_some_and(|c| !c.starts_with("db."))
        {
            return Err(AwsError::Invalid(
                "--instance-class: expected an RDS class such as db.t4g.micro".into(),
            ));
        }
        Ok(())
    }

    /// `--multi-az`, `--availability-zone`, `--port` and `--parameter-group`.
    fn validate_placement(&self) -> Result<()> {
        if self.multi_az && self.availability_zone.is_some() && !self.engine.is_aurora() {
            return Err(AwsError::Invalid(
                "--availability-zone cannot be combined with --multi-az: RDS places a Multi-AZ standby itself".into(),
            ));
        }
        if let Some(port) = self.port {
            if port < 1150 {
                return Err(AwsError::Invalid(format!(
                    "--port {port}: RDS accepts 1150 to 65535"
                )));
            }
        }
        if let Some(az) = &self.availability_zone {
            let ok = az.len() <= 32
                && az.ends_with(|c: char| c.is_ascii_lowercase())
                && az
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !ok {
                return Err(AwsError::Invalid(format!(
                    "--availability-zone `{az}`: expected a zone name such as us-east-1a"
                )));
            }
        }
        if let Some(group) = &self.parameter_group {
            let ok = !group.is_empty()
                && group.len() <= 255
                && group.starts_with(|c: char| c.is_ascii_alphabetic())
                && group
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !ok {
                return Err(AwsError::Invalid(format!(
                    "--parameter-group `{group}`: expected a parameter group name (a letter, then letters, digits, `-` or `.`)"
                )));
            }
        }
        Ok(())
    }

    /// The Secrets Manager secret's name.
    pub fn secret_name(&self) -> String {
        secret_name(&self.name)
    }

    /// The DB instance identifier (RDS) or DB cluster identifier (Aurora).
    pub fn primary_id(&self) -> &str {
        &self.name
    }

    /// The Aurora writer instance's identifier.
    pub fn writer_id(&self) -> String {
        writer_id(&self.name)
    }

    /// The read replica's (RDS) or reader instance's (Aurora) identifier.
    pub fn reader_id(&self) -> String {
        reader_id(&self.name)
    }

    /// The database name.
    pub fn database(&self) -> String {
        self.db_name
            .clone()
            .unwrap_or_else(|| self.name.replace('-', "_"))
    }

    /// The instance class of every instance.
    pub fn instance_class(&self) -> &str {
        match (
            &self.instance_class,
            self.engine.is_aurora(),
            self.serverless_v2,
        ) {
            (Some(c), _, _) => c,
            (None, true, Some(_)) => "db.serverless",
            (None, true, None) => "db.t4g.medium",
            (None, false, _) => "db.t4g.micro",
        }
    }

    /// Allocated storage for RDS instances.
    pub fn storage_gb(&self) -> i32 {
        self.storage_gb.unwrap_or(20)
    }
}

/// The secret name of deployment `name`.
pub fn secret_name(name: &str) -> String {
    format!("ferry/{name}")
}

/// The app user's secret of deployment `name`: `ferry/NAME/app`.
pub fn app_secret_name(name: &str) -> String {
    format!("ferry/{name}/app")
}

/// The Aurora writer instance of deployment `name`.
pub fn writer_id(name: &str) -> String {
    format!("{name}-writer")
}

/// The reader of deployment `name`.
pub fn reader_id(name: &str) -> String {
    format!("{name}-reader")
}

/// Check a deployment name: it becomes DB identifiers, so 1 to 55 lower-case letters, digits
/// and single hyphens, starting with a letter (55 leaves room for `-writer` / `-reader`).
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 55
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(AwsError::Invalid(format!(
            "--name `{name}`: use 1-55 lower-case letters, digits and single hyphens, starting with a letter"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_and_know_their_shape() {
        for e in Engine::ALL {
            assert_eq!(Engine::parse(e.rds_name()).expect("parses"), e);
        }
        assert_eq!(Engine::Mysql.password_length(), 41);
        assert_eq!(Engine::AuroraMysql.password_length(), 41);
        assert_eq!(Engine::AuroraPostgresql.env_prefix(), "PG");
        let err = Engine::parse("oracle").expect_err("unknown");
        assert!(err.to_string().contains("unknown engine `oracle`"));
    }

    #[test]
    fn serverless_ranges() {
        let r = ServerlessRange::parse("0.5-8").expect("parses");
        assert_eq!((r.min, r.max), (0.5, 8.0));
        for bad in ["8-0.5", "0.3-2", "1", "a-b", "0-300", "0-0"] {
            assert!(ServerlessRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_names_the_flag() {
        let mut s = ProvisionSpec::new("shop", Engine::Postgres);
        s.validate().expect("valid");
        s.serverless_v2 = Some(ServerlessRange { min: 0.5, max: 2.0 });
        assert!(s
            .validate()
            .expect_err("refused")
            .to_string()
            .contains("--serverless-v2 needs an Aurora engine"));
        let mut s = ProvisionSpec::new("Shop_1", Engine::Postgres);
        assert!(s.validate().is_err());
        s.name = "shop".into();
        s.security_groups = vec!["0.0.0.0/0".into()];
        assert!(s.validate().is_err());
        let mut s = ProvisionSpec::new("shop", Engine::AuroraMysql);
        s.storage_gb = Some(100);
        assert!(s.validate().is_err());
        let mut s = ProvisionSpec::new("shop", Engine::Mysql);
        s.backup_retention_days = 1;
        assert!(s.validate().is_err());
        let mut s = ProvisionSpec::new("shop", Engine::Mysql);
        s.multi_az = true;
        s.availability_zone = Some("us-east-1a".into());
        assert!(s
            .validate()
            .expect_err("both")
            .to_string()
            .contains("--multi-az"));
        s.multi_az = false;
        s.validate().expect("a zone alone");
        s.port = Some(80);
        assert!(s
            .validate()
            .expect_err("low port")
            .to_string()
            .contains("--port 80"));
        s.port = Some(6432);
        s.parameter_group = Some("bad group".into());
        assert!(s
            .validate()
            .expect_err("group")
            .to_string()
            .contains("--parameter-group"));
        s.availability_zone = Some("US east".into());
        s.parameter_group = None;
        assert!(s.validate().is_err());
    }

    #[test]
    fn names_and_defaults() {
        let mut s = ProvisionSpec::new("my-shop", Engine::AuroraPostgresql);
        assert_eq!(s.database(), "my_shop");
        assert_eq!(s.secret_name(), "ferry/my-shop");
        assert_eq!(s.app_secret_name(), "ferry/my-shop/app");
        assert_eq!(s.port(), 5432);
        assert!(!s.has_reader());
        s.multi_az = true;
        assert!(
            s.has_reader(),
            "Multi-AZ Aurora is a reader in another zone"
        );
        assert_eq!(s.writer_id(), "my-shop-writer");
        assert_eq!(s.instance_class(), "db.t4g.medium");
        s.serverless_v2 = Some(ServerlessRange { min: 0.5, max: 4.0 });
        assert_eq!(s.instance_class(), "db.serverless");
    }
}
