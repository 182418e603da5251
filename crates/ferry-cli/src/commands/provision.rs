//! `ferry provision`: create the Secrets Manager secret, then the RDS instance or Aurora
//! cluster, wait, and print the connection as env lines or JSON.

use crate::output::Channel;
use crate::secrets::AwsArgs;
use crate::Exit;
use anyhow::Context;
use ferry_aws::{AwsClients, Engine, Event, ProvisionSpec, ServerlessRange, WaitOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Create the target database and its secret (or find the ones an earlier run made).
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// postgres, mysql, aurora-postgresql or aurora-mysql.
    #[arg(long, value_parser = parse_engine)]
    pub engine: Engine,
    /// The DB instance / cluster identifier; the secret is `ferry/NAME`.
    #[arg(long)]
    pub name: String,
    /// Database to create (default: NAME with `-` as `_`).
    #[arg(long, value_name = "DB")]
    pub db_name: Option<String>,
    /// Engine version (default: RDS's default).
    #[arg(long, value_name = "V")]
    pub engine_version: Option<String>,
    /// Instance class (default db.t4g.micro; Aurora db.t4g.medium; Serverless v2 db.serverless).
    #[arg(long, value_name = "CLASS")]
    pub instance_class: Option<String>,
    /// Allocated storage in GiB (RDS instances only; default 20).
    #[arg(long, value_name = "N")]
    pub storage_gb: Option<i32>,
    /// Aurora Serverless v2 capacity range in ACUs, e.g. 0.5-8.
    #[arg(long, value_name = "MIN-MAX", value_parser = parse_range)]
    pub serverless_v2: Option<ServerlessRange>,
    /// Add a read replica (RDS) or a reader instance (Aurora).
    #[arg(long)]
    pub read_replica: bool,
    /// DB subnet group (default: the default VPC's).
    #[arg(long, value_name = "G")]
    pub subnet_group: Option<String>,
    /// VPC security group ID; repeat for several. ferry never changes their rules.
    #[arg(long = "security-group", value_name = "ID")]
    pub security_groups: Vec<String>,
    /// KMS key for storage and secret encryption (default: the AWS managed keys).
    #[arg(long, value_name = "K")]
    pub kms_key: Option<String>,
    /// Automated backup retention in days (7 to 35).
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub backup_retention_days: i32,
    /// A standby in a second Availability Zone (RDS Multi-AZ; on Aurora, a reader instance).
    #[arg(long)]
    pub multi_az: bool,
    /// The Availability Zone to place the instance in (Aurora: the writer), e.g. us-east-1a.
    #[arg(long, value_name = "AZ")]
    pub availability_zone: Option<String>,
    /// The port the database listens on (default 5432 / 3306).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Turn on Performance Insights.
    #[arg(long)]
    pub performance_insights: bool,
    /// DB parameter group (RDS) or DB cluster parameter group (Aurora) to use.
    #[arg(long, value_name = "GROUP")]
    pub parameter_group: Option<String>,
    #[command(flatten)]
    pub app: crate::commands::grant::AppUserArgs,
    /// How to print the connection.
    #[arg(long, value_enum, default_value_t = Output::Env)]
    pub output: Output,
    /// Print every resource and setting that would be created; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Give up waiting for a resource after this many minutes (run again to keep waiting).
    #[arg(long, value_name = "MIN", default_value_t = 90)]
    pub wait_minutes: u64,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Connection output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// `KEY=value` lines.
    Env,
    /// One JSON object.
    Json,
}

fn parse_engine(s: &str) -> Result<Engine, String> {
    Engine::parse(s).map_err(|e| e.to_string())
}

fn parse_range(s: &str) -> Result<ServerlessRange, String> {
    ServerlessRange::parse(s).map_err(|e| e.to_string())
}

impl Args {
    /// The provisioning request these flags describe.
    pub fn spec(&self) -> ProvisionSpec {
        ProvisionSpec {
            db_name: self.db_name.clone(),
            engine_version: self.engine_version.clone(),
            instance_class: self.instance_class.clone(),
            storage_gb: self.storage_gb,
            serverless_v2: self.serverless_v2,
            read_replica: self.read_replica,
            subnet_group: self.subnet_group.clone(),
            security_groups: self.security_groups.clone(),
            kms_key: self.kms_key.clone(),
            backup_retention_days: self.backup_retention_days,
            multi_az: self.multi_az,
            availability_zone: self.availability_zone.clone(),
            port: self.port,
            performance_insights: self.performance_insights,
            parameter_group: self.parameter_group.clone(),
            ..ProvisionSpec::new(&self.name, self.engine)
        }
    }
}

/// Run `ferry provision`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    crate::secrets::set_session_defaults(&args.aws);
    if let Some(user) = &args.app.app_user {
        ferry_core::app_user::validate_app_user(user, Some(ferry_aws::spec::MASTER_USERNAME))?;
    }
    let provisioned = provision(&args).await?;
    match provisioned {
        None => Ok(Exit::Ok),
        Some(mut conn) => {
            make_app_user(&args, &mut conn).await?;
            print_connection(&conn, args.output);
            Ok(Exit::Ok)
        }
    }
}

/// With `--app-user`: create (or reset) the app's login on the provisioned database,
/// connected as the master through its secret, its password in `ferry/NAME/app`; the
/// connection then names that secret for the app. Shared with `ferry up` (after the load).
pub async fn make_app_user(args: &Args, conn: &mut ferry_aws::Connection) -> anyhow::Result<()> {
    let Some(user) = &args.app.app_user else {
        return Ok(());
    };
    let secret = args.spec().app_secret_name();
    let done = crate::commands::grant::make(&crate::commands::grant::Request {
        to: &conn.secret_url(),
        user,
        iam: args.app.app_iam,
        secret: (!args.app.app_iam).then_some(secret.as_str()),
        deployment: Some(&args.name),
        kms_key: args.kms_key.as_deref(),
        aws: &args.aws,
    })
    .await
    .with_context(|| format!("--app-user {user}"))?;
    done.tell();
    conn.app = Some(done.login());
    Ok(())
}

/// Provision (or plan, with `--dry-run`, returning `None`); shared with `ferry up`.
pub async fn provision(args: &Args) -> anyhow::Result<Option<ferry_aws::Connection>> {
    let spec = args.spec();
    spec.validate()?;
    let clients = AwsClients::connect(&args.aws.options()).await?;
    if args.dry_run {
        let plan = ferry_aws::plan(&clients, &spec).await?;
        Channel::Stdout.text(&plan.to_string());
        if let Some(user) = &args.app.app_user {
            Channel::Stdout.line(&if args.app.app_iam {
                format!("then: create app user {user} (IAM database authentication) with SELECT, INSERT, UPDATE, DELETE on the tables and use of their sequences")
            } else {
                format!("then: create app user {user} with SELECT, INSERT, UPDATE, DELETE on the tables and use of their sequences; its password (GetRandomPassword) in secret {}", spec.app_secret_name())
            });
        }
        return Ok(None);
    }
    let wait = WaitOptions {
        timeout: Duration::from_secs(args.wait_minutes.max(1) * 60),
    };
    let progress = Reporter::new();
    let done = ferry_aws::provision(&clients, &spec, &wait, &progress)
        .await
        .with_context(|| format!("provision {}", spec.name));
    progress.finish();
    Ok(Some(done?.connection))
}

/// Print the connection on stdout.
pub fn print_connection(conn: &ferry_aws::Connection, output: Output) {
    match output {
        Output::Env => Channel::Stdout.text(&conn.to_env()),
        Output::Json => Channel::Stdout.text(&format!("{:#}\n", conn.to_json())),
    }
}

/// Draws progress events on stderr: a spinner on a terminal, plain lines otherwise.
pub struct Reporter {
    bar: Option<ProgressBar>,
}

impl Reporter {
    /// A reporter for the current stderr.
    pub fn new() -> Reporter {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Reporter { bar }
    }

    /// Remove the spinner.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Default for Reporter {
    fn default() -> Self {
        Reporter::new()
    }
}

impl ferry_aws::Progress for Reporter {
    fn event(&self, event: &Event) {
        match (&self.bar, event) {
            (Some(bar), Event::Waiting { .. }) => bar.set_message(event.to_string()),
            (Some(bar), _) => bar.println(format!("ferry: {event}")),
            // Without a terminal, a waiting line once a minute is enough.
            (None, Event::Waiting { elapsed_secs, .. }) if elapsed_secs % 60 >= 5 => {}
            (None, _) => eprintln!("ferry: {event}"),
        }
    }
}
