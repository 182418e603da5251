//! Where a run's settings come from, in one place: the command line, the `--config` file,
//! and the environment conventions users already have.
//!
//! Precedence, first wins:
//!
//! | setting | 1. flag | 2. `--config` file | 3. environment |
//! |---|---|---|---|
//! | source URL | `--from` | `from` | `FERRY_FROM`, then `DATABASE_URL` |
//! | target URL | `--to` | `to` | `FERRY_TO`, then `FERRY_URL` |
//! | run settings (`jobs`, `chunk-rows`, ...) | the flag | the key of the same name | the built-in default |
//!
//! `DATABASE_URL` is the application's database, so it is where data is read *from*;
//! `FERRY_URL` is what `ferry provision` prints for the new database, so it is where data
//! goes *to*. A URL is then completed per its dialect: a `postgres://` URL takes what it
//! leaves out from `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGSSLMODE`,
//! `PGSSLROOTCERT`, and its password from `PGPASSWORD`, else the password file
//! ([`pgpass`]); a `mysql://` URL its password from `MYSQL_PWD`. With `--verbose` ferry
//! says where each came from, never a password.

pub mod file;
pub mod pgenv;
pub mod pgpass;

use crate::Command;
use clap::parser::ValueSource;
use clap::{ArgMatches, ValueEnum};
use ferry_core::ConnUrl;
use ferry_engine::Config;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turn debug lines (`--verbose`) on.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// One debug line on stderr, with `--verbose` only. Never give it a password.
pub fn debug(line: &str) {
    if VERBOSE.load(Ordering::Relaxed) {
        eprintln!("ferry: debug: {line}");
    }
}

/// The process environment, as the resolution functions read it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Environment variables that give the source URL, in order.
pub const FROM_ENV: &[&str] = &["FERRY_FROM", "DATABASE_URL"];
/// Environment variables that give the target URL, in order.
pub const TO_ENV: &[&str] = &["FERRY_TO", "FERRY_URL"];

/// Fill `command`'s settings that the command line left out from its `--config` file, then
/// its URLs from the environment. `matches` are the parsed arguments (to tell a flag given
/// from a default).
pub fn apply(command: &mut Command, matches: &ArgMatches) -> anyhow::Result<()> {
    apply_with(command, matches, &process_env)
}

/// [`apply`] with the environment read through `env`.
pub fn apply_with(
    command: &mut Command,
    matches: &ArgMatches,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    let Some((_, sub)) = matches.subcommand() else {
        return Ok(());
    };
    let given = |id: &str| {
        sub.try_get_raw(id).is_ok()
            && matches!(sub.value_source(id), Some(ValueSource::CommandLine))
    };
    match command {
        Command::Migrate(a) => migrate(a, &given, env),
        Command::Verify(a) => verify(a, &given, env),
        Command::Schema(a) => schema(a, &given, env),
        Command::Replicate(crate::commands::replicate::Args { target: t, .. })
        | Command::Cutover(crate::commands::replicate::CutoverArgs { target: t, .. }) => {
            replicate(t, &given, env)
        }
        #[cfg(feature = "aws")]
        Command::Up(a) => up(a, &given, env),
        _ => Ok(()),
    }
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;
type Given<'a> = &'a dyn Fn(&str) -> bool;

/// One command's `--config` file (if any) and environment, below its flags.
struct Layer<'a> {
    file: Option<file::ConfigFile>,
    run: file::RunFile,
    env: Env<'a>,
}

impl<'a> Layer<'a> {
    fn open(config: Option<&Path>, env: Env<'a>) -> anyhow::Result<Self> {
        let file = load(config)?;
        let run = file.as_ref().map(|f| f.run.clone()).unwrap_or_default();
        Ok(Layer { file, run, env })
    }

    /// `--from`: the flag, else the file's `from`, else the environment.
    fn from(&self, field: &mut Option<String>) -> anyhow::Result<()> {
        let file = self.file.as_ref();
        pick_url(
            "--from",
            field,
            self.run.from.clone(),
            file,
            FROM_ENV,
            self.env,
        )
    }

    /// `--to`: the flag, else the file's `to`, else the environment.
    fn to(&self, field: &mut Option<String>) -> anyhow::Result<()> {
        let file = self.file.as_ref();
        pick_url("--to", field, self.run.to.clone(), file, TO_ENV, self.env)
    }

    /// The report files (`json`, `junit`, `summary_md`) the flags left out.
    fn reports(&self, given: Given, json: &mut Option<PathBuf>, ci: &mut crate::ci::CiArgs) {
        set(given, "json", json, self.run.json.clone().map(Some));
        set(
            given,
            "junit",
            &mut ci.junit,
            self.run.junit.clone().map(Some),
        );
        let md = self.run.summary_md.clone().map(Some);
        set(given, "summary_md", &mut ci.summary_md, md);
    }
}

fn migrate(a: &mut crate::commands::migrate::Args, given: Given, env: Env) -> anyhow::Result<()> {
    let l = Layer::open(a.config.as_deref(), env)?;
    let (run, origin) = (l.run.clone(), l.file.as_ref());
    l.from(&mut a.from)?;
    l.to(&mut a.to)?;
    set(given, "schema", &mut a.schema, run.schema.map(Some));
    set(given, "jobs", &mut a.jobs, run.jobs);
    set(given, "batch_rows", &mut a.batch_rows, run.batch_rows);
    set(given, "batch_bytes", &mut a.batch_bytes, run.batch_bytes);
    set(given, "chunk_rows", &mut a.chunk_rows, run.chunk_rows);
    let load = choice(origin, "mysql-load", run.mysql_load.as_deref())?;
    set(given, "mysql_load", &mut a.mysql_load, load.map(Some));
    let verify = choice(origin, "verify", run.verify.as_deref())?;
    set(given, "verify", &mut a.verify, verify);
    set(given, "show_values", &mut a.show_values, run.show_values);
    let if_exists = choice(origin, "if-exists", run.if_exists.as_deref())?;
    set(given, "if_exists", &mut a.if_exists, if_exists);
    let on_error = choice(origin, "on-error", run.on_error.as_deref())?;
    set(given, "on_error", &mut a.on_error, on_error);
    set(
        given,
        "allow_rejects",
        &mut a.allow_rejects,
        run.allow_rejects,
    );
    set(given, "reject_dir", &mut a.reject_dir, run.reject_dir);
    set(given, "resume", &mut a.resume, run.resume);
    set(given, "replicate", &mut a.replicate, run.replicate);
    set(
        given,
        "set_replica_identity",
        &mut a.set_replica_identity,
        run.set_replica_identity,
    );
    set(given, "iam_auth", &mut a.iam_auth, run.iam_auth);
    l.reports(given, &mut a.json, &mut a.ci);

    Ok(())
}

fn verify(a: &mut crate::commands::verify::Args, given: Given, env: Env) -> anyhow::Result<()> {
    let l = Layer::open(a.config.as_deref(), env)?;
    let (run, origin) = (l.run.clone(), l.file.as_ref());
    l.from(&mut a.from)?;
    l.to(&mut a.to)?;
    set(given, "schema", &mut a.schema, run.schema.map(Some));
    set(given, "jobs", &mut a.jobs, run.jobs);
    let verify: Option<crate::commands::migrate::VerifyArg> =
        choice(origin, "verify", run.verify.as_deref())?;
    let content = run
        .content
        .or(verify.map(|v| v == crate::commands::migrate::VerifyArg::Content));
    set(given, "content", &mut a.content, content);
    set(given, "show_values", &mut a.show_values, run.show_values);
    set(given, "iam_auth", &mut a.iam_auth, run.iam_auth);
    l.reports(given, &mut a.json, &mut a.ci);

    Ok(())
}

fn schema(a: &mut crate::commands::schema::Args, given: Given, env: Env) -> anyhow::Result<()> {
    let l = Layer::open(a.config.as_deref(), env)?;
    let (run, origin) = (l.run.clone(), l.file.as_ref());
    l.from(&mut a.from)?;
    // The target is optional here (only `--check` connects to it): the
    // environment's is not taken unless asked for.
    if a.check {
        l.to(&mut a.to)?;
    } else if a.to.is_none() && a.to_dialect.is_none() {
        pick_url("--to", &mut a.to, run.to.clone(), origin, &[], env)?;
    }
    set(given, "schema", &mut a.schema, run.schema.map(Some));

    Ok(())
}

fn replicate(
    t: &mut crate::commands::replicate::Target,
    given: Given,
    env: Env,
) -> anyhow::Result<()> {
    let l = Layer::open(t.config.as_deref(), env)?;
    let run = l.run.clone();
    l.from(&mut t.from)?;
    l.to(&mut t.to)?;
    set(given, "json", &mut t.json, run.json.map(Some));

    Ok(())
}

#[cfg(feature = "aws")]
fn up(a: &mut crate::commands::up::Args, given: Given, env: Env) -> anyhow::Result<()> {
    let l = Layer::open(a.config.as_deref(), env)?;
    let run = l.run.clone();
    l.from(&mut a.from)?;
    set(given, "schema", &mut a.schema, run.schema.map(Some));
    set(given, "jobs", &mut a.jobs, run.jobs);
    set(given, "json", &mut a.json, run.json.map(Some));

    Ok(())
}

/// The engine's part of the `--config` file (tables, types), or the default without one.
pub fn migration_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Ok(match load(path)? {
        Some(file) => file.migration,
        None => Config::default(),
    })
}

fn load(path: Option<&Path>) -> anyhow::Result<Option<file::ConfigFile>> {
    path.map(file::read).transpose()
}

/// Put the file's `value` into `field` unless the flag `id` was on the command line.
fn set<T>(given: &dyn Fn(&str) -> bool, id: &str, field: &mut T, value: Option<T>) {
    if given(id) {
        return;
    }
    if let Some(v) = value {
        *field = v;
    }
}

/// A config key whose value is one of a flag's choices.
fn choice<T: ValueEnum>(
    file: Option<&file::ConfigFile>,
    key: &str,
    value: Option<&str>,
) -> anyhow::Result<Option<T>> {
    let Some(value) = value else {
        return Ok(None);
    };
    T::from_str(value, true).map(Some).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        anyhow::anyhow!(
            "config `{}`: {key} = \"{}\": expected one of {}",
            file.map(|f| f.path.display().to_string())
                .unwrap_or_default(),
            value.escape_debug(),
            names.join(", ")
        )
    })
}

/// Where a URL came from, for `--verbose`.
fn pick_url(
    flag: &str,
    field: &mut Option<String>,
    from_file: Option<String>,
    file: Option<&file::ConfigFile>,
    env_names: &[&str],
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    let origin = if field.is_some() {
        format!("the {flag} flag")
    } else if let (Some(url), Some(file)) = (from_file, file) {
        let key = flag.trim_start_matches('-');
        if file.others_can_read && has_password(&url) {
            eprintln!(
                "ferry: warning: config `{}` holds a password in `{key}` and others may read \
                 the file (chmod 600 it, or leave the password to PGPASSWORD / MYSQL_PWD / \
                 ~/.pgpass)",
                file.path.display()
            );
        }
        *field = Some(url);
        format!("`{key}` in config `{}`", file.path.display())
    } else if let Some((name, url)) = env_names
        .iter()
        .find_map(|n| env(n).filter(|v| !v.is_empty()).map(|v| (*n, v)))
    {
        *field = Some(url);
        name.to_string()
    } else {
        return Ok(());
    };
    if let Some(text) = field.as_deref() {
        debug(&format!("{flag} {} (from {origin})", shown(text)));
    }
    Ok(())
}

/// A URL as it may be printed: parsed and redacted, or only its scheme when it does not
/// parse (the parse error comes later, from the command, without the text).
fn shown(text: &str) -> String {
    match ConnUrl::parse(text) {
        Ok(url) => url.to_string(),
        Err(_) => format!(
            "{}:...",
            text.split(':').next().unwrap_or_default().escape_debug()
        ),
    }
}

fn has_password(text: &str) -> bool {
    ConnUrl::parse(text).is_ok_and(|u| u.password().is_some())
}

/// The URL a command needs, or an error that says every place it may come from.
pub fn required<'a>(flag: &str, url: &'a Option<String>) -> anyhow::Result<&'a str> {
    url.as_deref().ok_or_else(|| {
        let (key, vars) = if flag == "--from" {
            ("from", FROM_ENV)
        } else {
            ("to", TO_ENV)
        };
        anyhow::anyhow!(
            "no {} URL: give {flag} URL, `{key} = \"URL\"` in the --config file, or set {}",
            if flag == "--from" { "source" } else { "target" },
            vars.join(" or ")
        )
    })
}

/// Complete a parsed URL from its dialect's environment (see the module notes); `flag`
/// names it in debug lines and errors.
pub fn complete(flag: &str, url: &mut ConnUrl) -> anyhow::Result<()> {
    complete_with(flag, url, &process_env)
}

/// [`complete`] with the environment read through `env`.
pub fn complete_with(
    flag: &str,
    url: &mut ConnUrl,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<()> {
    match url.dialect() {
        Some(ferry_core::Dialect::Postgres) => {
            let notes = pgenv::fill(url, env, &mut |w| eprintln!("ferry: warning: {w}"))
                .map_err(|e| e.context(flag.to_string()))?;
            for note in notes {
                debug(&format!("{flag}: {note}"));
            }
        }
        Some(ferry_core::Dialect::Mysql) if url.password().is_none() => {
            if let Some(pw) = env("MYSQL_PWD").filter(|v| !v.is_empty()) {
                debug(&format!("{flag}: password from MYSQL_PWD"));
                url.set_password(Some(ferry_core::url::Secret::new(pw)));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Refuse a run that writes (migrate, replicate) whose source and target are the same
/// database (`ferry verify` may compare a database with itself): with the environment
/// filling URLs in (`DATABASE_URL` pointing at the new database after a switch), it could
/// otherwise read and write, or drop, the same tables.
pub fn check_distinct(from: &ConnUrl, to: &ConnUrl) -> anyhow::Result<()> {
    let key = |u: &ConnUrl| {
        let d = u.dialect()?;
        if d == ferry_core::Dialect::Sqlite {
            return None;
        }
        let port = u.port.unwrap_or(match d {
            ferry_core::Dialect::Postgres => 5432,
            _ => 3306,
        });
        let host = u.host.clone().unwrap_or_else(|| "localhost".into());
        let host = if host == "127.0.0.1" || host == "::1" {
            "localhost".to_string()
        } else {
            host.to_ascii_lowercase()
        };
        Some((d, host, port, u.database.clone()))
    };
    if let (Some(a), Some(b)) = (key(from), key(to)) {
        if a == b {
            anyhow::bail!(
                "--from {from} and --to {to} are the same database; ferry copies between two \
                 databases (check FERRY_FROM / DATABASE_URL and FERRY_TO / FERRY_URL with \
                 --verbose)"
            );
        }
    }
    Ok(())
}
