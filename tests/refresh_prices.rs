//! scripts/refresh-prices.sh against a fake `aws` (named by AWS_CLI) that answers from the
//! canned AWS responses in tests/fixtures/prices/. Needs bash and python3 3.11+.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// One test at a time: writing the fake `aws` while another test forks could make its exec
/// fail with ETXTBSY ("text file busy").
static SERIAL: Mutex<()> = Mutex::new(());

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/refresh-prices.sh");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/prices");

/// Logs its arguments to $FAKE_AWS_LOG, fails when FAKE_AWS_FAIL is set, else prints the
/// fixture for the call and instance type asked about.
const FAKE_AWS: &str = r#"#!/usr/bin/env bash
set -eu
printf '%s\n' "$*" >>"$FAKE_AWS_LOG"
if [ -n "${FAKE_AWS_FAIL:-}" ]; then
    echo "An error occurred (ExpiredTokenException) when calling the GetProducts operation: The security token included in the request is expired" >&2
    exit 1
fi
type="" prev=""
for arg in "$@"; do
    case "$arg" in
    *Field=instanceType,Value=*) type=${arg##*Value=} ;;
    esac
    [ "$prev" != "--instance-types" ] || type=$arg
    prev=$arg
done
case "$1 $2" in
"pricing get-products") cat "$FAKE_AWS_FIXTURES/get-products.$type.json" ;;
"ec2 describe-spot-price-history") cat "$FAKE_AWS_FIXTURES/describe-spot-price-history.$type.json" ;;
*) echo "fake aws: unexpected call: $*" >&2; exit 2 ;;
esac
"#;

/// What the script must make of tests/fixtures/prices/catalog.toml.
const EXPECTED: &str = r#"# A small AWS catalog for tests/refresh_prices.rs: refresh-prices.sh must keep these comments.
# g4dn.xlarge has spot lines to update, g6.xlarge has none (they get inserted),
# p3.2xlarge is no longer priced by the API (its old values stay).

[[instance]]
name = "g4dn.xlarge"
provider = "aws"
region = "us-east-1"
vcpu = 4
ram_gib = 16
gpu = "T4"
gpu_count = 1
gpu_mem_gib = 16
price_usd_per_hour = 0.526   # a trailing comment survives
spot_usd_per_hour = 0.219
spot_sampled = "0.201-0.219 [describe-spot-price-history, 24 h, 2 zones]"
price_date = "2026-12-01"
source = "[AWS-CLI]"
status = "current"

[[instance]]
name = "g6.xlarge"
provider = "aws"
region = "us-east-1"
vcpu = 4
ram_gib = 16
gpu = "L4"
gpu_count = 1
gpu_mem_gib = 24
price_usd_per_hour = 0.8048
spot_usd_per_hour = 0.3124
spot_sampled = "0.3124-0.3124 [describe-spot-price-history, 24 h, 1 zone]"
price_date = "2026-12-01"
source = "[AWS-CLI]"
status = "current"
# a comment inside a table stays put
note = "22888 MiB of GPU memory visible"

[[instance]]
name = "p3.2xlarge"
provider = "aws"
region = "us-east-1"
vcpu = 8
ram_gib = 61
gpu = "V100-SXM2-16GB"
gpu_count = 1
gpu_mem_gib = 16
price_usd_per_hour = 3.06
price_date = "2026-01-21"
source = "[V]"
status = "retired"
note = "no longer described by the AWS API from 2026-05"
"#;

struct Setup {
    dir: tempfile::TempDir,
    catalog: PathBuf,
    aws: PathBuf,
    log: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("aws.toml");
    fs::copy(Path::new(FIXTURES).join("catalog.toml"), &catalog).unwrap();
    let aws = dir.path().join("fake-aws");
    fs::write(&aws, FAKE_AWS).unwrap();
    fs::set_permissions(&aws, fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.path().join("aws-calls.log");
    Setup {
        dir,
        catalog,
        aws,
        log,
    }
}

/// Refreshes the fixture catalog as of 2026-12-01 into `out`.
fn refresh_to(s: &Setup, out: &Path, fail: bool) -> Output {
    let args = [
        "--catalog",
        s.catalog.to_str().unwrap(),
        "--date",
        "2026-12-01",
        "--out",
        out.to_str().unwrap(),
    ];
    refresh(s, &args, fail)
}

fn refresh(s: &Setup, args: &[&str], fail: bool) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(SCRIPT)
        .args(args)
        .env("AWS_CLI", &s.aws)
        .env("FAKE_AWS_LOG", &s.log)
        .env("FAKE_AWS_FIXTURES", FIXTURES)
        .env_remove("FAKE_AWS_FAIL");
    if fail {
        cmd.env("FAKE_AWS_FAIL", "1");
    }
    cmd.output().expect("bash runs")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Files in `dir` whose names start with `.refresh-prices` (the script's temp files).
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".refresh-prices"))
        .collect()
}

/// The lines of the `[[instance]]` table called `name`.
fn table<'a>(toml: &'a str, name: &str) -> Vec<&'a str> {
    let want = format!("name = \"{name}\"");
    toml.split("[[instance]]")
        .find(|t| t.lines().any(|l| l == want))
        .unwrap_or_else(|| panic!("no table {name}"))
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn refreshes_prices_and_keeps_everything_else() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let out = s.dir.path().join("refreshed.toml");
    let o = refresh_to(&s, &out, false);
    assert!(o.status.success(), "{}", text(&o));
    let written = fs::read_to_string(&out).unwrap();

    let g4dn = table(&written, "g4dn.xlarge");
    for line in [
        "price_usd_per_hour = 0.526   # a trailing comment survives",
        "spot_usd_per_hour = 0.219",
        "spot_sampled = \"0.201-0.219 [describe-spot-price-history, 24 h, 2 zones]\"",
        "price_date = \"2026-12-01\"",
        "source = \"[AWS-CLI]\"",
        "gpu = \"T4\"",
        "status = \"current\"",
    ] {
        assert!(
            g4dn.contains(&line),
            "g4dn.xlarge lacks {line:?}:\n{written}"
        );
    }
    // g6.xlarge had no spot lines: they are inserted after the price, in the catalog's order.
    let g6 = table(&written, "g6.xlarge");
    let at = g6
        .iter()
        .position(|l| *l == "price_usd_per_hour = 0.8048")
        .unwrap_or_else(|| panic!("g6.xlarge price not refreshed:\n{written}"));
    assert_eq!(
        g6[at..at + 5],
        [
            "price_usd_per_hour = 0.8048",
            "spot_usd_per_hour = 0.3124",
            "spot_sampled = \"0.3124-0.3124 [describe-spot-price-history, 24 h, 1 zone]\"",
            "price_date = \"2026-12-01\"",
            "source = \"[AWS-CLI]\"",
        ],
        "{written}"
    );
    assert!(g6.contains(&"# a comment inside a table stays put"));
    assert!(g6.contains(&"note = \"22888 MiB of GPU memory visible\""));
    // The pricing API no longer knows p3.2xlarge: its old values stay, with a warning.
    let p3 = table(&written, "p3.2xlarge");
    for line in [
        "price_usd_per_hour = 3.06",
        "price_date = \"2026-01-21\"",
        "source = \"[V]\"",
        "status = \"retired\"",
    ] {
        assert!(p3.contains(&line), "p3.2xlarge lacks {line:?}:\n{written}");
    }
    assert!(!p3.iter().any(|l| l.starts_with("spot_")), "{written}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("warning") && l.contains("p3.2xlarge")),
        "{}",
        text(&o)
    );
    // And the whole file, byte for byte: header comments, blank lines, other keys.
    assert_eq!(written, EXPECTED);

    // --out leaves the catalog alone and no temp file behind.
    assert_eq!(
        fs::read_to_string(&s.catalog).unwrap(),
        fs::read_to_string(Path::new(FIXTURES).join("catalog.toml")).unwrap()
    );
    assert_eq!(leftovers(s.dir.path()), Vec::<String>::new());

    // The calls: the section D filters, and no spot query for the unpriced p3.2xlarge.
    let log = fs::read_to_string(&s.log).unwrap();
    let calls: Vec<&str> = log.lines().collect();
    assert_eq!(calls.len(), 5, "{log}");
    for (i, t) in ["g4dn.xlarge", "g6.xlarge", "p3.2xlarge"]
        .iter()
        .enumerate()
    {
        let call = calls[if i == 2 { 4 } else { 2 * i }];
        assert!(
            call.starts_with("pricing get-products --region us-east-1 --service-code AmazonEC2"),
            "{call}"
        );
        for filter in [
            format!("Type=TERM_MATCH,Field=instanceType,Value={t}"),
            "Type=TERM_MATCH,Field=location,Value=US East (N. Virginia)".into(),
            "Type=TERM_MATCH,Field=operatingSystem,Value=Linux".into(),
            "Type=TERM_MATCH,Field=tenancy,Value=Shared".into(),
            "Type=TERM_MATCH,Field=preInstalledSw,Value=NA".into(),
            "Type=TERM_MATCH,Field=capacitystatus,Value=Used".into(),
            "Type=TERM_MATCH,Field=marketoption,Value=OnDemand".into(),
        ] {
            assert!(call.contains(&filter), "{call} lacks {filter}");
        }
    }
    for (i, t) in ["g4dn.xlarge", "g6.xlarge"].iter().enumerate() {
        let call = calls[2 * i + 1];
        assert!(
            call.starts_with("ec2 describe-spot-price-history --region us-east-1")
                && call.contains(&format!("--instance-types {t} "))
                && call.contains("--product-descriptions Linux/UNIX --start-time 20"),
            "{call}"
        );
    }
}

#[test]
fn without_out_the_catalog_is_overwritten() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let o = refresh(
        &s,
        &[
            "--catalog",
            s.catalog.to_str().unwrap(),
            "--date=2026-12-01",
        ],
        false,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::read_to_string(&s.catalog).unwrap(), EXPECTED);
    assert_eq!(leftovers(s.dir.path()), Vec::<String>::new());
}

#[test]
fn a_failing_aws_writes_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let original = fs::read_to_string(&s.catalog).unwrap();

    // --out to a new file: it must not appear.
    let out = s.dir.path().join("refreshed.toml");
    let o = refresh_to(&s, &out, true);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!out.exists(), "a failed refresh wrote {}", out.display());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ExpiredTokenException"),
        "{}",
        text(&o)
    );

    // --out to an existing file, and the catalog itself: both stay as they were.
    fs::write(&out, "# the previous output\n").unwrap();
    for args in [vec!["--out", out.to_str().unwrap()], vec![]] {
        let mut all = vec![
            "--catalog",
            s.catalog.to_str().unwrap(),
            "--date",
            "2026-12-01",
        ];
        all.extend(args);
        let o = refresh(&s, &all, true);
        assert!(!o.status.success(), "{}", text(&o));
    }
    assert_eq!(fs::read_to_string(&out).unwrap(), "# the previous output\n");
    assert_eq!(fs::read_to_string(&s.catalog).unwrap(), original);
    assert_eq!(leftovers(s.dir.path()), Vec::<String>::new());
}

#[test]
fn bad_arguments_are_refused_and_help_has_an_example() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s = setup();
    let o = refresh(&s, &["--help"], false);
    assert!(o.status.success(), "{}", text(&o));
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("Usage: scripts/refresh-prices.sh"), "{help}");
    assert!(help.contains("Example:"), "{help}");
    assert!(help.contains("AWS_CLI"), "{help}");

    let catalog = s.catalog.to_str().unwrap();
    for args in [
        vec!["--catalog", catalog, "--date", "2026-13-01"],
        vec!["--catalog", catalog, "--date", "1.12.2026"],
        vec!["--catalog", catalog, "--bogus"],
        vec!["--catalog"],
    ] {
        let o = refresh(&s, &args, false);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
    assert!(!s.log.exists(), "aws was called for bad arguments");
    assert_eq!(
        fs::read_to_string(&s.catalog).unwrap(),
        fs::read_to_string(Path::new(FIXTURES).join("catalog.toml")).unwrap()
    );
}

const SKY_FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/skypilot-catalog/v8"
);

/// instances/{aws,gcp,azure}.toml copied into a temporary folder.
fn instances_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for cloud in ["aws", "gcp", "azure"] {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("instances/{cloud}.toml"));
        fs::copy(from, dir.path().join(format!("{cloud}.toml"))).unwrap();
    }
    dir
}

fn refresh_sky(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(SCRIPT)
        .args(args)
        .env("AWS_CLI", "/nonexistent/aws")
        .output()
        .unwrap()
}

/// The lines of `old` and `new` that differ, as (old, new) pairs; the files must have their
/// lines in the same places apart from inserted ones, which come as ("", new).
fn changed(old: &str, new: &str) -> Vec<(String, String)> {
    let (mut o, mut out) = (old.lines().peekable(), vec![]);
    for line in new.lines() {
        match o.peek() {
            Some(&l) if l == line => {
                o.next();
            }
            Some(&l) if l.split('=').next() == line.split('=').next() => {
                out.push((l.to_string(), line.to_string()));
                o.next();
            }
            _ => out.push((String::new(), line.to_string())),
        }
    }
    assert_eq!(o.next(), None, "lines were lost");
    out
}

#[test]
fn skypilot_catalog_refreshes_the_three_clouds_and_keeps_everything_else() {
    let dir = instances_copy();
    let d = dir.path().to_str().unwrap();
    let o = refresh_sky(&[
        "--skypilot-catalog",
        SKY_FIXTURES,
        "--instances",
        d,
        "--date",
        "2026-11-30",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let diff = |cloud: &str| {
        changed(
            &fs::read_to_string(root.join(format!("instances/{cloud}.toml"))).unwrap(),
            &fs::read_to_string(dir.path().join(format!("{cloud}.toml"))).unwrap(),
        )
    };
    // Only the price keys of the priced entries move; each new value is the fixture's.
    let aws = diff("aws");
    let aws_new: Vec<&str> = aws.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        aws_new,
        [
            // g4dn.xlarge: 3 zones, on demand unchanged
            "spot_sampled = \"0.2-0.216 [SKY-A, 3 zones]\"",
            "price_date = \"2026-11-30\"",
            "source = \"[SKY-A]\"",
            // g5.xlarge: us-east-1's 5 zones (us-east-2 is another region)
            "spot_usd_per_hour = 0.4507",
            "spot_sampled = \"0.4246-0.4507 [SKY-A, 5 zones]\"",
            "price_date = \"2026-11-30\"",
            "source = \"[SKY-A]\"",
            // g6.xlarge: one zone has no spot price; its spot lines are inserted
            "spot_usd_per_hour = 0.3497",
            "spot_sampled = \"0.3497-0.3497 [SKY-A, 1 zone]\"",
            "price_date = \"2026-11-30\"",
            "source = \"[SKY-A]\"",
        ]
    );
    // GCP: host VM + GPU rows summed, as SkyPilot prices them.
    let gcp = diff("gcp");
    let gcp_new: Vec<&str> = gcp.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(
        gcp_new,
        [
            "spot_sampled = \"0.22723-0.22723 [SKY-G, 2 zones]\"",
            "price_date = \"2026-11-30\"",
            // n1-standard-8+t4: the n1-standard-8 row and the T4 row
            "spot_sampled = \"0.27946-0.27946 [SKY-G, 2 zones]\"",
            "price_date = \"2026-11-30\"",
            "spot_sampled = \"1.19296-1.19296 [SKY-G, 1 zone]\"",
            "price_date = \"2026-11-30\"",
            "spot_sampled = \"1.80385-1.80385 [SKY-G, 2 zones]\"",
            "price_date = \"2026-11-30\"",
            "spot_sampled = \"0.28184-0.28184 [SKY-G, 2 zones]\"",
            "price_date = \"2026-11-30\"",
        ]
    );
    let azure = diff("azure");
    assert_eq!(azure.len(), 6, "{azure:?}");
    assert!(
        azure
            .iter()
            .any(|(_, n)| n == "spot_sampled = \"0.0627-0.0627 [SKY-Z, 1 zone]\"")
    );
    // Prices that moved would have been rewritten: the fixtures hold today's catalog values.
    let written = fs::read_to_string(dir.path().join("gcp.toml")).unwrap();
    assert!(
        written.contains("price_usd_per_hour = 0.70683\nspot_usd_per_hour = 0.28184\n"),
        "{written}"
    );
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "temporary files left: {names:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "aws p3.2xlarge: not in the SkyPilot catalog for us-east-1; keeping its old values"
        ),
        "{err}"
    );
}

#[test]
fn skypilot_catalog_dates_prices_by_the_catalog_file_and_changes_prices_that_moved() {
    let dir = instances_copy();
    let sky = tempfile::tempdir().unwrap();
    fs::create_dir(sky.path().join("azure")).unwrap();
    let csv = fs::read_to_string(Path::new(SKY_FIXTURES).join("azure/vms.csv")).unwrap();
    let csv_path = sky.path().join("azure/vms.csv");
    fs::write(
        &csv_path,
        csv.replace(
            ",T4,1.0,4.0,28.0,T4,0.526,0.0627,eastus,",
            ",T4,1.0,4.0,28.0,T4,0.61,0.07,eastus,",
        ),
    )
    .unwrap();
    let touched = Command::new("touch")
        .args(["-d", "2026-10-05 12:00:00 UTC"])
        .arg(&csv_path)
        .status()
        .unwrap();
    assert!(touched.success());
    let d = dir.path().to_str().unwrap();
    let o = refresh_sky(&[
        "--skypilot-catalog",
        sky.path().to_str().unwrap(),
        "--instances",
        d,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let azure = fs::read_to_string(dir.path().join("azure.toml")).unwrap();
    let t4 = table(&azure, "Standard_NC4as_T4_v3");
    for line in [
        "price_usd_per_hour = 0.61",
        "spot_usd_per_hour = 0.07",
        "price_date = \"2026-10-05\"",
        "source = \"[SKY-Z]\"",
    ] {
        assert!(t4.contains(&line), "{line} missing: {t4:?}");
    }
    // No aws/ or gcp/ in the catalog folder: those files are untouched.
    for cloud in ["aws", "gcp"] {
        assert_eq!(
            fs::read_to_string(dir.path().join(format!("{cloud}.toml"))).unwrap(),
            fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("instances/{cloud}.toml"))
            )
            .unwrap()
        );
    }
}

#[test]
fn skypilot_catalog_writes_nothing_when_one_cloud_fails_and_refuses_bad_arguments() {
    let dir = instances_copy();
    let sky = tempfile::tempdir().unwrap();
    for cloud in ["aws", "gcp", "azure"] {
        fs::create_dir(sky.path().join(cloud)).unwrap();
        fs::copy(
            Path::new(SKY_FIXTURES).join(cloud).join("vms.csv"),
            sky.path().join(cloud).join("vms.csv"),
        )
        .unwrap();
    }
    // azure, the last one, has lost its price columns: aws and gcp must not be written either.
    fs::write(
        sky.path().join("azure/vms.csv"),
        "InstanceType,AcceleratorName,Region\nx,,eastus\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let o = refresh_sky(&[
        "--skypilot-catalog",
        sky.path().to_str().unwrap(),
        "--instances",
        d,
        "--date",
        "2026-11-30",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("lacks the column(s) AcceleratorCount, Price, SpotPrice"),
        "{}",
        text(&o)
    );
    for cloud in ["aws", "gcp", "azure"] {
        assert_eq!(
            fs::read_to_string(dir.path().join(format!("{cloud}.toml"))).unwrap(),
            fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("instances/{cloud}.toml"))
            )
            .unwrap(),
            "{cloud}.toml was written"
        );
    }
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        3,
        "temporary files left"
    );
    for args in [
        vec!["--skypilot-catalog", "/nonexistent", "--instances", d],
        vec![
            "--skypilot-catalog",
            SKY_FIXTURES,
            "--instances",
            d,
            "--out",
            "/tmp/x.toml",
        ],
        vec![
            "--skypilot-catalog",
            SKY_FIXTURES,
            "--instances",
            d,
            "--date",
            "2026-13-01",
        ],
        vec!["--instances", d],
    ] {
        let o = refresh_sky(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
}
