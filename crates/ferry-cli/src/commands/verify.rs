//! `ferry verify`: compare source and target.

use crate::output::{self, Progress};
use crate::Exit;
use ferry_engine::{Config, RunStatus, VerifyOptions};
use std::path::PathBuf;

/// Options of `ferry verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Source URL (a password left out comes from PGPASSWORD / MYSQL_PWD).
    #[arg(long, env = "FERRY_FROM", hide_env_values = true)]
    pub from: String,
    /// Target URL (a password left out comes from PGPASSWORD / MYSQL_PWD).
    #[arg(long, env = "FERRY_TO", hide_env_values = true)]
    pub to: String,
    /// Source schemas to copy (PostgreSQL source), comma-separated; default: every
    /// non-system schema. Same as `?schema=` on the source URL.
    #[arg(long, value_name = "NAME[,NAME...]")]
    pub schema: Option<String>,
    /// The migration's config file (table selection, type overrides).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Tables compared at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Compare every value, not only row counts.
    #[arg(long)]
    pub content: bool,
    /// Put differing values into the output and report (they may be sensitive).
    #[arg(long)]
    pub show_values: bool,
    /// Connect to the target with an IAM database auth token instead of its password
    /// (RDS/Aurora with IAM authentication on; the user needs `rds-db:connect`).
    #[arg(long)]
    pub iam_auth: bool,
    /// AWS settings for `secret://` URLs and `--iam-auth`.
    #[command(flatten)]
    pub aws: crate::secrets::AwsArgs,
}

/// Run `ferry verify`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let (mut from, to) =
        super::resolve_pair(&args.from, &args.to, &args.aws, args.iam_auth).await?;
    super::choose_schemas(&mut from, args.schema.as_deref())?;
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let opts = VerifyOptions {
        from,
        to,
        config,
        jobs: args.jobs.max(1),
        content: args.content,
        show_values: args.show_values,
    };
    let progress = Progress::new();
    let report = ferry_engine::verify(&opts, progress.handler()).await;
    progress.finish();
    let report = report?;
    output::print_verify(&report);
    if let Some(path) = &args.json {
        output::write_json(path, &report)?;
    }
    Ok(if report.status == RunStatus::Complete {
        Exit::Ok
    } else {
        Exit::Incomplete
    })
}
