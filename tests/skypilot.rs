//! The SkyPilot fleet in `scripts/skypilot`: gpubench.yaml through SkyPilot's own parser (the
//! pinned SkyPilot in target/sky-venv, made by scripts/test.sh, reading the fixture catalogs in
//! tests/fixtures/skypilot-catalog/ as its cached catalogs, so nothing is downloaded), its run
//! section against a fake gpubench, `sweep.sh` and `collect.sh` against fake `sky` and `aws`,
//! and shellcheck. No cloud is called. The tests that need SkyPilot skip, saying so, when
//! target/sky-venv is absent; shellcheck missing fails.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fleet::{repo, require, shell_scripts, shellcheck, tool_path, with_dir_first};

fn sky_python() -> Option<PathBuf> {
    let python = repo().join("target/sky-venv/bin/python");
    if python.is_file() {
        Some(python)
    } else {
        eprintln!(
            "SKIPPED: {} is absent; scripts/test.sh creates it (pip install skypilot==0.14.1)",
            python.display()
        );
        None
    }
}

/// HOME for SkyPilot: its cached catalogs (~/.sky/catalogs/v8/<cloud>/vms.csv) are the fixtures.
/// Fresh files without SkyPilot's .md5 are "modified by the user", so SkyPilot never fetches.
fn sky_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let fixtures = repo().join("tests/fixtures/skypilot-catalog/v8");
    for cloud in ["aws", "gcp", "azure"] {
        let dir = home.path().join(".sky/catalogs/v8").join(cloud);
        fs::create_dir_all(&dir).unwrap();
        fs::copy(fixtures.join(cloud).join("vms.csv"), dir.join("vms.csv")).unwrap();
    }
    home
}

/// Loads a task YAML with SkyPilot's parser, as `sky jobs launch --env ... --gpus G` would,
/// and prints what it made of it as JSON: one entry per `--gpus` value with the feasible
/// instance types of each candidate cloud, from the fixture catalogs.
const LOAD: &str = r#"
import json, sys
import sky
from sky.utils import yaml_utils

path, envs, gpus = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
task = sky.Task.from_yaml_config(yaml_utils.read_yaml(path), env_overrides=list(envs.items()))
out = {"envs": task.envs, "mounts": {}, "jobs": {}}
for dst, storage in task.storage_mounts.items():
    out["mounts"][dst] = [storage.source, str(storage.mode.value)]
for r in task.resources:
    out["autostop"] = [r.autostop_config.idle_minutes, r.autostop_config.down]
    out["use_spot"] = r.use_spot
for gpu in gpus:
    task.set_resources_override({"accelerators": gpu, "use_spot": True})
    feasible = {}
    for r in task.resources:
        f = r.cloud.get_feasible_launchable_resources(r, num_nodes=1)
        feasible[str(r.cloud).lower()] = sorted(x.instance_type for x in f.resources_list)
    out["jobs"][gpu] = feasible
print(json.dumps(out))
"#;

fn load(python: &Path, yaml: &Path, envs: &str, gpus: &[&str]) -> Output {
    let home = sky_home();
    Command::new(python)
        .arg("-c")
        .arg(LOAD)
        .arg(yaml)
        .arg(envs)
        .args(gpus)
        .env("HOME", home.path())
        .env_remove("SKYPILOT_CONFIG")
        .output()
        .expect("the sky venv's python runs")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", common::text(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {}", common::text(out)))
}

const ENVS: &str = r#"{"GPUBENCH_BUCKET": "s3://gpubench-results", "GPUBENCH_RUN_ID": "r1"}"#;

#[test]
fn skypilot_accepts_the_task_and_finds_an_instance_for_each_gpu_of_the_sweep() {
    let Some(python) = sky_python() else { return };
    let yaml = repo().join("scripts/skypilot/gpubench.yaml");
    let v = json(&load(
        &python,
        &yaml,
        ENVS,
        &["T4:1", "L4:1", "A10G:1", "A100:1"],
    ));
    assert_eq!(
        v["mounts"]["/gpubench-bucket"],
        serde_json::json!(["s3://gpubench-results", "MOUNT"])
    );
    assert_eq!(v["autostop"], serde_json::json!([10, true]));
    assert_eq!(v["use_spot"], false);
    assert_eq!(v["envs"]["GPUBENCH_RUN_ID"], "r1");
    assert_eq!(v["envs"]["GPUBENCH_PREFIX"], "gpubench");
    assert_eq!(v["envs"]["GPUBENCH_TIMEOUT_MIN"], "60");
    let jobs = &v["jobs"];
    let expect = serde_json::json!({
        "T4:1": {"aws": ["g4dn.xlarge"], "gcp": ["n1-standard-8"], "azure": ["Standard_NC4as_T4_v3"]},
        "L4:1": {"aws": ["g6.xlarge", "gr6.4xlarge"], "gcp": ["g2-standard-4"], "azure": []},
        "A10G:1": {"aws": ["g5.xlarge"], "gcp": [], "azure": []},
        "A100:1": {"aws": [], "gcp": ["a2-highgpu-1g"], "azure": []},
    });
    assert_eq!(jobs, &expect);
}

#[test]
fn skypilot_refuses_a_misspelled_field_and_a_missing_bucket() {
    let Some(python) = sky_python() else { return };
    let text = fs::read_to_string(repo().join("scripts/skypilot/gpubench.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (from, to, says) in [
        ("  use_spot: false", "  use_spots: false", "use_spots"),
        ("    down: true", "    downn: true", "downn"),
        ("    mode: MOUNT\n", "    mode: MOUNTED\n", "MOUNTED"),
    ] {
        assert!(text.contains(from), "gpubench.yaml lacks {from:?}");
        let bad = dir.path().join("bad.yaml");
        fs::write(&bad, text.replacen(from, to, 1)).unwrap();
        let out = load(&python, &bad, ENVS, &[]);
        assert!(
            !out.status.success(),
            "{to:?} was accepted:\n{}",
            common::text(&out)
        );
        assert!(common::text(&out).contains(says), "{}", common::text(&out));
    }
    let out = load(
        &python,
        &repo().join("scripts/skypilot/gpubench.yaml"),
        "{}",
        &[],
    );
    assert!(!out.status.success(), "{}", common::text(&out));
    assert!(
        common::text(&out).contains("'GPUBENCH_BUCKET' is None"),
        "{}",
        common::text(&out)
    );
}

/// `setup` and `run` of gpubench.yaml as bash files.
fn sections(python: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let out = Command::new(python)
        .args(["-c", "import sys, yaml; d = yaml.safe_load(open(sys.argv[1]))\nfor k in ('setup', 'run'): open(f'{sys.argv[2]}/{k}.sh', 'w').write('#!/usr/bin/env bash\\n' + d[k])"])
        .arg(repo().join("scripts/skypilot/gpubench.yaml"))
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    (dir.join("setup.sh"), dir.join("run.sh"))
}

#[test]
fn shellcheck_passes_on_the_scripts_and_the_tasks_setup_and_run() {
    let mut scripts = shell_scripts(&repo().join("scripts/skypilot"));
    let names: Vec<_> = scripts
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["collect.sh", "sweep.sh"]);
    let tmp = tempfile::tempdir().unwrap();
    if let Some(python) = sky_python() {
        let (setup, run) = sections(&python, tmp.path());
        scripts.extend([setup, run]);
    }
    shellcheck(&scripts);
}

/// Writes an executable script.
fn script(path: &Path, body: &str) {
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A gpubench that logs its arguments, appends one row to runs.csv in --out, and with
/// --spot exits 2 before any row (as gpubench does for an instance without a spot price).
const FAKE_GPUBENCH: &str = r#"#!/usr/bin/env bash
printf '%s\n' "$*" >>"$HOME/gpubench-calls.log"
out=""
spot=0
while [ $# -gt 0 ]; do
    case "$1" in --out) out=$2 ;; --spot) spot=1 ;; esac
    shift
done
if [ "$spot" -eq 1 ] && [ -n "${FAKE_NO_SPOT:-}" ]; then echo "no spot price" >&2; exit 2; fi
[ -s "$out/runs.csv" ] || echo 'run_id,instance,provider' >"$out/runs.csv"
echo 'x,g5.xlarge,aws' >>"$out/runs.csv"
echo 'epoch' >"$out/epochs.csv"
"#;

fn run_section(run: &Path, home: &Path, bucket: &Path, more: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(run)
        .env_clear()
        .env("PATH", tool_path())
        .env("HOME", home)
        .env("GPUBENCH_MOUNT", bucket);
    for (k, v) in [
        ("GPUBENCH_PREFIX", "gpubench"),
        ("GPUBENCH_RUN_ID", "r1"),
        ("GPUBENCH_WORKLOADS", "keypoints"),
        ("GPUBENCH_BACKENDS", ""),
        ("GPUBENCH_EPOCHS", "2"),
        ("GPUBENCH_ARGS", "--repeats 2"),
        ("GPUBENCH_SPOT", "0"),
        ("GPUBENCH_TIMEOUT_MIN", "5"),
    ] {
        cmd.env(k, v);
    }
    cmd.envs(more.iter().copied());
    cmd.output().unwrap()
}

#[test]
fn the_run_section_keeps_every_attempt_and_falls_back_from_an_unpriced_spot() {
    require(&["python3"]);
    let Some(python) = sky_python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (_, run) = sections(&python, tmp.path());
    let home = tmp.path().join("home");
    let bucket = tmp.path().join("bucket");
    fs::create_dir_all(home.join("gpubench/bin")).unwrap();
    fs::create_dir_all(&bucket).unwrap();
    script(&home.join("gpubench/bin/gpubench"), FAKE_GPUBENCH);

    // A managed job reruns the whole run section after a preemption: the second attempt
    // must not overwrite the first.
    for _ in 0..2 {
        let out = run_section(&run, &home, &bucket, &[]);
        assert!(out.status.success(), "{}", common::text(&out));
    }
    let dest = bucket.join("gpubench/aws/g5.xlarge/r1");
    for n in [1, 2] {
        let attempt = dest.join(format!("attempt-{n}"));
        assert_eq!(
            fs::read_to_string(attempt.join("runs.csv")).unwrap(),
            "run_id,instance,provider\nx,g5.xlarge,aws\n",
            "attempt {n}"
        );
        let status = fs::read_to_string(attempt.join("status.txt")).unwrap();
        assert!(
            status.starts_with("exit_status=0\ncloud=aws\ninstance_type=g5.xlarge\nrun_id=r1\n"),
            "{status}"
        );
        assert!(status.contains(&format!("\nattempt={n}\n")), "{status}");
        assert!(attempt.join("gpubench.log").is_file());
    }
    let calls = fs::read_to_string(home.join("gpubench-calls.log")).unwrap();
    let out_dir = home.join("gpubench/attempt/out");
    let want = format!(
        "run --instance auto --workload keypoints --epochs 2 --out {} --repeats 2\n",
        out_dir.display()
    );
    assert_eq!(calls, want.repeat(2));

    // --spot refused (exit 2, no row): run again priced on demand, and record it.
    fs::remove_file(home.join("gpubench-calls.log")).unwrap();
    let out = run_section(
        &run,
        &home,
        &bucket,
        &[("GPUBENCH_SPOT", "1"), ("FAKE_NO_SPOT", "1")],
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let calls = fs::read_to_string(home.join("gpubench-calls.log")).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 2, "{calls}");
    assert!(
        lines[0].ends_with("--repeats 2") && lines[0].contains(" --spot "),
        "{calls}"
    );
    assert!(!lines[1].contains("--spot"), "{calls}");
    let log = fs::read_to_string(dest.join("attempt-3/gpubench.log")).unwrap();
    assert!(
        log.contains("refused --spot (exit 2); running again priced on demand"),
        "{log}"
    );

    // A failing gpubench: its exit status is the job's, and the logs still arrive.
    script(
        &home.join("gpubench/bin/gpubench"),
        "#!/usr/bin/env bash\necho broken >&2\nexit 3\n",
    );
    let out = run_section(&run, &home, &bucket, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", common::text(&out));
    let lost = bucket.join("gpubench/unknown-cloud/unknown-instance-type/r1/attempt-1");
    assert!(
        fs::read_to_string(lost.join("status.txt"))
            .unwrap()
            .starts_with("exit_status=3\n")
    );
    assert!(
        fs::read_to_string(lost.join("gpubench.log"))
            .unwrap()
            .contains("broken")
    );
}

/// A `sky` that logs its arguments (one line per call, NUL-separated) and keeps a copy of the
/// task YAML it was given.
const FAKE_SKY: &str = r#"#!/usr/bin/env bash
n=$(($(wc -l <"$FAKE_SKY_LOG" 2>/dev/null || echo 0) + 1))
printf '%s\0' "$@" >>"$FAKE_SKY_LOG"
echo >>"$FAKE_SKY_LOG"
for last; do :; done
cp "$last" "$FAKE_SKY_DIR/task-$n.yaml"
"#;

struct Sweep {
    dir: tempfile::TempDir,
}

impl Sweep {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("bin")).unwrap();
        script(&dir.path().join("bin/sky"), FAKE_SKY);
        Sweep { dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("bash")
            .arg(repo().join("scripts/skypilot/sweep.sh"))
            .args(args)
            .env("PATH", with_dir_first(&self.dir.path().join("bin")))
            .env("FAKE_SKY_LOG", self.dir.path().join("sky.log"))
            .env("FAKE_SKY_DIR", self.dir.path())
            .output()
            .unwrap()
    }

    /// Each sky call's arguments.
    fn calls(&self) -> Vec<Vec<String>> {
        fs::read_to_string(self.dir.path().join("sky.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                l.split('\0')
                    .filter(|a| !a.is_empty())
                    .map(String::from)
                    .collect()
            })
            .collect()
    }
}

fn price(name: &str, spot: bool) -> f64 {
    let i = gpubench::instance::catalog::lookup(name).unwrap();
    if spot {
        i.spot_usd_per_hour
    } else {
        i.price_usd_per_hour
    }
    .unwrap()
}

#[test]
fn sweep_launches_one_named_detached_managed_job_per_gpu() {
    require(&["python3"]);
    let s = Sweep::new();
    let out = s.run(&[
        "--gpus",
        "T4,A100:1",
        "--bucket",
        "gs://gpubench-results",
        "--clouds",
        "gcp,aws",
        "--spot",
        "--run-id",
        "sweep-1",
        "--epochs",
        "4",
        "--gpubench-args",
        "--repeats 3",
    ]);
    assert!(out.status.success(), "{}", common::text(&out));
    let calls = s.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    for (call, (name, gpu)) in calls.iter().zip([
        ("gpubench-sweep-1-t4", "T4:1"),
        ("gpubench-sweep-1-a100", "A100:1"),
    ]) {
        let head: Vec<&str> = call.iter().take(9).map(String::as_str).collect();
        assert_eq!(
            head,
            [
                "jobs",
                "launch",
                "--yes",
                "--detach-run",
                "--name",
                name,
                "--gpus",
                gpu,
                "--use-spot"
            ]
        );
        let envs: Vec<&str> = call
            .windows(2)
            .filter(|w| w[0] == "--env")
            .map(|w| w[1].as_str())
            .collect();
        assert_eq!(
            envs,
            [
                "GPUBENCH_BUCKET=gs://gpubench-results",
                "GPUBENCH_PREFIX=gpubench",
                "GPUBENCH_RUN_ID=sweep-1",
                "GPUBENCH_BINARY=bin/gpubench",
                "GPUBENCH_REPO=",
                "GPUBENCH_GIT_REV=",
                "GPUBENCH_WORKLOADS=keypoints,turtle",
                "GPUBENCH_BACKENDS=",
                "GPUBENCH_EPOCHS=4",
                "GPUBENCH_ARGS=--repeats 3",
                "GPUBENCH_SPOT=1",
                "GPUBENCH_TIMEOUT_MIN=60",
            ]
        );
        assert!(call.last().unwrap().ends_with("gpubench.yaml"), "{call:?}");
    }
    // The task it was given lists only the allowed clouds, and is otherwise gpubench.yaml.
    let task = fs::read_to_string(s.dir.path().join("task-1.yaml")).unwrap();
    let original = fs::read_to_string(repo().join("scripts/skypilot/gpubench.yaml")).unwrap();
    assert!(
        task.contains("- infra: aws") && task.contains("- infra: gcp"),
        "{task}"
    );
    assert!(!task.contains("infra: azure"), "{task}");
    assert_eq!(
        task,
        original.replace("    - infra: azure     # sweep:cloud\n", "")
    );
    if let Some(python) = sky_python() {
        let v = json(&load(
            &python,
            &s.dir.path().join("task-1.yaml"),
            ENVS,
            &["T4:1"],
        ));
        let clouds: Vec<&String> = v["jobs"]["T4:1"].as_object().unwrap().keys().collect();
        assert_eq!(clouds, ["aws", "gcp"]);
    }
    // On demand without --spot.
    let s = Sweep::new();
    let out = s.run(&["--gpus", "L4", "--bucket", "s3://b", "--run-id", "r2"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let call = &s.calls()[0];
    assert!(!call.iter().any(|a| a == "--use-spot"), "{call:?}");
    assert!(call.iter().any(|a| a == "GPUBENCH_SPOT=0"), "{call:?}");
}

#[test]
fn max_usd_refuses_a_sweep_over_budget_or_unpriced_and_starts_nothing() {
    require(&["python3"]);
    // A100 on gcp: a2-highgpu-1g is the only 1-GPU A100 entry; T4: the dearest T4 of gcp.
    let a100 = price("a2-highgpu-1g", true);
    let t4 = [
        "n1-standard-4+t4",
        "n1-standard-8+t4",
        "Standard_NC4as_T4_v3",
    ]
    .map(|n| price(n, true))
    .into_iter()
    .fold(0.0, f64::max);
    let total = (a100 + t4) * 2.0;
    let s = Sweep::new();
    let args = [
        "--gpus",
        "A100,T4",
        "--bucket",
        "s3://b",
        "--clouds",
        "gcp,azure",
        "--spot",
        "--hours",
        "2",
    ];
    let under = format!("{:.2}", total - 0.01);
    let out = s.run(&[&args[..], &["--max-usd", &under]].concat());
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    let text = common::text(&out);
    assert!(
        text.contains(&format!(
            "  A100         {a100:>8.4} USD/h  {:>8.2} USD  gcp a2-highgpu-1g",
            a100 * 2.0
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "the worst case, {total:.2} USD, is above --max-usd {under}; nothing launched"
        )),
        "{text}"
    );
    assert_eq!(s.calls().len(), 0);

    let enough = format!("{:.2}", total + 0.01);
    let out = s.run(&[&args[..], &["--max-usd", &enough]].concat());
    assert!(out.status.success(), "{}", common::text(&out));
    assert!(common::text(&out).contains(&format!("within --max-usd {enough}")));
    assert_eq!(s.calls().len(), 2);

    // A GPU without a price in the allowed clouds' catalogs cannot be checked: refused.
    let s = Sweep::new();
    let out = s.run(&[
        "--gpus",
        "T4,A10G",
        "--bucket",
        "s3://b",
        "--clouds",
        "gcp",
        "--max-usd",
        "1000",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    let text = common::text(&out);
    assert!(
        text.contains("  A10G         no on-demand price in instances/{gcp}.toml"),
        "{text}"
    );
    assert!(
        text.contains("1 GPU type(s) have no price to check; nothing launched"),
        "{text}"
    );
    assert_eq!(s.calls().len(), 0);
}

#[test]
fn sweep_dry_run_prints_the_commands_and_starts_nothing_and_bad_input_is_refused() {
    require(&["python3"]);
    let s = Sweep::new();
    let out = s.run(&[
        "--gpus",
        "T4,L4",
        "--bucket",
        "s3://b",
        "--run-id",
        "d1",
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}", common::text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("sky jobs launch --yes --detach-run --name gpubench-d1-t4 --gpus T4:1 "),
        "{stdout}"
    );
    assert!(
        stdout.contains("--name gpubench-d1-l4 --gpus L4:1 "),
        "{stdout}"
    );
    assert!(stdout.ends_with("dry run: nothing launched\n"), "{stdout}");
    assert_eq!(s.calls().len(), 0);

    for bad in [
        vec!["--bucket", "s3://b"],
        vec!["--gpus", "T4"],
        vec!["--gpus", "T4", "--bucket", "ftp://b"],
        vec!["--gpus", "T4", "--bucket", "s3://b", "--clouds", "aws,oci"],
        vec!["--gpus", "T4:0", "--bucket", "s3://b"],
        vec!["--gpus", "T4", "--bucket", "s3://b", "--max-usd", "ten"],
        vec!["--gpus", "T4", "--bucket", "s3://b", "--git-rev", "abc123"],
        vec!["--gpus", "T4", "--bucket", "s3://b", "--bogus"],
    ] {
        let out = s.run(&bad);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad:?}: {}",
            common::text(&out)
        );
    }
    assert_eq!(s.calls().len(), 0);
    let help = s.run(&["--help"]);
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("REAL, BILLED") && help.contains("sky jobs cancel -a"),
        "{help}"
    );
}

#[test]
fn collect_syncs_the_bucket_and_reports_it() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    fs::create_dir(&bin).unwrap();
    // `aws s3 sync s3://b/PREFIX/ DEST ...` copies $FAKE_S3/b/PREFIX/ (the filters are logged).
    script(
        &bin.join("aws"),
        "#!/usr/bin/env bash\nprintf '%s\\n' \"$*\" >>\"$FAKE_LOG\"\nsrc=${4#s3://}\ncp -R \"$FAKE_S3/$src.\" \"$5\"\n",
    );
    script(
        &bin.join("gpubench"),
        "#!/usr/bin/env bash\nprintf 'gpubench %s\\n' \"$*\" >>\"$FAKE_LOG\"\n",
    );
    let attempt = tmp.path().join("s3/b/gpubench/aws/g5.xlarge/r1/attempt-1");
    fs::create_dir_all(&attempt).unwrap();
    fs::write(attempt.join("runs.csv"), "run_id\nx\n").unwrap();
    fs::write(attempt.join("status.txt"), "exit_status=0\n").unwrap();
    let out_dir = tmp.path().join("collected");
    let log = tmp.path().join("calls.log");
    let out = Command::new("bash")
        .arg(repo().join("scripts/skypilot/collect.sh"))
        .args(["--bucket", "s3://b", "--run-id", "r1", "--out"])
        .arg(&out_dir)
        .env("PATH", with_dir_first(&bin))
        .env("FAKE_S3", tmp.path().join("s3"))
        .env("FAKE_LOG", &log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    assert_eq!(
        fs::read_to_string(out_dir.join("aws/g5.xlarge/r1/attempt-1/runs.csv")).unwrap(),
        "run_id\nx\n"
    );
    let o = out_dir.display();
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        format!(
            "s3 sync --only-show-errors s3://b/gpubench/ {o}/ --exclude * --include */r1/*\n\
             gpubench report --in {o} --out {o}\n"
        )
    );
    assert!(
        common::text(&out).contains("1 runs.csv file(s)"),
        "{}",
        common::text(&out)
    );
}
