//! The lean build (`cargo build -p ferry-cli --no-default-features`, no AWS SDK) against the
//! loopback PostgreSQL: it migrates and verifies, and everything that needs AWS says
//! clearly that this build lacks it. `scripts/test` runs these with the feature off.
#![cfg(not(feature = "aws"))]

use ferry_test_support::{repo_root, PgDb, Run};
use std::process::Command;

fn ferry(args: &[&str]) -> Run {
    Run::from_output(
        Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(args)
            .output()
            .expect("ferry runs"),
    )
}

fn chinook() -> String {
    format!(
        "sqlite:{}",
        repo_root()
            .join("fixtures/chinook/Chinook_Sqlite.sqlite")
            .display()
    )
}

const LACKS: &str = "built without AWS support";

#[test]
fn migrates_and_verifies_without_aws() {
    let db = PgDb::new("noaws");
    let run = ferry(&["migrate", "--from", &chinook(), "--to", &db.url]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        db.text("SELECT count(*) FROM \"Track\"").as_deref(),
        Some("3503")
    );
    let run = ferry(&["verify", "--content", "--from", &chinook(), "--to", &db.url]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn aws_features_say_this_build_lacks_them() {
    let db = PgDb::new("noaws_refused");
    for args in [
        vec![
            "migrate",
            "--from",
            "secret://ferry/src",
            "--to",
            db.url.as_str(),
        ],
        vec!["verify", "--from", &chinook(), "--to", "secret://ferry/dst"],
        vec![
            "migrate",
            "--from",
            &chinook(),
            "--to",
            db.url.as_str(),
            "--iam-auth",
        ],
        vec!["provision", "--engine", "postgres", "--name", "x"],
        vec!["up", "--from", &chinook()],
        vec!["teardown", "--name", "x", "--yes"],
    ] {
        let run = ferry(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(run.stderr.contains(LACKS), "{args:?}: {}", run.all());
        assert!(
            !run.all().contains("ferrytest"),
            "no password: {}",
            run.all()
        );
    }
}
