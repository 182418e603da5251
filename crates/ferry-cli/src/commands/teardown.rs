//! `ferry teardown`: delete what `ferry provision` made under a name, database first, then
//! the secret; with `--dry-run`, print what it would delete and change nothing. With
//! `--from`, replication into the target ends first: what it holds on the source (a
//! PostgreSQL slot, which would otherwise keep WAL forever) is dropped.

use crate::commands::provision::Reporter;
use crate::output::Channel;
use crate::secrets::AwsArgs;
use crate::Exit;
use anyhow::Context;
use ferry_aws::{AwsClients, TeardownSpec, WaitOptions};
use std::time::Duration;

/// Delete the database and the secret that `ferry provision --name NAME` made.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("snapshot").required(true).args(["final_snapshot", "skip_final_snapshot"])))]
pub struct Args {
    /// The name given to `ferry provision`.
    #[arg(long)]
    pub name: String,
    /// Take a final snapshot with this identifier (the secret is then kept recoverable for 30 days).
    #[arg(long, value_name = "ID")]
    pub final_snapshot: Option<String>,
    /// Delete without a final snapshot.
    #[arg(long)]
    pub skip_final_snapshot: bool,
    /// Turn deletion protection off first instead of refusing.
    #[arg(long)]
    pub force: bool,
    /// Print what would be deleted (after the same checks), change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How to print what was (or would be) deleted.
    #[arg(long, value_enum, default_value_t = super::TextOrJson::Text)]
    pub output: super::TextOrJson,
    /// Give up waiting for a deletion after this many minutes.
    #[arg(long, value_name = "MIN", default_value_t = 90)]
    pub wait_minutes: u64,
    /// The source this target replicates from (`ferry migrate --replicate`): replication
    /// ends first and what it holds there (a PostgreSQL source's slot and publication) is
    /// dropped, as `ferry replicate --stop` does. Without it the source is not touched.
    #[arg(long, value_name = "SOURCE_URL")]
    pub from: Option<String>,
    /// With --from: the target's URL when not the connection in the deployment's secret
    /// `ferry/NAME` (e.g. a tunnelled address).
    #[arg(long, value_name = "TARGET_URL", requires = "from")]
    pub to: Option<String>,
    /// With --from: `--ssh USER@HOST[:PORT]` and its companions, the target (private, as
    /// `ferry provision` makes it) through a bastion.
    #[command(flatten)]
    pub ssh: crate::tunnel::SshArgs,
    /// With --from: `--source-ssh USER@HOST[:PORT]` and its companions, the source through a
    /// bastion.
    #[command(flatten)]
    pub source_ssh: crate::tunnel::SourceSshArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// With `--from`: end the replication the target records and release what it holds on the
/// source, before anything is deleted (a failure here deletes nothing). Returns the line to
/// print, or `None` without `--from`.
async fn end_replication(args: &Args, dry_run: bool) -> anyhow::Result<Option<String>> {
    let Some(from) = &args.from else {
        return Ok(None);
    };
    crate::secrets::set_session_defaults(&args.aws);
    let to = args
        .to
        .clone()
        .unwrap_or_else(|| format!("secret://{}", ferry_aws::spec::secret_name(&args.name)));
    let from = super::resolve_url("--from", &Some(from.clone())).await?;
    let to = super::resolve_url("--to", &Some(to)).await?;
    let (from, to) = super::tunnel_pair(from, to, &args.source_ssh, &args.ssh).await?;
    let drivers = ferry_drivers::Drivers::default();
    let context = || {
        format!(
            "teardown {}: ending replication from {from} (nothing was deleted)",
            args.name
        )
    };
    if dry_run {
        let status = ferry_engine::replicate::status(&to, &drivers)
            .await
            .with_context(context)?;
        return Ok(Some(match status {
            Some(s) => format!(
                "would end replication at {} and release what it holds on {from}",
                s.position
            ),
            None => format!("no replication recorded in {to}: nothing to release on {from}"),
        }));
    }
    let opts = ferry_engine::replicate::ReplicateOptions {
        from: from.clone(),
        to: to.clone(),
        config: Default::default(),
        apply: Default::default(),
    };
    let ended = ferry_engine::replicate::stop(&opts, &drivers)
        .await
        .with_context(context)?;
    Ok(Some(match ended {
        Some(at) => format!("ended replication at {at}: released what it held on {from}"),
        None => format!("no replication recorded in {to}: nothing to release on {from}"),
    }))
}

/// Said when no `--from` was given: a slot on a PostgreSQL source outlives the target.
const SOURCE_NOT_TOUCHED: &str = "note: the source was not touched: if this target replicated from a PostgreSQL source, its slot keeps WAL there until `ferry replicate --stop` (or teardown with --from SOURCE_URL)";

/// Run `ferry teardown`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let clients = AwsClients::connect(&args.aws.options()).await?;
    let spec = TeardownSpec {
        name: args.name.clone(),
        final_snapshot: args.final_snapshot.clone(),
        force: args.force,
    };
    if args.dry_run {
        let mut lines = ferry_aws::plan_teardown(&clients, &spec)
            .await
            .with_context(|| format!("teardown {}", args.name))?;
        if !lines.is_empty() {
            lines.extend(end_replication(&args, true).await?);
        }
        if args.output == super::TextOrJson::Json {
            let doc = serde_json::json!({
                "name": args.name,
                "dry_run": true,
                "would": lines,
                "deleted": [],
            });
            Channel::Stdout.text(&format!("{doc:#}\n"));
            Channel::Stderr.line("ferry: dry run: nothing was changed");
            return Ok(Exit::Ok);
        }
        if lines.is_empty() {
            Channel::Stdout.line(&format!("nothing to tear down for `{}`", args.name));
        }
        for line in &lines {
            Channel::Stdout.line(line);
        }
        Channel::Stderr.line("ferry: dry run: nothing was changed");
        return Ok(Exit::Ok);
    }
    let wait = WaitOptions {
        timeout: Duration::from_secs(args.wait_minutes.max(1) * 60),
    };
    // Checked before deleting: a plan that finds nothing leaves the source alone too.
    let planned = ferry_aws::plan_teardown(&clients, &spec)
        .await
        .with_context(|| format!("teardown {}", args.name))?;
    let released = match planned.is_empty() {
        true => None,
        false => end_replication(&args, false).await?,
    };
    let progress = Reporter::new();
    let done = ferry_aws::teardown(&clients, &spec, &wait, &progress)
        .await
        .with_context(|| format!("teardown {}", args.name));
    progress.finish();
    let done = done?;
    let out = Channel::Stdout;
    if args.output == super::TextOrJson::Json {
        let doc = serde_json::json!({
            "name": args.name,
            "dry_run": false,
            "deleted": done.deleted,
            "final_snapshot": done.final_snapshot,
            "secret_recovery_days": done.secret_recovery_days,
            "replication": released,
        });
        out.text(&format!("{doc:#}\n"));
        return Ok(Exit::Ok);
    }
    if done.deleted.is_empty() {
        out.line(&format!("nothing to tear down for `{}`", args.name));
        return Ok(Exit::Ok);
    }
    if let Some(line) = &released {
        out.line(line);
    }
    for what in &done.deleted {
        out.line(&format!("deleted {what}"));
    }
    if args.from.is_none() {
        Channel::Stderr.line(SOURCE_NOT_TOUCHED);
    }
    if let Some(snap) = &done.final_snapshot {
        out.line(&format!("final snapshot {snap}"));
    }
    if let Some(days) = done.secret_recovery_days {
        out.line(&format!(
            "the secret stays recoverable for {days} days: it holds the snapshot's master password"
        ));
    }
    Ok(Exit::Ok)
}
