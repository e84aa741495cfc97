fn main() -> std::process::ExitCode {
    openmyna::cli::main()
}
