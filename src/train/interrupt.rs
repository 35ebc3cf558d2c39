//! Ctrl-C and SIGTERM (a spot interruption, a shutdown): the first asks the run in progress to
//! stop at its next step and keep what it measured as an `interrupted` row; a second one ends
//! the process at once, as the user expects of a second Ctrl-C.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

use crate::error::INTERRUPTED_EXIT;

static ASKED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Installs the handlers; until then a signal ends the process the default way.
pub fn install() -> std::io::Result<()> {
    let asked = ASKED.get_or_init(Arc::default);
    for signal in [SIGINT, SIGTERM] {
        // Registered first, so it sees the flag as the previous signal left it.
        flag::register_conditional_shutdown(
            signal,
            i32::from(INTERRUPTED_EXIT),
            Arc::clone(asked),
        )?;
        flag::register(signal, Arc::clone(asked))?;
    }
    Ok(())
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    ASKED.get().is_some_and(|a| a.load(Ordering::Relaxed))
}
