//! `ferry teardown --from SOURCE`: a target that replicates from PostgreSQL holds a slot on
//! the source that would keep WAL forever once the target is gone. Teardown with `--from`
//! ends replication and drops the slot and publication before deleting the database; a
//! teardown that is refused, or that cannot read the target, deletes nothing and leaves the
//! source alone; without `--from` it says that it did not touch the source. AWS is moto on
//! loopback; source and target are the local PostgreSQL.

#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{endpoint, ferry_via, run, unique};
use ferry_test_support::{drop_replication_slots, exit_within, spawn_ferry, wait_for, PgDb};
use std::time::Duration;

/// A source database with one table, whose slots are dropped before the database.
struct Source(PgDb);

impl Source {
    fn new() -> Source {
        let db = PgDb::new("teardown_slot_src");
        db.exec(
            "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
             INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g;",
        );
        Source(db)
    }

    /// (replication slots, publications) of this database.
    fn held(&self) -> (i64, i64) {
        let slots = self.0.slots();
        let pubs = self.0.text("SELECT count(*) FROM pg_publication").unwrap();
        (slots, pubs.parse().unwrap())
    }

    /// `ferry migrate --replicate` into `target`, killed (SIGKILL) once the copy is done and
    /// replication recorded: the slot stays on the source, as after a crash.
    fn replicate_into(&self, target: &str) {
        let (mut child, rx) = spawn_ferry(&[
            "migrate",
            "--from",
            &self.0.url,
            "--to",
            target,
            "--replicate",
        ]);
        wait_for(&rx, "copy complete", Duration::from_secs(120));
        child.kill().unwrap();
        exit_within(&mut child, Duration::from_secs(10), "SIGKILL");
        assert_eq!(
            self.held(),
            (1, 1),
            "the copy left a slot and a publication"
        );
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        drop_replication_slots(&self.0.name);
    }
}

fn provision(name: &str) {
    let (code, _, err) = run(&mut ferry_via(
        &endpoint(),
        &["provision", "--engine", "postgres", "--name", name],
    ));
    assert_eq!(code, 0, "{err}");
}

fn teardown(name: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["teardown", "--name", name, "--skip-final-snapshot"];
    args.extend_from_slice(extra);
    run(&mut ferry_via(&endpoint(), &args))
}

#[test]
fn teardown_from_the_source_drops_the_slot_and_publication_first() {
    let name = unique("tdslot");
    provision(&name);
    let src = Source::new();
    let dst = PgDb::new("teardown_slot_dst");
    src.replicate_into(&dst.url);
    let from = src.0.url.as_str();
    let to = dst.url.as_str();

    // Refused (deletion protection, no --force): nothing deleted, the source untouched.
    let (code, out, err) = teardown(&name, &["--from", from, "--to", to]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("deletion protection"), "{err}");
    assert_eq!(src.held(), (1, 1));

    // A dry run says what it would end, and ends nothing.
    let (code, out, err) = teardown(&name, &["--force", "--dry-run", "--from", from, "--to", to]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("would end replication at ferry_"), "{out}");
    assert!(
        out.contains(&format!("would delete DB instance {name}")),
        "{out}"
    );
    assert_eq!(src.held(), (1, 1));

    // The target through the bastion, as a private provisioned database is reached.
    let b = ferry_test_support::ssh_bastion();
    let bastion = b.target();
    let (code, out, err) = teardown(
        &name,
        &[
            "--force",
            "--from",
            from,
            "--to",
            to,
            "--ssh",
            &bastion,
            "--ssh-key",
            &b.key,
            "--ssh-known-hosts",
            &b.known_hosts,
        ],
    );
    assert_eq!(code, 0, "{err}");
    let ended = out.find("ended replication at ferry_").expect(&out);
    let deleted = out
        .find(&format!("deleted DB instance {name}"))
        .expect(&out);
    assert!(
        ended < deleted,
        "replication ends before the database goes: {out}"
    );
    assert!(!err.contains("the source was not touched"), "{err}");
    assert_eq!(src.held(), (0, 0), "slot and publication dropped");
    for text in [&out, &err] {
        assert!(!text.contains("ferrytest"), "a password in {text}");
    }
}

#[test]
fn teardown_that_cannot_read_the_target_deletes_nothing_and_without_from_says_so() {
    let name = unique("tdslot2");
    provision(&name);
    let src = Source::new();
    let dst = PgDb::new("teardown_slot_dst2");
    src.replicate_into(&dst.url);
    let from = src.0.url.as_str();

    // The target cannot be reached: where the slot is cannot be known, so nothing happens.
    let nowhere = "postgres://ferry:secret-pw@127.0.0.1:1/nowhere";
    let (code, out, err) = teardown(&name, &["--force", "--from", from, "--to", nowhere]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("nothing was deleted"), "{err}");
    assert!(!err.contains("secret-pw"), "{err}");
    assert_eq!(src.held(), (1, 1));

    // A target with no replication recorded: nothing to release, the teardown goes on.
    let other = PgDb::new("teardown_slot_plain");
    let (code, out, err) = teardown(
        &name,
        &["--force", "--dry-run", "--from", from, "--to", &other.url],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no replication recorded"), "{out}");

    // Without --from the source is not touched, and teardown says so.
    let (code, out, err) = teardown(&name, &["--force"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("deleted DB instance {name}")),
        "{out}"
    );
    assert!(err.contains("the source was not touched"), "{err}");
    assert!(err.contains("ferry replicate --stop"), "{err}");
    assert_eq!(src.held(), (1, 1));
    // The slot is still recorded in the target, so `ferry replicate --stop` releases it.
    let stop =
        ferry_test_support::ferry(&["replicate", "--stop", "--from", from, "--to", &dst.url]);
    assert_eq!(stop.code, 0, "{}", stop.all());
    assert_eq!(src.held(), (0, 0));
}
