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

    /// Runs `body` in a forked child and returns its exit code: the child may change
    /// process-wide limits without starving the tests that run beside it in this process.
    /// `body` must only make async-signal-safe calls (the other threads are not copied).
    fn in_child(body: fn() -> i32) -> i32 {
        // SAFETY: the child runs only `body` (getrlimit/setrlimit, no allocation, no lock)
        // and leaves with _exit, so no state of the other threads is touched.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            // SAFETY: _exit ends the child without running this process's destructors.
            unsafe { libc::_exit(body()) }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child with a valid pointer.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "child status {status}");
        libc::WEXITSTATUS(status)
    }

    #[test]
    fn raising_lifts_a_lowered_soft_limit_to_the_hard_limit() {
        // 0: raised and reported; 1: the limits could not be read or lowered (no test);
        // 2: not raised; 3: raised but reported wrong.
        let code = in_child(|| {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
            unsafe {
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 || limit.rlim_max <= 64 {
                    return 1;
                }
                let lowered = libc::rlimit {
                    rlim_cur: 64,
                    rlim_max: limit.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) != 0 {
                    return 1;
                }
            }
            let reported = raise_open_file_limit();
            let mut now = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: as above.
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut now) };
            if now.rlim_cur != limit.rlim_max {
                2
            } else if reported != now.rlim_cur {
                3
            } else {
                0
            }
        });
        assert_eq!(
            code, 0,
            "1: no limits to test with, 2: not raised, 3: misreported"
        );
    }
}
