//! The instance catalog: TOML files under `instances/`, compiled into the binary so a run needs
//! no checkout. Prices carry their date and source so old results can be re-priced.

use anyhow::{Context, Result};
use serde::Deserialize;

use super::gpus::{self, Gpu};
use crate::error::input;

/// The catalog files, embedded at build time.
const FILES: &[(&str, &str)] = &[
    (
        "instances/local.toml",
        include_str!("../../instances/local.toml"),
    ),
    (
        "instances/aws.toml",
        include_str!("../../instances/aws.toml"),
    ),
    (
        "instances/gcp.toml",
        include_str!("../../instances/gcp.toml"),
    ),
    (
        "instances/azure.toml",
        include_str!("../../instances/azure.toml"),
    ),
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub name: String,
    pub provider: String,
    pub region: Option<String>,
    pub vcpu: Option<u32>,
    pub ram_gib: Option<f64>,
    /// Key of the GPU in `instances/gpus.toml`.
    pub gpu: Option<String>,
    #[serde(default)]
    pub gpu_count: u32,
    pub gpu_mem_gib: Option<f64>,
    pub price_usd_per_hour: Option<f64>,
    pub spot_usd_per_hour: Option<f64>,
    pub spot_sampled: Option<String>,
    pub price_date: Option<String>,
    pub source: Option<String>,
    /// `current` or `retired`.
    pub status: String,
    pub note: Option<String>,
    /// Where a detected machine runs; never in the catalog.
    #[serde(skip_deserializing)]
    pub zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    instance: Vec<Instance>,
}

/// The hourly price a run is charged at, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub usd_per_hour: f64,
    /// `on-demand` or `spot` (catalog), or `user` (`--price`).
    pub kind: &'static str,
    pub date: Option<String>,
}

impl Instance {
    /// An instance known only by name: no hardware facts, no price.
    pub fn unpriced(name: &str, provider: &str) -> Self {
        Self {
            name: name.into(),
            provider: provider.into(),
            region: None,
            vcpu: None,
            ram_gib: None,
            gpu: None,
            gpu_count: 0,
            gpu_mem_gib: None,
            price_usd_per_hour: None,
            spot_usd_per_hour: None,
            spot_sampled: None,
            price_date: None,
            source: None,
            status: "unknown".into(),
            note: None,
            zone: None,
        }
    }

    /// The price to charge: `--price` when given, else the catalog's spot price with `spot`
    /// (an input error if it has none), else its on-demand price, else none.
    pub fn price(&self, user: Option<f64>, spot: bool) -> Result<Option<Price>> {
        let catalog = |p: f64, kind| Price {
            usd_per_hour: p,
            kind,
            date: self.price_date.clone(),
        };
        Ok(match (user, spot) {
            (Some(p), _) if !(p.is_finite() && p >= 0.0) => {
                return input(format!(
                    "--price {p}: expected a non-negative number of USD per hour"
                ));
            }
            (Some(p), _) => Some(Price {
                usd_per_hour: p,
                kind: "user",
                date: None,
            }),
            (None, true) => match self.spot_usd_per_hour {
                Some(p) => Some(catalog(p, "spot")),
                None => {
                    return input(format!(
                        "--spot: the catalog has no spot price for {}; give one with --price USD",
                        self.name
                    ));
                }
            },
            (None, false) => self.price_usd_per_hour.map(|p| catalog(p, "on-demand")),
        })
    }

    /// The instance's GPU model from `instances/gpus.toml`.
    pub fn gpu_model(&self) -> Result<Option<Gpu>> {
        match &self.gpu {
            Some(key) => gpus::find(key)?.map(Some).with_context(|| {
                format!("{}: GPU {key:?} is not in instances/gpus.toml", self.name)
            }),
            None => Ok(None),
        }
    }

    /// `1× NVIDIA T4`, or `None` for an instance without GPUs.
    pub fn gpu_summary(&self) -> Option<String> {
        let name = self.gpu_model().ok().flatten().map(|g| g.name);
        name.or_else(|| self.gpu.clone())
            .map(|n| format!("{}× {n}", self.gpu_count))
    }
}

/// What each price source code (`[V]`, `[SKY-A]`, ...) stands for, as the catalog files'
/// headers say: (code, description), in file order.
pub fn sources() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (_, text) in FILES {
        for line in text.lines().map_while(|l| l.strip_prefix('#')) {
            let line = line.trim();
            if let Some((code, what)) = line.strip_prefix('[').and_then(|l| l.split_once(']'))
                && !out.iter().any(|(c, _)| c == code)
            {
                out.push((format!("[{code}]"), what.trim().to_string()));
            }
        }
    }
    out
}

/// Every catalog entry, in file order.
pub fn all() -> Result<Vec<Instance>> {
    let mut out = Vec::new();
    for (path, text) in FILES {
        out.extend(parse(path, text)?);
    }
    Ok(out)
}

/// The entries of one catalog file.
fn parse(path: &str, text: &str) -> Result<Vec<Instance>> {
    let file: File = toml::from_str(text).with_context(|| format!("catalog file {path}"))?;
    Ok(file.instance)
}

/// The entry called `name`, matched without regard to case (`G5.XLARGE` is `g5.xlarge`).
pub fn find(name: &str) -> Result<Option<Instance>> {
    Ok(all()?
        .into_iter()
        .find(|i| i.name.eq_ignore_ascii_case(name)))
}

/// Up to five catalog names close to `name`, closest first.
pub fn close_names(name: &str) -> Result<Vec<String>> {
    let mut close: Vec<(f64, String)> = all()?
        .into_iter()
        .map(|i| {
            let score = strsim::jaro_winkler(&name.to_lowercase(), &i.name.to_lowercase());
            (score, i.name)
        })
        .filter(|(score, _)| *score > 0.75)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(close.into_iter().take(5).map(|(_, n)| n).collect())
}

/// The entry called `name`; an unknown name is an input error that suggests close names.
pub fn lookup(name: &str) -> Result<Instance> {
    if let Some(i) = find(name)? {
        return Ok(i);
    }
    let close = close_names(name)?;
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", close.join(", "))
    };
    input(format!(
        "unknown instance {name:?}{hint} (`gpubench instances` lists the catalog)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Arbitrary text as a catalog file: entries or an error naming the file, no panic.
        #[test]
        fn fuzz_any_catalog_text_parses_or_fails_cleanly(
            bytes in crate::fuzz::inputs("catalog"),
        ) {
            let text = String::from_utf8_lossy(&bytes);
            if let Err(e) = parse("fuzz.toml", &text) {
                proptest::prop_assert!(e.to_string().starts_with("catalog file fuzz.toml"));
            }
        }
    }

    #[test]
    fn catalog_parses_with_unique_names_and_dated_prices() {
        let all = all().unwrap();
        let count = |p: &str| all.iter().filter(|i| i.provider == p).count();
        assert_eq!((count("aws"), count("gcp"), count("azure")), (16, 5, 3));
        let mut names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for i in all.iter().filter(|i| i.price_usd_per_hour.is_some()) {
            assert!(
                i.price_date.is_some() && i.source.is_some(),
                "{} lacks a date or source",
                i.name
            );
            assert!(
                ["current", "retired"].contains(&i.status.as_str()),
                "{}",
                i.name
            );
        }
    }

    #[test]
    fn every_instance_gpu_is_in_the_gpu_catalog() {
        for i in all().unwrap() {
            let gpu = i.gpu_model().unwrap();
            assert_eq!(gpu.is_some(), i.gpu_count > 0, "{}", i.name);
        }
        let a10g = lookup("g5.xlarge").unwrap().gpu_model().unwrap().unwrap();
        assert_eq!(
            (a10g.name.as_str(), a10g.fp32_tflops),
            ("NVIDIA A10G", Some(35.0))
        );
    }

    #[test]
    fn every_listed_gpu_has_an_fp32_peak() {
        for i in all().unwrap() {
            if let Some(gpu) = i.gpu_model().unwrap() {
                assert!(
                    gpu.fp32_tflops.is_some(),
                    "{}: {} has no fp32 peak",
                    i.name,
                    gpu.key
                );
            }
        }
    }

    #[test]
    fn p3_is_a_retired_v100_at_3_06() {
        let p3 = lookup("p3.2xlarge").unwrap();
        assert_eq!(p3.status, "retired");
        assert_eq!(
            p3.gpu_summary().as_deref(),
            Some("1× NVIDIA Tesla V100 SXM2 16GB")
        );
        let price = p3.price(None, false).unwrap().unwrap();
        assert_eq!((price.usd_per_hour, price.kind), (3.06, "on-demand"));
        assert_eq!(price.date.as_deref(), Some("2026-01-21"));
        assert_eq!(p3.price(Some(1.5), false).unwrap().unwrap().kind, "user");
        let err = p3.price(None, true).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        assert!(
            err.to_string().contains("no spot price for p3.2xlarge"),
            "{err}"
        );
    }

    #[test]
    fn spot_uses_the_sampled_spot_price() {
        let g5 = lookup("g5.xlarge")
            .unwrap()
            .price(None, true)
            .unwrap()
            .unwrap();
        assert_eq!((g5.usd_per_hour, g5.kind), (0.451, "spot"));
    }

    #[test]
    fn local_has_no_price_unless_given() {
        let local = lookup("local").unwrap();
        assert_eq!(local.price(None, false).unwrap(), None);
        assert_eq!(
            local.price(Some(0.2), false).unwrap().unwrap().usd_per_hour,
            0.2
        );
    }

    #[test]
    fn every_price_source_code_is_explained() {
        let codes: Vec<String> = sources().into_iter().map(|(c, _)| c).collect();
        assert_eq!(codes, ["[V]", "[SKY-A]", "[AWS-CLI]", "[SKY-G]", "[SKY-Z]"]);
        for i in all().unwrap() {
            for code in i.source.iter().flat_map(|s| s.split_whitespace()) {
                assert!(codes.iter().any(|c| c == code), "{}: {code}", i.name);
            }
        }
    }

    #[test]
    fn names_match_without_regard_to_case() {
        assert_eq!(lookup("G5.XLARGE").unwrap().name, "g5.xlarge");
        assert_eq!(lookup("standard_nc6s_v3").unwrap().name, "Standard_NC6s_v3");
    }

    #[test]
    fn unknown_names_suggest_close_ones() {
        let err = lookup("g4dn.xlarg").unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        assert!(err.to_string().contains("g4dn.xlarge"), "{err}");
    }
}
