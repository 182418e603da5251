//! `ferry verify`: compare source and target.

use crate::output::{self, Channel, Progress};
use crate::Exit;
use ferry_core::BatchLimits;
use ferry_drivers::Drivers;
use ferry_engine::{defaults, Config, RunStatus, VerifyOptions};
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
    #[arg(long, default_value_t = defaults::JOBS)]
    pub jobs: usize,
    /// Write the report as JSON to this file (created 0600; replaces only a report ferry
    /// wrote), or to stdout with `-` (the table then goes to stderr).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// `json`: print the report as JSON on stdout (the same as `--json -`).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output: Option<super::TextOrJson>,
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
    /// `--ssh USER@HOST[:PORT]` and its companions: the target through a bastion.
    #[command(flatten)]
    pub ssh: crate::tunnel::SshArgs,
    /// `--source-ssh USER@HOST[:PORT]` and its companions: the source through a bastion.
    #[command(flatten)]
    pub source_ssh: crate::tunnel::SourceSshArgs,
    /// AWS settings for `secret://` URLs and `--iam-auth`.
    #[command(flatten)]
    pub aws: crate::secrets::AwsArgs,
    /// `--junit FILE` and `--summary-md FILE`.
    #[command(flatten)]
    pub ci: crate::ci::CiArgs,
}

/// Run `ferry verify`: the table on stdout (on stderr with `--json -`).
pub async fn run(mut args: Args) -> anyhow::Result<Exit> {
    super::report_to_stdout(&mut args.json, args.output)?;
    let summary = if output::json_to_stdout(args.json.as_deref()) {
        Channel::Stderr
    } else {
        Channel::Stdout
    };
    run_to(args, summary).await
}

/// Run `ferry verify` with its table on `summary`. A table that cannot be read on either
/// side (a missing grant) fails the run (exit 2) with the cause, rather than "differs".
pub async fn run_to(args: Args, summary: Channel) -> anyhow::Result<Exit> {
    output::check_json_path(args.json.as_deref())?;
    let (from, to) = super::resolve_pair(&args.from, &args.to, &args.aws, args.iam_auth).await?;
    let (mut from, to) = super::tunnel_pair(from, to, &args.source_ssh, &args.ssh).await?;
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
        batch: BatchLimits::default(),
    };
    let progress = Progress::new();
    let report = ferry_engine::verify(&opts, &Drivers::default(), progress.handler()).await;
    progress.finish();
    let report = report?;
    output::print_verify(&report, summary);
    if let Some(path) = &args.json {
        output::write_json(path, &report)?;
    }
    args.ci.write("verify", &report)?;
    Ok(match report.status {
        RunStatus::Complete => Exit::Ok,
        RunStatus::Incomplete => Exit::Incomplete,
        RunStatus::Failed => Exit::Failed,
    })
}
