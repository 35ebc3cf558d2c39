//! `gpubench report`: merges any number of `runs.csv` / `epochs.csv` (e.g. a bucket synced from
//! a fleet) into `report.md` and a self-contained `report.html`. Every input is read and every
//! output rendered before anything is written, and each file is replaced atomically, so a
//! refused input or a crash never leaves a half-written report.

mod aggregate;
mod backends;
mod charts;
mod compare;
mod energy;
mod format;
mod group;
mod load;
mod pictures;
mod rates;
mod scaling;
mod stats;
mod tables;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use aggregate::Report;
pub use compare::{CompareOptions, Metric, compare};
pub use load::{Loaded, load, run_id};
pub use rates::EnergyRates;

pub struct Options {
    /// Directories (searched recursively) and CSV files; none means the `runs.csv` and
    /// `epochs.csv` that `run` writes by default, and not the folders below them.
    pub inputs: Vec<PathBuf>,
    /// Where report.md and report.html go; created if absent.
    pub out: PathBuf,
    /// The formats written, by [`FORMATS`] name.
    pub formats: Vec<String>,
    /// The `loss_rel_dev` above which a run is flagged as leaving the cpu reference.
    pub parity_tol: f64,
    pub energy: EnergyRates,
}

/// One output format, the way hyperfine's exporters sit side by side.
trait Exporter {
    fn file_name(&self) -> &'static str;
    fn render(&self, report: &Report) -> Result<String>;
}

/// `file: Type` declares the format's module (its file in this folder) and registers `Type`.
macro_rules! exporters {
    ($($name:literal => $file:ident: $exporter:ident),+ $(,)?) => {
        $(mod $file;)+

        /// Every format the report can be written in, by its `--format` name.
        const EXPORTERS: &[(&str, &dyn Exporter)] = &[$(($name, &$file::$exporter)),+];
        /// Their `--format` names.
        pub const FORMATS: &[&str] = &[$($name),+];
    };
}

exporters! {
    "md" => markdown: Markdown,
    "html" => html: Html,
    "json" => json: Json,
}

/// Reads `opts.inputs`, writes the report files into `opts.out`, and tells `out` what it read
/// and wrote.
pub fn run(opts: &Options, out: &mut impl Write) -> Result<()> {
    let loaded = load::load(&opts.inputs)?;
    let mut report = Report::new(&loaded, &opts.out, opts.parity_tol);
    report.energy = opts.energy;
    let rendered = EXPORTERS
        .iter()
        .filter(|(name, _)| opts.formats.iter().any(|f| f == name))
        .map(|(_, e)| Ok((e.file_name(), e.render(&report)?)))
        .collect::<Result<Vec<_>>>()?;
    let not_ok = report.unfinished.len();
    writeln!(
        out,
        "read {} runs.csv and {} epochs.csv: {} runs ({not_ok} not ok), {} epoch rows; \
         dropped {} duplicate runs and {} duplicate epoch rows; skipped {} bad rows",
        loaded.runs_files,
        loaded.epochs_files,
        loaded.runs.len(),
        loaded.epochs.len(),
        loaded.duplicate_runs,
        loaded.duplicate_epochs,
        loaded.skipped.len()
    )?;
    fs::create_dir_all(&opts.out).with_context(|| format!("creating {}", opts.out.display()))?;
    for (name, text) in rendered {
        let path = opts.out.join(name);
        write_atomic(&path, text.as_bytes())?;
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}

/// Writes a temporary file beside `path`, syncs it, and renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}
