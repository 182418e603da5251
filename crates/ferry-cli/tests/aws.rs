//! `ferry provision` / `ferry teardown` through the binary, against moto on loopback
//! (`scripts/servers.sh start moto`; `FERRY_TEST_AWS_ENDPOINT` overrides the default
//! `http://127.0.0.1:55500`). Refuses to run against anything but loopback.

use std::process::{Command, Output};

fn endpoint() -> String {
    let url = std::env::var("FERRY_TEST_AWS_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:55500".to_string());
    assert!(
        ferry_aws::endpoint_is_loopback(&url),
        "refusing to run: FERRY_TEST_AWS_ENDPOINT={url} is not a loopback address"
    );
    url
}

/// `ferry` with dummy credentials, no instance metadata, no user config, and every AWS call
/// sent to the emulator.
fn ferry(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") || key == ferry_aws::TEST_ENDPOINT_OVERRIDE_ENV {
            cmd.env_remove(key);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/ferry-test")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/ferry-test")
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_REGION", "us-east-1")
        .args(args);
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("ferry runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000)
}

static ENV: std::sync::Once = std::sync::Once::new();

/// The password in secret `ferry/NAME`, read in-process (so the test can prove it never
/// reaches the binary's output).
async fn secret_password(name: &str) -> String {
    ENV.call_once(|| {
        // Set once, before this process builds its only client; the children get their
        // environment explicitly from `ferry()`.
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/ferry-test");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/ferry-test");
    });
    let opts = ferry_aws::AwsOptions {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint()),
    };
    let clients = ferry_aws::AwsClients::connect(&opts)
        .await
        .expect("clients");
    let s = ferry_aws::secret::read_secret(&clients, &format!("ferry/{name}"))
        .await
        .expect("secret");
    s.password.expose().to_string()
}

#[tokio::test]
async fn provision_rerun_and_teardown_through_the_binary() {
    let name = unique("cli");
    let (code, out, err) = run(&mut ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        &name,
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("PG_HOST="), "{out}");
    for key in [
        "PG_PORT=5432",
        "PG_DATABASE=",
        "PG_CREDENTIALS_SECRET=arn:",
        "FERRY_URL=secret://arn:",
    ] {
        assert!(out.contains(key), "{key} in {out}");
    }
    assert!(err.contains("creating secret"), "{err}");
    let password = secret_password(&name).await;

    let (code, again, err2) = run(&mut ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        &name,
    ]));
    assert_eq!(code, 0, "{err2}");
    assert_eq!(again, out, "re-run reports the same connection");
    assert!(err2.contains("found DB instance"), "{err2}");

    let (code, json, _) = run(&mut ferry(&[
        "provision",
        "--engine",
        "postgres",
        "--name",
        &name,
        "--output",
        "json",
    ]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["PG_PORT"], "5432");

    let (code, _, err3) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
    ]));
    assert_eq!(code, 2);
    assert!(
        err3.contains("deletion protection") && err3.contains("--force"),
        "{err3}"
    );
    assert_eq!(err3.trim().lines().count(), 1, "one line: {err3}");

    let (code, gone, err4) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
        "--force",
    ]));
    assert_eq!(code, 0, "{err4}");
    assert!(
        gone.contains(&format!("deleted DB instance {name}")),
        "{gone}"
    );
    assert!(
        gone.contains(&format!("deleted secret ferry/{name}")),
        "{gone}"
    );

    for text in [&out, &err, &again, &err2, &json, &err3, &gone, &err4] {
        assert!(!text.contains(&password), "password leaked");
    }
}

#[test]
fn dry_run_prints_the_plan_and_creates_nothing() {
    let name = unique("clidry");
    let args = [
        "provision",
        "--engine",
        "aurora-postgresql",
        "--name",
        &name,
        "--serverless-v2",
        "0.5-2",
        "--read-replica",
        "--dry-run",
    ];
    let (code, out, err) = run(&mut ferry(&args));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("would create: DB cluster"), "{out}");
    assert!(out.contains("publicly_accessible = false"), "{out}");
    let (code, _, _) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
    ]));
    assert_eq!(code, 0);
    let (_, out, _) = run(&mut ferry(&[
        "teardown",
        "--name",
        &name,
        "--skip-final-snapshot",
    ]));
    assert!(out.contains("nothing to tear down"), "{out}");
}

#[test]
fn bad_input_gives_one_line_and_exit_2() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["provision", "--engine", "oracle", "--name", "x"],
            "unknown engine `oracle`",
        ),
        (
            &[
                "provision",
                "--engine",
                "mysql",
                "--name",
                "x",
                "--serverless-v2",
                "0.5-2",
            ],
            "--serverless-v2 needs an Aurora engine",
        ),
        (
            &["provision", "--engine", "mysql", "--name", "Bad_Name"],
            "--name `Bad_Name`",
        ),
    ];
    for (args, want) in cases {
        let (code, _, err) = run(&mut ferry(args));
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let (code, _, err) =
        run(ferry(&["provision", "--engine", "mysql", "--name", "x"]).env_remove("AWS_REGION"));
    assert_eq!(code, 2);
    assert!(err.contains("no AWS region"), "{err}");
    let (code, _, err) = run(ferry(&["provision", "--engine", "mysql", "--name", "x"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY"));
    assert_eq!(code, 2);
    assert!(err.contains("no AWS credentials"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"));
}
