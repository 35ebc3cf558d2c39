//! MLflow's limits on what one `runs/log-batch` call may carry, and the splitting of a run's
//! params, tags and metrics into calls within them.

use serde_json::{Value, json};

/// Items of all kinds in one call.
pub const MAX_ITEMS: usize = 1000;
/// Params in one call; tags in one call.
pub const MAX_PARAMS: usize = 100;
pub const MAX_TAGS: usize = 100;
/// Characters of a param value and of a tag value (longer values are cut; keys are ours, and
/// short).
pub const MAX_PARAM_VALUE: usize = 6000;
pub const MAX_TAG_VALUE: usize = 8000;

/// One point of a metric's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub key: String,
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    pub step: i64,
}

/// What one `runs/log-batch` call carries.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Batch {
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub metrics: Vec<Metric>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.params.len() + self.tags.len() + self.metrics.len()
    }

    /// The request body for `run_id`.
    pub fn body(&self, run_id: &str) -> Value {
        let pairs = |v: &[(String, String)]| -> Vec<Value> {
            v.iter()
                .map(|(k, v)| json!({ "key": k, "value": v }))
                .collect()
        };
        let metrics: Vec<Value> = self
            .metrics
            .iter()
            .map(|m| json!({ "key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step }))
            .collect();
        json!({
            "run_id": run_id,
            "params": pairs(&self.params),
            "tags": pairs(&self.tags),
            "metrics": metrics,
        })
    }
}

/// Splits everything into calls within the limits, in order: the params and tags go in the
/// first calls, the metrics fill what room is left and then calls of their own.
pub fn batches(
    params: &[(String, String)],
    tags: &[(String, String)],
    metrics: &[Metric],
) -> Vec<Batch> {
    let (mut p, mut t, mut m) = (params, tags, metrics);
    let mut out = Vec::new();
    while !(p.is_empty() && t.is_empty() && m.is_empty()) {
        let mut b = Batch::default();
        let n = p.len().min(MAX_PARAMS);
        b.params = p[..n].to_vec();
        p = &p[n..];
        let n = t.len().min(MAX_TAGS).min(MAX_ITEMS - b.len());
        b.tags = t[..n].to_vec();
        t = &t[n..];
        let n = m.len().min(MAX_ITEMS - b.len());
        b.metrics = m[..n].to_vec();
        m = &m[n..];
        out.push(b);
    }
    out
}

/// `s` cut to at most `max` characters (MLflow counts characters, not bytes), the cut marked
/// with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(prefix: &str, n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("{prefix}{i}"), i.to_string()))
            .collect()
    }

    fn metrics(n: usize) -> Vec<Metric> {
        (0..n)
            .map(|i| Metric {
                key: "m".into(),
                value: i as f64,
                timestamp: 7,
                step: i as i64,
            })
            .collect()
    }

    #[test]
    fn every_call_is_within_the_limits_and_nothing_is_lost_or_reordered() {
        for (np, nt, nm) in [
            (0, 0, 0),
            (3, 4, 5),
            (100, 100, 800),
            (100, 100, 801),
            (250, 150, 2500),
            (0, 0, 1000),
            (0, 0, 1001),
        ] {
            let (p, t, m) = (pairs("p", np), pairs("t", nt), metrics(nm));
            let bs = batches(&p, &t, &m);
            for b in &bs {
                assert!(
                    b.params.len() <= MAX_PARAMS && b.tags.len() <= MAX_TAGS,
                    "{np} {nt} {nm}"
                );
                assert!(
                    b.len() <= MAX_ITEMS && b.len() > 0,
                    "{np} {nt} {nm}: {}",
                    b.len()
                );
            }
            let all_p: Vec<_> = bs.iter().flat_map(|b| b.params.clone()).collect();
            let all_t: Vec<_> = bs.iter().flat_map(|b| b.tags.clone()).collect();
            let all_m: Vec<_> = bs.iter().flat_map(|b| b.metrics.clone()).collect();
            assert_eq!((all_p, all_t, all_m), (p, t, m));
        }
    }

    #[test]
    fn calls_are_as_few_as_the_limits_allow() {
        let count = |np, nt, nm| batches(&pairs("p", np), &pairs("t", nt), &metrics(nm)).len();
        assert_eq!(count(0, 0, 0), 0);
        assert_eq!(count(60, 10, 930), 1);
        assert_eq!(count(60, 10, 931), 2);
        assert_eq!(count(0, 0, 2000), 2);
        assert_eq!(count(250, 0, 0), 3);
    }

    #[test]
    fn long_values_are_cut_at_a_character_not_a_byte() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        let s = "é".repeat(MAX_TAG_VALUE + 5);
        let t = truncate(&s, MAX_TAG_VALUE);
        assert_eq!(t.chars().count(), MAX_TAG_VALUE);
        assert!(t.ends_with("é…"));
    }

    #[test]
    fn the_body_names_each_item_as_mlflow_expects() {
        let b = Batch {
            params: pairs("p", 1),
            tags: pairs("t", 1),
            metrics: metrics(1),
        };
        let body = b.body("r1");
        assert_eq!(body["run_id"], "r1");
        assert_eq!(body["params"][0], json!({"key": "p0", "value": "0"}));
        assert_eq!(body["tags"][0], json!({"key": "t0", "value": "0"}));
        assert_eq!(
            body["metrics"][0],
            json!({"key": "m", "value": 0.0, "timestamp": 7, "step": 0})
        );
    }
}
