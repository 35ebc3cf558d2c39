//! `--instance auto` against imitation metadata services on loopback.

mod common;

use std::time::{Duration, Instant};

use common::{Request, fake_http, runs, silent_http, text};
use gpubench::instance::detect::{Detected, Endpoints, detect};

const TOKEN: &str = "t0k3n";

/// IMDSv2: a token from PUT, then facts only for requests carrying it.
fn aws(r: &Request) -> Option<String> {
    match (r.method.as_str(), r.path.as_str()) {
        ("PUT", "/latest/api/token")
            if r.header("X-aws-ec2-metadata-token-ttl-seconds").is_some() =>
        {
            Some(TOKEN.into())
        }
        ("GET", p) if r.header("X-aws-ec2-metadata-token") == Some(TOKEN) => match p {
            "/latest/meta-data/instance-type" => Some("g4dn.xlarge".into()),
            "/latest/meta-data/placement/region" => Some("us-east-1".into()),
            "/latest/meta-data/placement/availability-zone" => Some("us-east-1c".into()),
            _ => None,
        },
        _ => None,
    }
}

fn gcp(r: &Request) -> Option<String> {
    if r.header("Metadata-Flavor") != Some("Google") {
        return None;
    }
    match r.path.as_str() {
        "/computeMetadata/v1/instance/machine-type" => {
            Some("projects/1234/machineTypes/g2-standard-4".into())
        }
        "/computeMetadata/v1/instance/zone" => Some("projects/1234/zones/us-central1-a".into()),
        _ => None,
    }
}

fn azure(r: &Request) -> Option<String> {
    if r.header("Metadata") != Some("true") || !r.path.contains("api-version=") {
        return None;
    }
    match r.path.split('?').next() {
        Some("/metadata/instance/compute/vmSize") => Some("Standard_NC4as_T4_v3".into()),
        Some("/metadata/instance/compute/location") => Some("eastus".into()),
        Some("/metadata/instance/compute/zone") => Some("2".into()),
        _ => None,
    }
}

fn nothing(_: &Request) -> Option<String> {
    None
}

fn found(name: &str, provider: &'static str, at: [&str; 2], source: &'static str) -> Detected {
    Detected {
        name: name.into(),
        provider,
        region: Some(at[0].into()),
        zone: Some(at[1].into()),
        source,
    }
}

#[test]
fn aws_gcp_and_azure_are_each_recognised() {
    let (_hold, hang) = silent_http();
    let ep = |aws_url: &str, gcp_url: &str, azure_url: &str| Endpoints {
        aws: aws_url.into(),
        gcp: gcp_url.into(),
        azure: azure_url.into(),
    };
    let none = fake_http(nothing);
    assert_eq!(
        detect(&ep(&fake_http(aws), &hang, &none)),
        Ok(found(
            "g4dn.xlarge",
            "aws",
            ["us-east-1", "us-east-1c"],
            "imds-aws"
        ))
    );
    assert_eq!(
        detect(&ep(&none, &fake_http(gcp), &hang)),
        Ok(found(
            "g2-standard-4",
            "gcp",
            ["us-central1", "us-central1-a"],
            "metadata-gcp"
        ))
    );
    assert_eq!(
        detect(&ep(&hang, &none, &fake_http(azure))),
        Ok(found(
            "Standard_NC4as_T4_v3",
            "azure",
            ["eastus", "2"],
            "imds-azure"
        ))
    );
}

#[test]
fn silent_services_fall_back_to_local_within_two_seconds() {
    let (_hold, hang) = silent_http();
    let start = Instant::now();
    let err = detect(&Endpoints {
        aws: hang.clone(),
        gcp: hang.clone(),
        azure: hang,
    })
    .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        err.contains("aws:") && err.contains("gcp:") && err.contains("azure:"),
        "{err}"
    );
}

fn run_auto(
    aws_url: &str,
    gcp_url: &str,
    azure_url: &str,
) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gpubench"))
        .args([
            "run",
            "--instance",
            "auto",
            "--backend",
            "cuda",
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .env("GPUBENCH_AWS_IMDS_URL", aws_url)
        .env("GPUBENCH_GCP_METADATA_URL", gcp_url)
        .env("GPUBENCH_AZURE_IMDS_URL", azure_url)
        .output()
        .unwrap();
    (o, dir)
}

/// `run --backend cuda` made its rows: exit code 0 on a GPU machine, and 3 (nothing could run,
/// the rows say why) elsewhere.
fn assert_ran(o: &std::process::Output) {
    let want = if std::path::Path::new("/dev/nvidia0").exists() {
        0
    } else {
        3
    };
    assert_eq!(o.status.code(), Some(want), "{}", text(o));
}

#[test]
fn run_auto_records_the_detected_instance_and_its_price() {
    let (_hold, hang) = silent_http();
    let (o, dir) = run_auto(&fake_http(aws), &hang, &hang);
    assert_ran(&o);
    let rows = runs(dir.path());
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(
            (r.instance.as_str(), r.instance_source.as_str()),
            ("g4dn.xlarge", "imds-aws")
        );
        assert_eq!(
            (r.price_usd_per_hour, r.region.as_deref()),
            (Some(0.526), Some("us-east-1"))
        );
        assert_eq!(r.instance_gpu.as_deref(), Some("NVIDIA Tesla T4"));
        assert_eq!(r.zone.as_deref(), Some("us-east-1c"));
    }
}

#[test]
fn run_auto_on_gcp_records_the_cloud_region_and_zone() {
    let (_hold, hang) = silent_http();
    let (o, dir) = run_auto(&hang, &fake_http(gcp), &hang);
    assert_ran(&o);
    for r in runs(dir.path()) {
        assert_eq!(
            (
                r.instance.as_str(),
                r.provider.as_deref(),
                r.region.as_deref()
            ),
            ("g2-standard-4", Some("gcp"), Some("us-central1"))
        );
        assert_eq!(r.zone.as_deref(), Some("us-central1-a"));
        assert!(r.price_usd_per_hour.is_some());
    }
}

#[test]
fn run_auto_off_cloud_is_local() {
    let (_hold, hang) = silent_http();
    let start = Instant::now();
    let (o, dir) = run_auto(&hang, &hang, &hang);
    assert_ran(&o);
    assert!(start.elapsed() < Duration::from_secs(10));
    let rows = runs(dir.path());
    assert!(
        rows.iter()
            .all(|r| r.instance == "local" && r.instance_source == "fallback"),
        "{rows:?}"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("using local"));
}
