//! A tunnel through a real OpenSSH server (a second sshd of this test's own, started from
//! the config of `scripts/servers.sh start sshd` on its own port and stopped by PID): bytes
//! go through to an echo server, and after the bastion is killed (the listener and its
//! session processes) and started again, the same tunnel opens a new SSH session for the
//! next connection. While it is down, a connection is closed and the failure reported.

use ferry_test_support::OwnSshd;
use ferry_tunnel::{Tunnel, TunnelError, TunnelOptions};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn echo_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    port
}

/// Send `msg` through the tunnel and read it back; `Err` when the connection is closed.
async fn round_trip(tunnel: &Tunnel, msg: &[u8]) -> Result<Vec<u8>, String> {
    let mut s = tokio::net::TcpStream::connect(tunnel.local_addr())
        .await
        .map_err(|e| e.to_string())?;
    s.write_all(msg).await.map_err(|e| e.to_string())?;
    let mut back = vec![0; msg.len()];
    tokio::time::timeout(Duration::from_secs(20), s.read_exact(&mut back))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    Ok(back)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_session_is_reopened_for_the_next_connection() {
    let b = ferry_test_support::ssh_bastion();
    let dir = ferry_test_support::TempDir::new("ferry_tunnel_reconnect");
    let mut sshd = OwnSshd::start(&b, &dir.join("sshd.log"));
    let port = sshd.port;
    let known = dir.join("known_hosts");
    std::fs::write(&known, sshd.known_hosts_line()).expect("known_hosts");

    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = errors.clone();
    let mut opts = TunnelOptions::new(
        format!("{}@127.0.0.1:{port}", b.user)
            .parse()
            .expect("bastion"),
        "--ssh",
    );
    opts.key = Some(PathBuf::from(&b.key));
    opts.known_hosts = Some(known.clone());
    opts.on_error = Some(Arc::new(move |e: &TunnelError| {
        sink.lock().expect("lock").push(e.to_string());
    }));
    let echo = echo_server().await;
    let tunnel = Tunnel::open(opts, "127.0.0.1", echo).await.expect("tunnel");
    assert!(tunnel.local_addr().ip().is_loopback());
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(round_trip(&tunnel, &big).await.as_deref(), Ok(&big[..]));
    // Connections share the session.
    let (a, b2) = tokio::join!(round_trip(&tunnel, b"one"), round_trip(&tunnel, b"two"));
    assert_eq!(
        (a.as_deref(), b2.as_deref()),
        (Ok(&b"one"[..]), Ok(&b"two"[..]))
    );

    // The bastion dies: a new connection is closed, and the tunnel says why.
    sshd.kill_all();
    let down = round_trip(&tunnel, b"lost").await;
    assert!(down.is_err(), "{down:?}");
    let said = errors.lock().expect("lock").join("\n");
    assert!(
        said.contains(&format!(
            "--ssh root@127.0.0.1:{port}: cannot connect to the bastion"
        )),
        "{said}"
    );

    // It is back: the same tunnel opens a new session for the next connection.
    sshd.restart();
    assert_eq!(
        round_trip(&tunnel, b"again").await.as_deref(),
        Ok(&b"again"[..])
    );
    assert_eq!(round_trip(&tunnel, &big).await.as_deref(), Ok(&big[..]));
}
