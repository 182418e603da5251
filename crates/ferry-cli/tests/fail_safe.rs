//! Provisioning that fails safe (issue 11, part 9), through the binary against moto on
//! loopback: `ferry up` checks `--from` before creating anything; `ferry teardown` refuses
//! before its first change (a taken final-snapshot id, a resource without both ferry tags),
//! turns deletion protection back on when a step fails, and `--dry-run` changes nothing.
// These go through AWS (moto): only in a build with the `aws` feature.
#![cfg(feature = "aws")]

#[path = "../../ferry-aws/tests/common/throttle.rs"]
mod throttle;

mod common;

use common::{endpoint, moto_clients, run, unique};
use ferry_aws::discover::{find_instance, find_secret};
use std::process::Command;
use throttle::{Rule, ThrottleProxy};

fn ferry(args: &[&str]) -> Command {
    common::ferry_via(&endpoint(), args)
}

/// `ferry provision --engine postgres --name NAME` (deletion protection on).
fn provision(name: &str) {
    let (code, _, err) = run(&mut ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        name,
    ]));
    assert_eq!(code, 0, "{err}");
}

fn teardown_for_good(name: &str) {
    let (code, _, err) = run(&mut ferry(&[
        "teardown",
        "--name",
        name,
        "--skip-final-snapshot",
        "--force",
    ]));
    assert_eq!(code, 0, "{err}");
}

/// Whether DB instance `name` exists with deletion protection on, and secret `ferry/NAME`
/// exists and is not scheduled for deletion.
async fn intact(name: &str) -> bool {
    let c = moto_clients().await;
    let db = find_instance(&c, name).await.expect("describe");
    let secret = find_secret(&c, &format!("ferry/{name}"))
        .await
        .expect("describe secret");
    db.is_some_and(|d| d.deletion_protection && d.status != "deleting")
        && secret.is_some_and(|s| !s.pending_deletion)
}

#[tokio::test]
async fn up_with_a_bad_source_creates_nothing() {
    let name = unique("upbad");
    let missing = std::env::temp_dir().join(format!("{name}-missing.db"));
    for from in [
        format!("sqlite:{}", missing.display()),
        // Nobody listens on loopback port 1.
        "postgres://app:pw@127.0.0.1:1/shop".to_string(),
        "postgress://typo".to_string(),
    ] {
        let (code, out, err) = run(&mut ferry(&[
            "up", "--from", &from, "--engine", "postgres", "--name", &name,
        ]));
        assert_eq!(code, 2, "{from}: {out}{err}");
        assert!(err.contains("--from"), "{from}: {err}");
        assert!(!err.contains("creating"), "{from}: {err}");
        assert_eq!(out, "", "{from}");
    }
    assert!(!missing.exists());
    let c = moto_clients().await;
    assert_eq!(
        find_secret(&c, &format!("ferry/{name}"))
            .await
            .expect("describe"),
        None,
        "no secret"
    );
    assert_eq!(
        find_instance(&c, &name).await.expect("describe"),
        None,
        "no instance"
    );
}

#[tokio::test]
async fn teardown_dry_run_changes_nothing() {
    let name = unique("tddry");
    provision(&name);
    let (code, _, err) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
        "--dry-run",
    ]));
    assert_eq!(code, 2, "the same refusal as a real run: {err}");
    assert!(err.contains("--force"), "{err}");
    let (code, out, err) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
        "--force",
        "--dry-run",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "would turn deletion protection off on DB instance {name}\n\
             would delete DB instance {name} without a final snapshot\n\
             would delete secret ferry/{name} at once, without recovery\n"
        )
    );
    assert!(intact(&name).await, "nothing changed");
    teardown_for_good(&name);
    let (code, out, _) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
        "--dry-run",
    ]));
    assert_eq!(code, 0);
    assert!(out.contains("nothing to tear down"), "{out}");
}

#[tokio::test]
async fn teardown_refuses_a_taken_final_snapshot_id_before_changing_anything() {
    let name = unique("tdsnap");
    provision(&name);
    let snap = format!("{name}-taken");
    let c = moto_clients().await;
    c.rds
        .create_db_snapshot()
        .db_instance_identifier(&name)
        .db_snapshot_identifier(&snap)
        .send()
        .await
        .expect("snapshot");
    let (code, out, err) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--final-snapshot",
        &snap,
        "--force",
    ]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!("final snapshot `{snap}` already exists")),
        "{err}"
    );
    assert!(!err.contains("turned deletion protection off"), "{err}");
    assert!(intact(&name).await, "nothing changed");
    let (code, _, err) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--final-snapshot",
        "Bad_Snapshot",
        "--force",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--final-snapshot `Bad_Snapshot`"), "{err}");
    assert!(intact(&name).await, "nothing changed");
    teardown_for_good(&name);
    let _ = c
        .rds
        .delete_db_snapshot()
        .db_snapshot_identifier(&snap)
        .send()
        .await;
}

#[tokio::test]
async fn teardown_needs_both_ferry_tags() {
    let name = unique("tdtags");
    let c = moto_clients().await;
    // Someone else's instance that carries only one of ferry's tags.
    c.rds
        .create_db_instance()
        .db_instance_identifier(&name)
        .engine("postgres")
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .master_username("owner")
        .master_user_password("not-ferrys-42")
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("ferry:name")
                .value(&name)
                .build(),
        )
        .send()
        .await
        .expect("instance");
    let (code, _, err) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
        "--force",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("was not created by ferry"), "{err}");
    let db = find_instance(&c, &name).await.expect("describe");
    assert!(db.is_some_and(|d| d.status != "deleting"), "still there");
    c.rds
        .delete_db_instance()
        .db_instance_identifier(&name)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("clean up");
}

#[tokio::test]
async fn a_failed_teardown_turns_deletion_protection_back_on() {
    let name = unique("tdfail");
    provision(&name);
    let proxy = ThrottleProxy::start(&endpoint(), vec![Rule::every("DeleteDBInstance")]);
    let (code, out, err) = run(common::ferry_via(
        proxy.url(),
        &[
            "teardown",
            "--name",
            &name,
            "--skip-final-snapshot",
            "--force",
        ],
    )
    .env("RUST_BACKTRACE", "0")
    .args(["--endpoint-url", proxy.url()]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("DeleteDBInstance"), "{err}");
    assert!(
        err.contains(&format!(
            "turned deletion protection back on on DB instance {name}"
        )),
        "{err}"
    );
    assert!(intact(&name).await, "protected again, secret kept");
    teardown_for_good(&name);
}
