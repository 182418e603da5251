//! `ferry teardown`: delete what `ferry provision` made under a name, database first, then
//! the secret; with `--dry-run`, print what it would delete and change nothing.

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
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Run `ferry teardown`.
pub async fn run(args: Args) -> anyhow::Result<Exit> {
    let clients = AwsClients::connect(&args.aws.options()).await?;
    let spec = TeardownSpec {
        name: args.name.clone(),
        final_snapshot: args.final_snapshot.clone(),
        force: args.force,
    };
    if args.dry_run {
        let lines = ferry_aws::plan_teardown(&clients, &spec)
            .await
            .with_context(|| format!("teardown {}", args.name))?;
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
        });
        out.text(&format!("{doc:#}\n"));
        return Ok(Exit::Ok);
    }
    if done.deleted.is_empty() {
        out.line(&format!("nothing to tear down for `{}`", args.name));
        return Ok(Exit::Ok);
    }
    for what in &done.deleted {
        out.line(&format!("deleted {what}"));
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
