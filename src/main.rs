//! chavion-tui: the command line is parsed and run by `chavion_tui::shell`.

use std::process::ExitCode;

// glibc's malloc took a fifth of the control room's time at 200 000 events/s, much of it
// on its arena lock: the feed's threads allocate what the loop frees. mimalloc's per-thread
// heaps free across threads without that lock (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    chavion_tui::shell::main()
}
