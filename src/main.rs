//! The relayscan binary: parse arguments, run, map the result to an exit code; nothing else.

/// The profile of the per-host path (README, Performance) showed glibc malloc, its arena
/// locks and consolidation, as the largest CPU cost; mimalloc's thread-local heaps remove it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// mimalloc's C API (linked in by the mimalloc crate); the Rust binding does not name
// this option, so it is declared here.
unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (v2 and v3).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// How long mimalloc keeps freed memory mapped before handing it back: one second.
///
/// A scan frees a probe's memory and allocates the next probe's within milliseconds;
/// with mimalloc's default purge (10 ms) each wave handed pages back and faulted them in
/// again, zeroed (17,000 page faults and about 10% of the scanner's CPU at C=10,000).
/// Never purging (-1, the setting before) kept everything a long run had freed on any of
/// the runtime's threads: a million-domain scan rose to 144 MiB where its data peaks at
/// about 90 (the system allocator's figure), and the log reader to 65 MiB at 30M lines.
/// At one second, what the next wave reuses stays and what lies idle goes back: the
/// million domains peak at 98.6 MiB (2,454 domains/s, against 2,215), 30M log lines at
/// 49.8 MiB, and the C=10,000 bench shows no difference in CPU per host within its
/// run-to-run spread (docs/performance.md).
const FREED_MEMORY_KEPT_MS: std::ffi::c_long = 1000;

fn keep_freed_memory() {
    // SAFETY: sets an integer option of the allocator; valid at any time.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, FREED_MEMORY_KEPT_MS) };
}

fn main() {
    keep_freed_memory();
    // nmap's spellings: some translated, the rest refused before clap reads them.
    let argv = match relayscan::argv::translate(std::env::args().collect()) {
        Ok(argv) => argv,
        Err(e) => {
            eprintln!("relayscan: error: {e}");
            std::process::exit(relayscan::exit::USAGE);
        }
    };
    // Flags, then RELAYSCAN_* variables, then relayscan.toml, then the built-in defaults.
    let cli = match relayscan::site::parse(&argv) {
        Ok(cli) => cli,
        Err(relayscan::site::ParseError::Clap(e)) => e.exit(),
        Err(relayscan::site::ParseError::Site(message)) => {
            eprintln!("relayscan: error: {message}");
            std::process::exit(relayscan::exit::USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("relayscan: error: cannot start the async runtime: {e}");
            std::process::exit(relayscan::exit::FAILURE);
        }
    };
    let code = runtime.block_on(relayscan::commands::run(cli, argv));
    // Probes cut off by Ctrl-C may still hold sockets; do not wait for them.
    runtime.shutdown_background();
    std::process::exit(code);
}
