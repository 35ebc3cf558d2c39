//! The servers of tests/mlflow.rs: a real MLflow tracking server (and how to read it back
//! exactly), and a fake one that fails on cue.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::fleet::{Server, free_port, spawn_logged};

pub fn mlflow_exe() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mlflow-venv/bin/mlflow")
}

/// The MLflow CLI, or why the test cannot run (a failure unless GPUBENCH_SKIP_MLFLOW=1).
pub fn mlflow_or_skip() -> Option<PathBuf> {
    let exe = mlflow_exe();
    if exe.is_file() {
        return Some(exe);
    }
    let reason = format!(
        "{} is missing: scripts/test.sh installs mlflow==3.17.2 there",
        exe.display()
    );
    if std::env::var("GPUBENCH_SKIP_MLFLOW").as_deref() == Ok("1") {
        eprintln!("skipped (GPUBENCH_SKIP_MLFLOW=1): {reason}");
        return None;
    }
    panic!("{reason}, or set GPUBENCH_SKIP_MLFLOW=1 to skip");
}

/// A tracking server in its own process group (it forks workers), all killed on drop.
pub struct Tracking {
    server: Server,
    pub uri: String,
}

impl Tracking {
    pub fn start(exe: &Path, dir: &Path) -> Tracking {
        let port = free_port();
        let mut cmd = Command::new(exe);
        cmd.arg("server")
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--default-artifact-root")
            .arg(dir.join("artifacts"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--workers", "1"])
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .current_dir(dir)
            .process_group(0);
        let log = dir.join("mlflow-server.log");
        let (_, child) = spawn_logged(cmd, &log);
        let mut t = Tracking {
            server: Server {
                child,
                name: "mlflow server",
                log,
            },
            uri: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(180);
        let health = format!("{}/health", t.uri);
        while ureq::get(&health)
            .timeout(Duration::from_secs(2))
            .call()
            .is_err()
        {
            t.server.assert_alive();
            assert!(
                Instant::now() < deadline,
                "no /health after 180 s:\n{}",
                t.server.log_text()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        t
    }

    pub fn post(&self, endpoint: &str, body: Value) -> Value {
        let url = format!("{}/api/2.0/mlflow/{endpoint}", self.uri);
        let reply = match ureq::post(&url)
            .set("Content-Type", "application/json")
            .send_string(&body.to_string())
        {
            Ok(reply) => reply,
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "{endpoint}: HTTP {code}: {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => panic!("{endpoint}: {e}"),
        };
        exact_json(&reply.into_string().unwrap())
    }

    pub fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Value {
        let mut req = ureq::get(&format!("{}/api/2.0/mlflow/{endpoint}", self.uri));
        for (k, v) in query {
            req = req.query(k, v);
        }
        let reply = req.call().unwrap_or_else(|e| panic!("{endpoint}: {e}"));
        exact_json(&reply.into_string().unwrap())
    }

    pub fn experiment_id(&self, name: &str) -> String {
        let v = self.get("experiments/get-by-name", &[("experiment_name", name)]);
        v["experiment"]["experiment_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The experiment's active runs.
    pub fn runs(&self, experiment: &str) -> Vec<Value> {
        let v = self.post(
            "runs/search",
            json!({ "experiment_ids": [experiment], "max_results": 1000 }),
        );
        v["runs"].as_array().cloned().unwrap_or_default()
    }

    pub fn history(&self, run_id: &str, key: &str) -> Vec<(i64, f64)> {
        let v = self.get(
            "metrics/get-history",
            &[("run_id", run_id), ("metric_key", key)],
        );
        let mut h: Vec<(i64, f64)> = v["metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| (int(&m["step"]), num(&m["value"])))
            .collect();
        h.sort_by_key(|p| p.0);
        h
    }
}

impl Drop for Tracking {
    fn drop(&mut self) {
        // SAFETY: signals the process group this test started (the server and its workers).
        unsafe { libc::kill(-(self.server.child.id() as i32), libc::SIGKILL) };
    }
}

/// `text` parsed with every number kept as its text (a JSON string): serde_json's own float
/// parsing may round the last bit differently (its `float_roundtrip` feature is off), and the
/// values are to be compared exactly. [`num`] and [`int`] read them back.
pub fn exact_json(text: &str) -> Value {
    let (mut out, mut chars) = (String::new(), text.chars().peekable());
    let (mut in_string, mut escaped) = (false, false);
    while let Some(c) = chars.next() {
        if in_string {
            (escaped, in_string) = (!escaped && c == '\\', escaped || c != '"');
            out.push(c);
        } else if c == '-' || c.is_ascii_digit() {
            let mut token = c.to_string();
            while let Some(&d) = chars
                .peek()
                .filter(|d| d.is_ascii_digit() || "+-.eE".contains(**d))
            {
                token.push(d);
                chars.next();
            }
            out.push_str(&format!("\"{token}\""));
        } else {
            in_string = c == '"';
            out.push(c);
        }
    }
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {text}"))
}

pub fn num(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

pub fn int(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// `[{key, value}, …]` as a map.
pub fn pairs(v: &Value) -> BTreeMap<String, Value> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|p| (p["key"].as_str().unwrap().to_string(), p["value"].clone()))
        .collect()
}

/// An HTTP server on 127.0.0.1 that reads each request whole and answers it with
/// `answer(path)` (`None`: 404), one request per connection; returns its base URL.
pub fn fake_mlflow(answer: fn(&str) -> Option<&'static str>) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut line, mut length) = (String::new(), 0);
            let _ = reader.read_line(&mut line);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':')
                    && k.trim().eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let _ = reader.read_exact(&mut vec![0; length]);
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let path = path.split('?').next().unwrap_or("");
            let reply = match answer(path) {
                Some(body) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string(),
            };
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    url
}

/// `gpubench export mlflow` of `dir` to `uri`, experiment `bench`, without credentials.
pub fn export(uri: &str, dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .args([
            "export",
            "mlflow",
            "--tracking-uri",
            uri,
            "--experiment",
            "bench",
        ])
        .arg("--in")
        .arg(dir)
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .env_remove("MLFLOW_TRACKING_USERNAME")
        .env_remove("MLFLOW_TRACKING_PASSWORD")
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
