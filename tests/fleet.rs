//! The EC2 fleet scripts in `scripts/aws`: shellcheck; `user-data.sh` end to end in a sandbox (a
//! fake IMDSv2 and moto's S3 server on 127.0.0.1, the built gpubench fetched from that S3, a stub
//! `shutdown` that records its arguments), when it succeeds and when gpubench fails; `collect.sh`
//! against the same S3; `launch-fleet.sh --dry-run` and a real launch through a fake AWS CLI.
//!
//! Needs shellcheck, python3, curl, moto_server and the AWS CLI, on PATH or in
//! target/test-venv/bin: `scripts/test.sh` installs them. A missing tool fails the test.
//! GPUBENCH_FLEET_TEST_INSTANCE sets `--instance` for the sandboxed run (default `auto`, as on EC2).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::fleet::*;

use gpubench::record::Status;

#[test]
fn shellcheck_passes_on_every_aws_script_and_the_policies_are_json() {
    require(&["shellcheck", "python3"]);
    let dir = repo().join("scripts/aws");
    let mut scripts: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    let names: Vec<_> = scripts
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    for want in ["collect.sh", "launch-fleet.sh", "user-data.sh"] {
        assert!(
            names.iter().any(|n| n == want),
            "scripts/aws/{want} is missing"
        );
    }
    let out = Command::new("shellcheck")
        .env("PATH", tool_path())
        .args(&scripts)
        .output()
        .expect("shellcheck runs");
    assert!(
        out.status.success(),
        "shellcheck found problems:\n{}",
        common::text(&out)
    );
    for script in &scripts {
        let mode = fs::metadata(script).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{} is not executable", script.display());
    }
    for policy in ["iam-policy.json", "launcher-policy.json"] {
        let out = Command::new("python3")
            .args(["-m", "json.tool"])
            .arg(dir.join(policy))
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{policy}: {}", common::text(&out));
    }
}

#[test]
fn user_data_runs_gpubench_uploads_results_and_logs_then_shuts_down() {
    let sb = Sandbox::start();
    let (prefix, run_id) = ("fleet-ok", "run-ok-1");
    let run = sb.run_user_data(prefix, run_id, "--synthetic 20 --batch-size 8");
    assert!(
        run.status.success(),
        "user-data.sh failed ({}):\n{}",
        run.status,
        run.output
    );
    check_shutdown_and_imds(&sb, &run);

    assert_arrived(
        &sb,
        prefix,
        run_id,
        &[
            "runs.csv",
            "epochs.csv",
            LOG,
            CLOUD_INIT_LOG,
            "status.txt",
            "gpu-smoke.txt",
        ],
        &run.output,
    );
    let dir = format!("{INSTANCE_TYPE}/{run_id}");
    // No GPU in the sandbox: the smoke checks say why, and the benchmark ran all the same.
    let smoke = sb.object(&format!("{prefix}/{dir}/gpu-smoke.txt"));
    assert!(smoke.starts_with("FAIL cuda probe: "), "{smoke}");
    assert!(
        run.output.contains("GPU smoke checks failed"),
        "{}",
        run.output
    );

    // runs.csv is gpubench's own, and names the instance the metadata service reported.
    let local = sb.path().join("runs-ok");
    fs::create_dir_all(&local).unwrap();
    fs::write(
        local.join("runs.csv"),
        sb.object(&format!("{prefix}/{dir}/runs.csv")),
    )
    .unwrap();
    let rows = common::runs(&local);
    assert_eq!(rows.len(), 1, "one run: turtle on cpu");
    let r = &rows[0];
    assert_eq!(r.instance, INSTANCE_TYPE);
    assert_eq!((r.workload.as_str(), r.backend.as_str()), ("turtle", "cpu"));
    assert_eq!(r.status, Status::Ok, "{:?}", r.error);
    if std::env::var("GPUBENCH_FLEET_TEST_INSTANCE").is_err() {
        assert!(
            r.instance_source.contains("aws"),
            "--instance auto should say it asked AWS's metadata, got {:?}",
            r.instance_source
        );
    }
    assert!(
        sb.object(&format!("{prefix}/{dir}/epochs.csv"))
            .lines()
            .count()
            >= 2,
        "epochs.csv has no epoch"
    );

    let log = sb.object(&format!("{prefix}/{dir}/gpubench-user-data.log"));
    assert!(
        log.contains(&format!("instance {INSTANCE_TYPE} in us-east-1")),
        "{log}"
    );
    assert!(log.contains("benchmark done"), "{log}");
    let cloud_init = sb.object(&format!("{prefix}/{dir}/cloud-init-output.log"));
    assert!(cloud_init.contains("Cloud-init v. 99"), "{cloud_init}");
    assert!(
        sb.object(&format!("{prefix}/{dir}/status.txt"))
            .contains("exit_status=0")
    );

    // collect.sh brings the same files down from the bucket.
    let out_dir = sb.path().join("collected");
    let mut cmd = Command::new("bash");
    sb.env(&mut cmd);
    cmd.arg(repo().join("scripts/aws/collect.sh"))
        .args([
            "--bucket", BUCKET, "--prefix", prefix, "--run-id", run_id, "--out",
        ])
        .arg(&out_dir)
        .env("PATH", tool_path())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("S3_ENDPOINT_URL", &sb.endpoint)
        .env("GPUBENCH", env!("CARGO_BIN_EXE_gpubench"));
    let (status, output) = run_bounded(
        cmd,
        &sb.path().join("collect.out"),
        Duration::from_secs(120),
    );
    assert!(status.success(), "collect.sh failed ({status}):\n{output}");
    for file in ["runs.csv", "epochs.csv", "gpubench-user-data.log"] {
        assert!(
            out_dir.join(&dir).join(file).is_file(),
            "collect.sh did not fetch {file}:\n{output}"
        );
    }
    assert_eq!(common::runs(&out_dir.join(&dir)).len(), 1);
}

#[test]
fn user_data_uploads_logs_and_shuts_down_when_gpubench_fails() {
    let sb = Sandbox::start();
    let (prefix, run_id) = ("fleet-fail", "run-fail-1");
    // gpubench rejects the flag (exit 2), as it would any bad --gpubench-args.
    let run = sb.run_user_data(prefix, run_id, "--synthetic 20 --no-such-flag");
    assert!(
        !run.status.success(),
        "user-data.sh should fail:\n{}",
        run.output
    );
    assert_eq!(
        run.status.code(),
        Some(2),
        "gpubench's exit status:\n{}",
        run.output
    );
    check_shutdown_and_imds(&sb, &run);

    let keys = assert_arrived(
        &sb,
        prefix,
        run_id,
        &[LOG, CLOUD_INIT_LOG, "status.txt"],
        &run.output,
    );
    let dir = format!("{INSTANCE_TYPE}/{run_id}");
    assert!(
        !keys.contains(&format!("{dir}/runs.csv")),
        "no run, so no runs.csv: {keys:?}"
    );
    let log = sb.object(&format!("{prefix}/{dir}/gpubench-user-data.log"));
    assert!(
        log.contains("--no-such-flag"),
        "gpubench's complaint is in the log:\n{log}"
    );
    assert!(log.contains("finished with exit status 2"), "{log}");
    assert!(
        sb.object(&format!("{prefix}/{dir}/status.txt"))
            .contains("exit_status=2")
    );
}

#[test]
fn launch_fleet_dry_run_prints_one_run_instances_per_type_and_calls_nothing() {
    require(&["bash"]);
    let tmp = tempfile::tempdir().unwrap();
    let never = tmp.path().join("no-such-aws"); // calling it would fail the script
    let base = [
        "--dry-run",
        "--types",
        "g4dn.xlarge,g5.xlarge",
        "--bucket",
        "b",
        "--ami",
        "ami-123",
        "--binary-s3",
        "s3://b/bin/gpubench",
    ];

    let spot: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--spot", "--run-id", "r-test", "--region", "us-west-2"])
        .collect();
    let (status, out) = launch_fleet(&spot, &never, tmp.path(), &[]);
    assert!(status.success(), "{out}");
    let lines = run_instances_lines(&out);
    assert_eq!(lines.len(), 2, "one run-instances per type:\n{out}");
    for (line, t) in lines.iter().zip(["g4dn.xlarge", "g5.xlarge"]) {
        for want in [
            format!("--instance-type {t} "),
            "--image-id ami-123 ".into(),
            "--count 1 ".into(),
            "--instance-initiated-shutdown-behavior terminate ".into(),
            "--iam-instance-profile Name=gpubench-fleet ".into(),
            "HttpTokens=required".into(),
            "--user-data file://".into(),
            format!(
                "ResourceType=instance,Tags=[{{Key=gpubench-run,Value=r-test}},{{Key=gpubench-type,Value={t}}}"
            ),
            "--instance-market-options MarketType=spot".into(),
            "--region us-west-2 ".into(),
        ] {
            assert!(line.contains(&want), "`{want}` missing from\n{line}");
        }
    }
    assert!(
        !out.contains("ssm get-parameter"),
        "--ami given, no SSM lookup:\n{out}"
    );
    for var in [
        "BUCKET=b",
        "PREFIX=gpubench",
        "RUN_ID=r-test",
        "MAX_MINUTES=90",
    ] {
        assert!(
            out.lines().any(|l| l.trim_start_matches(['#', ' ']) == var),
            "{var} not in the variable block:\n{out}"
        );
    }
    assert!(
        out.contains("Name=tag:gpubench-run,Values=r-test"),
        "the straggler check:\n{out}"
    );

    // On demand, no --ami: the SSM lookup is printed, not run; no spot options.
    let on_demand = [
        "--dry-run",
        "--types",
        "g6.xlarge",
        "--bucket",
        "b",
        "--max-minutes",
        "45",
        "--repo",
        "https://example.com/gpubench.git",
    ];
    let (status, out) = launch_fleet(&on_demand, &never, tmp.path(), &[]);
    assert!(status.success(), "{out}");
    assert_eq!(run_instances_lines(&out).len(), 1, "{out}");
    assert!(!out.contains("MarketType=spot"), "{out}");
    assert!(
        out.contains("ssm get-parameter --name /aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id"),
        "{out}"
    );
    assert!(out.lines().any(|l| l.ends_with("MAX_MINUTES=45")), "{out}");

    // Bad input: exit 2 before anything runs.
    for bad in [
        &["--types", "g4dn.xlarge"][..],
        &["--bucket", "b"][..],
        &["--types", "g4dn xlarge", "--bucket", "b"][..],
        &[
            "--types",
            "g4dn.xlarge",
            "--bucket",
            "b",
            "--max-minutes",
            "soon",
        ][..],
        &[
            "--types",
            "g4dn.xlarge",
            "--bucket",
            "b",
            "--repo",
            "https://user:token@example.com/x.git",
        ][..],
        &["--types", "g4dn.xlarge", "--bucket", "b", "--frobnicate"][..],
        // Neither a binary nor a repository: no way for an instance to get gpubench.
        &["--types", "g4dn.xlarge", "--bucket", "b", "--ami", "ami-1"][..],
    ] {
        let (status, out) = launch_fleet(bad, &never, tmp.path(), &[]);
        assert_eq!(status.code(), Some(2), "{bad:?}:\n{out}");
    }
}

#[test]
fn launch_fleet_puts_the_nodes_of_a_multi_node_run_in_one_cluster_placement_group() {
    require(&["bash"]);
    let tmp = tempfile::tempdir().unwrap();
    let never = tmp.path().join("no-such-aws");
    let args = [
        "--dry-run",
        "--types",
        "p4d.24xlarge",
        "--bucket",
        "b",
        "--ami",
        "ami-1",
        "--binary-s3",
        "s3://b/bin/gpubench",
        "--run-id",
        "r-nodes",
        "--nodes",
        "2",
        "--workloads",
        "turtle",
        "--backends",
        "cuda",
    ];
    let (status, out) = launch_fleet(&args, &never, tmp.path(), &[]);
    assert!(status.success(), "{out}");
    assert!(
        out.contains("ec2 create-placement-group --group-name gpubench-r-nodes-p4d.24xlarge --strategy cluster"),
        "{out}"
    );
    let lines = run_instances_lines(&out);
    assert_eq!(lines.len(), 1, "{out}");
    for want in [
        "--count 2 ",
        "--placement GroupName=gpubench-r-nodes-p4d.24xlarge",
    ] {
        assert!(
            lines[0].contains(want),
            "`{want}` missing from\n{}",
            lines[0]
        );
    }
    assert!(out.lines().any(|l| l.ends_with("NODES=2")), "{out}");
    // One run over the nodes: one workload on one backend.
    let (status, out) = launch_fleet(&args[..args.len() - 2], &never, tmp.path(), &[]);
    assert_eq!(status.code(), Some(2), "{out}");
    assert!(out.contains("give one --backends"), "{out}");
}

#[test]
fn rank_0_of_a_multi_node_run_publishes_its_address_and_fails_in_time_without_its_peer() {
    let sb = Sandbox::start();
    let (prefix, run_id) = ("fleet-nodes", "run-nodes-1");
    let run = sb.run_user_data_with(prefix, run_id, "--peer-timeout 3", &[("NODES", "2")]);
    check_shutdown_and_imds(&sb, &run);
    let dir = format!("{prefix}/{INSTANCE_TYPE}/{run_id}");
    assert_eq!(
        sb.object(&format!("{dir}/coordinator")).trim(),
        "127.0.0.1:29500"
    );
    assert!(
        sb.imds_log()
            .contains("GET /latest/meta-data/ami-launch-index")
    );
    let local = sb.path().join("runs-nodes");
    fs::create_dir_all(&local).unwrap();
    fs::write(
        local.join("runs.csv"),
        sb.object(&format!("{dir}/node-0/runs.csv")),
    )
    .unwrap();
    let rows = common::runs(&local);
    assert_eq!(rows.len(), 1, "{}", run.output);
    let r = &rows[0];
    assert_eq!((r.status, r.run_id.as_str()), (Status::Failed, run_id));
    assert_eq!((r.nodes, r.node_rank), (Some(2), Some(0)));
    let why = r.error.as_deref().unwrap_or_default();
    assert!(why.contains("gave no answer in 3 s"), "{why}");
}

/// A fake AWS CLI: records each call (one argument a line, `--` after each), keeps the user data
/// it was given, answers SSM with an AMI id and run-instances with an instance id.
const FAKE_AWS: &str = r#"#!/bin/bash
d="$(dirname "$0")"
printf '%s\n' "$@" -- >> "$d/calls"
case " $* " in
*" ssm get-parameter "*) echo ami-0fa4e1234 ;;
*" ec2 run-instances "*)
    for a in "$@"; do
        case "$a" in file://*) cp "${a#file://}" "$d/user-data.rendered" ;; esac
    done
    if [[ " $* " == *" --instance-type ${FAKE_AWS_FAIL_TYPE:-none} "* ]]; then
        echo "An error occurred (InsufficientInstanceCapacity)" >&2
        exit 254
    fi
    echo "i-000$(grep -c '^run-instances$' "$d/calls")"
    ;;
*) echo "fake aws: unexpected call: $*" >&2; exit 1 ;;
esac
"#;

#[test]
fn launch_fleet_calls_the_aws_cli_once_per_type_with_the_rendered_user_data() {
    require(&["bash"]);
    let tmp = tempfile::tempdir().unwrap();
    let fake_dir = tmp.path().join("fake");
    fs::create_dir(&fake_dir).unwrap();
    let fake = fake_dir.join("aws");
    fs::write(&fake, FAKE_AWS).unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let scratch = tmp.path().join("scratch");
    fs::create_dir(&scratch).unwrap();

    let tricky_args = "--seed 7 --price 0.5 # it's \"quoted\"";
    let args = [
        "--types",
        "g4dn.xlarge,g5.xlarge",
        "--bucket",
        "b",
        "--prefix",
        "bench/",
        "--region",
        "us-east-2",
        "--key-name",
        "k",
        "--run-id",
        "r-real",
        "--binary-s3",
        "s3://b/bin/gpubench",
        "--gpubench-args",
        tricky_args,
    ];
    let (status, out) = launch_fleet(&args, &fake, &scratch, &[]);
    assert!(status.success(), "{out}");

    let calls_text = fs::read_to_string(fake_dir.join("calls")).unwrap();
    let calls: Vec<Vec<&str>> = calls_text
        .split("--\n")
        .filter(|c| !c.is_empty())
        .map(|c| c.lines().collect())
        .collect();
    assert_eq!(
        calls.len(),
        3,
        "one SSM lookup, then one run-instances per type: {calls:#?}"
    );
    assert_eq!(
        calls[0],
        [
            "--region",
            "us-east-2",
            "ssm",
            "get-parameter",
            "--name",
            "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id",
            "--query",
            "Parameter.Value",
            "--output",
            "text"
        ]
    );
    let value_of = |call: &[&str], flag: &str| -> Option<String> {
        call.iter()
            .position(|a| *a == flag)
            .map(|i| call[i + 1].to_string())
    };
    for (call, t) in calls[1..].iter().zip(["g4dn.xlarge", "g5.xlarge"]) {
        assert_eq!(
            &call[..4],
            ["--region", "us-east-2", "ec2", "run-instances"]
        );
        assert_eq!(value_of(call, "--instance-type").as_deref(), Some(t));
        assert_eq!(
            value_of(call, "--image-id").as_deref(),
            Some("ami-0fa4e1234")
        );
        assert_eq!(
            value_of(call, "--instance-initiated-shutdown-behavior").as_deref(),
            Some("terminate")
        );
        assert_eq!(value_of(call, "--key-name").as_deref(), Some("k"));
        assert_eq!(
            value_of(call, "--iam-instance-profile").as_deref(),
            Some("Name=gpubench-fleet")
        );
        let tags = value_of(call, "--tag-specifications").unwrap();
        assert!(
            tags.contains("{Key=gpubench-run,Value=r-real}")
                && tags.contains(&format!("{{Key=gpubench-type,Value={t}}}")),
            "{tags}"
        );
        assert!(
            !call.contains(&"--instance-market-options"),
            "no --spot, no spot: {call:?}"
        );
    }
    assert!(
        out.contains("g4dn.xlarge          i-0001") && out.contains("g5.xlarge            i-0002"),
        "{out}"
    );
    assert_eq!(
        fs::read_dir(&scratch)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_dir())
            .count(),
        0,
        "temporary user data left behind"
    );

    // The user data: shebang, the variables, then user-data.sh's body unchanged; under 16 KiB.
    let rendered = fs::read_to_string(fake_dir.join("user-data.rendered")).unwrap();
    assert!(
        rendered.len() <= 16 * 1024,
        "user data is {} bytes, EC2 allows 16 KiB",
        rendered.len()
    );
    let source = fs::read_to_string(repo().join("scripts/aws/user-data.sh")).unwrap();
    let body = source.split_once('\n').unwrap().1;
    assert!(
        rendered.starts_with("#!/bin/bash\n# --- gpubench fleet configuration"),
        "{rendered}"
    );
    assert!(
        rendered.ends_with(body),
        "the body must be user-data.sh without its shebang"
    );
    let block = &rendered[..rendered.len() - body.len()];
    for line in [
        "BUCKET=b",
        "PREFIX=bench",
        "RUN_ID=r-real",
        "GPUBENCH_BINARY_S3=s3://b/bin/gpubench",
    ] {
        assert!(block.lines().any(|l| l == line), "{line} not in\n{block}");
    }
    assert!(
        !block.contains("WORKLOADS="),
        "unset options keep user-data.sh's defaults:\n{block}"
    );
    // The values read back exactly, quotes and all; the whole script parses.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{block}\nprintf '%s' \"$GPUBENCH_ARGS\""))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        tricky_args,
        "{}",
        common::text(&out)
    );
    let path = tmp.path().join("rendered.sh");
    fs::write(&path, &rendered).unwrap();
    let out = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(out.status.success(), "bash -n: {}", common::text(&out));

    // A type that fails to launch is reported, the others still launch, and the exit is 1.
    let (status, out) = launch_fleet(
        &args,
        &fake,
        &scratch,
        &[("FAKE_AWS_FAIL_TYPE", "g4dn.xlarge")],
    );
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains("g4dn.xlarge          FAILED") && out.contains("InsufficientInstanceCapacity"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("g5.xlarge") && l.contains(" i-")),
        "{out}"
    );
}
