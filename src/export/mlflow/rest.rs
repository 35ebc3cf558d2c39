//! The few calls of MLflow's REST API (`/api/2.0/mlflow/…`) the export makes, with the
//! tracking server's own authentication variables. Every error names the server and the call.

use std::time::Duration;

use anyhow::{Result, anyhow};
use serde_json::{Value, json};

use crate::error::input;

use super::batch::Batch;

/// A run already in the experiment that carries the key tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub run_id: String,
    pub key: String,
    /// RUNNING (or SCHEDULED) until the export that made it finished it.
    pub status: String,
}

pub struct Client {
    agent: ureq::Agent,
    base: String,
    auth: Option<String>,
}

impl Client {
    /// A client for the server at `uri` (http or https, optionally with a path prefix).
    pub fn new(uri: &str, auth: Option<String>) -> Result<Client> {
        let base = uri.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://"))
            || base.contains(char::is_whitespace)
        {
            return input(format!(
                "--tracking-uri {uri:?}: expected the tracking server's http:// or https:// address, \
                 e.g. http://127.0.0.1:5000 (a file store or databricks URI is not supported)"
            ));
        }
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build();
        Ok(Client { agent, base, auth })
    }

    pub fn uri(&self) -> &str {
        &self.base
    }

    /// `method` on `endpoint`, with a JSON `body` for POST or `query` pairs for GET; the reply
    /// as JSON.
    fn call(
        &self,
        method: &str,
        endpoint: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{endpoint}", self.base);
        let mut req = self
            .agent
            .request(method, &url)
            .set("Accept", "application/json");
        if let Some(auth) = &self.auth {
            req = req.set("Authorization", auth);
        }
        for (k, v) in query {
            req = req.query(k, v);
        }
        let fail = |code: Option<u16>, what: String| CallFailed {
            code,
            message: format!(
                "MLflow at {}: {method} {endpoint} failed: {what}",
                self.base
            ),
        };
        let sent = match body {
            Some(b) => req
                .set("Content-Type", "application/json")
                .send_string(&b.to_string()),
            None => req.call(),
        };
        let reply = match sent {
            Ok(reply) => reply,
            Err(ureq::Error::Status(code, reply)) => {
                let why = refusal(code, &reply.into_string().unwrap_or_default());
                return Err(fail(Some(code), why).into());
            }
            Err(ureq::Error::Transport(t)) => {
                let why = format!("{t} (is the tracking server running at that address?)");
                return Err(fail(None, why).into());
            }
        };
        let text = reply
            .into_string()
            .map_err(|e| fail(None, format!("reading the reply: {e}")))?;
        Ok(serde_json::from_str(&text).map_err(|e| {
            fail(
                None,
                format!(
                    "the reply is not JSON ({e}): {}",
                    text.chars().take(200).collect::<String>()
                ),
            )
        })?)
    }

    fn post(&self, endpoint: &str, body: Value) -> Result<Value> {
        self.call("POST", endpoint, &[], Some(&body))
    }

    /// The id of the experiment called `name`, created if there is none.
    pub fn experiment(&self, name: &str) -> Result<String> {
        for _ in 0..2 {
            match self.call(
                "GET",
                "experiments/get-by-name",
                &[("experiment_name", name)],
                None,
            ) {
                Ok(v) => {
                    let exp = &v["experiment"];
                    let id = text(exp, "experiment_id", "experiments/get-by-name")?;
                    if exp["lifecycle_stage"] == "deleted" {
                        return input(format!(
                            "MLflow at {}: experiment {name:?} (id {id}) is deleted: restore it \
                             (`mlflow experiments restore --experiment-id {id}`) or choose another --experiment",
                            self.base
                        ));
                    }
                    return Ok(id);
                }
                Err(e) if status(&e) == Some(404) => {}
                Err(e) => return Err(e),
            }
            match self.post("experiments/create", json!({ "name": name })) {
                Ok(v) => return text(&v, "experiment_id", "experiments/create"),
                // Created by someone else in between: look it up again.
                Err(e)
                    if status(&e) == Some(400)
                        && format!("{e:#}").contains("RESOURCE_ALREADY_EXISTS") => {}
                Err(e) => return Err(e),
            }
        }
        Err(anyhow!(
            "MLflow at {}: experiment {name:?} neither found nor created",
            self.base
        ))
    }

    /// Every active run of the experiment that has the tag `key_tag`, page by page.
    pub fn search(&self, experiment_id: &str, key_tag: &str) -> Result<Vec<Existing>> {
        let mut found = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut body = json!({
                "experiment_ids": [experiment_id],
                "filter": format!("tags.`{key_tag}` LIKE '%'"),
                "run_view_type": "ACTIVE_ONLY",
                "max_results": 1000,
            });
            if let Some(p) = &page {
                body["page_token"] = json!(p);
            }
            let v = self.post("runs/search", body)?;
            for run in v["runs"].as_array().into_iter().flatten() {
                let tags = run["data"]["tags"].as_array().into_iter().flatten();
                let key = tags
                    .filter(|t| t["key"] == key_tag)
                    .find_map(|t| t["value"].as_str());
                if let Some(key) = key {
                    found.push(Existing {
                        run_id: text(&run["info"], "run_id", "runs/search")?,
                        key: key.to_string(),
                        status: run["info"]["status"]
                            .as_str()
                            .unwrap_or("RUNNING")
                            .to_string(),
                    });
                }
            }
            match v["next_page_token"].as_str().filter(|p| !p.is_empty()) {
                Some(p) => page = Some(p.to_string()),
                None => return Ok(found),
            }
        }
    }

    /// A new RUNNING run; returns its id.
    pub fn create_run(
        &self,
        experiment_id: &str,
        name: &str,
        start_ms: i64,
        tags: &[(String, String)],
    ) -> Result<String> {
        let tags: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect();
        let v = self.post(
            "runs/create",
            json!({ "experiment_id": experiment_id, "run_name": name, "start_time": start_ms, "tags": tags }),
        )?;
        text(&v["run"]["info"], "run_id", "runs/create")
    }

    pub fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()> {
        self.post("runs/log-batch", batch.body(run_id)).map(drop)
    }

    /// Ends the run with `status` (FINISHED, FAILED or KILLED).
    pub fn finish(&self, run_id: &str, status: &str, end_ms: i64) -> Result<()> {
        self.post(
            "runs/update",
            json!({ "run_id": run_id, "status": status, "end_time": end_ms }),
        )
        .map(drop)
    }

    /// Moves the run to the deleted stage (MLflow keeps it until garbage collection).
    pub fn delete_run(&self, run_id: &str) -> Result<()> {
        self.post("runs/delete", json!({ "run_id": run_id }))
            .map(drop)
    }
}

/// What an error reply says: MLflow's `error_code: message`, else the start of the body.
fn refusal(code: u16, body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let detail = match (v["error_code"].as_str(), v["message"].as_str()) {
        (Some(kind), Some(message)) => format!("{kind}: {message}"),
        _ => body.chars().take(300).collect(),
    };
    let hint = match code {
        401 | 403 => {
            " (set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)"
        }
        _ => "",
    };
    format!("HTTP {code}{hint}: {detail}")
}

/// A call that failed: its message, and the HTTP status when the server answered one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct CallFailed {
    code: Option<u16>,
    message: String,
}

fn status(e: &anyhow::Error) -> Option<u16> {
    e.downcast_ref::<CallFailed>().and_then(|c| c.code)
}

fn text(v: &Value, field: &str, call: &str) -> Result<String> {
    v[field]
        .as_str()
        .map(String::from)
        .ok_or_else(|| anyhow!("{call}: the reply has no {field}: {v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_http_address_is_a_tracking_uri() {
        let c = Client::new("https://mlflow.example.com/prefix/", None).unwrap();
        assert_eq!(c.uri(), "https://mlflow.example.com/prefix");
        for bad in ["file:///tmp/mlruns", "databricks", "127.0.0.1:5000", ""] {
            let err = Client::new(bad, None).err().expect(bad);
            assert_eq!(crate::error::exit_code(&err), 2, "{bad}");
        }
    }

    #[test]
    fn a_server_that_is_not_there_is_named_with_the_call_that_failed() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let uri = format!("http://127.0.0.1:{port}");
        let err = Client::new(&uri, None)
            .unwrap()
            .experiment("x")
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.starts_with(&format!(
                "MLflow at {uri}: GET experiments/get-by-name failed"
            )),
            "{msg}"
        );
        assert!(msg.contains("is the tracking server running"), "{msg}");
        assert_eq!(status(&err), None);
    }
}
