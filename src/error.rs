//! Errors that are the user's to fix (exit code 2) versus everything else (exit code 1).

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

/// The process exit code for an error: 2 when the input was wrong, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<InputError>()) {
        2
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
