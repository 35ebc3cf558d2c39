//! The harness of tests/fleet.rs: a fake IMDSv2 and moto's S3 on 127.0.0.1 (the sandbox),
//! bounded script runs, and the checks the EC2 scripts' tests share.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "gpubench-fleet-test";
pub const INSTANCE_TYPE: &str = "g4dn.xlarge";
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// PATH with the test venv (made by scripts/test.sh) in front, when it exists.
pub fn tool_path() -> OsString {
    let mut dirs = vec![];
    let venv = repo().join("target/test-venv/bin");
    if venv.is_dir() {
        dirs.push(venv);
    }
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

pub fn with_dir_first(dir: &Path) -> OsString {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&tool_path()));
    std::env::join_paths(dirs).unwrap()
}

/// Fails (never skips) when a tool the test needs is missing.
pub fn require(tools: &[&str]) {
    let path = tool_path();
    for tool in tools {
        let found = std::env::split_paths(&path).any(|d| {
            fs::metadata(d.join(tool))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        });
        assert!(
            found,
            "`{tool}` is not installed (not on PATH, nor in target/test-venv/bin). \
             scripts/test.sh installs it: shellcheck and curl with apt, moto[server] and awscli \
             in the venv target/test-venv (its block `fleet test tools` can also be run by hand)."
        );
    }
}

/// The `.sh` files of `dir` (sorted), each checked to be executable.
pub fn shell_scripts(dir: &Path) -> Vec<PathBuf> {
    let mut scripts: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    for script in &scripts {
        let mode = fs::metadata(script).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{} is not executable", script.display());
    }
    scripts
}

/// Runs shellcheck (as bash) over `scripts` and fails the test on any finding.
pub fn shellcheck(scripts: &[PathBuf]) {
    require(&["shellcheck"]);
    let out = Command::new("shellcheck")
        .env("PATH", tool_path())
        .args(["-s", "bash"])
        .args(scripts)
        .output()
        .expect("shellcheck runs");
    assert!(
        out.status.success(),
        "shellcheck found problems:\n{}",
        super::text(&out)
    );
}

/// A server process, killed when the test ends, also when it panics.
pub struct Server {
    pub child: Child,
    pub name: &'static str,
    pub log: PathBuf,
}

impl Server {
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn assert_alive(&mut self) {
        if let Ok(Some(st)) = self.child.try_wait() {
            panic!("{} exited ({st}):\n{}", self.name, self.log_text());
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_until(
    what: &str,
    timeout: Duration,
    server: &mut Server,
    mut ready: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        server.assert_alive();
        assert!(
            Instant::now() < deadline,
            "{what}: not ready after {timeout:?}:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `cmd` with stdout and stderr together in `log`, killing it after `timeout`.
pub fn run_bounded(cmd: Command, log: &Path, timeout: Duration) -> (ExitStatus, String) {
    let (cmd, mut child) = spawn_logged(cmd, log);
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} ran over {timeout:?}:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status, fs::read_to_string(log).unwrap_or_default())
}

/// Starts `cmd` with stdin from /dev/null, stdout and stderr together in `log`.
pub fn spawn_logged(mut cmd: Command, log: &Path) -> (Command, Child) {
    let file = fs::File::create(log).unwrap();
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (cmd, child)
}

/// Variables that could leak a developer's AWS setup or a config value into the scripts.
pub const SCRUBBED: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CA_BUNDLE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_CLI",
    "BUCKET",
    "PREFIX",
    "RUN_ID",
    "MAX_MINUTES",
    "GPUBENCH_BINARY_S3",
    "GPUBENCH_REPO",
    "GPUBENCH_GIT_REV",
    "GPUBENCH_INSTANCE",
    "WORKLOADS",
    "BACKENDS",
    "EPOCHS",
    "GPUBENCH_ARGS",
    "GPUBENCH_AWS_IMDS_URL",
    "GPUBENCH_GCP_METADATA_URL",
    "GPUBENCH_AZURE_IMDS_URL",
    "S3_ENDPOINT_URL",
    "SPOT_POLL_SECONDS",
    "GPUBENCH_TIMEOUT_S",
    "STOP_GRACE_S",
    "FAKE_GPUBENCH_SECONDS",
    "LOG_FILE",
    "CLOUD_INIT_LOG",
    "WORK_DIR",
    "GPUBENCH",
];

/// The fake IMDSv2 and moto's S3, on 127.0.0.1, with a bucket holding the built gpubench.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub endpoint: String,
    pub imds_url: String,
    /// Kept so that Drop stops it with the sandbox.
    pub _imds: Server,
    pub moto: Server,
}

impl Sandbox {
    pub fn start() -> Sandbox {
        require(&["python3", "moto_server", "aws", "curl", "bash"]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();

        let port_file = p.join("imds.port");
        let imds_log = p.join("imds.log");
        let mut imds = Server {
            child: Command::new("python3")
                .arg(repo().join("tests/fixtures/fleet/fake_imds.py"))
                .args(["--lifetime", "600", "--instance-type", INSTANCE_TYPE])
                .args(["--region", "us-east-1", "--port-file"])
                .arg(&port_file)
                .arg("--spot-action-file")
                .arg(p.join(SPOT_NOTICE_FILE))
                .arg("--log")
                .arg(&imds_log)
                .stdin(Stdio::null())
                .stdout(fs::File::create(p.join("imds.out")).unwrap())
                .stderr(fs::File::create(p.join("imds.err")).unwrap())
                .spawn()
                .expect("python3 starts the fake IMDS"),
            name: "fake IMDS",
            log: p.join("imds.err"),
        };

        let port = free_port();
        let moto_log = p.join("moto.log");
        let mut moto = Server {
            child: Command::new("moto_server")
                .env("PATH", tool_path())
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(fs::File::create(&moto_log).unwrap())
                .stderr(fs::File::create(&moto_log).unwrap())
                .spawn()
                .expect("moto_server starts"),
            name: "moto_server",
            log: moto_log,
        };

        wait_until("fake IMDS", Duration::from_secs(30), &mut imds, || {
            port_file.exists()
        });
        let imds_port = fs::read_to_string(&port_file).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_until("moto_server", Duration::from_secs(60), &mut moto, || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });

        let sb = Sandbox {
            endpoint: format!("http://127.0.0.1:{port}"),
            imds_url: format!("http://127.0.0.1:{}", imds_port.trim()),
            dir,
            _imds: imds,
            moto,
        };
        sb.aws_ok(&["s3", "mb", &format!("s3://{BUCKET}")]);
        sb.aws_ok(&[
            "s3",
            "cp",
            "--only-show-errors",
            env!("CARGO_BIN_EXE_gpubench"),
            &format!("s3://{BUCKET}/bin/gpubench"),
        ]);
        sb
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Dummy credentials, no config files, no metadata service: only the sandbox is reachable.
    pub fn env(&self, cmd: &mut Command) {
        for k in SCRUBBED {
            cmd.env_remove(k);
        }
        cmd.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_CONFIG_FILE", self.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.path().join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("TMPDIR", self.path());
    }

    pub fn aws(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new("aws");
        self.env(&mut cmd);
        cmd.env("PATH", tool_path())
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args(["--endpoint-url", &self.endpoint])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("the aws CLI runs")
    }

    pub fn aws_ok(&self, args: &[&str]) -> String {
        let out = self.aws(args);
        assert!(
            out.status.success(),
            "aws {args:?}: {}\nmoto log:\n{}",
            super::text(&out),
            self.moto.log_text()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Keys under `prefix/`, relative to it.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let out = self.aws(&[
            "s3",
            "ls",
            "--recursive",
            &format!("s3://{BUCKET}/{prefix}/"),
        ]);
        // `aws s3 ls` exits 1 when nothing matches.
        let text = String::from_utf8_lossy(&out.stdout);
        let mut keys: Vec<String> = text
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3))
            .filter_map(|k| k.strip_prefix(&format!("{prefix}/")).map(str::to_string))
            .collect();
        keys.sort();
        keys
    }

    pub fn object(&self, key: &str) -> String {
        let dest = self.path().join("download");
        self.aws_ok(&[
            "s3",
            "cp",
            "--only-show-errors",
            &format!("s3://{BUCKET}/{key}"),
            dest.to_str().unwrap(),
        ]);
        fs::read_to_string(&dest).unwrap()
    }

    /// Runs user-data.sh as cloud-init would, with the sandbox's endpoints and a stub `shutdown`.
    pub fn run_user_data(&self, prefix: &str, run_id: &str, gpubench_args: &str) -> UserDataRun {
        self.run_user_data_with(prefix, run_id, gpubench_args, &[])
    }

    /// The same with more environment variables for user-data.sh.
    pub fn run_user_data_with(
        &self,
        prefix: &str,
        run_id: &str,
        gpubench_args: &str,
        env: &[(&str, &str)],
    ) -> UserDataRun {
        self.start_user_data(prefix, run_id, gpubench_args, env)
            .wait()
    }

    /// Starts user-data.sh as `run_user_data_with` does, in a process group of its own (as a
    /// systemd service's processes share one), and returns at once.
    pub fn start_user_data(
        &self,
        prefix: &str,
        run_id: &str,
        gpubench_args: &str,
        env: &[(&str, &str)],
    ) -> RunningUserData {
        let p = self.path().join(run_id);
        let stub = p.join("stub-bin");
        fs::create_dir_all(&stub).unwrap();
        let calls = p.join("shutdown.calls");
        let shutdown = stub.join("shutdown");
        fs::write(
            &shutdown,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n",
                calls.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&shutdown, fs::Permissions::from_mode(0o755)).unwrap();
        let cloud_init_log = p.join("cloud-init-output.log");
        let mut f = fs::File::create(&cloud_init_log).unwrap();
        writeln!(
            f,
            "Cloud-init v. 99 running 'modules:final' (fake, for {run_id})"
        )
        .unwrap();

        let mut cmd = Command::new("bash");
        self.env(&mut cmd);
        cmd.arg(repo().join("scripts/aws/user-data.sh"))
            .env("PATH", with_dir_first(&stub))
            .env("BUCKET", BUCKET)
            .env("PREFIX", prefix)
            .env("RUN_ID", run_id)
            .env("MAX_MINUTES", "30")
            .env("GPUBENCH_BINARY_S3", format!("s3://{BUCKET}/bin/gpubench"))
            .env("S3_ENDPOINT_URL", &self.endpoint)
            .env("GPUBENCH_AWS_IMDS_URL", &self.imds_url)
            // gpubench also asks GCP and Azure: the fake answers 404 there, nothing leaves the box.
            .env("GPUBENCH_GCP_METADATA_URL", &self.imds_url)
            .env("GPUBENCH_AZURE_IMDS_URL", &self.imds_url)
            .env("LOG_FILE", p.join("var/log/gpubench-user-data.log"))
            .env("CLOUD_INIT_LOG", &cloud_init_log)
            .env("WORK_DIR", p.join("opt/gpubench"))
            .env("WORKLOADS", "turtle")
            .env("BACKENDS", "cpu")
            .env("EPOCHS", "1")
            .env("GPUBENCH_ARGS", gpubench_args)
            .env("GPUBENCH_SMOKE_GZ64", smoke_gz64())
            .envs(env.iter().copied());
        if let Ok(instance) = std::env::var("GPUBENCH_FLEET_TEST_INSTANCE") {
            cmd.env("GPUBENCH_INSTANCE", instance);
        }
        cmd.process_group(0);
        let log = p.join("user-data.out");
        let (_, child) = spawn_logged(cmd, &log);
        RunningUserData {
            child,
            log,
            calls,
            work_dir: p.join("opt/gpubench"),
        }
    }

    /// Uploads tests/fixtures/fleet/fake_gpubench.sh; returns the GPUBENCH_BINARY_S3 that gets it.
    pub fn upload_fake_gpubench(&self) -> String {
        let uri = format!("s3://{BUCKET}/bin/fake-gpubench");
        let fake = repo().join("tests/fixtures/fleet/fake_gpubench.sh");
        self.aws_ok(&[
            "s3",
            "cp",
            "--only-show-errors",
            fake.to_str().unwrap(),
            &uri,
        ]);
        uri
    }

    /// From now on the fake IMDS serves `json` as the spot interruption notice.
    pub fn serve_spot_notice(&self, json: &str) {
        let tmp = self.path().join(format!("{SPOT_NOTICE_FILE}.tmp"));
        fs::write(&tmp, json).unwrap();
        fs::rename(&tmp, self.path().join(SPOT_NOTICE_FILE)).unwrap();
    }

    pub fn imds_log(&self) -> String {
        fs::read_to_string(self.path().join("imds.log")).unwrap_or_default()
    }
}

/// What the fake IMDS serves at spot/instance-action once it exists (404 until then).
pub const SPOT_NOTICE_FILE: &str = "spot-instance-action.json";

pub struct UserDataRun {
    pub status: ExitStatus,
    pub output: String,
    pub shutdown_calls: Vec<String>,
}

/// A user-data.sh started by `Sandbox::start_user_data`, in its own process group; killed with
/// that group if the test ends before it does.
pub struct RunningUserData {
    child: Child,
    log: PathBuf,
    calls: PathBuf,
    /// Its WORK_DIR (gpubench's --out is `out/` in it).
    pub work_dir: PathBuf,
}

impl RunningUserData {
    /// Waits (at most `timeout`) until `file` exists, failing if the script ends first.
    pub fn wait_for(&mut self, file: &Path, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !file.exists() {
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!(
                    "user-data.sh ended ({st}) before {} appeared:\n{}",
                    file.display(),
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not appear within {timeout:?}:\n{}",
                file.display(),
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `signal` to the script alone, or to its whole process group (as systemd signals
    /// every process of a service).
    pub fn signal(&self, signal: i32, whole_group: bool) {
        let pid = self.child.id() as i32;
        let target = if whole_group { -pid } else { pid };
        // SAFETY: kill(2) with a pid (or process group) this test started.
        assert_eq!(unsafe { libc::kill(target, signal) }, 0, "kill {target}");
    }

    fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the script to end (at most SCRIPT_TIMEOUT).
    pub fn wait(mut self) -> UserDataRun {
        let deadline = Instant::now() + SCRIPT_TIMEOUT;
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(
                Instant::now() < deadline,
                "user-data.sh ran over {SCRIPT_TIMEOUT:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let output = self.output();
        let shutdown_calls = fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        UserDataRun {
            status,
            output,
            shutdown_calls,
        }
    }
}

impl Drop for RunningUserData {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill(2) of the process group this test started.
            unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

pub fn check_shutdown_and_imds(sb: &Sandbox, run: &UserDataRun) {
    assert_eq!(
        run.shutdown_calls,
        ["-h +30", "-h now"],
        "shutdown: the backstop first, then now\n{}",
        run.output
    );
    let imds = sb.imds_log();
    assert!(
        imds.contains("TOKEN ttl="),
        "no IMDSv2 token was asked for:\n{imds}"
    );
    assert!(
        imds.contains("GET /latest/meta-data/instance-type"),
        "the instance type was not read with a token:\n{imds}"
    );
    assert!(
        !imds.contains("IMDSV1"),
        "something used IMDSv1 (no token):\n{imds}"
    );
}

pub const LOG: &str = "gpubench-user-data.log";
pub const CLOUD_INIT_LOG: &str = "cloud-init-output.log";

/// Checks that each of `files` is in the bucket under `prefix/<type>/<run_id>/`; returns every key.
pub fn assert_arrived(
    sb: &Sandbox,
    prefix: &str,
    run_id: &str,
    files: &[&str],
    output: &str,
) -> Vec<String> {
    let dir = format!("{INSTANCE_TYPE}/{run_id}");
    let keys = sb.keys(prefix);
    for file in files {
        assert!(
            keys.contains(&format!("{dir}/{file}")),
            "{file} did not arrive under {prefix}/{dir}/; the bucket has {keys:?}\n{output}"
        );
    }
    keys
}

pub fn launch_fleet(
    args: &[&str],
    aws_cli: &Path,
    tmp: &Path,
    extra_env: &[(&str, &str)],
) -> (ExitStatus, String) {
    let mut cmd = Command::new("bash");
    for k in SCRUBBED {
        cmd.env_remove(k);
    }
    cmd.arg(repo().join("scripts/aws/launch-fleet.sh"))
        .args(args)
        .env("AWS_CLI", aws_cli)
        .env("TMPDIR", tmp);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let n = fs::read_dir(tmp).unwrap().count();
    run_bounded(
        cmd,
        &tmp.join(format!("launch-{n}.out")),
        Duration::from_secs(60),
    )
}

pub fn run_instances_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.contains(" ec2 run-instances "))
        .collect()
}

/// scripts/gpu-smoke.sh as launch-fleet.sh embeds it in the user data.
pub fn smoke_gz64() -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg("gzip -9c \"$1\" | base64 -w0")
        .arg("sh")
        .arg(repo().join("scripts/gpu-smoke.sh"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", super::text(&out));
    String::from_utf8(out.stdout).unwrap()
}
