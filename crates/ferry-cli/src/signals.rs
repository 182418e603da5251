//! SIGINT (Ctrl-C) and SIGTERM: the first one asks the run to stop cleanly — a copy releases
//! what it holds on the source, replication names the slot it leaves behind — and a second
//! one ends ferry at once.

use crate::Exit;
use std::sync::OnceLock;
use tokio::sync::watch;

static FIRST: OnceLock<watch::Receiver<Option<&'static str>>> = OnceLock::new();

/// The exit code a signal gives (the shell's 128 + its number).
fn exit_for(signal: &str) -> Exit {
    match signal {
        "SIGTERM" => Exit::Terminated,
        _ => Exit::Interrupted,
    }
}

/// The listener, started on first use (inside the runtime). Until then a signal has its
/// default effect.
fn receiver() -> watch::Receiver<Option<&'static str>> {
    FIRST
        .get_or_init(|| {
            let (tx, rx) = watch::channel(None);
            tokio::spawn(async move {
                use tokio::signal::unix::{signal, SignalKind};
                let Ok(mut term) = signal(SignalKind::terminate()) else {
                    return;
                };
                loop {
                    let name = tokio::select! {
                        _ = tokio::signal::ctrl_c() => "SIGINT",
                        _ = term.recv() => "SIGTERM",
                    };
                    if tx.borrow().is_some() {
                        crate::output::Channel::Stderr
                            .line(&format!("ferry: {name} again: stopping now"));
                        std::process::exit(exit_for(name) as i32);
                    }
                    tx.send_replace(Some(name));
                }
            });
            rx
        })
        .clone()
}

/// Start listening now, so a signal from here on stops the run cleanly.
pub fn listen() {
    let _ = receiver();
}

/// The first SIGINT or SIGTERM's name, once one arrives.
pub async fn first() -> &'static str {
    let mut rx = receiver();
    loop {
        if let Some(name) = *rx.borrow_and_update() {
            return name;
        }
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// The signal that arrived, if one did, and the exit code it gives.
pub fn seen() -> Option<(&'static str, Exit)> {
    let name = (*FIRST.get()?.borrow())?;
    Some((name, exit_for(name)))
}

/// How a run under [`until_first`] ended.
pub enum Ended<T> {
    /// By itself.
    Done(T),
    /// By a signal (its name and the exit code it gives).
    Signal(&'static str, Exit),
}

/// Run `work` until it ends or the first signal arrives; on a signal `work` is dropped
/// (an open target transaction rolls back).
pub async fn until_first<T>(work: impl std::future::Future<Output = T>) -> Ended<T> {
    tokio::select! {
        done = work => Ended::Done(done),
        name = first() => Ended::Signal(name, exit_for(name)),
    }
}
