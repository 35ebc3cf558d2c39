//! `--instance auto`: ask the AWS, GCP and Azure metadata services, in parallel, with 1 s
//! timeouts and no retries, so a machine off-cloud falls back to `local` within about a second.

use std::time::Duration;

/// What a metadata service said about the machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub name: String,
    pub provider: &'static str,
    pub region: Option<String>,
    /// The availability zone (AWS `us-east-1a`, GCP `us-central1-a`, Azure `1`), where the
    /// service names one.
    pub zone: Option<String>,
    /// `imds-aws`, `metadata-gcp` or `imds-azure`.
    pub source: &'static str,
}

/// Base URLs of the metadata services; environment variables override them (for tests, or a
/// proxy): `GPUBENCH_AWS_IMDS_URL`, `GPUBENCH_GCP_METADATA_URL`, `GPUBENCH_AZURE_IMDS_URL`.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub aws: String,
    pub gcp: String,
    pub azure: String,
}

impl Endpoints {
    pub fn from_env() -> Self {
        let var = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_string());
        Self {
            aws: var("GPUBENCH_AWS_IMDS_URL", "http://169.254.169.254"),
            gcp: var(
                "GPUBENCH_GCP_METADATA_URL",
                "http://metadata.google.internal",
            ),
            azure: var("GPUBENCH_AZURE_IMDS_URL", "http://169.254.169.254"),
        }
    }
}

const TIMEOUT: Duration = Duration::from_secs(1);

/// Asks all three services at once; the first to answer in the order AWS, GCP, Azure wins.
/// `Err` lists why each one did not answer.
pub fn detect(ep: &Endpoints) -> Result<Detected, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout(TIMEOUT)
        .redirects(0)
        .build();
    let (aws, gcp, azure) = std::thread::scope(|s| {
        let aws = s.spawn(|| aws(&agent, &ep.aws));
        let gcp = s.spawn(|| gcp(&agent, &ep.gcp));
        let azure = s.spawn(|| azure(&agent, &ep.azure));
        let join = |h: std::thread::ScopedJoinHandle<'_, Result<Detected, String>>| {
            h.join()
                .unwrap_or_else(|_| Err("the query panicked".into()))
        };
        (join(aws), join(gcp), join(azure))
    });
    match (aws, gcp, azure) {
        (Ok(d), _, _) | (_, Ok(d), _) | (_, _, Ok(d)) => Ok(d),
        (Err(a), Err(g), Err(z)) => Err(format!("aws: {a}; gcp: {g}; azure: {z}")),
    }
}

fn get(req: ureq::Request) -> Result<String, String> {
    let text = req
        .call()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|e| e.to_string())?;
    let text = text.trim().to_string();
    if text.is_empty() {
        Err("empty answer".into())
    } else {
        Ok(text)
    }
}

/// IMDSv2: a session token first (IMDSv1 is disabled on many AMIs), then the facts.
fn aws(agent: &ureq::Agent, base: &str) -> Result<Detected, String> {
    let token = agent
        .put(&format!("{base}/latest/api/token"))
        .set("X-aws-ec2-metadata-token-ttl-seconds", "21600")
        .call()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|e| e.to_string())?;
    let fact = |path: &str| {
        get(agent
            .get(&format!("{base}/latest/meta-data/{path}"))
            .set("X-aws-ec2-metadata-token", token.trim()))
    };
    Ok(Detected {
        name: fact("instance-type")?,
        provider: "aws",
        region: fact("placement/region").ok(),
        zone: fact("placement/availability-zone").ok(),
        source: "imds-aws",
    })
}

/// GCP answers `projects/<n>/machineTypes/<type>` and `projects/<n>/zones/<zone>`.
fn gcp(agent: &ureq::Agent, base: &str) -> Result<Detected, String> {
    let fact = |path: &str| {
        get(agent
            .get(&format!("{base}/computeMetadata/v1/instance/{path}"))
            .set("Metadata-Flavor", "Google"))
        .map(|s| s.rsplit('/').next().unwrap_or_default().to_string())
    };
    let name = fact("machine-type")?;
    let zone = fact("zone").ok();
    let region = zone
        .as_deref()
        .and_then(|z| z.rsplit_once('-').map(|(r, _)| r.to_string()));
    Ok(Detected {
        name,
        provider: "gcp",
        region,
        zone,
        source: "metadata-gcp",
    })
}

fn azure(agent: &ureq::Agent, base: &str) -> Result<Detected, String> {
    let fact = |what: &str| {
        get(agent
            .get(&format!("{base}/metadata/instance/compute/{what}"))
            .query("api-version", "2021-02-01")
            .query("format", "text")
            .set("Metadata", "true"))
    };
    Ok(Detected {
        name: fact("vmSize")?,
        provider: "azure",
        region: fact("location").ok(),
        // Empty (an error here) for a VM outside availability zones.
        zone: fact("zone").ok(),
        source: "imds-azure",
    })
}
