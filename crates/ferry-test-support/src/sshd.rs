//! An OpenSSH server of a test's own, for tests that kill the bastion: the config and keys
//! of `scripts/servers.sh start sshd` on another (free) port, in the foreground, with a
//! debug log, stopped by PID (the listener and the session processes it forked), so the
//! shared sshd is never touched.

use crate::env::SshBastion;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A loopback port free right now (a fixed port could be any outgoing connection's local
/// port at the time).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running sshd of the test's own.
pub struct OwnSshd {
    child: Child,
    /// Its loopback port.
    pub port: u16,
    /// Its log (LogLevel DEBUG1: it names every forwarded connection's target).
    pub log: PathBuf,
    config: String,
}

impl OwnSshd {
    /// Start one with `bastion`'s config and keys on a free port, logging to `log`.
    pub fn start(bastion: &SshBastion, log: &Path) -> OwnSshd {
        OwnSshd::start_on(&bastion.config, free_port(), log)
    }

    fn start_on(config: &str, port: u16, log: &Path) -> OwnSshd {
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-f", config, "-o"])
            .arg(format!("Port={port}"))
            .args(["-o", "PidFile=none", "-o", "LogLevel=DEBUG1", "-E"])
            .arg(log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd (scripts/servers.sh start sshd installs it)");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "sshd did not listen on {port}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        OwnSshd {
            child,
            port,
            log: log.to_path_buf(),
            config: config.to_string(),
        }
    }

    /// A known_hosts line for this instance (the shared host key on this port).
    pub fn known_hosts_line(&self) -> String {
        let path = Path::new(&self.config).with_file_name("host_ed25519.pub");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut parts = text.split_whitespace();
        let kind = parts.next().expect("key type");
        let blob = parts.next().expect("key");
        format!("[127.0.0.1]:{} {kind} {blob}\n", self.port)
    }

    /// SIGKILL the listener and every session process it forked (found through their
    /// parent ids, so only this sshd's processes are touched), as a crashed bastion.
    pub fn kill_all(&mut self) {
        let mut pids = vec![self.child.id()];
        let mut i = 0;
        while i < pids.len() {
            pids.extend(children_of(pids[i]));
            i += 1;
        }
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(pids.iter().map(u32::to_string))
            .output();
        let _ = self.child.wait();
    }

    /// Start it again on the same port, appending to the same log.
    pub fn restart(&mut self) {
        *self = OwnSshd::start_on(&self.config.clone(), self.port, &self.log.clone());
    }
}

impl Drop for OwnSshd {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill_all();
        }
    }
}

fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    // pid (comm) state ppid ...: comm may hold spaces, so split after `)`.
                    let rest = s.rsplit_once(')')?.1;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}
