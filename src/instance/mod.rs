//! Where a run happens: the instance catalog with dated prices, detection through cloud
//! metadata services, and facts read off the host.

pub mod catalog;
pub mod detect;
pub mod gpus;
pub mod host;

pub use catalog::{Instance, Price};

use anyhow::Result;

/// The instance a run is charged as, and how it was named (`cli`, `imds-aws`, `metadata-gcp`,
/// `imds-azure`, or `fallback` when `auto` found no metadata service).
pub fn resolve(name: &str) -> Result<(Instance, String)> {
    if name != "auto" {
        return Ok((catalog::lookup(name)?, "cli".into()));
    }
    match detect::detect(&detect::Endpoints::from_env()) {
        Ok(d) => Ok((from_detected(&d)?, d.source.into())),
        Err(why) => {
            eprintln!("instance auto: no cloud metadata service answered ({why}); using local");
            Ok((catalog::lookup("local")?, "fallback".into()))
        }
    }
}

/// The catalog entry of a detected instance. A type the catalog lacks, or one running in a
/// region other than the catalog's, is kept without a price rather than priced wrongly.
fn from_detected(d: &detect::Detected) -> Result<Instance> {
    let mut inst = catalog::all()?
        .into_iter()
        .find(|i| i.name == d.name)
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
    Ok(inst)
}
