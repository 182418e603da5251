//! `ferry replicate` (keep applying source changes, or `--status`) and `ferry cutover`
//! (drain, move sequences, verify every value, say whether it is safe to switch).

use crate::output::{self, Channel, Progress};
use crate::signals;
use crate::Exit;
use ferry_drivers::Drivers;
use ferry_engine::replicate::{ApplyOptions, ApplyStats, ReplicateOptions};
use ferry_engine::RunStatus;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// Where replication runs (shared by `replicate` and `cutover`).
#[derive(Debug, clap::Args)]
pub struct Target {
    /// Source URL (the one the copy read); default as for `ferry migrate`: `from` in the
    /// --config file, FERRY_FROM, DATABASE_URL.
    #[arg(long)]
    pub from: Option<String>,
    /// Target URL (the one the copy wrote); default: `to` in the --config file, FERRY_TO,
    /// FERRY_URL.
    #[arg(long)]
    pub to: Option<String>,
    /// The copy's config file (the same tables and types).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Write a JSON report (position, transactions, changes, lag) to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// `--ssh USER@HOST[:PORT]` and its companions: the target through a bastion.
    #[command(flatten)]
    pub ssh: crate::tunnel::SshArgs,
    /// `--source-ssh USER@HOST[:PORT]` and its companions: the source through a bastion.
    #[command(flatten)]
    pub source_ssh: crate::tunnel::SourceSshArgs,
    /// AWS settings for `secret://` URLs.
    #[command(flatten)]
    pub aws: crate::secrets::AwsArgs,
}

/// Options of `ferry replicate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Print how far the target is (the recorded position and lag) and exit.
    #[arg(long)]
    pub status: bool,
    /// End replication without a cutover: drop what it holds on the source (a PostgreSQL
    /// source's replication slot and publication); it cannot resume afterwards.
    #[arg(long, conflicts_with = "status")]
    pub stop: bool,
}

/// Options of `ferry cutover`.
#[derive(Debug, clap::Args)]
pub struct CutoverArgs {
    #[command(flatten)]
    pub target: Target,
    /// How long to wait for a running `ferry replicate` to stop, e.g. `90s`, `5m`.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("`{s}`: expected e.g. 90s, 5m, 1h"))?;
    Ok(Duration::from_secs(match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{s}`: expected e.g. 90s, 5m, 1h")),
    }))
}

/// One line to stdout (a closed pipe ends ferry quietly).
fn out(line: &str) {
    Channel::Stdout.line(line);
}

async fn options(t: &Target) -> anyhow::Result<ReplicateOptions> {
    let (from, to) = super::resolve_pair(&t.from, &t.to, &t.aws, false).await?;
    crate::settings::check_distinct(&from, &to)?;
    let (from, to) = super::tunnel_pair(from, to, &t.source_ssh, &t.ssh).await?;
    Ok(ReplicateOptions {
        from,
        to,
        config: crate::settings::migration_config(t.config.as_deref())?,
        apply: ApplyOptions::default(),
    })
}

fn stats_json(s: &ApplyStats) -> serde_json::Value {
    json!({
        "position": s.position.as_ref().map(|p| p.0.clone()),
        "transactions": s.transactions,
        "changes": s.changes,
        "commits": s.commits,
        "lag_seconds": s.lag_seconds,
        "retries": s.retries,
        "stopped_for_cutover": s.stopped_for_cutover,
    })
}

fn write(path: &Option<PathBuf>, value: &serde_json::Value) -> anyhow::Result<()> {
    if let Some(p) = path {
        std::fs::write(p, serde_json::to_vec_pretty(value)?)?;
    }
    Ok(())
}

/// Say so when a cutover took over (the applier drained to its position and stopped).
pub fn stopped(stats: &ApplyStats) {
    if stats.stopped_for_cutover {
        let at = stats.position.as_ref().map(|p| p.0.as_str()).unwrap_or("-");
        Channel::Stderr.line(&format!(
            "replication stopped at {at}: a cutover asked for it"
        ));
    }
}

/// Run `ferry replicate`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let opts = options(&args.target).await?;
    if args.status {
        let status = ferry_engine::replicate::status(&opts.to, &Drivers::default()).await?;
        let Some(s) = status else {
            println!("no replication recorded in {}", opts.to);
            return Ok(Exit::Incomplete);
        };
        println!("position      {}", s.position);
        println!("applied at    {}", s.applied_at.as_deref().unwrap_or("-"));
        println!(
            "source commit {}",
            s.source_commit.as_deref().unwrap_or("-")
        );
        match s.lag_seconds {
            Some(l) => println!("lag           {l:.1}s"),
            None => println!("lag           -"),
        }
        match ferry_engine::replicate::source_notes(&opts.from, &s.position, &Drivers::default())
            .await
        {
            Ok(notes) => notes
                .iter()
                .for_each(|n| Channel::Stderr.line(&format!("warning: {n}"))),
            Err(e) => Channel::Stderr.line(&format!(
                "warning: reading the source's replication state: {e}"
            )),
        }
        write(
            &args.target.json,
            &json!({"position": s.position.0, "applied_at": s.applied_at, "source_commit": s.source_commit, "lag_seconds": s.lag_seconds}),
        )?;
        return Ok(Exit::Ok);
    }
    if args.stop {
        return Ok(
            match ferry_engine::replicate::stop(&opts, &Drivers::default()).await? {
                Some(at) => {
                    out(&format!(
                        "replication ended at {at}: what it held on the source was released"
                    ));
                    Exit::Ok
                }
                None => {
                    Channel::Stderr.line(&format!("no replication recorded in {}", opts.to));
                    Exit::Incomplete
                }
            },
        );
    }
    follow(&opts, &Drivers::default(), &args.target.json).await
}

/// Apply the source's changes until stopped: by a cutover (exit 0), an error, SIGINT or
/// SIGTERM. However it ends, the user is told what it leaves on the source (a PostgreSQL
/// slot holding WAL) and how to go on; `ferry migrate --replicate` ends the same way.
pub async fn follow(
    opts: &ReplicateOptions,
    drivers: &Drivers,
    json: &Option<PathBuf>,
) -> anyhow::Result<Exit> {
    let progress = Progress::new();
    let run = signals::until_first(ferry_engine::replicate::replicate(
        opts,
        drivers,
        progress.handler(),
    ))
    .await;
    progress.finish();
    match run {
        signals::Ended::Done(Ok(stats)) => {
            stopped(&stats);
            write(json, &stats_json(&stats))?;
            Ok(Exit::Ok)
        }
        signals::Ended::Done(Err(e)) => {
            left_behind(opts, drivers, None).await;
            Err(e.into())
        }
        signals::Ended::Signal(name, exit) => {
            left_behind(opts, drivers, Some(name)).await;
            Ok(exit)
        }
    }
}

/// Say where replication stopped and what it holds on the source (a PostgreSQL slot's
/// retained WAL, and how to release it), so no slot is left behind silently. Best effort
/// and bounded: a server that does not answer within 15 s gets a warning instead.
async fn left_behind(opts: &ReplicateOptions, drivers: &Drivers, signal: Option<&str>) {
    let say = |line: String| Channel::Stderr.line(&line);
    let read = async {
        let status = ferry_engine::replicate::status(&opts.to, drivers).await?;
        let Some(s) = status else {
            return Ok::<_, ferry_core::Error>(None);
        };
        let notes = ferry_engine::replicate::source_notes(&opts.from, &s.position, drivers).await;
        Ok(Some((s.position, notes)))
    };
    match tokio::time::timeout(Duration::from_secs(15), read).await {
        Ok(Ok(Some((at, notes)))) => {
            if let Some(sig) = signal {
                say(format!(
                    "ferry: {sig}: replication stopped at {at}; `ferry replicate` continues from there, `ferry cutover` finishes"
                ));
            }
            match notes {
                Ok(notes) => notes.iter().for_each(|n| say(format!("warning: {n}"))),
                Err(e) => say(format!(
                    "warning: reading what replication holds on the source: {e}"
                )),
            }
        }
        Ok(Ok(None)) => {
            if let Some(sig) = signal {
                say(format!("ferry: {sig}: replication stopped"));
            }
        }
        Ok(Err(e)) => say(format!(
            "warning: replication stopped; reading its recorded position failed: {e}"
        )),
        Err(_) => say(
            "warning: replication stopped; its recorded position could not be read within 15 s (`ferry replicate --status` shows it)".to_string(),
        ),
    }
}

/// Run `ferry cutover`.
pub async fn cutover(args: CutoverArgs) -> anyhow::Result<Exit> {
    let opts = options(&args.target).await?;
    let progress = Progress::new();
    let done = ferry_engine::replicate::cutover(
        &opts,
        &Drivers::default(),
        args.timeout,
        progress.handler(),
    )
    .await;
    progress.finish();
    let done = done?;
    output::print_verify(&done.verify, Channel::Stdout);
    let equal = done.verify.status == RunStatus::Complete;
    write(
        &args.target.json,
        &json!({
            "until": done.until.0,
            "applied": stats_json(&done.applied),
            "drain_seconds": done.drain_seconds,
            "equal": equal,
            "verify": done.verify,
        }),
    )?;
    if equal {
        out(&format!(
            "safe to switch: the target holds every change up to {} and every value matches",
            done.until
        ));
        Ok(Exit::Ok)
    } else {
        Channel::Stderr.line("NOT safe to switch: the target differs from the source (see above)");
        Ok(Exit::Incomplete)
    }
}
