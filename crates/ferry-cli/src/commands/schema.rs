//! `ferry schema`: print the translated DDL and its warnings without touching a server.

use crate::output::Channel;
use crate::Exit;
use ferry_core::Connector;
use ferry_core::Dialect;
use ferry_drivers::Drivers;
use ferry_engine::Config;
use std::path::PathBuf;

/// Options of `ferry schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Source URL (a password left out comes from PGPASSWORD / MYSQL_PWD).
    #[arg(long, env = "FERRY_FROM", hide_env_values = true)]
    pub from: String,
    /// Target dialect: postgres or mysql.
    #[arg(long)]
    pub to_dialect: String,
    /// Source schemas to copy (PostgreSQL source), comma-separated; default: every
    /// non-system schema. Same as `?schema=` on the source URL.
    #[arg(long, value_name = "NAME[,NAME...]")]
    pub schema: Option<String>,
    /// The migration's config file (table selection, type overrides).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `--source-ssh USER@HOST[:PORT]` and its companions: the source through a bastion.
    #[command(flatten)]
    pub source_ssh: crate::tunnel::SourceSshArgs,
}

/// Run `ferry schema`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let target = Dialect::parse(&args.to_dialect)
        .filter(|d| *d != Dialect::Sqlite)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--to-dialect must be postgres or mysql, not `{}`",
                args.to_dialect
            )
        })?;
    let from = super::resolve_url(&args.from).await?;
    let mut from = crate::tunnel::apply("--from", from, args.source_ssh.bastion()).await?;
    super::choose_schemas(&mut from, args.schema.as_deref())?;
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let drivers = Drivers::default();
    let source = drivers.open_source(&from).await?;
    if let Some(w) = source.connection_warning() {
        eprintln!("-- warning: {w}");
    }
    let translation = ferry_engine::plan(source.as_ref(), target, &config, &drivers).await?;
    Channel::Stdout.text(&translation.script());
    if translation.warnings.is_empty() {
        Channel::Stderr.line("-- no warnings: everything translates exactly");
    } else {
        Channel::Stderr.line(&format!("-- {} warning(s):", translation.warnings.len()));
        for w in &translation.warnings {
            Channel::Stderr.line(&format!("-- warning: {w}"));
        }
    }
    Ok(Exit::Ok)
}
