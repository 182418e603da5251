//! Progress events: data about what provisioning and teardown are doing, never drawing. The
//! CLI decides how to show them.

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

/// One step of provisioning or teardown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A resource ferry made earlier was found and is reused.
    Found {
        /// Resource kind.
        kind: &'static str,
        /// Identifier.
        id: String,
    },
    /// A create call was sent.
    Creating {
        /// Resource kind.
        kind: &'static str,
        /// Identifier.
        id: String,
    },
    /// Still waiting for a resource to reach a state.
    Waiting {
        /// What is awaited, e.g. `DB instance shop to be available`.
        what: String,
        /// Seconds waited so far.
        elapsed_secs: u64,
    },
    /// A wait finished.
    Ready {
        /// What was awaited.
        what: String,
    },
    /// The secret got the endpoint's host and port.
    SecretUpdated {
        /// Secret name.
        name: String,
    },
    /// Deletion protection was turned off (teardown --force).
    ProtectionOff {
        /// Resource kind.
        kind: &'static str,
        /// Identifier.
        id: String,
    },
    /// Deletion protection was turned back on after a failed teardown step.
    ProtectionOn {
        /// Resource kind.
        kind: &'static str,
        /// Identifier.
        id: String,
    },
    /// A delete call was sent.
    Deleting {
        /// Resource kind.
        kind: &'static str,
        /// Identifier.
        id: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Found { kind, id } => write!(f, "found {kind} {id} (made by ferry earlier)"),
            Event::Creating { kind, id } => write!(f, "creating {kind} {id}"),
            Event::Waiting { what, elapsed_secs } => {
                write!(
                    f,
                    "waiting for {what} ({}m{:02}s)",
                    elapsed_secs / 60,
                    elapsed_secs % 60
                )
            }
            Event::Ready { what } => write!(f, "{what}: done"),
            Event::SecretUpdated { name } => write!(f, "wrote host and port into secret {name}"),
            Event::ProtectionOff { kind, id } => {
                write!(f, "turned deletion protection off on {kind} {id}")
            }
            Event::ProtectionOn { kind, id } => {
                write!(f, "turned deletion protection back on on {kind} {id}")
            }
            Event::Deleting { kind, id } => write!(f, "deleting {kind} {id}"),
        }
    }
}

/// Receives progress events.
pub trait Progress: Send + Sync {
    /// Called for every event, in order.
    fn event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> Progress for F {
    fn event(&self, event: &Event) {
        self(event)
    }
}

/// A progress sink that ignores everything.
pub struct Quiet;

impl Progress for Quiet {
    fn event(&self, _event: &Event) {}
}

/// How often a wait reports that it is still waiting.
const TICK: Duration = Duration::from_secs(5);

/// Run `fut` (an SDK waiter), reporting [`Event::Waiting`] every few seconds and
/// [`Event::Ready`] when it succeeds.
pub(crate) async fn waiting<T, E>(
    progress: &dyn Progress,
    what: String,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let start = Instant::now();
    tokio::pin!(fut);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
    loop {
        tokio::select! {
            out = &mut fut => {
                if out.is_ok() {
                    progress.event(&Event::Ready { what });
                }
                return out;
            }
            _ = tick.tick() => progress.event(&Event::Waiting {
                what: what.clone(),
                elapsed_secs: start.elapsed().as_secs(),
            }),
        }
    }
}
