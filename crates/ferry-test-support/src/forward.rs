//! A loopback TCP forwarder: what an SSH tunnel's local end looks like to a driver, for
//! tests of the TLS server name carried through a tunnel.

/// Listen on `127.0.0.1:0` and forward every connection to `127.0.0.1:port`, on the current
/// runtime, until it ends. Returns the local address.
pub async fn tcp_forwarder(port: u16) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a forwarder on loopback");
    let local = listener.local_addr().expect("forwarder address");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    local
}
