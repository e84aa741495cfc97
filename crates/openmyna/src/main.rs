// mimalloc: the server allocates small, short-lived buffers per request on every worker
// thread, where glibc's malloc spent ~10 % of the OCSP responder's time (see
// docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    openmyna::cli::main()
}
