//! Running the `ferry` binary.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Path of the `ferry` binary: `FERRY_BIN`, else `ferry` in the cargo profile directory the
/// test executable was built in (`target/debug/deps/x` -> `target/debug/ferry`).
pub fn ferry_bin() -> PathBuf {
    if let Ok(p) = std::env::var("FERRY_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test exe path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("ferry");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --bin ferry` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// The result of one `ferry` run.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Everything the run printed.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The result of a finished command.
    pub fn from_output(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Run `ferry` with arguments.
pub fn ferry(args: &[&str]) -> Run {
    Run::from_output(
        Command::new(ferry_bin())
            .args(args)
            .output()
            .expect("run ferry"),
    )
}
