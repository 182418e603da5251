//! `ferry verify`: compare source and target.

use crate::output::{self, Channel, Progress};
use crate::Exit;
use ferry_core::BatchLimits;
use ferry_drivers::Drivers;
use ferry_engine::{defaults, RunStatus, VerifyOptions};
use std::path::PathBuf;

/// Options of `ferry verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Source URL: sqlite:PATH, postgres://..., mysql://..., or secret://NAME. Default:
    /// `from` in the --config file, else FERRY_FROM, else DATABASE_URL. A postgres:// URL
    /// takes what it leaves out from PGHOST/PGPORT/PGUSER/PGDATABASE/PGSSLMODE and its
    /// password from PGPASSWORD or ~/.pgpass; a mysql:// URL its password from MYSQL_PWD.
    #[arg(long)]
    pub from: Option<String>,
    /// Target URL: postgres://..., mysql://..., or secret://NAME. Default: `to` in the
    /// --config file, else FERRY_TO, else FERRY_URL (what `ferry provision` prints). The
    /// password may come from the environment as for --from.
    #[arg(long)]
    pub to: Option<String>,
    /// Source schemas to copy (PostgreSQL source), comma-separated; default: every
    /// non-system schema. Same as `?schema=` on the source URL.
    #[arg(long, value_name = "NAME[,NAME...]")]
    pub schema: Option<String>,
    /// The migration's config file (table selection, type overrides, and run settings
    /// named like these flags; a flag wins over the file).
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
    /// Check instead of running: connect to both sides, read the source's schema, check
    /// the target's privileges and free names, print the tables and every problem (with the
    /// GRANT that fixes it), and exit 0 when the run could go ahead. Writes nothing.
    #[arg(long, visible_alias = "dry-run")]
    pub check: bool,
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
    args.ci.check()?;
    let (from, to) = super::resolve_pair(&args.from, &args.to, &args.aws, args.iam_auth).await?;
    let (mut from, to) = super::tunnel_pair(from, to, &args.source_ssh, &args.ssh).await?;
    super::choose_schemas(&mut from, args.schema.as_deref())?;
    let config = crate::settings::migration_config(args.config.as_deref())?;
    let opts = VerifyOptions {
        from,
        to,
        config,
        jobs: args.jobs.max(1),
        content: args.content,
        show_values: args.show_values,
        batch: BatchLimits::default(),
    };
    if args.check {
        let report = ferry_engine::check::check_verify(&opts, &Drivers::default()).await;
        return Ok(super::check::finish(&report, summary));
    }
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
