//! Finding and reading `runs.csv` / `epochs.csv` files, e.g. a bucket synced from many
//! instances. A file whose header is not gpubench's refuses the report (exit code 2); a bad
//! row (torn by a full disk, cut off in a copy, edited by hand) is left out with a warning
//! naming `PATH:LINE` and what is wrong, and counted in the report, so one bad line never makes
//! every other result unusable and a report never leaves a run out unsaid.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use csv::StringRecord;
use serde::de::DeserializeOwned;

use crate::error::{InputError, input};
use crate::record::{
    DEFAULT_DIR, EPOCHS_FILE, EpochRow, RUNS_FILE, RunRow, SAMPLES_FILE, SCHEMA_VERSION, SampleRow,
    header,
};

/// How many columns `runs.csv` had at each schema_version (index 0 is version 1); columns are
/// only ever appended. Its length is the schema version, so a bump cannot forget the reader.
const COLUMNS: [usize; SCHEMA_VERSION as usize] = [53, 55, 60, 61, 66, 74, 82, 94, 95];

/// A run's key: (run_id, instance, host_id, workload, backend, batch_size, repeat, devices,
/// node_rank). The instance and host keep apart two machines' runs that share a run id.
pub type RunId = (
    String,
    String,
    Option<String>,
    String,
    String,
    usize,
    usize,
    usize,
    usize,
);

/// The picture each run wrote (its `artifact`), as a path readable from here.
pub type Pictures = HashMap<RunId, PathBuf>;

pub fn run_id(r: &RunRow) -> RunId {
    (
        r.run_id.clone(),
        r.instance.clone(),
        r.host_id.clone(),
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
    /// Telemetry readings (`samples.csv`, written with `run --keep-samples`).
    pub samples: Vec<SampleRow>,
    pub runs_files: usize,
    pub epochs_files: usize,
    /// Rows seen before (the same run synced twice), dropped.
    pub duplicate_runs: usize,
    pub duplicate_epochs: usize,
    /// `PATH:LINE: what is wrong` for each row left out.
    pub skipped: Vec<String>,
}

/// Warnings printed for skipped rows before the rest are only counted.
const WARNINGS: usize = 20;

/// Reads every `runs.csv` and `epochs.csv` in `inputs`: a directory is searched recursively
/// for files of those names; a file is taken as is, its kind told by its header. No inputs
/// means the two files `run` writes by default, and nothing in the folders below them.
pub fn load(inputs: &[PathBuf]) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    let mut seen_runs = HashSet::new();
    let mut seen_epochs = HashSet::new();
    for path in find(inputs)? {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let headers = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(bad_csv(&path, e)),
        };
        if headers.is_empty() {
            skip(
                &mut loaded.skipped,
                format!("{}:1: the file is empty", path.display()),
            );
            continue;
        }
        if headers.iter().any(|h| h == "schema_version") {
            loaded.runs_files += 1;
            let version = header_version(&path, &headers)?;
            let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
            for rec in records(&path, &mut reader, &headers, &mut loaded.skipped)? {
                let row = match read_run(&path, &rec, &headers, version) {
                    Ok(row) => row,
                    Err(why) => {
                        skip(&mut loaded.skipped, why);
                        continue;
                    }
                };
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
            for rec in records(&path, &mut reader, &headers, &mut loaded.skipped)? {
                let row: EpochRow = match parse(&path, &rec, &headers).and_then(|row| {
                    check_epoch(&row).map_or(Ok(row), |what| Err(at(&path, &rec, &what)))
                }) {
                    Ok(row) => row,
                    Err(why) => {
                        skip(&mut loaded.skipped, why);
                        continue;
                    }
                };
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
        } else if headers.iter().eq(header::<SampleRow>().split(',')) {
            for rec in records(&path, &mut reader, &headers, &mut loaded.skipped)? {
                match parse::<SampleRow>(&path, &rec, &headers) {
                    Ok(row) if row.t_s.is_finite() => loaded.samples.push(row),
                    Ok(_) => skip(&mut loaded.skipped, at(&path, &rec, "t_s is not finite")),
                    Err(why) => skip(&mut loaded.skipped, why),
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
    if loaded.skipped.len() > WARNINGS {
        eprintln!(
            "warning: {} more bad rows skipped",
            loaded.skipped.len() - WARNINGS
        );
    }
    if loaded.runs.is_empty() {
        return input(format!(
            "no runs to report: {} {RUNS_FILE} and {} {EPOCHS_FILE} read, with no {RUNS_FILE} \
             rows{}",
            loaded.runs_files,
            loaded.epochs_files,
            match loaded.skipped.len() {
                0 => String::new(),
                n => format!(" but {n} bad ones"),
            }
        ));
    }
    Ok(loaded)
}

/// Leaves a row out, saying so (the first [`WARNINGS`] times).
fn skip(skipped: &mut Vec<String>, why: String) {
    if skipped.len() < WARNINGS {
        eprintln!("warning: {why} (row skipped)");
    }
    skipped.push(why);
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
        let files: Vec<PathBuf> = [RUNS_FILE, EPOCHS_FILE, SAMPLES_FILE]
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

/// Collects the `runs.csv`, `epochs.csv` and `samples.csv` files under `dir`. Symbolic links to directories
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
        } else if [RUNS_FILE, EPOCHS_FILE, SAMPLES_FILE]
            .contains(&&*entry.file_name().to_string_lossy())
            && path.is_file()
        {
            files.push(path);
        }
    }
    Ok(())
}

/// The schema_version a `runs.csv` header is the columns of; a header of no version refuses the
/// file, since none of its rows could be read.
fn header_version(path: &Path, headers: &StringRecord) -> Result<u32> {
    let current = header::<RunRow>();
    let names: Vec<&str> = current.split(',').collect();
    if let Some(v) = COLUMNS
        .iter()
        .position(|&n| headers.iter().eq(names.iter().take(n).copied()))
    {
        return Ok(v as u32 + 1);
    }
    if headers.len() > names.len() && headers.iter().zip(&names).all(|(h, n)| h == *n) {
        return input(format!(
            "{}:1: {} columns, more than the {} of schema_version {SCHEMA_VERSION}: written by a \
             newer gpubench; update gpubench",
            path.display(),
            headers.len(),
            names.len()
        ));
    }
    let differ = headers
        .iter()
        .zip(&names)
        .position(|(h, n)| h != *n)
        .unwrap_or(headers.len().min(names.len()));
    input(format!(
        "{}:1: not the columns of any gpubench schema_version (1 to {SCHEMA_VERSION}): column {} \
         is {:?}, expected {:?}",
        path.display(),
        differ + 1,
        headers.get(differ).unwrap_or_default(),
        names.get(differ).copied().unwrap_or_default()
    ))
}

/// The records of one file after its header; a record with another number of fields than the
/// header, or not UTF-8, is skipped with its line. Only an error reading the file stops it.
fn records(
    path: &Path,
    reader: &mut csv::Reader<fs::File>,
    headers: &StringRecord,
    skipped: &mut Vec<String>,
) -> Result<Vec<StringRecord>> {
    let mut out = Vec::new();
    for rec in reader.byte_records() {
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Err(bad_csv(path, e)),
            Err(e) => {
                skip(skipped, bad_csv(path, e).to_string());
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != headers.len() {
            skip(
                skipped,
                format!(
                    "{}:{line}: {} fields where the header has {}",
                    path.display(),
                    rec.len(),
                    headers.len()
                ),
            );
            continue;
        }
        match StringRecord::from_byte_record(rec) {
            Ok(rec) => out.push(rec),
            Err(_) => skip(
                skipped,
                format!("{}:{line}: not valid UTF-8", path.display()),
            ),
        }
    }
    Ok(out)
}

/// One `runs.csv` row, checked against its header's schema_version; the error says
/// `PATH:LINE: what is wrong`.
fn read_run(
    path: &Path,
    rec: &StringRecord,
    headers: &StringRecord,
    version: u32,
) -> Result<RunRow, String> {
    let column = headers.iter().position(|h| h == "schema_version");
    let raw = column.and_then(|c| rec.get(c)).unwrap_or_default();
    match raw.trim().parse::<u32>() {
        Ok(v) if v == version => {}
        Ok(v) if v > SCHEMA_VERSION => {
            return Err(at(
                path,
                rec,
                &format!(
                    "schema_version {v} was written by a newer gpubench; this one reads 1 to \
                     {SCHEMA_VERSION}: update gpubench"
                ),
            ));
        }
        _ => {
            return Err(at(
                path,
                rec,
                &format!("schema_version {raw:?} is not {version}, the version of the header"),
            ));
        }
    }
    let row: RunRow = parse(path, rec, headers)?;
    match check_run(&row) {
        Some(what) => Err(at(path, rec, &what)),
        None => Ok(row),
    }
}

/// `PATH:LINE: what`.
fn at(path: &Path, rec: &StringRecord, what: &str) -> String {
    format!("{}:{}: {what}", path.display(), line(rec))
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
) -> Result<T, String> {
    rec.deserialize(Some(headers)).map_err(|e| {
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
        at(path, rec, &what)
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
    fn a_file_whose_header_is_not_gpubenchs_is_refused() {
        let mut newer = row(9, 95, &[]).replacen('\n', ",extra\n", 1);
        newer = newer.trim_end().to_string() + ",1\n";
        refused(
            &newer,
            ":1: 96 columns, more than the 95 of schema_version 9",
        );
        refused("run_id,x\nr,1\n", ":1: not a gpubench runs.csv");
        let renamed = row(2, 55, &[]).replacen("run_id", "run", 1);
        refused(
            &renamed,
            ":1: not the columns of any gpubench schema_version",
        );
    }

    /// `text` (a header and one bad row) with a good row after the bad one: the good row is
    /// read, the bad one skipped with `PATH:LINE: what`.
    fn skipped(text: &str, needle: &str) {
        let good = text.lines().next().unwrap().split(',').count();
        let version = COLUMNS.iter().position(|&n| n == good).unwrap() as u32 + 1;
        let with_good = format!("{text}{}", row(version, good, &[]).lines().nth(1).unwrap());
        let (dir, loaded) = load_text(&with_good);
        let loaded = loaded.unwrap();
        assert_eq!(loaded.runs.len(), 1, "{:?}", loaded.skipped);
        let [why] = &loaded.skipped[..] else {
            panic!("{:?}", loaded.skipped)
        };
        assert!(why.contains(needle), "{why}");
        assert!(
            why.starts_with(&dir.path().join(RUNS_FILE).display().to_string()),
            "{why}"
        );
    }

    #[test]
    fn a_bad_row_is_skipped_with_file_and_line() {
        skipped(
            &row(10, 95, &[]),
            ":2: schema_version 10 was written by a newer gpubench",
        );
        skipped(&row(0, 60, &[]), ":2: schema_version \"0\" is not 3");
        skipped(&row(3, 55, &[]), ":2: schema_version \"3\" is not 2");
        skipped(
            &row(3, 60, &[("batch_size", "x")]),
            ":2: column batch_size = \"x\"",
        );
        skipped(
            &row(3, 60, &[("status", "done")]),
            ":2: unknown variant `done`",
        );
        skipped(&row(3, 60, &[("train_s", "-1")]), ":2: column train_s = -1");
        skipped(
            &row(3, 60, &[("instance", "")]),
            ":2: column instance is empty",
        );
        // A torn row glued to the next one: more fields than the header.
        let r = row(7, 82, &[]);
        let body = r.lines().nth(1).unwrap();
        let glued = format!("{r}{body}{body}\n");
        skipped(&glued, ":3: 163 fields where the header has 82");
        skipped(&format!("{r}1,2\n"), ":3: 2 fields where the header has 82");
    }

    #[test]
    fn only_bad_rows_is_refused_and_an_empty_file_is_skipped() {
        let (_dir, loaded) = load_text(&row(3, 60, &[("train_s", "-1")]));
        let err = loaded.unwrap_err();
        assert_eq!(exit_code(&err), 2);
        assert!(
            err.to_string()
                .ends_with("with no runs.csv rows but 1 bad ones"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("a")).unwrap();
        fs::write(dir.path().join("a").join(RUNS_FILE), "").unwrap();
        fs::write(dir.path().join(RUNS_FILE), row(7, 82, &[])).unwrap();
        let loaded = load(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(loaded.runs.len(), 1);
        assert!(loaded.skipped[0].ends_with("runs.csv:1: the file is empty"));
    }

    #[test]
    fn two_machines_runs_under_one_run_id_are_both_kept() {
        let dir = tempfile::tempdir().unwrap();
        for (sub, instance) in [("a", "g5.xlarge"), ("b", "g4dn.xlarge")] {
            fs::create_dir(dir.path().join(sub)).unwrap();
            let text = row(7, 82, &[("instance", instance)]);
            fs::write(dir.path().join(sub).join(RUNS_FILE), text).unwrap();
        }
        let loaded = load(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!((loaded.runs.len(), loaded.duplicate_runs), (2, 0));
    }

    proptest::proptest! {
        /// Arbitrary bytes as a runs.csv or an epochs.csv (beside a good runs.csv): rows, or a
        /// refusal naming a file (exit 2); a bad row never takes the good file's rows with it.
        #[test]
        fn fuzz_any_csv_loads_or_is_refused_cleanly(
            bytes in crate::fuzz::inputs("runs_csv"),
            as_epochs in proptest::bool::ANY,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let (sub, name) = if as_epochs { ("good", EPOCHS_FILE) } else { ("bad", RUNS_FILE) };
            fs::create_dir(dir.path().join(sub)).unwrap();
            fs::write(dir.path().join(sub).join(name), &bytes).unwrap();
            if as_epochs {
                fs::write(dir.path().join("good").join(RUNS_FILE), row(7, 82, &[])).unwrap();
            }
            match load(&[dir.path().to_path_buf()]) {
                Ok(loaded) => proptest::prop_assert!(!loaded.runs.is_empty()),
                Err(e) => {
                    proptest::prop_assert_eq!(exit_code(&e), 2, "{:#}", e);
                    let root = dir.path().display().to_string();
                    let names_file = e.to_string().starts_with(&root) || !as_epochs;
                    proptest::prop_assert!(names_file, "{}", e);
                }
            }
        }
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
