//! Ctrl-C and SIGTERM (a spot interruption, a shutdown): the first asks the run in progress to
//! stop at its next step and keep what it measured as an `interrupted` row; a Ctrl-C after it
//! ends the process at once, as the user expects of a second Ctrl-C.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

/// Whether a stop was asked for, and by which signal.
static ASKED: OnceLock<(Arc<AtomicBool>, Arc<AtomicUsize>)> = OnceLock::new();

/// Installs the handlers; until then a signal ends the process the default way.
pub fn install() -> std::io::Result<()> {
    let (asked, which) = ASKED.get_or_init(Default::default);
    for signal in [SIGINT, SIGTERM] {
        // Registered first, so it sees the flag as the previous signal left it. Only a second
        // Ctrl-C is the user's "stop now": a shutdown sends SIGTERM twice in a second (the
        // script above gpubench and systemd), and the run in progress must still be written.
        if signal == SIGINT {
            flag::register_conditional_shutdown(signal, exit_code(signal), Arc::clone(asked))?;
        }
        flag::register_usize(signal, Arc::clone(which), signal as usize)?;
        flag::register(signal, Arc::clone(asked))?;
    }
    Ok(())
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    ASKED.get().is_some_and(|(a, _)| a.load(Ordering::Relaxed))
}

/// The exit code a shell reports for a process `signal` ended: 130 after Ctrl-C, 143 after
/// SIGTERM; `None` while no signal asked for a stop.
pub fn asked_exit_code() -> Option<u8> {
    requested().then(|| {
        let which = ASKED.get().map_or(0, |(_, w)| w.load(Ordering::Relaxed));
        exit_code(i32::try_from(which).unwrap_or(SIGINT)) as u8
    })
}

fn exit_code(signal: i32) -> i32 {
    128 + signal
}
