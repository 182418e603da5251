//! `ferry schema`: print the translated DDL and its warnings without touching a server;
//! with `--check`, also connect to the target and check its privileges and free names.

use crate::output::Channel;
use crate::Exit;
use ferry_core::Connector;
use ferry_core::Dialect;
use ferry_drivers::Drivers;
use std::path::PathBuf;

/// Options of `ferry schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Source URL. Default: `from` in the --config file, else FERRY_FROM, else
    /// DATABASE_URL (a password left out comes from PGPASSWORD / ~/.pgpass / MYSQL_PWD).
    #[arg(long)]
    pub from: Option<String>,
    /// Target dialect: postgres or mysql (default: the dialect of --to).
    #[arg(long)]
    pub to_dialect: Option<String>,
    /// Target URL: gives the dialect, and with --check the database to check.
    #[arg(long)]
    pub to: Option<String>,
    /// Source schemas to copy (PostgreSQL source), comma-separated; default: every
    /// non-system schema. Same as `?schema=` on the source URL.
    #[arg(long, value_name = "NAME[,NAME...]")]
    pub schema: Option<String>,
    /// The migration's config file (table selection, type overrides, and `from`/`to`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also connect to the target (--to, `to` in the config, FERRY_TO, FERRY_URL) and check
    /// what `ferry migrate` would: privileges and free names; exit 0 when it could go ahead.
    #[arg(long, visible_alias = "dry-run")]
    pub check: bool,
    /// AWS settings for `secret://` URLs.
    #[command(flatten)]
    pub aws: crate::secrets::AwsArgs,
    /// `--source-ssh USER@HOST[:PORT]` and its companions: the source through a bastion.
    #[command(flatten)]
    pub source_ssh: crate::tunnel::SourceSshArgs,
}

/// Run `ferry schema`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    if args.check {
        return check(args).await;
    }
    let target = match (&args.to_dialect, &args.to) {
        (Some(name), _) => Dialect::parse(name)
            .filter(|d| *d != Dialect::Sqlite)
            .ok_or_else(|| {
                anyhow::anyhow!("--to-dialect must be postgres or mysql, not `{name}`")
            })?,
        (None, Some(_)) => {
            let to =
                crate::secrets::parse_url("--to", crate::settings::required("--to", &args.to)?)?;
            match to.dialect() {
                Some(d) if d != Dialect::Sqlite => d,
                Some(_) => anyhow::bail!("--to must be a postgres:// or mysql:// URL"),
                // A secret:// target: its engine is known once it is resolved.
                None => super::resolve_pair(&args.from, &args.to, &args.aws, false)
                    .await?
                    .1
                    .dialect()
                    .filter(|d| *d != Dialect::Sqlite)
                    .ok_or_else(|| {
                        anyhow::anyhow!("--to must name a PostgreSQL or MySQL database")
                    })?,
            }
        }
        (None, None) => anyhow::bail!("give --to-dialect postgres|mysql (or a --to URL)"),
    };
    crate::secrets::set_session_defaults(&args.aws);
    let from = super::resolve_url("--from", &args.from).await?;
    let mut from = crate::tunnel::apply("--from", from, args.source_ssh.bastion()).await?;
    super::choose_schemas(&mut from, args.schema.as_deref())?;
    let config = crate::settings::migration_config(args.config.as_deref())?;
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

/// `ferry schema --check`: what `ferry migrate --check` checks, with the default run
/// settings.
async fn check(args: Args) -> anyhow::Result<Exit> {
    let (from, to) = super::resolve_pair(&args.from, &args.to, &args.aws, false).await?;
    crate::settings::check_distinct(&from, &to)?;
    let mut from = crate::tunnel::apply("--from", from, args.source_ssh.bastion()).await?;
    super::choose_schemas(&mut from, args.schema.as_deref())?;
    if let Some(name) = &args.to_dialect {
        if Dialect::parse(name) != to.dialect() {
            anyhow::bail!("--to-dialect {name} does not match the --to URL {to}");
        }
    }
    let mut opts = ferry_engine::MigrateOptions::new(from, to);
    opts.config = crate::settings::migration_config(args.config.as_deref())?;
    let mut report = ferry_engine::check::check_migrate(&opts, &Drivers::default()).await;
    report.command = "schema".into();
    Ok(super::check::finish(&report, Channel::Stdout))
}
