//! `ferry bench`: load a generated, deterministic dataset into a target through the normal
//! migrate pipeline and report its ingest speed, without a source database.

use super::migrate::{IfExistsArg, MysqlLoadArg, VerifyArg};
use crate::output::{self, Channel, Progress};
use crate::Exit;
use ferry_core::{BatchLimits, Dialect, IfExists};
use ferry_drivers::{Drivers, LoadMethod};
use ferry_engine::{defaults, MigrateOptions, RunStatus};
use ferry_generate::{GeneratedConnector, GeneratedSource, Profile};
use std::path::PathBuf;
use std::sync::Arc;

/// Options of `ferry bench`. `--profile` names the dataset here (as issue 17 has it), so the
/// AWS profile of a `secret://` target is `--aws-profile` only.
#[derive(Debug, clap::Args)]
#[command(mut_arg("aws_profile", |a| a.visible_alias(None)))]
pub struct Args {
    /// Target URL: postgres://..., mysql://..., or secret://NAME (a password left out comes
    /// from PGPASSWORD / MYSQL_PWD).
    #[arg(long, env = "FERRY_TO", hide_env_values = true)]
    pub to: String,
    /// Rows in each generated table (keys 1..=N).
    #[arg(long)]
    pub rows: u64,
    /// The dataset: `narrow` (a few ints, a short text), `wide` (30 mixed columns),
    /// `text-heavy` (long Unicode text with quotes, backslashes, tabs, newlines), `blob`
    /// (binary up to 8 KiB), or `all` (the four tables).
    #[arg(long, default_value = "wide", value_parser = parse_profile)]
    pub profile: Profile,
    /// The generator's seed: the same seed and rows give byte-identical data every run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Tables copied at once.
    #[arg(long, default_value_t = defaults::JOBS)]
    pub jobs: usize,
    /// Write the report as JSON to this file, or to stdout with `-` (the summary then goes
    /// to stderr).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// What to do with the bench tables when the target already has them (`drop` for a
    /// repeated run).
    #[arg(long, value_enum, default_value = "fail")]
    pub if_exists: IfExistsArg,
    /// Verification at the end: `counts` (default), `content` (every value, generated a
    /// second time), or `none`.
    #[arg(long, value_enum, default_value = "counts")]
    pub verify: VerifyArg,
    /// Most rows per batch.
    #[arg(long, default_value_t = defaults::BATCH_ROWS)]
    pub batch_rows: usize,
    /// Most payload bytes per batch.
    #[arg(long, default_value_t = defaults::BATCH_BYTES)]
    pub batch_bytes: usize,
    /// Tables are loaded in key-range chunks of about this many rows.
    #[arg(long, default_value_t = defaults::CHUNK_ROWS)]
    pub chunk_rows: u64,
    /// How rows go into a MySQL target.
    #[arg(long, value_enum)]
    pub mysql_load: Option<MysqlLoadArg>,
    /// `--junit FILE` and `--summary-md FILE`.
    #[command(flatten)]
    pub ci: crate::ci::CiArgs,
    /// AWS settings for a `secret://` target (`--region`, `--aws-profile`, `--endpoint-url`).
    #[command(flatten)]
    pub aws: crate::secrets::AwsArgs,
}

fn parse_profile(text: &str) -> Result<Profile, String> {
    Profile::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Profile::ALL.iter().map(|(n, _)| *n).collect();
        format!(
            "unknown dataset profile `{text}`; expected one of {} (`--profile` names the \
             generated dataset; the AWS profile is `--aws-profile`)",
            names.join(", ")
        )
    })
}

/// Run `ferry bench`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let summary = if output::json_to_stdout(args.json.as_deref()) {
        Channel::Stderr
    } else {
        Channel::Stdout
    };
    output::check_json_path(args.json.as_deref())?;
    args.ci.check()?;
    if args.rows == 0 {
        anyhow::bail!("--rows must be at least 1");
    }
    if args.jobs == 0 || args.batch_rows == 0 || args.batch_bytes == 0 || args.chunk_rows == 0 {
        anyhow::bail!("--jobs, --batch-rows, --batch-bytes and --chunk-rows must be at least 1");
    }
    let aws = &args.aws;
    crate::secrets::set_session_defaults(aws);
    let to = crate::secrets::parse_url("--to", &args.to)?;
    let to = crate::secrets::resolve_with("--to", &to, aws, false).await?;
    if args.mysql_load.is_some() && to.dialect() != Some(Dialect::Mysql) {
        anyhow::bail!("--mysql-load needs a mysql:// target");
    }
    let source = GeneratedSource::new(args.profile, args.rows, args.seed)?;
    let label = source.label();
    let mut opts = MigrateOptions::new(GeneratedConnector::placeholder_url()?, to);
    opts.jobs = args.jobs;
    opts.chunk_rows = args.chunk_rows;
    opts.if_exists = match args.if_exists {
        IfExistsArg::Fail => IfExists::Fail,
        IfExistsArg::Drop => IfExists::Drop,
        IfExistsArg::Truncate => IfExists::Truncate,
    };
    opts.batch = BatchLimits {
        max_rows: args.batch_rows,
        max_bytes: args.batch_bytes,
    };
    opts.verify_counts = args.verify != VerifyArg::None;
    opts.verify_content = args.verify == VerifyArg::Content;
    let drivers = GeneratedConnector::new(
        source,
        Arc::new(Drivers::with_mysql_load(
            args.mysql_load.map(LoadMethod::from),
        )),
    );
    summary.line(&format!(
        "bench: {label}: {} table(s) of {} rows into {}",
        args.profile.table_names().len(),
        args.rows,
        opts.to
    ));
    let progress = Progress::new();
    let report = ferry_engine::migrate(&opts, &drivers, progress.handler()).await;
    progress.finish();
    let mut report = report?;
    report.source = label;
    output::print_summary(&report, summary);
    if let Some(path) = &args.json {
        output::write_json(path, &report)?;
    }
    args.ci.write("bench", &report)?;
    Ok(match report.status {
        RunStatus::Complete => Exit::Ok,
        RunStatus::Incomplete => Exit::Incomplete,
        RunStatus::Failed => Exit::Failed,
    })
}
