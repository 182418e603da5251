//! `provision`, `up` and `teardown` in a build without the `aws` feature: they take any
//! arguments and say clearly that this build lacks AWS support (exit 2).

/// Whatever was given; nothing is done with it.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 0..,
        hide = true
    )]
    rest: Vec<String>,
}

fn refuse(command: &str) -> anyhow::Result<crate::Exit> {
    anyhow::bail!("{command}: {}", crate::secrets::NO_AWS)
}

/// `ferry provision` without AWS support.
pub mod provision {
    pub use super::Args;

    /// Refuses.
    pub async fn run(_args: Args) -> anyhow::Result<crate::Exit> {
        super::refuse("provision")
    }
}

/// `ferry grant` without AWS support.
pub mod grant {
    pub use super::Args;

    /// Refuses.
    pub async fn run(_args: Args) -> anyhow::Result<crate::Exit> {
        super::refuse("grant")
    }
}

/// `ferry up` without AWS support.
pub mod up {
    pub use super::Args;

    /// Refuses.
    pub async fn run(_args: Args) -> anyhow::Result<crate::Exit> {
        super::refuse("up")
    }
}

/// `ferry teardown` without AWS support.
pub mod teardown {
    pub use super::Args;

    /// Refuses.
    pub async fn run(_args: Args) -> anyhow::Result<crate::Exit> {
        super::refuse("teardown")
    }
}
