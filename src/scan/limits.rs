//! Process limits: raise the open-file limit and size concurrency to it.

/// File descriptors kept back for reports, the runtime, DNS and the lab.
const RESERVED_FDS: u64 = 64;

/// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the soft limit now in force.
pub fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
    }
    limit.rlim_cur
}

/// The concurrency that fits in `open_files` descriptors, each probe holding one (two in
/// the demo, where the lab's side of each connection lives in the same process).
pub fn fit_concurrency(requested: usize, open_files: u64, fds_per_probe: u64) -> usize {
    let room = open_files.saturating_sub(RESERVED_FDS) / fds_per_probe.max(1);
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    requested.min(room)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_fits_the_limit() {
        let cases = [
            (100, 1024, 1, 100),
            (10_000, 1024, 1, 960),
            (10_000, 1024, 2, 480),
            (10, 20, 1, 1),
            (5, 1_000_000, 1, 5),
        ];
        for (requested, files, per, expected) in cases {
            assert_eq!(
                fit_concurrency(requested, files, per),
                expected,
                "{requested} {files} {per}"
            );
        }
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let before = raise_open_file_limit();
        assert!(raise_open_file_limit() >= before);
    }
}
