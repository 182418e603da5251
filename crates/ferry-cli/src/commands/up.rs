//! `ferry up`: check the source, provision the target, migrate the source into it through
//! its `secret://` reference, verify, and end with the env lines (alone on stdout). Each
//! step is the same code as its own command, so `up` can be run again after an
//! interruption.

use crate::commands::{migrate, provision};
use crate::output::Channel;
use crate::Exit;
use anyhow::Context;
use ferry_core::Connector;
use ferry_engine::defaults;
use std::path::PathBuf;

/// Provision, migrate and verify in one command.
#[derive(Debug, clap::Args)]
#[group(id = "up")]
pub struct Args {
    /// Source URL: sqlite:PATH, postgres://..., mysql://..., or secret://NAME. Default:
    /// `from` in the --config file, else FERRY_FROM, else DATABASE_URL (a password left out
    /// comes from PGPASSWORD / ~/.pgpass / MYSQL_PWD).
    #[arg(long)]
    pub from: Option<String>,
    /// Source schemas to copy (PostgreSQL source), comma-separated; default: every
    /// non-system schema. Same as `?schema=` on the source URL.
    #[arg(long, value_name = "NAME[,NAME...]")]
    pub schema: Option<String>,
    /// TOML file saying what the migration is (tables, type overrides).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Tables copied at once.
    #[arg(long, default_value_t = defaults::JOBS)]
    pub jobs: usize,
    /// Write the migration report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The new database, and `--ssh` to reach it through a bastion.
    #[command(flatten)]
    pub provision: provision::Args,
    /// `--source-ssh USER@HOST[:PORT]` and its companions: the source through a bastion.
    #[command(flatten)]
    pub source_ssh: crate::tunnel::SourceSshArgs,
}

/// Run `ferry up`. Only the connection (env lines or JSON) goes to stdout, so that
/// `ferry up > app.env` gives a file of env lines; progress and summaries go to stderr.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    crate::secrets::set_session_defaults(&args.provision.aws);
    if crate::output::json_to_stdout(args.json.as_deref()) {
        anyhow::bail!(
            "--json -: stdout holds the connection for `ferry up`; give the report a file"
        );
    }
    // Parsed first, so a malformed URL stops the run before anything is created; only its
    // redacted form is ever printed.
    let from =
        crate::secrets::parse_url("--from", crate::settings::required("--from", &args.from)?)?;
    args.provision.spec().validate()?;
    check_source(&args).await?;
    if let Some(user) = &args.provision.app.app_user {
        ferry_core::app_user::validate_app_user(user, Some(ferry_aws::spec::MASTER_USERNAME))?;
    }
    let Some(mut conn) = provision::provision(&args.provision).await? else {
        eprintln!("ferry: dry run: then migrate {from} into it and verify");
        return Ok(Exit::Ok);
    };
    let migrate_args = migrate::Args {
        from: args.from.clone(),
        to: Some(conn.secret_url()),
        schema: args.schema.clone(),
        config: args.config.clone(),
        jobs: args.jobs,
        json: args.json.clone(),
        output: None,
        if_exists: migrate::IfExistsArg::Fail,
        on_error: migrate::OnErrorArg::Stop,
        allow_rejects: false,
        reject_dir: PathBuf::from(defaults::REJECT_DIR),
        batch_rows: defaults::BATCH_ROWS,
        batch_bytes: defaults::BATCH_BYTES,
        verify: migrate::VerifyArg::Content,
        show_values: false,
        // An interrupted `ferry up` continues where its load stopped.
        resume: true,
        chunk_rows: defaults::CHUNK_ROWS,
        mysql_load: None,
        iam_auth: false,
        replicate: false,
        set_replica_identity: false,
        check: false,
        ssh: args.provision.ssh.clone(),
        source_ssh: args.source_ssh.clone(),
        aws: args.provision.aws.clone(),
        ci: Default::default(),
    };
    let verify_args = super::verify::Args {
        from: migrate_args.from.clone(),
        to: migrate_args.to.clone(),
        schema: migrate_args.schema.clone(),
        config: migrate_args.config.clone(),
        jobs: migrate_args.jobs,
        json: migrate_args.json.clone(),
        output: None,
        content: true,
        show_values: false,
        iam_auth: false,
        check: false,
        ssh: migrate_args.ssh.clone(),
        source_ssh: migrate_args.source_ssh.clone(),
        aws: migrate_args.aws.clone(),
        ci: Default::default(),
    };
    let exit = match migrate::run_to(migrate_args, Channel::Stderr).await {
        // A re-run: the target already holds the tables (an earlier `ferry up` loaded
        // them). Prove they still match the source instead of loading them again.
        Err(e) if already_exists(&e) => {
            eprintln!("ferry: the target already holds the tables; verifying them against the source instead of loading again");
            super::verify::run_to(verify_args, Channel::Stderr).await?
        }
        other => other?,
    };
    // The app's own login, once its tables are there (a re-run resets it to exactly its rights).
    provision::make_app_user(&args.provision, &mut conn, args.provision.ssh.bastion()).await?;
    provision::print_connection(&conn, args.provision.output);
    Ok(exit)
}

/// Open `--from`, read its schema and translate it for the target engine, as the migration
/// will, before anything billable is created: a typo in `--from` must not leave a
/// deletion-protected database behind.
async fn check_source(args: &Args) -> anyhow::Result<()> {
    let parsed =
        crate::secrets::parse_url("--from", crate::settings::required("--from", &args.from)?)?;
    let from = crate::secrets::resolve_with("--from", &parsed, &args.provision.aws, false).await?;
    let mut from = crate::tunnel::apply("--from", from, args.source_ssh.bastion()).await?;
    super::choose_schemas(&mut from, args.schema.as_deref())?;
    let config = crate::settings::migration_config(args.config.as_deref())?;
    let drivers = ferry_drivers::Drivers::default();
    let source = drivers.open_source(&from).await.context("--from")?;
    let target = args.provision.engine.dialect();
    let planned = ferry_engine::plan(source.as_ref(), target, &config, &drivers).await;
    // Only read: a failure to let go of the snapshot changes nothing.
    let _ = source.close().await;
    planned.context("--from")?;
    Ok(())
}

fn already_exists(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ferry_core::Error>()
        .is_some_and(|e| e.kind() == ferry_core::ErrorKind::AlreadyExists)
}
