//! The relayscan binary: parse arguments, run, map the result to an exit code; nothing else.

use clap::Parser;

/// The profile of the per-host path (README, Performance) showed glibc malloc, its arena
/// locks and consolidation, as the largest CPU cost; mimalloc's thread-local heaps remove it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // nmap users type `-iL FILE`; clap's short flags are one letter, so translate it.
    let argv: Vec<String> = std::env::args()
        .map(|a| {
            if a == "-iL" {
                "--input-list".to_string()
            } else {
                a
            }
        })
        .collect();
    let cli = relayscan::cli::Cli::parse_from(&argv);
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
