use std::process::ExitCode;

fn main() -> ExitCode {
    // SAFETY: the first thing main does, while no other thread runs.
    unsafe { gpubench::backend::quiet_headless_vulkan() };
    match gpubench::cli::main() {
        Ok(()) => ExitCode::SUCCESS,
        // `gpubench instances | head`: the reader left, which is not an error.
        Err(err) if gpubench::error::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(gpubench::error::exit_code(&err))
        }
    }
}
