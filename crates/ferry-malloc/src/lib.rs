//! Allocator settings for the `ferry` binary.
//!
//! With glibc's defaults ferry's peak RSS grew with the amount of data moved although its
//! heap did not: heaptrack showed a peak heap of 71 MB at 1x and 75 MB at 4x the data
//! (SQLite -> PostgreSQL), while peak RSS went from 123 to 156 MB, and by 18-49% on the six
//! copy paths (`benches/results/2026-12-02-peak-rss-six-paths.md`). Two glibc behaviours
//! keep freed memory:
//! - one arena per thread that ever allocated (up to 8 per core): each blocking reader
//!   thread leaves its freed batches in its own arena;
//! - the sliding mmap threshold: after the first large buffer is freed, glibc raises the
//!   threshold, so later batch buffers come from the arenas and fragment them instead of
//!   being mapped and unmapped.
//!
//! [`tune`] caps the arenas at two and fixes the mmap threshold at 128 KiB (which also
//! stops it sliding). A user who sets `MALLOC_ARENA_MAX` or `MALLOC_MMAP_THRESHOLD_`
//! keeps their own value. Other allocators were measured and rejected: mimalloc held 50-120%
//! more at peak on every path.

/// Apply the settings. Call first thing in `main`, before any thread starts.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            set(libc::M_ARENA_MAX, 2);
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            set(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set(param: libc::c_int, value: libc::c_int) {
    // SAFETY: mallopt only changes allocator parameters and takes plain integers; it is
    // called before the program starts any thread. A refusal (return 0) leaves glibc's
    // default, which is correct, only less frugal.
    let _ = unsafe { libc::mallopt(param, value) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn tuning_twice_and_allocating_after_it_works() {
        super::tune();
        super::tune();
        let big: Vec<u8> = vec![7; 1 << 20];
        let small: Vec<u8> = vec![1; 100];
        assert_eq!(big.iter().map(|&b| u64::from(b)).sum::<u64>(), 7 << 20);
        assert_eq!(small.len(), 100);
    }
}
