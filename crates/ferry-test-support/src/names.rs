//! Names no other test (or earlier run against the same servers) uses.

use std::sync::atomic::{AtomicU32, Ordering};

static N: AtomicU32 = AtomicU32::new(0);

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

/// `{prefix}_{pid}_{n}_{nanos}`: a database, table or file name.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        nanos()
    )
}

/// `{prefix}-{pid}-{n}-{nanos % 100000}`: short and with hyphens only, as RDS identifiers
/// and Secrets Manager names want them.
pub fn unique_aws_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        nanos() % 100_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_within_one_process() {
        let a = unique_name("t");
        let b = unique_name("t");
        assert_ne!(a, b);
        assert!(a.starts_with("t_"));
        let c = unique_aws_name("x");
        assert!(c.starts_with("x-") && !c.contains('_'), "{c}");
    }
}
