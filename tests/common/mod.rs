//! Helpers for driving the built `gpubench` binary and reading what it wrote.

#![allow(dead_code)] // each test file uses its own subset

pub mod fleet;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gpubench::record::{EpochRow, RunRow};

/// Runs `gpubench` with `args`; stdout and stderr are captured.
pub fn gpubench(args: &[&str]) -> Output {
    gpubench_in(Path::new("."), args)
}

/// Runs `gpubench` with `args` in the folder `dir`, as a user in a fresh checkout would.
pub fn gpubench_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the gpubench binary runs")
}

/// The first of Debian's `chromium` or Ubuntu's `chromium-browser` on PATH.
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
        .expect("chromium is not on PATH: run scripts/test.sh, which installs Debian's chromium package")
}

pub fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn runs(dir: &Path) -> Vec<RunRow> {
    read(&dir.join("runs.csv"))
}

pub fn epochs(dir: &Path) -> Vec<EpochRow> {
    read(&dir.join("epochs.csv"))
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    csv::Reader::from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A request as the fake metadata server saw it.
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP server on 127.0.0.1 that answers each request with `answer` (`None` → 404) until
/// the test ends; returns its base URL. Each connection gets one answer and is closed.
pub fn fake_http(answer: fn(&Request) -> Option<String>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64).flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
            );
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.trim().split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let reply = match answer(&Request {
                method,
                path,
                headers,
            }) {
                Some(body) => format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string(),
            };
            let _ = (&stream).write_all(reply.as_bytes());
        }
    });
    url
}

/// A port that accepts connections and never answers: a metadata service that hangs.
pub fn silent_http() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}
