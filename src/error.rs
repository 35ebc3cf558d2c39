//! Errors that are the user's to fix (exit code 2) versus everything else (exit code 1).

use std::panic::{AssertUnwindSafe, catch_unwind};

use thiserror::Error;

/// Bad input: an unknown name, an impossible setting, a malformed file. Reported with what is
/// wrong and where, before anything is written.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Shorthand for returning an [`InputError`] from a function that yields `anyhow::Result`.
pub fn input<T>(msg: impl Into<String>) -> anyhow::Result<T> {
    Err(InputError(msg.into()).into())
}

/// A signal (Ctrl-C, SIGTERM) stopped the benchmark; the run it stopped was recorded. It holds
/// the exit code: 128 + the signal, as shells report it.
#[derive(Debug, Error)]
#[error("interrupted: the run in progress was recorded as interrupted; the rest did not start")]
pub struct Interrupted(pub u8);

/// Every run of the command was unavailable here (no driver, no adapter): nothing was measured.
/// The rows say why.
#[derive(Debug, Error)]
#[error(
    "nothing could run here: every backend asked for is unavailable (the reasons are above and in runs.csv)"
)]
pub struct NothingRan;

/// The exit code after [`NothingRan`].
pub const NOTHING_RAN_EXIT: u8 = 3;

/// The process exit code for an error: 2 when the input was wrong, 3 when nothing could run,
/// 130 or 143 when Ctrl-C or SIGTERM stopped the benchmark, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<InputError>()) {
        2
    } else if err.chain().any(|e| e.is::<NothingRan>()) {
        NOTHING_RAN_EXIT
    } else if let Some(Interrupted(code)) = err.chain().find_map(|e| e.downcast_ref()) {
        *code
    } else {
        1
    }
}

/// True when the error is a write to a pipe whose reader has gone.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Runs `f`, turning a panic inside a driver, a binding or burn into an error, so one broken
/// device ends one measurement rather than the benchmark.
pub fn guarded<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|p| Err(anyhow::anyhow!("panicked: {}", panic_message(&*p))))
}

/// The text a panic was raised with.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Replaces the default panic report with one line per distinct message: a failing device
/// thread in burn repeats the same panic hundreds of times, and the run records it anyway.
pub fn report_panics_once() {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    std::panic::set_hook(Box::new(|info| {
        let msg = panic_message(info.payload());
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get_or_insert_with(HashSet::new).insert(msg.clone()) {
            let thread = std::thread::current()
                .name()
                .unwrap_or("unnamed")
                .to_string();
            let at = info
                .location()
                .map(|l| format!(" at {l}"))
                .unwrap_or_default();
            eprintln!("panic in thread '{thread}'{at}: {msg}");
        }
    }));
}
