//! `ferry migrate`: copy schema and rows, then verify.

use crate::output::{self, Channel, Progress};
use crate::Exit;
use clap::ValueEnum;
use ferry_core::{BatchLimits, Dialect, IfExists};
use ferry_drivers::{Drivers, LoadMethod};
use ferry_engine::{defaults, MigrateOptions, OnError, Outcome, RunStatus};
use std::path::PathBuf;

/// What to do with tables the target already has.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IfExistsArg {
    /// Refuse to run.
    Fail,
    /// Drop the plan's tables and types (never with CASCADE) and create them anew.
    Drop,
    /// Keep them, delete their rows.
    Truncate,
}

/// What to do with a row the target cannot store.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnErrorArg {
    /// Stop at the first bad row, naming table, column and key.
    Stop,
    /// Write bad rows to a reject file per table and go on.
    Reject,
}

/// How rows are loaded into a MySQL target.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MysqlLoadArg {
    /// `LOAD DATA LOCAL INFILE` when the server allows it, else multi-row INSERTs.
    Auto,
    /// Always `LOAD DATA LOCAL INFILE`; fail if the server refuses it.
    Infile,
    /// Always multi-row INSERTs.
    Insert,
}

impl From<MysqlLoadArg> for LoadMethod {
    fn from(arg: MysqlLoadArg) -> Self {
        match arg {
            MysqlLoadArg::Auto => LoadMethod::Auto,
            MysqlLoadArg::Infile => LoadMethod::Infile,
            MysqlLoadArg::Insert => LoadMethod::Insert,
        }
    }
}

/// Options of `ferry migrate`.
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
    /// TOML file saying what the migration is (tables, type overrides) and, as keys named
    /// like these flags (`from`, `to`, `jobs`, `chunk-rows`, ...), how it runs; a flag
    /// given here wins over the file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Tables copied at once.
    #[arg(long, default_value_t = defaults::JOBS)]
    pub jobs: usize,
    /// Write the report as JSON to this file (created 0600; replaces only a report ferry
    /// wrote), or to stdout with `-` (the summary then goes to stderr).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// `json`: print the report as JSON on stdout (the same as `--json -`).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub output: Option<super::TextOrJson>,
    /// What to do with tables the target already has.
    #[arg(long, value_enum, default_value = "fail")]
    pub if_exists: IfExistsArg,
    /// What to do with rows the target cannot store.
    #[arg(long, value_enum, default_value = "stop")]
    pub on_error: OnErrorArg,
    /// Exit 0 even when rows were rejected (they are in the reject files).
    #[arg(long)]
    pub allow_rejects: bool,
    /// Directory for reject files.
    #[arg(long, default_value = defaults::REJECT_DIR)]
    pub reject_dir: PathBuf,
    /// Most rows per batch.
    #[arg(long, default_value_t = defaults::BATCH_ROWS)]
    pub batch_rows: usize,
    /// Most payload bytes per batch.
    #[arg(long, default_value_t = defaults::BATCH_BYTES)]
    pub batch_bytes: usize,
    /// Verification at the end: `counts` (default), `content` (every value), or `none`.
    #[arg(long, value_enum, default_value = "counts")]
    pub verify: VerifyArg,
    /// With `--verify content`, put differing values into the report (they may be sensitive).
    #[arg(long)]
    pub show_values: bool,
    /// Continue the unfinished run recorded in the target (after a crash, a kill -9 or a
    /// lost connection): loaded chunks, built indexes and added foreign keys are kept, the
    /// rest is done. Without a recorded run it starts from the beginning.
    #[arg(long)]
    pub resume: bool,
    /// Tables with a single integer key are loaded in key-range chunks of about this many
    /// rows, each committed on its own: a resume repeats at most the chunks in flight.
    #[arg(long, default_value_t = defaults::CHUNK_ROWS)]
    pub chunk_rows: u64,
    /// How rows go into a MySQL target (same as `?mysql-load=` on the target URL, which
    /// this flag overrides).
    #[arg(long, value_enum)]
    pub mysql_load: Option<MysqlLoadArg>,
    /// Connect to the target with an IAM database auth token instead of its password
    /// (RDS/Aurora with IAM authentication on; the user needs `rds-db:connect`).
    #[arg(long)]
    pub iam_auth: bool,
    /// After the copy, keep applying the source's changes (MySQL binlog, PostgreSQL logical
    /// replication) from exactly where the copy's snapshot stands, until stopped; `ferry
    /// replicate` continues and `ferry cutover` finishes.
    #[arg(long)]
    pub replicate: bool,
    /// With --replicate from PostgreSQL: give source tables without a primary key REPLICA
    /// IDENTITY FULL (needed to replicate their updates and deletes) instead of refusing.
    #[arg(long, requires = "replicate")]
    pub set_replica_identity: bool,
    /// Check instead of running: connect to both sides, read the source's schema, check
    /// the target's privileges and free names, print the plan and every problem (with the
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

/// How much `ferry migrate` verifies at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyArg {
    /// Row counts on both sides.
    Counts,
    /// Row counts and every value.
    Content,
    /// Nothing.
    None,
}

impl Args {
    /// The engine options these flags describe.
    pub async fn options(&self) -> anyhow::Result<MigrateOptions> {
        let (from, to) =
            super::resolve_pair(&self.from, &self.to, &self.aws, self.iam_auth).await?;
        // Before tunnels turn both hosts into 127.0.0.1.
        crate::settings::check_distinct(&from, &to)?;
        let (mut from, to) = super::tunnel_pair(from, to, &self.source_ssh, &self.ssh).await?;
        super::choose_schemas(&mut from, self.schema.as_deref())?;
        if self.mysql_load.is_some() && to.dialect() != Some(Dialect::Mysql) {
            anyhow::bail!("--mysql-load needs a mysql:// target");
        }
        let mut opts = MigrateOptions::new(from, to);
        opts.config = crate::settings::migration_config(self.config.as_deref())?;
        if self.jobs == 0 || self.batch_rows == 0 || self.batch_bytes == 0 || self.chunk_rows == 0 {
            anyhow::bail!(
                "--jobs, --batch-rows, --batch-bytes and --chunk-rows must be at least 1"
            );
        }
        opts.resume = self.resume;
        opts.chunk_rows = self.chunk_rows;
        opts.jobs = self.jobs;
        opts.if_exists = match self.if_exists {
            IfExistsArg::Fail => IfExists::Fail,
            IfExistsArg::Drop => IfExists::Drop,
            IfExistsArg::Truncate => IfExists::Truncate,
        };
        opts.on_error = match self.on_error {
            OnErrorArg::Stop => OnError::Stop,
            OnErrorArg::Reject => OnError::Reject,
        };
        opts.reject_dir = self.reject_dir.clone();
        opts.batch = BatchLimits {
            max_rows: self.batch_rows,
            max_bytes: self.batch_bytes,
        };
        opts.verify_counts = self.verify != VerifyArg::None;
        opts.verify_content = self.verify == VerifyArg::Content;
        opts.show_values = self.show_values;
        opts.replicate = self.replicate;
        opts.set_replica_identity = self.set_replica_identity;
        Ok(opts)
    }
}

impl Args {
    /// The drivers for this run, with `--mysql-load` as a typed choice.
    pub fn drivers(&self) -> Drivers {
        Drivers::with_mysql_load(self.mysql_load.map(LoadMethod::from))
    }
}

/// Run `ferry migrate`: the summary on stdout (on stderr with `--json -`, which puts the
/// report there).
pub async fn run(mut args: Args) -> anyhow::Result<Exit> {
    super::report_to_stdout(&mut args.json, args.output)?;
    let summary = if output::json_to_stdout(args.json.as_deref()) {
        Channel::Stderr
    } else {
        Channel::Stdout
    };
    run_to(args, summary).await
}

/// Run `ferry migrate` with its summary on `summary` (`ferry up` keeps stdout for the
/// connection).
pub async fn run_to(args: Args, summary: Channel) -> anyhow::Result<Exit> {
    output::check_json_path(args.json.as_deref())?;
    args.ci.check()?;
    let opts = args.options().await?;
    let drivers = args.drivers();
    if args.check {
        let report = ferry_engine::check::check_migrate(&opts, &drivers).await;
        return Ok(super::check::finish(&report, summary));
    }
    let progress = Progress::new();
    let stop = async { crate::signals::first().await.to_string() };
    crate::signals::listen();
    let report = ferry_engine::migrate_until(&opts, &drivers, progress.handler(), stop).await;
    progress.finish();
    if let (Err(e), Some((_, exit))) = (&report, crate::signals::seen()) {
        Channel::Stderr.line(&format!("ferry: {e}"));
        return Ok(exit);
    }
    let report = report?;
    output::print_summary(&report, summary);
    if let Some(path) = &args.json {
        output::write_json(path, &report)?;
    }
    args.ci.write("migrate", &report)?;
    if args.replicate && report.status == RunStatus::Complete {
        eprintln!(
            "copy complete; applying the source's changes until stopped (ferry cutover finishes)"
        );
        let replicate = ferry_engine::replicate::ReplicateOptions {
            from: opts.from.clone(),
            to: opts.to.clone(),
            config: opts.config.clone(),
            apply: Default::default(),
        };
        return super::replicate::follow(&replicate, &drivers, &None).await;
    }
    Ok(match report.status {
        RunStatus::Complete => Exit::Ok,
        RunStatus::Incomplete
            if args.allow_rejects
                && report.tables.iter().all(|t| {
                    matches!(t.verification.counts, Outcome::Match | Outcome::Skipped)
                }) =>
        {
            Exit::Ok
        }
        RunStatus::Incomplete => Exit::Incomplete,
        RunStatus::Failed => Exit::Failed,
    })
}
