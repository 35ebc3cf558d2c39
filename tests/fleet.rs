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
use std::process::Command;
use std::time::Duration;

use common::fleet::*;

use gpubench::record::Status;

#[test]
fn shellcheck_passes_on_every_aws_script_and_the_policies_are_json() {
    require(&["python3"]);
    let dir = repo().join("scripts/aws");
    let mut scripts = shell_scripts(&dir);
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
    // The collectors' shared tail.
    scripts.push(repo().join("scripts/fleet-report.sh"));
    shellcheck(&scripts);
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
    // gpubench is stopped in time to upload before the backstop (MAX_MINUTES=30 here).
    let limit = time_limit_s(&run.output);
    assert!(
        (60..=30 * 60 - 180).contains(&limit),
        "time limit {limit} s with a 30 min backstop"
    );

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
            "--metadata-options HttpTokens=required,HttpPutResponseHopLimit=1,HttpEndpoint=enabled "
                .into(),
            "--user-data fileb://".into(),
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
    let args = dry_run(
        "p4d.24xlarge",
        &[
            "--run-id",
            "r-nodes",
            "--nodes",
            "2",
            "--workloads",
            "turtle",
            "--backends",
            "cuda",
        ],
    );
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

/// A fake AWS CLI: records each call (one argument a line, `--` after each), keeps the (gzipped)
/// user data it was given, answers SSM with an AMI id and run-instances with an instance id.
const FAKE_AWS: &str = r#"#!/bin/bash
d="$(dirname "$0")"
printf '%s\n' "$@" -- >> "$d/calls"
case " $* " in
*" ssm get-parameter "*) echo ami-0fa4e1234 ;;
*" ec2 run-instances "*)
    for a in "$@"; do
        case "$a" in fileb://*) cp "${a#fileb://}" "$d/user-data.gz" ;; esac
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
        assert_eq!(
            value_of(call, "--metadata-options").as_deref(),
            Some("HttpTokens=required,HttpPutResponseHopLimit=1,HttpEndpoint=enabled")
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

    // The user data: gzipped (cloud-init unpacks it) to under 16 KiB; inside, the shebang, the
    // variables, then user-data.sh's body unchanged.
    let gz = fake_dir.join("user-data.gz");
    let gz_len = fs::metadata(&gz).unwrap().len();
    assert!(
        gz_len <= 16 * 1024,
        "user data is {gz_len} bytes gzipped, EC2 allows 16 KiB"
    );
    let out = Command::new("gunzip").arg("-c").arg(&gz).output().unwrap();
    assert!(out.status.success(), "gunzip: {}", common::text(&out));
    let rendered = String::from_utf8(out.stdout).unwrap();
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

/// The environment for a user-data.sh run of tests/fixtures/fleet/fake_gpubench.sh, which runs
/// until a signal (or 60 s) and then writes an `interrupted` (or `ok`) row.
fn fake_gpubench_env(binary_s3: &str) -> Vec<(&str, &str)> {
    vec![
        ("GPUBENCH_BINARY_S3", binary_s3),
        ("GPUBENCH_SMOKE_GZ64", ""),
        ("SPOT_POLL_SECONDS", "1"),
        ("STOP_GRACE_S", "30"),
        ("FAKE_GPUBENCH_SECONDS", "60"),
    ]
}

/// The fake gpubench is in its run, its signal handler installed.
const FAKE_RUNNING: &str = "out/fake-gpubench.running";
const WAIT_FOR_FAKE: Duration = Duration::from_secs(120);

/// What a stopped run must leave in the bucket: gpubench's rows (the last one `interrupted`),
/// the logs, and status.txt saying what stopped it.
fn check_stopped_run_arrived(
    sb: &Sandbox,
    prefix: &str,
    run_id: &str,
    run: &UserDataRun,
    stopped_by: &str,
) {
    check_shutdown_and_imds(sb, run);
    assert_arrived(
        sb,
        prefix,
        run_id,
        &["runs.csv", LOG, CLOUD_INIT_LOG, "status.txt"],
        &run.output,
    );
    let dir = format!("{prefix}/{INSTANCE_TYPE}/{run_id}");
    let runs = sb.object(&format!("{dir}/runs.csv"));
    assert!(
        runs.lines()
            .last()
            .unwrap_or_default()
            .contains(",interrupted,"),
        "gpubench's interrupted row is not in the uploaded runs.csv:\n{runs}\n{}",
        run.output
    );
    let status = sb.object(&format!("{dir}/status.txt"));
    assert!(
        status.contains(&format!("stopped_by={stopped_by}")),
        "{status}"
    );
    let log = sb.object(&format!("{dir}/{LOG}"));
    assert!(
        log.contains("fake gpubench: running"),
        "gpubench's output is in the log:\n{log}"
    );
    assert!(
        log.contains(&format!("(stopped by {stopped_by}")),
        "the log ends with what stopped the run:\n{log}"
    );
}

#[test]
fn user_data_uploads_results_and_logs_after_a_sigterm_to_it_or_its_whole_process_group() {
    let sb = Sandbox::start();
    let fake = sb.upload_fake_gpubench();
    let env = fake_gpubench_env(&fake);
    // The script alone: it passes the SIGTERM on to gpubench. The whole group, as systemd stops
    // a service: tee and gpubench get it too, and the upload still happens (a tee that died of
    // it used to take the script down with SIGPIPE before anything was uploaded).
    for (run_id, whole_group) in [("run-term-script", false), ("run-term-group", true)] {
        let prefix = "fleet-term";
        let mut running = sb.start_user_data(prefix, run_id, "", &env);
        let marker = running.work_dir.join(FAKE_RUNNING);
        running.wait_for(&marker, WAIT_FOR_FAKE);
        running.signal(libc::SIGTERM, whole_group);
        let run = running.wait();
        assert_eq!(
            run.status.code(),
            Some(143),
            "SIGTERM (whole group: {whole_group}): gpubench's status\n{}",
            run.output
        );
        check_stopped_run_arrived(&sb, prefix, run_id, &run, "SIGTERM");
    }
}

#[test]
fn user_data_stops_gpubench_and_uploads_when_a_spot_interruption_notice_appears() {
    let sb = Sandbox::start();
    let fake = sb.upload_fake_gpubench();
    let (prefix, run_id) = ("fleet-spot", "run-spot-1");
    let mut running = sb.start_user_data(prefix, run_id, "", &fake_gpubench_env(&fake));
    let marker = running.work_dir.join(FAKE_RUNNING);
    running.wait_for(&marker, WAIT_FOR_FAKE);
    let notice = r#"{"action": "terminate", "time": "2030-01-01T00:02:00Z"}"#;
    sb.serve_spot_notice(notice);
    let signals = running.work_dir.join("out/fake-gpubench.signals");
    let run = running.wait();
    assert!(!run.status.success(), "{}", run.output);
    check_stopped_run_arrived(
        &sb,
        prefix,
        run_id,
        &run,
        &format!("spot interruption notice {notice}"),
    );
    assert_eq!(
        sb.object(&format!(
            "{prefix}/{INSTANCE_TYPE}/{run_id}/spot-instance-action.json"
        )),
        notice
    );
    assert_eq!(
        fs::read_to_string(&signals).unwrap_or_default(),
        "TERM\n",
        "gpubench gets exactly one SIGTERM (a second one would stop it without its row)"
    );
    assert!(
        sb.imds_log()
            .contains("GET /latest/meta-data/spot/instance-action"),
        "the notice was read with a token:\n{}",
        sb.imds_log()
    );
}

#[test]
fn user_data_stops_gpubench_at_its_time_limit_and_uploads() {
    let sb = Sandbox::start();
    let fake = sb.upload_fake_gpubench();
    let (prefix, run_id) = ("fleet-limit", "run-limit-1");
    let mut env = fake_gpubench_env(&fake);
    env.push(("GPUBENCH_TIMEOUT_S", "1"));
    let run = sb.run_user_data_with(prefix, run_id, "", &env);
    assert_eq!(
        run.status.code(),
        Some(124),
        "timeout's status:\n{}",
        run.output
    );
    check_stopped_run_arrived(&sb, prefix, run_id, &run, "the time limit of 1 s");
}

/// The time limit user-data.sh gave `gpubench run`, from its log.
fn time_limit_s(output: &str) -> u64 {
    output
        .split("(time limit ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no time limit in the log:\n{output}"))
}

#[test]
fn launch_fleet_refuses_an_empty_or_absolute_prefix() {
    require(&["bash"]);
    let tmp = tempfile::tempdir().unwrap();
    let never = tmp.path().join("no-such-aws");
    let ok = dry_run("g4dn.xlarge", &[]);
    for bad in ["", "/", "/x", "a//b", "x*"] {
        let args: Vec<&str> = ok.iter().copied().chain(["--prefix", bad]).collect();
        let (status, out) = launch_fleet(&args, &never, tmp.path(), &[]);
        assert_eq!(status.code(), Some(2), "--prefix {bad:?}:\n{out}");
        assert!(
            out.contains("launch-fleet: --prefix"),
            "--prefix {bad:?}:\n{out}"
        );
        assert!(run_instances_lines(&out).is_empty(), "{out}");
    }
    let args: Vec<&str> = ok
        .iter()
        .copied()
        .chain(["--prefix", "team/bench/"])
        .collect();
    let (status, out) = launch_fleet(&args, &never, tmp.path(), &[]);
    assert!(status.success(), "{out}");
    assert!(
        out.lines().any(|l| l.ends_with("PREFIX=team/bench")),
        "{out}"
    );
}

fn policy(name: &str) -> serde_json::Value {
    let path = repo().join("scripts/aws").join(name);
    serde_json::from_str(&fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A value or a list of values, as IAM allows, as strings.
fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(strings).collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

/// IAM's StringLike: `*` any run of characters, `?` one.
fn iam_like(pattern: &str, s: &str) -> bool {
    match pattern.chars().next() {
        None => s.is_empty(),
        Some('*') => (0..=s.len())
            .filter(|&i| s.is_char_boundary(i))
            .any(|i| iam_like(&pattern[1..], &s[i..])),
        Some(c) => {
            let mut rest = s.chars();
            rest.next().is_some_and(|first| {
                (c == '?' || c == first) && iam_like(&pattern[c.len_utf8()..], rest.as_str())
            })
        }
    }
}

#[test]
fn the_policies_allow_only_tagged_imdsv2_launches_of_gpu_types_and_writes_under_the_prefix() {
    let launcher = policy("launcher-policy.json");
    let statements = launcher["Statement"].as_array().unwrap();
    let run_instances: Vec<_> = statements
        .iter()
        .filter(|s| {
            strings(&s["Action"])
                .iter()
                .any(|a| a == "ec2:RunInstances")
        })
        .collect();
    for s in &run_instances {
        assert_eq!(s["Effect"], "Allow");
        let resources = strings(&s["Resource"]);
        assert!(
            !resources.iter().any(|r| r == "*"),
            "RunInstances on every resource leaves the instance unconditioned: {s}"
        );
    }
    let on = |kind: &str| -> Vec<&serde_json::Value> {
        run_instances
            .iter()
            .copied()
            .filter(|s| {
                strings(&s["Resource"])
                    .iter()
                    .any(|r| r.ends_with(&format!(":{kind}/*")))
            })
            .collect()
    };
    let instance = on("instance");
    assert_eq!(
        instance.len(),
        1,
        "one RunInstances statement for instances: {instance:?}"
    );
    let cond = &instance[0]["Condition"];
    assert_eq!(
        strings(&cond["StringLike"]["aws:RequestTag/gpubench-run"]),
        ["?*"],
        "launches must carry the run tag: {cond}"
    );
    assert_eq!(
        strings(&cond["StringEquals"]["ec2:MetadataHttpTokens"]),
        ["required"]
    );
    assert_eq!(
        strings(&cond["NumericLessThanEquals"]["ec2:MetadataHttpPutResponseHopLimit"]),
        ["1"]
    );
    let types = strings(&cond["StringLike"]["ec2:InstanceType"]);
    for t in [
        "g4dn.xlarge",
        "g5.xlarge",
        "g6.xlarge",
        "g6e.xlarge",
        "p4d.24xlarge",
        "p5.48xlarge",
    ] {
        assert!(
            types.iter().any(|p| iam_like(p, t)),
            "{t} is not allowed by {types:?}"
        );
    }
    for t in [
        "m5.large",
        "c7i.48xlarge",
        "x2iedn.32xlarge",
        "g4ad.xlarge",
        "p3.2xlarge",
    ] {
        assert!(
            !types.iter().any(|p| iam_like(p, t)),
            "{t} is allowed by {types:?}"
        );
    }
    let tag_keys = strings(&cond["ForAllValues:StringEquals"]["aws:TagKeys"]);
    let volume = on("volume");
    assert_eq!(volume.len(), 1, "{volume:?}");
    assert_eq!(
        strings(&volume[0]["Condition"]["StringLike"]["aws:RequestTag/gpubench-run"]),
        ["?*"]
    );

    // What launch-fleet.sh asks for is what the policy allows.
    let tmp = tempfile::tempdir().unwrap();
    let never = tmp.path().join("no-such-aws");
    let args = dry_run("g5.xlarge", &["--spot"]);
    let (status, out) = launch_fleet(&args, &never, tmp.path(), &[]);
    assert!(status.success(), "{out}");
    let line = run_instances_lines(&out)[0];
    assert!(
        line.contains(
            " --metadata-options HttpTokens=required,HttpPutResponseHopLimit=1,HttpEndpoint=enabled "
        ),
        "{line}"
    );
    for key in line.split("Key=").skip(1) {
        let key = key.split(',').next().unwrap();
        assert!(
            tag_keys.iter().any(|k| k == key),
            "tag {key} is not in {tag_keys:?}"
        );
    }
    for kind in [
        "image",
        "subnet",
        "network-interface",
        "security-group",
        "spot-instances-request",
    ] {
        assert!(
            !on(kind).is_empty(),
            "RunInstances needs the {kind} resource too"
        );
    }

    // The instance role writes results under the prefix only, and reads only the binary and
    // the coordinator files.
    let role = policy("iam-policy.json");
    for s in role["Statement"].as_array().unwrap() {
        assert_eq!(s["Effect"], "Allow");
        for action in strings(&s["Action"]) {
            assert!(
                ["s3:PutObject", "s3:GetObject"].contains(&action.as_str()),
                "the instance role needs no {action}"
            );
            for r in strings(&s["Resource"]) {
                let ok = match action.as_str() {
                    "s3:PutObject" => {
                        r.starts_with("arn:aws:s3:::GPUBENCH_BUCKET/GPUBENCH_PREFIX/")
                    }
                    _ => {
                        r == "arn:aws:s3:::GPUBENCH_BUCKET/bin/gpubench"
                            || (r.starts_with("arn:aws:s3:::GPUBENCH_BUCKET/GPUBENCH_PREFIX/")
                                && r.ends_with("/coordinator"))
                    }
                };
                assert!(ok, "{action} on {r}");
            }
        }
    }
}

/// `launch-fleet.sh --dry-run` for `types` with a given AMI and binary, then `more`.
fn dry_run<'a>(types: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let base = [
        "--dry-run",
        "--types",
        types,
        "--bucket",
        "b",
        "--ami",
        "ami-1",
    ];
    let binary = ["--binary-s3", "s3://b/bin/gpubench"];
    base.into_iter()
        .chain(binary)
        .chain(more.iter().copied())
        .collect()
}
