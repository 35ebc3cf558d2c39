//! Finding and reading `runs.csv` / `epochs.csv` files, e.g. a bucket synced from many
//! instances: every row is checked, and the first bad one refuses the whole report with
//! `PATH:LINE: what is wrong`, so a report never silently leaves a run out.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use csv::StringRecord;
use serde::de::DeserializeOwned;

use crate::error::{InputError, input};
use crate::record::{
    DEFAULT_DIR, EPOCHS_FILE, EpochRow, RUNS_FILE, RunRow, SCHEMA_VERSION, header,
};

/// How many columns `runs.csv` had at each schema_version (index 0 is version 1); columns are
/// only ever appended. Its length is the schema version, so a bump cannot forget the reader.
const COLUMNS: [usize; SCHEMA_VERSION as usize] = [53, 55, 60, 61, 66, 74, 82];

/// A run's key: (run_id, workload, backend, batch_size, repeat, devices, node_rank).
pub type RunId = (String, String, String, usize, usize, usize, usize);

/// The picture each run wrote (its `artifact`), as a path readable from here.
pub type Pictures = HashMap<RunId, PathBuf>;

pub fn run_id(r: &RunRow) -> RunId {
    (
        r.run_id.clone(),
        r.workload.clone(),
        r.backend.clone(),
        r.batch_size,
        r.repeat,
        r.devices.unwrap_or(1),
        r.node_rank.unwrap_or(0),
    )
}

/// Every row read, each run and epoch once.
#[derive(Debug, Default)]
pub struct Loaded {
    pub runs: Vec<RunRow>,
    /// Rows name their pictures relative to their runs.csv; these are the paths from here.
    pub pictures: Pictures,
    pub epochs: Vec<EpochRow>,
    pub runs_files: usize,
    pub epochs_files: usize,
    /// Rows seen before (the same run synced twice), dropped.
    pub duplicate_runs: usize,
    pub duplicate_epochs: usize,
}

/// Reads every `runs.csv` and `epochs.csv` in `inputs`: a directory is searched recursively
/// for files of those names; a file is taken as is, its kind told by its header. No inputs
/// means the two files `run` writes by default, and nothing in the folders below them.
pub fn load(inputs: &[PathBuf]) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    let mut seen_runs = HashSet::new();
    let mut seen_epochs = HashSet::new();
    for path in find(inputs)? {
        let mut reader =
            csv::Reader::from_path(&path).with_context(|| format!("opening {}", path.display()))?;
        let headers = reader.headers().map_err(|e| bad_csv(&path, e))?.clone();
        if headers.is_empty() {
            return input(format!("{}:1: the file is empty", path.display()));
        }
        if headers.iter().any(|h| h == "schema_version") {
            loaded.runs_files += 1;
            let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
            for row in read_runs(&path, &mut reader, &headers)? {
                let key = run_id(&row);
                if seen_runs.insert(key.clone()) {
                    if let Some(a) = &row.artifact {
                        loaded.pictures.insert(key, dir.join(a));
                    }
                    loaded.runs.push(row);
                } else {
                    loaded.duplicate_runs += 1;
                }
            }
        } else if is_epochs(&headers) {
            loaded.epochs_files += 1;
            for rec in reader.records() {
                let rec = rec.map_err(|e| bad_csv(&path, e))?;
                let row: EpochRow = parse(&path, &rec, &headers)?;
                if let Some(what) = check_epoch(&row) {
                    return input(format!("{}:{}: {what}", path.display(), line(&rec)));
                }
                let key = (
                    row.run_id.clone(),
                    row.workload.clone(),
                    row.backend.clone(),
                    row.batch_size,
                    row.repeat,
                    row.devices,
                    row.epoch,
                );
                if seen_epochs.insert(key) {
                    loaded.epochs.push(row);
                } else {
                    loaded.duplicate_epochs += 1;
                }
            }
        } else {
            return input(format!(
                "{}:1: not a gpubench {RUNS_FILE} (it has no schema_version column) nor an \
                 {EPOCHS_FILE} (whose header is {})",
                path.display(),
                header::<EpochRow>()
            ));
        }
    }
    if loaded.runs.is_empty() {
        return input(format!(
            "no runs to report: {} {RUNS_FILE} and {} {EPOCHS_FILE} read, with no {RUNS_FILE} rows",
            loaded.runs_files, loaded.epochs_files
        ));
    }
    Ok(loaded)
}

/// An `epochs.csv` header: today's, or the one before `devices` was appended.
fn is_epochs(headers: &csv::StringRecord) -> bool {
    let current = header::<EpochRow>();
    let before = current.trim_end_matches(",devices");
    [current.as_str(), before]
        .iter()
        .any(|h| headers.iter().eq(h.split(',')))
}

/// The files named by `inputs`, each once, in a stable order.
fn find(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if inputs.is_empty() {
        let dir = Path::new(DEFAULT_DIR);
        let files: Vec<PathBuf> = [RUNS_FILE, EPOCHS_FILE]
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.is_file())
            .collect();
        if files.is_empty() {
            return input(format!(
                "no {} here: `gpubench run` writes it (into {DEFAULT_DIR}/ by default), or pass \
                 --in DIR_OR_CSV (a folder is searched recursively)",
                dir.join(RUNS_FILE).display()
            ));
        }
        return Ok(files);
    }
    let mut files = Vec::new();
    for path in inputs {
        let meta =
            fs::metadata(path).map_err(|e| InputError(format!("{}: {e}", path.display())))?;
        if meta.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push(path.clone());
        }
    }
    // A file named twice (a directory and a file in it) is read once.
    let mut seen = HashSet::new();
    files.retain(|f| seen.insert(fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    if files.is_empty() {
        let names: Vec<_> = inputs.iter().map(|p| p.display().to_string()).collect();
        return input(format!(
            "no {RUNS_FILE} or {EPOCHS_FILE} found in {}; `gpubench run` writes them, or pass \
             --in DIR_OR_CSV",
            names.join(", ")
        ));
    }
    Ok(files)
}

/// Collects the `runs.csv` and `epochs.csv` files under `dir`. Symbolic links to directories
/// are not followed, so a link cycle cannot loop.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries = fs::read_dir(dir)
        .and_then(|d| d.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading directory {}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&path, files)?;
        } else if (entry.file_name() == RUNS_FILE || entry.file_name() == EPOCHS_FILE)
            && path.is_file()
        {
            files.push(path);
        }
    }
    Ok(())
}

/// The rows of one `runs.csv`, each checked against the columns of its schema_version.
fn read_runs(
    path: &Path,
    reader: &mut csv::Reader<fs::File>,
    headers: &StringRecord,
) -> Result<Vec<RunRow>> {
    let at = |line: u64, what: String| input(format!("{}:{line}: {what}", path.display()));
    let column = headers.iter().position(|h| h == "schema_version");
    let current = header::<RunRow>();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| bad_csv(path, e))?;
        let raw = column.and_then(|c| rec.get(c)).unwrap_or_default();
        let version = match raw.trim().parse::<u32>() {
            Ok(v @ 1..=SCHEMA_VERSION) => v,
            Ok(v) if v > SCHEMA_VERSION => {
                return at(
                    line(&rec),
                    format!(
                        "schema_version {v} was written by a newer gpubench; this one reads \
                         1 to {SCHEMA_VERSION}: update gpubench"
                    ),
                );
            }
            _ => {
                return at(
                    line(&rec),
                    format!("schema_version {raw:?} is not 1 to {SCHEMA_VERSION}"),
                );
            }
        };
        let want = COLUMNS[version as usize - 1];
        if !headers.iter().eq(current.split(',').take(want)) {
            return at(
                1,
                format!(
                    "the columns do not match schema_version {version} (line {}): expected its \
                     {want} columns {}",
                    line(&rec),
                    current.split(',').take(want).collect::<Vec<_>>().join(",")
                ),
            );
        }
        let row: RunRow = parse(path, &rec, headers)?;
        if let Some(what) = check_run(&row) {
            return at(line(&rec), what);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// The line `rec` starts on (1 is the header).
fn line(rec: &StringRecord) -> u64 {
    rec.position().map_or(0, |p| p.line())
}

/// `rec` as a `T`, or which column holds what it cannot read.
fn parse<T: DeserializeOwned>(
    path: &Path,
    rec: &StringRecord,
    headers: &StringRecord,
) -> Result<T> {
    rec.deserialize(Some(headers)).or_else(|e| {
        let what = match e.kind() {
            csv::ErrorKind::Deserialize { err, .. } => match err.field().map(|i| i as usize) {
                Some(i) => format!(
                    "column {} = {:?}: {}",
                    headers.get(i).unwrap_or("?"),
                    rec.get(i).unwrap_or_default(),
                    err.kind()
                ),
                None => err.kind().to_string(),
            },
            _ => e.to_string(),
        };
        input(format!("{}:{}: {what}", path.display(), line(rec)))
    })
}

/// A CSV-level error (ragged row, bad UTF-8) with the file and line it is on.
fn bad_csv(path: &Path, e: csv::Error) -> anyhow::Error {
    let line = e.position().map_or(1, |p| p.line());
    let what = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
        csv::ErrorKind::Io(_) => {
            return anyhow::Error::new(e).context(format!("reading {}", path.display()));
        }
        _ => e.to_string(),
    };
    InputError(format!("{}:{line}: {what}", path.display())).into()
}

/// What a row that parsed still gets wrong: a missing name, or a time, rate or price that is
/// negative or not finite (a NaN loss is a real measurement of a diverged run, so it passes).
fn check_run(r: &RunRow) -> Option<String> {
    let names = [
        ("run_id", &r.run_id),
        ("instance", &r.instance),
        ("backend", &r.backend),
        ("workload", &r.workload),
        ("model", &r.model),
    ];
    let numbers = [
        ("price_usd_per_hour", r.price_usd_per_hour),
        ("device_init_s", r.device_init_s),
        ("data_load_s", r.data_load_s),
        ("model_init_s", r.model_init_s),
        ("warmup_s", r.warmup_s),
        ("train_s", r.train_s),
        ("eval_s", r.eval_s),
        ("init_s", r.init_s),
        ("total_s", r.total_s),
        ("epoch_s_median", r.epoch_s_median),
        ("images_per_s", r.images_per_s),
        ("mfu", r.mfu),
        ("mfu_measured", r.mfu_measured),
        ("cost_usd", r.cost_usd),
        ("cost_per_epoch_usd", r.cost_per_epoch_usd),
        ("loss_rel_dev", r.loss_rel_dev),
        ("target", r.target),
        ("time_to_target_s", r.time_to_target_s),
        ("time_to_target_init_s", r.time_to_target_init_s),
        ("cost_to_target_usd", r.cost_to_target_usd),
    ];
    empty(&names).or_else(|| not_a_measure(&numbers))
}

fn check_epoch(r: &EpochRow) -> Option<String> {
    let names = [
        ("run_id", &r.run_id),
        ("workload", &r.workload),
        ("backend", &r.backend),
    ];
    empty(&names).or_else(|| not_a_measure(&[("seconds", Some(r.seconds))]))
}

fn empty(names: &[(&str, &String)]) -> Option<String> {
    names
        .iter()
        .find(|(_, v)| v.trim().is_empty())
        .map(|(name, _)| format!("column {name} is empty"))
}

fn not_a_measure(numbers: &[(&str, Option<f64>)]) -> Option<String> {
    numbers.iter().find_map(|&(name, v)| {
        v.filter(|v| !(v.is_finite() && *v >= 0.0))
            .map(|v| format!("column {name} = {v}: must be a finite number ≥ 0"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit_code;

    #[test]
    fn the_column_counts_match_the_current_header() {
        assert_eq!(
            COLUMNS[SCHEMA_VERSION as usize - 1],
            header::<RunRow>().split(',').count()
        );
    }

    /// Writes `text` as `runs.csv` in a new directory and loads it.
    fn load_text(text: &str) -> (tempfile::TempDir, Result<Loaded>) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(RUNS_FILE), text).unwrap();
        let loaded = load(&[dir.path().to_path_buf()]);
        (dir, loaded)
    }

    fn row(version: u32, columns: usize, cells: &[(&str, &str)]) -> String {
        let header = header::<RunRow>();
        let names: Vec<&str> = header.split(',').take(columns).collect();
        let mut values = vec![""; columns];
        let defaults = [
            ("schema_version", "1"),
            ("run_id", "r"),
            ("status", "ok"),
            ("instance", "i"),
            ("backend", "cpu"),
            ("workload", "keypoints"),
            ("model", "net2"),
            ("batch_size", "16"),
            ("epochs", "2"),
            ("repeat", "0"),
            ("seed", "1"),
        ];
        let version = version.to_string();
        for (name, value) in defaults
            .iter()
            .chain(cells)
            .chain(&[("schema_version", version.as_str())])
        {
            if let Some(i) = names.iter().position(|n| n == name) {
                values[i] = value;
            }
        }
        format!("{}\n{}\n", names.join(","), values.join(","))
    }

    fn refused(text: &str, needle: &str) {
        let (dir, loaded) = load_text(text);
        let err = loaded.unwrap_err();
        assert_eq!(exit_code(&err), 2, "{err}");
        let msg = err.to_string();
        assert!(msg.contains(needle), "{msg}");
        assert!(
            msg.starts_with(&dir.path().join(RUNS_FILE).display().to_string()),
            "{msg}"
        );
    }

    #[test]
    fn every_schema_version_reads() {
        for (v, n) in COLUMNS.iter().enumerate() {
            let (_dir, loaded) = load_text(&row(v as u32 + 1, *n, &[]));
            assert_eq!(loaded.unwrap().runs.len(), 1);
        }
    }

    #[test]
    fn bad_files_are_refused_with_file_and_line() {
        refused(
            &row(8, 82, &[]),
            ":2: schema_version 8 was written by a newer gpubench",
        );
        refused(&row(0, 60, &[]), ":2: schema_version \"0\"");
        refused(
            &row(3, 55, &[]),
            ":1: the columns do not match schema_version 3 (line 2)",
        );
        refused("run_id,x\nr,1\n", ":1: not a gpubench runs.csv");
        refused(
            &row(3, 60, &[("batch_size", "x")]),
            ":2: column batch_size = \"x\"",
        );
        refused(
            &row(3, 60, &[("status", "done")]),
            ":2: unknown variant `done`",
        );
        refused(&row(3, 60, &[("train_s", "-1")]), ":2: column train_s = -1");
        refused(
            &row(3, 60, &[("instance", "")]),
            ":2: column instance is empty",
        );
        let ragged = format!("{}1,2\n", row(3, 60, &[]));
        refused(&ragged, ":3: 2 fields where the header has 60");
    }

    #[test]
    fn the_same_run_twice_is_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let text = row(3, 60, &[]);
        for sub in ["a", "b"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
            fs::write(dir.path().join(sub).join(RUNS_FILE), &text).unwrap();
        }
        // The same file named twice is read once, not counted as a duplicate.
        let file = dir.path().join("a").join(RUNS_FILE);
        let loaded = load(&[dir.path().to_path_buf(), file]).unwrap();
        assert_eq!((loaded.runs.len(), loaded.runs_files), (1, 2));
        assert_eq!(loaded.duplicate_runs, 1);
    }

    #[test]
    fn no_inputs_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(&[dir.path().to_path_buf()]).unwrap_err();
        assert_eq!(exit_code(&err), 2);
        assert!(
            err.to_string().contains("no runs.csv or epochs.csv found"),
            "{err}"
        );
        let err = load(&[dir.path().join("missing")]).unwrap_err();
        assert_eq!(exit_code(&err), 2);
    }
}
