//! `ferry` running in the background for the replication tests, and their seeded randomness.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// Start `ferry args...` in the background; its stderr lines arrive on the channel.
pub fn spawn_ferry(args: &[&str]) -> (Child, Receiver<String>) {
    let mut child = Command::new(crate::ferry_bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferry");
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

/// Read lines until one contains `needle` and return them all; panics with what was seen
/// when none does within `limit`.
pub fn wait_for(rx: &Receiver<String>, needle: &str, limit: Duration) -> Vec<String> {
    let start = Instant::now();
    let mut seen = Vec::new();
    while start.elapsed() < limit {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            let hit = line.contains(needle);
            seen.push(line);
            if hit {
                return seen;
            }
        }
    }
    panic!("`{needle}` not seen within {limit:?}: {seen:#?}");
}

/// xorshift, seeded from the clock unless FERRY_TEST_SEED is set; the seed is printed so a
/// failing run can be repeated.
pub fn seeded_rng() -> impl FnMut() -> f64 {
    let seed: u64 = std::env::var("FERRY_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    eprintln!("FERRY_TEST_SEED={seed}");
    let mut s = seed;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The child's exit status once it exits within `limit`; `None` (and the child killed) when
/// it is still running then.
pub fn exits_within(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("wait for ferry") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The child's exit status, which must come within `limit`: panics with `still` otherwise.
pub fn exit_within(child: &mut Child, limit: Duration, still: &str) -> ExitStatus {
    exits_within(child, limit).unwrap_or_else(|| panic!("{still} after {limit:?}"))
}
