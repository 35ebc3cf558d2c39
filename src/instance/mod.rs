//! Where a run happens: the instance catalog with dated prices, detection through cloud
//! metadata services, and facts read off the host.

pub mod catalog;
pub mod detect;
pub mod gpus;
pub mod host;

pub use catalog::{Instance, Price};

use anyhow::Result;

use crate::error::input;

/// The instance a run is charged as, and how it was named: `cli` for a catalog name, `user`
/// for a machine the user named that the catalog lacks, `imds-aws`, `metadata-gcp`,
/// `imds-azure`, or `fallback` when `auto` found no metadata service. A user's name is priced
/// only by `--price` (`priced`); one close to a catalog name is refused unless priced, since
/// it is more likely a typo than a machine meant to go unpriced.
pub fn resolve(name: &str, priced: bool) -> Result<(Instance, String)> {
    if name.trim().is_empty() {
        return input(
            "--instance is empty: give a catalog name, `local`, `auto`, or a name for this machine",
        );
    }
    if name != "auto" {
        if let Some(i) = catalog::find(name)? {
            return Ok((i, "cli".into()));
        }
        let close = catalog::close_names(name)?;
        if !close.is_empty() && !priced {
            return input(format!(
                "unknown instance {name:?}; did you mean {}? (`gpubench instances` lists the \
                 catalog; a machine outside it takes any name, priced with --price USD)",
                close.join(", ")
            ));
        }
        let hint = if close.is_empty() {
            String::new()
        } else {
            format!(" (close catalog names: {})", close.join(", "))
        };
        eprintln!(
            "instance {name}: not in the catalog{hint}; recorded as a machine of that name, \
             unpriced unless --price is given"
        );
        return Ok((Instance::unpriced(name, "local"), "user".into()));
    }
    match detect::detect(&detect::Endpoints::from_env()) {
        Ok(d) => {
            let attached = host::nvidia_gpus(std::path::Path::new(host::NVIDIA_PROC));
            Ok((from_detected(&d, &attached)?, d.source.into()))
        }
        Err(why) => {
            eprintln!("instance auto: no cloud metadata service answered ({why}); using local");
            Ok((catalog::lookup("local")?, "fallback".into()))
        }
    }
}

/// The catalog entry of a detected instance, with `attached` the models of the GPUs the driver
/// lists. A type the catalog lacks, or one running in a region other than the catalog's, is
/// kept without a price rather than priced wrongly.
fn from_detected(d: &detect::Detected, attached: &[String]) -> Result<Instance> {
    let all = catalog::all()?;
    let mut inst = all
        .iter()
        .find(|i| i.name == d.name)
        .or_else(|| with_attached(&all, &d.name, attached))
        .cloned()
        .unwrap_or_else(|| {
            eprintln!(
                "instance auto: {} is not in the catalog; no price unless --price is given",
                d.name
            );
            Instance::unpriced(&d.name, d.provider)
        });
    if let (Some(here), Some(priced)) = (&d.region, &inst.region)
        && here != priced
        && inst.price_usd_per_hour.is_some()
    {
        eprintln!(
            "instance auto: {} runs in {here}, the catalog prices {priced}; no price unless --price is given",
            d.name
        );
        inst.price_usd_per_hour = None;
        inst.spot_usd_per_hour = None;
    }
    inst.region = d.region.clone().or(inst.region);
    inst.zone = d.zone.clone();
    Ok(inst)
}

/// GCP's metadata names the VM (`n1-standard-4`), not the GPUs attached to it, which the catalog
/// names with it (`n1-standard-4+t4`): the entry whose GPU model and count are the driver's.
fn with_attached<'a>(all: &'a [Instance], vm: &str, attached: &[String]) -> Option<&'a Instance> {
    let prefix = format!("{vm}+");
    let models = gpus::all().ok()?;
    let fits = |i: &&Instance| {
        let gpu = i
            .gpu
            .as_ref()
            .and_then(|k| models.iter().find(|g| &g.key == k));
        i.gpu_count as usize == attached.len()
            && gpu.is_some_and(|g| attached.iter().all(|a| g.matches(a)))
    };
    let mut found = all
        .iter()
        .filter(|i| i.name.starts_with(&prefix))
        .filter(fits);
    match (found.next(), found.next()) {
        (Some(i), None) => Some(i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gcp(vm: &str) -> detect::Detected {
        detect::Detected {
            name: vm.into(),
            provider: "gcp",
            region: Some("us-central1".into()),
            zone: Some("us-central1-a".into()),
            source: "metadata-gcp",
        }
    }

    #[test]
    fn a_gcp_vm_is_named_with_the_gpus_attached_to_it() {
        let t4 = ["Tesla T4".to_string()];
        let i = from_detected(&gcp("n1-standard-4"), &t4).unwrap();
        assert_eq!(i.name, "n1-standard-4+t4");
        assert_eq!(i.zone.as_deref(), Some("us-central1-a"));
        assert!(i.price_usd_per_hour.is_some());
        // The wrong model, the wrong count, or no driver: the VM alone, unpriced.
        let v100 = ["Tesla V100-SXM2-16GB".to_string()];
        for attached in [&v100[..], &[t4[0].clone(), t4[0].clone()], &[]] {
            let i = from_detected(&gcp("n1-standard-4"), attached).unwrap();
            assert_eq!(
                (i.name.as_str(), i.price_usd_per_hour),
                ("n1-standard-4", None)
            );
        }
        // A machine type that implies its GPU needs no driver to be found.
        let i = from_detected(&gcp("g2-standard-4"), &[]).unwrap();
        assert_eq!(i.gpu.as_deref(), Some("L4"));
    }
}
