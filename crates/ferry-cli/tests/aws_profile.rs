//! `--aws-profile` (issue 17): `ferry bench --profile` names the generated dataset, so the
//! AWS profile that reads a `secret://` target is `--aws-profile` there, and on every other
//! command too (where `--profile` stays its alias). Proven against moto on loopback with a
//! named profile that exists only in a scratch AWS config: the credentials are in that
//! profile and nowhere else, so the run reaches the secret, and the database it names, only
//! when the profile is the one used.
// These go through AWS (moto): only in a build with the `aws` feature.
#![cfg(feature = "aws")]

mod common;

use common::{endpoint, moto_clients, run, unique};
use ferry_test_support::{pg_admin_url, PgDb, TempDir};
use std::process::Command;

/// The profile that holds the only credentials the runs have.
const PROFILE: &str = "ferry-bench-ci";

/// `ferry` whose only AWS credentials are profile [`PROFILE`] in a scratch config: no
/// AWS_* variables besides the endpoint, no instance metadata.
fn ferry_with_profile_files(tmp: &TempDir, args: &[&str]) -> Command {
    let config = tmp.join("config");
    let credentials = tmp.join("credentials");
    std::fs::write(
        &config,
        format!("[profile {PROFILE}]\nregion = us-east-1\n"),
    )
    .expect("config");
    std::fs::write(
        &credentials,
        format!("[{PROFILE}]\naws_access_key_id = testing\naws_secret_access_key = testing\n"),
    )
    .expect("credentials");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") || key == ferry_aws::TEST_ENDPOINT_OVERRIDE_ENV {
            cmd.env_remove(key);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_ENDPOINT_URL", endpoint())
        .args(args);
    cmd
}

/// A secret in moto naming `db` on the loopback PostgreSQL with the admin's password;
/// returns `secret://NAME`.
async fn secret_for(db: &PgDb) -> String {
    let admin = ferry_core::ConnUrl::parse(&pg_admin_url()).expect("admin URL");
    let name = unique("awsprof");
    let secret = serde_json::json!({
        "engine": "postgres",
        "host": admin.host.clone().expect("host"),
        "port": admin.port.expect("port"),
        "username": admin.user.clone().expect("user"),
        "password": admin.password().map(|p| p.expose().to_string()).unwrap_or_default(),
        "dbname": db.name,
    });
    moto_clients()
        .await
        .secrets
        .create_secret()
        .name(&name)
        .secret_string(secret.to_string())
        .send()
        .await
        .expect("secret");
    format!("secret://{name}")
}

#[tokio::test]
async fn bench_reads_a_secret_target_with_the_aws_profile_and_profile_names_the_dataset() {
    let tmp = TempDir::new("aws_profile");
    let db = PgDb::new("awsprof");
    let target = secret_for(&db).await;
    let bench = |extra: &[&str]| {
        let mut args = vec!["bench", "--to", &target, "--rows", "300"];
        args.extend_from_slice(extra);
        run(&mut ferry_with_profile_files(&tmp, &args))
    };

    // Without the profile there are no credentials: the secret cannot be read.
    let (code, out, err) = bench(&["--profile", "narrow"]);
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert!(err.contains(&format!("--to {target}")), "{err}");
    assert_eq!(db.text("SELECT to_regclass('bench_narrow')::text"), None);

    // With it, the dataset is `--profile narrow` and the secret's database gets its rows.
    let (code, out, err) = bench(&["--profile", "narrow", "--aws-profile", PROFILE]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(
        db.text("SELECT count(*)::text FROM bench_narrow")
            .as_deref(),
        Some("300")
    );

    // An AWS profile name given to `--profile` is a dataset it does not know; the error
    // points at `--aws-profile`.
    let (code, _, err) = bench(&["--profile", PROFILE]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("unknown dataset profile `{PROFILE}`"))
            && err.contains("the AWS profile is `--aws-profile`"),
        "{err}"
    );
}

#[tokio::test]
async fn other_commands_take_aws_profile_and_still_accept_profile() {
    let tmp = TempDir::new("aws_profile_migrate");
    let source = PgDb::new("awsprof_src");
    source.exec("CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)");
    let db = PgDb::new("awsprof_dst");
    let target = secret_for(&db).await;
    let migrate = |extra: &[&str]| {
        let mut args = vec!["migrate", "--from", &source.url, "--to", &target];
        args.extend_from_slice(extra);
        run(&mut ferry_with_profile_files(&tmp, &args))
    };
    let (code, _, err) = migrate(&[]);
    assert_eq!(code, 2, "no profile, no credentials: {err}");
    // `--profile` is still the AWS profile of migrate (an alias of `--aws-profile`).
    let (code, out, err) = migrate(&["--profile", PROFILE]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(
        db.text("SELECT count(*)::text FROM t").as_deref(),
        Some("3")
    );
    let (code, out, err) = run(&mut ferry_with_profile_files(
        &tmp,
        &[
            "verify",
            "--from",
            &source.url,
            "--to",
            &target,
            "--aws-profile",
            PROFILE,
        ],
    ));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
}
