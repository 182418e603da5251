//! `ferry`: move a relational database into AWS RDS or Aurora.
//!
//! `main` parses options, calls the command, prints an error once and sets the exit code.
//! Every subcommand lives in its own file under `commands/`.

mod ci;
mod commands;
mod output;
mod secrets;
mod settings;
mod signals;
mod terminal;
mod tunnel;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Move a relational database (SQLite, MySQL/MariaDB, PostgreSQL) into PostgreSQL or MySQL,
/// on RDS, Aurora or anywhere else, and prove every row arrived.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None)]
struct Cli {
    /// Say where each setting came from (flag, --config file, environment), without
    /// passwords.
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
/// The subcommands.
pub enum Command {
    /// Copy schema and rows from a source to a target, then verify.
    Migrate(commands::migrate::Args),
    /// Compare a source and a target: row counts, and with --content every value.
    Verify(commands::verify::Args),
    /// Print the DDL a source's schema becomes in a target dialect, with warnings.
    Schema(commands::schema::Args),
    /// Create a Secrets Manager secret, then an RDS instance or Aurora cluster; print its connection.
    Provision(commands::provision::Args),
    /// Give a database the app's own login with only the rights an app needs, its password
    /// in a Secrets Manager secret.
    Grant(commands::grant::Args),
    /// Delete the database and the secret that `ferry provision` made.
    Teardown(commands::teardown::Args),
    /// Provision the target, migrate the source into it, verify, and print the env lines.
    Up(commands::up::Args),
    /// Keep applying the source's changes to the target from the recorded position
    /// (after `ferry migrate --replicate`), or print how far it is with --status.
    Replicate(commands::replicate::Args),
    /// The app stopped writing: apply the last changes, move sequences, verify every value.
    Cutover(commands::replicate::CutoverArgs),
    /// Load a generated, deterministic dataset into a target and report its ingest speed.
    Bench(commands::bench::Args),
    /// Work with JSON reports: `compare BASE.json NEW.json` is a CI regression gate.
    Report(commands::report::Args),
}

/// Exit codes: 0 success, 1 the run finished but something is missing or differs,
/// 2 the run could not be done (bad input, connection, server error).
#[derive(Debug, Clone, Copy)]
pub enum Exit {
    /// Everything arrived / matched.
    Ok = 0,
    /// The run completed but rows are missing, rejected or different.
    Incomplete = 1,
    /// The run failed.
    Failed = 2,
    /// Stopped by SIGINT (Ctrl-C), the shell's 128 + 2.
    Interrupted = 130,
    /// Stopped by SIGTERM, the shell's 128 + 15.
    Terminated = 143,
}

fn main() -> ExitCode {
    ferry_malloc::tune();
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(err) => return usage_error(&err),
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    settings::set_verbose(cli.verbose);
    // The one place a run's settings are completed: flags, then --config, then env.
    if let Err(err) = settings::apply(&mut cli.command, &matches) {
        output::Channel::Stderr.line(&format!("ferry: {}", output::error_line(&err)));
        return ExitCode::from(Exit::Failed as u8);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("ferry: cannot start the async runtime: {err}");
            return ExitCode::from(Exit::Failed as u8);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Migrate(args) => commands::migrate::run(args).await,
            Command::Verify(args) => commands::verify::run(args).await,
            Command::Schema(args) => commands::schema::run(args).await,
            Command::Provision(args) => commands::provision::run(args).await,
            Command::Teardown(args) => commands::teardown::run(args).await,
            Command::Grant(args) => commands::grant::run(args).await,
            Command::Up(args) => commands::up::run(args).await,
            Command::Replicate(args) => commands::replicate::run(args).await,
            Command::Cutover(args) => commands::replicate::cutover(args).await,
            Command::Bench(args) => commands::bench::run(args).await,
            Command::Report(args) => commands::report::run(args),
        }
    });
    match result {
        // The output could not be written (not a closed pipe, which ends quietly).
        Ok(_) if output::write_failed() => ExitCode::from(Exit::Failed as u8),
        Ok(exit) => ExitCode::from(exit as u8),
        Err(err) => {
            output::Channel::Stderr.line(&format!("ferry: {}", output::error_line(&err)));
            ExitCode::from(Exit::Failed as u8)
        }
    }
}

/// Print a command-line error (or `--help` / `--version`) as clap would, except that a URL
/// typed where clap did not expect one has its password replaced by `***`.
fn usage_error(err: &clap::Error) -> ExitCode {
    let text = ferry_core::url_check::redact_userinfo(&err.render().to_string());
    if err.use_stderr() {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
}
