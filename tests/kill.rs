//! The kill test: two `gpubench run`s append to one `--out` while one of them is killed with
//! SIGKILL at a random moment (and, every other round, the other is stopped with SIGTERM).
//! Whatever the moment, `runs.csv` stays readable by `report`, no row is interleaved with
//! another, the header is written once, an `ok` row has all its epochs, and the run SIGTERM
//! stopped is `interrupted`, never `ok`.
//!
//! `GPUBENCH_KILL_ROUNDS` sets the rounds (6 here; `scripts/kill-test.sh` runs 20) and
//! `GPUBENCH_KILL_SEED` the moments, so a failure can be replayed.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{epochs, gpubench, runs, text};
use gpubench::record::Status;
use rand::{Rng, SeedableRng};

/// Three runs of a small job on the cpu backend: a couple of seconds in all.
fn start(out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .args(["run", "--instance", "local", "--backend", "cpu"])
        .args([
            "--workload",
            "keypoints",
            "--synthetic",
            "64",
            "--epochs",
            "2",
        ])
        .args(["--batch-size", "16", "--repeats", "3", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The exit status and the run id the process said it writes under (if it got that far).
fn finish(mut child: Child) -> (std::process::ExitStatus, Option<String>) {
    let status = child.wait().unwrap();
    let mut said = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    let id = said.lines().find_map(|l| {
        l.strip_prefix("run ")?
            .split_once(' ')
            .map(|(id, _)| id.to_string())
    });
    (status, id)
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: sends a signal to a child this test started and has not yet waited for.
    unsafe { libc::kill(child.id() as i32, sig) };
}

#[test]
fn killed_writers_leave_every_file_readable_and_no_stopped_run_ok() {
    let rounds: usize = std::env::var("GPUBENCH_KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("GPUBENCH_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("kill test: {rounds} rounds, GPUBENCH_KILL_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    // run id → whether SIGTERM stopped that process (exit code 143).
    let mut termed: HashMap<String, bool> = HashMap::new();
    for round in 0..rounds {
        let (killed, other) = (start(out), start(out));
        std::thread::sleep(Duration::from_millis(rng.random_range(0..3000)));
        signal(&killed, libc::SIGKILL);
        let term = round % 2 == 1;
        if term {
            std::thread::sleep(Duration::from_millis(rng.random_range(0..1500)));
            signal(&other, libc::SIGTERM);
        }
        let (status, _) = finish(killed);
        let done = status.success() || status.signal() == Some(libc::SIGKILL);
        assert!(done, "round {round}: {status:?}");
        let (status, id) = finish(other);
        match (status.code(), id) {
            (Some(143), Some(id)) => assert!(termed.insert(id, true).is_none()),
            (Some(0), Some(id)) => assert!(termed.insert(id, false).is_none()),
            // Stopped before its handler was in place: it wrote nothing.
            (None, _) if term && status.signal() == Some(libc::SIGTERM) => {}
            (code, id) => panic!("round {round}: exit {code:?}, run {id:?}"),
        }
    }
    // One last whole run mends any row the last kill tore, as every append does.
    let (status, _) = finish(start(out));
    assert!(status.success());

    let report = gpubench(&[
        "report",
        "--in",
        &out.display().to_string(),
        "--out",
        &out.join("report").display().to_string(),
    ]);
    assert!(report.status.success(), "{}", text(&report));
    // Strict reads: every row whole, one header each (a second header would not parse).
    let rows = runs(out);
    let epoch_rows = epochs(out);
    for (id, stopped) in &termed {
        let mine: Vec<_> = rows.iter().filter(|r| &r.run_id == id).collect();
        // A signal between two runs (or after the last) stops no run, so it marks none.
        let interrupted = mine
            .iter()
            .filter(|r| r.status == Status::Interrupted)
            .count();
        assert!(interrupted <= usize::from(*stopped), "run {id}: {mine:?}");
    }
    for r in rows.iter().filter(|r| r.status == Status::Ok) {
        let n = epoch_rows
            .iter()
            .filter(|e| (&e.run_id, e.repeat) == (&r.run_id, r.repeat))
            .count();
        assert_eq!(n, r.epochs, "an ok run without all its epochs: {r:?}");
    }
    assert!(rows.iter().any(|r| r.status == Status::Ok));
}
